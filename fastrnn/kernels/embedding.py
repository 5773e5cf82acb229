"""Scatter-add of per-step input gradients into table rows (Numba)."""

from numba import njit

from .._config import FASTMATH_FLAGS, NUMBA_CACHE


@njit(cache=NUMBA_CACHE, fastmath=FASTMATH_FLAGS)
def _scatter_rows(dA, idx, start, d_table):
    T, B, G = dA.shape
    d_table[:, :] = 0.0
    for t in range(T):
        for b in range(B):
            if start[b] <= t:
                row = idx[t, b]
                for k in range(G):
                    d_table[row, k] += dA[t, b, k]


def scatter_rows(dA, idx, start, d_table):
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
    _scatter_rows(dA, idx, start, d_table)
