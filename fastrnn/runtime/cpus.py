"""What the engine's threads run on: CPUs available to this process, default thread count, x86,
and (Linux) the calling thread's CPU and keeping another thread off it."""

import functools
import os
import platform
import sys
import warnings

#: Whether this is an x86 CPU (the SSE control register and the ``pause`` instruction exist).
X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


def available_cpus():
    """Number of CPUs this process may run on: its affinity mask where the OS has one, and a
    container's CPU quota (cgroups), which the mask does not show, as joblib reads it."""
    if hasattr(os, "sched_getaffinity"):
        n = max(1, len(os.sched_getaffinity(0)))
    else:
        n = os.cpu_count() or 1
    return min(n, _quota())


@functools.lru_cache(maxsize=1)
def _quota():
    """CPUs a container's cgroup quota allows (read once), or the CPU count without a quota."""
    n = os.cpu_count() or 1
    for path, parse in (("/sys/fs/cgroup/cpu.max", lambda t: t.split()),  # cgroup v2
                        ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", None)):   # v1
        try:
            with open(path) as f:
                text = f.read()
            if parse is not None:
                quota, period = parse(text)[:2]
            else:
                with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us") as f:
                    quota, period = text.strip(), f.read().strip()
            if quota not in ("max", "-1") and int(period) > 0:
                return max(1, min(n, -(-int(quota) // int(period))))
            return n
        except (OSError, ValueError):
            continue
    return n


_warned_above = set()


def usable_threads(n):
    """``n`` kernel threads, at most :func:`available_cpus` (more only wait for each other and
    stay alive in the pool); the first time a larger ``n`` is asked for, a warning says so."""
    cpus = available_cpus()
    if n > cpus:
        if n not in _warned_above:
            _warned_above.add(n)
            warnings.warn(f"fastrnn: {n} threads asked for, {cpus} CPUs available to this process: "
                          f"using {cpus}", RuntimeWarning, stacklevel=3)
        return cpus
    return n


def _positive_count(value):
    """``value`` (an environment variable's text) as a positive int, or None."""
    if value.isascii() and value.isdecimal() and int(value) > 0:
        return int(value)
    return None


def default_n_threads():
    """Threads for the kernels: ``FASTRNN_NUM_THREADS``, else ``OMP_NUM_THREADS`` (set by
    joblib/loky/Dask workers), else the available CPUs.

    ``FASTRNN_NUM_THREADS`` is fastrnn's own setting: a value that is not a positive integer
    raises ``ValueError``.  ``OMP_NUM_THREADS`` belongs to OpenMP, whose lists such as ``"4,2"``
    fastrnn does not read: any value but a positive integer is passed over.
    """
    value = os.environ.get("FASTRNN_NUM_THREADS", "").strip()
    if value:
        if _positive_count(value) is None:
            raise ValueError(f"FASTRNN_NUM_THREADS must be a positive integer, got {value!r}")
        return _positive_count(value)
    value = _positive_count(os.environ.get("OMP_NUM_THREADS", "").strip())
    if value is not None:
        return value
    return available_cpus()


#: Whether threads can be placed here: Linux's ``sched_getcpu`` and per-thread affinity.
_LINUX = sys.platform.startswith("linux") and hasattr(os, "sched_setaffinity")


def _load_sched_getcpu():
    """libc's ``sched_getcpu`` through ctypes, or None where there is none (not Linux, not found)."""
    if not _LINUX:
        return None
    try:
        import ctypes

        fn = ctypes.CDLL(None).sched_getcpu
    except (ImportError, OSError, AttributeError):
        return None
    fn.restype, fn.argtypes = ctypes.c_int, []
    return fn


_sched_getcpu = _load_sched_getcpu()


def current_cpu():
    """The CPU the calling thread runs on, or None where the OS does not tell (not Linux)."""
    if _sched_getcpu is None:
        return None
    cpu = _sched_getcpu()
    return cpu if cpu >= 0 else None


def keep_thread_off(tid, cpu, given_back=None):
    """Let the thread ``tid`` run on its CPUs except ``cpu`` (on all of them if that leaves none).

    Parameters
    ----------
    tid : int
        Native thread id (``threading.Thread.native_id``).
    cpu : int
        The CPU to keep it off.
    given_back : int, optional
        A CPU that an earlier call took away from it: the thread gets it back first.

    Returns
    -------
    int or None
        ``cpu`` if it was taken away, None if the thread keeps it (its only CPU);
        ``given_back`` if the OS refused the change (nothing changed).
    """
    try:
        cpus = os.sched_getaffinity(tid)
        if given_back is not None:
            cpus = cpus | {given_back}
        others = cpus - {cpu}
        os.sched_setaffinity(tid, others or cpus)
    except OSError:  # a thread that has ended, CPUs the OS no longer gives, no permission
        return given_back
    return cpu if others and others != cpus else None
