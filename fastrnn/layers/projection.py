"""Input projections ``x @ W + b`` in the table form the kernels read.

Token input never builds the ``(T, B, E)`` embedded tensor (nor a one-hot
tensor): the projection of a token is the same wherever it occurs, so it is
computed once per distinct token of the batch and the kernels gather it by
row index (or once per vocabulary id, read at the ids themselves, when the
batch has many cells per id).  Float input has one row per (step, sequence).

Dropout on token input (training only, see the guide's Dropout section):

- embedding dropout (whole token occurrences): a dropped occurrence carries
  the id ``V`` (one past the vocabulary) and reads a row holding the bias
  alone (its input vector is zero); the other rows are ``s * E[id] @ W + b``
  with ``s = 1 / (1 - p)``, so the table stays one row per id;
- a channel mask per sequence (input dropout, spatial dropout) makes the
  projection depend on the sequence: an LSTM reads the masked embedded
  vectors ``E[id] * m_b`` in its step's product (:func:`stacked_input`), other
  cells get one table row per (step, sequence) cell, ``(E[id] * m_b) @ W +
  b``, read in order; either way the gradient of the embeddings is a scatter
  of the cells' input gradients; one-hot input gets one row per distinct
  (sequence, token) pair;
- one channel mask for the whole batch (shared spatial dropout) is folded
  into the kernel, ``E[id] @ (m[:, None] * W) + b``: one row per id again.
"""

from typing import NamedTuple

import numpy as np

from .._backend import get_kernels
from ..utils.linalg import column_sums, matmul, stacked_outer_sum, transposed_product


class TokenInput(NamedTuple):
    """Token ids through an embedding matrix (or one-hot when ``embeddings`` is None).

    Attributes
    ----------
    ids : ndarray of shape (T, B), int32
        Packed (time-major, right-aligned) ids; see :mod:`fastrnn.layers._packing`.
    start : ndarray of shape (B,), int32
        First real step of each row.
    embeddings : ndarray of shape (V, D) or None
        Embedding matrix; ``None`` means exact one-hot input of width ``V``.
    dropout_mask : ndarray of shape (B, D) or (B, V), or None
        Input-dropout mask (already scaled), one per sequence.
    projected : tuple or None
        ``(table, lookup)``: the projections of a prediction's ids, made once
        for all its batches (:func:`project_tokens`; inference only).
        ``table`` has one row per id that occurs, ``lookup`` (V,) int32 maps
        an id to its row (None: the table has every id's row, in order).
    token_scale : float or None
        Embedding dropout (training only, embeddings only): ``ids`` equal to
        ``V`` are dropped occurrences (zero input), the others' input is
        scaled by ``token_scale`` (``1 / (1 - p)``).  None: no token dropped.
    frozen : bool, default False
        The embeddings are not trained: :func:`project_backward` and
        :func:`stacked_backward` skip their gradient (and return None for it).
    channel_scale : ndarray of shape (D,) or None
        Training only, embeddings only, without ``dropout_mask``: one channel
        mask (already scaled) for every sequence of the batch (shared spatial
        dropout).  It is folded into the kernel, ``(E[id] * c) @ W =
        E[id] @ (c[:, None] * W)``, so the table stays one row per id.
    """

    ids: np.ndarray
    start: np.ndarray
    embeddings: np.ndarray = None
    dropout_mask: np.ndarray = None
    projected: tuple = None
    token_scale: float = None
    frozen: bool = False
    channel_scale: np.ndarray = None


class DenseInput(NamedTuple):
    """Float sequences.

    Attributes
    ----------
    X : ndarray of shape (T, B, F)
        Packed float input.
    start : ndarray of shape (B,), int32
    dropout_mask : ndarray of shape (B, F) or None
    """

    X: np.ndarray
    start: np.ndarray
    dropout_mask: np.ndarray = None


def unique_inverse(keys, n_keys):
    """``np.unique(keys, return_inverse=True)`` for integer keys in ``[0, n_keys)``.

    When the key space is not much larger than the number of keys, a presence
    mask and a running count replace the sort (several times faster for a
    batch of token ids); the result is identical.
    """
    if keys.size and n_keys <= 4 * keys.size + 65536 and 0 <= keys.min() and keys.max() < n_keys:
        present = np.zeros(n_keys, dtype=bool)
        present[keys] = True
        rank = np.cumsum(present, dtype=np.int32 if n_keys < 2**31 else np.int64) - 1
        return np.flatnonzero(present), rank[keys]
    return np.unique(keys, return_inverse=True)


