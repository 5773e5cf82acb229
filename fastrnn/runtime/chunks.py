"""The chunk runner: a kernel's batch slices on the engine's thread pool, for both compiled backends.

A kernel is a single-threaded, GIL-free function over a contiguous range of
batch rows (a *chunk*).  :func:`run_chunks` runs the chunks of a batch on the
pool of :mod:`fastrnn.runtime.threads`; because the compiled code releases the
GIL, they run in parallel.  This gives the batch-slice parallelism of
``prange``, with per-slice buffers reduced in a fixed order, without an
OpenMP runtime or Numba's ``parallel=True`` pipeline.
"""

from .denormals import call_flushing
from .threads import first_task_wake, parallel_for, split_bounds


def n_chunks(B, n_threads):
    """Number of batch slices for ``B`` rows and ``n_threads`` threads."""
    return max(1, min(int(n_threads), B))


def run_chunks(kernel, B, n_threads, *args):
    """Call ``kernel(*args, j, lo, hi, wake, wake_to)`` for every batch slice ``j`` = rows ``[lo, hi)``.

    Slice sizes are ``ceil(B / n)`` (the last one shorter).  Slice 0 runs on
    the calling thread, the others on the pool (or on the caller, when a pool
    thread is late; see :func:`fastrnn.runtime.threads.parallel_for`); every
    slice writes its own rows and its own ``[j]`` buffers, so the thread does
    not change the result.  A kernel's first statement, once it has released
    the GIL, sets ``wake[0] = wake_to`` when ``wake`` is not empty: slice 0's
    call starts the pool thread of slice 1 from GIL-free code (see
    :func:`fastrnn.runtime.threads.first_task_wake`); the others get an empty
    ``wake``.  Denormal floats are flushed to zero while the kernels run
    (:func:`fastrnn.runtime.denormals.call_flushing`).

    Parameters
    ----------
    kernel : callable
        GIL-free chunk kernel (a Numba kernel, or a Cython closure over one).
    B : int
        Rows of the batch.
    n_threads : int
        Most slices.
    *args
        The kernel's leading arguments (arrays of shape ``(..., B, ...)``).
    """
    n = n_chunks(B, n_threads)
    bounds = split_bounds(B, n)

    def chunk(j):  # only slice 0, on the caller, gets a flag to raise
        call_flushing(kernel, (*args, j, *bounds[j], *first_task_wake()))

    parallel_for(chunk, n, wake_from_task=True)
