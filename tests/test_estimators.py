"""RNNClassifier / RNNRegressor: the scikit-learn contract, training behaviour and bad input."""

import copy
import pickle
import sys

import os
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.multiclass import type_of_target

import fastrnn
from fastrnn import RNNClassifier, RNNRegressor
from fastrnn.callbacks import Callback
from fastrnn.datasets import make_long_range_task

FAST = dict(units=4, embedding_dim=3, max_iter=2, batch_size=16, random_state=0)

# Checks that do not hold for a mini-batch-trained float32 model, with the reason (repeated in
# docs/guide/sklearn.rst).
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data":
        "float32 training: a sample repeated twice and a sample weighted 2 give the same loss "
        "up to rounding (about 1e-7 relative), which the training steps carry beyond the "
        "check's tolerance (with dtype='float64' it passes); on larger data the two also fall "
        "into different mini-batches",
    "check_methods_sample_order_invariance":
        "float32 matrix products round differently (~1e-7) depending on a row's position in the "
        "batch; the check demands 1e-7",
}


def _small_clf(**kw):
    return RNNClassifier(**{**FAST, **kw})


@parametrize_with_checks(
    [RNNClassifier(units=8, random_state=0), RNNRegressor(units=8, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("cls", [RNNClassifier, RNNRegressor], ids=lambda c: c.__name__)
def test_sample_weight_equivalence_holds_in_float64(cls):
    """The exemption above is float32 rounding: the same check passes in float64."""
    from sklearn.utils.estimator_checks import check_sample_weight_equivalence_on_dense_data

    check_sample_weight_equivalence_on_dense_data(cls.__name__,
                                                  cls(units=8, random_state=0, dtype="float64"))


@pytest.fixture(scope="module")
def task():
    X, y = make_long_range_task(n_samples=240, n_timesteps=8, distance=5, random_state=1)
    return X, y


def test_fit_predict_with_string_labels(task):
    X, y = task
    labels = np.array(["neg", "pos"])[y]
    clf = _small_clf().fit(X, labels)
    assert list(clf.classes_) == ["neg", "pos"]
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= {"neg", "pos"}
    assert clf.decision_function(X).shape == (len(X),)
    assert 0.0 <= clf.score(X, labels) <= 1.0
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    assert set(clf.history_) == {"loss", "accuracy"}


def test_multiclass_softmax_head(rng):
    X = rng.integers(1, 10, size=(90, 6))
    y = X[:, -1] % 3
    clf = _small_clf(max_iter=3).fit(X, y)
    assert clf.predict_proba(X).shape == (90, 3)
    assert clf.decision_function(X).shape == (90, 3)
    assert clf.get_weights()[-1].shape == (3,)


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_learns_the_long_range_task(cell):
    X, y = make_long_range_task(n_samples=2000, n_timesteps=10, distance=5, random_state=0)
    clf = RNNClassifier(cell=cell, units=16, embedding_dim=8, max_iter=10, learning_rate=0.01,
                        batch_size=64, random_state=0).fit(X[:1500], y[:1500])
    assert clf.score(X[1500:], y[1500:]) > 0.95


def test_same_seed_gives_bit_identical_models(task):
    X, y = task
    a = _small_clf(dropout=0.2, recurrent_dropout=0.2).fit(X, y)
    b = _small_clf(dropout=0.2, recurrent_dropout=0.2).fit(X, y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = _small_clf(random_state=1).fit(X, y)
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_pickle_round_trip_and_across_backends(task):
    X, y = task
    clf = _small_clf().fit(X, y)
    blob = pickle.dumps(clf)
    assert b"numba" not in blob and b"CPUDispatcher" not in blob
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    for backend in fastrnn.AVAILABLE_BACKENDS:
        with fastrnn.use_backend(backend):
            np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X), rtol=1e-5,
                                       atol=1e-6)


def test_pipeline_grid_search_and_cross_validation(task):
    X, y = task
    pipe = make_pipeline(FunctionTransformer(), _small_clf())
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,)
    search = GridSearchCV(_small_clf(), {"cell": ["simple", "gru"], "units": [2, 4]}, cv=2,
                          n_jobs=2).fit(X, y)
    assert set(search.cv_results_["param_cell"]) == {"simple", "gru"}
    assert clone(search.best_estimator_).get_params()["units"] in (2, 4)


@pytest.mark.parametrize("kw", [
    dict(cell="gru", reset_after=False),
    dict(cell="simple", head="flatten"),
    dict(cell="lstm", head="mean", bidirectional=True),
    dict(cell="gru", head="max", units=(3, 2)),
    dict(cell="lstm", units=(3, 3), bidirectional=True, dropout=0.3, recurrent_dropout=0.3),
    dict(cell="lstm", input_encoding="onehot"),
    dict(cell="simple", bptt_truncate=3, optimizer="sgd", momentum=0.9, nesterov=True),
    dict(cell="gru", optimizer="rmsprop", clipnorm=1.0, clipvalue=0.5, alpha=1e-3),
    dict(cell="lstm", optimizer="adamw", dtype="float64"),
])
def test_configurations_train_and_predict(task, kw):
    X, y = task
    clf = _small_clf(**kw).fit(X, y)
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    assert clf.loss_curve_[-1] < clf.loss_curve_[0] + 0.05


def test_ragged_lists_are_pre_padded(task):
    seqs = [[3, 4, 5], [6, 7], [8]] * 10
    y = [0, 1, 0] * 10
    clf = _small_clf().fit(seqs, y)
    padded = fastrnn.pad_sequences(seqs)
    np.testing.assert_array_equal(clf.predict_proba(seqs), clf.predict_proba(padded))
    # post-padding the same sequences changes nothing either (padding is masked)
    np.testing.assert_allclose(clf.predict_proba(fastrnn.pad_sequences(seqs, padding="post")),
                               clf.predict_proba(padded), rtol=1e-6)


def test_early_stopping_validation_and_history(task):
    X, y = task
    clf = _small_clf(max_iter=50, early_stopping=True, n_iter_no_change=2, learning_rate=0.05)
    clf.fit(X, y)
    assert clf.n_iter_ < 50
    # with early stopping, lr_schedule="auto" lowers the rate on a plateau, and logs it
    assert set(clf.history_) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    lr = clf.history_["lr"]
    assert lr[0] == 0.05 and all(b <= a for a, b in zip(lr, lr[1:]))
    assert clf.validation_scores_ == clf.history_["val_accuracy"]
    assert clf.best_epoch_ == int(np.argmin(clf.history_["val_loss"]))
    # the restored weights are the best epoch's: re-evaluating gives its validation loss back
    X_val, y_val = X[:40], y[:40]
    clf2 = _small_clf(max_iter=6, early_stopping=True, n_iter_no_change=1, learning_rate=0.05)
    clf2.fit(X[40:], y[40:], validation_data=(X_val, y_val))
    proba = np.clip(clf2.predict_proba(X_val)[:, 1], 1e-12, 1 - 1e-12)
    val_loss = -np.mean(y_val * np.log(proba) + (1 - y_val) * np.log(1 - proba))
    assert val_loss == pytest.approx(min(clf2.history_["val_loss"]), rel=1e-4)


def test_warm_start_and_partial_fit_continue_training(task):
    X, y = task
    clf = _small_clf(warm_start=True)
    clf.fit(X, y)
    first = clf.get_weights()
    clf.fit(X, y)
    assert clf.n_iter_ == 4 and len(clf.loss_curve_) == 4
    assert not np.array_equal(first[1], clf.get_weights()[1])
    inc = _small_clf()
    inc.partial_fit(X[:100], y[:100], classes=[0, 1])
    inc.partial_fit(X[100:], y[100:])
    assert inc.n_iter_ == 2
    with pytest.raises(ValueError, match="not seen"):
        inc.partial_fit(X[:10], np.full(10, 7))
    with pytest.raises(ValueError, match="classes must be passed"):
        _small_clf().partial_fit(X, y)
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\] differs from the classes the "
                                         r"model was fitted with, \[0, 1\]"):
        inc.partial_fit(X[:10], y[:10], classes=[0, 1, 2])
    inc.partial_fit(X[:10], y[:10], classes=[1, 0])  # the same classes in another order
    # a first call's classes are named when they are the problem (the message spoke of y)
    with pytest.raises(ValueError, match=r"classes holds 1 class \(\[0\]\)"):
        _small_clf().partial_fit(X, y, classes=[0])
    with pytest.raises(ValueError, match=r"y holds labels that are not in classes: \[0, 1\]"):
        _small_clf().partial_fit(X, y, classes=[2, 3])
    with pytest.raises(ValueError, match="^validation_data: X holds token id"):
        _small_clf().fit(X, y, validation_data=(X[:5] + 1000, y[:5]))


