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
