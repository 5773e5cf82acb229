"""An encoder-decoder wired from the model core's parts: sequence to sequence with attention.

The source ids enter an embedding and a (optionally bidirectional, stacked)
encoder stack; each encoder layer's final states start the matching decoder
layer; the decoder reads the target shifted right (teacher forcing: the
start id, then the true previous tokens) from its own embedding; its
outputs, optionally combined with :class:`~.attention.LuongAttention` over the
encoder's outputs, go through one ``Dense`` to logits over the target
vocabulary.  Both stacks run in the kernels.

The model has the interface the training loop reads from a
:class:`~.model.SequenceModel` (``forward``, ``backward``, ``weights``,
``init_params``, ``layer_inputs``, ``n_dir``), over a :class:`Seq2SeqBatch`
instead of one packed array, so :func:`fastrnn.training.train` trains it
unchanged.  Decoding uses :meth:`Seq2SeqModel.encode` once and
:meth:`Seq2SeqModel.step` once per output step for every live row at once.
"""

from typing import NamedTuple

import numpy as np

from .._warnings import warn_at_caller
from ..initializers import glorot_uniform
from ._packing import Packed, pack_tokens
from ..utils.linalg import matmul, over_row_blocks
from .attention import AttentionMemory, LuongAttention, masked_memory
from .encoders import TokenEncoder
from .stack import RecurrentStack, reverse_packed


class Seq2SeqBatch(NamedTuple):
    """A batch of pairs in kernel layout.

    Attributes
    ----------
    source : Packed
        Source ids, (Ts, B).
    target : Packed
        Decoder inputs (the start id, then the target tokens), (Td, B); the
        outputs of :meth:`Seq2SeqModel.forward` follow its packed steps.
    """

    source: Packed
    target: Packed


def pack_pairs(source_ids, decoder_inputs):
    """Pack padded source ids (B, Ts_in) and pre-padded decoder inputs (B, Td).

    The decoder inputs must be pre-padded (right-aligned) and their longest
    row as long as the matrix, so that packed step ``t`` is column ``t`` and
    targets laid out like them need no reordering.

    Returns
    -------
    Seq2SeqBatch
    """
    target = pack_tokens(decoder_inputs)
    if target.n_steps != decoder_inputs.shape[1]:
        raise ValueError("decoder inputs must be pre-padded with a full-length row")
    return Seq2SeqBatch(pack_tokens(source_ids), target)


def _real_steps(packed):
    """(B, T) bool: True at each row's real packed steps."""
    return np.arange(packed.n_steps)[None, :] >= packed.start[:, None]


