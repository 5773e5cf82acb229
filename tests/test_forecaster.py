"""RNNForecaster: shapes, covariates, panels, quantiles, recursion, scaling, errors and persistence."""

import copy
import json
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import (check_get_params_invariance,
                                            check_no_attributes_set_in_init,
                                            check_parameters_default_constructible, check_set_params)

import fastrnn
from fastrnn import RNNForecaster
from _modelfile import reseal, rewrite
from fastrnn.timeseries import make_windows

FAST = dict(units=6, max_iter=2, batch_size=16, random_state=0)


def _series(n=200, seed=0):
    t = np.arange(n)
    return np.sin(2 * np.pi * t / 12) + 0.05 * np.random.default_rng(seed).normal(size=n)


def test_positional_lookback_and_horizon_and_sklearn_params():
    f = RNNForecaster(24, 6, units=8)
    assert (f.lookback, f.horizon, f.units) == (24, 6, 8)
    assert clone(f).get_params() == f.get_params()
    with pytest.raises(TypeError, match="multiple values"):
        RNNForecaster(24, lookback=12)


@pytest.mark.parametrize("check", [check_parameters_default_constructible, check_no_attributes_set_in_init,
                                   check_get_params_invariance, check_set_params],
                         ids=lambda c: c.__name__)
def test_scikit_learn_parameter_checks(check):
    # the checks of parametrize_with_checks that do not call fit(X, y): fit takes series
    check("RNNForecaster", RNNForecaster(12, 3, units=4))


def test_one_series_predicts_the_horizon_from_the_training_end_or_a_given_history():
    y = _series()
    f = RNNForecaster(12, 4, **FAST).fit(y)
    assert f.predict().shape == (4,)
    np.testing.assert_allclose(f.predict(horizon=2), f.predict()[:2])
    # predict(y) with the training series is predict() (same statistics, same last steps)
    np.testing.assert_allclose(f.predict(y), f.predict(), rtol=1e-5)
    assert not np.allclose(f.predict(y[:-5]), f.predict())


def test_training_windows_are_gathered_per_batch_as_make_windows_writes_them():
    y = _series(60)
    f = RNNForecaster(5, 3, scale=False, center_windows=False, dtype="float64", **FAST)
    source = f._fit_data((y, None), None, None, None, reset=True)
    W, t = make_windows(y, 5, 3)
    rows = np.arange(len(W))
    np.testing.assert_array_equal(source[rows], W)
    np.testing.assert_array_equal(source.window_targets(rows), t)
    assert source.values.shape == (60, 1)


def test_centred_windows_and_targets_are_relative_to_the_window_mean():
    y = _series(60)
    f = RNNForecaster(5, 3, scale=False, dtype="float64", **FAST)
    source = f._fit_data((y, None), None, None, None, reset=True)
    W, t = make_windows(y, 5, 3)
    rows = np.arange(3, len(W), 2)
    level = W[rows].mean(axis=1)
    np.testing.assert_allclose(source[rows], W[rows] - level[:, None], atol=1e-12)
    np.testing.assert_allclose(source.window_targets(rows), t[rows] - level, atol=1e-12)
    # the held-out part keeps the centring
    np.testing.assert_allclose(source.subset(rows)[np.arange(2)], W[rows[:2]] - level[:2, None],
                               atol=1e-12)


@pytest.mark.parametrize("center", [True, False], ids=["centred", "uncentred"])
def test_chance_loss_is_the_variance_of_the_targets_the_loss_is_on(center):
    y = np.linspace(0, 100, 300) + _series(300)  # a trend: centred targets vary far less
    f = RNNForecaster(12, 3, center_windows=center, dtype="float64", **FAST)
    source = f._fit_data((y, None), None, None, None, reset=True)
    targets = source.window_targets()
    assert f._chance_loss(source) == pytest.approx(targets.var(axis=0).mean(), rel=1e-12)
    if center:
        assert f._chance_loss(source) < 0.01 * source.values.var()
    # past the sample size, a spread sample of windows estimates it
    long = f._fit_data((np.linspace(0, 100, 3000) + _series(3000), None), None, None, None,
                       reset=True)
    full = long.window_targets().var(axis=0).mean()
    assert len(long.starts) > 2048 and f._chance_loss(long) == pytest.approx(full, rel=0.2)