#: A batch with at least this many cells per vocabulary id projects the whole vocabulary.
CELLS_PER_ID = 4


def _whole_vocabulary(ids, n_ids):
    """Whether the table should hold every id's projection, read at the ids themselves.

    With at least :data:`CELLS_PER_ID` cells per id, a batch of uniformly drawn
    ids holds 98% of the vocabulary, so projecting only the distinct ids saves
    little arithmetic while finding them (and the row of every cell) costs more
    than projecting every id.
    """
    return ids.size >= CELLS_PER_ID * n_ids and 0 <= ids.min() and ids.max() < n_ids


def project_tokens(embeddings, W, b, tokens, n_threads=1):
    """Projection table of the vocabulary ids ``tokens``, one row each in their order.

    Parameters
    ----------
    embeddings : ndarray of shape (V, D) or None
        None for one-hot input (the rows of ``W`` are the ids' projections).
    W : ndarray of shape (D, G) or (V, G)
    b : ndarray of shape (G,)
    tokens : ndarray of shape (N,), int, or None
        None: every id, in order (no gather).
    n_threads : int, default 1

    Returns
    -------
    ndarray of shape (N, G)
    """
    if embeddings is None:
        return (W if tokens is None else W[tokens]) + b
    X_rows = embeddings if tokens is None else embeddings[tokens]
    return matmul(X_rows, W, n_threads, bias=b)


def _dropout_scaled(inp, dX):
    """The gradient ``dX`` (T, B, F) on a float input's vectors times its input-dropout mask, if any.

    In place when ``dX`` is C-contiguous; None stays None (no gradient wanted).
    """
    if dX is None or inp.dropout_mask is None:
        return dX
    return _masked(dX, inp.dropout_mask, out=dX if dX.flags.c_contiguous else None)


def _masked(X, mask, out=None):
    """``X * mask[None]`` for ``X`` (T, B, F) and ``mask`` (B, F), into ``out`` (new by default).

    Multiplied as ``(T, B * F)`` by ``(B * F,)``: NumPy's broadcast over a
    short last axis runs one short inner loop per (step, row), several times
    slower than one long loop per step.  ``out`` (``X`` itself for in place)
    must be C-contiguous.
    """
    T, B, F = X.shape
    if out is None:
        out = np.empty(X.shape, dtype=np.result_type(X, mask))
    np.multiply(X.reshape(T, B * F), np.asarray(mask, out.dtype).reshape(B * F),
                out=out.reshape(T, B * F))
    return out


def _dropped(inp):
    """The float input of ``inp`` (:class:`DenseInput`) times its input-dropout mask, if any."""
    return inp.X if inp.dropout_mask is None else _masked(inp.X, inp.dropout_mask)


