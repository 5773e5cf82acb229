"""The scope around the engine's work: BLAS on one thread, NumPy's large blocks reused and aligned."""

import contextlib
import os
import threading

from .memory import reuse_freed_blocks

_controller = None
# An OpenBLAS without OpenMP has one thread pool for the process: while any thread runs the
# engine it stays on one thread, and the last thread to leave gives it back its threads.
_shared_lock = threading.Lock()
_shared = {"depth": 0, "saved": []}


def _reset_after_fork():
    """A forked child has none of its parent's threads inside the scope."""
    global _shared_lock
    _shared_lock = threading.Lock()
    _shared.update(depth=0, saved=[])


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _blas_libraries():
    """``threadpoolctl``'s BLAS controllers, from a library scan done once."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController  # on first use: ``import fastrnn`` stays light

        _controller = ThreadpoolController()
    return [lib for lib in _controller.lib_controllers if lib.user_api == "blas"]


def _set_threads(lib, n):
    """Set a BLAS library's thread count, from whichever thread calls.

    threadpoolctl lets only one Python thread, the first to set an OpenBLAS
    limit, change it later (others are silently ignored); like its
    ``threadpool_limits``, give that role up after each change, so that a fit
    in a worker thread limits BLAS as one in the main thread does.
    """
    lib.set_num_threads(n)
    clear = getattr(lib, "clear_controlling_thread", None)
    if clear is not None:
        clear()


@contextlib.contextmanager
def single_threaded_blas():
    """Context manager limiting BLAS to one thread while the kernels run their own threads.

    The library scan of ``threadpoolctl`` is done once and reused (a fresh
    ``threadpool_limits`` per call is a cost small predictions feel), and only
    the BLAS libraries' thread counts are read and set: the controller's own
    ``limit`` also collects every library's full description, most of the
    scope's cost, paid by every ``fit`` and ``predict``.  A library already on
    one thread is left alone.  A process-wide thread pool (OpenBLAS without
    OpenMP, MKL, BLIS) is limited while any thread is inside the scope and
    restored when the last one leaves; an OpenMP build of OpenBLAS limits the
    calling thread only.
    """
    libs = _blas_libraries()
    # OpenBLAS built with OpenMP limits the calling thread only (BLIS's limit is global)
    per_thread = [lib for lib in libs if getattr(lib, "internal_api", None) == "openblas"
                  and getattr(lib, "threading_layer", None) == "openmp"]
    changed = [(lib, lib.num_threads) for lib in per_thread if lib.num_threads != 1]
    for lib, _ in changed:
        _set_threads(lib, 1)
    with _shared_lock:
        if _shared["depth"] == 0:
            _shared["saved"] = [(lib, lib.num_threads) for lib in libs
                                if lib not in per_thread and lib.num_threads != 1]
            for lib, _ in _shared["saved"]:
                _set_threads(lib, 1)
        _shared["depth"] += 1
    try:
        yield
    finally:
        with _shared_lock:
            _shared["depth"] -= 1
            if _shared["depth"] == 0:
                for lib, n in _shared["saved"]:
                    _set_threads(lib, n)
                _shared["saved"] = []
        for lib, n in changed:
            _set_threads(lib, n)


@contextlib.contextmanager
def engine_scope():
    """Around the engine's work (a fit, a prediction): BLAS on one thread, NumPy's blocks reused and aligned.

    See :func:`single_threaded_blas` and :func:`fastrnn.runtime.memory.reuse_freed_blocks`.
    """
    with single_threaded_blas(), reuse_freed_blocks():
        yield
