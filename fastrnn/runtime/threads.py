"""The engine's one thread pool and the helpers that split work over it.

Numba kernels, Cython kernels (called with one thread) and NumPy's BLAS calls
all release the GIL, so plain Python threads run them in parallel.  Waking a
sleeping thread can cost as much as a small model's whole time loop, so the
pool's threads (and the caller, while it waits for them) first poll for work in
GIL-free code for about ``FASTRNN_SPIN_US`` microseconds (1000 by default; a
backend registers the poll, see :func:`register_spin_wait`), like an OpenMP
runtime, and sleep only after that. Callers still split only work that is larger
than a hand-off: a batch's time loop, a whole batch of a prediction, a large
matrix product or optimizer update. A pool thread that is late anyway (a virtual
CPU back from idle, another runtime's threads spinning on the cores) does not
hold the caller up: the caller takes the tasks no thread has started once its
own is done.  On Linux the pool's threads are kept off the caller's CPU
(see :meth:`_Pool.keep_off`).
The flags that start and end a job are raised from GIL-free code where a
backend provides it (Numba): a pool thread reports a finished job after it has
let the GIL go, and a compiled kernel running task 0 starts the first pool
thread itself, so neither thread sleeps on the GIL while the other holds it
(such waits would come several times per batch).
BLAS itself stays single-threaded inside the engine (see
:func:`fastrnn.runtime.scope.single_threaded_blas`): one pool, no
oversubscription.  :func:`fastrnn.runtime.chunks.run_chunks` runs a kernel's
batch slices on this pool for both compiled backends.
"""

import collections
import os
import threading
import time

import numpy as np

from .._config import SPIN_US
from .cpus import current_cpu, keep_thread_off

_spin_wait = None
_signal_then_spin = None
_announce_sleep = None
_pool = None
_pool_lock = threading.Lock()


def register_spin_wait(fn, signal_then_spin=None, announce_sleep=None):
    """Let the pool poll for work with ``fn`` before it sleeps (the first one registered is kept).

    Parameters
    ----------
    fn : callable
        ``fn(flag, value, spins) -> bool``: wait, without holding the GIL,
        until ``flag[0] >= value`` (``flag`` an int64 array of shape (1,)),
        polling at most ``spins`` times; return whether it got there.
    signal_then_spin, announce_sleep : callable, optional
        GIL-free ``flag`` raising for the pool threads (see
        :func:`fastrnn.kernels._sync.signal_then_spin` and ``announce_sleep``
        for the contract); without them a pool thread raises its flags
        while it holds the GIL.
    """
    global _spin_wait, _signal_then_spin, _announce_sleep
    if _spin_wait is None:
        _spin_wait = fn
        _signal_then_spin, _announce_sleep = signal_then_spin, announce_sleep


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


#: A sleeping waiter checks its flag at least this often (seconds), whatever wakes it.
_SLEEP_CHECK_S = 0.01


class _Flag:
    """A counter that one thread raises and another waits for: spinning first, then sleeping."""

    def __init__(self, cond):
        self._cell = np.zeros(16, np.int64)  # value and sleepers sit alone on their cache lines
        self.value = self._cell[:1]
        self.sleepers = self._cell[8:9]
        self._cond = cond

    def raise_to(self, value):
        self.value[0] = value
        with self._cond:
            self._cond.notify_all()

    def raise_then_wait(self, value, other, other_value, spins):
        """``raise_to(value)``, then ``other.wait_for(other_value, spins)``.

        With the registered GIL-free primitives, the flag is raised after this
        thread has let the GIL go, so the waiting thread resumes at once
        instead of waiting for the GIL,
        and a sleeping waiter is woken as before.
        """
        if _signal_then_spin is None:
            self.raise_to(value)
            other.wait_for(other_value, spins)
            return
        status = _signal_then_spin(self.value, value, self.sleepers, other.value, other_value, spins)
        if status == 0:
            return
        if status == 2:  # a thread sleeps on this flag: wake it, then wait as usual
            with self._cond:
                self._cond.notify_all()
            other.wait_for(other_value, spins)
            return
        other.wait_for(other_value, 0)

    def _announce(self, value):
        """Mark this flag as slept on and return whether it reached ``value`` (under the lock)."""
        if _announce_sleep is not None:
            return _announce_sleep(self.sleepers, self.value, value)
        self.sleepers[0] = 1
        return self.value[0] >= value

    def wait_for(self, value, spins):
        spin = _spin_wait  # read once: None (no GIL-free spin registered) sleeps at once
        if spins and spin is not None and spin(self.value, value, spins):
            return
        with self._cond:
            try:
                while not self._announce(value):
                    self._cond.wait(_SLEEP_CHECK_S)
            finally:
                self.sleepers[0] = 0


class _Worker:
    """One pool thread: runs the jobs it is handed, in order, raising ``done`` after each."""

    def __init__(self, spins, name):
        cond = threading.Condition()
        self.go, self.done = _Flag(cond), _Flag(cond)
        self.spins = spins
        self.jobs = collections.deque()
        self.seq = 0
        self.taken_cpu = None  # the CPU it is kept off (see _Pool.keep_off)
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def _loop(self):
        self.go.wait_for(1, self.spins)
        while True:
            taken, job = self.jobs.popleft()
            job()  # never raises: parallel_for's jobs catch what their tasks raise
            self.done.raise_then_wait(taken, self.go, taken + 1, self.spins)

    def start(self, job, defer=False):
        """Queue ``job``; return its sequence number (``done`` reaches it when the job is over).

        With ``defer`` the thread is not told yet (unless it sleeps): the caller
        raises ``go`` to the returned number later, from GIL-free code.
        """
        self.seq += 1
        self.jobs.append((self.seq, job))
        if not defer or self.go.sleepers[0]:
            self.go.raise_to(self.seq)
        return self.seq

    def wait(self, seq):
        self.done.wait_for(seq, self.spins)


