"""Matrix products split over the engine's thread pool, with denormals flushed as in the kernels.

Gradients that fade over long sequences hold denormal floats, and a BLAS
product reading them runs many times slower on CPUs that take a microcode
assist per denormal operand; so these products, like the kernels they serve,
run with the flush-to-zero and denormals-are-zero bits set
(:func:`fastrnn.runtime.denormals.call_flushing`).
"""

import numpy as np

from .._constants import takes_transposed_register_loop
from .._reference import transposed_matmul
from ..runtime.denormals import call_flushing
from ..runtime.threads import n_parts, parallel_for, split_bounds


def register_loop_operands(X, D, out):
    """Whether ``X``, ``D``, ``out`` are operands the compiled backends' register loop for
    ``out (+)= X.T @ D`` takes (where the CPU has it): float32, C-contiguous, of matching shapes
    that :func:`fastrnn._constants.takes_transposed_register_loop` accepts, at least one row
    and one output element, ``out`` writable and overlapping neither operand.  Anything else is
    the NumPy reference's product."""
    return (X.dtype == D.dtype == out.dtype == np.float32
            and X.ndim == D.ndim == out.ndim == 2 and X.shape[0] == D.shape[0] > 0
            and out.shape == (X.shape[1], D.shape[1]) and out.size > 0
            and takes_transposed_register_loop(*out.shape) and out.flags.writeable
            and X.flags.c_contiguous and D.flags.c_contiguous and out.flags.c_contiguous
            and not (np.may_share_memory(out, X) or np.may_share_memory(out, D)))


def _flushing_parallel_for(task, n_tasks):
    """:func:`parallel_for` of ``task(j)``, each task with denormals flushed on its thread."""
    parallel_for(lambda j: call_flushing(task, (j,)), n_tasks)


def _product(A, B, out, bias):
    np.matmul(A, B, out=out)
    if bias is not None:
        out += bias

#: Products smaller than this many multiply-adds run on one thread (a hand-off costs more).
MIN_PARALLEL_MACS = 2_000_000


def over_row_blocks(fn, n_rows, n_threads, work):
    """``fn(lo, hi)`` over contiguous blocks of ``n_rows`` rows, on the engine's threads.

    Each block runs with denormals flushed (see the module notes); one block
    when ``work`` (the multiply-adds of all rows) is below
    :data:`MIN_PARALLEL_MACS`.  Every block owns its rows, so the result does
    not depend on the thread count when ``fn`` computes each row alone.

    Parameters
    ----------
    fn : callable
        ``fn(lo, hi)``: the work of rows ``[lo, hi)``.
    n_rows : int
    n_threads : int
    work : int
    """
    parts = n_parts(n_threads, work, MIN_PARALLEL_MACS, n_rows)
    if parts <= 1:  # the common case of small products: no split, no hand-off
        call_flushing(fn, (0, n_rows))
        return
    bounds = split_bounds(n_rows, parts)
    _flushing_parallel_for(lambda j: fn(*bounds[j]), parts)


def matmul(A, B, n_threads=1, out=None, bias=None):
    """``A @ B`` (``+ bias``) for 2-D arrays, the rows of ``A`` split over ``n_threads`` threads.

    Each thread makes one single-threaded BLAS call on its rows, so the result
    is the same for a given thread count.

    Parameters
    ----------
    A : ndarray of shape (m, k)
    B : ndarray of shape (k, n)
    n_threads : int, default 1
    out : ndarray of shape (m, n), optional
    bias : ndarray of shape (n,), optional
        Added to every row, by the thread that computed it while the row is
        still in its cache (a separate ``out += bias`` pass reads the whole
        output again).

    Returns
    -------
    ndarray of shape (m, n)
    """
    m, k = A.shape
    n = B.shape[1]
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(A, B))
    over_row_blocks(lambda lo, hi: _product(A[lo:hi], B, out[lo:hi], bias), m, n_threads, m * k * n)
    return out


def column_sums(A):
    """Sum of the rows of a 2-D float array, as one BLAS matrix-vector product.

    NumPy's ``A.sum(axis=0)`` runs one short inner loop per row, so for a tall
    array of few columns (a bias gradient over ``T * B`` rows) it is several
    times slower than ``ones @ A``.

    Parameters
    ----------
    A : ndarray of shape (m, n)

    Returns
    -------
    ndarray of shape (n,)
    """
    return call_flushing(np.matmul, (np.ones(A.shape[0], dtype=A.dtype), A))


#: :func:`transposed_product` (and :func:`step_outer_sum`) sum products over about this many
#: rows each: a product over all ``T B`` rows runs slower than its pieces, and blocks give the
#: threads their shares.
OUTER_SUM_ROWS = 4096

#: A product split by columns gives each thread about this many columns or more (narrower
#: slices run the BLAS kernel's edge code).
MIN_SPLIT_COLUMNS = 64

#: :func:`stacked_outer_sum` reads ``dA`` once from this size on (beyond a core's L2 cache).
ONE_PASS_MIN_BYTES = 2 << 20