@pytest.mark.parametrize("change", [dict(units=8), dict(cell="gru"), dict(bidirectional=True),
                                    dict(embedding_dim=5), dict(dtype="float64"),
                                    dict(units=(4, 4))])
def test_a_structure_changed_after_fit_is_refused_before_the_kernels_run(change, task):
    """set_params after fit: predicting, inspecting or warm-starting with weights of another shape
    raises a clear error (the kernels trust the shapes: it corrupted memory)."""
    X, y = task
    clf = _small_clf(warm_start=True, max_iter=1).fit(X, y)
    expected = clf.predict_proba(X)
    clf.set_params(**change)
    for call in (lambda: clf.predict(X), lambda: clf.fit(X, y), clf.get_weights, clf.summary,
                 lambda: clf.transform(X)):
        with pytest.raises(ValueError, match="fitted weights do not fit the network"):
            call()
    clf.set_params(**{k: _small_clf().get_params()[k] for k in change})  # back: as it was
    np.testing.assert_array_equal(clf.predict_proba(X), expected)
    for name, value in change.items():  # set as an attribute, after a prediction passed the check
        setattr(clf, name, value)
    with pytest.raises(ValueError, match="fitted weights do not fit the network"):
        clf.predict(X)


def test_float_input_beyond_float32_and_too_few_samples_to_split_are_refused_by_name():
    X = np.ones((4, 3, 1))
    X[0, 1, 0] = 1e39
    with pytest.raises(ValueError, match=r"beyond the range of float32 \(\|x\| up to 1e\+39\)"):
        RNNRegressor(**FAST).fit(X, np.ones(4))
    assert np.isfinite(RNNRegressor(**FAST, dtype="float64").fit(X, np.ones(4)).predict(X)).all()
    with pytest.raises(ValueError, match=r"too few samples \(1\) to hold out a validation set for "
                                         "early_stopping"):
        RNNRegressor(**FAST, early_stopping=True).fit(np.ones((1, 4, 1)), np.ones(1))


