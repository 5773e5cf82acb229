"""RNNSequenceRegressor: a value per step, masked loss and gradients, the estimator contract."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastrnn
from _model import numeric_grad
from fastrnn import RNNSequenceRegressor
from fastrnn.layers import Recurrent, SequenceModel, pack_dense
from fastrnn.losses import sequence_mean_squared_error, sequence_r2

FAST = dict(units=5, max_iter=2, batch_size=8, random_state=0, dtype="float64")


@pytest.fixture(scope="module")
def ragged():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(n), 2)) for n in rng.integers(2, 10, size=24)]
    y = [np.cumsum(x[:, 0]) for x in X]
    return X, y


def _padded(seqs, side, fill=np.nan):
    T = max(len(s) for s in seqs)
    out = np.full((len(seqs), T) + seqs[0].shape[1:], fill)
    mask = np.zeros((len(seqs), T), dtype=bool)
    for i, s in enumerate(seqs):
        cols = slice(0, len(s)) if side == "post" else slice(T - len(s), T)
        out[i, cols] = s
        mask[i, cols] = True
    return out, mask


# ----------------------------------------------------------------- gradients
def _masked_net(cell, bidirectional, K):
    return SequenceModel.build("dense", 3, None, [Recurrent(cell, 3)], bidirectional, "sequence", K)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_masked_per_step_gradients_match_finite_differences(cell, bidirectional):
    """Masked float input (padding before, inside and after the real steps) and a loss at real
    steps only: the reference backend's gradients equal central differences."""
    rng = np.random.default_rng(5)
    B, T, K = 3, 6, 2
    net = _masked_net(cell, bidirectional, K)
    params = net.init_params(rng, np.float64)
    for w in net.weights(params):
        w += 0.3 * rng.normal(size=w.shape)
    X = rng.normal(size=(B, T, 3))
    mask = np.array([[0, 1, 1, 0, 1, 0], [1, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1]], dtype=bool)
    X[~mask] = 1e3  # never read: a padded step leaves the state unchanged
    y = np.where(mask[:, :, None], rng.normal(size=(B, T, K)), np.nan)
    wts = rng.random(B) + 0.5
    packed = pack_dense(X, mask)

    def loss():
        return sequence_mean_squared_error(net.forward(params, packed)[0], y, wts)[0]

    with fastrnn.use_backend("numpy"):
        out, cache = net.forward(params, packed, training=True)
        grads = net.backward(params, cache, sequence_mean_squared_error(out, y, wts)[1])
        for g, w in zip(net.weights(grads), net.weights(params)):
            num = numeric_grad(loss, w)
            np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8 + 1e-6 * np.abs(num).max())


def test_masked_loss_gradient_matches_finite_differences_and_ignores_padding():
    rng = np.random.default_rng(2)
    out = rng.normal(size=(3, 4, 2))
    y = rng.normal(size=(3, 4, 2))
    y[0, 3] = y[2, :2] = np.nan
    w = np.array([1.0, 0.5, 2.0])
    loss, grad = sequence_mean_squared_error(out, y, w)
    num = numeric_grad(lambda: sequence_mean_squared_error(out, y, w)[0], out)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-10)
    assert not grad[0, 3].any() and not grad[2, :2].any()
    keep = ~np.isnan(y[:, :, 0])
    step_w = np.broadcast_to(w[:, None], keep.shape)[keep]
    expected = (((out - y)[keep] ** 2).mean(axis=1) * step_w).sum() / step_w.sum()
    assert loss == pytest.approx(expected)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_backend_gradients_equal_the_reference_on_masked_input(cell):
    rng = np.random.default_rng(8)
    B, T, K = 5, 7, 2
    net = _masked_net(cell, True, K)
    params = net.init_params(rng, np.float64)
    X = rng.normal(size=(B, T, 3))
    mask = rng.random((B, T)) < 0.7
    mask[:, 3] = True
    y = np.where(mask[:, :, None], rng.normal(size=(B, T, K)), np.nan)
    w = np.ones(B)

    def grads():
        out, cache = net.forward(params, pack_dense(X, mask), training=True, n_threads=2)
        return out, net.weights(net.backward(params, cache, sequence_mean_squared_error(out, y, w)[1]))

    out, fast = grads()
    with fastrnn.use_backend("numpy"):
        ref_out, ref = grads()
    np.testing.assert_allclose(out, ref_out, rtol=1e-9, atol=1e-10)
    for g, r in zip(fast, ref):
        np.testing.assert_allclose(g, r, rtol=1e-8, atol=1e-10)


