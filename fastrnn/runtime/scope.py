"""The scope around the engine's work: BLAS on one thread, NumPy's large blocks reused and aligned."""

import contextlib

from .memory import reuse_freed_blocks

_controller = None


@contextlib.contextmanager
def single_threaded_blas():
    """Context manager limiting BLAS to one thread while the kernels run their own threads.

    The library scan of ``threadpoolctl`` is done once and reused (a fresh
    ``threadpool_limits`` per call is a cost small predictions feel), and only
    the BLAS libraries' thread counts are read and set: the controller's own
    ``limit`` also collects every library's full description, most of the
    scope's cost, paid by every ``fit`` and ``predict``.  A library already on
    one thread is left alone.
    """
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController  # on first use: ``import fastrnn`` stays light

        _controller = ThreadpoolController()
    changed = [(lib, lib.num_threads) for lib in _controller.lib_controllers
               if lib.user_api == "blas" and lib.num_threads != 1]
    for lib, _ in changed:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in changed:
            lib.set_num_threads(n)


@contextlib.contextmanager
def engine_scope():
    """Around the engine's work (a fit, a prediction): BLAS on one thread, NumPy's blocks reused and aligned.

    See :func:`single_threaded_blas` and :func:`fastrnn.runtime.memory.reuse_freed_blocks`.
    """
    with single_threaded_blas(), reuse_freed_blocks():
        yield