class Seq2SeqModel:
    """Encoder-decoder with optional Luong attention, over :class:`Seq2SeqBatch` batches.

    Parameters
    ----------
    n_source : int
        Source vocabulary size (id 0 = padding).
    n_target : int
        Target vocabulary size (id 0 = padding), also the number of outputs.
    embedding_dim : int
    encoder_layers : list of Recurrent
        Bottom to top; with ``bidirectional`` each direction has these units.
    decoder_layers : list of Recurrent
        As many as ``encoder_layers``, of the same cell; layer ``i`` has the
        width of encoder layer ``i``'s output (its units times directions).
    bidirectional : bool, default False
    attention : {None, "dot", "general"}, default None

    Notes
    -----
    **State hand-off.**  Decoder layer ``i`` starts from encoder layer ``i``'s
    final states; a bidirectional encoder's forward and backward final states
    are joined side by side (``[h_fwd; h_bwd]``, and ``[c_fwd; c_bwd]`` for an
    LSTM), which is why a decoder layer is as wide as the encoder layer's
    joined output.  No parameters are involved.

    **Parameters** (``params`` keys, and :meth:`weights` order):
    ``"source_embeddings"`` (n_source, E); ``"encoder"`` (a stack's
    ``params[i][d]``, each layer's forward arrays then its backward ones);
    ``"target_embeddings"`` (n_target, E); ``"decoder"``; ``"attention"``
    (with attention: ``score_kernel`` for "general", ``kernel``, ``bias``);
    ``"dense"`` (``kernel`` (A, n_target), ``bias``), where ``A`` is the
    decoder's width.
    """

    def __init__(self, n_source, n_target, embedding_dim, encoder_layers, decoder_layers,
                 bidirectional=False, attention=None):
        self.encoder = RecurrentStack(encoder_layers, bidirectional)
        self.decoder = RecurrentStack(decoder_layers, False)
        if len(encoder_layers) != len(decoder_layers):
            raise ValueError(f"the encoder has {len(encoder_layers)} layers and the decoder "
                             f"{len(decoder_layers)}: each decoder layer starts from one encoder layer")
        for i, (enc, dec) in enumerate(zip(encoder_layers, decoder_layers)):
            if enc.cell != dec.cell or dec.units != enc.units * self.encoder.n_dir:
                raise ValueError(f"decoder layer {i} ({dec.cell}, {dec.units} units) cannot start "
                                 f"from encoder layer {i} ({enc.cell}, {enc.units} units x "
                                 f"{self.encoder.n_dir} directions)")
        if attention not in (None, "dot", "general"):
            raise ValueError(f"attention must be None, 'dot' or 'general', got {attention!r}")
        self.source_encoder = TokenEncoder(n_source, embedding_dim)
        self.target_encoder = TokenEncoder(n_target, embedding_dim)
        width = self.decoder.width
        self.attention = (None if attention is None
                          else LuongAttention(attention, width, self.encoder.width, width))
        self.n_outputs = int(n_target)

    # ------------------------------------------------------------ shapes
    @property
    def n_dir(self):
        """Directions of the encoder (the decoder has one)."""
        return self.encoder.n_dir

    @property
    def n_encoder_layers(self):
        return len(self.encoder.layers)

    def layer_inputs(self):
        """``(layer, input width)`` pairs: the encoder's layers, then the decoder's.

        Dropout masks made from these (``masks[i][d]``, ``n_dir`` directions
        for every layer) are split by :meth:`forward`: a decoder layer uses
        its first direction's masks.
        """
        yield from self.encoder.layer_inputs(self.source_encoder.width)
        yield from self.decoder.layer_inputs(self.target_encoder.width)

    def init_params(self, rng, dtype=np.float32):
        """Fresh parameters (Keras's default initialisers), in :meth:`weights` order."""
        width = self.decoder.width
        params = {"source_embeddings": self.source_encoder.init_params(rng, dtype),
                  "encoder": self.encoder.init_params(rng, self.source_encoder.width, dtype),
                  "target_embeddings": self.target_encoder.init_params(rng, dtype),
                  "decoder": self.decoder.init_params(rng, self.target_encoder.width, dtype)}
        if self.attention is not None:
            params["attention"] = self.attention.init_params(rng, dtype)
        params["dense"] = {"kernel": glorot_uniform(rng, (width, self.n_outputs), dtype),
                           "bias": np.zeros(self.n_outputs, dtype)}
        return params

    def weights(self, params):
        """Parameter (or gradient) arrays in the documented order (views)."""
        out = [params["source_embeddings"]]
        out += self.encoder.weights(params["encoder"])
        out.append(params["target_embeddings"])
        out += self.decoder.weights(params["decoder"])
        if self.attention is not None:
            out += self.attention.weights(params["attention"])
        return out + [params["dense"]["kernel"], params["dense"]["bias"]]

    def weight_shapes(self):
        """Shapes of :meth:`weights`' arrays, without making them (to check loaded weights cheaply)."""
        shapes = self.source_encoder.weight_shapes()
        shapes += self.encoder.weight_shapes(self.source_encoder.width)
        shapes += self.target_encoder.weight_shapes()
        shapes += self.decoder.weight_shapes(self.target_encoder.width)
        if self.attention is not None:
            shapes += self.attention.weight_shapes()
        return shapes + [(self.decoder.width, self.n_outputs), (self.n_outputs,)]

    def layer_summary(self):
        """Rows ``(name, output_shape, n_params)`` of a Keras-style summary."""
        rows = [(f"source_{name}", shape, n) for name, shape, n in
                self.source_encoder.summary_rows(None)]
        rows += [(f"encoder_{name}", shape, n) for name, shape, n in
                 self.encoder.summary_rows(self.source_encoder.width, None,
                                           self.attention is not None)]
        rows += [(f"target_{name}", shape, n) for name, shape, n in
                 self.target_encoder.summary_rows(None)]
        rows += [(f"decoder_{name}", shape, n) for name, shape, n in
                 self.decoder.summary_rows(self.target_encoder.width, None, True)]
        if self.attention is not None:
            rows += self.attention.summary_rows()
        width = self.decoder.width
        rows.append(("output (Dense)", f"(None, None, {self.n_outputs})",
                     (width + 1) * self.n_outputs))
        return rows

    # ---------------------------------------------------------- pieces
    def _split_masks(self, masks):
        if masks is None:
            return None, None
        n = self.n_encoder_layers
        return masks[:n], [m[:1] for m in masks[n:]]

    def _encode(self, params, source, *, training, masks, bptt_truncate, n_threads):
        emb = params["source_embeddings"]
        first = []
        for d in range(self.n_dir):
            data = source.data if d == 0 else reverse_packed(source.data, source.start)
            in_mask = masks[0][d][0] if masks is not None else None
            first.append(self.source_encoder.layer_input(emb, data, source.start, in_mask))
        _, seq, finals, cache = self.encoder.forward(
            params["encoder"], first, source.start, masks=masks, training=training,
            bptt_truncate=bptt_truncate, return_sequences=self.attention is not None,
            n_threads=n_threads)
        memory = None if seq is None else seq.transpose(1, 0, 2)
        return memory, _real_steps(source), self.bridge(finals), cache

    def bridge(self, finals):
        """Decoder initial states from the encoder's final states (``states[i][0]``).

        A bidirectional layer's two directions are joined side by side.
        """
        if self.n_dir == 1:
            return [[f[0]] for f in finals]
        return [[tuple(np.concatenate(parts, axis=1) for parts in zip(*f))] for f in finals]

    def bridge_backward(self, d_states0):
        """Gradient on the encoder's final states from the decoder's initial-state gradient."""
        if self.n_dir == 1:
            return [[g[0]] for g in d_states0]
        out = []
        for layer, g in zip(self.encoder.layers, d_states0):
            H = layer.units
            out.append([tuple(np.ascontiguousarray(s[:, d * H:(d + 1) * H]) for s in g[0])
                        for d in range(2)])
        return out

    def _outputs(self, params, queries, memory, memory_mask, n_threads=1):
        """Logits (B, Tq, V) from decoder outputs (B, Tq, W); attention weights or None."""
        weights = att_cache = None
        feats = queries
        if self.attention is not None:
            feats, weights, att_cache = self.attention.forward(
                params["attention"], queries, memory, memory_mask, n_threads)
        B, Tq, A = feats.shape
        logits = matmul(feats.reshape(-1, A), params["dense"]["kernel"], n_threads,
                        bias=params["dense"]["bias"]).reshape(B, Tq, self.n_outputs)
        return logits, weights, (feats, att_cache)

    def _step_outputs(self, params, h, mem, n_threads=1):
        """Logits of one decoding step from the decoder's outputs, attention included.

        Parameters
        ----------
        params : dict
        h : ndarray of shape (B, k, W)
            The top decoder layer's outputs: ``k`` per row of ``mem``.
        mem : AttentionMemory or None
            The rows' memory (None without attention).
        n_threads : int, default 1
            Blocks of rows go to the engine's threads, each block's products
            made by one single-threaded BLAS call per product.

        Returns
        -------
        logits : ndarray of shape (B, k, V)
        weights : ndarray of shape (B, k, Ts) or None
        """
        B, k, W = h.shape
        V = self.n_outputs
        kernel, bias = params["dense"]["kernel"], params["dense"]["bias"]
        if self.attention is None:
            logits = matmul(h.reshape(-1, W), kernel, n_threads, bias=bias)
            return logits.reshape(B, k, V), None
        att = self.attention
        logits = np.empty((B, k, V), dtype=h.dtype)
        weights = np.empty((B, k, mem.memory.shape[1]), dtype=h.dtype)

        def block(lo, hi):
            feats, _ = att.step(params["attention"], h[lo:hi], mem.take(slice(lo, hi)),
                                weights[lo:hi])
            matmul(feats.reshape(-1, att.units), kernel, out=logits[lo:hi].reshape(-1, V), bias=bias)

        work = B * k * (att.units * (att.query_width + att.memory_width + V)
                        + 2 * mem.memory.shape[1] * att.memory_width)
        over_row_blocks(block, B, n_threads, work)
        return logits, weights

    # ----------------------------------------------------------- forward
    def forward(self, params, packed, *, training=False, masks=None, bptt_truncate=None,
                n_threads=1, states=None, return_states=False, return_attention=False):
        """Teacher-forced logits of a batch of pairs.

        Parameters
        ----------
        params : dict
        packed : Seq2SeqBatch
        training : bool, default False
            Keep what :meth:`backward` needs.
        masks : list or None
            Dropout masks per layer (encoder's, then decoder's) and direction,
            as made from :meth:`layer_inputs`.
        bptt_truncate : int or None
            Passed to both stacks.
        n_threads : int, default 1
        states : None
            The decoder starts from the encoder's states; anything else is refused.
        return_states : bool, default False
            Also return the decoder's final states.
        return_attention : bool, default False
            Also return the attention weights (B, Td, Ts) (None without attention).

        Returns
        -------
        logits : ndarray of shape (B, Td, n_target)
            At the decoder's packed steps (step ``t`` predicts the token after
            decoder input ``t``); padded steps hold values the loss must ignore.
        cache : dict or None
        states : list
            With ``return_states``.
        weights : ndarray or None
            With ``return_attention``.
        """
        if states is not None:
            raise ValueError("states: an encoder-decoder's decoder starts from the encoder's "
                             "final states; pass None")
        enc_masks, dec_masks = self._split_masks(masks)
        memory, memory_mask, dec_states, enc_cache = self._encode(
            params, packed.source, training=training, masks=enc_masks,
            bptt_truncate=bptt_truncate, n_threads=n_threads)
        target = packed.target
        in_mask = dec_masks[0][0][0] if dec_masks is not None else None
        first = [self.target_encoder.layer_input(params["target_embeddings"], target.data,
                                                 target.start, in_mask)]
        _, seq, finals, dec_cache = self.decoder.forward(
            params["decoder"], first, target.start, masks=dec_masks, states=dec_states,
            training=training, bptt_truncate=bptt_truncate, return_sequences=True,
            n_threads=n_threads)
        real = _real_steps(target)
        queries = np.where(real[:, :, None], seq.transpose(1, 0, 2), 0)  # padded steps: no input
        logits, weights, out_cache = self._outputs(params, queries, memory, memory_mask,
                                                   n_threads=n_threads)
        cache = None
        if training:
            cache = {"enc": enc_cache, "dec": dec_cache, "out": out_cache, "real": real,
                     "packed": packed, "n_threads": n_threads}
        result = (logits, cache)
        if return_states:
            result += (finals,)
        if return_attention:
            result += (weights,)
        return result

    # ---------------------------------------------------------- backward
    def backward(self, params, cache, d_outputs):
        """Gradients of every parameter given the gradient on the logits.

        Parameters
        ----------
        params : dict
        cache : dict
            From :meth:`forward` with ``training=True``.
        d_outputs : ndarray of shape (B, Td, n_target)

        Returns
        -------
        dict
            Same structure and shapes as ``params``.
        """
        packed = cache["packed"]
        feats, att_cache = cache["out"]
        V = self.n_outputs
        n_threads = cache["n_threads"]
        B, Td, A = feats.shape
        flat_d = d_outputs.reshape(-1, V)
        grads = {"dense": {"kernel": matmul(feats.reshape(-1, A).T, flat_d, n_threads),
                           "bias": flat_d.sum(axis=0)}}
        d_feats = matmul(flat_d, params["dense"]["kernel"].T, n_threads).reshape(B, Td, A)
        d_memory = None
        if self.attention is not None:
            grads["attention"], d_queries, d_memory = self.attention.backward(
                params["attention"], att_cache, d_feats)
        else:
            d_queries = d_feats
        d_queries = np.where(cache["real"][:, :, None], d_queries, 0)
        d_seq = np.ascontiguousarray(d_queries.transpose(1, 0, 2))
        grads["decoder"], d_in, d_states0 = self.decoder.backward(
            params["decoder"], cache["dec"], packed.target.start, d_seq=d_seq)
        grads["target_embeddings"] = self.target_encoder.backward(params["target_embeddings"], d_in)
        d_enc_seq = None if d_memory is None else np.ascontiguousarray(d_memory.transpose(1, 0, 2))
        grads["encoder"], d_in, _ = self.encoder.backward(
            params["encoder"], cache["enc"], packed.source.start, d_seq=d_enc_seq,
            d_finals=self.bridge_backward(d_states0))
        grads["source_embeddings"] = self.source_encoder.backward(params["source_embeddings"], d_in)
        return grads

    # ---------------------------------------------------------- decoding
    def encode(self, params, source, n_threads=1):
        """Encode a packed source batch once, for :meth:`step`.

        Returns
        -------
        memory : ndarray of shape (B, Ts, W) or None
            Encoder outputs, zero at padded steps (None without attention).
        memory_mask : ndarray of shape (B, Ts), bool
        states : list
            Decoder initial states ``states[i][0]``.
        """
        memory, mask, states, _ = self._encode(params, source, training=False, masks=None,
                                               bptt_truncate=None, n_threads=n_threads)
        if memory is not None:  # once here rather than at every step's attention
            memory = masked_memory(memory, mask)
        return memory, mask, states

    def target_table(self, params, n_threads=1):
        """The decoder's first-layer projections of every target id, for :meth:`step`."""
        layer = self.decoder.layers[0]
        return layer.token_table(params["decoder"][0][0], params["target_embeddings"], None,
                                 n_threads)

    def step(self, params, ids, states, memory, memory_mask, n_threads=1, table=None):
        """One decoder step for every row: one kernel call per layer for the whole batch.

        Parameters
        ----------
        params : dict
        ids : ndarray of shape (B,), int
            The previous output token of each row (the start id at first).
        states : list
            Decoder states ``states[i][0]`` of the rows.
        memory, memory_mask : as from :meth:`encode` (zero at padded steps), the rows' own
        n_threads : int, default 1
        table : ndarray or None
            From :meth:`target_table` (made once per decoding).

        Returns
        -------
        logits : ndarray of shape (B, n_target)
        states : list
            The states after the step.
        weights : ndarray of shape (B, Ts) or None
            Attention weights of the step.
        """
        mem = None if memory is None else AttentionMemory.make(memory, memory_mask)
        h, finals = self._decoder_step(params, ids, states, n_threads, table)
        logits, weights = self._step_outputs(params, h[:, None, :], mem, n_threads)
        return logits[:, 0], finals, (None if weights is None else weights[:, 0])

    def _decoder_step(self, params, ids, states, n_threads, table):
        """The decoder stack's outputs (B, W) and states after one step on ``ids`` (B,)."""
        B = len(ids)
        data = np.asarray(ids, dtype=np.int32).reshape(1, B)
        start = np.zeros(B, dtype=np.int32)
        projected = None if table is None else (table, None)
        first = [self.target_encoder.layer_input(params["target_embeddings"], data, start,
                                                 None, projected)]
        h_last, _, finals, _ = self.decoder.forward(params["decoder"], first, start, states=states,
                                                    n_threads=n_threads)
        return h_last, finals

    # -------------------------------------------------------- evaluation
    def evaluate(self, params, X, y, w, cfg, batch_size=256):
        """Teacher-forced loss and metric on pairs, for :func:`fastrnn.training.evaluate`.

        Parameters
        ----------
        params : dict
        X : tuple (source_ids (n, Ts), decoder_inputs (n, Td))
            Decoder inputs pre-padded; ``y`` (n, Td) targets laid out like
            them (-1 under padding).
        y : ndarray of shape (n, Td)
        w : ndarray of shape (n,)
        cfg : TrainConfig
            Its ``loss_fn``, ``metric_fn`` and ``n_threads``.
        batch_size : int, default 256

        Returns
        -------
        loss : float
            Mean over the real target tokens (weighted by ``w``).
        metric : float or None
        outputs : None
            Logits are not kept (one (n, Td, V) array may be large).
        """
        source, dec_in = X
        total = loss = metric = 0.0
        batch_size = min(batch_size, 256)  # logits are (rows, Td, V): bound their memory
        for lo in range(0, len(source), batch_size):
            rows = slice(lo, lo + batch_size)
            batch, tgt = self.batch(source[rows], dec_in[rows], y[rows])
            logits, _ = self.forward(params, batch, n_threads=cfg.n_threads)
            weight = float((w[rows, None] * (tgt >= 0)).sum())
            b_loss, _ = cfg.loss_fn(logits, tgt, w[rows])
            loss += b_loss * weight
            if cfg.metric_fn is not None:
                metric += cfg.metric_fn(logits, tgt, w[rows]) * weight
            total += weight
        total = max(total, 1e-300)
        return loss / total, (None if cfg.metric_fn is None else metric / total), None

    @staticmethod
    def batch(source, decoder_inputs, targets=None):
        """A :class:`Seq2SeqBatch` of some rows of pre-padded arrays, trimmed to their longest target.

        Returns
        -------
        batch : Seq2SeqBatch
        targets : ndarray of shape (B, Td) or None
            ``targets`` cut like the decoder inputs.
        """
        n = max(int((decoder_inputs != 0).sum(axis=1).max(initial=1)), 1)
        batch = pack_pairs(source, decoder_inputs[:, -n:])
        return batch, (None if targets is None else targets[:, -n:])

    # ---------------------------------------------------------- decoding
    def decode(self, params, source, *, start_id, end_id, max_length, beam_width=1,
               length_penalty=1.0, banned_ids=(), n_threads=1, return_scores=True, failures=None):
        """Greedy (``beam_width=1``) or beam search over a batch of sources.

        Every step runs the decoder once for all live hypotheses of all rows
        (one kernel call per layer); a row stops when it has ``beam_width``
        finished hypotheses (ended by ``end_id``), so with ``beam_width=1``
        at its first end token; after ``max_length`` tokens only the end
        token is allowed.  Hypotheses are ranked by their total
        log-probability divided by ``length ** length_penalty`` (the length
        counts the end token), so longer outputs are not penalised merely
        for having more factors.

        Parameters
        ----------
        params : dict
        source : Packed
            Source ids, (Ts, N).
        start_id, end_id : int
        max_length : int
            Most output tokens (the end token not counted).
        beam_width : int, default 1
        length_penalty : float, default 1.0
            0 ranks by total log-probability.
        banned_ids : sequence of int
            Ids never emitted (padding, start, unknown).
        n_threads : int, default 1
        return_scores : bool, default True
            False: greedy decoding picks each step's token by the largest
            logit, without the log-softmax over the vocabulary that its
            scores need (the same tokens), and returns None for them.
        failures : list, optional
            Receives the number of rows whose scores were not finite (their
            outputs are empty), instead of a ``RuntimeWarning`` saying it.

        Returns
        -------
        outputs : list of list of int
            Per row, the best hypothesis's ids, without the start and end ids.
        scores : ndarray of shape (N,) or None
            Their normalised log-probabilities.
        """
        K = int(beam_width)
        if K < 1:
            raise ValueError(f"beam_width must be >= 1, got {beam_width}")
        memory, mask, states = self.encode(params, source, n_threads)
        mem = None if memory is None else AttentionMemory.make(memory, mask)
        table = self.target_table(params, n_threads)
        N, V = source.start.shape[0], self.n_outputs
        banned = np.zeros(V, dtype=bool)
        banned[list(banned_ids)] = True
        if K == 1:
            return self._greedy(params, mem, states, table, start_id, end_id, max_length,
                                length_penalty, banned, n_threads, return_scores, failures)
        mem_rows = np.arange(N)  # the rows whose memory ``mem`` holds
        best_score = np.full(N, -np.inf)
        best = [[] for _ in range(N)]
        n_finished = np.zeros(N, dtype=np.int64)
        row = np.arange(N)  # the row of every live hypothesis, ascending
        history = np.full((N, 0), start_id, dtype=np.int64)
        scores = np.zeros(N)
        last = np.full(N, start_id, dtype=np.int64)
        n_keep = min(2 * K, V)
        for t in range(max_length + 1):
            h, states = self._decoder_step(params, last, states, n_threads, table)
            # the live hypotheses of a source row side by side, ``slot`` apart
            rows, first = np.unique(row, return_index=True)
            slot = np.arange(len(row)) - np.repeat(first, np.diff(np.append(first, len(row))))
            local = np.searchsorted(rows, row)
            width = int(slot.max()) + 1
            if mem is None:
                logits = self._step_outputs(params, h[:, None, :], None, n_threads)[0][:, 0]
            else:
                if len(rows) != len(mem_rows):  # rows only ever finish: fewer means others
                    mem, mem_rows = mem.take(np.searchsorted(mem_rows, rows)), rows
                # one memory row attended by all its hypotheses at once
                grid = np.zeros((len(rows), width, h.shape[1]), dtype=h.dtype)
                grid[local, slot] = h
                logits = self._step_outputs(params, grid, mem, n_threads)[0][local, slot]
            logp = _log_softmax(logits.astype(np.float64))
            logp[:, banned] = -np.inf
            if t == max_length:  # out of room: the end token only
                logp[:, np.arange(V) != end_id] = -np.inf
            cand = scores[:, None] + logp
            # a row's best candidates are among its hypotheses' own best n_keep each
            hyp_tok = np.argpartition(-cand, n_keep - 1, axis=1)[:, :n_keep]
            hyp_sc = np.take_along_axis(cand, hyp_tok, axis=1)
            # one row of candidates per source row: its hypotheses' side by side
            table_c = np.full((len(rows), width * n_keep), -np.inf)
            table_t = np.zeros((len(rows), width * n_keep), dtype=np.int64)
            for s in range(width):
                at = slot == s
                table_c[local[at], s * n_keep:(s + 1) * n_keep] = hyp_sc[at]
                table_t[local[at], s * n_keep:(s + 1) * n_keep] = hyp_tok[at]
            n_top = min(2 * K, table_c.shape[1])  # the row's best 2K, up to K of them going on
            top = np.argpartition(-table_c, n_top - 1, axis=1)[:, :n_top]
            top_sc = np.take_along_axis(table_c, top, axis=1)
            order = np.argsort(-top_sc, axis=1, kind="stable")
            top, top_sc = np.take_along_axis(top, order, 1), np.take_along_axis(top_sc, order, 1)
            tok, parent_slot = np.take_along_axis(table_t, top, axis=1), top // n_keep
            valid = np.isfinite(top_sc)
            ends = valid & (tok == end_id) & (np.arange(n_top)[None, :] < K)
            norm = top_sc / float(t + 1) ** length_penalty
            for r_loc, j in zip(*np.nonzero(ends)):
                r = rows[r_loc]
                n_finished[r] += 1
                if norm[r_loc, j] > best_score[r]:
                    best_score[r] = norm[r_loc, j]
                    parent = first[r_loc] + parent_slot[r_loc, j]
                    best[r] = history[parent].tolist()
            going = valid & (tok != end_id)
            going &= np.cumsum(going, axis=1) <= K
            going &= (n_finished[rows] < K)[:, None]
            r_loc, j = np.nonzero(going)
            if len(r_loc) == 0:
                break
            parent = first[r_loc] + parent_slot[r_loc, j]
            row = rows[r_loc]
            history = np.concatenate([history[parent], tok[r_loc, j][:, None]], axis=1)
            scores = top_sc[r_loc, j]
            last = tok[r_loc, j]
            states = [[tuple(s[parent] for s in st[0])] for st in states]
        _report_failed(np.isneginf(best_score), failures)  # every sound row finished
        return best, best_score

    def _greedy(self, params, mem, states, table, start_id, end_id, max_length, length_penalty,
                banned, n_threads, return_scores=True, failures=None):
        """:meth:`decode` with ``beam_width=1``: each row's most probable token at every step.

        The outputs and scores of a beam of one (ties go to the lowest id),
        without a beam's bookkeeping: finished rows leave the batch, their
        states and memory gathered only at the steps where some rows finish.
        """
        N, V = len(states[0][0][0]), self.n_outputs
        live = np.arange(N)  # the source row of every decoded row
        last = np.full(N, start_id, dtype=np.int64)
        scores = np.zeros(N)
        best_score = np.full(N, -np.inf)
        tokens = np.zeros((N, max_length), dtype=np.int64)
        length = np.full(N, -1, dtype=np.int64)  # -1: no output (a row whose scores failed)
        for t in range(max_length + 1):
            h, states = self._decoder_step(params, last, states, n_threads, table)
            z = self._step_outputs(params, h[:, None, :], mem, n_threads)[0][:, 0]
            if return_scores:
                z = _log_softmax(z.astype(np.float64))
                failed = None
            else:
                # (a log-softmax moves a row's logits by one constant: the same largest one)
                # A NaN, an infinite largest logit or no finite one makes a row's log-softmax
                # NaN throughout: such a row fails, as with scores, whatever is banned below.
                failed = ~np.isfinite(z.max(axis=1))
            z[:, banned] = -np.inf
            if t == max_length:  # out of room: the end token only
                z[:, np.arange(V) != end_id] = -np.inf
            tok = z.argmax(axis=1)
            top = z[np.arange(len(tok)), tok]
            if return_scores:
                scores = scores + top
            # a beam drops a row without a finite candidate (NaN or infinite logits)
            valid = np.isfinite(top) if failed is None else np.isfinite(top) & ~failed
            ends = tok == end_id
            done = ends & valid
            if done.any():
                if return_scores:
                    best_score[live[done]] = scores[done] / float(t + 1) ** length_penalty
                length[live[done]] = t
            going = valid & ~ends
            if not going.all():
                if not going.any():
                    break
                live, tok, scores = live[going], tok[going], scores[going]
                states = [[tuple(s[going] for s in st[0])] for st in states]
                mem = None if mem is None else mem.take(going)
            tokens[live, t] = tok
            last = tok
        best = [tokens[r, :n].tolist() if n >= 0 else [] for r, n in enumerate(length)]
        _report_failed(length < 0, failures)
        return best, (best_score if return_scores else None)


def warn_failed(n_failed):
    """Say that ``n_failed`` rows decoded to nothing because their scores were not finite."""
    if n_failed:
        warn_at_caller(f"{n_failed} source(s) gave non-finite scores (NaN or infinite logits: "
                       "diverged or overflowing weights), so their outputs are empty, as a "
                       "genuine empty output would be", RuntimeWarning)


def _report_failed(rows, failures):
    """Add the count of failed ``rows`` (bool mask) to the list ``failures``, or warn of it."""
    if failures is None:
        warn_failed(int(rows.sum()))
    else:
        failures.append(int(rows.sum()))


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
