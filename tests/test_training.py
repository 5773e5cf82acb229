"""The one training loop over its two batch sources: callbacks, safe stops, checkpoints, state carry."""

import warnings

import numpy as np
import pytest

from fastrnn import RNNClassifier, RNNForecaster
from fastrnn.callbacks import Callback, ModelCheckpoint
from fastrnn.datasets import make_long_range_task
from fastrnn.layers import Recurrent, SequenceModel
from fastrnn.losses import categorical_crossentropy, sequence_crossentropy
from fastrnn.optimizers import SGD
from fastrnn.schedules import ReduceOnPlateau
from fastrnn.training import (ShuffledBatches, StreamWindows, TrainConfig, copy_params, train)

N_IDS = 7


class Model:
    """What the loop needs of an estimator: a place for ``stop_training_``, and for
    ModelCheckpoint ``_snapshot(n_epochs)`` and ``save(path)``."""

    def __init__(self):
        self.saved = []

    def _snapshot(self, n_epochs):
        snap = Model()
        snap.saved, snap.n_epochs = self.saved, n_epochs
        return snap

    def save(self, path):
        self.saved.append((str(path), self.n_epochs))


class Recorder(Callback):
    """Every hook call, with a copy of the parameters at each epoch's end."""

    def __init__(self, net):
        self.net = net
        self.calls = []
        self.params = {}

    def on_train_begin(self, model, **kw):
        self.calls.append(("train_begin", kw["n_epochs"]))

    def on_epoch_begin(self, model, epoch, **kw):
        self.calls.append(("epoch_begin", epoch))

    def on_batch_end(self, model, epoch, batch, n_batches, loss, **kw):
        assert np.isfinite(loss)
        self.calls.append(("batch_end", epoch, batch, n_batches))

    def on_epoch_end(self, model, epoch, logs, is_best, params, **kw):
        self.params[epoch] = [w.copy() for w in self.net.weights(params)]
        self.calls.append(("epoch_end", epoch, sorted(logs), is_best))

    def on_train_end(self, model, logs, **kw):
        self.calls.append(("train_end", sorted(logs)))


def _shuffled():
    rng = np.random.default_rng(0)
    net = SequenceModel.build("tokens", N_IDS, 3, [Recurrent("gru", 4)], False, "last", 3)
    X = rng.integers(0, N_IDS, size=(10, 5))
    X[:, -1] = rng.integers(1, N_IDS, size=10)
    y = X[:, -1] % 3
    source = ShuffledBatches(X, y, np.ones(10), 4, input_kind="tokens")
    return net, source, categorical_crossentropy, (X, y, np.ones(10))


def _stream():
    rng = np.random.default_rng(0)
    net = SequenceModel.build("tokens", N_IDS, 3, [Recurrent("gru", 4)], False, "sequence", N_IDS)
    stream = rng.integers(1, N_IDS, size=(2, 11))
    source = StreamWindows(stream[:, :-1], stream[:, 1:], 4)
    val = stream[:, :-1], stream[:, 1:], np.ones(2)
    return net, source, sequence_crossentropy, val


SOURCES = {"shuffled": _shuffled, "stream": _stream}


def _run(kind, n_epochs=3, loss_fn=None, callbacks=(), validation=False, lr=0.5, **cfg_kw):
    net, source, loss, val = SOURCES[kind]()
    params = net.init_params(np.random.default_rng(1), np.float64)
    recorder = Recorder(net)
    cfg = TrainConfig(loss_fn=loss_fn or loss, metric_fn=None, metric_name=None,
                      n_epochs=n_epochs, callbacks=[recorder, *callbacks], **cfg_kw)
    model, history = Model(), {}
    initial = copy_params(params)
    result = train(model, net, params, SGD(lr), source, cfg, np.random.default_rng(2),
                   validation=val if validation else None, history=history)
    return net, params, initial, recorder, history, result, model


@pytest.mark.parametrize("kind", SOURCES)
def test_callbacks_are_called_in_order(kind):
    _, _, _, recorder, history, result, _ = _run(kind, n_epochs=2, validation=True)
    n_batches = 3  # 10 rows in batches of 4; 10 steps in windows of 4
    expected = [("train_begin", 2)]
    for epoch in range(2):
        expected.append(("epoch_begin", epoch))
        expected += [("batch_end", epoch, b, n_batches) for b in range(n_batches)]
        expected.append(("epoch_end", epoch, ["loss", "val_loss"], recorder.calls[len(expected)][3]))
    expected.append(("train_end", ["loss", "val_loss"]))
    assert recorder.calls == expected
    assert recorder.calls[2 + n_batches][3] is True  # the first epoch is always the best so far
    assert result.stopped is None and result.n_epochs == 2 and len(history["loss"]) == 2


