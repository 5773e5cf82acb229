"""The network: optional embedding, stacked (bi)directional recurrent layers, a dense head.

Parameters live in a plain dict; :func:`Network.weights` lists them in
Keras's ``model.get_weights()`` order for the equivalent ``Sequential``
(``Embedding(mask_zero=True)``, the recurrent layers, ``Dense``), with a
``Bidirectional`` layer contributing its forward arrays, then its backward ones.
"""

import numpy as np

from ..initializers import glorot_uniform
from ..utils.linalg import column_sums
from ._packing import pack_sequence_grad, unpack_sequence
from .projection import DenseInput, TokenInput

HEADS = ("last", "flatten", "mean", "max")
SEQUENCE_HEAD = "sequence"  # a Dense applied at every input position (Keras TimeDistributed)


def reverse_packed(arr, start):
    """Reverse every row's real steps in time, keeping them right-aligned (an involution).

    Parameters
    ----------
    arr : ndarray of shape (T, B, ...)
    start : ndarray of shape (B,)

    Returns
    -------
    ndarray of shape (T, B, ...)
    """
    T, B = arr.shape[:2]
    t = np.arange(T)[:, None]
    src = np.where(t >= start[None, :], start[None, :] + T - 1 - t, t)
    return arr[src, np.arange(B)[None, :]]


def _join(per_direction):
    """The directions' outputs side by side on the last axis (the one array itself for one)."""
    if len(per_direction) == 1:  # a copy here cost 10-20 us per layer of C5's batch
        return per_direction[0]
    return np.concatenate(per_direction, axis=-1)


