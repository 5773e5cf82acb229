"""The thread pool helpers, the products split over it, and the work that uses them."""

import os
import threading
import time

import numpy as np
import pytest

import fastrnn
from fastrnn import RNNClassifier
from fastrnn.datasets import make_long_range_task
from fastrnn._constants import YIELD_EVERY
from fastrnn.optimizers import MIN_PARALLEL_SIZE, make_optimizer
from fastrnn.runtime import threads
from fastrnn.runtime.cpus import X86, current_cpu, keep_thread_off
from fastrnn.runtime.threads import parallel_for, split_bounds
from fastrnn.utils import linalg
from fastrnn.utils.linalg import (gru_recurrent_grads, matmul, stacked_outer_sum, step_outer_sum,
                                  transposed_product)


def test_parallel_for_runs_every_task_once_on_several_threads():
    seen, threads = [], set()
    other_ran = threading.Event()

    def task(j):
        seen.append(j)
        threads.add(threading.get_ident())
        if threading.get_ident() != main:
            other_ran.set()
        if j == 0:  # the caller stays busy until a pool thread has taken a task
            assert other_ran.wait(timeout=30)

    main = threading.get_ident()
    parallel_for(task, 3)
    assert sorted(seen) == [0, 1, 2]
    assert main in threads and len(threads) >= 2


def test_the_caller_takes_the_task_of_a_worker_that_is_slow_to_start(monkeypatch):
    _fresh_pool(monkeypatch, 1000)
    parallel_for(lambda j: None, 2)  # start the pool's thread
    worker = threads._pool.workers[0]
    release = threading.Event()
    worker.start(release.wait)  # keeps the pool's thread away, as a slow wake-up would
    ran_on = {}
    parallel_for(lambda j: ran_on.setdefault(j, threading.get_ident()), 2)
    assert ran_on == {0: threading.get_ident(), 1: threading.get_ident()}
    assert worker.done.value[0] < worker.seq  # returned without waiting for the thread
    release.set()
    seen = np.zeros(2, int)
    for _ in range(20):  # the thread catches up with its stale job, then takes tasks again
        parallel_for(lambda j: seen.__setitem__(j, seen[j] + 1), 2)
    assert seen.tolist() == [20, 20]


@pytest.mark.parametrize("failing", [0, 1])
def test_parallel_for_raises_once_no_task_is_running(failing):
    started, finished = [], []

    def task(j):
        started.append(j)
        time.sleep(0.01)
        if j == failing:
            raise RuntimeError(f"task {j}")
        finished.append(j)

    with pytest.raises(RuntimeError, match=f"task {failing}"):
        parallel_for(task, 2)
    # every task that started has ended; one that had not started when task 0 failed is skipped
    assert sorted(finished + [failing]) == sorted(started)
    assert failing in started
    if failing == 1:
        assert finished == [0]


def test_split_bounds_cover_the_range_in_order():
    assert split_bounds(10, 3) == [(0, 4), (4, 8), (8, 10)]
    assert split_bounds(2, 3) == [(0, 1), (1, 2), (2, 2)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matmul_split_over_threads_equals_numpy(dtype, monkeypatch, rng):
    monkeypatch.setattr(linalg, "MIN_PARALLEL_MACS", 0)
    A = rng.normal(size=(37, 11)).astype(dtype)
    B = rng.normal(size=(11, 5)).astype(dtype)
    tol = {"rtol": 1e-12} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-5}
    for n_threads in (1, 2, 3):
        np.testing.assert_allclose(matmul(A, B, n_threads), A @ B, **tol)
        out = np.zeros((5, 37), dtype)
        matmul(A, B, n_threads, out=out.T)  # a strided output is written in place
        np.testing.assert_allclose(out.T, A @ B, **tol)
        bias = rng.normal(size=5).astype(dtype)
        with_bias = matmul(A, B, n_threads, bias=bias)
        np.testing.assert_allclose(with_bias, A @ B + bias, **tol)
        np.testing.assert_array_equal(with_bias, matmul(A, B, n_threads) + bias)  # same rounding


