"""fastrnn.timeseries (windows, the window batch source, backtest) and the pinball loss."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

import fastrnn
from _model import numeric_grad
from fastrnn import RNNForecaster, RNNRegressor
from fastrnn.layers import Recurrent, SequenceModel, pack_dense
from fastrnn.losses import pinball_loss
from fastrnn.timeseries import SeriesWindows, backtest, make_windows, mase_scale


# ------------------------------------------------------------------ pinball loss
def test_pinball_loss_value_and_gradient_by_central_differences():
    rng = np.random.default_rng(0)
    B, K, q = 5, 2, (0.1, 0.5, 0.9)
    out = rng.normal(size=(B, K * 3))
    y = rng.normal(size=(B, K))
    w = rng.random(B) + 0.5
    loss, grad = pinball_loss(out, y, w, q)
    o = out.reshape(B, K, 3)
    d = y[:, :, None] - o
    per = np.maximum(np.array(q) * d, (np.array(q) - 1) * d).mean(axis=(1, 2))
    assert loss == pytest.approx((per * w).sum() / w.sum())
    np.testing.assert_allclose(grad, numeric_grad(lambda: pinball_loss(out, y, w, q)[0], out),
                               rtol=1e-6, atol=1e-9)


def test_pinball_network_gradients_on_the_reference_backend():
    rng = np.random.default_rng(3)
    net = SequenceModel.build("dense", 3, None, [Recurrent("lstm", 3)], False, "last", 2 * 3, 4)
    params = net.init_params(rng, np.float64)
    packed = pack_dense(rng.normal(size=(3, 4, 3)))
    y, w, q = rng.normal(size=(3, 2)), np.ones(3), (0.2, 0.5, 0.8)

    def loss():
        return pinball_loss(net.forward(params, packed)[0], y, w, q)[0]

    with fastrnn.use_backend("numpy"):
        out, cache = net.forward(params, packed, training=True)
        grads = net.backward(params, cache, pinball_loss(out, y, w, q)[1])
        for g, p in zip(net.weights(grads), net.weights(params)):
            np.testing.assert_allclose(g, numeric_grad(loss, p), rtol=1e-5, atol=1e-8)


def test_pinball_minimiser_is_the_quantile():
    y = np.random.default_rng(1).normal(size=(2001, 1))
    grid = np.linspace(-2, 2, 401)
    losses = [pinball_loss(np.full((len(y), 1), c), y, np.ones(len(y)), (0.9,))[0] for c in grid]
    assert grid[int(np.argmin(losses))] == pytest.approx(np.quantile(y, 0.9), abs=0.02)


# ---------------------------------------------------------------------- windows
def test_make_windows_shapes_values_stride_and_covariates():
    y = np.arange(20.0)
    X = np.c_[np.arange(20.0) * 10, -np.arange(20.0)]
    W, t = make_windows(y, lookback=4, horizon=3, X=X, stride=2)
    assert W.shape == (7, 4, 3) and t.shape == (7, 3)
    np.testing.assert_array_equal(W[1, :, 0], [2, 3, 4, 5])
    np.testing.assert_array_equal(W[1, :, 1], [20, 30, 40, 50])
    np.testing.assert_array_equal(t[1], [6, 7, 8])
    W2, t2 = make_windows(np.c_[y, y + 100], lookback=3)
    assert W2.shape == (17, 3, 2) and t2.shape == (17, 1, 2)
    np.testing.assert_array_equal(t2[0], [[3, 103]])


@pytest.mark.parametrize("kw, message", [
    (dict(lookback=19, horizon=2), "lookback=19 plus horizon=2"),
    (dict(lookback=3, horizon=0), "horizon must be an int >= 1"),
    (dict(lookback=3, X=np.zeros((5, 1))), "X has 5 steps but y has 20"),
    (dict(y=[np.arange(20.0)] * 3, lookback=3), "takes one series"),
])
def test_make_windows_errors_name_the_argument(kw, message):
    kw = {"y": np.arange(20.0), **kw}
    with pytest.raises(ValueError, match=message):
        make_windows(**kw)


def test_series_windows_gather_what_make_windows_writes_out():
    rng = np.random.default_rng(0)
    y, X = rng.normal(size=40), rng.normal(size=(40, 2))
    W, t = make_windows(y, 5, 3, X=X)
    values = np.c_[y, X]
    source = SeriesWindows(values, values[:, :1], np.arange(len(W)), 5, 0, 3, 1, batch_size=8)
    rows = np.array([0, 7, 31])
    np.testing.assert_array_equal(source[rows], W[rows])
    np.testing.assert_array_equal(source.window_targets(rows), t[rows])
    assert source.values.shape[0] == 40  # the series once, not the windows
    batches = list(source.batches(np.random.default_rng(0)))
    assert len(batches) == source.n_batches == 5  # 33 windows
    assert sum(b.y.shape[0] for b in batches) == len(W)
    # with future covariates: past steps (y, x, 0), then future steps (0, x, 1)
    fut = SeriesWindows(values, values[:, :1], np.arange(len(W)), 5, 3, 3, 1)
    win = fut[np.array([2])][0]
    assert win.shape == (8, 4)
    np.testing.assert_array_equal(win[:5, :3], values[2:7])
    np.testing.assert_array_equal(win[5:, 0], 0)
    np.testing.assert_array_equal(win[5:, 1:3], X[7:10])
    np.testing.assert_array_equal(win[:, 3], [0] * 5 + [1] * 3)


def test_series_windows_subset_keeps_the_class_and_shares_the_series():
    class Doubled(SeriesWindows):
        def __getitem__(self, rows):
            return 2 * super().__getitem__(rows)

    values = np.arange(20.0)[:, None]
    source = Doubled(values, values, np.arange(14), 4, 0, 3, 1, batch_size=5, shuffle=False)
    part = source.subset(np.array([3, 9]))
    assert type(part) is Doubled and part.values is values
    assert (part.batch_size, part.shuffle) == (5, False)
    np.testing.assert_array_equal(part[np.arange(2)], source[np.array([3, 9])])


def test_windows_with_regressor_time_series_split_and_grid_search():
    y = np.sin(np.arange(140) * 2 * np.pi / 12)
    W, t = make_windows(y, lookback=12, horizon=1)
    search = GridSearchCV(RNNRegressor(units=4, max_iter=2, random_state=0),
                          {"cell": ["gru", "lstm"]}, cv=TimeSeriesSplit(n_splits=2))
    search.fit(W, t[:, 0])
    assert search.best_params_["cell"] in ("gru", "lstm")
    assert search.predict(W[-3:]).shape == (3,)


# --------------------------------------------------------------------- backtest
class LastValue(BaseEstimator):
    """The naive forecaster: every step repeats the last observed value."""

    def __init__(self, horizon=1):
        self.horizon = horizon

    def fit(self, y, X=None):
        self.last_ = np.asarray(y)[-1]
        return self

    def predict(self, y=None, X=None, horizon=None):
        last = self.last_ if y is None else np.asarray(y)[-1]
        return np.full((horizon or self.horizon,) + np.shape(last), last)


@pytest.mark.parametrize("refit", [True, False])
def test_backtest_metrics_of_the_naive_forecast_on_a_line(refit):
    y = np.arange(50.0)
    res = backtest(LastValue(), y, n_windows=3, horizon=4, refit=refit)
    np.testing.assert_array_equal(res["origins"], [38, 42, 46])
    np.testing.assert_allclose(res["mae"], 2.5)  # errors 1, 2, 3, 4
    np.testing.assert_allclose(res["rmse"], np.sqrt(7.5))
    np.testing.assert_allclose(res["mase"], 2.5)  # the in-sample naive error is 1
    assert res["forecasts"].shape == (3, 4)
    assert res["mase_overall"] == pytest.approx(2.5)
    assert backtest(LastValue(), y, 3, 4, m=5)["mase"][0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="takes one series"):
        backtest(LastValue(), [y, y], 3, 4)


def test_backtest_on_a_constant_training_part_and_a_season_too_long():
    y = np.r_[np.ones(40), np.arange(8.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division warning: MASE is undefined there, NaN
        res = backtest(LastValue(), y, n_windows=2, horizon=4)
    assert np.isnan(res["mase"][0]) and np.isfinite(res["mase"][1])
    with pytest.raises(ValueError, match="m=45"):
        backtest(LastValue(), y, n_windows=2, horizon=4, m=45)


def test_mase_scale_seasonal_and_errors():
    y = np.tile([0.0, 1.0, 5.0], 10)
    assert mase_scale(y, m=3) == 0
    assert mase_scale(y) == pytest.approx(np.abs(np.diff(y)).mean())
    with pytest.raises(ValueError, match="m=40"):
        mase_scale(y, m=40)


def test_backtest_mase_scales_each_column_by_its_own_naive_error():
    """Pooled over columns, the MASE of a forecast exact on a column in thousands and wrong on a
    column in units was 0.0008 (the large column's naive error scaled both)."""
    y = np.c_[1000.0 * np.arange(60.0), np.arange(60.0)]
    np.testing.assert_allclose(mase_scale(y), [1000.0, 1.0])
    res = backtest(LastValue(), y, n_windows=2, horizon=4)
    np.testing.assert_allclose(res["mase"], 2.5)  # each column's errors 1..4 of its naive error
    np.testing.assert_allclose(res["mae"], 2.5 * 1001 / 2)


def test_backtest_refuses_windows_that_leave_too_little_for_the_forecaster():
    f = RNNForecaster(14, units=4, max_iter=1, random_state=0)
    with pytest.raises(ValueError, match="n_windows=14 .* 2 training steps .* lookback=14"):
        backtest(f, np.sin(np.arange(100.0)), n_windows=14, horizon=7)


def test_backtest_of_the_forecaster_with_covariates():
    t = np.arange(160)
    y, X = np.sin(t / 4.0), np.c_[np.cos(t / 4.0)]
    f = RNNForecaster(8, units=4, max_iter=1, random_state=0)
    res = backtest(f, y, n_windows=2, horizon=3, X=X, refit=False)
    assert res["forecasts"].shape == (2, 3) and np.isfinite(res["mase"]).all()
    assert f.get_params()["horizon"] == 1  # the forecaster passed in is left untouched


@pytest.mark.parametrize("module", ["fastrnn.timeseries", "fastrnn.estimators.forecaster"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_make_windows_reads_nested_rows_as_one_series_and_keeps_float32():
    """A nested list of (T, k) rows was refused as a panel; float32 series gave float64 windows
    (lookback copies of the series at twice the memory)."""
    rows = [[a, 2 * a] for a in np.arange(20.0)]
    W, t = make_windows(rows, 3, 1)
    W2, t2 = make_windows(np.array(rows), 3, 1)
    np.testing.assert_array_equal(W, W2)
    np.testing.assert_array_equal(t, t2)
    with pytest.raises(ValueError, match="takes one series"):
        make_windows([np.arange(20.0), np.arange(20.0)], 3, 1)
    W32, t32 = make_windows(np.arange(20, dtype=np.float32), 3, 1,
                            X=np.ones((20, 1), dtype=np.float32))
    assert W32.dtype == t32.dtype == np.float32
    assert make_windows(np.arange(20, dtype=np.float32), 3, 1, X=np.ones((20, 1)))[0].dtype \
        == np.float32


def test_a_gap_of_horizon_minus_one_keeps_test_targets_out_of_training():
    from sklearn.model_selection import TimeSeriesSplit

    horizon = 12
    for stride in (1, 5, 12):  # the guide's gap: the least with no test target trained on
        _, t = make_windows(np.arange(300.0), lookback=24, horizon=horizon, stride=stride)
        gap = -(-horizon // stride) - 1
        for tr, te in TimeSeriesSplit(3, gap=gap).split(t):
            assert not np.isin(t[te], t[tr]).any()
        if gap:
            assert any(np.isin(t[te], t[tr]).any()
                       for tr, te in TimeSeriesSplit(3, gap=gap - 1).split(t))