def test_a_warm_start_uses_the_optimizer_the_parameters_now_name():
    """Another optimizer, momentum or clipnorm set before a warm start was ignored: the fit
    went on with the first fit's Adam (0.5 off a real SGD step at learning rate 0.5)."""
    rng = np.random.default_rng(0)
    X, y = rng.integers(1, 20, (64, 10)), rng.integers(0, 2, 64)
    kw = dict(cell="gru", units=4, batch_size=16, shuffle=False, max_iter=1, random_state=0,
              dtype="float64")
    first = RNNClassifier(**kw).fit(X, y)
    sgd = dict(optimizer="sgd", learning_rate=0.5, clipnorm=None)
    switched = copy.deepcopy(first).set_params(warm_start=True, **sgd).fit(X, y)
    reference = RNNClassifier(**kw, **sgd).fit(X, y)  # plain SGD keeps no state to differ by
    reference.set_weights(first.get_weights())
    reference.set_params(warm_start=True).fit(X, y)
    for a, b in zip(switched.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    adam = copy.deepcopy(first).set_params(warm_start=True, clipnorm=5.0)
    state = adam.optimizer_state_
    adam.fit(X, y)  # the same optimizer keeps its moments; clipnorm changes in place
    assert adam.optimizer_state_ is state and state.clipnorm == 5.0 and state.iterations == 8


@pytest.mark.parametrize("warm_start", [False, True])
def test_a_refused_fit_leaves_the_fitted_model_as_it_was(task, warm_start):
    X, y = task
    clf = _small_clf(warm_start=warm_start, max_iter=1).fit(X, y)
    state = {k: v for k, v in vars(clf).items() if k.endswith("_")}
    proba = clf.predict_proba(X)
    weights = clf.get_weights()
    labels = np.where(y == 1, "spam", "ham")
    for bad in (lambda: clf.fit(X, y, validation_data=(X[:10], y[:5])),
                lambda: clf.fit(X, labels, sample_weight=-np.ones(len(y))),
                lambda: clf.fit(X, labels, validation_data=(X[:4], ["x"] * 4))):
        with pytest.raises(ValueError):
            bad()
        assert {k: v for k, v in vars(clf).items() if k.endswith("_")}.keys() == state.keys()
        assert clf.classes_.tolist() == [0, 1] and clf.n_iter_ == 1
        np.testing.assert_array_equal(clf.predict_proba(X), proba)
        for a, b in zip(clf.get_weights(), weights):
            np.testing.assert_array_equal(a, b)
    # the random generator too: a refused early-stopping split drew from it
    twin = _small_clf(warm_start=True, max_iter=1).fit(X, y)
    clf = _small_clf(warm_start=True, max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="too few samples"):
        clf.set_params(early_stopping=True).fit(X[:1], y[:1])
    clf.set_params(early_stopping=False)
    for a, b in zip(clf.fit(X, y).get_weights(), twin.fit(X, y).get_weights()):
        np.testing.assert_array_equal(a, b)
    fresh = _small_clf()
    with pytest.raises(ValueError):
        fresh.fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(NotFittedError):  # a refused first fit leaves it unfitted
        fresh.predict(X)
    assert not [k for k in vars(fresh) if k.endswith("_")]


def test_early_stopping_keeps_the_weights_of_held_out_rows_and_refuses_a_weightless_part():
    """A split that held out every row of positive weight divided by zero inside training and
    left the model half-fitted; the held-out rows weighed 1 whatever their weights."""
    X = np.random.default_rng(0).integers(1, 10, (60, 8))
    y = X[:, -1] % 2
    w = np.zeros(60)
    w[0] = 1  # one of the two parts weighs nothing, whichever the row lands in
    clf = _small_clf(early_stopping=True, validation_fraction=0.5)
    with pytest.raises(ValueError, match="left the (training|validation) part only samples of "
                                         "weight 0"):
        clf.fit(X, y, sample_weight=w)
    assert not [k for k in vars(clf) if k.endswith("_")]
    clf = _small_clf(early_stopping=True, validation_fraction=0.5, class_weight={1: 5.0})
    clf._check_params()
    weights = np.arange(60) % 3 + 1.0
    data = clf._fit_data(X, y, weights, None, reset=True)
    (_, y_tr, w_tr), (_, y_va, w_va) = clf._split_validation(data, np.random.default_rng(0))
    for y_part, w_part in ((y_tr, w_tr), (y_va, w_va)):
        assert set(np.round(w_part[y_part == 1] / 5.0, 6)) <= {1.0, 2.0, 3.0}
        assert set(w_part[y_part == 0]) == {1.0, 2.0, 3.0}


@pytest.mark.parametrize("labels", [[10, 20], ["neg", "pos"]], ids=["ints", "strings"])
def test_a_refit_names_exactly_the_labels_it_has_not_seen(labels, task):
    X, y = task
    known = np.array(labels)
    clf = _small_clf(warm_start=True, max_iter=1).fit(X, known[y])
    # below, between and above the known classes, each several times
    unseen = [5, 15, 25] if known.dtype.kind == "i" else ["a", "nit", "zz"]
    y_new = known[y].copy()
    y_new[:9] = np.repeat(np.array(unseen, dtype=known.dtype), 3)
    with pytest.raises(ValueError, match=r"not seen in the first fit: \[(.+)\]") as err:
        clf.fit(X, y_new)
    assert str(unseen) in str(err.value)
    clf.fit(X, known[y])  # the known labels still train
    assert clf.n_iter_ == 2


def test_refits_skip_only_the_parameter_checks_that_cannot_fail(task, monkeypatch):
    X, y = task
    calls = []
    original = RNNClassifier._validate_params
    monkeypatch.setattr(RNNClassifier, "_validate_params", lambda self: calls.append(1) or original(self))
    clf = _small_clf(warm_start=True, max_iter=1)
    clf.fit(X, y)
    clf.fit(X, y)
    clf.partial_fit(X[:20], y[:20])
    assert len(calls) == 1  # the same immutable values: checked once
    clf.set_params(learning_rate=-1.0)  # a new value is checked again
    with pytest.raises(ValueError, match="learning_rate"):
        clf.fit(X, y)
    clf.set_params(learning_rate=1e-3)
    clf.fit(X, y)
    units = [4]
    listed = _small_clf(units=units, warm_start=True, max_iter=1).fit(X, y)
    units[0] = 0  # a list can change in place: it is checked on every fit
    with pytest.raises(ValueError, match="units"):
        listed.fit(X, y)
    clf.units = 0  # plain attribute assignment, as set_params does
    with pytest.raises(ValueError, match="units"):
        clf.fit(X, y)


def test_class_and_sample_weights_change_the_fit(task):
    X, y = task
    base = _small_clf().fit(X, y).get_weights()
    weighted = _small_clf(class_weight={0: 5.0, 1: 1.0}).fit(X, y).get_weights()
    balanced = _small_clf(class_weight="balanced").fit(X, y)
    sw = _small_clf().fit(X, y, sample_weight=np.linspace(0.1, 2, len(y))).get_weights()
    assert not np.allclose(base[1], weighted[1])
    assert not np.allclose(base[1], sw[1])
    assert np.isfinite(balanced.predict_proba(X)).all()
    with pytest.raises(ValueError, match="not in classes_"):
        _small_clf(class_weight={9: 1.0}).fit(X, y)


class _InterruptAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, model, epoch, **kw):
        if epoch == self.epoch:
            raise KeyboardInterrupt