def _outer_sum_by_steps(h0, H_seq, rec_mask, dA):
    total = np.zeros((H_seq.shape[2], dA.shape[2]))
    for t in range(len(H_seq)):
        prev = h0 if t == 0 else H_seq[t - 1]
        if rec_mask.shape[0]:
            prev = prev * rec_mask
        total += prev.T @ dA[t]
    return total


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("block_rows", [1024, 10, 4])
def test_step_outer_sum_is_the_sum_of_per_step_products(masked, block_rows, monkeypatch, rng):
    monkeypatch.setattr(linalg, "MIN_PARALLEL_MACS", 0)
    monkeypatch.setattr(linalg, "OUTER_SUM_ROWS", block_rows)  # one block; two steps; under one step
    T, B, H, G = 6, 5, 3, 7
    h0, H_seq, dA = rng.normal(size=(B, H)), rng.normal(size=(T, B, H)), rng.normal(size=(T, B, G))
    rec_mask = rng.random((B, H)) if masked else np.empty((0, H))
    expected = _outer_sum_by_steps(h0, H_seq, rec_mask, dA)
    for n_threads in (1, 2):
        np.testing.assert_allclose(step_outer_sum(h0, H_seq, rec_mask, dA, n_threads), expected,
                                   rtol=1e-12)


@pytest.mark.parametrize("m", [0, 1, 7, 30])
@pytest.mark.parametrize("block_rows", [1024, 4, 1])
def test_transposed_product_sums_its_row_blocks_to_the_product(m, block_rows, monkeypatch, rng):
    monkeypatch.setattr(linalg, "MIN_PARALLEL_MACS", 0)
    monkeypatch.setattr(linalg, "OUTER_SUM_ROWS", block_rows)
    X, D = rng.normal(size=(m, 3)), rng.normal(size=(m, 5))
    for n_threads in (1, 2, 3):
        got = transposed_product(X, D, n_threads)
        assert got.shape == (3, 5)
        np.testing.assert_allclose(got, X.T @ D, rtol=1e-12, atol=1e-14)


def test_transposed_product_of_one_block_splits_its_columns(monkeypatch, rng):
    monkeypatch.setattr(linalg, "MIN_PARALLEL_MACS", 0)
    monkeypatch.setattr(linalg, "MIN_SPLIT_COLUMNS", 2)
    X, D = rng.normal(size=(9, 3)), rng.normal(size=(9, 7))  # one block of rows
    split = []
    monkeypatch.setattr(linalg, "_flushing_parallel_for",
                        lambda task, n: (split.append(n), [task(j) for j in range(n)]))
    for n_threads in (1, 2, 3, 4):
        np.testing.assert_allclose(transposed_product(X, D, n_threads), X.T @ D, rtol=1e-12)
    assert split == [2, 3, 3]  # 7 columns, MIN_SPLIT_COLUMNS 2: at most 7 // 2 = 3 slices


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("block_rows", [1024, 10, 4])
@pytest.mark.parametrize("one_pass_from", [0, 1 << 30], ids=["one-pass", "apart"])
def test_stacked_outer_sum_is_the_three_gradients_apart(masked, block_rows, one_pass_from, monkeypatch,
                                                        rng):
    monkeypatch.setattr(linalg, "MIN_PARALLEL_MACS", 0)
    monkeypatch.setattr(linalg, "MIN_SPLIT_COLUMNS", 2)
    monkeypatch.setattr(linalg, "OUTER_SUM_ROWS", block_rows)  # one block; two steps; one step
    monkeypatch.setattr(linalg, "ONE_PASS_MIN_BYTES", one_pass_from)
    T, B, F, H, G = 6, 5, 3, 2, 7
    X, h0 = rng.normal(size=(T * B, F)), rng.normal(size=(B, H))
    H_seq, dA = rng.normal(size=(T, B, H)), rng.normal(size=(T, B, G))
    rec_mask = rng.random((B, H)) if masked else np.empty((0, H))
    for n_threads in (1, 2, 3):
        dW, dU, db = stacked_outer_sum(X, h0, H_seq, rec_mask, dA, n_threads)
        np.testing.assert_allclose(dW, X.T @ dA.reshape(T * B, G), rtol=1e-12)
        np.testing.assert_allclose(dU, _outer_sum_by_steps(h0, H_seq, rec_mask, dA), rtol=1e-12)
        np.testing.assert_allclose(db, dA.sum(axis=(0, 1)), rtol=1e-12)