@pytest.mark.parametrize("recursive", [False, True])
def test_centred_forecasts_follow_a_shift_of_the_level(recursive):
    # centred windows make the network blind to the level: a shifted history shifts the forecast
    y = _series()
    kw = dict(FAST, dtype="float64", scale=False, recursive=recursive)
    f = RNNForecaster(12, 3, **kw).fit(y)
    np.testing.assert_allclose(f.predict(y + 7.0), f.predict(y) + 7.0, rtol=1e-9)
    g = RNNForecaster(12, 3, center_windows=False, **kw).fit(y)
    assert not np.allclose(g.predict(y + 7.0), g.predict(y) + 7.0, rtol=1e-2)


def test_centred_windows_beat_uncentred_ones_on_a_trend_beyond_the_training_range():
    t = np.arange(400)
    y = 0.01 * t + np.sin(2 * np.pi * t / 12)
    kw = dict(units=8, max_iter=8, learning_rate=0.01, random_state=0)
    errors = {}
    for center in (True, False):
        f = RNNForecaster(24, 6, center_windows=center, **kw).fit(y[:300])
        errors[center] = np.mean([np.abs(f.predict(y[:o]) - y[o:o + 6]).mean()
                                  for o in range(330, 394, 6)])
    assert errors[True] < 0.5 * errors[False]


def test_multivariate_series_and_panel_shapes():
    y = _series()
    f = RNNForecaster(10, 3, **FAST).fit(np.c_[y, 2 * y])
    assert f.predict().shape == (3, 2)
    panel = [y[:80], y[30:200], 5 + y[:50]]
    g = RNNForecaster(10, 3, **FAST).fit(panel)
    assert g.n_series_ == 3 and g.predict().shape == (3, 3)
    assert g.predict([y[:40], y[:60]]).shape == (2, 3)


def test_covariates_enter_as_future_steps_and_are_required_at_predict():
    y = _series()
    X = np.c_[np.cos(np.arange(200) / 3.0)]
    f = RNNForecaster(10, 4, **FAST).fit(y, X)
    assert (f.n_timesteps_, f.n_step_features_) == (14, 3)  # 10 past + 4 future; y, x, flag
    p = f.predict(X=X[:4])
    assert p.shape == (4,)
    assert not np.allclose(p, f.predict(X=X[:4] + 3))  # future covariates change the forecast
    assert f.predict(y[:150], X[:154]).shape == (4,)
    with pytest.raises(ValueError, match="X is missing"):
        f.predict()
    with pytest.raises(ValueError, match=r"shape \(4, 1\)"):
        f.predict(X=X[:3])
    with pytest.raises(ValueError, match="X has 150 steps but y has 150: covariates must cover"):
        f.predict(y[:150], X[:150])
    with pytest.raises(ValueError, match="X has 199 steps but y has 200"):
        RNNForecaster(10, 4, **FAST).fit(y, X[1:])
    # a shorter horizon reads only the covariates of its own steps
    assert f.predict(X=X[:2], horizon=2).shape == (2,)


def test_quantiles_are_sorted_and_predict_returns_the_median():
    y = _series()
    f = RNNForecaster(12, 3, quantiles=(0.9, 0.1, 0.5), **FAST).fit(y * 100)
    q = f.predict_quantiles()
    assert q.shape == (3, 3)
    assert (np.diff(q, axis=1) >= 0).all()
    np.testing.assert_array_equal(f.quantiles_, [0.1, 0.5, 0.9])
    np.testing.assert_allclose(f.predict(), q[:, 1])
    assert "r2" not in f.history_
    with pytest.raises(ValueError, match="predict_quantiles needs"):
        RNNForecaster(12, **FAST).fit(y).predict_quantiles()


def test_recursive_forecasts_any_horizon_from_a_one_step_model():
    y = _series()
    f = RNNForecaster(12, 3, recursive=True, **FAST).fit(y)
    assert f.model_horizon_ == 1 and f._network().n_outputs == 1
    p = f.predict(horizon=7)
    assert p.shape == (7,)
    np.testing.assert_allclose(p[:3], f.predict())
    with pytest.raises(ValueError, match="horizon=5 is beyond"):
        RNNForecaster(12, 3, **FAST).fit(y).predict(horizon=5)