# ------------------------------------------------------------------ estimator
def test_ragged_in_list_out_padded_in_nan_padded_out(ragged):
    X, y = ragged
    model = RNNSequenceRegressor(**FAST).fit(X, y)
    pred = model.predict(X)
    assert isinstance(pred, list) and [p.shape for p in pred] == [(len(x),) for x in X]
    for side in ("pre", "post"):
        Xp, mask = _padded(X, side)
        padded = model.predict(Xp, mask=mask)
        assert padded.shape == mask.shape
        assert np.isnan(padded[~mask]).all()
        np.testing.assert_allclose(padded[mask], np.concatenate(pred), rtol=1e-6, atol=1e-8)
        yp, _ = _padded(y, side)
        assert model.score(Xp, yp, mask=mask) == pytest.approx(model.score(X, y))
    alone = [model.predict([x])[0] for x in X[:5]]
    for a, p in zip(alone, pred):
        np.testing.assert_allclose(a, p, rtol=1e-6, atol=1e-8)
    assert model.history_.keys() == {"loss", "r2"}


def test_padded_fit_equals_ragged_fit(ragged):
    X, y = ragged
    Xp, mask = _padded(X, "pre")
    yp, _ = _padded(y, "pre")
    a = RNNSequenceRegressor(**FAST).fit(X, y)
    b = RNNSequenceRegressor(**FAST).fit(Xp, yp, mask=mask)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-9)


def test_vector_targets_and_score_is_uniform_r2_over_real_steps(ragged):
    from sklearn.metrics import r2_score

    X, y = ragged
    Y = [np.column_stack([t, -2 * t]) for t in y]
    model = RNNSequenceRegressor(**FAST).fit(X, Y)
    assert model.n_outputs_ == 2 and model.y_ndim_ == 3
    pred = model.predict(X)
    assert [p.shape for p in pred] == [(len(x), 2) for x in X]
    expected = r2_score(np.concatenate(Y), np.concatenate(pred))
    assert model.score(X, Y) == pytest.approx(expected)
    assert sequence_r2(np.zeros((1, 2, 1)), np.array([[[1.0], [np.nan]]]), np.ones(1)) == 0.0


def test_save_load_clone_grid_search_and_validation_data(ragged, tmp_path):
    X, y = ragged
    model = RNNSequenceRegressor(**FAST).fit(X[:18], y[:18], validation_data=(X[18:], y[18:]))
    assert len(model.history_["val_r2"]) == 2
    path = fastrnn.save(model, tmp_path / "seq.frnn")
    loaded = fastrnn.load(path)
    for a, b in zip(model.predict(X), loaded.predict(X)):
        np.testing.assert_array_equal(a, b)
    assert clone(model).get_params() == model.get_params()
    search = GridSearchCV(RNNSequenceRegressor(**FAST), {"cell": ["gru", "simple"]}, cv=2).fit(X, y)
    assert search.best_params_["cell"] in ("gru", "simple")


def test_token_ids_and_equal_length_arrays():
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 6, size=(12, 5))
    ids[:4, :2] = 0
    y = ids.astype(float)
    model = RNNSequenceRegressor(**FAST).fit(ids, y)
    pred = model.predict(ids)
    assert pred.shape == ids.shape and np.isnan(pred[ids == 0]).all()
    dense = RNNSequenceRegressor(**FAST).fit(rng.normal(size=(10, 4)), rng.normal(size=(10, 4)))
    assert dense.predict(rng.normal(size=(3, 4))).shape == (3, 4)


