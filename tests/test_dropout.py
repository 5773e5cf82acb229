"""Dropout on token input: input dropout, embedding dropout (whole tokens) and spatial dropout.

Gradients under fixed masks by central differences on the NumPy reference,
the fast backends against the reference with the same masks, inference
untouched, the drawn rates, the equivalences that define the semantics, and
the estimators' parameters.
"""

import numpy as np
import pytest

import fastrnn
from _model import TOLERANCES, make_ids, numeric_grad
from fastrnn import RNNClassifier, RNNLanguageModel, RNNSeq2Seq
from fastrnn.layers import Recurrent, SequenceModel, TokenInput, pack_tokens
from fastrnn.layers.projection import project, project_backward
from fastrnn.losses import categorical_crossentropy
from fastrnn.training import dropout_masks, embedding_noise

V, D = 9, 4


def _net(cell, units, bidirectional, head="last", input_kind="tokens"):
    layers = [Recurrent(cell, u) for u in units]
    return SequenceModel.build(input_kind, V, D, layers, bidirectional, head, 3, n_timesteps=6)


def _batch(rng, B=3, T=6):
    ids = make_ids(rng, B, T, V, "pre")
    return pack_tokens(ids), rng.integers(0, 3, size=B), rng.random(B) + 0.5


def _noise(rng, packed, embedding=0.0, spatial=0.0, dtype=np.float64, shared=False):
    """Noise with at least one dropped real token and one dropped channel when asked for."""
    while True:
        noise = embedding_noise(rng, packed.data, D, embedding, spatial, dtype, shared)
        real = np.arange(packed.data.shape[0])[:, None] >= packed.start[None, :]
        if ((not embedding or (noise.dropped & real).any())
                and (not spatial or (noise.channels == 0).any())):
            return noise


KINDS = {
    "embedding": dict(embedding=0.4),
    "spatial": dict(spatial=0.4),
    "shared": dict(spatial=0.4, shared=True, embedding=0.3),
    "all": dict(embedding=0.3, spatial=0.3, dropout=0.3),
}


def _kind_noise(rng, packed, kind, dtype):
    rates = KINDS[kind]
    return _noise(rng, packed, rates.get("embedding", 0.0), rates.get("spatial", 0.0), dtype,
                  rates.get("shared", False))


# every cell and kind on a bidirectional layer (both directions read the noise), and a stacked
# and a unidirectional network with all the kinds at once
GRADIENT_CASES = [(cell, (3,), True, kind) for cell in ("simple", "lstm", "gru") for kind in KINDS]
GRADIENT_CASES += [("lstm", (3, 2), False, "all"), ("gru", (2, 2), True, "all"),
                   ("simple", (3,), False, "all")]


@pytest.mark.parametrize("cell, units, bidirectional, kind", GRADIENT_CASES,
                         ids=[f"{c}-{len(u)}-{'bi' if b else 'uni'}-{k}" for c, u, b, k in GRADIENT_CASES])
def test_gradients_under_fixed_masks(cell, units, bidirectional, kind):
    rng = np.random.default_rng(5)
    net = _net(cell, units, bidirectional)
    params = net.init_params(rng, np.float64)
    for w in net.weights(params):
        w += 0.3 * rng.normal(size=w.shape)
    packed, y, wts = _batch(rng)
    rates = KINDS[kind]
    masks = None
    if rates.get("dropout"):
        masks = dropout_masks(rng, net, len(y), rates["dropout"], 0.0, np.float64)
    noise = _kind_noise(rng, packed, kind, np.float64)

    def loss():
        logits, _ = net.forward(params, packed, training=True, masks=masks, embedding_noise=noise)
        return categorical_crossentropy(logits, y, wts)[0]

    with fastrnn.use_backend("numpy"):
        logits, cache = net.forward(params, packed, training=True, masks=masks, embedding_noise=noise)
        grads = net.backward(params, cache, categorical_crossentropy(logits, y, wts)[1])
        for g, w in zip(net.weights(grads), net.weights(params)):
            num = numeric_grad(loss, w)
            np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8 + 1e-6 * np.abs(num).max())


