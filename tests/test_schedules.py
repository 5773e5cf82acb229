"""Learning-rate schedules: the rates they give, how fit, warm_start and partial_fit apply
them, the optimizer state they keep, and the sklearn contract and save/load of the parameter."""

import dataclasses
import math

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import fastrnn
from fastrnn import RNNClassifier, RNNLanguageModel
from fastrnn.schedules import CosineDecay, ReduceOnPlateau, Schedule, StepDecay, make_schedule

FAST = dict(units=6, embedding_dim=4, max_iter=3, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(0)
    X = rng.integers(1, 12, size=(60, 7))
    X[::3, :2] = 0
    y = (X == 3).any(axis=1).astype(int)
    return X, y


def same_weights(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))


# ------------------------------------------------------------------ the rates
def naive_plateau(values, lr, factor, patience, min_lr, min_delta=1e-4, cooldown=0):
    """Keras's ReduceLROnPlateau.on_epoch_end, epoch by epoch: the rate of every next epoch."""
    best, wait, cool, out = np.inf, 0, 0, []
    for v in values:
        if cool > 0:
            cool -= 1
            wait = 0
        if v < best - min_delta:
            best, wait = v, 0
        elif cool <= 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr, cool, wait = max(lr * factor, min_lr), cooldown, 0
        out.append(lr)
    return out


@pytest.mark.parametrize("cooldown", [0, 2])
def test_plateau_rates_follow_keras(cooldown):
    values = [1.0, 0.9, 0.95, 0.95, 0.96, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    s = ReduceOnPlateau(factor=0.5, patience=2, min_lr=0.02, cooldown=cooldown, monitor="loss")
    expected = naive_plateau(values, 0.1, 0.5, 2, 0.02, cooldown=cooldown)
    got = [s.learning_rate(0.1, e + 1, 99, {"loss": values}) for e in range(len(values))]
    assert got == expected
    assert s.learning_rate(0.1, 0, 99, {}) == 0.1
    assert min(got) == 0.02 and got[3] == 0.05  # reduced after two stalled epochs, floored
    # val_loss falls back to the training loss in a run without validation
    assert ReduceOnPlateau(patience=1).learning_rate(1.0, 2, 9, {"loss": [1.0, 2.0]}) == 0.5


def test_cosine_and_step_rates():
    s = CosineDecay(warmup_epochs=2, min_lr=0.1)
    rates = [s.learning_rate(1.0, e, 6, {}) for e in range(8)]
    assert rates[:2] == pytest.approx([1 / 3, 2 / 3])
    expected = [0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p / 4)) for p in range(4)]
    assert rates[2:6] == pytest.approx(expected)
    assert rates[6:] == [0.1, 0.1]  # past max_iter: min_lr
    assert [StepDecay(3, 0.1).learning_rate(1.0, e, 9, {}) for e in (0, 2, 3, 6)] == \
        pytest.approx([1, 1, 0.1, 0.01])