class Network:
    """Configuration and maths of a whole model (no training logic, no state).

    Parameters
    ----------
    input_kind : {"tokens", "onehot", "dense"}
    n_in : int
        Vocabulary size (tokens, onehot) or number of features (dense).
    embedding_dim : int
        Embedding width (tokens only).
    layers : list of Recurrent
    bidirectional : bool
    head : {"last", "flatten", "mean", "max", "sequence"}
        "sequence" gives logits at every input position, shape (B, T_in, n_outputs).
    n_outputs : int
    n_timesteps : int or None
        Input length, needed by the "flatten" head.
    """

    def __init__(self, input_kind, n_in, embedding_dim, layers, bidirectional, head, n_outputs,
                 n_timesteps=None):
        self.input_kind = input_kind
        self.n_in = n_in
        self.embedding_dim = embedding_dim
        self.layers = layers
        self.n_dir = 2 if bidirectional else 1
        self.head = head
        self.n_outputs = n_outputs
        self.n_timesteps = n_timesteps

    # ------------------------------------------------------------------ shapes
    def _layer_inputs(self):
        width = self.embedding_dim if self.input_kind == "tokens" else self.n_in
        for layer in self.layers:
            yield layer, width
            width = layer.units * self.n_dir

    @property
    def head_width(self):
        width = self.layers[-1].units * self.n_dir
        return width * self.n_timesteps if self.head == "flatten" else width

    def init_params(self, rng, dtype=np.float32):
        """Fresh parameters with Keras's default initialisers."""
        params = {}
        if self.input_kind == "tokens":
            # Keras Embedding default: uniform(-0.05, 0.05)
            params["embeddings"] = rng.uniform(-0.05, 0.05, (self.n_in, self.embedding_dim)).astype(dtype)
        params["rnn"] = [[layer.init_params(rng, n_in, dtype) for _ in range(self.n_dir)]
                         for layer, n_in in self._layer_inputs()]
        params["dense"] = {"kernel": glorot_uniform(rng, (self.head_width, self.n_outputs), dtype),
                           "bias": np.zeros(self.n_outputs, dtype)}
        return params

    @staticmethod
    def weights(params):
        """Parameter arrays in Keras ``get_weights()`` order (views, not copies)."""
        out = [params["embeddings"]] if "embeddings" in params else []
        for directions in params["rnn"]:
            for p in directions:
                out.extend(p[k] for k in ("kernel", "recurrent_kernel", "bias") if k in p)
        out.extend([params["dense"]["kernel"], params["dense"]["bias"]])
        return out

    def layer_summary(self):
        """Rows ``(name, output_shape, n_params)`` of a Keras-style summary."""
        rows = []
        if self.input_kind == "tokens":
            rows.append(("embedding (Embedding)", f"(None, {self.n_timesteps or 'None'}, "
                         f"{self.embedding_dim})", self.n_in * self.embedding_dim))
        names = {"simple": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
        for i, (layer, n_in) in enumerate(self._layer_inputs()):
            seq = i < len(self.layers) - 1 or self.head != "last"
            width = layer.units * self.n_dir
            shape = f"(None, {self.n_timesteps or 'None'}, {width})" if seq else f"(None, {width})"
            kind = names[layer.cell]
            if self.n_dir == 2:
                kind = f"Bidirectional({kind})"
            rows.append((f"{layer.cell}_{i} ({kind})", shape, layer.count_params(n_in) * self.n_dir))
        if self.head == "flatten":
            rows.append(("flatten (Flatten)", f"(None, {self.head_width})", 0))
        elif self.head in ("mean", "max"):
            pool = "GlobalAveragePooling1D" if self.head == "mean" else "GlobalMaxPooling1D"
            rows.append((f"pooling ({pool})", f"(None, {self.head_width})", 0))
        if self.head == SEQUENCE_HEAD:
            rows.append(("time_distributed (TimeDistributed(Dense))",
                         f"(None, {self.n_timesteps or 'None'}, {self.n_outputs})",
                         self.head_width * self.n_outputs + self.n_outputs))
            return rows
        rows.append(("dense (Dense)", f"(None, {self.n_outputs})",
                     self.head_width * self.n_outputs + self.n_outputs))
        return rows

    # ----------------------------------------------------------------- forward
    def token_tables(self, params, tokens, n_threads=1):
        """The first layer's input projections of the ids ``tokens``, per direction.

        For :meth:`forward`'s ``token_tables``: a prediction makes them once for
        all its batches (see :func:`fastrnn.training.predict_outputs`).

        Parameters
        ----------
        params : dict
        tokens : ndarray of shape (N,), int, or None
            Vocabulary ids, increasing; None for every id.
        n_threads : int, default 1

        Returns
        -------
        list of ndarray of shape (N, G)
            One table per direction.
        """
        if self.input_kind == "dense":
            raise ValueError("token tables need token input")
        layer = self.layers[0]
        return [layer.token_table(p, params.get("embeddings"), tokens, n_threads)
                for p in params["rnn"][0]]

    def forward(self, params, packed, *, training=False, masks=None, bptt_truncate=None,
                n_threads=1, states=None, return_states=False, token_tables=None):
        """Logits of a packed batch.

        Parameters
        ----------
        params : dict
        packed : Packed
            ``data`` (T, B) ids or (T, B, F) floats.
        training : bool
            Keep what :meth:`backward` needs.
        masks : list or None
            Per layer and direction, ``(input_mask, recurrent_mask)`` (already
            scaled), or None for no dropout.
        bptt_truncate : int or None
        n_threads : int
        states : list or None
            Initial state per layer and direction (``states[i][d]`` = ``(h,)``
            or ``(h, c)``, each (B, H)); zeros by default.  Gradients do not
            flow into it (truncated BPTT across calls).
        return_states : bool
            Also return the final states, in the same layout.
        token_tables : list or None
            Inference only: per direction, ``(table, lookup)`` for the first
            layer's :class:`~fastrnn.layers.projection.TokenInput` ``projected``
            (tables from :meth:`token_tables`), instead of projecting this
            batch's ids.

        Returns
        -------
        logits : ndarray of shape (B, n_outputs), or (B, T_in, n_outputs) for "sequence"
        cache : dict or None
        states : list
            Only with ``return_states``.
        """
        if training and token_tables is not None:
            raise ValueError("token_tables are for inference only")
        start = packed.start
        caches = []
        finals = []
        x_seq = None  # packed (T, B, F) output of the previous layer
        for i, (layer, directions) in enumerate(zip(self.layers, params["rnn"])):
            last_layer = i == len(self.layers) - 1
            need_seq = not last_layer or self.head != "last"
            outs, lasts, dir_caches = [], [], []
            for d, p in enumerate(directions):
                in_mask, rec_mask = masks[i][d] if masks is not None else (None, None)
                if x_seq is None:
                    data = packed.data if d == 0 else reverse_packed(packed.data, start)
                    if self.input_kind == "dense":
                        inp = DenseInput(data, start, in_mask)
                    else:
                        inp = TokenInput(data, start, params.get("embeddings"), in_mask,
                                         None if token_tables is None else token_tables[d])
                else:
                    inp = DenseInput(x_seq if d == 0 else reverse_packed(x_seq, start), start, in_mask)
                state = states[i][d] if states is not None else None
                h, seq, final, cache = layer.forward(p, inp, state, training=training,
                                                     rec_mask=rec_mask, bptt_truncate=bptt_truncate,
                                                     return_sequences=need_seq, n_threads=n_threads)
                if need_seq and d == 1:
                    seq = reverse_packed(seq, start)
                outs.append(seq)
                lasts.append(h)
                dir_caches.append(cache)
                finals.append(final)
            caches.append(dir_caches)
            x_seq = _join(outs) if need_seq else None
            h_last = _join(lasts)
        feats = self._head_forward(h_last, x_seq, packed)
        logits = feats @ params["dense"]["kernel"] + params["dense"]["bias"]
        cache = None
        if training:
            cache = {"caches": caches, "feats": feats, "x_seq": x_seq, "packed": packed}
        if return_states:
            n = self.n_dir
            return logits, cache, [finals[i * n:(i + 1) * n] for i in range(len(self.layers))]
        return logits, cache

    def _head_forward(self, h_last, seq, packed):
        if self.head == "last":
            return h_last
        if self.head in ("flatten", SEQUENCE_HEAD):
            B = packed.start.shape[0]
            dense = unpack_sequence(packed, seq, np.zeros((B, seq.shape[2]), seq.dtype))
            return dense if self.head == SEQUENCE_HEAD else dense.reshape(B, -1)
        real = np.arange(seq.shape[0])[:, None] >= packed.start[None, :]
        if self.head == "mean":
            n = np.maximum(real.sum(axis=0), 1)[:, None]
            return (seq * real[:, :, None]).sum(axis=0) / n
        masked = np.where(real[:, :, None], seq, -np.inf).max(axis=0)
        return np.where(np.isfinite(masked), masked, 0.0).astype(seq.dtype)

    def _head_backward(self, d_feats, cache):
        seq, packed = cache["x_seq"], cache["packed"]
        if self.head == "last":
            return d_feats, None
        T = seq.shape[0]
        if self.head in ("flatten", SEQUENCE_HEAD):
            B = packed.start.shape[0]
            d_seq, _ = pack_sequence_grad(packed, d_feats.reshape(B, -1, seq.shape[2]), T)
            return None, d_seq
        real = np.arange(T)[:, None] >= packed.start[None, :]
        if self.head == "mean":
            n = np.maximum(real.sum(axis=0), 1)[:, None]
            return None, real[:, :, None] * (d_feats / n)[None]
        masked = np.where(real[:, :, None], seq, -np.inf)
        arg = masked.argmax(axis=0)  # (B, H): first maximising step
        d_seq = np.zeros_like(seq)
        b_idx, h_idx = np.indices(arg.shape)
        d_seq[arg, b_idx, h_idx] = d_feats * real.any(axis=0)[:, None]
        return None, d_seq

    # ---------------------------------------------------------------- backward
    def backward(self, params, cache, d_logits):
        """Gradients of every parameter given the gradient on the logits.

        Returns
        -------
        dict
            Same structure and shapes as ``params``.
        """
        feats = cache["feats"]
        if self.head == SEQUENCE_HEAD:  # the same Dense at every position: sum over them
            flat_feats, flat_d = feats.reshape(-1, feats.shape[-1]), d_logits.reshape(-1, self.n_outputs)
            grads = {"dense": {"kernel": flat_feats.T @ flat_d, "bias": column_sums(flat_d)}}
        else:
            grads = {"dense": {"kernel": feats.T @ d_logits, "bias": d_logits.sum(axis=0)}}
        d_feats = d_logits @ params["dense"]["kernel"].T
        d_last, d_seq = self._head_backward(d_feats, cache)
        start = cache["packed"].start
        grads["rnn"] = [None] * len(self.layers)
        d_emb = None
        for i in reversed(range(len(self.layers))):
            layer = self.layers[i]
            H = layer.units
            layer_grads = []
            d_below = None
            for d, (p, c) in enumerate(zip(params["rnn"][i], cache["caches"][i])):
                dl = None if d_last is None else np.ascontiguousarray(d_last[:, d * H:(d + 1) * H])
                ds = None
                if d_seq is not None:
                    ds = np.ascontiguousarray(d_seq[:, :, d * H:(d + 1) * H])
                    if d == 1:
                        ds = reverse_packed(ds, start)
                g, d_in, _ = layer.backward(p, c, d_last=dl, d_seq=ds)
                layer_grads.append(g)
                if i == 0:
                    if d_in is not None and self.input_kind == "tokens":
                        d_emb = d_in if d_emb is None else d_emb + d_in
                else:
                    if d == 1:
                        d_in = reverse_packed(d_in, start)
                    d_below = d_in if d_below is None else d_below + d_in
            grads["rnn"][i] = layer_grads
            d_last, d_seq = None, d_below
        if "embeddings" in params:
            grads["embeddings"] = d_emb
        return grads