@pytest.mark.parametrize("truncate", [None, 2], ids=["full", "truncated"])
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_fast_backends_agree_with_the_reference(cell, kind, truncate, backend_under_test):
    rng = np.random.default_rng(11)
    net = _net(cell, (5, 3), True, head="mean")
    packed, y, wts = _batch(rng, B=7, T=9)
    rates = KINDS[kind]
    masks = None
    if rates.get("dropout"):
        masks = dropout_masks(rng, net, len(y), rates["dropout"], 0.2, np.float32)
    noise = _kind_noise(rng, packed, kind, np.float32)
    params = net.init_params(rng, np.float32)
    results = {}
    for backend in ("numpy", backend_under_test):
        with fastrnn.use_backend(backend):
            logits, cache = net.forward(params, packed, training=True, masks=masks,
                                        embedding_noise=noise, bptt_truncate=truncate)
            grads = net.backward(params, cache, categorical_crossentropy(logits, y, wts)[1])
        results[backend] = [logits] + net.weights(grads)
    for ref, got in zip(*results.values()):
        np.testing.assert_allclose(got, ref, **TOLERANCES[np.float32])


def test_embedding_dropout_is_zero_input_for_dropped_tokens_and_scaled_input_for_the_others(rng):
    # The projection table's rows against the definition: a dropped occurrence's input is the
    # zero vector (its projection is the bias), a kept one's is E[id] / (1 - p).
    E = rng.normal(size=(V, D))
    W, b = rng.normal(size=(D, 8)), rng.normal(size=8)
    packed, _, _ = _batch(rng, B=5, T=7)
    ids = packed.data
    dropped = rng.random(ids.shape) < 0.5
    scale = 1 / 0.5
    for many_cells in (False, True):  # the table of distinct ids and the whole vocabulary's
        data = np.where(dropped, V, ids)
        if many_cells:
            data = np.tile(data, (4, 1))
        inp = TokenInput(data, np.zeros(data.shape[1], np.int32), E, token_scale=scale)
        table, idx, _ = project(inp, W, b)
        x = np.where((data < V)[:, :, None], E[np.minimum(data, V - 1)] * scale, 0.0)
        np.testing.assert_allclose(table[idx], x @ W + b, rtol=1e-12, atol=1e-12)