@pytest.mark.parametrize("backend", fastrnn.AVAILABLE_BACKENDS)
@pytest.mark.parametrize("block_rows", [4096, 100, 37])
def test_float32_weight_gradients_with_each_backends_product(backend, block_rows, monkeypatch, rng):
    """The sums over row blocks with the backend's own product (the register loop of the compiled
    backends on CPUs with AVX2 and without AVX-512), on one and two threads."""
    monkeypatch.setattr(linalg, "MIN_PARALLEL_MACS", 0)
    monkeypatch.setattr(linalg, "OUTER_SUM_ROWS", block_rows)
    product = fastrnn.get_kernels(backend).transposed_matmul
    T, B, F, H, G = 30, 16, 12, 8, 32
    f32 = np.float32
    X, h0 = rng.normal(size=(T * B, F)).astype(f32), rng.normal(size=(B, H)).astype(f32)
    H_seq, dA = rng.normal(size=(T, B, H)).astype(f32), rng.normal(size=(T, B, G)).astype(f32)
    rec_mask = rng.random((B, H)).astype(f32)
    expected_dU = _outer_sum_by_steps(h0, H_seq, rec_mask, dA)
    tol = dict(rtol=1e-5, atol=1e-4)
    for n_threads in (1, 2):
        dU = step_outer_sum(h0, H_seq, rec_mask, dA, n_threads, product=product)
        assert dU.dtype == f32
        np.testing.assert_allclose(dU, expected_dU, **tol)
        np.testing.assert_allclose(transposed_product(X, dA.reshape(T * B, G), n_threads, product),
                                   X.astype(np.float64).T @ dA.reshape(T * B, G), **tol)
        dW, dU, db = stacked_outer_sum(X, h0, H_seq, rec_mask, dA, n_threads, product)
        np.testing.assert_allclose(dW, X.astype(np.float64).T @ dA.reshape(T * B, G), **tol)
        np.testing.assert_allclose(dU, expected_dU, **tol)


@pytest.mark.parametrize("reset_after", [0, 1])
def test_gru_recurrent_grads_follow_the_recurrent_products(reset_after, rng):
    T, B, H = 4, 3, 2
    h0, H_seq = rng.normal(size=(B, H)), rng.normal(size=(T, B, H))
    gates, aux, dA = rng.random((T, B, 3 * H)), rng.normal(size=(T, B, H)), rng.normal(size=(T, B, 3 * H))
    mask = np.empty((0, H))
    dU, drb = np.empty((H, 3 * H)), np.empty(3 * H)
    gru_recurrent_grads(h0, H_seq, mask, gates, aux, dA, reset_after, 2, dU, drb)
    np.testing.assert_allclose(dU[:, :2 * H], _outer_sum_by_steps(h0, H_seq, mask, dA[..., :2 * H]))
    if reset_after:  # candidate: r * (h U_h + rb_h)
        d_rec = dA[..., 2 * H:] * gates[..., H:2 * H]
        np.testing.assert_allclose(dU[:, 2 * H:], _outer_sum_by_steps(h0, H_seq, mask, d_rec))
        np.testing.assert_allclose(drb, np.concatenate([dA[..., :2 * H].sum((0, 1)),
                                                        d_rec.sum((0, 1))]))
    else:  # candidate: (r * h) U_h, with r * h stored as aux
        expected = sum(aux[t].T @ dA[t, :, 2 * H:] for t in range(T))
        np.testing.assert_allclose(dU[:, 2 * H:], expected)
        np.testing.assert_array_equal(drb, 0.0)


