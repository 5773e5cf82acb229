"""Output heads: what a model computes from a recurrent stack's outputs.

A head reads the stack's final output ``h_last`` (B, W) and, when it asks for
it (``needs_sequence``), the output at every packed step ``seq`` (T, B, W);
it returns the model's outputs (logits or regression values).  Its
``backward`` returns its parameter gradients and the gradients on
``h_last`` and ``seq`` (either may be None).

The heads here pool the steps (:data:`POOLINGS`) and apply one ``Dense``
layer, as Keras's ``Dense`` after a last-state recurrent layer, ``Flatten``,
``GlobalAveragePooling1D`` / ``GlobalMaxPooling1D``, or ``TimeDistributed``
(the ``"sequence"`` pooling, one output per input position).  The
``"attention"`` pooling (:class:`AttentionHead`) learns a weighted mean of the
steps.  Padding never contributes: pooling covers the real steps only (as
Keras's masked average; its ``GlobalMaxPooling1D`` takes no mask and reads
padded steps too).

Every many-to-one head also answers ``pool(p, h_last, seq, packed)``: the
features its ``Dense`` layer reads, (B, F) (what an estimator's ``transform``
returns).
"""

import numpy as np

from ..initializers import glorot_uniform
from ..utils.linalg import column_sums
from ._packing import pack_sequence_grad, real_positions, unpack_sequence

#: Poolings of a many-to-one head.
POOLINGS = ("last", "flatten", "mean", "max", "attention")
#: The many-to-many pooling: a Dense applied at every input position (Keras TimeDistributed).
SEQUENCE = "sequence"


