"""Compile the Numba kernels ahead of a first fit, into Numba's on-disk cache.

Numba compiles a kernel on its first call (about a second or more each) and
stores the machine code on disk, keyed by the kernel's source file and the CPU;
later processes load it in milliseconds.  :func:`precompile` makes those first
calls up front on tiny inputs, in several processes at once: Numba compiles in
one thread per process, so each process takes one dtype's (or one cell's)
kernels.  Use it when building an image, before the first fit on a new machine,
or before a parallel search whose workers would otherwise all compile the same
kernels at the same time.
"""

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .runtime.cpus import available_cpus

CELLS = ("simple", "lstm", "gru")
DTYPES = ("float32", "float64")


def _as_tuple(value, name, single, allowed):
    """``value`` as a tuple (one ``single``-typed value becomes a 1-tuple)."""
    if isinstance(value, single):
        return (value,)
    try:
        return tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be {allowed}, got {value!r}") from None


def _check_args(cells, dtypes, units):
    cells = tuple(dict.fromkeys(_as_tuple(cells, "cells", str, f"a non-empty subset of {CELLS}")))
    bad = [c for c in cells if c not in CELLS]
    if bad or not cells:
        raise ValueError(f"cells must be a non-empty subset of {CELLS}, got {cells!r}")
    dtypes = _as_tuple(dtypes, "dtypes", (str, type, np.dtype), f"a non-empty subset of {DTYPES}")
    if any(d is None for d in dtypes):  # np.dtype(None) would be float64
        raise ValueError(f"dtypes must be a non-empty subset of {DTYPES}, got {dtypes!r}")
    try:
        dtypes = tuple(dict.fromkeys(np.dtype(d).name for d in dtypes))
    except TypeError as exc:
        raise ValueError(f"dtypes must name float32 and/or float64: {exc}") from None
    if not dtypes or any(d not in DTYPES for d in dtypes):
        raise ValueError(f"dtypes must be a non-empty subset of {DTYPES}, got {dtypes!r}")
    units = _as_tuple(units, "units", (int, np.integer), "positive integers")
    if not units or any(isinstance(u, bool) or not isinstance(u, (int, np.integer)) or u < 1
                        for u in units):
        raise ValueError(f"units must be positive integers, got {units!r}")
    return cells, dtypes, tuple(int(u) for u in dict.fromkeys(units))


def compile_kernels(cells=CELLS, dtypes=DTYPES, units=(32,)):
    """Call every Numba kernel that a fit of the given cells uses, in this process.

    Each cell's forward and backward kernel (default activations; for the GRU
    both ``reset_after`` forms), the gradient scatter of the token input, and
    the Adam and RMSprop steps run once on four sequences of three tokens.
    Kernels already compiled in this process or found in Numba's on-disk cache
    are not compiled again.

    Parameters
    ----------
    cells : sequence of {"simple", "lstm", "gru"}, default all three
    dtypes : sequence of {"float32", "float64"}, default both
    units : sequence of int, default (32,)
        Layer widths to compile for.  Only the LSTM kernels depend on it: one
        pair serves every width from 16 up, and each width below 16 has a
        backward kernel of its own and shares a second forward kernel.

    Raises
    ------
    ValueError
        If an argument names an unknown cell or dtype, or a width below 1.
    """
    from ._backend import use_backend
    from .layers import Recurrent, TokenInput, pack_tokens
    from .optimizers import make_optimizer

    cells, dtypes, units = _check_args(cells, dtypes, units)
    rng = np.random.default_rng(0)
    ids = pack_tokens(rng.integers(1, 5, size=(4, 3)))
    with use_backend("numba"):
        for dtype in dtypes:
            table = rng.normal(size=(5, 2)).astype(dtype)
            inp = TokenInput(ids.data, ids.start, table)
            for cell in cells:
                for n_units in units:
                    for reset_after in ((True, False) if cell == "gru" else (True,)):
                        layer = Recurrent(cell, n_units, reset_after=reset_after)
                        params = layer.init_params(rng, table.shape[1], dtype)
                        for n_threads in (1, 2):  # one kernel serves both; 2 starts the pool
                            *_, cache = layer.forward(params, inp, training=True,
                                                      n_threads=n_threads)
                            layer.backward(params, cache, d_last=np.ones((4, n_units), dtype))
            for name in ("adam", "rmsprop"):
                make_optimizer(name, 1e-3).update([np.ones(3, dtype)], [np.ones(3, dtype)])


