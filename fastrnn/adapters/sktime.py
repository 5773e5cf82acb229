"""An sktime forecaster around :class:`fastrnn.RNNForecaster` (``pip install fastrnn[sktime]``).

sktime's forecasters take the horizon as a ``ForecastingHorizon`` of steps
relative to the cutoff (the end of the data seen), pandas series with their
own index, and ``update`` as new data arrives.  :class:`SktimeRNNForecaster`
maps those onto :class:`fastrnn.RNNForecaster`: the horizon given to ``fit``
sets the network's ``horizon`` to its furthest step, the forecast is read
off at the requested steps, and the index of the result comes from the
cutoff.  It forecasts one series (univariate ``y``) out of sample, without
exogenous data or prediction intervals.
"""

import numpy as np
import pandas as pd
from sktime.forecasting.base import BaseForecaster

from ..estimators import RNNForecaster


class SktimeRNNForecaster(BaseForecaster):
    """sktime interface to :class:`fastrnn.RNNForecaster` (direct multi-step, one series).

    Parameters
    ----------
    lookback : int, default 24
        Past steps the network reads; capped at ``len(y) - horizon``
        (``len(y) - 1`` with ``recursive=True``) when the training series is
        shorter than a window.
    cell, units, max_iter, learning_rate, batch_size, scale, recursive
        As for :class:`fastrnn.RNNForecaster`.  With ``recursive=True`` the
        horizon may be given at ``predict`` instead of ``fit``.
    early_stopping, validation_fraction, n_threads, random_state
        As for :class:`fastrnn.RNNForecaster`.

    Notes
    -----
    ``update(y, update_params=True)`` refits on all the data seen;
    ``update_params=False`` only appends the new steps to the history the
    forecasts start from, keeping the training statistics
    (:meth:`fastrnn.RNNForecaster.update`).  The new data must follow the
    last point seen (it may repeat earlier points); data that ends before it,
    or leaves a gap after it, is refused.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from fastrnn.adapters.sktime import SktimeRNNForecaster
    >>> y = pd.Series(np.sin(np.arange(120) / 3.0))
    >>> f = SktimeRNNForecaster(lookback=12, units=8, max_iter=2, random_state=0)
    >>> f.fit(y, fh=[1, 2, 3]).predict().index.tolist()
    [120, 121, 122]
    """

    _tags = {
        "authors": ["fastrnn developers"],
        "y_inner_mtype": "pd.Series",
        "X_inner_mtype": "pd.DataFrame",
        "scitype:y": "univariate",
        "capability:multivariate": False,
        "capability:exogenous": False,
        "capability:insample": False,
        "capability:pred_int": False,
        "capability:missing_values": False,
        "requires-fh-in-fit": True,
        "capability:random_state": True,
        "capability:update": True,
        "python_dependencies": ["fastrnn"],
    }
    # the forecaster keeps its own history (_update appends to it), not sktime's copy of the data
    _config = {"remember_data": False}

    def __init__(self, lookback=24, cell="lstm", units=32, max_iter=10, learning_rate=0.001,
                 batch_size=32, scale=True, recursive=False, early_stopping=False,
                 validation_fraction=0.1, n_threads=None, random_state=None):
        self.lookback = lookback
        self.cell = cell
        self.units = units
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.scale = scale
        self.recursive = recursive
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_threads = n_threads
        self.random_state = random_state
        super().__init__()
        # a recursive network forecasts any number of steps: the horizon may come at predict
        self.set_tags(**{"requires-fh-in-fit": not recursive})
        # sktime fills these only when remember_data=True (set_config may turn it on later)
        self._y = self._X = None

    def _steps(self, fh):
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=np.int64)
        if (steps < 1).any():
            raise ValueError(f"fh: SktimeRNNForecaster forecasts out of sample only (relative "
                             f"steps >= 1), got {steps.tolist()}")
        return steps

    def _forecaster(self, lookback, horizon, **kw):
        return RNNForecaster(lookback, horizon, cell=self.cell, units=self.units,
                             max_iter=self.max_iter, learning_rate=self.learning_rate,
                             batch_size=self.batch_size, recursive=self.recursive,
                             early_stopping=self.early_stopping,
                             validation_fraction=self.validation_fraction,
                             n_threads=self.n_threads, random_state=self.random_state, **kw)

    def _make(self, values):
        # the parameters as RNNForecaster checks them, before any arithmetic with them
        self._forecaster(self.lookback, 1, scale=self.scale)._check_params()
        horizon = 1 if self._fh is None else int(self._steps(self._fh).max())
        window_target = 1 if self.recursive else horizon  # steps a training window predicts
        if len(values) <= window_target:
            raise ValueError(f"y has {len(values)} points: SktimeRNNForecaster needs more than the "
                             f"horizon ({window_target}) to cut one training window")
        lookback = min(self.lookback, len(values) - window_target)
        # a window of one step is all level: read it as it is, not relative to itself
        center = lookback > 1
        # a series without spread (within windows, when centred) cannot be standardised: it is
        # fitted in its own units
        spread = (np.ptp(np.lib.stride_tricks.sliding_window_view(values, lookback), axis=1) > 0).any() \
            if center else np.ptp(values) > 0
        return self._forecaster(lookback, horizon, scale=self.scale if spread else False,
                                center_windows=center)

    def update(self, y, X=None, update_params=True):
        """sktime's ``update``; one that is refused, or fails, changes nothing."""
        # sktime moves the cutoff before _update runs: put it back, or forecasts get its labels
        cutoff = getattr(self, "_cutoff", None)
        try:
            return super().update(y, X=X, update_params=update_params)
        except Exception:
            if cutoff is not None:
                self._cutoff = cutoff
            raise

    def _fit(self, y, X, fh):
        self._name = y.name
        self._last = y.index[-1]
        self._step = _index_step(y.index)
        self._history = np.asarray(y, dtype=np.float64)
        self.forecaster_ = self._make(self._history).fit(self._history)
        return self

    def _predict(self, fh, X):
        steps = self._steps(fh)
        f = self.forecaster_
        horizon = int(steps.max())
        if not f.recursive and horizon > f.horizon:
            raise ValueError(f"fh reaches step {horizon}, beyond the horizon {f.horizon} given "
                             "to fit")
        # from the history as update() moved it on, with the training statistics
        pred = f.predict(horizon=horizon)
        index = fh.to_absolute_index(self.cutoff)
        return pd.Series(pred[steps - 1], index=index, name=self._name)

    def _new_points(self, y):
        """The points of ``y`` after the last one seen, refused unless they continue the series."""
        if y.index[-1] < self._last:
            raise ValueError(f"y ends at {y.index[-1]}, before the last point seen ({self._last}): "
                             "update takes the data that follows it")
        new = y[y.index > self._last]  # sktime's expanding windows pass the old points again
        step = getattr(self, "_step", None)
        if len(new) and self._last not in y.index and step is not None:
            following = self._last + step
            if following is not None and new.index[0] != following:
                raise ValueError(f"y starts at {new.index[0]}, but the point after the last one "
                                 f"seen ({self._last}) is {following}: update takes the data "
                                 "that follows it, without a gap")
        return new

    def _update(self, y, X=None, update_params=True):
        new = self._new_points(y)
        values = np.asarray(new, dtype=np.float64)
        history = np.concatenate([self._history, values])
        # every step that can fail before any state changes
        forecaster = self._make(history).fit(history) if update_params and len(new) else None
        if len(new):
            self._last = new.index[-1]
            self._history = history
            if forecaster is not None:
                self.forecaster_ = forecaster
            else:
                self.forecaster_.update(values)
        return self

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Small configurations for sktime's estimator checks."""
        return [{"lookback": 3, "units": 4, "max_iter": 1, "random_state": 0},
                {"lookback": 5, "cell": "gru", "units": 3, "max_iter": 2, "recursive": True,
                 "random_state": 1}]


def _index_step(index):
    """The step between the labels of a series' ``index`` (a number, or a pandas offset), or None
    when the index does not say (one label, or dates without a frequency)."""
    if isinstance(index, pd.PeriodIndex):
        return 1
    if isinstance(index, pd.DatetimeIndex):
        freq = index.freq or (pd.infer_freq(index) if len(index) > 2 else None)
        return None if freq is None else pd.tseries.frequencies.to_offset(freq)
    if len(index) > 1 and pd.api.types.is_integer_dtype(index):
        return index[1] - index[0]
    return None