def project(inp, W, b, n_threads=1):
    """Build the projection table of ``inp``.

    Parameters
    ----------
    inp : TokenInput or DenseInput
    W : ndarray of shape (n_in, G)
        Input kernel.
    b : ndarray of shape (G,)
        Input bias (zeros when the layer has no bias).
    n_threads : int, default 1
        Threads for the matrix product.

    Returns
    -------
    table : ndarray of shape (N, G)
    idx : ndarray of shape (T, B), int32
    ctx : tuple
        What :func:`project_backward` needs.
    """
    if isinstance(inp, TokenInput) and inp.projected is not None:  # made once for a prediction
        if inp.dropout_mask is not None or inp.token_scale is not None or inp.channel_scale is not None:
            raise ValueError("a precomputed projection table has no input dropout (inference only)")
        table, lookup = inp.projected
        idx = inp.ids if lookup is None else lookup[inp.ids]
        return table, np.ascontiguousarray(idx, dtype=np.int32), ("projected",)
    if isinstance(inp, DenseInput):
        T, B, F = inp.X.shape
        X = _dropped(inp)
        X2 = X.reshape(T * B, F)
        table = matmul(X2, W, n_threads, bias=b)
        idx = np.arange(T * B, dtype=np.int32).reshape(T, B)
        return table, idx, ("dense", X2)
    if (inp.token_scale is not None or inp.channel_scale is not None) and inp.embeddings is None:
        raise ValueError("embedding dropout (token_scale, channel_scale) needs an embedding, not "
                         "one-hot input")
    if inp.channel_scale is not None and inp.dropout_mask is not None:
        raise ValueError("give channel_scale or dropout_mask, not both (multiply them into the mask)")
    if inp.embeddings is not None and inp.dropout_mask is not None:
        return _project_cells(inp, W, b, n_threads)
    T, B = inp.ids.shape
    # Every cell goes into the table, padded ones too: a padded cell holds id 0, the kernels
    # never read a padded step's row, and the gradient of an unread row is zero.  One extra
    # row is cheaper than masking 10^4 ids.
    keys = inp.ids
    n_ids = inp.embeddings.shape[0] if inp.embeddings is not None else W.shape[0]
    # embedding dropout: id n_ids marks a dropped occurrence (its row: the bias alone)
    n_keys = n_ids + (inp.token_scale is not None)
    if inp.dropout_mask is None and _whole_vocabulary(keys, n_keys):
        idx = np.ascontiguousarray(keys, dtype=np.int32)
        if inp.embeddings is not None:
            table = _token_rows(inp, inp.embeddings, W, b, n_keys, n_threads)
            return table, idx, ("tokens", np.arange(n_keys), inp.embeddings)
        return project_tokens(None, W, b, None, n_threads), idx, ("onehot", np.arange(n_keys), None)
    if inp.dropout_mask is not None:  # one-hot input with a mask per sequence
        keys = keys.astype(np.int64) * B + np.arange(B)[None, :]
        n_keys *= B
    uniq, inverse = unique_inverse(keys.ravel(), n_keys)
    idx = inverse.reshape(T, B).astype(np.int32, copy=False)
    if inp.embeddings is not None:
        X_rows = inp.embeddings[uniq[:np.searchsorted(uniq, n_ids)]]  # the dropped-token id is last
        table = _token_rows(inp, X_rows, W, b, len(uniq), n_threads)
        return table, idx, ("tokens", uniq, X_rows)
    if inp.dropout_mask is None:
        tokens, scale = uniq, None
    else:
        tokens, rows_b = uniq // B, uniq % B
        scale = inp.dropout_mask[rows_b, tokens][:, None]
    table = W[tokens] if scale is None else W[tokens] * scale
    return table + b, idx, ("onehot", tokens, scale)


def _channel_kernel(inp, W):
    """``W`` with the shared channel mask folded in (``inp.channel_scale[:, None] * W``), or ``W``."""
    if inp.channel_scale is None:
        return W
    return np.asarray(inp.channel_scale, W.dtype)[:, None] * W


def _token_rows(inp, X_rows, W, b, n_rows, n_threads):
    """``X_rows @ W + b`` (times ``inp.token_scale`` before the bias), then bias-only rows up to ``n_rows``.

    The bias-only rows are those of dropped token occurrences (embedding
    dropout); ``inp.channel_scale`` (shared spatial dropout) is folded into ``W``.
    """
    W = _channel_kernel(inp, W)
    if inp.token_scale is None:
        return matmul(X_rows, W, n_threads, bias=b)
    table = np.empty((n_rows, W.shape[1]), dtype=np.result_type(X_rows, W))
    matmul(X_rows, W * np.asarray(inp.token_scale, W.dtype), n_threads, out=table[:len(X_rows)],
           bias=b)
    table[len(X_rows):] = b
    return table


def _cell_factors(inp):
    """Ids safe to gather and the per-cell input factor of embedding dropout (None without it).

    Returns
    -------
    ids : ndarray of shape (T, B), int32
        ``inp.ids`` with dropped occurrences (id ``V``) read as id 0.
    factor : ndarray of shape (T, B, 1) or None
        0 for a dropped occurrence, ``token_scale`` for the others.
    """
    ids = inp.ids
    if inp.token_scale is None:
        return np.ascontiguousarray(ids, dtype=np.int32), None
    kept = ids < inp.embeddings.shape[0]
    factor = (kept * np.asarray(inp.token_scale, inp.embeddings.dtype))[:, :, None]
    return np.where(kept, ids, 0).astype(np.int32), factor


