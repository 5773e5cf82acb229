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