@pytest.mark.parametrize("y, message", [
    (lambda y: [t[:-1] for t in y], r"y\[0\] has .* steps but X\[0\] has .* real steps"),
    (lambda y: np.zeros(len(y)), "one per sequence"),
    (lambda y: [np.where(np.arange(len(t)) == 0, np.nan, t) for t in y], "NaN or infinity at a real"),
    (lambda y: _padded(y, "post", 0.0)[0], "list of sequences of different lengths"),
    # rows of a padded y, given as a list: which end is padding is unknown for a ragged X
    (lambda y: list(_padded(y, "pre", 0.0)[0]), r"y\[\d+\] has .* steps but X\[\d+\] has"),
    (lambda y: y[:-1], "different numbers of samples"),
    (lambda y: _padded(y, "post", 0.0)[0][:-1], "different numbers of samples"),
    (lambda y: None, "requires y"),
])
def test_bad_targets_name_y(ragged, y, message):
    X, targets = ragged
    with pytest.raises(ValueError, match=message):
        RNNSequenceRegressor(**FAST).fit(X, y(targets))


def test_continued_training_refuses_y_of_the_other_form(ragged):
    X, y = ragged
    column = [t[:, None] for t in y]  # the same values, as vectors of one output
    model = RNNSequenceRegressor(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="y holds a vector per step .*, but the model was fitted "
                                         "on y holding one value per step"):
        model.partial_fit(X, column)
    warm = RNNSequenceRegressor(warm_start=True, **FAST).fit(X, column)
    with pytest.raises(ValueError, match="y holds one value per step .*, but the model was fitted "
                                         "on y holding a vector per step"):
        warm.fit(X, y)
    assert warm.y_ndim_ == 3 and warm.n_iter_ == 2
    assert warm.predict(X)[0].shape == (len(X[0]), 1)


def test_nan_targets_at_padded_steps_are_ignored(ragged):
    X, y = ragged
    Xp, mask = _padded(X, "post")
    yp, _ = _padded(y, "post")  # NaN at padding
    model = RNNSequenceRegressor(**FAST).fit(Xp, yp, mask=mask)
    assert np.isfinite(model.loss_curve_).all()


# ------------------------------------------------------ scikit-learn's common checks
class _SequenceRegressorUnderCommonChecks(RNNSequenceRegressor):
    """The sequence regressor as scikit-learn's common checks can drive it.

    The checks give one target (or row of targets) per sample; here it is
    repeated at every step of its sequence (``fit``, ``score``), and
    ``predict`` returns the last step's value.  Everything else (validation,
    sample weights, cloning, pickling, refits, fitted attributes) is the
    estimator's own.
    """

    @staticmethod
    def _per_step(X, y):
        shape = np.shape(np.asarray(X)) if not hasattr(X, "tocsr") else ()
        y = np.asarray(y) if y is not None else None
        if y is None or y.ndim not in (1, 2) or len(shape) != 2 or len(y) != shape[0]:
            return y  # left to the estimator to refuse
        return np.repeat(y[:, None], shape[1], axis=1)

    def fit(self, X, y, sample_weight=None):
        return super().fit(X, self._per_step(X, y), sample_weight)

    def partial_fit(self, X, y, sample_weight=None):
        return super().partial_fit(X, self._per_step(X, y), sample_weight)

    def score(self, X, y, sample_weight=None):
        return super().score(X, self._per_step(X, y), sample_weight)

    def predict(self, X):
        return super().predict(X)[:, -1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.single_output = True
        return tags


SEQUENCE_REGRESSOR_EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data":
        "float32 training: a sample repeated twice and a sample weighted 2 give the same loss "
        "up to rounding (about 1e-7 relative), which the training steps carry beyond the "
        "check's tolerance (with dtype='float64' it passes); on larger data the two also fall "
        "into different mini-batches",
    "check_methods_sample_order_invariance":
        "float32 matrix products round differently (~1e-7) depending on a row's position in the "
        "batch on some CPUs' BLAS kernels; the check demands 1e-7",
}