class DenseHead:
    """Pooling of the recurrent outputs, then ``Dense(n_outputs)`` (no activation).

    Parameters
    ----------
    pooling : {"last", "flatten", "mean", "max", "sequence"}
    width : int
        Features per step of the recurrent output ``W``.
    n_outputs : int
    n_timesteps : int or None
        Input length, needed by "flatten".

    Notes
    -----
    Parameters: ``{"kernel": (F, n_outputs), "bias": (n_outputs,)}`` with
    ``F = W`` (``W * n_timesteps`` for "flatten").  Outputs are (B, n_outputs),
    or (B, T_in, n_outputs) for "sequence".
    """

    key = "dense"

    #: The poolings this class computes (``"attention"`` is :class:`AttentionHead`'s).
    KINDS = ("last", "flatten", "mean", "max", SEQUENCE)

    def __init__(self, pooling, width, n_outputs, n_timesteps=None, zero_padding=False):
        if pooling not in self.KINDS:
            raise ValueError(f"pooling must be one of {self.KINDS}, got {pooling!r}")
        if pooling == "flatten" and not n_timesteps:
            raise ValueError("the flatten head needs n_timesteps")
        self.pooling = pooling
        self.width = int(width)
        self.n_outputs = int(n_outputs)
        self.n_timesteps = n_timesteps
        # a bidirectional stack's per-step outputs are zeros at padded positions (Keras's
        # Bidirectional sets zero_output_for_mask); one direction repeats the last real step's
        self.zero_padding = bool(zero_padding)

    @property
    def needs_sequence(self):
        """Whether :meth:`forward` reads the output at every step."""
        return self.pooling != "last"

    @property
    def per_step(self):
        """Whether the outputs have one row per input position."""
        return self.pooling == SEQUENCE

    @property
    def in_width(self):
        """Features entering the Dense layer."""
        return self.width * self.n_timesteps if self.pooling == "flatten" else self.width

    def init_params(self, rng, dtype=np.float32):
        """Glorot-uniform kernel, zero bias (Keras's defaults)."""
        return {"kernel": glorot_uniform(rng, (self.in_width, self.n_outputs), dtype),
                "bias": np.zeros(self.n_outputs, dtype)}

    @staticmethod
    def weights(p):
        return [p["kernel"], p["bias"]]

    def weight_shapes(self):
        """Shapes of :meth:`weights`' arrays, without making them."""
        return [(self.in_width, self.n_outputs), (self.n_outputs,)]

    def summary_rows(self, n_timesteps):
        n_params = self.in_width * self.n_outputs + self.n_outputs
        if self.pooling == SEQUENCE:
            return [("time_distributed (TimeDistributed(Dense))",
                     f"(None, {n_timesteps or 'None'}, {self.n_outputs})", n_params)]
        rows = []
        if self.pooling == "flatten":
            rows.append(("flatten (Flatten)", f"(None, {self.in_width})", 0))
        elif self.pooling in ("mean", "max"):
            pool = "GlobalAveragePooling1D" if self.pooling == "mean" else "GlobalMaxPooling1D"
            rows.append((f"pooling ({pool})", f"(None, {self.in_width})", 0))
        rows.append(("dense (Dense)", f"(None, {self.n_outputs})", n_params))
        return rows

    def forward(self, p, h_last, seq, packed):
        """Outputs of a batch.

        Parameters
        ----------
        p : dict
        h_last : ndarray of shape (B, W)
        seq : ndarray of shape (T, B, W) or None
            Needed when :attr:`needs_sequence`.
        packed : Packed
            The batch (its ``start`` and ``positions``).

        Returns
        -------
        outputs : ndarray of shape (B, n_outputs) or (B, T_in, n_outputs)
        cache : tuple
            For :meth:`backward`.
        """
        feats = self.pool(p, h_last, seq, packed)
        return feats @ p["kernel"] + p["bias"], (feats, seq, packed)

    def predict(self, p, h_last, seq, packed):
        """The outputs of :meth:`forward` alone, for inference.

        A per-step ("sequence") head of no more outputs than features applies
        its Dense layer to the packed steps and then maps them to the input
        positions, so the gather moves ``n_outputs`` values per position
        instead of ``W`` (a position before any real step reads the zero
        state: its output is the bias).

        Parameters
        ----------
        p, h_last, seq, packed
            As for :meth:`forward`.

        Returns
        -------
        ndarray of shape (B, n_outputs) or (B, T_in, n_outputs)
        """
        if self.pooling != SEQUENCE or self.n_outputs > seq.shape[2]:
            return self.forward(p, h_last, seq, packed)[0]
        T, B, W = seq.shape
        steps = (seq.reshape(T * B, W) @ p["kernel"] + p["bias"]).reshape(T, B, -1)
        out = unpack_sequence(packed, steps, np.broadcast_to(p["bias"], (B, self.n_outputs)))
        if self.zero_padding:  # a zero output's Dense: the bias
            out[~real_positions(packed)] = p["bias"]
        return out

    def pool(self, p, h_last, seq, packed):
        """The features the Dense layer reads: (B, in_width), or (B, T_in, W) for "sequence"."""
        return self._pool(h_last, seq, packed)

    def backward(self, p, cache, d_out):
        """Gradients given the gradient on the outputs.

        Returns
        -------
        grads : dict
            ``kernel`` and ``bias``.
        d_last : ndarray of shape (B, W) or None
        d_seq : ndarray of shape (T, B, W) or None
        """
        feats, seq, packed = cache
        if self.pooling == SEQUENCE:  # the same Dense at every position: sum over them
            flat_feats, flat_d = feats.reshape(-1, feats.shape[-1]), d_out.reshape(-1, self.n_outputs)
            grads = {"kernel": flat_feats.T @ flat_d, "bias": column_sums(flat_d)}
        else:
            # np.add.reduce: the sum without ndarray.sum's Python-level dispatch
            grads = {"kernel": feats.T @ d_out, "bias": np.add.reduce(d_out, axis=0)}
        d_feats = d_out @ p["kernel"].T
        d_last, d_seq = self._pool_backward(d_feats, seq, packed)
        return grads, d_last, d_seq

    def _pool(self, h_last, seq, packed):
        if self.pooling == "last":
            return h_last
        if self.pooling in ("flatten", SEQUENCE):
            B = packed.start.shape[0]
            dense = unpack_sequence(packed, seq, np.zeros((B, seq.shape[2]), seq.dtype))
            if self.zero_padding:
                dense[~real_positions(packed)] = 0.0
            return dense if self.pooling == SEQUENCE else dense.reshape(B, -1)
        real = np.arange(seq.shape[0])[:, None] >= packed.start[None, :]
        if self.pooling == "mean":
            n = np.maximum(real.sum(axis=0), 1)[:, None]
            return (seq * real[:, :, None]).sum(axis=0) / n
        masked = np.where(real[:, :, None], seq, -np.inf).max(axis=0)
        return np.where(np.isfinite(masked), masked, 0.0).astype(seq.dtype)

    def _pool_backward(self, d_feats, seq, packed):
        if self.pooling == "last":
            return d_feats, None
        T = seq.shape[0]
        if self.pooling in ("flatten", SEQUENCE):
            B = packed.start.shape[0]
            d_pos = d_feats.reshape(B, -1, seq.shape[2])
            if self.zero_padding:  # constant zeros at padded positions: no gradient
                d_pos = d_pos * real_positions(packed)[:, :, None]
            d_seq, _ = pack_sequence_grad(packed, d_pos, T)
            return None, d_seq
        real = np.arange(T)[:, None] >= packed.start[None, :]
        if self.pooling == "mean":
            n = np.maximum(real.sum(axis=0), 1)[:, None]
            return None, real[:, :, None] * (d_feats / n)[None]
        masked = np.where(real[:, :, None], seq, -np.inf)
        arg = masked.argmax(axis=0)  # (B, W): first maximising step
        d_seq = np.zeros_like(seq)
        b_idx, h_idx = np.indices(arg.shape)
        d_seq[arg, b_idx, h_idx] = d_feats * real.any(axis=0)[:, None]
        return None, d_seq