class _InterruptIn(Callback):
    def __init__(self, hook):
        self.hook = hook

    def __getattribute__(self, name):
        if name == object.__getattribute__(self, "hook"):
            def interrupt(*args, **kw):
                raise KeyboardInterrupt
            return interrupt
        return object.__getattribute__(self, name)


def test_interrupted_fit_warns_and_keeps_a_usable_model(task):
    X, y = task
    clf = _small_clf(max_iter=5, callbacks=[_InterruptAt(2)])
    with pytest.warns(RuntimeWarning, match="interrupted"):
        clf.fit(X, y)
    assert clf.stopped_reason_ == "interrupted"
    assert np.isfinite(clf.predict_proba(X)).all()
    # the epoch whose end was interrupted had finished: counted, as in the history
    assert clf.n_iter_ == 3 == len(clf.history_["loss"]) == len(clf.loss_curve_)


@pytest.mark.parametrize("hook", ["on_train_begin", "on_train_end"])
def test_an_interrupt_in_the_first_or_last_hook_is_caught_too(task, hook):
    X, y = task
    clf = _small_clf(max_iter=2).fit(X, y)
    clf.set_params(callbacks=[_InterruptIn(hook)])
    with pytest.warns(RuntimeWarning, match="interrupted"):
        clf.fit(X, y)
    assert clf.n_iter_ == len(clf.history_.get("loss", [])) == len(clf.loss_curve_)
    assert clf.n_iter_ == (0 if hook == "on_train_begin" else 2)
    assert np.isfinite(clf.predict_proba(X)).all()