class _InterruptAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, model, epoch, **kw):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def _best_epoch(recorder):
    return max(c[1] for c in recorder.calls if c[0] == "epoch_end" and c[3])


@pytest.mark.parametrize("kind", SOURCES)
def test_interrupt_warns_and_keeps_the_best_weights(kind):
    with pytest.warns(RuntimeWarning, match="interrupted"):
        net, params, _, recorder, history, result, _ = _run(
            kind, n_epochs=6, lr=5.0, callbacks=[_InterruptAt(4)], validation=True)
    assert result.stopped == "interrupted" and result.n_epochs == 4
    best = _best_epoch(recorder)
    assert best == int(np.argmin(history["val_loss"]))
    for got, want in zip(net.weights(params), recorder.params[best]):
        np.testing.assert_array_equal(got, want)


class _NanLoss:
    """The source's loss, turning non-finite at step ``at`` (counted from 0)."""

    def __init__(self, loss, at):
        self.loss, self.at, self.calls = loss, at, 0

    def __call__(self, outputs, y, w):
        loss, grad = self.loss(outputs, y, w)
        self.calls += 1
        return (np.nan if self.calls > self.at else loss), grad


@pytest.mark.parametrize("kind", SOURCES)
def test_a_non_finite_loss_stops_and_restores_the_best_weights(kind):
    loss = SOURCES[kind]()[2]
    with pytest.warns(RuntimeWarning, match="diverged"):
        net, params, _, recorder, history, result, _ = _run(kind, n_epochs=5,
                                                            loss_fn=_NanLoss(loss, 7))
    # three steps an epoch: the eighth step is the second of epoch 2, which never completes
    assert result.stopped == "non_finite" and result.n_epochs == 2
    assert len(history["loss"]) == 2 and ("epoch_end", 2) not in [c[:2] for c in recorder.calls]
    best = _best_epoch(recorder)
    for got, want in zip(net.weights(params), recorder.params[best]):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", SOURCES)
