"""Input projections ``x @ W + b`` in the table form the kernels read.

Token input never builds the ``(T, B, E)`` embedded tensor (nor a one-hot
tensor): the projection of a token is the same wherever it occurs, so it is
computed once per distinct token of the batch and the kernels gather it by
row index (or once per vocabulary id, read at the ids themselves, when the
batch has many cells per id).  With input dropout the projection depends on
the sequence too (one mask per sequence), so the rows are the distinct
(sequence, token) pairs instead.  Float input has one row per (step, sequence).
"""

from typing import NamedTuple

import numpy as np

from .._backend import get_kernels
from ..utils.linalg import column_sums, matmul


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
    """

    ids: np.ndarray
    start: np.ndarray
    embeddings: np.ndarray = None
    dropout_mask: np.ndarray = None
    projected: tuple = None


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


def _dropped(inp):
    """The float input of ``inp`` (:class:`DenseInput`) times its input-dropout mask, if any."""
    return inp.X if inp.dropout_mask is None else inp.X * inp.dropout_mask[None]


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
        if inp.dropout_mask is not None:
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
    T, B = inp.ids.shape
    # Every cell goes into the table, padded ones too: a padded cell holds id 0, the kernels
    # never read a padded step's row, and the gradient of an unread row is zero.  One extra
    # row is cheaper than masking 10^4 ids.
    keys = inp.ids
    n_keys = inp.embeddings.shape[0] if inp.embeddings is not None else W.shape[0]
    if inp.dropout_mask is None and _whole_vocabulary(keys, n_keys):
        tokens = np.arange(n_keys)
        idx = np.ascontiguousarray(keys, dtype=np.int32)
        table = project_tokens(inp.embeddings, W, b, None, n_threads)
        if inp.embeddings is not None:
            return table, idx, ("tokens", tokens, None, inp.embeddings)
        return table, idx, ("onehot", tokens, None)
    if inp.dropout_mask is not None:
        keys = keys.astype(np.int64) * B + np.arange(B)[None, :]
        n_keys *= B
    uniq, inverse = unique_inverse(keys.ravel(), n_keys)
    idx = inverse.reshape(T, B).astype(np.int32, copy=False)
    if inp.dropout_mask is None:
        tokens, rows_b = uniq, None
    else:
        tokens, rows_b = uniq // B, uniq % B
    if inp.embeddings is not None:
        X_rows = inp.embeddings[tokens]
        if rows_b is not None:
            X_rows = X_rows * inp.dropout_mask[rows_b]
        table = matmul(X_rows, W, n_threads, bias=b)
        return table, idx, ("tokens", tokens, rows_b, X_rows)
    scale = None if rows_b is None else inp.dropout_mask[rows_b, tokens][:, None]
    table = W[tokens] if scale is None else W[tokens] * scale
    return table + b, idx, ("onehot", tokens, scale)


def stacked_input(inp, W, b, U):
    """Dense input as the LSTM kernels read it: in each step's product, not through a table.

    The kernels' step product is then ``[x_t, h_{t-1} * mask] @ [W; U]``, so
    the input projection costs no ``(T, B, 4H)`` table written and read back,
    nor a bias pass over it, and its input gradient comes out of the
    backward step's product (see :func:`project_backward`).

    Parameters
    ----------
    inp : DenseInput
        ``T`` steps, ``B`` rows, ``F`` features.
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
        What :func:`project_backward` needs.
    """
    dtype = U.dtype
    T, B, F = inp.X.shape
    X = _dropped(inp)
    X = np.ascontiguousarray(X, dtype=dtype)
    WU = np.concatenate([np.asarray(W, dtype=dtype), U])
    idx = np.zeros((T, B), dtype=np.int32)
    return np.asarray(b, dtype=dtype)[None], idx, X, WU, ("stacked", X.reshape(T * B, F))


def project_backward(inp, ctx, dA, idx, start, W, t0=0, n_threads=1, d_input=None):
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
    d_input : ndarray of shape (T, B, F), optional
        For input the kernels read themselves (:func:`stacked_input`): their
        gradient on it (zero on the truncated steps), scaled here by the
        input-dropout mask.

    Returns
    -------
    dW : ndarray of shape (n_in, G)
    db : ndarray of shape (G,)
    d_input : ndarray or None
        ``(T, B, F)`` for dense input, ``(V, D)`` for embeddings, None for one-hot.
    """
    kind = ctx[0]
    if kind == "projected":
        raise ValueError("a precomputed projection table is for inference only: no gradient")
    Tw, B, G = dA.shape
    if kind in ("dense", "stacked"):
        X2 = ctx[1]
        T = X2.shape[0] // B
        dA2 = dA.reshape(Tw * B, G)
        dW = matmul(X2[t0 * B:].T, dA2, n_threads)
        if kind == "stacked":
            dX = d_input
        else:
            dX = np.empty((T, B, X2.shape[1]), dtype=dA.dtype)
            dX[:t0] = 0.0  # the truncated steps; the product fills the rest
            matmul(dA2, W.T, n_threads, out=dX[t0:].reshape(Tw * B, -1))
        if inp.dropout_mask is not None:
            dX *= inp.dropout_mask[None]
        return dW, column_sums(dA2), dX
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
        _, tokens, rows_b, X_rows = ctx
        dW = matmul(X_rows.T, d_table, n_threads)
        dX_rows = matmul(d_table, W.T, n_threads)
        if rows_b is not None:
            dX_rows *= inp.dropout_mask[rows_b]
        if rows_b is None and len(tokens) == len(inp.embeddings):  # every id, in order
            return dW, db, dX_rows
        dE = np.zeros_like(inp.embeddings)
        if rows_b is None:  # distinct tokens: plain assignment
            dE[tokens] = dX_rows
        else:
            np.add.at(dE, tokens, dX_rows)
        return dW, db, dE
    _, tokens, scale = ctx
    if scale is None and len(tokens) == len(W):  # every id, in order
        return d_table, db, None
    dW = np.zeros_like(W)
    if scale is None:
        dW[tokens] = d_table
    else:
        np.add.at(dW, tokens, d_table * scale)
    return dW, db, None


def _rows_of(ctx, used):
    """The projection context restricted to the table rows ``used``."""
    kind, tokens, *rest = ctx
    if kind == "tokens":
        rows_b, X_rows = rest
        return kind, tokens[used], None if rows_b is None else rows_b[used], X_rows[used]
    (scale,) = rest
    return kind, tokens[used], None if scale is None else scale[used]
