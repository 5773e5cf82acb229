"""The engine's one thread pool and the helpers that split work over it.

Numba kernels, Cython kernels (called with one thread) and NumPy's BLAS calls
all release the GIL, so plain Python threads run them in parallel.  Waking a
sleeping thread costs 0.1-0.4 ms on a virtual machine, as much as a small
model's whole time loop, so the pool's threads (and the caller, while it waits
for them) first poll for work in GIL-free code for about ``FASTRNN_SPIN_US``
microseconds (1000 by default; a backend registers the poll, see
:func:`register_spin_wait`), like an OpenMP runtime, and sleep only after that.
Callers still split only work that is larger than a hand-off: a batch's time
loop, a whole batch of a prediction, a large matrix product or optimizer update.
A pool thread that is late anyway (a virtual CPU back from idle, another
runtime's threads spinning on the cores) does not hold the caller up: the
caller takes the tasks no thread has started once its own is done.
BLAS itself stays single-threaded inside the engine (see
:func:`fastrnn.utils.validation.single_threaded_blas`): one pool, no
oversubscription.
"""

import collections
import os
import threading
import time

import numpy as np

from .._config import SPIN_US

_spin_wait = None
_pool = None
_pool_lock = threading.Lock()


def register_spin_wait(fn):
    """Let the pool poll for work with ``fn`` before it sleeps (the first one registered is kept).

    Parameters
    ----------
    fn : callable
        ``fn(flag, value, spins) -> bool``: wait, without holding the GIL,
        until ``flag[0] >= value`` (``flag`` an int64 array of shape (1,)),
        polling at most ``spins`` times; return whether it got there.
    """
    global _spin_wait
    if _spin_wait is None:
        _spin_wait = fn


def _reset_pool():
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):  # a forked child must not reuse the parent's threads
    os.register_at_fork(after_in_child=_reset_pool)


def _spin_budget():
    """Polls of the registered spin-wait that last about ``SPIN_US`` microseconds (0: no spinning)."""
    if _spin_wait is None or SPIN_US <= 0:
        return 0
    never = np.zeros(1, np.int64)
    _spin_wait(never, 1, 0)  # compile, or load from the cache, outside the timing
    probe = 20000
    t0 = time.perf_counter()
    _spin_wait(never, 1, probe)
    per_poll_us = max((time.perf_counter() - t0) * 1e6 / probe, 1e-3)
    return int(SPIN_US / per_poll_us)


class _Flag:
    """A counter that one thread raises and another waits for: spinning first, then sleeping."""

    def __init__(self, cond):
        self._cell = np.zeros(16, np.int64)  # the value sits alone on its cache line
        self.value = self._cell[:1]
        self._cond = cond

    def raise_to(self, value):
        self.value[0] = value
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, value, spins):
        if spins and _spin_wait(self.value, value, spins):
            return
        with self._cond:
            while self.value[0] < value:
                self._cond.wait()


class _Worker:
    """One pool thread: runs the jobs it is handed, in order, raising ``done`` after each."""

    def __init__(self, spins, name):
        cond = threading.Condition()
        self.go, self.done = _Flag(cond), _Flag(cond)
        self.spins = spins
        self.jobs = collections.deque()
        self.seq = 0
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    def _loop(self):
        taken = 0
        while True:
            self.go.wait_for(taken + 1, self.spins)
            taken, job = self.jobs.popleft()
            job()  # never raises: parallel_for's jobs catch what their tasks raise
            self.done.raise_to(taken)

    def start(self, job):
        """Queue ``job``; return its sequence number (``done`` reaches it when the job is over)."""
        self.seq += 1
        self.jobs.append((self.seq, job))
        self.go.raise_to(self.seq)
        return self.seq

    def wait(self, seq):
        self.done.wait_for(seq, self.spins)


class _Pool:
    def __init__(self):
        self.busy = threading.Lock()
        self.spins = _spin_budget()
        self.workers = []

    def grow(self, n):
        while len(self.workers) < n:
            self.workers.append(_Worker(self.spins, f"fastrnn-{len(self.workers) + 1}"))


def _get_pool():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _Pool()
        return _pool


def parallel_for(fn, n_tasks):
    """Call ``fn(j)`` for ``j`` in ``range(n_tasks)``, task 0 on the calling thread.

    The pool's threads take the other tasks, and so does the calling thread once
    task 0 is done: a pool thread that is slow to wake (a virtual CPU back from
    idle took 1-2 ms here) leaves its task to the caller instead of holding it
    up.  Which thread runs a task does not change its result, as every task owns
    its slice of the work.  When the pool is already in use (another thread's
    call, or a call from inside a task) the tasks run here, one after the other.
    After a task raises, tasks not yet started are skipped; the exception of the
    lowest-numbered failed task propagates once no task is running.
    """
    if n_tasks <= 1:
        if n_tasks == 1:
            fn(0)
        return
    pool = _get_pool()
    if not pool.busy.acquire(blocking=False):
        for j in range(n_tasks):
            fn(j)
        return
    try:
        pool.grow(n_tasks - 1)
        todo = collections.deque(range(1, n_tasks))
        errors = {}
        joined = []  # workers that may have taken a task (each marks itself before taking one)

        def run(j):
            try:
                fn(j)
            except BaseException as exc:  # re-raised by the caller, below
                errors[j] = exc
                todo.clear()

        def drain():
            while True:
                try:
                    j = todo.popleft()
                except IndexError:
                    return
                run(j)

        def take_tasks(worker):
            joined.append(worker)
            drain()

        workers = pool.workers[:n_tasks - 1]
        seqs = [worker.start(lambda w=worker: take_tasks(w)) for worker in workers]
        run(0)
        drain()
        # The queue is empty: a worker not yet in ``joined`` will find nothing to take.
        for worker, seq in zip(workers, seqs):
            if worker in joined:
                worker.wait(seq)
        if errors:
            raise errors[min(errors)]
    finally:
        pool.busy.release()


def split_bounds(n, n_parts):
    """``[(lo, hi), ...]``: ``n`` items in ``n_parts`` contiguous slices of ``ceil(n / n_parts)``."""
    size = -(-n // n_parts) if n_parts else n
    return [(min(j * size, n), min((j + 1) * size, n)) for j in range(n_parts)]


def n_parts(n_threads, work, min_work, max_parts):
    """How many threads to split ``work`` over: one below ``min_work``, else up to ``n_threads``.

    Parameters
    ----------
    n_threads : int
    work : int
        Size of the job (elements, multiply-adds, ...).
    min_work : int
        Below this a thread hand-off costs more than it saves.
    max_parts : int
        Most pieces the job can be cut into (rows, columns, ...).
    """
    if work < min_work:
        return 1
    return max(1, min(int(n_threads), int(max_parts)))


#: A column-split scatter gives each thread at least this many columns, and splits only
#: gradients of at least ``MIN_SCATTER_SIZE`` elements.
MIN_SCATTER_COLUMNS, MIN_SCATTER_SIZE = 32, 1 << 18


def scatter_parts(n_threads, size, width):
    """Column slices for a scatter of ``size`` gradient elements into rows of ``width`` (both backends)."""
    return n_parts(n_threads, size, MIN_SCATTER_SIZE, width // MIN_SCATTER_COLUMNS)