@pytest.mark.parametrize("monitor", ["val_loss", "val_score"])
def test_best_epoch_is_the_one_early_stopping_chose(task, monitor):
    """best_epoch_/best_loss_ follow the training loop's choice (tol, monitor): the restored
    weights' epoch, not merely the lowest validation loss."""
    X, y = task
    clf = _small_clf(max_iter=8, learning_rate=0.05, early_stopping=True, tol=0.1,
                     n_iter_no_change=2, monitor=monitor)
    clf.fit(X[40:], y[40:], validation_data=(X[:40], y[:40]))
    val = clf.history_["val_loss"]
    assert clf.best_loss_ == val[clf.best_epoch_]
    assert clf.best_epoch_ != int(np.argmin(val))  # improvements under tol did not count
    proba = np.clip(clf.predict_proba(X[:40])[:, 1], 1e-12, 1 - 1e-12)
    own = -np.mean(y[:40] * np.log(proba) + (1 - y[:40]) * np.log(1 - proba))
    assert own == pytest.approx(clf.best_loss_, rel=1e-4)  # the weights held are that epoch's


def test_diverging_fit_stops_restores_and_warns(task):
    X, y = task
    clf = RNNClassifier(cell="simple", units=4, embedding_dim=3, activation="linear",
                        optimizer="sgd", learning_rate=1e6, max_iter=5, random_state=0)
    with pytest.warns(RuntimeWarning, match="diverged"):
        clf.fit(X, y)
    assert clf.stopped_reason_ == "non_finite"
    assert all(np.isfinite(w).all() for w in clf.get_weights())
    assert np.isfinite(clf.predict_proba(X)).all()


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_a_fit_stopped_by_non_finite_values_can_train_again(task, optimizer):
    """The optimizer's moments are put back with the weights: non-finite ones stopped every
    later warm fit at its first step."""
    X, y = task
    clf = _small_clf(optimizer=optimizer, momentum=0.9 if optimizer == "sgd" else 0.0,
                     learning_rate=1e30, clipnorm=None, max_iter=3, warm_start=True)
    with pytest.warns(RuntimeWarning):
        clf.fit(X, y)
    assert clf.stopped_reason_ in ("non_finite", "diverged")
    slots = clf.optimizer_state_.snapshot()[1]
    assert all(np.isfinite(a).all() for store in slots for a in store.values())
    clf.set_params(learning_rate=0.01, max_iter=3).fit(X, y)
    assert clf.stopped_reason_ is None and clf.n_iter_ >= 3


def test_diverging_fit_with_finite_losses_warns_and_says_so(task):
    X, y = task
    clf = _small_clf(learning_rate=1e3, max_iter=5)
    with pytest.warns(RuntimeWarning, match="diverged in epoch 1: its loss .* over 10 times"):
        clf.fit(X, y)
    assert clf.stopped_reason_ == "diverged" and clf.n_iter_ == 1
    assert np.isfinite(clf.predict_proba(X)).all()


@pytest.mark.parametrize("logits, saturated", [
    ([[40.0], [-38.0]], True), ([[40.0], [-3.0]], False),
    ([[40.0, 0.0, 1.0], [0.0, 50.0, -1.0]], True), ([[40.0, 39.0, 1.0]], False),
])
def test_a_batch_is_saturated_when_every_top_probability_is_exactly_1(logits, saturated):
    from fastrnn.losses import sigmoid, softmax

    logits = np.array(logits)
    assert RNNClassifier()._saturated(logits) is saturated
    if logits.shape[1] == 1:
        p = sigmoid(logits[:, 0])
        proba = np.column_stack([1.0 - p, p])  # as predict_proba computes it
    else:
        proba = softmax(logits)
    assert bool((proba.max(axis=1) == 1.0).all()) is saturated


