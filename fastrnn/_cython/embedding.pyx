"""Scatter-add of per-step input gradients into table rows (Cython)."""

from cython cimport floating

from fastrnn._cython._common cimport chunk_lo
from fastrnn.runtime.threads import parallel_for, scatter_parts


cdef void _scatter_columns(const floating[:, :, ::1] dA, const int[:, ::1] idx,
                           const int[::1] start, floating[:, ::1] d_table, int lo,
                           int hi) noexcept nogil:
    cdef Py_ssize_t T = dA.shape[0], B = dA.shape[1], N = d_table.shape[0], t, b, k, r
    cdef int row
    for r in range(N):
        for k in range(lo, hi):
            d_table[r, k] = 0.0
    for t in range(T):
        for b in range(B):
            if start[b] <= t:
                row = idx[t, b]
                for k in range(lo, hi):
                    d_table[row, k] += dA[t, b, k]


def scatter_rows(const floating[:, :, ::1] dA, const int[:, ::1] idx, const int[::1] start,
                 floating[:, ::1] d_table, int n_threads=1):
    """Add each real step's gradient row into the table row it came from.

    Parameters
    ----------
    dA : ndarray of shape (T, B, G)
        Gradient on the input projections.
    idx : ndarray of shape (T, B), int32
        Table row used at each step.
    start : ndarray of shape (B,), int32
        First real step of each sequence (earlier steps are skipped).
    d_table : ndarray of shape (N, G)
        Out: summed gradient per table row.
    n_threads : int, default 1
        Threads the fast backends split a large gradient over, by columns
        (every column is summed in the same order, so the result does not
        depend on it).
    """
    cdef int G = d_table.shape[1]
    cdef int parts = scatter_parts(n_threads, dA.shape[0] * dA.shape[1] * dA.shape[2], G)

    def part(int j):  # columns of slice j, on the engine's thread pool
        cdef int lo = chunk_lo(G, parts, j), hi = chunk_lo(G, parts, j + 1)
        with nogil:
            _scatter_columns(dA, idx, start, d_table, lo, hi)

    parallel_for(part, parts)
