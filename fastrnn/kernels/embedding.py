"""Scatter-add of per-step input gradients into table rows (Numba)."""

from ..runtime.threads import parallel_for, scatter_parts, split_bounds
from ._compile import jit_chunk, wide_vectors


@jit_chunk
def _scatter_columns(dA, idx, start, d_table, lo, hi):
    wide_vectors()
    # Column indices written as ``lo + k`` with ``lo >= 0`` checked: LLVM then drops Numba's
    # negative-index wraparound and vectorises the loop (``range(lo, hi)`` was 4x slower).
    if lo < 0:
        raise ValueError("column slice must start at 0 or later")
    T, B, _ = dA.shape
    d_table[:, lo:hi] = 0.0
    for t in range(T):
        for b in range(B):
            if start[b] <= t:
                row = idx[t, b]
                for k in range(hi - lo):
                    d_table[row, lo + k] += dA[t, b, lo + k]


def scatter_rows(dA, idx, start, d_table, n_threads=1):
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
    G = d_table.shape[1]
    bounds = split_bounds(G, scatter_parts(n_threads, dA.size, G))
    parallel_for(lambda j: _scatter_columns(dA, idx, start, d_table, *bounds[j]), len(bounds))