def test_scaling_makes_raw_units_train_as_standardised_ones():
    y = _series()
    kw = dict(FAST, dtype="float64")
    a = RNNForecaster(12, 3, **kw).fit(y).predict()
    b = RNNForecaster(12, 3, **kw).fit(1000 * y + 50).predict()
    np.testing.assert_allclose(b, 1000 * a + 50, rtol=1e-6)
    raw = RNNForecaster(12, 3, scale=False, **kw).fit(1000 * y + 50).predict()
    assert not np.allclose(raw, b, rtol=1e-2)


def test_learns_a_seasonal_series_better_than_the_naive_forecast():
    y = _series(600, seed=1)
    f = RNNForecaster(12, 6, units=16, max_iter=12, learning_rate=0.01, random_state=0).fit(y[:-6])
    err = np.abs(f.predict() - y[-6:]).mean()
    naive = np.abs(y[-7] - y[-6:]).mean()
    assert err < 0.5 * naive


def test_partial_fit_and_warm_start_continue_training():
    y = _series()
    f = RNNForecaster(12, 2, **FAST).partial_fit(y)
    first = [w.copy() for w in f.get_weights()]
    f.partial_fit(y)
    assert f.n_iter_ == 2 and not np.allclose(first[0], f.get_weights()[0])
    g = RNNForecaster(12, 2, warm_start=True, **FAST).fit(y)
    g.fit(y)
    assert g.n_iter_ == 4
    with pytest.raises(ValueError, match="change the network's shape"):
        g.set_params(horizon=3).fit(y)


def test_update_moves_the_history_on():
    y = _series()
    f = RNNForecaster(12, 2, **FAST).fit(y[:150])
    f.update(y[150:])
    np.testing.assert_array_equal(f.y_last_[0, :, 0], y[-12:])
    np.testing.assert_allclose(f.predict(), RNNForecaster(12, 2, **FAST).fit(y[:150])
                               .predict(y), rtol=0.1, atol=0.05)


def test_update_refuses_covariates_or_columns_the_fit_did_not_have():
    y = _series()
    f = RNNForecaster(12, 2, **FAST).fit(y[:150])
    with pytest.raises(ValueError, match="X was given, but the model was fitted without covariates"):
        f.update(y[150:], X=np.zeros((50, 1)))
    with pytest.raises(ValueError, match=r"y has shape \(50, 2\), the model was fitted on series of 1"):
        f.update(np.c_[y[150:], y[150:]])
    g = RNNForecaster(12, 2, **FAST).fit(y[:150], X=np.c_[y[:150]])
    with pytest.raises(ValueError, match="X has 2 columns, the model was fitted with 1"):
        g.update(y[150:], X=np.zeros((50, 2)))
    np.testing.assert_array_equal(f.y_last_[0, :, 0], y[138:150])  # refused updates change nothing


def test_early_stopping_holds_out_the_end_of_each_series():
    y = _series()
    f = RNNForecaster(12, 3, early_stopping=True, validation_fraction=0.2, n_iter_no_change=1,
                      units=4, max_iter=3, random_state=0)
    data = f._fit_data(([y[:100], y], None), None, None, None, reset=True)
    train, (val, yv, wv) = f._split_validation(data, None)
    assert len(val) == 18 + 38 and yv.shape == (56, 3)
    # in each series, the training windows' targets end before the first held-out target
    for lo, hi in [(0, 100), (100, 300)]:
        tr = train.starts[(train.starts >= lo) & (train.starts < hi)]
        va = val.starts[(val.starts >= lo) & (val.starts < hi)]
        assert tr.max() + 12 + 3 == va.min() + 12
    with pytest.warns(Warning):
        f.fit(y)
    assert "val_loss" in f.history_


