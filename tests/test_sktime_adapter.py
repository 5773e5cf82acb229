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