@parametrize_with_checks([_SequenceRegressorUnderCommonChecks(units=8, random_state=0)],
                         expected_failed_checks=lambda est: SEQUENCE_REGRESSOR_EXPECTED_FAILED_CHECKS)
def test_sequence_regressor_passes_the_common_checks(estimator, check):
    check(estimator)


def test_command_line_predict_refuses_a_per_step_regressor(ragged, tmp_path, capsys):
    from fastrnn.cli import main

    X, y = ragged
    path = fastrnn.save(RNNSequenceRegressor(**FAST).fit(X, y), tmp_path / "seq.frnn")
    inputs = tmp_path / "X.npz"
    np.savez(inputs, x=np.ones((2, 3), dtype=np.int64))
    assert main(["predict", str(path), str(inputs)]) == 2
    assert "per-step regressor: use it from Python" in capsys.readouterr().err


def test_a_batch_or_a_score_of_padding_only():
    """A mini-batch of padding only crashed training (r2 of no steps: 'cannot reshape')."""
    X, y = np.array([[0, 0, 0], [1, 2, 3]]), np.array([[np.nan] * 3, [0.1, 0.2, 0.3]])
    model = RNNSequenceRegressor(units=3, max_iter=1, batch_size=1, shuffle=False,
                                 random_state=0).fit(X, y)
    assert np.isfinite(model.history_["loss"]).all()
    with pytest.raises(ValueError, match="no real step to score"):
        model.score(X[:1], y[:1])


def test_ragged_token_ids_refuse_targets_padded_by_hand():
    """As for the tagger: y rows as long as the longest sequence passed and trained on targets
    shifted against the tokens."""
    X = [[1, 2], [3, 4, 5]]
    for Y in ([[0.1, 0.2, 0.0], [0.3, 0.4, 0.5]], np.array([[0.1, 0.2, 0.0], [0.3, 0.4, 0.5]])):
        with pytest.raises(ValueError, match=r"y row 0 has 3 targets but X\[0\] has 2 steps"):
            RNNSequenceRegressor(**FAST).fit(X, Y)
    good = [[0.1, 0.2], [0.3, 0.4, 0.5]]
    model = RNNSequenceRegressor(**FAST).fit(X, good)
    with pytest.raises(ValueError, match="y row 0 has 3 targets"):
        model.score(X, [[0.1, 0.2, 0.0], [0.3, 0.4, 0.5]])
    assert np.isfinite(model.score(X, good))


def test_score_of_one_real_step_is_undefined_as_r2_score_says():
    """0.0 where r2_score (and RNNRegressor.score) give NaN with UndefinedMetricWarning."""
    from sklearn.exceptions import UndefinedMetricWarning

    rng = np.random.default_rng(0)
    X = [rng.normal(size=n) for n in (4, 6, 5)]
    model = RNNSequenceRegressor(**FAST).fit(X, [2 * x for x in X])
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(model.score([np.array([0.3])], [np.array([1.0])]))


def test_targets_beyond_float32_are_refused_by_name():
    from fastrnn import RNNRegressor

    X = np.random.default_rng(0).normal(size=(16, 5, 2))
    with pytest.raises(ValueError, match="y holds values beyond the range of float32"):
        RNNRegressor(units=4, max_iter=1, n_threads=1).fit(X, X[:, -1, 0] * 1e39)
    with pytest.raises(ValueError, match="y holds values beyond the range of float32"):
        RNNSequenceRegressor(units=4, max_iter=1, n_threads=1).fit(X, X[:, :, 0] * 1e39)
