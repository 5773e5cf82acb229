"""Optimizer update rules against the textbook (Keras) formulas, written out independently."""

import numpy as np
import pytest

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