def _masked_vectors(inp):
    """The embedded vectors of every cell of ``inp`` times its channel mask and token factor.

    Returns
    -------
    X : ndarray of shape (T, B, D)
    ids, factor
        As from :func:`_cell_factors`, for :func:`_embedding_grad`.
    """
    ids, factor = _cell_factors(inp)
    X = _masked(np.take(inp.embeddings, ids, axis=0), inp.dropout_mask)
    if factor is not None:
        X *= factor
    return X, ids, factor


def _embedding_grad(inp, dX, ids, factor, start, n_threads):
    """The embeddings' gradient (V, D) from ``dX`` (Tw, B, D), the gradient on the last ``Tw``
    steps' masked vectors (:func:`_masked_vectors`); ``dX`` is overwritten."""
    t0 = ids.shape[0] - dX.shape[0]
    _masked(dX, inp.dropout_mask, out=dX)
    if factor is not None:
        dX *= factor[t0:]
    dE = np.empty_like(inp.embeddings)
    get_kernels().scatter_rows(dX, np.ascontiguousarray(ids[t0:]), start, dE, n_threads)
    return dE


def _project_cells(inp, W, b, n_threads):
    """Embeddings under a channel mask per sequence: one table row per (step, sequence) cell.

    Each cell's row is ``(E[id] * m_b * f) @ W + b`` (``f``: embedding dropout's
    factor); the rows are in cell order, so the kernels read them in order.
    Rows per distinct (sequence, token) pair would be hardly fewer (a
    sequence rarely repeats a token) and cost a search for the pairs, a
    scatter of the table gradient into pairs and one of the pairs into the
    embeddings.
    """
    T, B = inp.ids.shape
    X, ids, factor = _masked_vectors(inp)
    X2 = X.reshape(T * B, -1)
    table = matmul(X2, W, n_threads, bias=b)
    idx = np.arange(T * B, dtype=np.int32).reshape(T, B)
    return table, idx, ("cells", X2, ids, factor)


def reads_stacked(inp):
    """Whether an LSTM reads ``inp`` in its step product (:func:`stacked_input`), not from a table.

    Float input, and embeddings under a channel mask per sequence (input or
    spatial dropout, training only): those have one projection per cell
    either way, and in the step's product it costs no ``(T, B, 4H)`` table
    written and read back nor the products of that table and its gradient.

    Parameters
    ----------
    inp : TokenInput or DenseInput

    Returns
    -------
    bool
    """
    return isinstance(inp, DenseInput) or (inp.embeddings is not None and inp.dropout_mask is not None)


def stacked_input(inp, W, b, U):
    """Input as the LSTM kernels read it: in each step's product, not through a table.

    The kernels' step product is then ``[x_t, h_{t-1} * mask] @ [W; U]``, so
    the input projection costs no ``(T, B, 4H)`` table written and read back,
    nor a bias pass over it, and its input gradient comes out of the
    backward step's product (see :func:`stacked_backward`).

    Parameters
    ----------
    inp : DenseInput or TokenInput
        ``T`` steps, ``B`` rows, ``F`` features; a :class:`TokenInput` is
        read as its embedded vectors times its channel mask (and embedding
        dropout's factor), see :func:`reads_stacked`.
    W : ndarray of shape (F, G)
        Input kernel.
    b : ndarray of shape (G,)
        Input bias (zeros when the layer has no bias).
    U : ndarray of shape (H, G)
        Recurrent kernel.

    Returns
    -------
    table : ndarray of shape (1, G)
        The bias, the only thing the kernels add from the table.
    idx : ndarray of shape (T, B), int32
        Zeros.
    X : ndarray of shape (T, B, F)
        The input (times the input-dropout mask), of ``U``'s dtype.
    WU : ndarray of shape (F + H, G)
        ``W`` stacked over ``U``.
    ctx : tuple
        What :func:`stacked_backward` needs.
    """
    dtype = U.dtype
    if isinstance(inp, DenseInput):
        X, extra = _dropped(inp), ()
    else:
        X, ids, factor = _masked_vectors(inp)
        extra = (ids, factor)
    T, B, F = X.shape
    X = np.ascontiguousarray(X, dtype=dtype)
    WU = np.concatenate([np.asarray(W, dtype=dtype), U])
    idx = np.zeros((T, B), dtype=np.int32)
    return np.asarray(b, dtype=dtype)[None], idx, X, WU, ("stacked", X.reshape(T * B, F), *extra)


