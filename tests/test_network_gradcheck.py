"""Whole-network gradients by central differences.

Embedding, stacked and bidirectional layers, every head and every loss.
"""

import numpy as np
import pytest

import fastrnn
from _model import make_ids, numeric_grad
from fastrnn.layers import Recurrent, pack_dense, pack_tokens
from fastrnn.layers.stack import Network
from fastrnn.losses import binary_crossentropy, categorical_crossentropy, mean_squared_error


def _net(cell, units, bidirectional, head, input_kind, n_out, T):
    layers = [Recurrent(cell, u) for u in units]
    n_in = 3 if input_kind == "dense" else 9
    return Network(input_kind, n_in, 4, layers, bidirectional, head, n_out, n_timesteps=T)


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