class AttentionHead(DenseHead):
    """Additive attention pooling over the real steps, then ``Dense(n_outputs)``.

    Each real step's output ``h_t`` (W,) gets a score
    ``s_t = v . tanh(h_t @ W_a + b_a)``; the weights ``a = softmax(s)`` cover
    the real steps of each row only (a padded step has weight exactly 0, and a
    row without real steps pools to zeros); the pooled features
    ``sum_t a_t h_t`` (W,) enter the Dense layer.

    Parameters
    ----------
    width : int
        Features per step of the recurrent output ``W``.
    n_outputs : int
    attention_units : int or None, default None
        Width ``A`` of the scoring layer; None uses ``W``.

    Notes
    -----
    Parameters: ``{"attention_kernel": (W, A), "attention_bias": (A,),
    "attention_vector": (A,), "kernel": (W, n_outputs), "bias": (n_outputs,)}``,
    listed by :meth:`weights` in that order.  Keras has no such layer; the
    first three are those of ``Dense(A, activation="tanh")`` applied at every
    step followed by ``Dense(1, use_bias=False)`` (its kernel flattened), then
    a masked softmax over the steps and the weighted sum.
    """

    KINDS = ("attention",)
    ATTENTION_KEYS = ("attention_kernel", "attention_bias", "attention_vector")

    def __init__(self, width, n_outputs, attention_units=None):
        super().__init__("attention", width, n_outputs)
        self.attention_units = int(attention_units) if attention_units else self.width

    def init_params(self, rng, dtype=np.float32):
        """Glorot-uniform kernels and vector, zero biases (Keras's ``Dense`` defaults)."""
        W, A = self.width, self.attention_units
        p = {"attention_kernel": glorot_uniform(rng, (W, A), dtype),
             "attention_bias": np.zeros(A, dtype),
             "attention_vector": glorot_uniform(rng, (A, 1), dtype).ravel()}
        p.update(super().init_params(rng, dtype))
        return p

    def weights(self, p):
        return [p[k] for k in self.ATTENTION_KEYS] + [p["kernel"], p["bias"]]

    def weight_shapes(self):
        W, A = self.width, self.attention_units
        return [(W, A), (A,), (A,)] + super().weight_shapes()

    def summary_rows(self, n_timesteps):
        A = self.attention_units
        return [("attention (AttentionPooling)", f"(None, {self.width})", self.width * A + 2 * A),
                ("dense (Dense)", f"(None, {self.n_outputs})",
                 self.width * self.n_outputs + self.n_outputs)]

    def _attend(self, p, seq, packed):
        """Scoring layer output ``u`` (T, B, A) and the weights ``a`` (T, B) of a batch."""
        T, B, W = seq.shape
        u = np.tanh(seq.reshape(-1, W) @ p["attention_kernel"] + p["attention_bias"])
        scores = (u @ p["attention_vector"]).reshape(T, B)
        real = np.arange(T)[:, None] >= packed.start[None, :]
        top = np.where(real, scores, -np.inf).max(axis=0, initial=-np.inf)
        top = np.where(np.isfinite(top), top, 0.0)
        e = np.where(real, np.exp(np.where(real, scores - top, 0.0)), 0.0)
        total = e.sum(axis=0)
        a = (e / np.where(total > 0, total, 1.0)).astype(seq.dtype)
        return u.reshape(T, B, -1), a

    def pool(self, p, h_last, seq, packed):
        """Attention-weighted sum of the real steps, (B, W)."""
        _, a = self._attend(p, seq, packed)
        return np.einsum("tb,tbw->bw", a, seq)

    def attention(self, p, seq, packed):
        """The weights at the input positions, (B, T_in): 0 at padding, each row summing to 1.

        Parameters
        ----------
        p : dict
        seq : ndarray of shape (T, B, W)
        packed : Packed

        Returns
        -------
        ndarray of shape (B, T_in)
        """
        _, a = self._attend(p, seq, packed)
        steps = np.maximum(packed.positions, 0)
        at_inputs = a[steps, np.arange(a.shape[1])[:, None]]
        return np.where(real_positions(packed), at_inputs, 0.0).astype(a.dtype)

    def forward(self, p, h_last, seq, packed):
        """Outputs (B, n_outputs) of a batch; see :meth:`DenseHead.forward`."""
        u, a = self._attend(p, seq, packed)
        feats = np.einsum("tb,tbw->bw", a, seq)
        return feats @ p["kernel"] + p["bias"], (feats, seq, u, a)

    def backward(self, p, cache, d_out):
        """Gradients given the gradient on the outputs.

        Returns
        -------
        grads : dict
            The five arrays of the parameters.
        d_last : None
        d_seq : ndarray of shape (T, B, W)
        """
        feats, seq, u, a = cache
        T, B, W = seq.shape
        A = self.attention_units
        d_feats = d_out @ p["kernel"].T
        d_seq = a[:, :, None] * d_feats[None]
        d_a = np.einsum("tbw,bw->tb", seq, d_feats)
        d_scores = a * (d_a - (a * d_a).sum(axis=0))  # softmax backward; 0 where a is 0
        d_z = (d_scores[:, :, None] * p["attention_vector"]) * (1.0 - u * u)
        flat_dz = d_z.reshape(-1, A)
        d_seq += (flat_dz @ p["attention_kernel"].T).reshape(T, B, W)
        grads = {"attention_kernel": seq.reshape(-1, W).T @ flat_dz,
                 "attention_bias": flat_dz.sum(axis=0),
                 "attention_vector": u.reshape(-1, A).T @ d_scores.reshape(-1),
                 "kernel": feats.T @ d_out, "bias": d_out.sum(axis=0)}
        return grads, None, d_seq


def make_head(pooling, width, n_outputs, n_timesteps=None, zero_padding=False):
    """The head of a pooling name: :class:`AttentionHead` for "attention", else :class:`DenseHead`.

    Parameters
    ----------
    pooling : {"last", "flatten", "mean", "max", "attention", "sequence"}
    width : int
    n_outputs : int
    n_timesteps : int or None
        Input length, needed by "flatten".
    zero_padding : bool, default False
        The stack is bidirectional: its per-step outputs at padded positions
        are zeros ("flatten" and "sequence" read them).

    Returns
    -------
    DenseHead or AttentionHead
    """
    if pooling == "attention":
        return AttentionHead(width, n_outputs)
    return DenseHead(pooling, width, n_outputs, n_timesteps, zero_padding)