def project_backward(inp, ctx, dA, idx, start, W, t0=0, n_threads=1, input_grad=True):
    """Gradients of the projection, given the kernels' ``dA`` for steps ``t0:``.

    Parameters
    ----------
    inp : TokenInput or DenseInput
        As given to :func:`project`.
    ctx : tuple
        As returned by :func:`project`.
    dA : ndarray of shape (T - t0, B, G)
        Gradient on the projections of the steps that were backpropagated.
    idx : ndarray of shape (T - t0, B), int32
        Table rows of those steps.
    start : ndarray of shape (B,), int32
        First real step of each row, counted from ``t0``.
    W : ndarray of shape (n_in, G)
    t0 : int
        First backpropagated step (earlier ones are truncated).  When it is
        positive, the gradient's products run over the table rows that ``idx``
        reads only (the others' gradient is zero).
    n_threads : int, default 1
        Threads for the matrix products.
    input_grad : bool, default True
        False: float input's gradient is not wanted (a network's raw input),
        and is neither computed nor returned.

    Returns
    -------
    dW : ndarray of shape (n_in, G)
    db : ndarray of shape (G,)
    d_input : ndarray or None
        ``(T, B, F)`` for dense input, ``(V, D)`` for embeddings, None for one-hot,
        frozen embeddings or float input without ``input_grad``.

    Raises
    ------
    ValueError
        For a prediction's precomputed table, and for input read in the
        step's product (:func:`stacked_input`; see :func:`stacked_backward`).
    """
    kind = ctx[0]
    if kind == "projected":
        raise ValueError("a precomputed projection table is for inference only: no gradient")
    if kind == "stacked":
        raise ValueError("input read in the step's product is differentiated by stacked_backward")
    Tw, B, G = dA.shape
    if kind == "dense":
        X2 = ctx[1]
        T = X2.shape[0] // B
        dA2 = dA.reshape(Tw * B, G)
        dW = transposed_product(X2[t0 * B:], dA2, n_threads, get_kernels().transposed_matmul)
        if not input_grad:
            dX = None
        else:
            dX = np.empty((T, B, X2.shape[1]), dtype=dA.dtype)
            dX[:t0] = 0.0  # the truncated steps; the product fills the rest
            matmul(dA2, W.T, n_threads, out=dX[t0:].reshape(Tw * B, -1))
        return dW, column_sums(dA2), _dropout_scaled(inp, dX)
    if kind == "cells":
        return _cells_backward(inp, ctx, dA, idx, start, W, n_threads)
    n_rows = len(ctx[1])
    used = None
    if t0 > 0:
        # Truncated: only the table rows read in the window get a gradient.  Without this, a
        # large vocabulary's rows from the untrained steps would cost two full matrix products.
        used, idx = unique_inverse(idx.ravel(), n_rows)
        idx = idx.reshape(dA.shape[:2]).astype(np.int32, copy=False)
    d_table = np.empty((n_rows if used is None else len(used), G), dtype=dA.dtype)
    get_kernels().scatter_rows(dA, idx, start, d_table, n_threads)
    db = column_sums(d_table)
    if used is not None:
        ctx = _rows_of(ctx, used)
    if kind == "tokens":
        _, tokens, X_rows = ctx
        d_rows = d_table[:len(X_rows)]  # the rest: dropped occurrences' bias-only rows
        if inp.token_scale is not None:
            d_rows = d_rows * np.asarray(inp.token_scale, d_rows.dtype)
        dW = matmul(X_rows.T, d_rows, n_threads)
        if inp.channel_scale is not None:
            dW *= np.asarray(inp.channel_scale, dW.dtype)[:, None]
        if inp.frozen:
            return dW, db, None
        dX_rows = matmul(d_rows, _channel_kernel(inp, W).T, n_threads)
        if len(X_rows) == len(inp.embeddings) and X_rows is inp.embeddings:  # every id, in order
            return dW, db, dX_rows
        dE = np.zeros_like(inp.embeddings)
        dE[tokens[:len(X_rows)]] = dX_rows  # distinct tokens: plain assignment
        return dW, db, dE
    _, tokens, scale = ctx
    if scale is None and len(tokens) == len(W):  # every id, in order
        return d_table, db, None
    dW = np.zeros_like(W)
    if scale is None:
        dW[tokens] = d_table
    else:  # (sequence, token) pairs, sorted by token: sum each token's run of rows
        first = np.flatnonzero(np.r_[True, tokens[1:] != tokens[:-1]])
        dW[tokens[first]] = np.add.reduceat(d_table * scale, first, axis=0)
    return dW, db, None