@pytest.mark.parametrize("call, message", [
    (lambda y: RNNForecaster(250, **FAST).fit(y), "lookback=250 is too long for y"),
    (lambda y: RNNForecaster(10, 0, **FAST).fit(y), "'horizon' parameter"),
    (lambda y: RNNForecaster(10, **FAST).fit([y, y[:5]]), r"too long for y\[1\]"),
    (lambda y: RNNForecaster(10, **FAST).fit(np.ones(50)), "y is constant"),
    (lambda y: RNNForecaster(10, **FAST).fit(np.c_[y, np.ones(200)]), "y is constant in column 1"),
    (lambda y: RNNForecaster(10, **FAST).fit(np.where(np.arange(200) == 7, np.nan, y)),
     "y contains NaN"),
    (lambda y: RNNForecaster(10, **FAST).fit(y).predict(horizon=0), "horizon must be an int >= 1"),
    (lambda y: RNNForecaster(10, **FAST).fit(y).predict(y[:5]), "fewer than lookback=10"),
    (lambda y: RNNForecaster(10, **FAST).fit(y).predict(X=np.zeros((1, 1))), "without covariates"),
    (lambda y: RNNForecaster(10, quantiles=(0.5, 1.5), **FAST).fit(y), "quantiles must be"),
    (lambda y: RNNForecaster(10, quantiles=(0.5,), recursive=True, **FAST).fit(y),
     "quantiles need recursive=False"),
    (lambda y: RNNForecaster(10, **FAST).fit(np.array([])), r"y is empty \(shape \(0,\)\)"),
    (lambda y: RNNForecaster(10, **FAST).fit(np.zeros((200, 0))), "y is empty"),
    (lambda y: RNNForecaster(10, **FAST).fit(y, np.zeros((200, 0))), "X is empty"),
    (lambda y: RNNForecaster(10, **FAST).fit(y).update(np.array([])), "y is empty"),
    (lambda y: RNNForecaster(10, **FAST).fit(y + 0.5j), "y must be real"),
    (lambda y: RNNForecaster(1, **FAST).fit(y), "lookback=1 with center_windows=True"),
])
def test_bad_input_raises_a_clear_error(call, message):
    with pytest.raises((ValueError, InvalidParameterError), match=message):
        call(_series())


def test_a_list_of_numbers_is_one_series_as_for_make_windows():
    y = _series()
    a = RNNForecaster(10, 3, **FAST).fit(list(y))
    b = RNNForecaster(10, 3, **FAST).fit(y)
    assert not a.panel_ and a.n_series_ == 1
    np.testing.assert_array_equal(a.predict(), b.predict())
    np.testing.assert_array_equal(a.predict(list(y[:50])), b.predict(y[:50]))


@pytest.mark.parametrize("unit", [1e-12, 1e12])
def test_scaling_is_relative_so_tiny_or_huge_units_are_not_constant(unit):
    y = _series()
    f = RNNForecaster(10, 3, **FAST).fit(y * unit)
    np.testing.assert_allclose(f.predict() / unit, RNNForecaster(10, 3, **FAST).fit(y).predict(),
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="y is constant"):
        RNNForecaster(10, **FAST).fit(unit * (1.0 + 1e-15 * np.sin(np.arange(50))))


def test_constant_series_trains_without_scaling():
    assert np.isfinite(RNNForecaster(10, scale=False, **FAST).fit(np.ones(50)).predict()).all()