def test_a_non_finite_first_step_leaves_the_initial_weights(kind):
    loss = SOURCES[kind]()[2]
    with pytest.warns(RuntimeWarning, match="diverged"):
        net, params, initial, _, _, result, _ = _run(kind, loss_fn=_NanLoss(loss, 0))
    assert result.n_epochs == 0
    for got, want in zip(net.weights(params), net.weights(initial)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", SOURCES)
def test_checkpoints_are_written_at_every_best_epoch(kind, tmp_path):
    path = tmp_path / "model.fastrnn"
    *_, recorder, history, _, model = _run(kind, n_epochs=4, validation=True,
                                           callbacks=[ModelCheckpoint(path)])
    best_epochs = [c[1] for c in recorder.calls if c[0] == "epoch_end" and c[3]]
    assert model.saved == [(str(path), e + 1) for e in best_epochs]
    assert model.saved[-1][1] == int(np.argmin(history["val_loss"])) + 1


@pytest.mark.parametrize("kind", SOURCES)
def test_a_callback_can_stop_training(kind):
    class StopAfterFirst(Callback):
        def on_epoch_end(self, model, epoch, **kw):
            model.stop_training_ = True

    *_, history, result, _ = _run(kind, callbacks=[StopAfterFirst()])
    assert result.stopped == "callback" and result.n_epochs == 1 and len(history["loss"]) == 1


@pytest.mark.parametrize("kind", SOURCES)
def test_early_stopping_restores_the_best_epoch(kind):
    net, params, _, recorder, history, result, _ = _run(
        kind, n_epochs=30, lr=3.0, validation=True, early_stopping=True, n_iter_no_change=1)
    assert result.stopped == "early_stopping" and result.n_epochs < 30
    for got, want in zip(net.weights(params), recorder.params[_best_epoch(recorder)]):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", SOURCES)
def test_a_loss_far_above_its_start_stops_as_diverged_and_restores_the_best_weights(kind):
    net, params, _, recorder, history, result, _ = _run(kind, n_epochs=3)
    assert result.stopped is None  # a normal run is not flagged
    with pytest.warns(RuntimeWarning, match=r"diverged in epoch 2: its loss .* over 10 times"):
        net, params, _, recorder, history, result, _ = _run(kind, n_epochs=30, lr=20.0)
    assert result.stopped == "diverged" and result.n_epochs == 2
    assert len(history["loss"]) == 2  # the diverged epoch is recorded
    # the weights are those of the first epoch, the best one
    for got, want in zip(net.weights(params), recorder.params[0]):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind", SOURCES)
def test_saturated_outputs_with_a_loss_above_its_start_stop_as_diverged(kind):
    # lr=5 raises the loss above its start but not tenfold
    *_, history, result, _ = _run(kind, n_epochs=3, lr=5.0, saturated_fn=lambda outputs: False)
    assert result.stopped is None
    with pytest.warns(RuntimeWarning, match="every output saturated"):
        *_, history, result, _ = _run(kind, n_epochs=3, lr=5.0,
                                      saturated_fn=lambda outputs: True)
    assert result.stopped == "diverged" and len(history["loss"]) == 1
    # saturated outputs of a loss still below its start are a confident model, not divergence
    *_, history, result, _ = _run(kind, n_epochs=3, saturated_fn=lambda outputs: True)
    assert result.stopped is None and len(history["loss"]) == 3


@pytest.mark.parametrize("kind", SOURCES)
def test_divergence_is_measured_against_the_larger_of_the_first_step_and_chance(kind):
    _, _, loss, _ = SOURCES[kind]()
    calls = []

    def easy_first_batch(outputs, y, w):  # the first batch far easier than the rest
        value, grad = loss(outputs, y, w)
        calls.append(value)
        return (value / 100 if len(calls) == 1 else value), grad

    with pytest.warns(RuntimeWarning, match="diverged in epoch 1"):
        *_, result, _ = _run(kind, n_epochs=2, loss_fn=easy_first_batch)
    assert result.stopped == "diverged"
    calls.clear()
    # against the loss of an uninformed prediction, the same epoch is ordinary
    *_, result, _ = _run(kind, n_epochs=2, loss_fn=easy_first_batch, chance_loss=np.log(3))
    assert result.stopped is None


def test_a_regressor_with_a_few_large_targets_late_in_unshuffled_data_does_not_diverge(rng):
    from fastrnn import RNNRegressor

    X = rng.normal(size=(64, 3, 2))
    y = np.full(64, 0.1)
    y[-2:] = 100.0  # the first batch's loss is tiny next to the epoch's
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        reg = RNNRegressor(units=4, max_iter=2, batch_size=8, shuffle=False,
                           random_state=0).fit(X, y)
    assert reg.stopped_reason_ is None and reg.n_iter_ == 2


def test_a_batch_whose_weights_sum_to_zero_is_skipped():
    net, source, loss, _ = _shuffled()
    source.w = np.array([0.0] * 4 + [1.0] * 6)
    source.shuffle = False
    params = net.init_params(np.random.default_rng(0), np.dtype("float64"))
    cfg = TrainConfig(loss_fn=loss, metric_fn=None, metric_name=None, n_epochs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = train(Model(), net, params, SGD(0.5), source, cfg, np.random.default_rng(0))
    assert result.stopped is None and np.isfinite(result.best_loss)


def test_stream_windows_carry_states_within_an_epoch_and_reset_between():
    stream = np.arange(1, 23).reshape(2, 11) % 6 + 1
    source = StreamWindows(stream[:, :-1], stream[:, 1:], 4)
    assert source.n_batches == 3
    for _ in range(2):  # two epochs
        seen = []
        for i, batch in enumerate(source.batches(None)):
            seen.append(batch.states)
            assert batch.packed.data.shape == (4 if i < 2 else 2, 2)
            np.testing.assert_array_equal(batch.y, stream[:, 1:][:, 4 * i:4 * i + 4])
            source.carry(f"state after window {i}")
        assert seen == [None, "state after window 0", "state after window 1"]


def test_shuffled_batches_draw_one_permutation_per_epoch():
    _, source, _, (X, y, _) = _shuffled()
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    batches = list(source.batches(rng))
    order = twin.permutation(len(X))
    assert sorted(np.concatenate([b.y for b in batches]).tolist()) == sorted(y.tolist())
    assert [b.states for b in batches] == [None] * 3
    assert [b.weight for b in batches] == [4.0, 4.0, 2.0]
    assert rng.random() == twin.random()  # nothing else was drawn
    assert sorted(y[order[:4]].tolist()) == sorted(batches[0].y.tolist())


@pytest.mark.parametrize("padding", ["none", "some", "uniform"])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_shuffled_batches_read_the_lengths_once_and_pack_as_each_batch_alone(padding, n_threads,
                                                                              monkeypatch):
    import fastrnn.training as training
    from fastrnn.layers import pack_tokens
    from fastrnn.layers._packing import balanced_order

    rng = np.random.default_rng(0)
    X = rng.integers(1, N_IDS, size=(11, 6))
    if padding == "some":
        X[2, :3] = 0
        X[5, 4:] = 0
    elif padding == "uniform":  # every row two steps long
        X[:, :4] = 0
    reads = []
    real_lengths = training._real_lengths
    monkeypatch.setattr(training, "_real_lengths", lambda X, rows: reads.append(rows) or
                        real_lengths(X, rows))
    source = ShuffledBatches(X, np.arange(11), np.ones(11), 4, input_kind="tokens", n_threads=n_threads)
    for epoch in range(2):
        drawn = training.minibatch_rows(11, 4, np.random.default_rng(epoch))
        for batch, rows in zip(source.batches(np.random.default_rng(epoch)), drawn):
            rows = rows[balanced_order((X[rows] != 0).sum(axis=1), n_threads)]  # per batch
            np.testing.assert_array_equal(batch.y, rows)  # y is the row index
            want = pack_tokens(X[rows])
            for got, expected in zip(batch.packed, want):
                assert got.dtype == expected.dtype
                np.testing.assert_array_equal(got, expected)
            assert batch.packed.data.flags.c_contiguous
    # once for the source, not once per batch and epoch; not at all without padding
    assert len(reads) == (padding != "none")


def test_bptt_truncate_means_the_last_k_steps_of_a_window():
    """``bptt_truncate`` at or above the window is full BPTT in the window; below it differs."""
    def weights(bptt):
        net, params, *_ = _run("stream", n_epochs=1, bptt_truncate=bptt)
        return net.weights(params)

    for a, b in zip(weights(None), weights(4)):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(weights(None), weights(2)))


class _RaiseAt(Callback):
    """Raise ``error`` at the hook ``hook`` of the epoch ``epoch`` (every epoch when None)."""

    def __init__(self, hook, error, epoch=None):
        self.hook, self.error, self.epoch, self.seen = hook, error, epoch, -1

    def on_epoch_begin(self, model, **kw):
        self.seen += 1
        if self.hook == "on_epoch_begin" and self.epoch in (None, self.seen):
            raise self.error

    def on_epoch_end(self, model, **kw):
        if self.hook == "on_epoch_end" and self.epoch in (None, self.seen):
            raise self.error

    def on_train_end(self, model, **kw):
        if self.hook == "on_train_end":
            raise self.error


def test_an_error_in_a_callback_keeps_the_epochs_done_and_their_record():
    """An OSError from on_train_end threw a finished first fit away; one in a warm run's epoch
    left n_iter_ behind history_ (3 against 5), and the next fit counted from there."""
    X, y = make_long_range_task(n_samples=64, n_timesteps=6, distance=2, random_state=0)
    model = RNNClassifier(units=4, embedding_dim=3, max_iter=3, random_state=0,
                          callbacks=[_RaiseAt("on_train_end", OSError("disk full"))])
    with pytest.raises(OSError, match="disk full"):
        model.fit(X, y)
    assert model.n_iter_ == 3 and model.stopped_reason_ == "error"
    assert len(model.predict(X)) == 64
    model.set_params(warm_start=True, callbacks=[_RaiseAt("on_epoch_begin", ValueError("x"), 2)])
    with pytest.raises(ValueError):
        model.fit(X, y)
    assert model.n_iter_ == len(model.history_["loss"]) == len(model.loss_curve_) == 5
    model.set_params(callbacks=None).fit(X, y)
    assert model.n_iter_ == len(model.history_["loss"]) == 8
    fresh = RNNClassifier(units=4, embedding_dim=3, max_iter=3, random_state=0,
                          callbacks=[_RaiseAt("on_epoch_begin", ValueError("y"), 0)])
    with pytest.raises(ValueError):
        fresh.fit(X, y)
    assert not hasattr(fresh, "params_")  # nothing trained: not left half-fitted
    # a refit that trains nothing leaves the fitted model as it was, not a fresh random one
    proba = model.predict_proba(X)
    model.set_params(warm_start=False, callbacks=[_RaiseAt("on_epoch_begin", ValueError("z"), 0)])
    with pytest.raises(ValueError):
        model.fit(X, y)
    assert model.n_iter_ == 8
    np.testing.assert_array_equal(model.predict_proba(X), proba)


def test_a_first_fit_stopped_before_its_first_epoch_ends_has_no_best_epoch():
    X, y = make_long_range_task(n_samples=64, n_timesteps=6, distance=2, random_state=0)
    model = RNNClassifier(units=4, embedding_dim=3, max_iter=3, random_state=0,
                          callbacks=[_RaiseAt("on_epoch_begin", KeyboardInterrupt(), 0)])
    with pytest.warns(RuntimeWarning, match="interrupted"):
        model.fit(X, y)
    assert model.stopped_reason_ == "interrupted" and model.n_iter_ == 0
    assert model.best_epoch_ is None and model.best_loss_ is None


def test_a_forecaster_whose_first_epoch_diverges_returns_with_its_warning():
    """fit raised KeyError: 'loss' (its under-training check read a history without epochs)."""
    with pytest.warns(RuntimeWarning, match="non-finite|diverged"):
        model = RNNForecaster(12, 3, learning_rate=1e3, cell="simple", activation="relu",
                              clipnorm=None, random_state=0).fit(np.sin(np.arange(600) / 5))
    assert model.n_iter_ == 0 and np.isfinite(model.predict()).all()


def _two_tasks():
    rng = np.random.default_rng(0)
    X = rng.integers(1, 20, size=(200, 6))
    Xv = rng.integers(1, 20, size=(60, 6))
    return X, (X[:, -1] > 10).astype(int), Xv, (Xv[:, -1] > 10).astype(int)


def test_history_lists_stay_one_entry_per_epoch_and_best_epoch_indexes_them():
    """A run with validation data after one without appended val_loss from index 0, so
    best_epoch_ (5) was read in val_loss at the wrong epoch (best_loss_ of epoch 2's list slot)."""
    X, y, Xv, yv = _two_tasks()
    clf = RNNClassifier(units=4, embedding_dim=4, max_iter=3, random_state=0, learning_rate=0.02)
    clf.fit(X, y)
    clf.set_params(warm_start=True).fit(X, y, validation_data=(Xv, yv))
    assert {len(v) for v in clf.history_.values()} == {6} and clf.n_iter_ == 6
    assert np.isnan(clf.history_["val_loss"][:3]).all()
    assert np.isfinite(clf.history_["val_loss"][3:]).all()
    assert clf.best_epoch_ >= 3 and clf.best_loss_ == clf.history_["val_loss"][clf.best_epoch_]
    clf.partial_fit(X, y)  # no validation: NaN for this epoch
    assert {len(v) for v in clf.history_.values()} == {7}
    assert np.isnan(clf.history_["val_loss"][6])


def test_a_run_that_diverges_in_its_first_epoch_has_no_best_epoch():
    """best_epoch_ was 0 with the diverged epoch's loss as best_loss_, while the model held its
    starting weights."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6, 2))
    y = 3 * (X[:, -1, 0] + 0.5 * X[:, -2, 1])
    from fastrnn import RNNRegressor
    with pytest.warns(RuntimeWarning, match="diverged|non-finite"):
        model = RNNRegressor(units=8, cell="simple", activation="relu", clipnorm=None,
                             learning_rate=1.0, max_iter=5, random_state=0).fit(X, y)
    assert model.stopped_reason_ in ("diverged", "non_finite") and model.n_iter_ <= 1
    assert model.best_epoch_ is None and model.best_loss_ is None


@pytest.mark.parametrize("extra, key", [({"tol": 0.05}, "val_loss"),
                                        ({"monitor": "val_score"}, "val_accuracy")])
def test_the_auto_schedule_watches_what_early_stopping_watches(extra, key):
    """The plateau schedule watched val_loss with min_delta 1e-4 whatever monitor and tol said,
    so early stopping gave up without the rate ever lowered."""
    X, y, _, _ = _two_tasks()
    clf = RNNClassifier(units=4, embedding_dim=4, max_iter=8, random_state=0,
                        learning_rate=0.002, early_stopping=True, n_iter_no_change=3, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    schedule = ReduceOnPlateau(patience=2, min_delta=clf.tol, monitor=key,
                               mode="max" if key == "val_accuracy" else "min")
    expected = [schedule.learning_rate(0.002, e, 8, {k: v[:e] for k, v in clf.history_.items()})
                for e in range(clf.n_iter_)]
    assert clf.history_["lr"] == pytest.approx(expected)
    # a stall long enough to stop lowers the rate first (it never did under these settings)
    assert clf.stopped_reason_ == "early_stopping" and clf.history_["lr"][-1] < 0.002


def test_an_error_in_a_callback_keeps_the_best_epoch_by_the_monitor():
    """A RuntimeError mid-epoch left weights of a half-done epoch and a best_epoch_ chosen by the
    lowest val_loss whatever monitor said; a KeyboardInterrupt restored the best epoch."""
    X, y, _, _ = _two_tasks()
    seen = []

    class Boom(Callback):
        def on_epoch_end(self, model, epoch, params, **kw):
            seen.append(copy_params(params))

        def on_batch_end(self, model, epoch, batch, **kw):
            if epoch == 3 and batch == 2:
                raise RuntimeError("stop")

    clf = RNNClassifier(units=4, embedding_dim=4, max_iter=6, random_state=0,
                        learning_rate=0.002, early_stopping=True, monitor="val_score",
                        n_iter_no_change=5, callbacks=[Boom()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="stop"):
            clf.fit(X, y)
    assert clf.stopped_reason_ == "error" and clf.n_iter_ == 3
    scores = clf.history_["val_accuracy"]
    best = 0
    for e in range(1, 3):
        if scores[e] > scores[best] + clf.tol:
            best = e
    assert clf.best_epoch_ == best
    np.testing.assert_array_equal(clf.params_["dense"]["kernel"], seen[best]["dense"]["kernel"])


def test_val_loss_includes_the_l2_penalty_as_the_training_loss_does():
    X, y, _, _ = _two_tasks()
    losses = {}
    for alpha in (0.0, 0.1):
        clf = RNNClassifier(units=4, embedding_dim=4, max_iter=1, random_state=0, alpha=alpha,
                            learning_rate=1e-12, dtype="float64", shuffle=False,
                            batch_size=200).fit(X, y, validation_data=(X, y))
        losses[alpha] = clf.history_["loss"][0], clf.history_["val_loss"][0]
    assert losses[0.1][1] > losses[0.0][1] + 0.1  # the penalty is in
    assert losses[0.1][1] == pytest.approx(losses[0.1][0], rel=1e-6)  # same data, same weights


def test_checkpoint_path_problems_are_refused_before_training(tmp_path, monkeypatch):
    """A directory, or a schedule of one's own (which save cannot store), failed after the
    first epoch had trained; './' gave 'Device or resource busy'."""
    import dataclasses

    from fastrnn.schedules import Schedule

    @dataclasses.dataclass(frozen=True)
    class Halving(Schedule):
        def learning_rate(self, base, epoch, n_epochs, history):
            return base * 0.5 ** epoch

    X, y, _, _ = _two_tasks()
    monkeypatch.chdir(tmp_path)
    cases = [({"checkpoint_path": str(tmp_path)}, "is a directory"),
             ({"checkpoint_path": "./"}, "is a directory"),
             ({"checkpoint_path": tmp_path / "m.fastrnn", "lr_schedule": Halving()},
              "could not be written: cannot save parameter 'lr_schedule'")]
    for extra, message in cases:
        seen = []

        class Count(Callback):
            def on_epoch_end(self, model, **kw):
                seen.append(1)

        clf = RNNClassifier(units=4, embedding_dim=4, max_iter=2, random_state=0,
                            callbacks=[Count()], **extra)
        with pytest.raises(ValueError, match=f"^checkpoint_path: .*{message}"):
            clf.fit(X, y)
        assert not seen and not hasattr(clf, "params_")


def test_a_checkpoint_is_written_before_the_callbacks_and_without_warnings(tmp_path):
    """The checkpoint ran after the user's callbacks (one raising skipped that epoch's file) and
    warned 'callbacks are not saved' at every improving epoch, located in fastrnn."""
    import fastrnn

    X, y, _, _ = _two_tasks()

    class Boom(Callback):
        def on_epoch_end(self, model, epoch, **kw):
            if epoch == 2:
                raise RuntimeError("boom")

    path = tmp_path / "ck.fastrnn"
    clf = RNNClassifier(units=4, embedding_dim=4, max_iter=5, random_state=0, learning_rate=0.02,
                        callbacks=[Boom()], checkpoint_path=path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError, match="boom"):
            clf.fit(X, y)
    assert not [w for w in caught if "callbacks are not saved" in str(w.message)]
    assert fastrnn.load(path).n_iter_ == 3 == clf.n_iter_


def test_callbacks_holding_a_file_or_a_lock_survive_clone(tmp_path):
    import threading

    from sklearn.base import clone

    class FileLog(Callback):
        def __init__(self, fh):
            self.fh = fh
            self.lock = threading.Lock()

        def on_epoch_end(self, model, epoch, **kw):
            with self.lock:
                self.fh.write(f"{epoch}\n")

    X, y, _, _ = _two_tasks()
    with open(tmp_path / "log.txt", "w") as fh:
        callback = FileLog(fh)
        est = RNNClassifier(units=4, embedding_dim=4, max_iter=2, callbacks=[callback])
        copy_ = clone(est)
        assert copy_.callbacks[0] is callback  # shared: it cannot be copied
        copy_.fit(X, y)
    assert (tmp_path / "log.txt").read_text() == "0\n1\n"


def test_a_validation_fraction_leaving_no_training_rows_is_named_by_the_classifier():
    X, y, _, _ = _two_tasks()
    with pytest.raises(ValueError, match="lower validation_fraction"):
        RNNClassifier(units=4, max_iter=1, early_stopping=True,
                      validation_fraction=0.999).fit(X, y)


def test_a_metricless_models_validation_score_stays_its_score_under_l2():
    from fastrnn import RNNLanguageModel

    texts = ["abcabcabc", "bcabcabca", "cabcabcab"] * 4
    lm = RNNLanguageModel(units=4, max_iter=2, alpha=0.1, window=4, random_state=0)
    lm.fit(texts, validation_data=texts[:3])
    assert lm.validation_scores_[-1] == pytest.approx(lm.score(texts[:3]), rel=1e-5)


def test_a_fresh_refit_that_diverges_at_once_has_no_best_epoch_of_the_earlier_fit():
    from fastrnn import RNNRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6, 2))
    y = 3 * (X[:, -1, 0] + 0.5 * X[:, -2, 1])
    kwargs = dict(units=8, cell="simple", activation="relu", clipnorm=None, random_state=0)
    model = RNNRegressor(**kwargs, max_iter=1).fit(X, y)
    assert model.best_epoch_ == 0
    with pytest.warns(RuntimeWarning, match="diverged|non-finite"):
        model.set_params(learning_rate=1.0, max_iter=5).fit(X, y)
    assert model.best_epoch_ is None and model.best_loss_ is None


def test_a_saved_history_with_a_shorter_entry_is_aligned_at_its_end():
    """Before entries were kept one per epoch, val_loss began with the first fit that had
    validation data: its values are the last epochs', so the gap goes in front."""
    from fastrnn.training import log_epoch

    history = {"loss": [1.0, 0.9, 0.8], "val_loss": [0.7]}
    log_epoch(history, {"loss": 0.6, "val_loss": 0.65})
    assert history["loss"] == [1.0, 0.9, 0.8, 0.6]
    assert np.isnan(history["val_loss"][:2]).all() and history["val_loss"][2:] == [0.7, 0.65]