def stacked_backward(inp, ctx, dA, h0, H_seq, rec_mask, t0, start, n_threads, d_input):
    """Gradients of :func:`stacked_input`'s step product ``[x_t, h_{t-1} * mask] @ [W; U] + b``.

    The input kernel's, the recurrent kernel's and the bias's gradients come
    out of one pass over ``dA`` (:func:`~fastrnn.utils.linalg.stacked_outer_sum`;
    the LSTM kernels then skip ``U``'s).

    Parameters
    ----------
    inp : DenseInput or TokenInput
        As given to :func:`stacked_input`.
    ctx : tuple
        As returned by it.
    dA : ndarray of shape (T - t0, B, G)
        Gradient on the step products of the steps that were backpropagated.
    h0 : ndarray of shape (B, H)
        State before the first of them.
    H_seq : ndarray of shape (T - t0, B, H)
        State after each of them.
    rec_mask : ndarray of shape (B, H) or (0, H)
        Recurrent-dropout mask, or empty for none.
    t0 : int
        First backpropagated step.
    start : ndarray of shape (B,), int32
        First real step of each row, counted from ``t0``.
    n_threads : int
        Threads for the matrix products.
    d_input : ndarray of shape (T, B, F) or None
        The kernels' gradient on the input they read (zero on the truncated
        steps), scaled here by the input-dropout mask; None when float
        input's gradient is not wanted.

    Returns
    -------
    dW : ndarray of shape (F, G)
    dU : ndarray of shape (H, G)
    db : ndarray of shape (G,)
    d_input : ndarray or None
        ``(T, B, F)`` for float input, ``(V, D)`` for embeddings; None for
        frozen embeddings or float input without a gradient.  ``dW``, ``dU``
        and ``db`` may be views of one array (they do not overlap).
    """
    B = H_seq.shape[1]
    dW, dU, db = stacked_outer_sum(ctx[1][t0 * B:], h0, H_seq, rec_mask, dA, n_threads,
                                   get_kernels().transposed_matmul)
    if isinstance(inp, TokenInput):
        return dW, dU, db, _stacked_tokens_backward(inp, ctx, d_input, t0, start, n_threads)
    return dW, dU, db, _dropout_scaled(inp, d_input)


def _stacked_tokens_backward(inp, ctx, d_read, t0, start, n_threads):
    """The embeddings' gradient (V, D) from the kernels' gradient on the masked vectors they read."""
    if inp.frozen:
        return None
    _, _, ids, factor = ctx
    return _embedding_grad(inp, d_read[t0:], ids, factor, start, n_threads)  # d_read: scratch


def _cells_backward(inp, ctx, dA, idx, start, W, n_threads):
    """:func:`project_backward` for one table row per cell (:func:`_project_cells`).

    ``idx`` is the window's tail of the cells' row numbers, so the window's
    rows are the last ``dA.shape[0] * B`` rows of the table.
    """
    _, X2, ids, factor = ctx
    Tw, B, G = dA.shape
    lo = X2.shape[0] - Tw * B
    if Tw and idx[0, 0] != lo:
        raise ValueError("the cells' table is differentiated over its last steps only")
    dA2 = dA.reshape(Tw * B, G)
    dW = matmul(X2[lo:].T, dA2, n_threads)
    db = column_sums(dA2)
    if inp.frozen:
        return dW, db, None
    dX = matmul(dA2, W.T, n_threads).reshape(Tw, B, -1)
    return dW, db, _embedding_grad(inp, dX, ids, factor, start, n_threads)


def _rows_of(ctx, used):
    """The projection context restricted to the table rows ``used``."""
    kind, tokens, *rest = ctx
    if kind == "tokens":
        (X_rows,) = rest
        return kind, tokens[used], X_rows[used[used < len(X_rows)]]
    (scale,) = rest
    return kind, tokens[used], None if scale is None else scale[used]
