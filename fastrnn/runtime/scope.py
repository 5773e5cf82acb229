"""The scope around the engine's work: BLAS on one thread, NumPy's large blocks reused and aligned."""

import contextlib
import os
import threading

from .memory import reuse_freed_blocks

_controller = None  # (process-wide BLAS controllers, per-thread ones), found once
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


def _blas_groups():
    """``threadpoolctl``'s BLAS controllers as ``(process_wide, per_thread)``, found once.

    OpenBLAS built with OpenMP limits the calling thread only; the others
    (OpenBLAS's own threads, MKL, BLIS) have one limit for the process.
    """
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController  # on first use: ``import fastrnn`` stays light

        libs = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
        per_thread = [lib for lib in libs if getattr(lib, "internal_api", None) == "openblas"
                      and getattr(lib, "threading_layer", None) == "openmp"]
        _controller = ([lib for lib in libs if lib not in per_thread], per_thread)
    return _controller


def _blas_libraries():
    """Every BLAS controller (see :func:`_blas_groups`)."""
    shared, per_thread = _blas_groups()
    return shared + per_thread


def _set_threads(lib, n):
    """Set a BLAS library's thread count, from whichever thread calls.

    threadpoolctl's ``set_num_threads`` lets only one Python thread, the
    first to set an OpenBLAS limit, change it later (the others are silently
    ignored), so after a fit in the main thread a fit in a worker thread
    would leave BLAS on every core.  Its underlying setter, where it has one,
    is called directly: the scope keeps its own count of the threads inside.
    """
    setter = getattr(lib, "_real_set_num_threads", None)
    if setter is not None:
        setter(n)
    else:  # the public setter, then its control given up, as threadpool_limits does
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
    shared, per_thread = _blas_groups()
    changed = [(lib, n) for lib in per_thread if (n := lib.num_threads) != 1]
    for lib, _ in changed:
        _set_threads(lib, 1)
    with _shared_lock:
        if _shared["depth"] == 0:
            _shared["saved"] = [(lib, n) for lib in shared if (n := lib.num_threads) != 1]
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
