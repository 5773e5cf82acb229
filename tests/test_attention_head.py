"""The attention pooling head: gradients, padding, weights, transform, persistence and ONNX export."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import fastrnn
from _model import make_ids, numeric_grad
from fastrnn import RNNClassifier, RNNRegressor
from fastrnn.layers import Recurrent, SequenceModel, pack_dense, pack_tokens
from fastrnn.losses import categorical_crossentropy, mean_squared_error

V = 12


def _net(cell, units, bidirectional, input_kind="tokens", n_out=3):
    layers = [Recurrent(cell, u) for u in units]
    n_in = 3 if input_kind == "dense" else V
    return SequenceModel.build(input_kind, n_in, 4, layers, bidirectional, "attention", n_out,
                               n_timesteps=6)


def _perturbed_params(net, rng, dtype=np.float64):
    params = net.init_params(rng, dtype)
    for w in net.weights(params):
        w += (0.3 * rng.normal(size=w.shape)).astype(dtype)
    return params


def _padded_ids(rng, B=4, T=6):
    """Pre-, post- and mid-row padding, and an all-padding row."""
    ids = rng.integers(1, V, size=(B, T))
    ids[0, :2] = 0
    ids[1, -3:] = 0
    ids[2, 1::2] = 0
    ids[3] = 0
    return ids


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell,units", [("lstm", (3,)), ("gru", (3, 2)), ("simple", (2,))])
def test_attention_network_gradients(cell, units, bidirectional):
    """Central differences through the whole network, padded and empty rows included."""
    rng = np.random.default_rng(3)
    net = _net(cell, units, bidirectional)
    params = _perturbed_params(net, rng)
    packed = pack_tokens(_padded_ids(rng))
    y = rng.integers(0, 3, size=4)
    wts = rng.random(4) + 0.5

    def loss():
        return categorical_crossentropy(net.forward(params, packed)[0], y, wts)[0]

    with fastrnn.use_backend("numpy"):
        logits, cache = net.forward(params, packed, training=True)
        grads = net.backward(params, cache, categorical_crossentropy(logits, y, wts)[1])
        assert len(net.weights(grads)) == len(net.weight_shapes())
        for g, w in zip(net.weights(grads), net.weights(params)):
            num = numeric_grad(loss, w)
            np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8 + 1e-6 * np.abs(num).max())


def test_attention_dense_input_gradients():
    rng = np.random.default_rng(4)
    net = _net("gru", (3,), True, input_kind="dense", n_out=2)
    params = _perturbed_params(net, rng)
    mask = np.ones((3, 5), dtype=bool)
    mask[0, :2] = False
    mask[1, 3:] = False
    packed = pack_dense(rng.normal(size=(3, 5, 3)), mask)
    y = rng.normal(size=(3, 2))
    w = np.ones(3)

    def loss():
        return mean_squared_error(net.forward(params, packed)[0], y, w)[0]

    with fastrnn.use_backend("numpy"):
        out, cache = net.forward(params, packed, training=True)
        grads = net.backward(params, cache, mean_squared_error(out, y, w)[1])
        for g, p in zip(net.weights(grads), net.weights(params)):
            np.testing.assert_allclose(g, numeric_grad(loss, p), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_fast_backend_matches_reference(backend_under_test, bidirectional):
    rng = np.random.default_rng(5)
    net = _net("lstm", (4, 3), bidirectional)
    params = _perturbed_params(net, rng)
    packed = pack_tokens(_padded_ids(rng, B=6))
    d_out = rng.normal(size=(6, 3))
    results = []
    for backend in (backend_under_test, "numpy"):
        with fastrnn.use_backend(backend):
            out, cache = net.forward(params, packed, training=True)
            grads = net.backward(params, cache, d_out)
            results.append([out] + net.weights(grads) + [net.attention(params, packed)])
    for fast, ref in zip(*results):
        np.testing.assert_allclose(fast, ref, rtol=1e-9, atol=1e-11)


def test_weights_layout_and_summary():
    net = _net("gru", (5,), True, n_out=2)
    params = net.init_params(np.random.default_rng(0))
    shapes = [w.shape for w in net.weights(params)]
    assert shapes == [tuple(s) for s in net.weight_shapes()]
    # after the embedding and the GRU's two directions: attention kernel, bias, vector, Dense
    assert shapes[-5:] == [(10, 10), (10,), (10,), (10, 2), (2,)]
    assert not params["dense"]["attention_bias"].any() and not params["dense"]["bias"].any()
    rows = net.layer_summary()
    assert rows[-2] == ("attention (AttentionPooling)", "(None, 10)", 10 * 10 + 2 * 10)
    assert rows[-1][0] == "dense (Dense)"


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = make_ids(rng, 40, 7, V, "mixed")
    X[X.sum(axis=1) == 0, -1] = 3  # every row has a real token
    y = (X == 3).any(axis=1).astype(int)
    clf = RNNClassifier(cell="gru", units=4, embedding_dim=3, head="attention", bidirectional=True,
                        max_iter=2, batch_size=8, random_state=0).fit(X, y)
    return clf, X, y


def test_padding_invariance_and_attention_weights(fitted):
    clf, X, _ = fitted
    rows = [row[row != 0] for row in X[:6]]
    pre = np.array([np.pad(r, (7 - len(r), 0)) for r in rows])
    post = np.array([np.pad(r, (0, 7 - len(r))) for r in rows])
    p = clf.predict_proba(pre)
    np.testing.assert_allclose(clf.predict_proba(post), p, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(clf.predict_proba(X[:6]), p, rtol=1e-6, atol=1e-7)
    for r, prob in zip(rows, p):  # unpadded, one row at a time
        np.testing.assert_allclose(clf.predict_proba(r[None]), prob[None], rtol=1e-6, atol=1e-7)
    a = clf.attention_weights(X)
    assert a.shape == X.shape and a.dtype == np.float64
    assert (a[X == 0] == 0).all() and (a[X != 0] > 0).all()
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-6)
    a_pre, a_post = clf.attention_weights(pre), clf.attention_weights(post)
    for i, r in enumerate(rows):  # the same weights, at the real tokens' columns
        np.testing.assert_allclose(a_pre[i, 7 - len(r):], a_post[i, :len(r)], rtol=1e-6)
        np.testing.assert_allclose(a[i, X[i] != 0], a_post[i, :len(r)], rtol=1e-6)


def test_attention_weights_need_the_attention_head():
    X = np.array([[0, 1, 2], [3, 4, 5], [0, 0, 1], [2, 2, 2]])
    clf = RNNClassifier(units=2, embedding_dim=2, max_iter=1, random_state=0).fit(X, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="head='attention'.*head='last'"):
        clf.attention_weights(X)


def test_transform_pipeline_and_stacking(fitted):
    clf, X, y = fitted
    feats = clf.transform(X)
    assert feats.shape == (len(X), 8) and feats.dtype == np.float64
    names = clf.get_feature_names_out()
    assert list(names[:2]) == ["rnnclassifier0", "rnnclassifier1"] and len(names) == 8
    # the pooled features are what the Dense layer reads
    W, b = clf.params_["dense"]["kernel"], clf.params_["dense"]["bias"]
    np.testing.assert_allclose(feats @ W[:, 0] + b[0], clf.decision_function(X), rtol=1e-5,
                               atol=1e-5)
    pipe = make_pipeline(clone(clf), LogisticRegression()).fit(X, y)
    assert pipe.predict(X).shape == (len(X),)
    np.testing.assert_allclose(pipe[0].transform(X), pipe[:-1].transform(X))
    stack = StackingClassifier([("rnn", clone(clf).set_params(max_iter=1))],
                               final_estimator=LogisticRegression(), cv=2).fit(X, y)
    assert stack.predict_proba(X).shape == (len(X), 2)


def test_transform_other_heads_and_pandas_output():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(10, 4, 2))
    y = rng.normal(size=10)
    reg = RNNRegressor(cell="simple", units=3, head="flatten", max_iter=1, random_state=0).fit(X, y)
    assert reg.transform(X).shape == (10, 12)
    reg.set_output(transform="pandas")
    frame = reg.transform(X)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns)[:2] == ["rnnregressor0",
                                                                           "rnnregressor1"]


def test_fit_transform_reads_the_mask_it_fits_with():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(12, 5, 2))
    mask = np.ones((12, 5), dtype=bool)
    mask[:4, 3:] = False
    X[~mask] = np.nan  # padding may hold NaN
    y = np.arange(12) % 2
    clf = RNNClassifier(units=3, head="attention", max_iter=1, random_state=0)
    feats = clf.fit_transform(X, y, mask=mask)
    np.testing.assert_array_equal(feats, clf.transform(X, mask=mask))


def test_save_load_round_trip(fitted, tmp_path):
    clf, X, _ = fitted
    path = fastrnn.save(clf, tmp_path / "attention.fastrnn")
    loaded = fastrnn.load(path)
    assert loaded.head == "attention"
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.attention_weights(X), clf.attention_weights(X))
    assert [w.shape for w in loaded.get_weights()] == [w.shape for w in clf.get_weights()]


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_onnx_export_matches_predict(kind, fitted):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(2)
    if kind == "classifier":
        model, X = fitted[0], _padded_ids(rng, B=8, T=7)
        X[3, :] = 0
        X[4, :-1] = 0
    else:
        X = rng.normal(size=(6, 5, 2))
        model = RNNRegressor(cell="lstm", units=3, head="attention", max_iter=1,
                             random_state=0).fit(X, rng.normal(size=6))
    runner = ort.InferenceSession(fastrnn.to_onnx(model).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    outs = runner.run(None, {"X": X.astype(np.int64) if kind == "classifier" else X.astype(np.float32)})
    if kind == "classifier":
        np.testing.assert_allclose(outs[1], model.predict_proba(X), atol=1e-5)
    else:
        np.testing.assert_allclose(outs[0], model.predict(X), atol=1e-5)
