"""Optimizer update rules against the textbook (Keras) formulas, written out independently."""

import numpy as np
import pytest

import fastrnn
from fastrnn.optimizers import make_optimizer


def _keras_adam(p, grads, lr, b1=0.9, b2=0.999, eps=1e-7, wd=0.0):
    m, v = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        p = p - lr * wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    return p


def _keras_rmsprop(p, grads, lr, rho=0.9, eps=1e-7):
    a = np.zeros_like(p)
    for g in grads:
        a = rho * a + (1 - rho) * g * g
        p = p - lr * g / np.sqrt(a + eps)
    return p


def _sgd(p, grads, lr, momentum, nesterov):
    vel = np.zeros_like(p)
    for g in grads:
        vel = momentum * vel - lr * g
        p = p + (momentum * vel - lr * g if nesterov else vel)
    return p


@pytest.mark.parametrize("name, kw, oracle", [
    ("adam", {}, lambda p, gs: _keras_adam(p, gs, 0.01)),
    ("adamw", {"weight_decay": 0.05}, lambda p, gs: _keras_adam(p, gs, 0.01, wd=0.05)),
    ("rmsprop", {}, lambda p, gs: _keras_rmsprop(p, gs, 0.01)),
    ("sgd", {"momentum": 0.9}, lambda p, gs: _sgd(p, gs, 0.01, 0.9, False)),
    ("sgd", {"momentum": 0.9, "nesterov": True}, lambda p, gs: _sgd(p, gs, 0.01, 0.9, True)),
])
def test_update_rules_match_the_formulas(name, kw, oracle, rng):
    p0 = rng.normal(size=(5, 3))
    grads = [rng.normal(size=(5, 3)) for _ in range(4)]
    opt = make_optimizer(name, 0.01, **kw)
    p = p0.copy()
    for g in grads:
        opt.update([p], [g])
    np.testing.assert_allclose(p, oracle(p0, grads), rtol=1e-12, atol=1e-14)


def test_float32_parameters_stay_float32_with_float64_gradients(rng):
    p = rng.normal(size=(4, 2)).astype(np.float32)
    opt = make_optimizer("adam", 0.01)
    opt.update([p], [rng.normal(size=(4, 2))])
    assert p.dtype == np.float32 and opt.m[0].dtype == np.float32


