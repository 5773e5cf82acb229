"""Luong global attention: a decoder's outputs read a weighted mean of the encoder's outputs.

For every decoder output ``h_t`` (the query) and every real encoder output
``s_j`` (the memory), a score ``e_tj`` gives softmax weights ``a_tj`` over the
source steps (padded steps get none), the context is ``c_t = sum_j a_tj s_j``,
and the attentional output is ``tanh([c_t; h_t] @ W_c + b_c)``, which the
output layer reads instead of ``h_t`` (Luong, Pham and Manning, 2015, global
attention without input feeding).  Scores:

- ``"dot"``: ``e_tj = h_t . s_j`` (query and memory of the same width);
- ``"general"``: ``e_tj = h_t @ W_a @ s_j``.

The recurrent parts run in the kernels; attention over all decoder steps of a
batch at once is a few batched matrix products, done here in NumPy.  Products
with a weight matrix are made on the rows of all steps at once (one 2-D
product, split over the engine's threads), never one small product per row.
Decoding reads the memory through :class:`AttentionMemory`, made once per
decoding, and :meth:`LuongAttention.step`.
"""

from typing import NamedTuple

import numpy as np

from ..initializers import glorot_uniform
from ..runtime.denormals import call_flushing
from ..utils.linalg import matmul, over_row_blocks

#: Attention scores.
SCORES = ("dot", "general")


def _softmax_into(scores, bias, empty):
    """Masked softmax over the last axis of ``scores`` (B, k, Ts), in place.

    ``bias`` (B, Ts) holds 0 at real steps and ``-inf`` at padded ones, whose
    weights come out exactly 0; rows ``empty`` (a (B,) mask, or None) have no
    real step and get zero weights.
    """
    scores += bias[:, None, :]
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    if empty is not None:
        scores[empty] = 0.0


def _attend(keys, queries, mem, weights, joined, lo, hi):
    """Attention weights and ``[context; query]`` of the rows ``[lo, hi)``, into ``weights``, ``joined``.

    ``keys`` (B, k, Wm) are the queries (B, k, Wq) as the scores read them.
    """
    w, m = weights[lo:hi], mem.memory[lo:hi]
    Wm = m.shape[2]
    np.matmul(keys[lo:hi], m.transpose(0, 2, 1), out=w)
    _softmax_into(w, mem.bias[lo:hi], None if mem.empty is None else mem.empty[lo:hi])
    np.matmul(w, m, out=joined[lo:hi, :, :Wm])  # the context
    joined[lo:hi, :, Wm:] = queries[lo:hi]


def masked_memory(memory, memory_mask):
    """A C-contiguous copy of ``memory`` (B, Ts, Wm) with zeros at the padded steps of ``memory_mask``.

    Padding never leaks into the attention, not even a NaN.
    """
    memory = np.array(memory, order="C")
    memory[~memory_mask] = 0
    return memory


class AttentionMemory(NamedTuple):
    """The encoder outputs as every decoding step's attention reads them.

    Attributes
    ----------
    memory : ndarray of shape (B, Ts, Wm)
        C-contiguous, zero at padded steps.
    bias : ndarray of shape (B, Ts)
        Added to the scores: 0 at real steps, ``-inf`` at padded ones (0
        throughout a row without a real step, whose weights are then zeroed).
    empty : ndarray of shape (B,), bool, or None
        Rows without a real step (None when there is none).
    """

    memory: np.ndarray
    bias: np.ndarray
    empty: np.ndarray = None

    @classmethod
    def make(cls, memory, memory_mask):
        """From encoder outputs ``(B, Ts, Wm)`` (zero at padded steps) and their mask ``(B, Ts)``."""
        memory = np.ascontiguousarray(memory)
        bias = np.where(memory_mask, 0.0, -np.inf).astype(memory.dtype)
        empty = ~memory_mask.any(axis=1)
        if empty.any():
            bias[empty] = 0.0
        return cls(memory, bias, empty if empty.any() else None)

    def take(self, rows):
        """The memory of some rows (indices or a boolean mask)."""
        empty = None if self.empty is None else self.empty[rows]
        return AttentionMemory(self.memory[rows], self.bias[rows],
                               empty if empty is not None and empty.any() else None)


