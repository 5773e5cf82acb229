"""The engine's one thread pool and the helpers that split work over it.

Numba kernels, Cython kernels (called with one thread) and NumPy's BLAS calls
all release the GIL, so plain Python threads run them in parallel.  Handing
work to a sleeping thread costs 0.1-0.2 ms on a virtual machine, so callers
split only work that is much larger than that: a batch's time loop, a whole
batch of a prediction, a large matrix product or optimizer update.
BLAS itself stays single-threaded inside the engine (see
:func:`fastrnn.utils.validation.single_threaded_blas`): one pool, no
oversubscription.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

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


def parallel_for(fn, n_tasks):
    """Call ``fn(j)`` for ``j`` in ``range(n_tasks)``, task 0 on the calling thread.

    The other tasks run on the pool.  Exceptions propagate (the first task's
    first); every task has finished when this returns.
    """
    if n_tasks <= 1:
        if n_tasks == 1:
            fn(0)
        return
    futures = [_get_pool(n_tasks - 1).submit(fn, j) for j in range(1, n_tasks)]
    try:
        fn(0)
    finally:
        for f in futures:
            f.exception()  # wait for all before raising anything
    for f in futures:
        f.result()


def split_bounds(n, n_parts):
    """``[(lo, hi), ...]``: ``n`` items in ``n_parts`` contiguous slices of ``ceil(n / n_parts)``."""
    size = -(-n // n_parts) if n_parts else n
    return [(min(j * size, n), min((j + 1) * size, n)) for j in range(n_parts)]


def n_parts(n_threads, work, min_work, max_parts):
    """How many threads to split ``work`` over: one below ``min_work``, else up to ``n_threads``.

    Parameters
    ----------
    n_threads : int
    work : int
        Size of the job (elements, multiply-adds, ...).
    min_work : int
        Below this a thread hand-off costs more than it saves.
    max_parts : int
        Most pieces the job can be cut into (rows, columns, ...).
    """
    if work < min_work:
        return 1
    return max(1, min(int(n_threads), int(max_parts)))


#: A column-split scatter gives each thread at least this many columns, and splits only
#: gradients of at least ``MIN_SCATTER_SIZE`` elements.
MIN_SCATTER_COLUMNS, MIN_SCATTER_SIZE = 32, 1 << 18


def scatter_parts(n_threads, size, width):
    """Column slices for a scatter of ``size`` gradient elements into rows of ``width`` (both backends)."""
    return n_parts(n_threads, size, MIN_SCATTER_SIZE, width // MIN_SCATTER_COLUMNS)
