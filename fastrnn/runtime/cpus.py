"""What the engine's threads run on: CPUs available to this process, default thread count, x86."""

import os
import platform

#: Whether this is an x86 CPU (the SSE control register and the ``pause`` instruction exist).
X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


def available_cpus():
    """Number of CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def default_n_threads():
    """Threads for the kernels: respects OMP_NUM_THREADS (set by joblib/loky/Dask workers)."""
    for var in ("FASTRNN_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return available_cpus()


def _load_sched_getcpu():
    """libc's ``sched_getcpu`` through ctypes, or None where there is none (not Linux, not found)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        import ctypes

        fn = ctypes.CDLL(None).sched_getcpu
    except (OSError, AttributeError):
        return None
    fn.restype, fn.argtypes = ctypes.c_int, []
    return fn


_sched_getcpu = _load_sched_getcpu()


def current_cpu():
    """The CPU the calling thread runs on, or None where the OS does not tell."""
    if _sched_getcpu is None:
        return None
    cpu = _sched_getcpu()
    return cpu if cpu >= 0 else None


def thread_cpus():
    """The set of CPUs the calling thread may run on, or None where the OS does not tell."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    try:
        return os.sched_getaffinity(0)
    except OSError:
        return None


def keep_thread_off(tid, cpus, cpu):
    """Let the thread ``tid`` run on ``cpus`` except ``cpu`` (on all of ``cpus`` if that leaves none).

    Parameters
    ----------
    tid : int
        Native thread id (``threading.Thread.native_id``).
    cpus : set of int
        The CPUs it may use (:func:`thread_cpus` of the thread that started it).
    cpu : int
    """
    try:
        os.sched_setaffinity(tid, (cpus - {cpu}) or cpus)
    except OSError:  # a thread that has ended, or CPUs the OS no longer gives: leave it as it is
        pass