class LuongAttention:
    """Global attention with a ``tanh`` concat layer (Luong et al., 2015).

    Parameters
    ----------
    score : {"dot", "general"}
    query_width : int
        Features of a decoder output ``Wq``.
    memory_width : int
        Features of an encoder output ``Wm`` (equal to ``Wq`` for "dot").
    units : int
        Width of the attentional output ``A``.

    Notes
    -----
    Parameters: ``"score_kernel"`` (Wq, Wm) ("general" only), ``"kernel"``
    (Wm + Wq, A) (the context's rows first) and ``"bias"`` (A,).
    """

    key = "attention"

    def __init__(self, score, query_width, memory_width, units):
        if score not in SCORES:
            raise ValueError(f"score must be one of {SCORES}, got {score!r}")
        if score == "dot" and query_width != memory_width:
            raise ValueError(f"dot attention needs queries and memory of the same width, got "
                             f"{query_width} and {memory_width}")
        self.score = score
        self.query_width = int(query_width)
        self.memory_width = int(memory_width)
        self.units = int(units)

    def init_params(self, rng, dtype=np.float32):
        """Glorot-uniform kernels, zero bias."""
        p = {}
        if self.score == "general":
            p["score_kernel"] = glorot_uniform(rng, (self.query_width, self.memory_width), dtype)
        p["kernel"] = glorot_uniform(rng, (self.memory_width + self.query_width, self.units), dtype)
        p["bias"] = np.zeros(self.units, dtype)
        return p

    def weights(self, p):
        """Arrays in order: ``score_kernel`` ("general"), ``kernel``, ``bias`` (views)."""
        return ([p["score_kernel"]] if self.score == "general" else []) + [p["kernel"], p["bias"]]

    def weight_shapes(self):
        """Shapes of :meth:`weights`' arrays, without making them."""
        general = [(self.query_width, self.memory_width)] if self.score == "general" else []
        return general + [(self.memory_width + self.query_width, self.units), (self.units,)]

    def count_params(self):
        n = (self.memory_width + self.query_width + 1) * self.units
        return n + (self.query_width * self.memory_width if self.score == "general" else 0)

    def summary_rows(self, n_timesteps=None):
        kind = "LuongAttention(dot)" if self.score == "dot" else "LuongAttention(general)"
        return [(f"attention ({kind})", f"(None, {n_timesteps or 'None'}, {self.units})",
                 self.count_params())]

    def forward(self, p, queries, memory, memory_mask, n_threads=1):
        """Attentional outputs and attention weights.

        Parameters
        ----------
        p : dict
        queries : ndarray of shape (B, Tq, Wq)
            Decoder outputs.
        memory : ndarray of shape (B, Ts, Wm)
            Encoder outputs; padded steps may hold anything.
        memory_mask : ndarray of shape (B, Ts), bool
            True at the real source steps.
        n_threads : int, default 1
            Threads for the products with the kernels.

        Returns
        -------
        out : ndarray of shape (B, Tq, A)
            ``tanh([context; query] @ kernel + bias)``.
        weights : ndarray of shape (B, Tq, Ts)
            Attention weights (zero at padded source steps; each row sums to 1).
        cache : tuple
            For :meth:`backward`.
        """
        B, Tq, Wq = queries.shape
        Wm = self.memory_width
        mem = AttentionMemory.make(masked_memory(memory, memory_mask), memory_mask)
        keys = queries
        if self.score == "general":
            keys = matmul(queries.reshape(-1, Wq), p["score_kernel"], n_threads).reshape(B, Tq, Wm)
        Ts = mem.memory.shape[1]
        weights = np.empty((B, Tq, Ts), dtype=queries.dtype)
        joined = np.empty((B, Tq, Wm + Wq), dtype=queries.dtype)

        over_row_blocks(lambda lo, hi: _attend(keys, queries, mem, weights, joined, lo, hi),
                        B, n_threads, 2 * B * Tq * Ts * Wm)
        out = matmul(joined.reshape(-1, Wm + Wq), p["kernel"], n_threads, bias=p["bias"])
        out = np.tanh(out, out=out).reshape(B, Tq, self.units)
        return out, weights, (queries, keys, mem.memory, weights, joined, out, n_threads)

    def step(self, p, queries, mem, weights=None):
        """Attentional outputs of ``k`` queries per memory row, for decoding (no cache).

        What :meth:`forward` computes for these queries, with the memory made
        once per decoding.

        Parameters
        ----------
        p : dict
        queries : ndarray of shape (B, k, Wq)
            Decoder outputs: ``k`` per row of ``mem`` (a beam's hypotheses).
        mem : AttentionMemory
            Of the same ``B`` rows.
        weights : ndarray of shape (B, k, Ts), optional
            Out: the attention weights (a new array by default).

        Returns
        -------
        out : ndarray of shape (B, k, A)
        weights : ndarray of shape (B, k, Ts)
        """
        B, k, Wq = queries.shape
        Wm = self.memory_width
        keys = queries
        if self.score == "general":
            keys = matmul(queries.reshape(-1, Wq), p["score_kernel"]).reshape(B, k, Wm)
        if weights is None:
            weights = np.empty((B, k, mem.memory.shape[1]), dtype=queries.dtype)
        joined = np.empty((B, k, Wm + Wq), dtype=queries.dtype)
        call_flushing(_attend, (keys, queries, mem, weights, joined, 0, B))
        out = matmul(joined.reshape(-1, Wm + Wq), p["kernel"], bias=p["bias"])
        return np.tanh(out, out=out).reshape(B, k, self.units), weights

    def backward(self, p, cache, d_out):
        """Gradients given the gradient on the attentional outputs.

        Parameters
        ----------
        p : dict
        cache : tuple
            From :meth:`forward`.
        d_out : ndarray of shape (B, Tq, A)

        Returns
        -------
        grads : dict
            Same keys and shapes as ``p``.
        d_queries : ndarray of shape (B, Tq, Wq)
        d_memory : ndarray of shape (B, Ts, Wm)
            Zero at padded source steps.
        """
        queries, keys, memory, weights, joined, out, n_threads = cache
        Wm = self.memory_width
        B, Tq, Wq = queries.shape
        d_pre = d_out * (1.0 - out * out)
        flat_joined = joined.reshape(-1, Wm + Wq)
        flat_d = d_pre.reshape(-1, self.units)
        grads = {"kernel": matmul(flat_joined.T, flat_d, n_threads), "bias": flat_d.sum(axis=0)}
        d_joined = matmul(flat_d, p["kernel"].T, n_threads).reshape(B, Tq, Wm + Wq)
        Ts = memory.shape[1]
        d_memory = np.empty((B, Ts, Wm), dtype=d_joined.dtype)
        d_keys = np.empty((B, Tq, Wm), dtype=d_joined.dtype)

        def block(lo, hi):
            w, m, d_context = weights[lo:hi], memory[lo:hi], d_joined[lo:hi, :, :Wm]
            np.matmul(w.transpose(0, 2, 1), d_context, out=d_memory[lo:hi])
            d_weights = d_context @ m.transpose(0, 2, 1)
            d_scores = w * (d_weights - (d_weights * w).sum(axis=-1, keepdims=True))
            np.matmul(d_scores, m, out=d_keys[lo:hi])
            d_memory[lo:hi] += d_scores.transpose(0, 2, 1) @ keys[lo:hi]

        over_row_blocks(block, B, n_threads, 4 * B * Tq * Ts * Wm)
        d_queries = d_joined[..., Wm:]
        if self.score == "general":
            flat_d_keys = d_keys.reshape(-1, Wm)
            grads["score_kernel"] = matmul(queries.reshape(-1, Wq).T, flat_d_keys, n_threads)
            d_queries = d_queries + matmul(flat_d_keys, p["score_kernel"].T,
                                           n_threads).reshape(B, Tq, Wq)
        else:
            d_queries = d_queries + d_keys
        return grads, d_queries, d_memory