def test_verbose_output_only_when_asked(task, capsys):
    X, y = task
    _small_clf().fit(X, y)
    assert capsys.readouterr().err == ""
    _small_clf(verbose=2).fit(X, y)
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "loss:" in err and "accuracy:" in err


class _FakeTqdm:
    """Stands in for ``tqdm.auto.tqdm``, recording what it is told."""

    bars = []

    def __init__(self, total, desc, leave):
        self.total, self.desc, self.n, self.postfix, self.closed = total, desc, 0, None, False
        self.bars.append(self)

    def update(self, n):
        self.n += n

    def set_postfix(self, refresh=True, **kw):
        self.postfix = kw

    def set_postfix_str(self, text):
        self.postfix = text

    def close(self):
        self.closed = True


def test_verbose_1_draws_a_bar_only_where_one_can_be_redrawn(task, capsys, monkeypatch):
    import types

    from fastrnn import callbacks

    X, y = task
    # off a terminal (a log file, a CI log): one line per epoch, never a carriage return
    _small_clf(verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "\r" not in err and err.count("\n") == 2
    assert err.startswith("Epoch 1/2 - ") and "Epoch 2/2 - " in err and "accuracy:" in err
    # on a terminal: the bar redrawn in place after every batch
    monkeypatch.setattr(callbacks, "_stderr_is_terminal", lambda: True)
    _small_clf(verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "[==" in err and err.count("\r") == 2 * 15  # 240 rows in batches of 16, two epochs
    # in a notebook with tqdm installed: one tqdm.auto bar per epoch
    monkeypatch.setattr(callbacks, "_stderr_is_terminal", lambda: False)
    monkeypatch.setattr(callbacks, "_in_notebook", lambda: True)
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", types.SimpleNamespace(tqdm=_FakeTqdm))
    _small_clf(verbose=1).fit(X, y)
    assert capsys.readouterr().err == ""
    assert [(b.desc, b.total, b.n, b.closed) for b in _FakeTqdm.bars] == [
        ("Epoch 1/2", 15, 15, True), ("Epoch 2/2", 15, 15, True)]
    assert "accuracy:" in _FakeTqdm.bars[-1].postfix
    # in a notebook without tqdm: one line per epoch
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    _small_clf(verbose=1).fit(X, y)
    assert capsys.readouterr().err.count("\n") == 2


def test_callbacks_with_public_state_survive_clone_and_searches(task):
    class LossRecorder(Callback):
        def __init__(self):
            self.losses = []

        def on_epoch_end(self, model, logs, **kw):
            self.losses.append(logs["loss"])

    X, y = task
    recorder = LossRecorder()
    clf = _small_clf(callbacks=[recorder])
    copy = clone(clf)
    assert copy.callbacks[0] is not recorder and copy.callbacks[0].losses == []
    search = GridSearchCV(clf, {"units": [2, 3]}, cv=2).fit(X, y)
    assert len(search.best_estimator_.callbacks[0].losses) == 2
    assert recorder.losses == []  # the searches trained copies
    assert cross_val_score(clf, X, y, cv=2).shape == (2,)


def test_regressor_multi_output_and_r2(rng):
    X = rng.normal(size=(120, 6, 2))
    y = np.column_stack([X[:, -1, 0], X[:, :, 1].mean(axis=1)])
    reg = RNNRegressor(cell="gru", units=8, max_iter=30, learning_rate=0.01, random_state=0).fit(X, y)
    assert reg.predict(X).shape == (120, 2)
    assert reg.score(X, y) > 0.5
    reg1 = RNNRegressor(units=3, max_iter=1, random_state=0).fit(X, y[:, 0])
    assert reg1.predict(X).shape == (120,)
    assert set(reg1.history_) == {"loss", "r2"}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_every_r2_metric_is_scikit_learns_r2_score(rng, weighted):
    from sklearn.metrics import r2_score

    from fastrnn import RNNForecaster
    from fastrnn.losses import sequence_r2

    n = 30
    # quarter weights and constants 0.5, -2.0 keep a constant column's weighted mean exact, as
    # both sides test the spread against 0 exactly
    w = rng.integers(1, 9, size=n) / 4 if weighted else np.ones(n)
    y = np.column_stack([rng.normal(size=n), np.full(n, 0.5), np.full(n, -2.0)])
    # random column, constant column predicted exactly, constant column predicted off by 1e-8
    out = np.column_stack([y[:, 0] + rng.normal(size=n), y[:, 1], y[:, 2] + 1e-8])
    metrics = {"regressor": RNNRegressor()._metric, "forecaster": RNNForecaster(4)._metric,
               "sequence": lambda o, t, w: sequence_r2(o[:, None], t[:, None], w)}
    for cols in ([0], [1], [2], [0, 1, 2]):
        expected = r2_score(y[:, cols], out[:, cols], sample_weight=w if weighted else None)
        for name, metric in metrics.items():
            assert metric(out[:, cols], y[:, cols], w) == pytest.approx(expected, rel=1e-12), (name, cols)
    assert r2_score(y[:, [1]], out[:, [1]]) == 1.0  # the constant cases this checks


@pytest.mark.parametrize("cls, method", [
    *((RNNClassifier, m) for m in ("fit", "decision_function", "predict_proba", "predict_log_proba",
                                   "predict", "score", "transform")),
    *((RNNRegressor, m) for m in ("fit", "predict", "score", "transform")),
], ids=lambda v: getattr(v, "__name__", v))
def test_methods_taking_a_mask_document_it_with_its_shape(cls, method):
    import inspect
    import re

    doc = inspect.getdoc(getattr(cls, method))
    lines = doc.splitlines()
    assert len(lines) > 1 and lines[1] == "", "a blank line after the one-line summary"
    assert "\nParameters\n----------\n" in doc and "\nReturns\n-------\n" in doc
    assert re.search(r"^mask : array-like of shape \(n_samples, n_timesteps\), bool", doc, re.M)
    assert re.search(r"^X : array-like of shape \(n_samples, n_timesteps\)", doc, re.M)


@pytest.mark.parametrize("X,y,message", [
    (np.zeros((0, 5), int), np.zeros(0), "empty"),
    (np.ones((4, 5), int), np.array([0, 1, 0]), "different numbers of samples"),
    (np.full((4, 5), np.nan), np.array([0, 1, 0, 1]), "NaN"),
    (np.ones((4, 5), int), np.array([0.0, 1.0, np.nan, 1.0]), "NaN"),
    (-np.ones((4, 5), int), np.array([0, 1, 0, 1]), "Negative values"),
    (np.ones((4, 5, 2, 2)), np.array([0, 1, 0, 1]), "2-D .* or 3-D"),
    (np.ones((4, 5), int), np.array([1, 1, 1, 1]), "only 1 class"),
    (np.array([["a", "b"], ["c", "d"]]), np.array([0, 1]), "strings"),
])
def test_bad_input_raises_a_clear_error(X, y, message):
    with pytest.raises(ValueError, match=message):
        _small_clf().fit(X, y)


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int64, bool])
def test_integer_labels_skip_only_a_check_that_cannot_fail(task, dtype):
    # fit skips scikit-learn's target check for 1-D integer and boolean labels: such labels
    # are always binary or multiclass, which the check accepts
    X, y = task
    y = (y % 2).astype(dtype) if dtype is bool else y.astype(dtype)
    assert type_of_target(y) in ("binary", "multiclass")
    clf = _small_clf(max_iter=1).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.unique(y))
    assert clf.predict(X).dtype == y.dtype


