"""The block cache: inside the engine's scope NumPy reuses large freed blocks and aligns new ones."""

import os
import sys
import threading

import numpy as np
import pytest

from fastrnn import RNNClassifier
from fastrnn.runtime import memory
from fastrnn.runtime.memory import (
    ALIGNMENT,
    MIN_BLOCK_BYTES,
    block_cache_stats,
    release_freed_blocks,
    reuse_freed_blocks,
)

try:
    from numpy._core.multiarray import get_handler_name
except ImportError:  # NumPy < 2
    from numpy.core.multiarray import get_handler_name

needs_cache = pytest.mark.skipif(not memory.block_cache_available(),
                                 reason="the block cache extension is not built, or turned off")

needs_handler = pytest.mark.skipif(not memory.aligned_allocation_available(),
                                   reason="the block cache extension is not built")

BLOCK = 4 * MIN_BLOCK_BYTES // 8  # float64 elements in a block four times the smallest held size


@pytest.fixture(autouse=True)
def _empty_cache():
    release_freed_blocks()
    yield
    release_freed_blocks()


def _address(a):
    return a.__array_interface__["data"][0]


def _free_a_held_block():
    """Allocate ``BLOCK`` float64 inside a scope and free them there; return the (now held) address."""
    with reuse_freed_blocks():
        a = np.ones(BLOCK)
        where = _address(a)
        del a
    return where


@needs_cache
def test_the_scope_installs_the_handler_and_puts_the_old_one_back():
    before = get_handler_name()
    with reuse_freed_blocks():
        assert get_handler_name() == "fastrnn_block_cache"
        assert get_handler_name(np.empty(3)) == "fastrnn_block_cache"
    assert get_handler_name() == before
    with pytest.raises(RuntimeError), reuse_freed_blocks():
        raise RuntimeError("inside")
    assert get_handler_name() == before
    assert block_cache_stats()["open_scopes"] == 0


@needs_cache
def test_a_freed_block_is_reused_for_the_same_size_and_zeroed_for_np_zeros():
    with reuse_freed_blocks():
        where = _free_a_held_block()
        assert block_cache_stats()["held_bytes"] == BLOCK * 8
        hits = block_cache_stats()["hits"]
        b = np.zeros(BLOCK)
        assert _address(b) == where
        assert block_cache_stats()["hits"] == hits + 1
        assert not b.any()  # the reused block held ones
        assert block_cache_stats()["held_bytes"] == 0
        c = np.ones(BLOCK + 1)  # another size: a new block
        assert _address(c) != where


@needs_cache
def test_small_blocks_and_frees_outside_a_scope_are_not_held():
    with reuse_freed_blocks():
        small = np.ones(MIN_BLOCK_BYTES // 8 - 1)
        del small
        assert block_cache_stats()["held_bytes"] == 0
        outlives = np.ones(BLOCK)
    assert get_handler_name(outlives) == "fastrnn_block_cache"
    del outlives  # freed after the scope: given back, not held
    assert block_cache_stats()["held_bytes"] == 0


@needs_cache
def test_held_blocks_survive_the_scope_until_released():
    where = _free_a_held_block()
    assert block_cache_stats()["held_bytes"] == BLOCK * 8
    with reuse_freed_blocks():
        assert _address(np.empty(BLOCK)) == where
    release_freed_blocks()
    assert block_cache_stats()["held_bytes"] == 0


@needs_cache
def test_the_limit_gives_back_the_oldest_blocks_first():
    stats = block_cache_stats()
    memory._blockcache.configure(3 * BLOCK * 8, stats["min_bytes"])
    try:
        with reuse_freed_blocks():
            arrays = [np.ones(BLOCK) for _ in range(4)]
            addresses = [_address(a) for a in arrays]
            for i in range(4):  # freed first to last: the first is given back for the fourth
                arrays[i] = None
            assert block_cache_stats()["held_bytes"] == 3 * BLOCK * 8
            again = [np.empty(BLOCK) for _ in range(3)]
            assert sorted(_address(a) for a in again) == sorted(addresses[1:])
            too_big = np.ones(4 * BLOCK)
            del too_big  # larger than the limit: never held
            assert block_cache_stats()["held_bytes"] == 0
    finally:
        memory._blockcache.configure(stats["limit_bytes"], stats["min_bytes"])


@needs_cache
def test_the_scope_covers_the_calling_thread_only():
    names = []
    with reuse_freed_blocks():
        worker = threading.Thread(target=lambda: names.append(get_handler_name()))
        worker.start()
        worker.join()
        names.append(get_handler_name())
    assert names == ["default_allocator", "fastrnn_block_cache"]


@needs_cache
@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="needs os.fork")
def test_a_forked_child_can_use_the_cache():
    _free_a_held_block()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        ok = False
        try:
            with reuse_freed_blocks():
                ok = not np.zeros(BLOCK).any()
        finally:
            os.write(write, b"1" if ok else b"0")
            os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(pid, 0)