def test_channel_masks_give_each_cell_its_masked_projection(rng):
    E = rng.normal(size=(V, D))
    W, b = rng.normal(size=(D, 8)), rng.normal(size=8)
    packed, _, _ = _batch(rng, B=5, T=7)
    mask = (rng.random((5, D)) >= 0.5) * 2.0
    dropped = rng.random(packed.data.shape) < 0.3
    data = np.where(dropped, V, packed.data)
    inp = TokenInput(data, packed.start, E, mask, token_scale=1 / 0.7)
    table, idx, ctx = project(inp, W, b)
    x = np.where(dropped[:, :, None], 0.0, E[packed.data] / 0.7) * mask[None]
    np.testing.assert_allclose(table[idx], x @ W + b, rtol=1e-12, atol=1e-12)
    # the gradient of the embeddings collects every real cell's row
    dA = rng.normal(size=table[idx].shape) * (np.arange(7)[:, None] >= packed.start)[:, :, None]
    dW, db, dE = project_backward(inp, ctx, dA, idx, packed.start, W)
    real = (np.arange(7)[:, None] >= packed.start)[:, :, None]
    dx = (dA @ W.T) * mask[None] * np.where(dropped, 0.0, 1 / 0.7)[:, :, None] * real
    want = np.zeros_like(E)
    np.add.at(want, packed.data.ravel(), dx.reshape(-1, D))
    np.testing.assert_allclose(dE, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dW, x.reshape(-1, D).T @ dA.reshape(-1, 8), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_both_directions_see_the_same_dropped_tokens_and_channels(bidirectional, rng):
    # Zeroing the dropped tokens' embeddings and the dropped channels by hand (a one-off
    # embedding matrix per sequence) gives the same outputs as the noise: the backward
    # direction reads the same noisy embedding sequence, reversed.
    net = _net("gru", (3,), bidirectional)
    params = net.init_params(rng, np.float64)
    packed, _, _ = _batch(rng, B=4, T=6)
    noise = _noise(rng, packed, embedding=0.4, spatial=0.4)
    got, _ = net.forward(params, packed, training=True, embedding_noise=noise)
    want = []
    for b in range(4):
        ids = packed.data[:, b:b + 1]
        p = dict(params, embeddings=params["embeddings"] * noise.channels[b] / 0.6)
        ids_b = np.where(noise.dropped[:, b:b + 1], 0, ids)
        p["embeddings"] = p["embeddings"].copy()
        p["embeddings"][0] = 0.0  # id 0 now stands for a dropped token (the row starts later)
        start = packed.start[b:b + 1]
        row = packed._replace(data=ids_b, start=start)
        want.append(net.forward(p, row)[0])
    np.testing.assert_allclose(got, np.concatenate(want), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("with_dropout", [False, True], ids=["alone", "with_dropout"])
@pytest.mark.parametrize("embedding", [0.0, 0.3], ids=["", "embedding_dropout"])
def test_a_shared_channel_mask_is_a_mask_per_sequence_that_happens_to_be_equal(embedding,
                                                                               with_dropout):
    # The shared mask is folded into the kernel (a table per id); the same mask given to every
    # sequence goes through the table per (step, sequence): outputs and gradients agree.
    rng = np.random.default_rng(3)
    net = _net("lstm", (3,), True)
    params = net.init_params(rng, np.float64)
    packed, y, wts = _batch(rng, B=5, T=7)
    masks = dropout_masks(rng, net, 5, 0.3, 0.0, np.float64) if with_dropout else None
    shared = _noise(rng, packed, embedding, 0.5, shared=True)
    tiled = shared._replace(channels=np.tile(shared.channels, (5, 1)))
    results = []
    for noise in (shared, tiled):
        logits, cache = net.forward(params, packed, training=True, masks=masks, embedding_noise=noise)
        grads = net.backward(params, cache, categorical_crossentropy(logits, y, wts)[1])
        results.append([logits] + net.weights(grads))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_spatial_dropout_equals_input_dropout_on_a_single_unidirectional_layer(rng):
    # Keras: SpatialDropout1D after the Embedding and LSTM(dropout=p) draw one (B, D) mask per
    # batch of one layer; with the same draws the two fits are the same.
    X = rng.integers(1, 30, size=(40, 8))
    X[::4, :3] = 0
    y = rng.integers(0, 2, size=40)
    kw = dict(units=4, embedding_dim=5, max_iter=2, batch_size=16, random_state=0)
    a = RNNClassifier(dropout=0.3, **kw).fit(X, y)
    b = RNNClassifier(spatial_dropout=0.3, **kw).fit(X, y)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-6)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


def test_drawn_fractions_match_the_rates():
    rng = np.random.default_rng(0)
    ids = np.ones((200, 64), dtype=np.int32)
    noise = embedding_noise(rng, ids, 50, 0.3, 0.2, np.float32)
    assert abs(noise.dropped.mean() - 0.3) < 0.01
    assert noise.token_scale == pytest.approx(1 / 0.7)
    assert abs((noise.channels == 0).mean() - 0.2) < 0.02
    np.testing.assert_allclose(np.unique(noise.channels), [0.0, 1 / 0.8], rtol=1e-6)
    assert noise.channels.dtype == np.float32
    assert embedding_noise(rng, ids, 50, 0.0, 0.0, np.float32) is None
    shared = embedding_noise(rng, ids, 5000, 0.0, 0.2, np.float32, spatial_shared=True)
    assert shared.channels.shape == (5000,) and abs((shared.channels == 0).mean() - 0.2) < 0.02


def test_a_fit_drops_about_p_of_the_real_tokens(monkeypatch):
    # What the fit sees: the ids handed to the first layer carry id V for dropped occurrences.
    from fastrnn.layers import encoders

    seen = []
    real_apply = encoders.TokenEncoder.apply_noise

    def spy(self, data, noise):
        out = real_apply(self, data, noise)
        seen.append((data != 0, out[0] == self.n_ids))
        return out

    monkeypatch.setattr(encoders.TokenEncoder, "apply_noise", spy)
    rng = np.random.default_rng(1)
    X = rng.integers(1, 40, size=(256, 30))
    X[::2, :10] = 0
    RNNClassifier(units=2, embedding_dim=3, max_iter=1, batch_size=64, embedding_dropout=0.25,
                  random_state=0).fit(X, rng.integers(0, 2, 256))
    real = sum(int(r.sum()) for r, _ in seen)
    dropped = sum(int((d & r).sum()) for r, d in seen)
    assert len(seen) == 4 and abs(dropped / real - 0.25) < 0.02


@pytest.mark.parametrize("rates", [dict(dropout=0.5), dict(embedding_dropout=0.5),
                                   dict(spatial_dropout=0.5),
                                   dict(spatial_dropout=0.5, spatial_dropout_shared=True)],
                         ids=["dropout", "embedding", "spatial", "shared"])
def test_inference_is_unaffected(rates, rng):
    # The rates act in training only: the same weights predict the same with and without them.
    X = rng.integers(1, 30, size=(30, 8))
    y = rng.integers(0, 2, size=30)
    clf = RNNClassifier(units=3, embedding_dim=4, max_iter=1, random_state=0, **rates).fit(X, y)
    plain = RNNClassifier(units=3, embedding_dim=4, max_iter=1, random_state=0).fit(X, y)
    plain.set_weights(clf.get_weights())
    np.testing.assert_array_equal(clf.predict_proba(X), plain.predict_proba(X))


def test_zero_rates_leave_the_random_stream_and_the_fit_unchanged(rng):
    # Without embedding or spatial dropout nothing more is drawn: the dropout masks of an
    # existing fit are the same.
    X = rng.integers(1, 30, size=(30, 8))
    y = rng.integers(0, 2, size=30)
    kw = dict(units=3, embedding_dim=4, max_iter=2, random_state=0, dropout=0.3, recurrent_dropout=0.2)
    a = RNNClassifier(**kw).fit(X, y)
    b = RNNClassifier(embedding_dropout=0.0, spatial_dropout=0.0, **kw).fit(X, y)
    assert a.loss_curve_ == b.loss_curve_


@pytest.mark.parametrize("name", ["embedding_dropout", "spatial_dropout"])
def test_non_embedding_input_is_refused_by_name(name, rng):
    y = rng.integers(0, 2, size=6)
    with pytest.raises(ValueError, match=f"{name}=0.2 .*input_encoding='embedding'.*one-hot"):
        RNNClassifier(input_encoding="onehot", max_iter=1, **{name: 0.2}).fit(
            rng.integers(1, 9, size=(6, 4)), y)
    with pytest.raises(ValueError, match=f"{name}=0.2 .*float sequences"):
        RNNClassifier(max_iter=1, **{name: 0.2}).fit(rng.normal(size=(6, 4, 2)), y)
    with pytest.raises(ValueError, match=f"RNNSeq2Seq does not support {name}"):
        RNNSeq2Seq(max_iter=1, **{name: 0.2}).fit([[1, 2], [3, 4]], [[2, 1], [4, 3]])


@pytest.mark.parametrize("name", ["embedding_dropout", "spatial_dropout"])
def test_rates_are_validated(name):
    with pytest.raises(ValueError, match=name):
        RNNClassifier(**{name: 1.0}).fit(np.ones((4, 3), int), [0, 1, 0, 1])


def test_the_language_model_trains_with_embedding_and_spatial_dropout():
    texts = ["the cat sat on the mat", "a dog sat on a log", "the cat and the dog"] * 4
    lm = RNNLanguageModel(units=4, embedding_dim=3, window=5, max_iter=2, random_state=0,
                          embedding_dropout=0.2, spatial_dropout=0.2).fit(texts)
    plain = RNNLanguageModel(units=4, embedding_dim=3, window=5, max_iter=2, random_state=0).fit(texts)
    assert np.isfinite(lm.loss_curve_).all() and lm.loss_curve_ != plain.loss_curve_


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_frozen_embedding_under_channel_masks_stays_unchanged(cell, rng):
    # LSTM reads the masked vectors in its step product, GRU through a table row per cell:
    # neither may hand the frozen table a gradient
    X, y = rng.integers(1, 20, size=(40, 12)), rng.integers(0, 2, 40)
    table = rng.normal(size=(20, 6)).astype(np.float32)
    common = dict(cell=cell, units=4, embedding_dim=6, embedding_init=table, random_state=0)
    clf = RNNClassifier(embedding_trainable=False, dropout=0.3, spatial_dropout=0.2,
                        embedding_dropout=0.1, max_iter=2, **common).fit(X, y)
    assert np.array_equal(clf.params_["embeddings"], table)
    untrained = RNNClassifier(max_iter=1, learning_rate=1e-12, **common).fit(X, y)
    assert not np.array_equal(clf.params_["rnn"][0][0]["kernel"],
                              untrained.params_["rnn"][0][0]["kernel"])