def test_continuous_float_targets_are_still_rejected(task):
    X, y = task
    with pytest.raises(ValueError, match="Unknown label type"):
        _small_clf().fit(X, y + 0.5)


def test_errors_after_fit(task):
    X, y = task
    with pytest.raises(NotFittedError):
        _small_clf().predict(X)
    clf = _small_clf().fit(X, y)
    with pytest.raises(ValueError, match="token id 25 but the model's vocabulary has 12"):
        clf.predict(np.full((2, 8), 25))
    with pytest.raises(ValueError, match="fitted on token ids"):
        clf.predict(np.random.rand(2, 8))
    weights = clf.get_weights()
    with pytest.raises(ValueError, match="expected 6 weight arrays, got 5"):
        clf.set_weights(weights[:-1])
    weights[2] = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"weight 2 has shape \(3, 3\), expected \(4, 16\)"):
        clf.set_weights(weights)
    weights = clf.get_weights()
    weights[1] = np.full(weights[1].shape, 1e39)  # finite as float64, infinite as float32
    with pytest.raises(ValueError, match=r"weight 1 contains NaN or infinity \(as float32\)"):
        clf.set_weights(weights)
    weights[1] = weights[1].astype(complex)
    with pytest.raises(ValueError, match="weight 1 must hold real numbers"):
        clf.set_weights(weights)
    assert all(np.isfinite(w).all() for w in clf.get_weights())  # nothing was stored
    with pytest.raises(ValueError, match="vocab_size"):
        _small_clf(vocab_size=5).fit(X, y)
    with pytest.raises(ValueError, match="units"):
        _small_clf(units=(2, 0)).fit(X, y)


