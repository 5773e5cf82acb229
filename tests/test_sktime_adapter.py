"""fastrnn.adapters.sktime: sktime's own estimator checks (skipped where sktime is not installed)."""

import numpy as np
import pytest

sktime = pytest.importorskip("sktime")
pd = pytest.importorskip("pandas")

from fastrnn.adapters.sktime import SktimeRNNForecaster  # noqa: E402


def test_fit_predict_update_on_a_dated_series():
    y = pd.Series(np.sin(np.arange(80) / 3.0), index=pd.date_range("2024-01-01", periods=80, freq="h"))
    f = SktimeRNNForecaster(lookback=8, units=4, max_iter=2, random_state=0).fit(y[:70], fh=[1, 3])
    pred = f.predict()
    assert list(pred.index) == [y.index[70], y.index[72]]
    f.update(y[70:], update_params=False)
    assert f.predict().index[0] == y.index[-1] + pd.Timedelta(hours=1)
    with pytest.raises(NotImplementedError, match="in-sample"):
        SktimeRNNForecaster(units=4, max_iter=1).fit(y, fh=[0, 1])


@pytest.mark.slow
def test_passes_sktime_check_estimator():
    from sktime.utils.estimator_checks import check_estimator

    results = check_estimator(SktimeRNNForecaster, raise_exceptions=False, verbose=False)
    failed = {name: str(err)[:200] for name, err in results.items() if err != "PASSED"}
    assert len(results) > 100 and not failed


def test_an_overlapping_update_appends_only_the_new_points():
    """update(y[:110]) after fit(y[:100]) made a history of 210 steps, as sktime's expanding
    windows pass it."""
    y = pd.Series(np.sin(np.arange(130) / 3.0))
    kw = dict(lookback=8, units=4, max_iter=1, random_state=0)
    overlapping = SktimeRNNForecaster(**kw).fit(y[:100], fh=[1, 2])
    overlapping.update(y[:110], update_params=False)
    fresh = SktimeRNNForecaster(**kw).fit(y[:100], fh=[1, 2])
    fresh.update(y[100:110], update_params=False)
    assert len(overlapping._history) == 110
    np.testing.assert_array_equal(overlapping.predict(), fresh.predict())


def test_a_series_just_longer_than_the_horizon_fits():
    """Four points with fh 1..3 left a one-step window, constant by construction: 'y is
    constant within every window'; three points named a lookback the user never set."""
    pred = SktimeRNNForecaster(units=4, max_iter=1, random_state=0).fit(
        pd.Series([1.0, 2.0, 3.0, 4.0]), fh=[1, 2, 3]).predict()
    assert len(pred) == 3 and np.isfinite(pred).all()
    with pytest.raises(ValueError, match="y has 3 points: .* more than the horizon"):
        SktimeRNNForecaster(units=4, max_iter=1).fit(pd.Series([1.0, 2.0, 3.0]), fh=[1, 2, 3])


def test_update_refuses_data_that_does_not_follow_the_last_point():
    """Older data made forecasts of steps 50-51 labelled 45-46; a gap was closed silently."""
    y = pd.Series(np.arange(60.0))
    f = SktimeRNNForecaster(lookback=8, units=4, max_iter=1, random_state=0).fit(y[:50], fh=[1, 2])
    with pytest.raises(ValueError, match="before the last point seen"):
        f.update(y[40:45], update_params=False)
    assert f.cutoff[0] == 49 and f.predict().index.tolist() == [50, 51]  # as before the update
    f = SktimeRNNForecaster(lookback=8, units=4, max_iter=1, random_state=0).fit(y[:50], fh=[1, 2])
    with pytest.raises(ValueError, match="without a gap"):
        f.update(y[52:55], update_params=False)
    assert f.cutoff[0] == 49
    # an index of step 2, streamed one point at a time
    even = pd.Series(np.sin(np.arange(60) / 3.0), index=np.arange(0, 120, 2))
    f = SktimeRNNForecaster(lookback=8, units=4, max_iter=1, random_state=0).fit(even[:50], fh=[1])
    for i in range(50, 53):
        f.update(even[i:i + 1], update_params=False)
    assert f.cutoff[0] == 104
    with pytest.raises(ValueError, match="without a gap"):
        f.update(even[54:55], update_params=False)
    dated = pd.Series(np.sin(np.arange(80) / 3.0),
                      index=pd.date_range("2024-01-01", periods=80, freq="h"))
    f = SktimeRNNForecaster(lookback=8, units=4, max_iter=1, random_state=0).fit(dated[:50], fh=[1])
    with pytest.raises(ValueError, match="without a gap"):
        f.update(dated[55:60], update_params=False)
    assert len(f._history) == 50  # the refused update changed nothing


def test_update_without_refitting_keeps_the_training_statistics():
    import copy

    y = pd.Series(np.sin(np.arange(50) / 3.0))
    f = SktimeRNNForecaster(lookback=8, units=4, max_iter=1, random_state=0).fit(y[:40], fh=[1, 2])
    expected = copy.deepcopy(f.forecaster_).update(y[40:].to_numpy()).predict()
    f.update(y[40:], update_params=False)
    np.testing.assert_array_equal(f.predict().to_numpy(), expected)


@pytest.mark.parametrize("bad", [dict(lookback=2.5), dict(lookback=None), dict(scale="no")])
def test_parameters_are_checked_before_use(bad):
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=next(iter(bad))):
        SktimeRNNForecaster(units=4, max_iter=1, **bad).fit(pd.Series(np.arange(40.0)), fh=[1, 2])


def test_a_recursive_forecaster_keeps_its_lookback_and_takes_the_horizon_at_predict():
    y = pd.Series(np.sin(np.arange(15) / 2.0))
    f = SktimeRNNForecaster(lookback=8, recursive=True, units=4, max_iter=1, random_state=0)
    f.fit(y, fh=list(range(1, 13)))
    assert f.forecaster_.lookback == 8
    g = SktimeRNNForecaster(lookback=8, recursive=True, units=4, max_iter=1, random_state=0).fit(y)
    assert g.predict(fh=[1, 2, 3]).index.tolist() == [15, 16, 17]
    assert SktimeRNNForecaster(early_stopping=True, n_threads=1).get_params()["n_threads"] == 1