def test_save_load_and_pickle_round_trip_across_backends(tmp_path):
    y = _series()
    X = np.c_[np.arange(200.0)]
    f = RNNForecaster(10, 3, quantiles=(0.2, 0.5, 0.8), **FAST).fit([y, y[:120]], [X, X[:120]])
    future = [X[:3], X[:3]]
    expected = f.predict_quantiles(X=future)
    g = fastrnn.load(fastrnn.save(f, tmp_path / "f.fastrnn"))
    np.testing.assert_array_equal(g.predict_quantiles(X=future), expected)
    h = pickle.loads(pickle.dumps(f))
    with fastrnn.use_backend("numpy"):
        np.testing.assert_allclose(h.predict_quantiles(X=future), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("section, key, value, message", [
    ("params", "lookback", 30, "n_timesteps_"),
    ("params", "recursive", True, "model_horizon_"),
    ("fitted", "n_series_", 4, "n_series_=4"),
    ("fitted", "y_ndim_", 3, "y_ndim_=3"),
    ("fitted", "quantiles_", [0.5], "quantiles_"),
])
def test_load_refuses_fitted_attributes_that_disagree(tmp_path, section, key, value, message):
    """Each of these edits loaded before the forecaster checked its state (found by editing files)."""
    path = fastrnn.save(RNNForecaster(10, 3, **FAST).fit(_series()), tmp_path / "f.fastrnn")

    def edit(name, data):
        if name != "config.json":
            return data
        config = json.loads(data)
        config["model"][section][key] = value
        return json.dumps(config).encode()

    bad = tmp_path / "bad.fastrnn"
    rewrite(path, bad, edit)
    reseal(bad)
    with pytest.raises(fastrnn.ModelFileError, match=message):
        fastrnn.load(bad)


def test_a_longer_history_of_a_trend_is_scaled_as_its_training_part():
    """Scaled by each history's own standard deviation, which grows with the length of a trend,
    the forecasts from the whole history, its last lookback steps and the training statistics
    (update) differed by 25-60 in steps of 2."""
    y = 2.0 * np.arange(700) + np.random.default_rng(6).normal(size=700)
    f = RNNForecaster(24, 12, units=16, max_iter=6, random_state=0).fit(y[:400])
    whole, last = f.predict(y[:688]), f.predict(y[664:688])
    f.update(y[400:688])
    np.testing.assert_allclose(whole, f.predict(), atol=0.05)
    np.testing.assert_allclose(last, f.predict(), atol=0.05)


def test_a_fit_that_ends_while_the_loss_still_falls_fast_warns():
    """A short series gives few batches per epoch: 10 epochs of 4 batches left an airline-like
    series worse than the seasonal-naive forecast, without a word."""
    from sklearn.exceptions import ConvergenceWarning

    y = _series(120)
    with pytest.warns(ConvergenceWarning, match=r"still fell by .* max_iter=4 epochs"):
        RNNForecaster(12, 3, units=6, max_iter=4, random_state=0).fit(y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        RNNForecaster(12, 3, units=6, max_iter=2, random_state=0).fit(y)  # too few epochs to say
        RNNForecaster(12, 3, units=6, max_iter=4, random_state=0).partial_fit(y)
        RNNForecaster(12, 3, units=6, max_iter=60, learning_rate=0.01, random_state=0).fit(y)


def test_scaling_parameters_set_after_fit_are_refused_at_predict():
    f = RNNForecaster(10, 3, **FAST).fit(_series())
    for name, value in [("scale", False), ("center_windows", False), ("recursive", True)]:
        g = clone(f).set_params(**{name: value})
        g.__dict__.update({k: v for k, v in vars(f).items() if k.endswith("_")})
        with pytest.raises(ValueError, match=f"{name}={value}.*set them back, or refit"):
            g.predict()


def test_a_constant_history_forecasts_from_its_level():
    f = RNNForecaster(10, 3, **FAST).fit([_series(), _series(seed=1)])
    out = f.predict([_series(), np.full(40, 5000.0)])
    assert np.isfinite(out).all() and np.abs(out[1] - 5000).max() < 10


def test_a_file_without_the_scaling_record_loads_with_the_series_scaling(tmp_path):
    f = RNNForecaster(10, 3, **FAST).fit(_series())
    path = fastrnn.save(f, tmp_path / "f.fastrnn")

    def edit(name, data):
        if name != "config.json":
            return data
        config = json.loads(data)
        for key in ("y_scaling_", "center_windows_", "recursive_"):
            del config["model"]["fitted"][key]
        return json.dumps(config).encode()

    old = tmp_path / "old.fastrnn"
    rewrite(path, old, edit)
    reseal(old)
    g = fastrnn.load(old)
    assert g.y_scaling_ == "series"
    np.testing.assert_array_equal(g.predict(), f.predict())
    history = _series()[:150]  # a given history is scaled by its standard deviation, as then
    as_then = copy.deepcopy(f)
    as_then.y_scaling_ = "series"
    np.testing.assert_array_equal(g.predict(history), as_then.predict(history))
    assert not np.allclose(g.predict(history), f.predict(history))
    g.partial_fit(_series(seed=1))  # continued training keeps the scaling its weights know
    assert g.y_scaling_ == "series" and np.isclose(g.y_scale_[0, 0], _series(seed=1).std())


def test_command_line_predict_refuses_a_forecaster(tmp_path, capsys):
    from fastrnn.cli import main

    path = fastrnn.save(RNNForecaster(lookback=6, **FAST).fit(_series(60)), tmp_path / "f.frnn")
    inputs = tmp_path / "X.npz"
    np.savez(inputs, x=np.ones((2, 3), dtype=np.int64))
    assert main(["predict", str(path), str(inputs)]) == 2
    assert "forecaster: use it from Python" in capsys.readouterr().err


@pytest.mark.parametrize("change", [{"center_windows": False}, {"scale": False}])
def test_warm_start_refuses_another_scaling(change):
    y = _series()
    f = RNNForecaster(12, 2, warm_start=True, **FAST).fit(y)
    weights = [w.copy() for w in f.get_weights()]
    with pytest.raises(ValueError, match="fit from scratch"):
        f.set_params(**change).fit(1000 * y)
    # the model is left as it was, and still saves, loads and forecasts
    assert all(np.array_equal(a, b) for a, b in zip(weights, f.get_weights()))
    f.set_params(center_windows=True, scale=True)
    assert np.isfinite(f.predict()).all()


def test_nested_list_of_rows_is_one_series_as_in_make_windows():
    rows = np.random.default_rng(0).normal(size=(120, 3)).cumsum(0)
    with pytest.warns(UserWarning, match="read as one series of 120 steps and 3 columns"):
        f = RNNForecaster(6, 2, **FAST).fit(rows.tolist())
    g = RNNForecaster(6, 2, **FAST).fit(rows)
    assert not f.panel_ and f.predict().shape == (2, 3)
    np.testing.assert_allclose(f.predict(), g.predict())
    np.testing.assert_allclose(f.predict(y=rows[:100].tolist()), g.predict(y=rows[:100]))
    assert make_windows(rows.tolist(), 6, 2)[1].shape == (113, 2, 3)
    # a panel model reads a list of plain lists as its series
    panel = RNNForecaster(6, 2, **FAST).fit([rows[:60, 0], rows[:80, 1]])
    assert panel.predict(y=[rows[:60, 0].tolist(), rows[:60, 1].tolist()]).shape == (2, 2)
    with pytest.raises(ValueError, match="nested list of equal-length rows"), \
            pytest.warns(UserWarning, match="a list of arrays for a panel"):
        RNNForecaster(6, 2, **FAST).fit([list(range(100)), list(range(100))])


def test_timestamps_are_refused_as_values():
    t = np.arange("2024-01-01T00", "2024-01-13T00", dtype="datetime64[h]")
    with pytest.raises(ValueError, match="y must hold the series' values, got datetime64"):
        RNNForecaster(12, 2, **FAST).fit(t)
    with pytest.raises(ValueError, match="timestamps"):
        make_windows(t, 4)


def test_point_forecast_without_the_median_quantile_is_interpolated():
    y = _series()
    f = RNNForecaster(12, 3, quantiles=(0.1, 0.9), **FAST).fit(y)
    np.testing.assert_allclose(f.predict(), f.predict_quantiles().mean(axis=1))
    g = RNNForecaster(12, 3, quantiles=(0.05, 0.3, 0.95), **FAST).fit(y)
    q = g.predict_quantiles()
    np.testing.assert_allclose(g.predict(), q[:, 1] + (0.2 / 0.65) * (q[:, 2] - q[:, 1]))
    h = RNNForecaster(12, 3, quantiles=(0.1, 0.2), **FAST).fit(y)
    np.testing.assert_array_equal(h.predict(), h.predict_quantiles()[:, 1])


def test_given_history_scales_covariates_with_the_training_statistics():
    rng = np.random.default_rng(0)
    n = 300
    flag = (rng.random(n + 2) < 0.1).astype(float)
    y = np.sin(np.arange(n) / 4) + 3 * flag[:n] + 0.05 * rng.normal(size=n)
    f = RNNForecaster(12, 2, **FAST).fit(y[:200], X=flag[:200])
    # covariates before the last lookback steps do not enter the network, nor its scaling
    other = flag.copy()
    other[200:260] = 1.0
    np.testing.assert_array_equal(f.predict(y=y[200:n], X=flag[200:]),
                                  f.predict(y=y[200:n], X=other[200:]))


def test_score_forecasts_the_steps_after_the_history_in_blocks():
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

    y = _series(300)
    f = RNNForecaster(12, 4, **FAST).fit(y[:250])
    last = f.y_last_.copy()
    m, preds = copy.deepcopy(f), []
    for s in range(0, 30, 4):
        preds.append(m.predict(horizon=min(4, 30 - s)))
        m.update(y[250 + s:254 + s])
    assert f.score(y[250:280]) == pytest.approx(r2_score(y[250:280], np.concatenate(preds)))
    np.testing.assert_array_equal(f.y_last_, last)  # scoring leaves the history as it was
    search = GridSearchCV(RNNForecaster(12, 4, **FAST), {"lookback": [6, 12]},
                          cv=TimeSeriesSplit(2, test_size=24)).fit(y)
    assert search.best_params_["lookback"] in (6, 12)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    with pytest.raises(ValueError, match="backtest"):
        RNNForecaster(12, 4, **FAST).fit([y[:100], y[:120]]).score(y[:10])