def test_thread_count_follows_worker_limits(monkeypatch):
    from fastrnn.runtime import default_n_threads

    monkeypatch.delenv("FASTRNN_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what joblib/loky and Dask set in workers
    assert default_n_threads() == 1
    monkeypatch.setenv("FASTRNN_NUM_THREADS", "3")
    assert default_n_threads() == 3
    assert RNNClassifier(n_threads=2)._resolved_threads() == 2
    for bad in ("0", "-3", "garbage", "1,1", "\u00b2"):  # fastrnn's own setting: refused by name
        monkeypatch.setenv("FASTRNN_NUM_THREADS", bad)
        with pytest.raises(ValueError, match="FASTRNN_NUM_THREADS must be a positive integer"):
            default_n_threads()
    monkeypatch.delenv("FASTRNN_NUM_THREADS")
    for passed_over in ("4,2", "\u00b2"):  # OpenMP's nested list, a superscript two
        monkeypatch.setenv("OMP_NUM_THREADS", passed_over)
        assert default_n_threads() >= 1


def test_more_threads_than_cpus_are_lowered_with_a_warning():
    """n_threads=1000 on 2 CPUs started 1000 pool threads (prediction 7.9 s instead of 0.006)."""
    from fastrnn.runtime import available_cpus

    X = np.random.default_rng(0).integers(1, 9, size=(20, 5))
    m = RNNClassifier(units=3, embedding_dim=2, max_iter=1, random_state=0, n_threads=997)
    with pytest.warns(RuntimeWarning, match="997 threads asked for"):
        assert m._resolved_threads() == available_cpus()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per value
        m.fit(X, X[:, 0] % 2)


@pytest.mark.parametrize("cls", [RNNClassifier, RNNRegressor, fastrnn.RNNSequenceTagger,
                                 fastrnn.RNNSequenceRegressor, fastrnn.RNNLanguageModel])
def test_parameters_are_declared_once_with_their_constraints(cls):
    import inspect

    signature = inspect.signature(cls.__init__)
    names = [p for p in signature.parameters if p != "self"]
    assert all(signature.parameters[p].kind is inspect.Parameter.KEYWORD_ONLY for p in names)
    assert set(names) == set(cls._parameter_constraints) == set(cls().get_params())
    shared = set(fastrnn.estimators._base.BaseRNN._parameter_constraints)
    assert shared <= set(names)
    est = cls(max_iter=3, callbacks=[])
    assert clone(est).get_params() == est.get_params()
    assert repr(est) == f"{cls.__name__}(callbacks=[], max_iter=3)"
    with pytest.raises(TypeError, match="unexpected keyword"):
        cls(not_a_parameter=1)


def test_a_new_parameter_needs_its_constraints():
    from fastrnn.estimators._base import BaseRNN, declare_params, param

    with pytest.raises(TypeError, match="declare a new parameter with param"):
        @declare_params
        class Bad(BaseRNN):
            extra: int = 3

    @declare_params
    class Good(BaseRNN):
        extra: int = param(3, int)
        units: int = 5  # a new default; the constraint is BaseRNN's

    assert Good().get_params()["extra"] == 3 and Good().units == 5
    assert Good._parameter_constraints["units"] == BaseRNN._parameter_constraints["units"]
    assert "extra" not in BaseRNN._parameter_constraints


def test_a_container_cpu_quota_limits_the_cpus_available(monkeypatch):
    import io

    from fastrnn.runtime import cpus

    files = {"/sys/fs/cgroup/cpu.max": "150000 100000\n"}  # cgroup v2: 1.5 CPUs

    def fake_open(path, *args, **kwargs):
        if path in files:
            return io.StringIO(files[path])
        raise FileNotFoundError(path)

    monkeypatch.setattr(cpus, "open", fake_open, raising=False)
    monkeypatch.setenv("JOBLIB_MULTIPROCESSING", "0")  # joblib's own settings do not count
    cpus._quota.cache_clear()
    try:
        assert cpus._quota() == min(2, os.cpu_count())
        files["/sys/fs/cgroup/cpu.max"] = "max 100000\n"
        cpus._quota.cache_clear()
        assert cpus._quota() == os.cpu_count()
        files.clear()
        files["/sys/fs/cgroup/cpu/cpu.cfs_quota_us"] = "100000\n"  # cgroup v1: 1 CPU
        files["/sys/fs/cgroup/cpu/cpu.cfs_period_us"] = "100000\n"
        cpus._quota.cache_clear()
        assert cpus._quota() == 1
    finally:
        monkeypatch.undo()
        cpus._quota.cache_clear()