@pytest.mark.parametrize("make, message", [
    (lambda: ReduceOnPlateau(factor=1.0), "factor must be < 1"),
    (lambda: ReduceOnPlateau(patience=-1), "patience must be >= 0"),
    (lambda: ReduceOnPlateau(monitor=""), "monitor must name a history_ entry"),
    (lambda: ReduceOnPlateau(mode="up"), "mode must be"),
    (lambda: CosineDecay(warmup_epochs=1.5), "warmup_epochs must be an int"),
    (lambda: CosineDecay(min_lr=float("nan")), "min_lr must be a finite number"),
    (lambda: StepDecay(step_size=0), "step_size must be >= 1"),
    (lambda: make_schedule("linear"), "lr_schedule must be None"),
])
def test_bad_schedules_name_the_field(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_schedules_are_immutable_values():
    s = ReduceOnPlateau(patience=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.patience = 4
    assert s == ReduceOnPlateau(patience=3) and hash(s) == hash(ReduceOnPlateau(patience=3))
    assert make_schedule("cosine") == CosineDecay() and make_schedule("plateau") == ReduceOnPlateau()


# ------------------------------------------------------------------ in training
@pytest.mark.parametrize("schedule", [StepDecay(factor=1.0), CosineDecay(min_lr=0.003)])
def test_a_constant_schedule_reproduces_the_fit_without_one(task, schedule):
    X, y = task
    plain = RNNClassifier(learning_rate=0.003, **FAST).fit(X, y)
    scheduled = RNNClassifier(learning_rate=0.003, lr_schedule=schedule, **FAST).fit(X, y)
    assert same_weights(plain, scheduled)
    assert scheduled.history_["loss"] == plain.history_["loss"]
    assert scheduled.history_["lr"] == [0.003] * 3 and "lr" not in plain.history_


def test_changing_the_rate_keeps_the_optimizer_moments(task):
    X, y = task
    manual = RNNClassifier(learning_rate=0.002, **FAST)
    manual.partial_fit(X, y, classes=[0, 1])
    manual.set_params(learning_rate=0.001).partial_fit(X, y)  # the moments carry over
    scheduled = RNNClassifier(learning_rate=0.002, lr_schedule=StepDecay(1, 0.5), **FAST)
    scheduled.partial_fit(X, y, classes=[0, 1])
    scheduled.partial_fit(X, y)
    assert scheduled.history_["lr"] == [0.002, 0.001]
    assert same_weights(manual, scheduled)
    assert scheduled.optimizer_state_.iterations == manual.optimizer_state_.iterations


def test_fit_records_the_rates_and_warm_start_restarts_the_schedule(task):
    X, y = task
    clf = RNNClassifier(lr_schedule="cosine", learning_rate=0.01, warm_start=True, **FAST)
    clf.fit(X, y)
    expected = [CosineDecay().learning_rate(0.01, e, 3, {}) for e in range(3)]
    assert clf.history_["lr"] == pytest.approx(expected)
    assert clf.optimizer_state_.learning_rate == pytest.approx(expected[-1])
    clf.fit(X, y)  # a new run: the cosine starts again
    assert clf.history_["lr"] == pytest.approx(expected * 2) and clf.lr_schedule_start_ == 3
    clf.set_params(lr_schedule=None).fit(X, y)  # back to the constant rate, not logged: NaN
    assert clf.optimizer_state_.learning_rate == 0.01 and len(clf.history_["lr"]) == 9
    assert np.isnan(clf.history_["lr"][6:]).all()


def test_partial_fit_continues_the_schedule(task):
    X, y = task
    clf = RNNClassifier(lr_schedule=CosineDecay(warmup_epochs=1), learning_rate=0.01, **FAST)
    for _ in range(5):
        clf.partial_fit(X, y, classes=[0, 1])
    s = CosineDecay(warmup_epochs=1)
    assert clf.history_["lr"] == pytest.approx([s.learning_rate(0.01, e, 3, {}) for e in range(5)])
    assert clf.history_["lr"][-2:] == [0.0, 0.0]


def test_plateau_on_validation_loss_in_fit(task):
    X, y = task
    clf = RNNClassifier(lr_schedule=ReduceOnPlateau(patience=1, factor=0.5, min_delta=10.0),
                        learning_rate=0.01, **dict(FAST, max_iter=4))
    clf.fit(X, y, validation_data=(X[:20], y[:20]))
    # min_delta=10: no epoch improves after the first, so every epoch from the second halves it
    assert clf.history_["lr"] == pytest.approx([0.01, 0.01, 0.005, 0.0025])
    assert len(clf.history_["val_loss"]) == 4


def test_plateau_state_survives_save_load_and_partial_fit(task, tmp_path):
    X, y = task
    kw = dict(lr_schedule=ReduceOnPlateau(patience=1, min_delta=10.0), learning_rate=0.01, **FAST)
    a = RNNClassifier(**kw)
    for _ in range(2):
        a.partial_fit(X, y, classes=[0, 1])
    b = fastrnn.load(fastrnn.save(a, tmp_path / "a.fastrnn"))
    assert b.lr_schedule == a.lr_schedule and b.lr_schedule is not a.lr_schedule
    for model in (a, b):
        model.partial_fit(X, y)
        model.partial_fit(X, y)
    assert a.history_["lr"] == b.history_["lr"] == pytest.approx([0.01, 0.01, 0.005, 0.0025])
    assert same_weights(a, b)


def test_language_model_takes_a_schedule():
    lm = RNNLanguageModel(units=6, embedding_dim=4, max_iter=3, batch_size=2, random_state=0,
                          lr_schedule="cosine").fit(["abc abd", "bca cab"])
    assert lm.history_["lr"] == pytest.approx([0.005, 0.0025 * (1 + math.cos(math.pi / 3)),
                                               0.0025 * (1 + math.cos(2 * math.pi / 3))])


# ------------------------------------------------------------------ the sklearn contract
def test_clone_get_params_and_grid_search(task):
    X, y = task
    s = CosineDecay(warmup_epochs=1)
    clf = RNNClassifier(lr_schedule=s, **FAST)
    assert clf.get_params()["lr_schedule"] is s
    assert clone(clf).lr_schedule == s
    assert "lr_schedule=CosineDecay(warmup_epochs=1, min_lr=0.0)" in repr(clf)
    search = GridSearchCV(RNNClassifier(**FAST), {"lr_schedule": [None, "plateau", s]}, cv=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 3
    with pytest.raises(ValueError, match="lr_schedule"):
        RNNClassifier(lr_schedule="linear", **FAST).fit(X, y)


def test_refits_with_a_schedule_skip_the_parameter_checks(task, monkeypatch):
    X, y = task
    calls = []
    original = RNNClassifier._validate_params
    monkeypatch.setattr(RNNClassifier, "_validate_params",
                        lambda self: calls.append(1) or original(self))
    clf = RNNClassifier(lr_schedule=ReduceOnPlateau(), warm_start=True, **dict(FAST, max_iter=1))
    clf.fit(X, y)
    clf.partial_fit(X, y)
    assert len(calls) == 1  # a frozen schedule is as immutable as a number


def test_a_run_reads_only_the_logs_of_its_own_epochs(task):
    X, y = task
    seen = []

    @dataclasses.dataclass(frozen=True)
    class Recorder(Schedule):
        def learning_rate(self, base, epoch, n_epochs, history):
            seen.append({k: list(v) for k, v in history.items()})
            return base

    clf = RNNClassifier(lr_schedule=Recorder(), warm_start=True, **FAST)
    clf.fit(X, y, validation_data=(X[:20], y[:20]))
    assert [len(h.get("val_loss", [])) for h in seen] == [0, 1, 2]
    seen.clear()
    clf.fit(X, y)  # a run without validation data: the last run's val_loss is not its own
    assert [(len(h.get("loss", [])), len(h.get("val_loss", []))) for h in seen] == [
        (0, 0), (1, 1), (2, 2)]
    assert np.isnan(seen[-1]["val_loss"]).all()  # its own epochs had none


def test_a_custom_schedule_trains_but_is_not_saved(task, tmp_path):
    X, y = task

    @dataclasses.dataclass(frozen=True)
    class Halving(Schedule):
        def learning_rate(self, base, epoch, n_epochs, history):
            return base / 2 ** epoch

    clf = RNNClassifier(lr_schedule=Halving(), learning_rate=0.01, **FAST).fit(X, y)
    assert clf.history_["lr"] == [0.01, 0.005, 0.0025]
    with pytest.raises(TypeError, match="cannot save parameter 'lr_schedule'"):
        fastrnn.save(clf, tmp_path / "c.fastrnn")


def test_auto_schedule_halves_the_rate_before_early_stopping_and_none_keeps_it():
    from fastrnn import RNNClassifier

    rng = np.random.default_rng(0)
    X = rng.integers(1, 20, size=(60, 6))
    y = rng.integers(0, 2, 60)  # random labels: the validation loss soon stalls
    kw = dict(units=4, embedding_dim=4, learning_rate=0.05, max_iter=30, early_stopping=True,
              n_iter_no_change=3, random_state=0)
    auto = RNNClassifier(**kw).fit(X, y)
    lr = auto.history_["lr"]
    assert lr[0] == 0.05 and min(lr) == 0.025 and auto.stopped_reason_ == "early_stopping"
    # the first halving comes after n_iter_no_change - 1 = 2 stalled epochs
    losses = auto.history_["val_loss"]
    first = lr.index(0.025)
    assert min(losses[first - 2:first]) >= min(losses[:first - 2]) - 1e-4
    assert "lr" not in RNNClassifier(**kw, lr_schedule=None).fit(X, y).history_
    # without early stopping "auto" is a constant rate
    assert "lr" not in RNNClassifier(**dict(kw, early_stopping=False, max_iter=2)).fit(X, y).history_


def test_a_monitor_missing_from_the_history_is_reported_once_watched_as_the_loss():
    s = ReduceOnPlateau(monitor="val_acc", patience=1)
    with pytest.warns(RuntimeWarning, match="monitor='val_acc' is not in history_"):
        rate = s.learning_rate(0.1, 3, 10, {"loss": [1.0, 1.0, 1.0], "val_accuracy": [0.5] * 3})
    assert rate == ReduceOnPlateau(monitor="loss", patience=1).learning_rate(
        0.1, 3, 10, {"loss": [1.0, 1.0, 1.0]})
