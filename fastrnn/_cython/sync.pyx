"""GIL-free primitives of the engine's runtime (Cython): the spin-waits of
:func:`fastrnn.runtime.threads.register_spin_wait` and the control-register
access of :func:`fastrnn.runtime.denormals.register_csr_access`, as
``fastrnn.kernels._sync`` provides them for the Numba backend, so that the pool
spins before it sleeps and denormals are flushed when Numba is not installed."""

from libc.stdint cimport int64_t

from fastrnn._cython._common cimport cpu_relax, load_acquire, sched_yield, store_seq_cst
from fastrnn._cython._constants cimport YIELD_EVERY, build_constants

#: The shared constants as this build compiled them (``fastrnn._constants``; checked by a test).
BUILD_CONSTANTS = build_constants()

cdef extern from *:
    """
    #if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
    #include <xmmintrin.h>
    static inline unsigned int fastrnn_get_csr(void) { return _mm_getcsr(); }
    static inline void fastrnn_set_csr(unsigned int value) { _mm_setcsr(value); }
    #else
    static inline unsigned int fastrnn_get_csr(void) { return 0; }
    static inline void fastrnn_set_csr(unsigned int value) { (void)value; }
    #endif
    """
    unsigned int c_get_csr "fastrnn_get_csr" () noexcept nogil
    void c_set_csr "fastrnn_set_csr" (unsigned int value) noexcept nogil


def get_csr():
    """The calling thread's SSE control/status register MXCSR (0 off x86)."""
    return c_get_csr()


def set_csr(unsigned int value):
    """Set the calling thread's SSE control/status register MXCSR (nothing off x86)."""
    c_set_csr(value)


cdef bint _spin(const int64_t* flag, int64_t value, int64_t spins) noexcept nogil:
    cdef int64_t i
    for i in range(spins):
        if load_acquire(flag) >= value:
            return True
        cpu_relax()
        if i % YIELD_EVERY == YIELD_EVERY - 1:  # give the CPU away now and then, as Numba's does
            sched_yield()
    return load_acquire(flag) >= value


def spin_until(int64_t[::1] flag, int64_t value, int64_t spins):
    """Spin, GIL-free, until ``flag[0] >= value``, at most ``spins`` polls; return whether it got there."""
    cdef bint reached
    with nogil:
        reached = _spin(&flag[0], value, spins)
    return reached


def signal_then_spin(int64_t[::1] flag, int64_t value, int64_t[::1] sleepers, int64_t[::1] other,
                     int64_t other_value, int64_t spins):
    """Set ``flag[0] = value``, then spin until ``other[0] >= other_value``, GIL-free.

    Returns 0 (``other`` got there), 1 (the spins ran out) or 2 (a thread
    sleeps on ``flag`` and must be woken; nothing polled).
    """
    cdef int status
    with nogil:
        store_seq_cst(&flag[0], value)
        if load_acquire(&sleepers[0]) != 0:
            status = 2
        elif _spin(&other[0], other_value, spins):
            status = 0
        else:
            status = 1
    return status


def announce_sleep(int64_t[::1] sleepers, int64_t[::1] flag, int64_t value):
    """Set ``sleepers[0] = 1``, then return whether ``flag[0] >= value`` (a full barrier between)."""
    store_seq_cst(&sleepers[0], 1)
    return load_acquire(&flag[0]) >= value