def _step_arrays(rng, dtype, n_slots, n=1000):
    """Parameter, gradient (with zeros and large values) and ``n_slots`` non-negative slots."""
    g = rng.normal(size=n).astype(dtype)
    g[:10] = 0.0  # the denominator is then sqrt(slot) + eps alone
    g[10:20] *= 1e4
    return [rng.normal(size=n).astype(dtype), g] + [rng.random(n).astype(dtype)
                                                     for _ in range(n_slots)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("rule, n_slots, hyper", [("adam", 2, (3e-3, 0.9, 0.999, 1e-7)),
                                                  ("rmsprop", 1, (3e-3, 0.9, 1e-7))])
def test_backend_optimizer_steps_are_bit_identical_to_the_reference(backend_under_test, rule,
                                                                      n_slots, hyper, dtype, rng):
    from fastrnn import _reference

    step = getattr(fastrnn.get_kernels(backend_under_test), f"{rule}_step")
    reference_step = getattr(_reference, f"{rule}_step")
    initial = _step_arrays(rng, dtype, n_slots)
    expected = [a.copy() for a in initial]
    actual = [a.copy() for a in initial]
    for _ in range(3):
        reference_step(*expected, *hyper)
        step(*actual, *hyper)
    assert not np.array_equal(expected[0], initial[0])
    for e, a in zip(expected, actual):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_large_parameters_split_over_threads_update_as_in_one_piece(name, rng):
    shape = (600, 500)  # above MIN_PARALLEL_SIZE: sliced over the threads
    p0 = rng.normal(size=shape).astype(np.float32)
    grads = [rng.normal(size=shape).astype(np.float32) for _ in range(3)]
    results = []
    for n_threads in (1, 2):
        opt, p = make_optimizer(name, 0.01), p0.copy()
        for g in grads:
            opt.update([p], [g], n_threads=n_threads)
        results.append(p)
    np.testing.assert_array_equal(results[0], results[1])
    assert not np.array_equal(results[0], p0)


def test_non_contiguous_parameters_follow_the_same_rule(rng):
    p0 = np.asfortranarray(rng.normal(size=(6, 4)))
    grads = [rng.normal(size=(6, 4)) for _ in range(3)]
    opt, p = make_optimizer("adam", 0.01), p0.copy(order="F")
    for g in grads:
        opt.update([p], [g])
    assert p.flags.f_contiguous
    np.testing.assert_allclose(p, _keras_adam(p0, grads, 0.01), rtol=1e-12, atol=1e-14)


def test_clipnorm_scales_to_the_norm_and_leaves_gradients_within_it_as_they_are(rng):
    from fastrnn.optimizers import MIN_BLOCKED_NORM, _clip_norm, _sum_squares

    # above MIN_BLOCKED_NORM (summed by blocks) and not a multiple of the block
    g = rng.normal(size=MIN_BLOCKED_NORM * 3 + 7).astype(np.float32)
    exact = np.sqrt((g.astype(np.float64) ** 2).sum())
    assert _sum_squares(g).dtype == np.float32
    np.testing.assert_allclose(np.sqrt(_sum_squares(g)), exact, rtol=1e-6)
    clipped = _clip_norm(g, 1.0)
    np.testing.assert_allclose(np.linalg.norm(clipped.astype(np.float64)), 1.0, rtol=1e-5)
    small = rng.normal(size=(4, 3)).astype(np.float32) * 1e-3
    assert _clip_norm(small, 1.0) is small  # within the norm: no copy


@pytest.mark.parametrize("name, kw", [("adam", {}), ("adamw", {"weight_decay": 0.05}), ("rmsprop", {}),
                                      ("sgd", {}), ("sgd", {"momentum": 0.9, "nesterov": True})])
def test_small_parameters_stepped_together_equal_one_array_at_a_time(name, kw, rng, monkeypatch):
    from fastrnn.optimizers import FUSED_BELOW

    small = [(50, 4), (4, 12), (12,), (3, 1), ()]
    params = [rng.normal(size=s).astype(np.float32) for s in small]
    params.append(rng.normal(size=FUSED_BELOW + 5).astype(np.float32))  # large: on its own
    params.append(np.asfortranarray(rng.normal(size=(6, 5)).astype(np.float32)))  # not C-contiguous
    params.append(rng.normal(size=7))  # float64 among float32
    opt = make_optimizer(name, 0.01, **kw)
    alone = [make_optimizer(name, 0.01, **kw) for _ in params]  # one array per optimizer
    step, sizes = type(opt)._step, []
    monkeypatch.setattr(type(opt), "_step",
                        lambda self, kernels, p, *a: sizes.append(p.size) or step(self, kernels, p, *a))
    together, apart = [p.copy(order="K") for p in params], [p.copy(order="K") for p in params]
    for t in range(4):
        grads = [rng.normal(size=p.shape) for p in params]
        if t == 2:
            grads[1] = None  # frozen for a step: its slots are left as they are
            if name.startswith("adam"):  # a slot replaced from outside is read, not the old view
                opt.m[0], alone[0].m[0] = opt.m[0] + 1, alone[0].m[0] + 1
        sizes.clear()
        opt.update(together, grads)
        # the small arrays in one step, then one step per other array
        assert sizes == [sum(p.size for p, g in zip(params[:5], grads) if g is not None)] + [
            p.size for p in params[5:]]
        for p, g, o in zip(apart, grads, alone):
            o.update([p], [g])
        for a, b in zip(together, apart):
            assert a.dtype == b.dtype and a.flags.c_contiguous == b.flags.c_contiguous
            np.testing.assert_array_equal(a, b)
    for attr in ("m", "v", "acc", "velocity"):
        for i, slot in getattr(opt, attr, {}).items():  # still one slot array per parameter
            np.testing.assert_array_equal(slot, getattr(alone[i], attr)[0])
            assert slot.shape == params[i].shape


def test_clipnorm_scales_a_gradient_whose_squares_overflow_float32():
    from fastrnn.optimizers import _clip_norm

    p = np.zeros(3, np.float32)
    make_optimizer("sgd", 1.0, clipnorm=1.0).update([p], [np.array([3e19, -4e19, 1.0], np.float32)])
    np.testing.assert_allclose(p, [-0.6, 0.8, 0.0], atol=1e-6)  # was a skipped step: [0, 0, 0]
    big = np.full(100_000, 1e30, np.float32)  # the blocked sum of squares overflows too
    clipped = _clip_norm(big, 2.0)
    assert clipped.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(clipped.astype(np.float64)), 2.0, rtol=1e-5)