def _resolve_n_jobs(n_jobs):
    if n_jobs is None or n_jobs == -1:
        return available_cpus()
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive integer, -1 or None, got {n_jobs!r}")
    return int(n_jobs)


def _split(cells, dtypes, n_jobs):
    """Groups of ``(cells, dtype)`` for the worker processes.

    By dtype first: the kernels of one dtype share their inlined helpers, which
    a second process would compile again.  By cell as well when that leaves a
    process idle.
    """
    groups = [(cells, dtype) for dtype in dtypes]
    if len(groups) < n_jobs and len(cells) > 1:
        groups = [((cell,), dtype) for dtype in dtypes for cell in cells]
    return groups


def _compile_in_child(group, units):
    cells, dtype = group
    cmd = [sys.executable, "-m", "fastrnn", "precompile", "--jobs", "1", "--dtypes", dtype,
           "--cells", *cells, "--units", *map(str, units)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise RuntimeError(f"compiling the {dtype} kernels of {', '.join(cells)} failed "
                           f"(exit code {done.returncode}):\n{tail}")
    return time.perf_counter() - t0


def precompile(cells=CELLS, dtypes=DTYPES, units=(32,), n_jobs=None):
    """Compile the Numba kernels into Numba's on-disk cache, in parallel processes.

    After it returns, a fit of the given cells, dtypes and widths in any later
    process on this machine loads its kernels from the cache instead of
    compiling them (as long as the cache stays where Numba looks: next to the
    installed package, or under ``NUMBA_CACHE_DIR``).

    Parameters
    ----------
    cells : sequence of {"simple", "lstm", "gru"}, default all three
    dtypes : sequence of {"float32", "float64"}, default both
    units : sequence of int, default (32,)
        Layer widths to compile for (see :func:`compile_kernels`).
    n_jobs : int, default None
        Processes to compile in; ``None`` or ``-1``: one per CPU available.
        With 1 the kernels compile in this process, which can then use them
        at once.

    Returns
    -------
    dict
        Seconds taken per group of kernels, keyed ``"<dtype>: <cells>"``.

    Raises
    ------
    RuntimeError
        If Numba is not installed, if ``FASTRNN_NUMBA_CACHE=0`` turned the
        on-disk cache off (nothing compiled ahead would be kept), or if a
        worker process fails.
    ValueError
        For an unknown cell or dtype, a width below 1, or a bad ``n_jobs``.
    """
    from ._backend import AVAILABLE_BACKENDS
    from ._config import NUMBA_CACHE

    cells, dtypes, units = _check_args(cells, dtypes, units)
    n_jobs = _resolve_n_jobs(n_jobs)
    if "numba" not in AVAILABLE_BACKENDS:
        raise RuntimeError("Numba is not installed, so there is nothing to compile ahead "
                           "(the Cython kernels are compiled when fastrnn is installed)")
    if not NUMBA_CACHE:
        raise RuntimeError("FASTRNN_NUMBA_CACHE=0 turns Numba's on-disk cache off, so kernels "
                           "compiled ahead would not be kept")
    groups = _split(cells, dtypes, n_jobs)
    pending, lock, seconds = list(groups), threading.Lock(), {}

    def take():
        with lock:
            return pending.pop(0) if pending else None

    def stop():
        with lock:
            pending.clear()

    def in_children():  # one worker process at a time, for as long as groups are left
        while (group := take()) is not None:
            try:
                seconds[_label(group)] = _compile_in_child(group, units)
            except BaseException:
                stop()  # at the first failure
                raise

    # This process compiles too, in its own thread: it has imported fastrnn already, and keeps
    # its kernels ready to use.
    n_children = min(n_jobs, len(groups)) - 1
    with ThreadPoolExecutor(max_workers=max(n_children, 1)) as pool:
        children = [pool.submit(in_children) for _ in range(n_children)]
        try:
            while (group := take()) is not None:
                t0 = time.perf_counter()
                compile_kernels(group[0], (group[1],), units)
                seconds[_label(group)] = time.perf_counter() - t0
        except BaseException:
            stop()  # no new worker processes; the running ones finish
            raise
        for child in children:
            child.result()
    return {_label(group): seconds[_label(group)] for group in groups}


def _label(group):
    cells, dtype = group
    return f"{dtype}: {', '.join(cells)}"
