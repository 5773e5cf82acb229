"""The engine's runtime, shared by the compiled backends and the layers above them.

- :mod:`~fastrnn.runtime.threads`: the one thread pool, and how work is split over it;
- :mod:`~fastrnn.runtime.chunks`: a kernel's batch slices run on that pool;
- :mod:`~fastrnn.runtime.denormals`: denormal floats flushed to zero while kernels run;
- :mod:`~fastrnn.runtime.memory`: reuse of large freed blocks, cache-line alignment;
- :mod:`~fastrnn.runtime.scope`: BLAS on one thread, blocks reused, around a fit or prediction;
- :mod:`~fastrnn.runtime.cpus`: available CPUs and the default thread count.

The GIL-free primitives (spin-waits, the SSE control register) are compiled by a
backend and registered here when it is imported
(:func:`~fastrnn.runtime.threads.register_spin_wait`,
:func:`~fastrnn.runtime.denormals.register_csr_access`); this package imports no backend.
"""

from .chunks import n_chunks, run_chunks
from .cpus import available_cpus, default_n_threads, usable_threads
from .denormals import register_csr_access
from .memory import block_cache_stats, release_freed_blocks, reuse_freed_blocks
from .scope import engine_scope, single_threaded_blas
from .threads import (
    first_task_wake,
    n_parts,
    parallel_for,
    parallel_queue,
    register_spin_wait,
    scatter_parts,
    split_bounds,
)

__all__ = [
    "available_cpus",
    "block_cache_stats",
    "default_n_threads",
    "engine_scope",
    "first_task_wake",
    "n_chunks",
    "n_parts",
    "parallel_for",
    "parallel_queue",
    "register_csr_access",
    "register_spin_wait",
    "release_freed_blocks",
    "reuse_freed_blocks",
    "run_chunks",
    "scatter_parts",
    "single_threaded_blas",
    "split_bounds",
    "usable_threads",
]