def test_a_checkpoint_directory_that_cannot_be_written_is_refused_before_training(
        tmp_path, monkeypatch):
    import os

    X, y, _, _ = _two_tasks()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(tmp_path)
                        else real_access(path, mode))
    with pytest.raises(ValueError, match="checkpoint_path: directory .* is not writable"):
        RNNClassifier(units=4, max_iter=1, checkpoint_path=tmp_path / "m.fastrnn").fit(X, y)


def test_a_warm_fit_diverging_at_once_names_the_epoch_whose_weights_it_holds():
    rng = np.random.default_rng(0)
    X = rng.integers(1, 20, size=(64, 10))
    y = ((X > 10).sum(1) > 5).astype(int)
    kw = dict(units=8, embedding_dim=4, optimizer="sgd", learning_rate=10.0, n_threads=1, random_state=0)
    m = RNNClassifier(max_iter=5, **kw).fit(X, y)
    assert m.best_epoch_ != 4  # the first fit's best is not its last epoch, which the model holds
    last = [w.copy() for w in m.get_weights()]
    m.set_params(warm_start=True, learning_rate=1e4, clipnorm=None)
    with pytest.warns(RuntimeWarning, match="diverged"):
        m.fit(X, y)
    assert m.stopped_reason_ == "diverged"
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), last))
    assert m.best_epoch_ == 4 and m.best_loss_ == m.history_["loss"][4]


