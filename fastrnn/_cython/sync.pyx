"""GIL-free waiting for the engine's thread pool (Cython): the primitives of
:func:`fastrnn.utils.threads.register_spin_wait`, as ``fastrnn.kernels._common``
provides them for the Numba backend, so that the pool spins before it sleeps
when Numba is not installed."""

from libc.stdint cimport int64_t

from fastrnn._cython._common cimport cpu_relax, load_acquire, sched_yield, store_seq_cst

# A spinning thread gives its CPU away every this many polls (as the Numba primitive does).
cdef enum:
    _YIELD_EVERY = 256


cdef bint _spin(const int64_t* flag, int64_t value, int64_t spins) noexcept nogil:
    cdef int64_t i
    for i in range(spins):
        if load_acquire(flag) >= value:
            return True
        cpu_relax()
        if i % _YIELD_EVERY == _YIELD_EVERY - 1:
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