class _Pool:
    def __init__(self):
        self.busy = threading.Lock()
        self.spins = _spin_budget()
        self.workers = []
        self.kept_off = None  # the CPU that the threads are kept off

    def grow(self, n):
        while len(self.workers) < n:
            self.workers.append(_Worker(self.spins, f"fastrnn-{len(self.workers) + 1}"))
            self.kept_off = None  # the new thread may run anywhere

    def keep_off(self, cpu):
        """Keep the threads off ``cpu``, the CPU of the thread handing out tasks (None: unknown).

        A thread woken from a sleep or from a wait for the GIL is often put on
        its waker's CPU by the scheduler of a small virtual machine; on the
        caller's CPU it would take turns with the caller for milliseconds.
        Done when the caller's CPU has changed since the last call, or a thread
        was added (a few system calls per thread), so a thread follows a caller
        that moved at the next hand-out; the CPU taken away is given back
        first.  The narrowed set stays between calls, and threads started from
        a task inherit it.  A thread whose only CPU is ``cpu`` keeps it.
        """
        if cpu is not None and cpu != self.kept_off:
            for worker in self.workers:
                worker.taken_cpu = keep_thread_off(worker.thread.native_id, cpu, worker.taken_cpu)
            self.kept_off = cpu


def _get_pool():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _Pool()
        return _pool


_NO_WAKE = (np.zeros(0, np.int64), 0)
_local = threading.local()


def first_task_wake():
    """``(flag, value)`` for task 0 of ``parallel_for(..., wake_from_task=True)`` to raise.

    Task 0 sets ``flag[0] = value`` (GIL-free, e.g. as the first statement of
    a compiled kernel) to start the pool thread that takes task 1.  Anywhere
    else ``flag`` is empty: nothing to raise.

    Returns
    -------
    flag : ndarray of shape (1,) or (0,), int64
    value : int
    """
    wake = getattr(_local, "wake", None)
    _local.wake = None
    return _NO_WAKE if wake is None else wake


def parallel_for(fn, n_tasks, wake_from_task=False):
    """Call ``fn(j)`` for ``j`` in ``range(n_tasks)``, task 0 on the calling thread.

    The pool's threads take the other tasks, and so does the calling thread once
    task 0 is done: a pool thread that is slow to wake (a virtual CPU back from
    idle) leaves its task to the caller instead of holding it
    up.  Which thread runs a task does not change its result, as every task owns
    its slice of the work.  When the pool is already in use (another thread's
    call, or a call from inside a task) the tasks run here, one after the other.
    After a task raises, tasks not yet started are skipped; the exception of the
    lowest-numbered failed task propagates once no task is running.

    With ``wake_from_task``, task 0 starts the first pool thread itself (see
    :func:`first_task_wake`) once it has let the GIL go, so that thread takes
    the GIL at once instead of sleeping on it while the caller dispatches
    task 0; if task 0 does not, the thread is started when task 0 returns.
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
        pool.keep_off(current_cpu())
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
        seqs = [worker.start(lambda w=worker: take_tasks(w), defer=wake_from_task and i == 0)
                for i, worker in enumerate(workers)]
        first = workers[0]
        try:
            if first.go.value[0] < seqs[0]:
                _local.wake = (first.go.value, seqs[0])
            try:
                run(0)
            finally:
                _local.wake = None
            if first.go.value[0] < seqs[0] or first.go.sleepers[0]:
                # task 0 did not start it, or it fell asleep just before task 0 did (no wake-up
                # comes from compiled code): tell it from here
                first.go.raise_to(seqs[0])
            drain()
            # The queue is empty: a worker not yet in ``joined`` will find nothing to take.
            for worker, seq in zip(workers, seqs):
                if worker in joined:
                    worker.wait(seq)
        except BaseException:  # a Ctrl-C while waiting: the workers' tasks still write
            todo.clear()
            _finish_joined(workers, seqs, joined)
            raise
        if errors:
            raise errors[min(errors)]
    finally:
        pool.busy.release()


def _finish_joined(workers, seqs, joined):
    """Wait until the workers that took a task are done, whatever interrupts the wait.

    The caller is leaving on an exception (a Ctrl-C); a task still running writes into
    arrays that the caller's handlers go on to restore (the best weights), so they must
    not read them before it ends.  Its tasks are short: a second Ctrl-C is waited out.
    """
    for worker, seq in zip(workers, seqs):
        while worker in joined:
            try:
                worker.wait(seq)
                break
            except KeyboardInterrupt:
                continue


def parallel_queue(fn, items, n_threads):
    """Call ``fn(item)`` for every item of ``items``, each thread taking the next one when it is done.

    Work of uneven size (batches of different lengths, given longest first)
    then ends at about the same time on every thread, where a fixed share per
    thread can leave one thread the long items.  Which thread runs an item
    does not change its result.  When a call raises, the items not yet taken
    are dropped and the exception propagates (see :func:`parallel_for`).

    Parameters
    ----------
    fn : callable
        ``fn(item)``; its return value is ignored.
    items : iterable
        Taken in order.
    n_threads : int
    """
    todo = collections.deque(items)

    def take(_):
        while True:
            try:
                item = todo.popleft()
            except IndexError:
                return
            try:
                fn(item)
            except BaseException:
                todo.clear()
                raise

    parallel_for(take, min(max(1, int(n_threads)), len(todo)))


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