def test_early_stopping_split_keeps_every_class_in_training():
    from fastrnn.estimators._base import split_keeping_classes

    labels = np.zeros(40, int)
    labels[7] = 1
    for seed in range(20):
        train, held_out = split_keeping_classes(40, 0.5, seed, labels)
        assert 7 in train and len(held_out) > 0
        assert sorted(np.concatenate([train, held_out])) == list(range(40))
    # the classifier's own split, for seeds where a plain random split held class 1 out
    X = np.random.default_rng(0).integers(1, 20, size=(40, 10))
    m = RNNClassifier(validation_fraction=0.5)
    for seed in range(20):
        (_, y_train, _), (_, y_held, _) = m._split_validation(
            (X, labels, np.ones(40)), np.random.default_rng(seed))
        assert 1 in y_train and len(y_held) > 0


def test_non_finite_outputs_are_announced_at_predict():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 200, 2))
    m = RNNClassifier(cell="simple", activation="relu", units=8, max_iter=1, n_threads=1,
                      random_state=0).fit(X, (X[:, -1, 0] > 0).astype(int))
    W = m.get_weights()
    W[0], W[1], W[2] = np.abs(W[0]), 3 * np.eye(8, dtype=W[1].dtype), np.abs(W[2]) + 1
    m.set_weights(W)
    with pytest.warns(RuntimeWarning, match="network outputs are not finite"):
        m.predict(np.abs(X[:3]))


