"""RNNSequenceTagger: per-token labels, padding ignored, the estimator contract."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastrnn
from fastrnn import RNNSequenceTagger
from fastrnn.datasets import make_bracket_tagging

FAST = dict(units=4, embedding_dim=3, max_iter=2, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def brackets():
    return make_bracket_tagging(n_samples=1500, n_timesteps=16, random_state=0)


def test_bracket_task_needs_memory():
    X, Y = make_bracket_tagging(n_samples=400, n_timesteps=16, random_state=1)
    for x, y in zip(X, Y):
        inside = False
        for token, label in zip(x, y):
            if token == 2:
                assert inside and label == 0
                inside = False
            elif token == 1:
                assert not inside and label == 0
                inside = True
            else:
                assert label == inside
    # the best rule that looks only at the current token is "predict 0"
    words = (X >= 3)
    assert 0.25 < Y[words].mean() < 0.5


@pytest.mark.parametrize("cell,bidirectional", [("lstm", False), ("gru", True)])
def test_learns_to_tag_tokens_inside_brackets(brackets, cell, bidirectional):
    X, Y = brackets
    tagger = RNNSequenceTagger(cell=cell, units=16, embedding_dim=8, learning_rate=0.01,
                               max_iter=8, bidirectional=bidirectional, random_state=0)
    tagger.fit(X[:1200], Y[:1200])
    assert tagger.score(X[1200:], Y[1200:]) > 0.97
    assert tagger.predict(X[1200:]).shape == Y[1200:].shape
    proba = tagger.predict_proba(X[1200:1210])
    assert proba.shape == (10, 16, 2)
    np.testing.assert_allclose(proba.sum(axis=2), 1.0, rtol=1e-6)
    assert tagger.history_["accuracy"][-1] > tagger.history_["accuracy"][0]


def test_padding_positions_are_ignored(brackets):
    """Labels under padding do not matter, and pre/post padding give the same per-token output."""
    X, Y = brackets
    X, Y = X[:200].copy(), Y[:200].copy()
    lengths = np.random.default_rng(0).integers(4, 17, size=len(X))
    pre_X, pre_Y = np.zeros_like(X), np.full(Y.shape, 7)
    post_X, post_Y = np.zeros_like(X), np.full(Y.shape, -3)
    for i, n in enumerate(lengths):
        pre_X[i, -n:], pre_Y[i, -n:] = X[i, :n], Y[i, :n]
        post_X[i, :n], post_Y[i, :n] = X[i, :n], Y[i, :n]
    a = RNNSequenceTagger(**FAST).fit(pre_X, pre_Y)
    b = RNNSequenceTagger(**FAST).fit(post_X, post_Y)
    assert list(a.classes_) == list(b.classes_) == [0, 1]
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    pa, pb = a.predict_proba(pre_X), b.predict_proba(post_X)
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(pa[i, -n:], pb[i, :n], rtol=1e-5, atol=1e-6)
    assert a.score(pre_X, pre_Y) == pytest.approx(b.score(post_X, post_Y))


def test_string_labels_and_ragged_lists():
    X = [[3, 4, 5], [6, 7], [3, 3, 4, 4]]
    Y = [["DET", "NOUN", "VERB"], ["NOUN", "VERB"], ["DET", "DET", "NOUN", "NOUN"]]
    tagger = RNNSequenceTagger(**FAST).fit(X, Y)
    assert list(tagger.classes_) == ["DET", "NOUN", "VERB"]
    pred = tagger.predict(X)
    assert pred.shape == (3, 4) and set(pred.ravel()) <= {"DET", "NOUN", "VERB"}
    assert 0.0 <= tagger.score(X, Y) <= 1.0


def test_save_load_grid_search_and_clone(brackets, tmp_path):
    X, Y = brackets
    tagger = RNNSequenceTagger(**FAST).fit(X[:300], Y[:300])
    loaded = fastrnn.load(tagger.save(tmp_path / "tagger.fastrnn"))
    np.testing.assert_array_equal(loaded.predict_proba(X[:50]), tagger.predict_proba(X[:50]))
    assert "head" not in tagger.get_params()
    search = GridSearchCV(RNNSequenceTagger(**FAST), {"cell": ["lstm", "gru"]},
                          cv=KFold(3)).fit(X[:300], Y[:300])
    assert set(search.cv_results_["param_cell"]) == {"lstm", "gru"}
    assert clone(tagger).get_params() == tagger.get_params()


def test_early_stopping_and_summary(brackets):
    X, Y = brackets
    tagger = RNNSequenceTagger(**{**FAST, "max_iter": 30}, learning_rate=0.02,
                               early_stopping=True, n_iter_no_change=2).fit(X[:600], Y[:600])
    assert "val_accuracy" in tagger.history_ and tagger.n_iter_ < 30
    summary = tagger.summary()
    assert "TimeDistributed(Dense)" in summary and "(None, 16, 2)" in summary


@pytest.mark.parametrize("Y, message", [
    (np.zeros((4, 5)), "one label per step"),
    (np.zeros((4, 6)), "only 1 class"),
    ([[1, 0], [0, 1, 1, 0, 1], [1], [0]], r"y row 0 has 2 targets but X\[0\] has 6 steps"),
    ([[1, 0, 1, 0, 1, None], [0, 1, 1, 0, 1, 0], [1, 0, 1, 0, 1, 0], [0]],
     r"no label for row 0, step 5, a token of X: a label is None there"),
])
def test_bad_targets_raise_clear_errors(Y, message):
    X = [[3, 4, 5, 6, 7, 8]] * 3 + [[3]]
    X = np.array([[3, 4, 5, 6, 7, 8]] * 4) if isinstance(Y, np.ndarray) else X
    with pytest.raises(ValueError, match=message):
        RNNSequenceTagger(**FAST).fit(X, Y)


def test_ragged_ids_refuse_labels_padded_by_hand():
    # padded by hand, y passed the shape check and trained on labels shifted against the tokens
    X = [[1, 2], [3, 4, 5]]
    padded = [["A", "B", "PAD"], ["A", "B", "C"]]
    for Y in (padded, np.array([[7, 8, 9], [7, 8, 9]])):
        with pytest.raises(ValueError, match=r"y row 0 has 3 targets but X\[0\] has 2 steps"):
            RNNSequenceTagger(**FAST).fit(X, Y)
    good = [["A", "B"], ["A", "B", "C"]]
    tagger = RNNSequenceTagger(**FAST).fit(X, good)
    for call in (lambda: tagger.score(X, padded),
                 lambda: tagger.partial_fit(X, padded),
                 lambda: RNNSequenceTagger(**FAST).fit(X, good, validation_data=(X, padded))):
        with pytest.raises(ValueError, match="y row 0 has 3 targets"):
            call()
    assert 0.0 <= tagger.score(X, good) <= 1.0


@pytest.mark.parametrize("Y, message", [
    (np.random.default_rng(0).normal(size=(4, 3)), "Unknown label type: continuous"),
    (np.array([[1, "a", 1]] * 4, dtype=object), "mixes string and non-string labels"),
])
def test_regression_and_mixed_targets_refused(Y, message):
    X = np.array([[1, 2, 3], [4, 5, 6], [1, 5, 6], [2, 2, 2]])
    with pytest.raises(ValueError, match=message):
        RNNSequenceTagger(**FAST).fit(X, Y)


@pytest.mark.parametrize("classes, message", [
    ([0], r"classes holds 1 class \(\[0\]\)"),
    (["0", "1"], r"y holds labels at token positions that are not in classes: \[0, 1\]"),
])
def test_partial_fit_first_classes_named(classes, message):
    X = np.array([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match=message):
        RNNSequenceTagger(**FAST).partial_fit(X, [[0, 1, 0]] * 2, classes=classes)


def test_unfitted_and_unseen_labels(brackets):
    X, Y = brackets
    with pytest.raises(NotFittedError):
        RNNSequenceTagger().predict(X)
    tagger = RNNSequenceTagger(**FAST).fit(X[:100], Y[:100])
    with pytest.raises(ValueError, match="not seen"):
        tagger.score(X[:10], Y[:10] + 5)
    with pytest.raises(ValueError, match="fitted on token ids but X holds float"):
        tagger.predict(np.random.default_rng(0).normal(size=(5, 4, 2)))


class _TaggerUnderCommonChecks(RNNSequenceTagger):
    """The tagger as scikit-learn's common checks can drive it.

    The checks give one label per sample; here that label is repeated at every
    step of its sequence (``fit``, ``score``), and ``predict`` returns the last
    step's label.  Their data knows no padding, so integer arrays are read
    with every id moved up by one (the checks' id 0 is not padding).
    Everything else (validation, sample weights, cloning, pickling, refits,
    fitted attributes) is the tagger's own.
    """

    @staticmethod
    def _ids(X):
        return X + 1 if isinstance(X, np.ndarray) and X.dtype.kind in "iu" and X.min() >= 0 else X

    @staticmethod
    def _per_step(X, y):
        shape = np.shape(np.asarray(X)) if not hasattr(X, "tocsr") else ()
        y = np.asarray(y) if y is not None else None
        if y is None or y.ndim != 1 or len(shape) != 2:
            return y  # left to the tagger to refuse
        return np.repeat(y.reshape(len(y), 1), shape[1], axis=1)

    def fit(self, X, y, sample_weight=None):
        return super().fit(self._ids(X), self._per_step(X, y), sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        return super().partial_fit(self._ids(X), self._per_step(X, y), classes, sample_weight)

    def score(self, X, y, sample_weight=None):
        return super().score(self._ids(X), self._per_step(X, y), sample_weight)

    def predict(self, X):
        return super().predict(self._ids(X))[:, -1]

    def predict_proba(self, X):
        return super().predict_proba(self._ids(X))[:, -1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = False
        tags.target_tags.single_output = True
        return tags


# Common checks that do not apply to a tagger, with the reason.
TAGGER_EXPECTED_FAILED_CHECKS = {
    "check_n_features_in_after_fitting":
        "the check calls partial_fit without classes, which the tagger needs on its first call "
        "(as SGDClassifier does); scikit-learn passes them to classifiers only, and a tagger, "
        "with one label per step, is not one to it",
}


@parametrize_with_checks([_TaggerUnderCommonChecks(units=8, random_state=0)],
                         expected_failed_checks=lambda est: TAGGER_EXPECTED_FAILED_CHECKS)
def test_tagger_passes_the_common_checks_that_apply_to_token_input(estimator, check):
    check(estimator)


def test_fit_takes_y_by_keyword_and_score_checks_its_weights(brackets):
    X, Y = brackets
    tagger = RNNSequenceTagger(**FAST).fit(X[:100], y=Y[:100])
    assert tagger.n_iter_ == 2
    with pytest.raises(ValueError, match="one label per step of X.*1-D"):
        RNNSequenceTagger(**FAST).fit(X[:100], Y[:100, -1])
    with pytest.raises(ValueError, match="sample_weight"):
        tagger.score(X[:10], Y[:10], sample_weight=np.ones(9))
    with pytest.raises(ValueError, match="sample_weight"):
        tagger.score(X[:10], Y[:10], sample_weight=np.r_[np.nan, np.ones(9)])
    with pytest.raises(ValueError, match="sample_weight"):
        tagger.score(X[:10], Y[:10], sample_weight=np.r_[-1.0, np.ones(9)])
    weights = np.r_[np.zeros(5), np.ones(5)]
    assert tagger.score(X[:10], Y[:10], sample_weight=weights) == tagger.score(X[5:10], Y[5:10])


def test_sample_weight_only_on_all_padding_sequences_is_refused():
    rng = np.random.default_rng(0)
    X = rng.integers(1, 20, size=(40, 10))
    Y = (X > 10).astype(int)
    X[:20] = 0
    w = np.zeros(40)
    w[:20] = 1
    with pytest.raises(ValueError, match="sample_weight is 0 for every sequence that has a real step"):
        RNNSequenceTagger(units=4, embedding_dim=3, max_iter=1, n_threads=1).fit(X, Y, sample_weight=w)