def test_without_the_extension_the_scope_does_nothing(monkeypatch):
    monkeypatch.setattr(memory, "_blockcache", None)
    before = get_handler_name()
    with reuse_freed_blocks():
        assert get_handler_name() == before
    assert block_cache_stats() == {}
    release_freed_blocks()


def _fit_twice(X, y):
    clf = RNNClassifier(cell="lstm", units=16, embedding_dim=8, vocab_size=60, batch_size=64,
                        max_iter=2, random_state=0)
    clf.fit(X, y)
    return clf.fit(X, y), clf.predict_proba(X)


@needs_cache
def test_fits_and_predictions_are_the_same_with_and_without_the_cache(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.integers(1, 60, size=(256, 40))  # (40, 64, 64) float32 gates: 640 KB, held
    y = (X[:, -1] > 30).astype(int)
    with_cache, p_with = _fit_twice(X, y)
    assert block_cache_stats()["hits"] > 0
    hits = block_cache_stats()["hits"]
    monkeypatch.setattr(memory, "_blockcache", None)  # NumPy's own allocator: no reuse, 16-byte blocks
    without, p_without = _fit_twice(X, y)
    monkeypatch.undo()
    assert block_cache_stats()["hits"] == hits
    for a, b in zip(with_cache.get_weights(), without.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(p_with, p_without)


@needs_handler
@pytest.mark.parametrize("n", [1, 3, 100, BLOCK, BLOCK + 1])
def test_blocks_allocated_in_a_scope_start_on_a_cache_line(n):
    with reuse_freed_blocks():
        arrays = [np.ones(n, np.float32), np.zeros(n), np.empty((n, 3), np.int8)]
        arrays.append(np.ones(n)[1:].copy())
    for a in arrays:
        assert _address(a) % ALIGNMENT == 0
    assert arrays[0].sum() == n and not arrays[1].any() and arrays[3].sum() == n - 1


@needs_handler
def test_a_reallocated_block_keeps_its_values_and_alignment():
    with reuse_freed_blocks():
        a = np.arange(10.0)
        a.resize(100_000, refcheck=False)  # NumPy reallocates through the handler
        assert _address(a) % ALIGNMENT == 0
        np.testing.assert_array_equal(a[:10], np.arange(10.0))
        assert not a[10:].any()
        a.resize(4, refcheck=False)
        np.testing.assert_array_equal(a, np.arange(4.0))
        assert _address(a) % ALIGNMENT == 0


@needs_handler
def test_with_no_limit_nothing_is_held_but_blocks_are_still_aligned():
    stats = block_cache_stats()
    memory._blockcache.configure(0, stats["min_bytes"])
    try:
        with reuse_freed_blocks():
            a = np.ones(BLOCK)
            del a
            assert block_cache_stats()["held_bytes"] == 0
            assert _address(np.ones(BLOCK)) % ALIGNMENT == 0
    finally:
        memory._blockcache.configure(stats["limit_bytes"], stats["min_bytes"])