def _restored_by_early_stopping():
    """``(X, y, model)``: a fit whose early stopping restored an epoch before its last."""
    rng = np.random.default_rng(0)
    X = rng.integers(1, 20, (60, 6))
    y = (X[:, 0] > 10).astype(int)
    m = RNNClassifier(units=4, embedding_dim=3, max_iter=6, early_stopping=True, n_iter_no_change=10,
                      validation_fraction=0.3, learning_rate=0.05, n_threads=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(X, y)
    return X, y, m


def test_a_warm_fit_without_early_stopping_after_one_with_it_names_the_restored_epoch():
    """The previous run restored its best epoch; a warm run without early stopping that diverges
    at once keeps those weights, and best_epoch_ says so (it named the previous run's last)."""
    X, y, m = _restored_by_early_stopping()
    best = m.best_epoch_
    assert best != m.n_iter_ - 1
    held = [w.copy() for w in m.get_weights()]
    m.set_params(warm_start=True, early_stopping=False, learning_rate=1e8, optimizer="sgd", max_iter=1)
    with pytest.warns(RuntimeWarning, match="diverged"):
        m.fit(X, y)
    assert all(np.array_equal(a, b) for a, b in zip(held, m.get_weights()))
    assert m.best_epoch_ == best


def test_weights_epoch_names_the_weights_held_after_save_and_a_failing_callback(tmp_path):
    import fastrnn

    X, y, m = _restored_by_early_stopping()
    assert m.weights_epoch_ == m.best_epoch_
    loaded = fastrnn.load(m.save(tmp_path / "m.fastrnn"))
    assert loaded.weights_epoch_ == m.best_epoch_
    loaded.set_params(warm_start=True, early_stopping=False, learning_rate=1e8, optimizer="sgd",
                      max_iter=1)
    with pytest.warns(RuntimeWarning, match="diverged"):
        loaded.fit(X, y)
    assert loaded.best_epoch_ == m.best_epoch_

    class FailsAtTheEnd(Callback):
        def on_train_end(self, model, logs=None):
            raise OSError("disk full")

    f = RNNClassifier(units=4, embedding_dim=3, max_iter=4, learning_rate=0.5, n_threads=1,
                      random_state=0, callbacks=[FailsAtTheEnd()])
    with pytest.raises(OSError, match="disk full"):
        f.fit(X, y)
    assert f.weights_epoch_ == 3  # nothing was restored: the last epoch's weights
