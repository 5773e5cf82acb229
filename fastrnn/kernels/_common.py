"""Shared pieces of the Numba kernels: activations, row-range helpers, the chunk runner.

Each kernel is a single-threaded, GIL-free ``@njit`` function over a contiguous
range of batch rows (a *chunk*).  :func:`run_chunks` runs the chunks of a batch
on a small pool of Python threads; because the compiled code releases the GIL,
they run in parallel.  This gives the same batch-slice parallelism as ``prange``
with per-thread buffers reduced in a fixed order (see the Cython backend), at a
fraction of the compile time of Numba's ``parallel=True`` pipeline.
"""

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from numba import njit

from .._config import ACT_HARD_SIGMOID, ACT_RELU, ACT_SIGMOID, ACT_TANH, FASTMATH_FLAGS, NUMBA_CACHE


def jit_chunk(func):
    """Compile ``func`` as a cached, GIL-free, single-threaded chunk kernel."""
    return njit(cache=NUMBA_CACHE, nogil=True, fastmath=FASTMATH_FLAGS, error_model="numpy")(func)


@njit(inline="always", cache=NUMBA_CACHE, fastmath=FASTMATH_FLAGS, error_model="numpy")
def activate(x, code):
    """Activation ``code`` of the scalar ``x``."""
    if code == ACT_TANH:
        return math.tanh(x)
    if code == ACT_SIGMOID:
        return 1.0 / (1.0 + math.exp(-x))
    if code == ACT_HARD_SIGMOID:
        return min(max(x / 6.0 + 0.5, 0.0), 1.0)
    if code == ACT_RELU:
        return max(x, 0.0)
    return x


@njit(inline="always", cache=NUMBA_CACHE, fastmath=FASTMATH_FLAGS, error_model="numpy")
def activate_grad(y, code):
    """Derivative of activation ``code`` at the point whose output is ``y``."""
    if code == ACT_TANH:
        return 1.0 - y * y
    if code == ACT_SIGMOID:
        return y * (1.0 - y)
    if code == ACT_HARD_SIGMOID:
        return 1.0 / 6.0 if 0.0 < y < 1.0 else 0.0
    if code == ACT_RELU:
        return 1.0 if y > 0.0 else 0.0
    return 1.0


@njit(inline="always", cache=NUMBA_CACHE)
def active_end(start, lo, hi, t):
    """One past the last row of ``[lo, hi)`` that is real at step ``t`` (``lo`` if none)."""
    end = lo
    for b in range(lo, hi):
        if start[b] <= t:
            end = b + 1
    return end


def n_chunks(B, n_threads):
    """Number of batch slices for ``B`` rows and ``n_threads`` threads."""
    return max(1, min(int(n_threads), B))


_pool = None
_pool_lock = threading.Lock()


def _reset_pool():
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):  # a forked child must not reuse the parent's threads
    os.register_at_fork(after_in_child=_reset_pool)


def _get_pool(workers):
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < workers:
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fastrnn")
        return _pool


def run_chunks(kernel, B, n_threads, *args):
    """Call ``kernel(*args, j, lo, hi)`` for every batch slice ``j`` = rows ``[lo, hi)``.

    Slice sizes are ``ceil(B / n)`` (the last one shorter), the same split as
    the Cython backend.  Slice 0 runs on the calling thread, the others on the
    pool; every slice writes its own rows and its own ``[j]`` buffers.
    """
    n = n_chunks(B, n_threads)
    size = -(-B // n)
    bounds = [(j, min(j * size, B), min((j + 1) * size, B)) for j in range(n)]
    if n == 1:
        kernel(*args, 0, 0, B)
        return
    futures = [_get_pool(n - 1).submit(kernel, *args, *bnd) for bnd in bounds[1:]]
    kernel(*args, *bounds[0])
    for f in futures:
        f.result()
