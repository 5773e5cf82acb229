"""Denormal floats flushed to zero while the compiled kernels run (x86).

Gradients that shrink over long sequences become denormal floats, which x86
CPUs process many times slower than normal ones.  :func:`call_flushing` runs a kernel with the
SSE control register's flush-to-zero and denormals-are-zero bits set on the
calling thread and restores the caller's setting afterwards, so NumPy code
outside the kernels keeps IEEE behaviour.  Reading and writing the register
takes machine code, which a compiled backend registers
(:func:`register_csr_access`); ``FASTRNN_FLUSH_DENORMALS=0`` turns the flushing off.
"""

from .._config import FLUSH_DENORMALS
from .._constants import FTZ_DAZ
from .cpus import X86

#: Whether the kernels run with denormals flushed (x86, and not turned off).
FLUSH = X86 and FLUSH_DENORMALS

_get_csr = None
_set_csr = None


def register_csr_access(get_csr, set_csr):
    """Let :func:`call_flushing` read and write the thread's control register (the first pair is kept).

    Parameters
    ----------
    get_csr : callable
        ``get_csr() -> int``: the calling thread's MXCSR.
    set_csr : callable
        ``set_csr(value)``: set the calling thread's MXCSR.
    """
    global _get_csr, _set_csr
    if _get_csr is None:
        _get_csr, _set_csr = get_csr, set_csr


def read_csr():
    """The calling thread's MXCSR, or ``None`` when no backend registered access to it."""
    return None if _get_csr is None else int(_get_csr())


def call_flushing(fn, args):
    """``fn(*args)`` run with denormals flushed to zero on this thread (see the module notes)."""
    if not FLUSH or _get_csr is None:
        return fn(*args)
    old = _get_csr()
    _set_csr(old | FTZ_DAZ)
    try:
        return fn(*args)
    finally:
        _set_csr(old)
