"""Scatter-add of per-step input gradients into table rows (Cython)."""

from cython cimport floating


def scatter_rows(const floating[:, :, ::1] dA, const int[:, ::1] idx, const int[::1] start,
                 floating[:, ::1] d_table):
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
    """
    cdef Py_ssize_t T = dA.shape[0], B = dA.shape[1], G = dA.shape[2], t, b, k
    cdef int row
    with nogil:
        d_table[:, :] = 0.0
        for t in range(T):
            for b in range(B):
                if start[b] <= t:
                    row = idx[t, b]
                    for k in range(G):
                        d_table[row, k] += dA[t, b, k]