def _block_sum(left, bounds, D, f, n_threads, dtype, product, scratch_rows=0):
    """``sum_i left(i, scratch).T @ D[lo_i:hi_i]`` over the row blocks ``bounds``: shape ``(f, g)``.

    Each term is ``product(left, D_block, acc, accumulate)`` (the backend's
    ``transposed_matmul``).

    ``left(i, scratch)`` returns block ``i``'s left operand, ``(hi_i - lo_i, f)``:
    a view of existing data, or ``scratch`` filled (an array of
    ``(scratch_rows, f)`` per thread; None when ``scratch_rows`` is 0).  On
    several threads, each sums a range of blocks and the ranges are added in
    order; when there is one block, each thread computes a slice of the
    columns of ``D`` instead (no partial sums to add; BLAS may round a slice's
    sums differently from the whole product's, so results can change with the
    thread count in the last bits, as with ranges of blocks).
    """
    m, g = D.shape
    n_blocks = len(bounds)

    def scratch():
        return np.empty((scratch_rows, f), dtype=dtype) if scratch_rows else None

    def block_range(first, stop, acc):
        """``acc[...] =`` the sum of the products of blocks ``[first, stop)``."""
        if first == stop:
            acc[...] = 0.0
            return
        rows = scratch()
        for i in range(first, stop):
            lo, hi = bounds[i]
            product(left(i, rows), D[lo:hi], acc, i != first)

    out = np.empty((f, g), dtype=dtype)
    work = m * f * g
    by_blocks = n_parts(n_threads, work, MIN_PARALLEL_MACS, n_blocks)
    by_columns = n_parts(n_threads, work, MIN_PARALLEL_MACS, g // MIN_SPLIT_COLUMNS)
    if by_blocks <= 1 < by_columns:
        only = left(0, scratch())  # the one block: made once, read by every thread
        cols = [slice(*c) for c in split_bounds(g, by_columns)]
        _flushing_parallel_for(lambda j: product(only, D[:, cols[j]], out[:, cols[j]]), by_columns)
        return out
    if by_blocks <= 1:
        call_flushing(block_range, (0, n_blocks, out))
        return out
    ranges = split_bounds(n_blocks, by_blocks)
    partial = np.empty((by_blocks, f, g), dtype=dtype)
    _flushing_parallel_for(lambda j: block_range(*ranges[j], partial[j]), by_blocks)
    out[...] = partial[0]
    for j in range(1, by_blocks):
        out += partial[j]
    return out


def transposed_product(X, D, n_threads=1, product=transposed_matmul):
    """``X.T @ D`` for tall ``X`` and ``D``: a weight gradient summed over many rows.

    Summed over blocks of about :data:`OUTER_SUM_ROWS` rows, as in
    :func:`step_outer_sum` (one product over all the rows of a thin ``X``
    runs slower than its pieces).  On several threads, each thread sums a
    range of blocks and the ranges are added in order; when all the rows make
    one block, each thread computes a slice of the columns of ``D`` instead.

    Parameters
    ----------
    X : ndarray of shape (m, f)
    D : ndarray of shape (m, g)
    n_threads : int, default 1
    product : callable, default NumPy's (:func:`fastrnn._reference.transposed_matmul`)
        ``product(X_block, D_block, out, accumulate)``: the backend's
        ``transposed_matmul``.

    Returns
    -------
    ndarray of shape (f, g)
    """
    m, f = X.shape
    bounds = split_bounds(m, max(1, -(-m // OUTER_SUM_ROWS)))
    return _block_sum(lambda i, _: X[slice(*bounds[i])], bounds, D, f, n_threads,
                      np.result_type(X, D), product)


def step_outer_sum(h0, H_seq, rec_mask, dA, n_threads=1, out=None, product=transposed_matmul):
    """Gradient of a recurrent kernel: ``sum_t (h_{t-1} * mask).T @ dA[t]``, ``h_{-1} = h0``.

    After the backward time loop: the first step's product, plus the
    products of all later steps' rows as one :func:`transposed_product`
    (blocks of about :data:`OUTER_SUM_ROWS` rows), instead of a thin product
    per step inside the loop.  Padded steps contribute nothing because their
    ``dA`` is zero.

    Parameters
    ----------
    h0 : ndarray of shape (B, H)
        State before the first step.
    H_seq : ndarray of shape (T, B, H)
        State after every step.
    rec_mask : ndarray of shape (B, H) or (0, H)
        Recurrent-dropout mask, or empty for none.
    dA : ndarray of shape (T, B, G)
        Gradient on the pre-activations that ``h_{t-1} @ U`` feeds.
    n_threads : int, default 1
    out : ndarray of shape (H, G), optional
    product : callable, default NumPy's (:func:`fastrnn._reference.transposed_matmul`)
        As in :func:`transposed_product`.

    Returns
    -------
    ndarray of shape (H, G)
    """
    T, B, H = H_seq.shape
    G = dA.shape[2]
    if out is None:
        out = np.empty((H, G), dtype=np.result_type(H_seq, dA))
    masked = rec_mask.shape[0] > 0
    first = h0 * rec_mask if masked else h0
    prev = H_seq[:-1] * rec_mask[None] if masked else H_seq[:-1]
    call_flushing(product, (first, dA[0], out))
    if T > 1:
        out += transposed_product(prev.reshape(-1, H), dA[1:].reshape(-1, G), n_threads, product)
    return out


def stacked_outer_sum(X, h0, H_seq, rec_mask, dA, n_threads=1, product=transposed_matmul):
    """Gradients of ``[x_t, h_{t-1} * mask] @ [W; U] + b`` over all steps, reading ``dA`` once.

    ``sum_t [x_t, h_{t-1} * mask, 1].T @ dA[t]``: what
    ``transposed_product(X, dA)``, :func:`step_outer_sum` and
    :func:`column_sums` give apart, in one product per block of steps (about
    :data:`OUTER_SUM_ROWS` rows), its left operand assembled block by block
    in a scratch array of the thread.  Apart, each product reads all of
    ``dA``; for a ``dA`` under :data:`ONE_PASS_MIN_BYTES`, which stays in the
    cache between them, the three apart cost less than the assembling.

    Parameters
    ----------
    X : ndarray of shape (T * B, F)
        The input of every step, row ``t * B + b``.
    h0, H_seq, rec_mask, dA, n_threads, product
        As in :func:`step_outer_sum`.

    Returns
    -------
    dW : ndarray of shape (F, G)
    dU : ndarray of shape (H, G)
    db : ndarray of shape (G,)
        Views of one array when ``dA`` is read once (they do not overlap).
    """
    T, B, H = H_seq.shape
    F, G = X.shape[1], dA.shape[2]
    if dA.nbytes < ONE_PASS_MIN_BYTES:
        dA2 = dA.reshape(T * B, G)
        return (transposed_product(X, dA2, n_threads, product),
                step_outer_sum(h0, H_seq, rec_mask, dA, n_threads, product=product), column_sums(dA2))
    dtype = np.result_type(X, H_seq, dA)
    steps = max(1, OUTER_SUM_ROWS // max(B, 1))
    step_bounds = split_bounds(T, max(1, -(-T // steps)))
    masked = rec_mask.shape[0] > 0

    def left(i, rows):
        """``[x_t, h_{t-1} * mask, 1]`` for the steps of block ``i``, in ``rows``."""
        t_lo, t_hi = step_bounds[i]
        Z = rows[:(t_hi - t_lo) * B]
        Z[:, :F] = X[t_lo * B:t_hi * B]
        prev = Z[:, F:F + H].reshape(t_hi - t_lo, B, H)
        if t_lo == 0:
            prev[0] = h0
            prev[1:] = H_seq[:t_hi - 1]
        else:
            prev[:] = H_seq[t_lo - 1:t_hi - 1]
        if masked:
            prev *= rec_mask
        Z[:, F + H] = 1.0
        return Z

    bounds = [(t_lo * B, t_hi * B) for t_lo, t_hi in step_bounds]
    out = _block_sum(left, bounds, dA.reshape(T * B, G), F + H + 1, n_threads, dtype, product,
                     scratch_rows=max(hi - lo for lo, hi in bounds))
    return out[:F], out[F:F + H], out[F + H]


def gru_recurrent_grads(h0, H_seq, rec_mask, gates, aux, dA, reset_after, n_threads, dU, drb,
                        product=transposed_matmul):
    """GRU recurrent-kernel and recurrent-bias gradients from the backward pass's ``dA``.

    Parameters
    ----------
    h0, H_seq, rec_mask, n_threads
        As in :func:`step_outer_sum`.
    gates : ndarray of shape (T, B, 3H)
        Activated ``z, r, h~`` stored by the forward pass.
    aux : ndarray of shape (T, B, H)
        ``r * (h_{t-1} * mask)`` per step (used when not ``reset_after``).
    dA : ndarray of shape (T, B, 3H)
        Gradient on the input projections (zero on padded steps).
    reset_after : int
    dU : ndarray of shape (H, 3H)
        Out.
    drb : ndarray of shape (3H,)
        Out: recurrent-bias gradient (zeros unless ``reset_after``).
    product : callable, default NumPy's (:func:`fastrnn._reference.transposed_matmul`)
        As in :func:`transposed_product`.
    """
    T, B, H = H_seq.shape
    dzr = dA[:, :, :2 * H]
    step_outer_sum(h0, H_seq, rec_mask, dzr, n_threads, out=dU[:, :2 * H], product=product)
    if reset_after:
        # The candidate's recurrent product enters as r * (h U_h + rb_h).
        d_rec_h = dA[:, :, 2 * H:] * gates[:, :, H:2 * H]
        step_outer_sum(h0, H_seq, rec_mask, d_rec_h, n_threads, out=dU[:, 2 * H:], product=product)
        drb[:2 * H] = column_sums(dzr.reshape(T * B, 2 * H))
        drb[2 * H:] = column_sums(d_rec_h.reshape(T * B, H))
    else:
        matmul(aux.reshape(T * B, H).T, dA[:, :, 2 * H:].reshape(T * B, H), n_threads,
               out=dU[:, 2 * H:])
        drb[:] = 0.0
