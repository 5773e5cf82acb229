"""embedding_init and embedding_trainable: initial tables, frozen embeddings, the sklearn
contract with an array parameter, and save/load."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import fastrnn
from _model import numeric_grad
from fastrnn import (RNNClassifier, RNNLanguageModel, RNNRegressor, RNNSeq2Seq,
                     RNNSequenceTagger, TextSequencer)
from fastrnn.layers import Recurrent, SequenceModel, pack_tokens
from fastrnn.layers.encoders import TokenEncoder
from fastrnn.losses import binary_crossentropy
from fastrnn.text import embedding_matrix

FAST = dict(units=6, embedding_dim=4, max_iter=2, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(0)
    X = rng.integers(1, 12, size=(60, 7))
    X[::3, :2] = 0  # padding
    y = (X == 3).any(axis=1).astype(int)
    return X, y


@pytest.fixture
def table():
    return np.random.default_rng(1).normal(size=(12, 4)).astype(np.float32)


def test_the_initial_embedding_is_a_copy_cast_to_the_dtype(task, table):
    X, y = task
    before = table.copy()
    clf = RNNClassifier(embedding_init=table, dtype="float64", **FAST).fit(X, y)
    assert clf.vocab_size_ == 12  # the table's rows, not max id + 1
    assert clf.params_["embeddings"].dtype == np.float64
    np.testing.assert_array_equal(table, before)  # trained, but not in the user's array
    assert not np.array_equal(clf.params_["embeddings"], table)
    first = RNNClassifier(embedding_init=table, **dict(FAST, max_iter=1, learning_rate=1e-9)).fit(X, y)
    np.testing.assert_allclose(first.params_["embeddings"], table, atol=1e-6)
    # the other weights are drawn as without embedding_init
    plain = RNNClassifier(vocab_size=12, **dict(FAST, max_iter=1, learning_rate=1e-9)).fit(X, y)
    np.testing.assert_allclose(first.get_weights()[1], plain.get_weights()[1], atol=1e-7)


@pytest.mark.parametrize("optimizer, extra", [
    ("adam", {}), ("adamw", {"weight_decay": 0.1}), ("sgd", {"momentum": 0.9}),
    ("rmsprop", {"clipnorm": 0.5, "clipvalue": 0.1})])
def test_a_frozen_embedding_stays_bit_identical(task, table, optimizer, extra):
    X, y = task
    clf = RNNClassifier(embedding_init=table, embedding_trainable=False, optimizer=optimizer,
                        learning_rate=0.01, **FAST, **extra).fit(X, y)
    assert np.array_equal(clf.params_["embeddings"], table)
    trained = RNNClassifier(embedding_init=table, optimizer=optimizer, learning_rate=0.01,
                            **FAST, **extra).fit(X, y)
    # the other weights train, and the same way as with a trainable embedding in the first step
    assert not np.array_equal(clf.get_weights()[1], RNNClassifier(
        embedding_init=table, **dict(FAST, max_iter=1, learning_rate=1e-12)).fit(X, y).get_weights()[1])
    assert not np.array_equal(trained.params_["embeddings"], table)
    clf.partial_fit(X, y)
    assert np.array_equal(clf.params_["embeddings"], table)
    # no moments are kept for it
    slots = [getattr(clf.optimizer_state_, name, {}) for name in ("m", "v", "velocity", "acc")]
    assert all(0 not in s for s in slots)


def test_a_frozen_random_embedding_and_the_summary(task):
    X, y = task
    clf = RNNClassifier(embedding_trainable=False, **dict(FAST, max_iter=1)).fit(X, y)
    table = clf.params_["embeddings"].copy()
    clf.set_params(warm_start=True).fit(X, y)
    assert np.array_equal(clf.params_["embeddings"], table)
    text = clf.summary()
    n = clf.count_params()
    assert f"Total params: {n:,}" in text
    assert f"Trainable params: {n - table.size:,}" in text
    assert f"Non-trainable params: {table.size:,}" in text


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_frozen_embeddings_get_no_gradient_and_the_same_other_gradients(cell, monkeypatch):
    rng = np.random.default_rng(3)
    X = rng.integers(1, 9, size=(4, 5))
    X[0, :2] = 0
    y = rng.integers(0, 2, size=4).astype(float)
    w = np.ones(4)
    packed = pack_tokens(X)
    nets = [SequenceModel.build("tokens", 9, 3, [Recurrent(cell, 3)], True, "last", 1,
                                embedding_trainable=trainable) for trainable in (True, False)]
    params = nets[0].init_params(rng, np.float64)
    for p in nets[0].weights(params):
        p += 0.3 * rng.normal(size=p.shape)
    seen = []
    original = TokenEncoder.backward
    monkeypatch.setattr(TokenEncoder, "backward",
                        lambda self, p, d: seen.append(d) or original(self, p, d))
    with fastrnn.use_backend("numpy"):
        grads = []
        for net in nets:
            out, cache = net.forward(params, packed, training=True)
            grads.append(net.backward(params, cache, binary_crossentropy(out, y, w)[1]))
    assert grads[1]["embeddings"] is None
    assert all(d is None for d in seen[1])  # the layers computed no embedding gradient
    for g0, g1 in zip(nets[0].weights(grads[0])[1:], nets[1].weights(grads[1])[1:]):
        np.testing.assert_array_equal(g0, g1)
    # central differences on a frozen network's kernel
    net = nets[1]

    def loss():
        out, _ = net.forward(params, packed)
        return binary_crossentropy(out, y, w)[0]

    with fastrnn.use_backend("numpy"):
        kernel = params["rnn"][0][1]["kernel"]
        np.testing.assert_allclose(grads[1]["rnn"][0][1]["kernel"], numeric_grad(loss, kernel),
                                   rtol=1e-5, atol=1e-9)


def test_frozen_embedding_with_input_dropout_and_truncation(task, table):
    X, y = task
    clf = RNNClassifier(embedding_init=table, embedding_trainable=False, dropout=0.3,
                        bptt_truncate=3, bidirectional=True, **FAST).fit(X, y)
    assert np.array_equal(clf.params_["embeddings"], table)


@pytest.mark.parametrize("kw, fit_kw, message", [
    (dict(embedding_init=np.zeros((12, 5))), {}, r"embedding_init has 5 columns but embedding_dim=4"),
    (dict(embedding_init=np.zeros((12, 4)), vocab_size=20), {},
     r"embedding_init has 12 rows but vocab_size=20"),
    (dict(embedding_init=np.zeros(12)), {}, r"embedding_init must be a 2-D numeric array"),
    (dict(embedding_init=np.zeros((12, 4)), input_encoding="onehot"), {},
     r"embedding_init needs input_encoding='embedding'"),
    (dict(embedding_init=np.full((12, 4), np.nan)), {}, r"embedding_init contains NaN"),
    (dict(embedding_init=np.zeros((8, 4))), {}, r"token id 11 but embedding_init \(of 8 rows\) has 8 ids"),
    (dict(embedding_init="glove"), {}, r"embedding_init"),
])
def test_bad_initial_embeddings_name_the_parameter(task, kw, fit_kw, message):
    X, y = task
    with pytest.raises((ValueError, TypeError), match=message):
        RNNClassifier(**dict(FAST, **kw)).fit(X, y)


def test_ids_beyond_the_table_follow_unknown_ids(task):
    X, y = task
    with pytest.warns(UserWarning, match="mapped to the out-of-vocabulary id 1"):
        clf = RNNClassifier(embedding_init=np.zeros((8, 4)), unknown_ids="oov", **FAST).fit(X, y)
    assert clf.vocab_size_ == 8


def test_inputs_without_an_embedding_refuse_it():
    with pytest.raises(ValueError, match="no embedding to initialise"):
        RNNRegressor(embedding_init=np.zeros((3, 4)), **FAST).fit(np.random.rand(10, 5, 2),
                                                                   np.random.rand(10))
    with pytest.raises(ValueError, match="RNNSeq2Seq has a source and a target embedding"):
        RNNSeq2Seq(embedding_trainable=False, max_iter=1).fit(["ab", "cd"], ["ba", "dc"])


@pytest.mark.parametrize("kind", ["float", "onehot"])
def test_freezing_an_embedding_that_the_input_lacks_is_refused(task, kind):
    X, y = task
    if kind == "float":
        X, kw = np.random.default_rng(0).random((len(y), 5, 2)), {}
    else:
        kw = {"input_encoding": "onehot"}
    with pytest.raises(ValueError, match="embedding_trainable=False"):
        RNNClassifier(embedding_trainable=False, **FAST, **kw).fit(X, y)


def test_in_place_changes_are_checked_again(task, table):
    X, y = task
    E = table.copy()
    clf = RNNClassifier(embedding_init=E, **FAST).fit(X, y)
    E[0, 0] = np.inf  # an array can change in place: it is checked on every fit
    with pytest.raises(ValueError, match="embedding_init contains NaN or infinity"):
        clf.fit(X, y)


def test_clone_get_params_and_grid_search(task, table):
    X, y = task
    clf = RNNClassifier(embedding_init=table, **FAST)
    copy = clone(clf)
    assert copy.embedding_init is not table
    np.testing.assert_array_equal(copy.get_params()["embedding_init"], table)
    clf.set_params(embedding_trainable=False)
    assert clf.get_params()["embedding_trainable"] is False
    search = GridSearchCV(RNNClassifier(embedding_init=table, **FAST),
                          {"embedding_trainable": [True, False]}, cv=2).fit(X, y)
    assert np.array_equal(search.best_estimator_.embedding_init, table)
    frozen = search.cv_results_["params"].index({"embedding_trainable": False})
    assert np.isfinite(search.cv_results_["mean_test_score"][frozen])


def test_save_and_load_keep_the_table_and_the_freeze(task, table, tmp_path):
    X, y = task
    clf = RNNClassifier(embedding_init=table, embedding_trainable=False, **FAST).fit(X, y)
    loaded = fastrnn.load(fastrnn.save(clf, tmp_path / "m.fastrnn"))
    np.testing.assert_array_equal(loaded.embedding_init, table)
    assert loaded.embedding_init.dtype == table.dtype and loaded.embedding_trainable is False
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    loaded.partial_fit(X, y)
    assert np.array_equal(loaded.params_["embeddings"], table)


@pytest.mark.parametrize("cls", [RNNRegressor, RNNSequenceTagger])
def test_other_token_estimators(task, table, cls):
    X, y = task
    target = X % 3 if cls is RNNSequenceTagger else y.astype(float)
    est = cls(embedding_init=table, embedding_trainable=False, **FAST).fit(X, target)
    assert np.array_equal(est.params_["embeddings"], table)


def test_language_model_takes_a_table_of_its_vocabulary_size():
    texts = ["abc abd", "bca cab"]
    lm = RNNLanguageModel(units=6, embedding_dim=4, max_iter=1, batch_size=2, random_state=0)
    V = lm.fit(texts).vocab_size_
    E = np.random.default_rng(0).normal(size=(V, 4))
    frozen = clone(lm).set_params(embedding_init=E, embedding_trainable=False).fit(texts)
    np.testing.assert_array_equal(frozen.params_["embeddings"], E.astype(np.float32))
    with pytest.raises(ValueError, match=rf"embedding_init has shape \(3, 4\).*\({V}, 4\)"):
        clone(lm).set_params(embedding_init=E[:3]).fit(texts)


def test_pretrained_vectors_end_to_end(tmp_path):
    words = ["good", "bad", "film", "plot"]
    vectors = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], np.float32)
    seq = TextSequencer(vocabulary=words, maxlen=4)
    texts = ["good film", "bad plot", "good plot", "bad film"] * 5
    labels = [1, 0, 1, 0] * 5
    E = embedding_matrix(seq.fit(texts), words, vectors)
    model = make_pipeline(seq, RNNClassifier(embedding_init=E, embedding_dim=2, units=4,
                                             embedding_trainable=False, max_iter=2, random_state=0))
    model.fit(texts, labels)
    np.testing.assert_array_equal(model[-1].params_["embeddings"], E)
    loaded = fastrnn.load(fastrnn.save(model, tmp_path / "p.fastrnn"))
    np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