@pytest.mark.parametrize("name", ["adam", "rmsprop", "sgd"])
def test_optimizer_update_in_slices_equals_one_piece(name, rng):
    shape = (MIN_PARALLEL_SIZE // 64 + 3, 128)  # over the threshold: updated in slices
    p0 = rng.normal(size=shape).astype(np.float32)
    small0 = rng.normal(size=(4, 3)).astype(np.float32)
    results = []
    for n_threads in (1, 2):
        opt = make_optimizer(name, 0.01, momentum=0.9 if name == "sgd" else 0.0)
        p, small = p0.copy(), small0.copy()
        for step in range(3):
            g = np.random.default_rng(step).normal(size=shape).astype(np.float32)
            opt.update([p, small], [g, np.ones_like(small)], n_threads=n_threads)
        results.append((p, small))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert not np.array_equal(results[0][0], p0)


def test_prediction_spreads_batches_over_threads_with_the_same_result():
    X, y = make_long_range_task(n_samples=300, distance=5, random_state=0)
    clf = RNNClassifier(cell="gru", units=8, max_iter=1, batch_size=64, n_threads=1,
                        random_state=0).fit(X, y)
    one = clf.predict_proba(X)
    for n_threads in (2, 3):
        clf.set_params(n_threads=n_threads)
        np.testing.assert_allclose(clf.predict_proba(X), one, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(clf.predict_proba(X[:1]), one[:1], rtol=1e-5, atol=1e-6)


def test_scatter_rows_split_by_columns_equals_one_thread(rng):
    from fastrnn._backend import get_kernels

    T, B, G, N = 40, 70, 96, 50  # T * B * G over the threshold for splitting
    dA = rng.normal(size=(T, B, G)).astype(np.float32)
    idx = rng.integers(0, N, size=(T, B)).astype(np.int32)
    start = rng.integers(0, 10, size=B).astype(np.int32)
    tables = []
    for n_threads in (1, 2, 3):
        d_table = np.full((N, G), np.nan, np.float32)
        get_kernels().scatter_rows(dA, idx, start, d_table, n_threads)
        tables.append(d_table)
    expected = np.zeros((N, G))
    for t in range(T):
        for b in range(B):
            if start[b] <= t:
                expected[idx[t, b]] += dA[t, b]
    np.testing.assert_allclose(tables[0], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(tables[1], tables[0])
    np.testing.assert_array_equal(tables[2], tables[0])


def _fresh_pool(monkeypatch, spin_us):
    """Use a new pool (threads started afresh) that spins ``spin_us`` before sleeping."""
    monkeypatch.setattr(threads, "SPIN_US", spin_us)
    monkeypatch.setattr(threads, "_pool", None)


@pytest.mark.parametrize("primitives", ["registered", "cython"])
@pytest.mark.parametrize("wake_from_task", [False, True])
@pytest.mark.parametrize("spin_us", [0, 1000])
def test_parallel_for_hands_out_every_call_in_order(spin_us, wake_from_task, primitives, monkeypatch):
    """Many calls in a row, with idle gaps longer than the spin, each task seen once per call.

    ``primitives="cython"``: the pool driven by the Cython backend's GIL-free
    primitives, as when Numba is not installed.
    """
    if primitives == "cython":
        sync = _flag_primitives("cython")
        monkeypatch.setattr(threads, "_spin_wait", sync.spin_until)
        monkeypatch.setattr(threads, "_signal_then_spin", sync.signal_then_spin)
        monkeypatch.setattr(threads, "_announce_sleep", sync.announce_sleep)
    _fresh_pool(monkeypatch, spin_us)
    if primitives == "cython" and spin_us:
        assert threads._get_pool().spins > 0
    for call in range(200):
        seen = np.zeros(3, int)

        def task(j, seen=seen):
            if j == 0 and call % 2:
                flag, value = threads.first_task_wake()
                if flag.shape[0]:
                    flag[0] = value
            seen[j] += 1

        parallel_for(task, 3, wake_from_task=wake_from_task)
        assert seen.tolist() == [1, 1, 1], call
        if call % 50 == 0:
            time.sleep(0.005)  # past the spin: the threads fall asleep and must be woken
    assert len(threads._pool.workers) == 2


def test_parallel_for_nested_and_concurrent_calls_run_every_task(monkeypatch):
    _fresh_pool(monkeypatch, 1000)
    counts = np.zeros(4, int)
    lock = threading.Lock()

    def inner(j):
        with lock:
            counts[j] += 1

    def outer(j):  # calls parallel_for from inside a task: the pool is busy, so it runs serially
        parallel_for(inner, 4)

    callers = [threading.Thread(target=parallel_for, args=(outer, 2)) for _ in range(3)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=30)
    assert not any(caller.is_alive() for caller in callers)
    assert counts.tolist() == [6, 6, 6, 6]


def test_a_failed_task_does_not_leak_into_the_next_call(monkeypatch):
    _fresh_pool(monkeypatch, 1000)

    def failing(j):
        if j == 1:
            raise ValueError("worker task")

    with pytest.raises(ValueError, match="worker task"):
        parallel_for(failing, 2)
    done = []
    parallel_for(done.append, 2)
    assert sorted(done) == [0, 1]


def _flag_primitives(name):
    """The pool's GIL-free primitives as the Numba or the Cython backend compiles them."""
    if name == "numba":
        module = pytest.importorskip("fastrnn.kernels._sync")
        if not X86:
            pytest.skip("the Numba spin-wait uses the x86 pause instruction")
        return module
    return pytest.importorskip("fastrnn._cython.sync")


@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_spin_wait_sees_another_threads_write_and_gives_up_after_its_budget(backend):
    kernels = _flag_primitives(backend)
    flag = np.zeros(1, np.int64)
    assert not kernels.spin_until(flag, 1, 1000)
    writer = threading.Timer(0.05, lambda: flag.__setitem__(0, 2))
    writer.start()
    assert kernels.spin_until(flag, 2, 1 << 40)  # returns as soon as the write lands
    writer.join()
    assert kernels.spin_until(flag, 1, 0)


def test_spin_wait_yields_its_cpu_while_it_polls():
    """A co-scheduled thread is not starved: the poll loop calls ``sched_yield`` (POSIX)."""
    kernels = pytest.importorskip("fastrnn.kernels._sync")
    if not X86 or not kernels._HAS_SCHED_YIELD:
        pytest.skip("the spin-wait yields on x86 POSIX systems only")
    from numba import njit

    fresh = njit(nogil=True)(kernels.spin_until.py_func)  # not from the cache: inspectable
    flag = np.zeros(1, np.int64)
    assert not fresh(flag, 1, 3 * YIELD_EVERY)
    llvm_ir = "\n".join(fresh.inspect_llvm().values())
    assert "call i32 @sched_yield()" in llvm_ir


@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_signal_then_spin_raises_the_flag_and_reports_how_the_wait_ended(backend):
    kernels = _flag_primitives(backend)
    flag, sleepers, other = np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64)
    assert kernels.signal_then_spin(flag, 3, sleepers, other, 1, 100) == 1  # spins ran out
    assert flag[0] == 3
    other[0] = 1
    assert kernels.signal_then_spin(flag, 4, sleepers, other, 1, 100) == 0  # the other got there
    sleepers[0] = 1
    other[0] = 0
    assert kernels.signal_then_spin(flag, 5, sleepers, other, 1, 1 << 40) == 2  # wake the sleeper
    assert flag[0] == 5
    sleepers[0] = 0
    assert not kernels.announce_sleep(sleepers, flag, 6) and sleepers[0] == 1
    assert kernels.announce_sleep(sleepers, flag, 5)


def test_a_waiter_asleep_on_a_pool_thread_is_woken_when_its_task_ends(monkeypatch):
    """The caller outlasts its spin waiting for a long task; the thread must wake it (no timeout)."""
    _fresh_pool(monkeypatch, 1000)
    monkeypatch.setattr(threads, "_SLEEP_CHECK_S", 60.0)  # a missed wake-up would hang for a minute
    parallel_for(lambda j: None, 2)
    started = threading.Event()

    def task(j):
        if j == 1:
            started.set()
            time.sleep(0.05)
        else:
            assert started.wait(timeout=30)  # task 1 is on the pool's thread

    t0 = time.perf_counter()
    parallel_for(task, 2)
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize("task_raises_the_flag", [True, False])
def test_task_zero_starts_the_first_pool_thread_when_asked_to(task_raises_the_flag, monkeypatch):
    _fresh_pool(monkeypatch, 200_000)  # the thread spins (does not sleep) between the calls
    if threads._spin_wait is None:
        pytest.skip("no spin-wait registered (the pool thread sleeps and is woken at once)")
    parallel_for(lambda j: None, 2)
    ran = []

    def task(j):
        if j == 0:
            flag, value = threads.first_task_wake()
            assert flag.shape == (1,) and value == flag[0] + 1
            time.sleep(0.02)
            assert ran == []  # the pool thread has not been told yet
            if task_raises_the_flag:
                flag[0] = value
                for _ in range(3000):  # the pool thread takes task 1 while task 0 runs
                    if ran:
                        break
                    time.sleep(0.001)
                assert ran == [1]
        else:
            ran.append(j)

    parallel_for(task, 2, wake_from_task=True)
    assert ran == [1]
    flag, _ = threads.first_task_wake()  # outside task 0: nothing to raise
    assert flag.shape == (0,)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_column_sums_equal_numpy_sums(dtype, rng):
    A = rng.normal(size=(640, 24)).astype(dtype)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(linalg.column_sums(A), A.astype(np.float64).sum(axis=0), rtol=tol, atol=tol)
    assert linalg.column_sums(A).dtype == dtype
    np.testing.assert_array_equal(linalg.column_sums(A[:0]), np.zeros(24))


def test_the_pool_works_without_compiled_flag_helpers(monkeypatch):
    """Without Numba (no spin-wait, no GIL-free flags) the threads sleep and are woken from Python."""
    for name in ("_spin_wait", "_signal_then_spin", "_announce_sleep"):
        monkeypatch.setattr(threads, name, None)
    _fresh_pool(monkeypatch, 1000)
    for call in range(50):
        seen = np.zeros(2, int)
        parallel_for(lambda j, seen=seen: seen.__setitem__(j, seen[j] + 1), 2, wake_from_task=bool(call % 2))
        assert seen.tolist() == [1, 1], call


def test_blas_runs_on_one_thread_in_the_engine_scope_and_is_restored_after():
    from threadpoolctl import threadpool_info, threadpool_limits

    from fastrnn.runtime import engine_scope

    def blas_threads():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]

    if not blas_threads():
        pytest.skip("no BLAS library that threadpoolctl can control")
    with threadpool_limits(limits=2, user_api="blas"):
        outside = blas_threads()
        with pytest.raises(RuntimeError), engine_scope():
            assert blas_threads() == [1] * len(outside)
            raise RuntimeError("a failed fit")
        assert blas_threads() == outside  # restored, also after an error
        with threadpool_limits(limits=1, user_api="blas"), engine_scope():
            assert blas_threads() == [1] * len(outside)
        assert blas_threads() == outside


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_cython_kernels_run_their_batch_slices_on_the_engine_pool(cell, monkeypatch, rng):
    """No OpenMP runtime beside the pool: each kernel hands its slices to ``parallel_for``."""
    pytest.importorskip("fastrnn._cython.sync")
    import fastrnn
    from fastrnn._cython import embedding, gru, lstm, simple_rnn
    from fastrnn.layers import Recurrent, TokenInput, pack_tokens
    from fastrnn.runtime import chunks

    calls = []

    def recording(fn, n_tasks, wake_from_task=False):
        calls.append((n_tasks, wake_from_task))
        parallel_for(fn, n_tasks, wake_from_task)

    for module in (gru, lstm, simple_rnn):  # the cells' slices go through the runtime's chunk runner
        assert module.run_chunks is chunks.run_chunks
    for module in (embedding, chunks):
        monkeypatch.setattr(module, "parallel_for", recording)
    ids = pack_tokens(rng.integers(1, 9, size=(6, 5)))
    layer = Recurrent(cell, 3)
    params = layer.init_params(rng, 4, np.float32)
    emb = rng.normal(size=(10, 4)).astype(np.float32)
    out = {}
    with fastrnn.use_backend("cython"):
        for n_threads in (1, 2):
            inp = TokenInput(ids.data, ids.start, emb)
            h, _, _, cache = layer.forward(params, inp, training=True, n_threads=n_threads)
            grads = layer.backward(params, cache, d_last=np.ones_like(h))[0]
            out[n_threads] = (h, grads)
    assert (2, True) in calls and calls.count((2, True)) >= 2  # the forward and the backward kernel
    np.testing.assert_allclose(out[2][0], out[1][0], rtol=1e-6, atol=1e-6)
    for key in out[1][1]:
        np.testing.assert_allclose(out[2][1][key], out[1][1][key], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_parallel_queue_runs_every_item_once_in_the_order_given(n_threads):
    from fastrnn.runtime import parallel_queue

    taken, lock = [], threading.Lock()

    def fn(item):
        with lock:
            taken.append(item)
        time.sleep(0.001 * (item % 3))  # uneven work

    parallel_queue(fn, range(20), n_threads)
    assert sorted(taken) == list(range(20))
    assert taken[:n_threads] == sorted(taken[:n_threads])  # taken from the front
    parallel_queue(fn, [], n_threads)  # nothing to do


def test_parallel_queue_drops_the_items_not_taken_when_one_raises():
    from fastrnn.runtime import parallel_queue

    ran = []

    def fn(item):
        if item == 2:
            raise RuntimeError("bad item")
        ran.append(item)

    with pytest.raises(RuntimeError, match="bad item"):
        parallel_queue(fn, range(100), 2)
    assert len(ran) < 99  # the queue was emptied, not drained


def _can_place_threads():
    """Linux with two CPUs, and per-thread affinity calls allowed (some containers refuse them)."""
    if current_cpu() is None or len(os.sched_getaffinity(0)) < 2:
        return False
    try:
        os.sched_setaffinity(0, os.sched_getaffinity(0))
    except OSError:
        return False
    return True


_CAN_PLACE = _can_place_threads()


@pytest.mark.skipif(not _CAN_PLACE, reason="needs CPU affinity calls and two CPUs")
def test_keep_thread_off_takes_a_cpu_away_gives_it_back_and_leaves_a_last_one():
    allowed = os.sched_getaffinity(0)
    first, second = sorted(allowed)[:2]
    hold = threading.Event()
    other = threading.Thread(target=hold.wait, args=(30,))
    other.start()
    tid = other.native_id
    try:
        taken = keep_thread_off(tid, first)
        assert taken == first and os.sched_getaffinity(tid) == allowed - {first}
        taken = keep_thread_off(tid, second, given_back=taken)
        assert taken == second and os.sched_getaffinity(tid) == allowed - {second}
        os.sched_setaffinity(tid, {first})
        assert keep_thread_off(tid, first) is None  # its only CPU: kept
        assert os.sched_getaffinity(tid) == {first}
    finally:
        hold.set()
        other.join()


@pytest.mark.skipif(not _CAN_PLACE, reason="needs CPU affinity calls and two CPUs")
def test_pool_threads_run_off_the_callers_cpu_and_follow_it_when_it_moves(monkeypatch):
    _fresh_pool(monkeypatch, 1000)
    allowed = os.sched_getaffinity(0)
    parallel_for(lambda j: None, 2)  # the pool thread starts with all the caller's CPUs
    worker_tid = threads._pool.workers[0].thread.native_id
    try:
        for cpu in sorted(allowed)[:2] * 2:
            os.sched_setaffinity(0, {cpu})  # the caller runs on ``cpu``
            parallel_for(lambda j: None, 2)
            assert os.sched_getaffinity(worker_tid) == allowed - {cpu}
            time.sleep(0.005)  # past the spin: the next call wakes a sleeping thread
    finally:
        os.sched_setaffinity(0, allowed)


@pytest.mark.parametrize("failure", ["no CPU number", "no permission"])
def test_the_pool_runs_every_task_where_threads_cannot_be_placed(failure, monkeypatch):
    _fresh_pool(monkeypatch, 1000)
    if failure == "no CPU number":  # not Linux
        monkeypatch.setattr(threads, "current_cpu", lambda: None)
    else:  # a container that refuses affinity calls
        def refuse(*args):
            raise PermissionError("not allowed")

        monkeypatch.setattr(os, "sched_setaffinity", refuse, raising=False)
        monkeypatch.setattr(threads, "current_cpu", lambda: 0)
    for _ in range(3):
        seen = np.zeros(3, int)
        parallel_for(lambda j: seen.__setitem__(j, seen[j] + 1), 3)
        assert seen.tolist() == [1, 1, 1]


@pytest.mark.parametrize("dropout", [dict(dropout=0.3), dict(recurrent_dropout=0.3),
                                     dict(embedding_dropout=0.2, spatial_dropout=0.2)],
                         ids=lambda d: "+".join(d))
def test_dropout_masks_follow_the_rows_whatever_the_thread_count(dropout):
    """Masks were drawn per batch position after the rows were ordered for the threads, so a
    seeded fit with dropout gave other weights on one thread than on two (by 1e-2)."""
    rng = np.random.default_rng(0)
    X = [list(rng.integers(1, 20, rng.integers(3, 10))) for _ in range(64)]
    y = rng.integers(0, 2, 64)

    def weights(n_threads):
        return RNNClassifier(cell="lstm", units=8, embedding_dim=4, dtype="float64", max_iter=2,
                             batch_size=16, random_state=0, n_threads=n_threads,
                             **dropout).fit(X, y).get_weights()

    for a, b in zip(weights(1), weights(2)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_an_interrupted_wait_lets_the_tasks_that_started_finish_first(monkeypatch):
    """A Ctrl-C while the caller waited left a pool thread writing after parallel_for had
    raised: into the weights a fit then restored (17,664 values off by up to 0.007)."""
    finished, taken = [], threading.Event()

    def task(j):
        if j == 0:  # the caller's task waits until a pool thread has taken task 1
            assert taken.wait(10)
        else:
            taken.set()
            time.sleep(0.1)  # still running when the caller's wait is interrupted
        finished.append(j)

    real_wait, calls = threads._Worker.wait, []

    def interrupted_once(self, seq):
        calls.append(seq)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real_wait(self, seq)

    monkeypatch.setattr(threads._Worker, "wait", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        parallel_for(task, 2)
    assert sorted(finished) == [0, 1] and len(calls) == 2


def test_blas_is_single_threaded_in_any_thread_while_any_thread_is_inside():
    """threadpoolctl lets only the first thread that set an OpenBLAS limit change it: after a
    fit in the main thread, a fit in a worker thread ran BLAS on every core beside its own
    threads (fits 5-25x slower, threaded searches 15-35x)."""
    from threadpoolctl import threadpool_limits

    from fastrnn.runtime import scope

    if not scope._blas_libraries():
        pytest.skip("no BLAS library found")
    with threadpool_limits(2, user_api="blas"):  # two threads, whatever the environment set
        _check_blas_scope_across_threads(scope)


def _check_blas_scope_across_threads(scope):
    before = [lib.num_threads for lib in scope._blas_libraries()]
    if max(before) < 2:
        pytest.skip("this BLAS cannot run on two threads here")
    with scope.single_threaded_blas():  # the main thread first, as after a fit
        pass
    seen, inside, release = {}, threading.Event(), threading.Event()

    def worker(name, hold):
        with scope.single_threaded_blas():
            seen[name] = [lib.num_threads for lib in scope._blas_libraries()]
            if hold:
                inside.set()
                release.wait(10)
                seen[name + " after the other left"] = [
                    lib.num_threads for lib in scope._blas_libraries()]

    a = threading.Thread(target=worker, args=("a", True))
    a.start()
    inside.wait(10)
    b = threading.Thread(target=worker, args=("b", False))
    b.start()
    b.join()
    release.set()
    a.join()
    assert seen == {k: [1] * len(before) for k in ("a", "b", "a after the other left")}
    assert [lib.num_threads for lib in scope._blas_libraries()] == before
