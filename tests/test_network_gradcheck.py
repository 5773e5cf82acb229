"""Whole-network gradients by central differences.

Embedding, stacked and bidirectional layers, every head and every loss.
"""

import numpy as np
import pytest

import fastrnn
from _model import make_ids, numeric_grad
from fastrnn.layers import Recurrent, pack_dense, pack_tokens
from fastrnn.layers import SequenceModel
from fastrnn.losses import (
    binary_crossentropy,
    categorical_crossentropy,
    mean_squared_error,
    sequence_crossentropy,
)


def _net(cell, units, bidirectional, head, input_kind, n_out, T):
    layers = [Recurrent(cell, u) for u in units]
    n_in = 3 if input_kind == "dense" else 9
    return SequenceModel.build(input_kind, n_in, 4, layers, bidirectional, head, n_out, n_timesteps=T)


@pytest.mark.parametrize("head", ["last", "flatten", "mean", "max"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("units", [(3,), (3, 2)], ids=["one", "stacked"])
@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_network_gradients(cell, units, bidirectional, head):
    rng = np.random.default_rng(7)
    T, B = 5, 3
    net = _net(cell, units, bidirectional, head, "tokens", 3, T)
    params = net.init_params(rng, np.float64)
    for w in net.weights(params):
        w += 0.3 * rng.normal(size=w.shape)
    ids = make_ids(rng, B, T, 9, "post")
    y = rng.integers(0, 3, size=B)
    wts = rng.random(B) + 0.5
    packed = pack_tokens(ids)

    def loss():
        logits, _ = net.forward(params, packed)
        return categorical_crossentropy(logits, y, wts)[0]

    with fastrnn.use_backend("numpy"):
        logits, cache = net.forward(params, packed, training=True)
        grads = net.backward(params, cache, categorical_crossentropy(logits, y, wts)[1])
        for g, w in zip(net.weights(grads), net.weights(params)):
            num = numeric_grad(loss, w)
            np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8 + 1e-6 * np.abs(num).max())


@pytest.mark.parametrize("loss_fn,n_out", [(binary_crossentropy, 1), (mean_squared_error, 2)])
def test_dense_input_network_gradients(loss_fn, n_out):
    rng = np.random.default_rng(3)
    net = _net("gru", (3,), False, "last", "dense", n_out, 4)
    params = net.init_params(rng, np.float64)
    packed = pack_dense(rng.normal(size=(3, 4, 3)))
    y = rng.integers(0, 2, size=3) if n_out == 1 else rng.normal(size=(3, 2))
    w = np.ones(3)

    def loss():
        return loss_fn(net.forward(params, packed)[0], y, w)[0]

    with fastrnn.use_backend("numpy"):
        logits, cache = net.forward(params, packed, training=True)
        grads = net.backward(params, cache, loss_fn(logits, y, w)[1])
        for g, p in zip(net.weights(grads), net.weights(params)):
            np.testing.assert_allclose(g, numeric_grad(loss, p), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("units", [(3,), (3, 2)], ids=["one", "stacked"])
@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_sequence_head_gradients(cell, units, bidirectional):
    """Per-step outputs (tagging / language model): a loss at every real position."""
    rng = np.random.default_rng(11)
    T, B, K = 5, 3, 4
    net = _net(cell, units, bidirectional, "sequence", "tokens", K, T)
    params = net.init_params(rng, np.float64)
    for w in net.weights(params):
        w += 0.3 * rng.normal(size=w.shape)
    ids = make_ids(rng, B, T, 9, "post")
    y = np.where(ids != 0, rng.integers(0, K, size=(B, T)), -1)
    wts = rng.random(B) + 0.5
    packed = pack_tokens(ids)

    def loss():
        return sequence_crossentropy(net.forward(params, packed)[0], y, wts)[0]

    with fastrnn.use_backend("numpy"):
        logits, cache = net.forward(params, packed, training=True)
        assert logits.shape == (B, T, K)
        grads = net.backward(params, cache, sequence_crossentropy(logits, y, wts)[1])
        for g, w in zip(net.weights(grads), net.weights(params)):
            num = numeric_grad(loss, w)
            np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8 + 1e-6 * np.abs(num).max())


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_window_gradients_with_a_carried_state(cell):
    """Windowed truncated BPTT: the state entering a window is a constant of that window.

    Runs on the backend under test (float64), so the fast kernels are checked too.
    """
    rng = np.random.default_rng(5)
    T, B, K = 4, 2, 6
    net = _net(cell, (3, 2), False, "sequence", "tokens", K, T)
    params = net.init_params(rng, np.float64)
    ids = rng.integers(1, 9, size=(B, T))
    y = rng.integers(0, K, size=(B, T))
    wts = np.ones(B)
    packed = pack_tokens(ids)
    n_state = 2 if cell == "lstm" else 1
    states = [[tuple(rng.normal(size=(B, u)) for _ in range(n_state))] for u in (3, 2)]

    def loss():
        return sequence_crossentropy(net.forward(params, packed, states=states)[0], y, wts)[0]

    logits, cache, finals = net.forward(params, packed, training=True, states=states,
                                        return_states=True)
    grads = net.backward(params, cache, sequence_crossentropy(logits, y, wts)[1])
    for g, w in zip(net.weights(grads), net.weights(params)):
        num = numeric_grad(loss, w)
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8 + 1e-6 * np.abs(num).max())
    # the final state continues the stream: two windows equal one long window
    more = rng.integers(1, 9, size=(B, 3))
    second, _ = net.forward(params, pack_tokens(more), states=finals)
    whole, _ = net.forward(params, pack_tokens(np.hstack([ids, more])), states=states)
    np.testing.assert_allclose(second, whole[:, T:], rtol=1e-10, atol=1e-12)
