"""Weights interchangeable with Keras: layout, forward, one SGD step, summary counts.

Expected values come from ``_keras_numpy`` (an independent naive model of the
Keras network) and its finite-difference gradients, not from fastrnn.
"""

import numpy as np
import pytest

from _keras_numpy import keras_loss, keras_predict_proba
from _model import numeric_grad
from fastrnn import RNNClassifier

V, E, H = 12, 3, 4


def _data(rng, n=10, T=6, n_classes=2):
    ids = rng.integers(1, V, size=(n, T))
    ids[rng.random((n, T)) < 0.3] = 0  # padding anywhere: masked like mask_zero=True
    ids[:, -1] = rng.integers(1, V, size=n)
    ids[0, :] = 0
    ids[0, 2] = V - 1  # make sure vocab_size infers to V
    y = np.arange(n) % n_classes
    return ids, y


def _random_keras_weights(rng, clf):
    return [rng.normal(scale=0.5, size=w.shape) for w in clf.get_weights()]


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
@pytest.mark.parametrize("dtype,tol", [("float64", 1e-10), ("float32", 1e-6)])
def test_predict_proba_equals_keras_given_the_same_weights(rng, cell, n_classes, dtype, tol):
    ids, y = _data(rng, n_classes=n_classes)
    clf = RNNClassifier(cell=cell, units=H, embedding_dim=E, max_iter=1, random_state=0,
                        dtype=dtype).fit(ids, y)
    weights = _random_keras_weights(rng, clf)
    clf.set_weights(weights)
    expected = keras_predict_proba([w.astype(dtype).astype(np.float64) for w in weights], ids, cell, H)
    np.testing.assert_allclose(clf.predict_proba(ids), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_one_full_batch_sgd_epoch_moves_weights_like_keras(rng, cell):
    ids, y = _data(rng)
    lr = 0.1
    clf = RNNClassifier(cell=cell, units=H, embedding_dim=E, optimizer="sgd", momentum=0.0,
                        learning_rate=lr, batch_size=len(ids), shuffle=False, max_iter=1,
                        warm_start=True, dtype="float64", random_state=0).fit(ids, y)
    weights = _random_keras_weights(rng, clf)
    clf.set_weights(weights)
    clf.fit(ids, y)
    for k, w in enumerate(weights):
        grad = numeric_grad(lambda: keras_loss(weights, ids, y, cell, H), w)
        np.testing.assert_allclose(clf.get_weights()[k], w - lr * grad, rtol=1e-7, atol=1e-9,
                                   err_msg=f"weight {k}")


def test_weight_layout_matches_keras():
    rng = np.random.default_rng(0)
    ids, y = _data(rng)
    shapes = {
        "simple": [(V, E), (E, H), (H, H), (H,), (H, 1), (1,)],
        "lstm": [(V, E), (E, 4 * H), (H, 4 * H), (4 * H,), (H, 1), (1,)],
        "gru": [(V, E), (E, 3 * H), (H, 3 * H), (2, 3 * H), (H, 1), (1,)],
    }
    for cell, expected in shapes.items():
        clf = RNNClassifier(cell=cell, units=H, embedding_dim=E, max_iter=1).fit(ids, y)
        assert [w.shape for w in clf.get_weights()] == expected
    bi = RNNClassifier(cell="gru", units=(H, 2), reset_after=False, bidirectional=True,
                       embedding_dim=E, max_iter=1).fit(ids, y)
    assert [w.shape for w in bi.get_weights()] == [
        (V, E),
        (E, 3 * H), (H, 3 * H), (3 * H,), (E, 3 * H), (H, 3 * H), (3 * H,),  # forward, backward
        (2 * H, 6), (2, 6), (6,), (2 * H, 6), (2, 6), (6,),
        (4, 1), (1,)]


def _counts(clf):
    rows = [row.split() for row in clf.summary().splitlines() if "(" in row]
    return [r[-1].replace(",", "") for r in rows if r[-1].replace(",", "").isdigit()]


@pytest.mark.parametrize("kwargs,X_shape,n_classes,expected", [
    (dict(cell="simple", units=32, embedding_dim=32, vocab_size=10000), (4, 5), 2,
     [320000, 2080, 33]),
    (dict(cell="simple", units=32, input_encoding="onehot", vocab_size=100), (4, 5), 2, [4256, 33]),
    (dict(cell="simple", units=8, embedding_dim=32, vocab_size=1000), (4, 5), 2, [32000, 328, 9]),
    (dict(cell="lstm", units=32, embedding_dim=2, vocab_size=10000), (4, 5), 2, [20000, 4480, 33]),
    (dict(cell="lstm", units=8, embedding_dim=16, vocab_size=500), (4, 5), 2, [8000, 800, 9]),
    (dict(cell="gru", units=8, embedding_dim=16, vocab_size=500), (4, 5), 2, [8000, 624, 9]),
    (dict(cell="gru", units=(256, 128), embedding_dim=256, vocab_size=10000), (92, 2), 46,
     [2560000, 394752, 148224, 5934]),
    (dict(cell="lstm", units=4, embedding_dim=8, vocab_size=300, head="flatten"), (4, 20), 2,
     [2400, 208, 0, 81]),
])
def test_summary_parameter_counts_equal_the_tutorials(kwargs, X_shape, n_classes, expected):
    rng = np.random.default_rng(0)
    X = rng.integers(1, 50, size=X_shape)
    y = np.arange(X_shape[0]) % n_classes
    clf = RNNClassifier(max_iter=1, batch_size=64, **kwargs).fit(X, y)
    assert [int(c) for c in _counts(clf)] == expected
    assert clf.count_params() == sum(expected)
    assert f"Total params: {sum(expected):,}" in clf.summary()


def _padded_rows():
    X = np.array([[3, 4, 5, 0, 0, 0], [0, 0, 6, 7, 8, 9], [2, 0, 3, 0, 4, 5], [1, 2, 3, 4, 5, 6]])
    return X, np.array([0, 1, 0, 1])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bidirectional_per_step_outputs_are_zero_at_padding_as_keras(cell):
    """Keras's Bidirectional sets zero_output_for_mask: its per-step outputs at padded positions
    are zeros.  They repeated the last real step's, so head="flatten" on padded rows read other
    features than Keras (logits up to 2.2 apart) and the tagger predicted from them."""
    from fastrnn import RNNSequenceTagger

    X, y = _padded_rows()
    real = X != 0
    clf = RNNClassifier(cell=cell, units=3, embedding_dim=4, bidirectional=True, head="flatten",
                        max_iter=2, random_state=0).fit(X, y)
    feats = clf.transform(X).reshape(len(X), X.shape[1], -1)
    assert (feats[~real] == 0).all() and (np.abs(feats[real]).sum(axis=-1) > 0).all()
    # a real position's outputs do not depend on where the padding is
    pre = np.array([[0, 0, 0, 3, 4, 5]])
    np.testing.assert_allclose(clf.transform(pre).reshape(6, -1)[3:], feats[0, :3], atol=1e-6)
    one_way = RNNClassifier(cell=cell, units=3, embedding_dim=4, head="flatten", max_iter=1,
                            random_state=0).fit(X, y).transform(X).reshape(len(X), 6, -1)
    np.testing.assert_array_equal(one_way[0, 3], one_way[0, 2])  # one direction repeats (Keras)
    tagger = RNNSequenceTagger(cell=cell, units=3, embedding_dim=4, bidirectional=True,
                               max_iter=2, random_state=0).fit(X, np.where(real, X % 2, 0))
    bias = tagger.get_weights()[-1]
    np.testing.assert_allclose(tagger.predict_proba(X)[~real],
                               np.broadcast_to(np.exp(bias) / np.exp(bias).sum(),
                                               ((~real).sum(), len(bias))), rtol=1e-6)


def test_a_model_file_without_the_padding_setting_keeps_its_repeated_outputs(tmp_path):
    """A bidirectional flatten model saved before padded steps output zeros was trained on the
    repeated outputs: loading it must not change its predictions."""
    import fastrnn

    X, y = _padded_rows()
    clf = RNNClassifier(cell="gru", units=3, embedding_dim=4, bidirectional=True, head="flatten",
                        max_iter=1, random_state=0).fit(X, y)
    assert clf.padding_outputs_ == "zeros"
    zeros = clf.predict_proba(X)
    del clf.padding_outputs_  # as in such a file
    repeat = clf.predict_proba(X)
    assert not np.allclose(zeros, repeat)  # the padded rows read other features
    np.testing.assert_array_equal(repeat[3], zeros[3])  # the unpadded row does not
    fastrnn.save(clf, tmp_path / "old.fastrnn")
    np.testing.assert_array_equal(fastrnn.load(tmp_path / "old.fastrnn").predict_proba(X), repeat)
    assert clf.fit(X, y).padding_outputs_ == "zeros"  # a fit from scratch is Keras's again
