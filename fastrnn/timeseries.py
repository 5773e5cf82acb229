"""Time-series tools: windows cut from series, a window batch source and rolling-origin backtests.

A forecasting network reads a *window*: the ``lookback`` steps before an
origin, each step's features being the series' values (and its covariates),
and predicts the ``horizon`` steps after it.  A series of ``T`` steps holds
``T - lookback - horizon + 1`` such windows, which overlap almost entirely,
so writing them all out costs ``lookback`` times the series.  Here they are
never written out for training: :class:`SeriesWindows` keeps the series once
(all series of a panel end to end in one array) plus one start index per
window, and gathers a mini-batch's windows when the batch is drawn, by index
arithmetic (``values[starts[:, None] + arange(lookback)]``).  Memory is then
the series, the start indices and one batch, whatever ``lookback``.

:func:`make_windows` writes the windows out, for models that take fixed
arrays (:class:`fastrnn.RNNRegressor`, scikit-learn's searches and
``TimeSeriesSplit``); :func:`backtest` evaluates a forecaster at rolling
origins.

Horizons follow sktime's convention: steps ``1..h`` after the end of the
series, step 1 being the first unobserved one.
"""

import numbers

import numpy as np

from .layers import pack_dense
from .training import Batch, minibatch_rows, n_minibatches

__all__ = ["SeriesWindows", "backtest", "make_windows", "mase_scale"]


# ---------------------------------------------------------------------- checking
def _as_series(y, name="y", dtype=np.float64):
    """``y`` as a float array of shape (T, k), and whether it was 1-D."""
    a = np.asarray(y)
    if a.dtype.kind == "c":
        raise ValueError(f"{name} must be real, got complex values (dtype {a.dtype})")
    if a.dtype.kind == "M":  # a time index passed as values would train on its tick counts
        raise ValueError(f"{name} must hold the series' values, got {a.dtype} timestamps (pass the "
                         "values, e.g. a DataFrame's column, not its index)")
    if a.dtype.kind not in "iufb":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be numeric, got dtype {a.dtype}") from None
    if a.ndim not in (1, 2):
        raise ValueError(f"{name} must be one series of shape (T,) or (T, k), got shape {a.shape}")
    if a.shape[0] == 0 or a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape}): a series needs at least one step "
                         "and one column")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinity: fill or drop the missing steps first")
    return a.reshape(len(a), -1).astype(dtype, copy=False), a.ndim == 1


def is_panel(y, panel=None):
    """Whether ``y`` is a list of series (a panel) rather than one series.

    A list of arrays or pandas Series is a panel; a list of numbers is one
    series of shape (T,); a nested list of plain rows of equal length,
    ``[[y_0, x_0], [y_1, x_1], ...]``, is one series of shape (T, k).  A model
    fitted on a panel (``panel=True``) reads any list as a panel, one fitted on
    one series (``panel=False``) reads it as that series.
    """
    if not isinstance(y, (list, tuple)):
        return False
    if panel is not None:
        return panel
    if not y:
        return True
    first = y[0]
    if np.ndim(first) == 0:
        return False
    rows = isinstance(first, (list, tuple)) and np.ndim(first) == 1
    return not (rows and all(isinstance(r, (list, tuple)) and len(r) == len(first) for r in y))


def _one_series(y, what):
    """Refuse a list of series (a panel, see :func:`is_panel`) where one series is expected."""
    if isinstance(y, (list, tuple)) and len(y) and is_panel(y):
        raise ValueError(f"{what} takes one series (an array of shape (T,) or (T, k)), got a list "
                         "of series; call it once per series")


def _check_positive_int(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------- windows
def make_windows(y, lookback, horizon=1, X=None, stride=1):
    """Cut a series into (input window, following values) pairs, written out.

    Window ``i`` starts at step ``s = i * stride``: its input is steps
    ``s .. s + lookback - 1`` (the series' values, then the covariates', per
    step) and its target the ``horizon`` values of ``y`` after it.  Covariates
    enter only for the input steps (the past); to give a model future
    covariates, use :class:`fastrnn.RNNForecaster`.

    Parameters
    ----------
    y : array-like of shape (T,) or (T, k)
        One series, without NaN.
    lookback : int
        Steps per input window.
    horizon : int, default 1
        Steps to predict after each window.
    X : array-like of shape (T, n_covariates), optional
        Covariates aligned with ``y``.
    stride : int, default 1
        Steps between consecutive window starts.

    Returns
    -------
    windows : ndarray of shape (n_windows, lookback, k + n_covariates)
    targets : ndarray of shape (n_windows, horizon), or (n_windows, horizon, k) for a 2-D ``y``
        Ordered by time, as ``TimeSeriesSplit`` needs (with ``horizon > 1``, give it
        ``gap=-(-horizon // stride) - 1`` windows, ``horizon - 1`` for ``stride=1``, so that
        test targets are not training targets).
        Float32 for a float32 ``y``, else float64.

    Examples
    --------
    >>> import numpy as np
    >>> from fastrnn.timeseries import make_windows
    >>> W, t = make_windows(np.arange(10.0), lookback=3, horizon=2)
    >>> W.shape, t.shape
    ((6, 3, 1), (6, 2))
    >>> W[0, :, 0], t[0]
    (array([0., 1., 2.]), array([3., 4.]))
    """
    lookback = _check_positive_int(lookback, "lookback")
    horizon = _check_positive_int(horizon, "horizon")
    stride = _check_positive_int(stride, "stride")
    _one_series(y, "make_windows")
    # float32 stays float32: the windows hold lookback copies of the series
    values, one_d = _as_series(y, dtype=np.float32 if np.asarray(y).dtype == np.float32
                               else np.float64)
    T = len(values)
    if lookback + horizon > T:
        raise ValueError(f"lookback={lookback} plus horizon={horizon} needs a series of at least "
                         f"{lookback + horizon} steps; y has {T}")
    features = values
    if X is not None:
        cov, _ = _as_series(X, "X", dtype=values.dtype)
        if len(cov) != T:
            raise ValueError(f"X has {len(cov)} steps but y has {T}: covariates must be aligned "
                             "with y")
        features = np.concatenate([values, cov], axis=1)
    starts = np.arange(0, T - lookback - horizon + 1, stride)
    windows = features[starts[:, None] + np.arange(lookback)]
    targets = values[starts[:, None] + lookback + np.arange(horizon)]
    return windows, (targets[:, :, 0] if one_d else targets)


class SeriesWindows:
    """Windows of one or more series, gathered on demand; a batch source for training.

    The series are held once, end to end, in ``values``; a window is one
    start index.  Indexing with an array of window numbers returns those
    windows as a dense (B, steps, features) array, so an instance serves as
    the ``X`` of :func:`fastrnn.training.predict_outputs` and
    :func:`fastrnn.training.evaluate` without the windows existing all at
    once, and :meth:`batches` makes it a :mod:`fastrnn.training` batch source.

    A window's steps are the ``lookback`` past steps, reading
    ``values[t] = (y_t, x_t)``, followed, when ``n_future > 0``, by
    ``n_future`` future steps that read ``(0, x_t)``: the covariates known for
    the steps to predict, with the unknown values of ``y`` set to zero.  One
    more feature flags the future steps (0 in the past, 1 in the future).

    Parameters
    ----------
    values : ndarray of shape (N, k + n_covariates)
        The series end to end (already scaled).
    targets : ndarray of shape (N, k) or None
        The series' own values (the training targets); None for prediction.
    starts : ndarray of shape (n_windows,), int
        Index in ``values`` of every window's first step.
    lookback, n_future, horizon : int
        Past steps per window, future covariate steps appended (0 without
        covariates) and target steps per window.
    n_targets : int
        ``k``: the first ``k`` columns of ``values`` are the series.
    batch_size : int, default 32
    shuffle : bool, default True
    """

    def __init__(self, values, targets, starts, lookback, n_future, horizon, n_targets,
                 batch_size=32, shuffle=True):
        self.values, self.targets = values, targets
        self.starts = np.asarray(starts, dtype=np.int64)
        self.lookback, self.n_future, self.horizon = lookback, n_future, horizon
        self.n_targets = n_targets
        self.batch_size, self.shuffle = batch_size, shuffle
        self._w = np.ones(min(len(self.starts), batch_size))

    # ------------------------------------------------------ array-like view
    def __len__(self):
        return len(self.starts)

    @property
    def n_steps(self):
        return self.lookback + self.n_future

    @property
    def n_features(self):
        return self.values.shape[1] + (1 if self.n_future else 0)

    @property
    def shape(self):
        return (len(self.starts), self.n_steps, self.n_features)

    def __getitem__(self, rows):
        """The windows numbered ``rows``: ndarray of shape (len(rows), n_steps, n_features).

        The array is gathered time-major and returned as a transposed view,
        which is the kernels' layout: packing it copies nothing more.
        """
        starts = self.starts[rows]
        steps = np.arange(self.lookback)[:, None] + starts[None, :]
        if not self.n_future:
            return self.values[steps].transpose(1, 0, 2)
        F, k, L = self.values.shape[1], self.n_targets, self.lookback
        out = np.zeros((self.n_steps, len(starts), F + 1), dtype=self.values.dtype)
        out[:L, :, :F] = self.values[steps]
        out[L:, :, k:F] = self.values[L + np.arange(self.n_future)[:, None] + starts[None, :], k:]
        out[L:, :, F] = 1
        return out.transpose(1, 0, 2)

    def window_targets(self, rows=None):
        """Targets of the windows ``rows`` (all by default): ndarray of shape (B, horizon * k)."""
        starts = self.starts if rows is None else self.starts[rows]
        idx = starts[:, None] + self.lookback + np.arange(self.horizon)
        return self.targets[idx].reshape(len(starts), -1)

    def subset(self, rows):
        """The same series with only the windows ``rows``.

        Parameters
        ----------
        rows : ndarray of shape (n_rows,), int or bool
            Window numbers (or a mask over the windows).

        Returns
        -------
        SeriesWindows
            Of this one's class, sharing ``values`` and ``targets`` with it (no
            copy).
        """
        return type(self)(self.values, self.targets, self.starts[rows], self.lookback,
                          self.n_future, self.horizon, self.n_targets, self.batch_size,
                          self.shuffle)

    # ------------------------------------------------------- batch source
    @property
    def n_batches(self):
        return n_minibatches(len(self.starts), self.batch_size)

    def batches(self, rng):
        """Yield the epoch's mini-batches of windows (a new order every epoch with ``shuffle``).

        Parameters
        ----------
        rng : numpy.random.Generator
            Draws the epoch's permutation (its only draw).

        Yields
        ------
        fastrnn.training.Batch
        """
        for rows in minibatch_rows(len(self.starts), self.batch_size, rng, self.shuffle):
            w = self._w[:len(rows)]
            yield Batch(pack_dense(self[rows]), self.window_targets(rows), w, None, float(len(rows)))

    def carry(self, states):
        """Ignore a step's final states: every window starts from zero states."""


# ---------------------------------------------------------------------- backtest
def mase_scale(y, m=1):
    """Mean absolute error of the in-sample (seasonal) naive forecast ``y[t] = y[t - m]``.

    The denominator of MASE (Hyndman and Koehler, 2006).

    Parameters
    ----------
    y : array-like of shape (T,) or (T, k)
        The training part of the series; more than ``m`` steps.
    m : int, default 1
        Season length (1: the plain naive forecast).

    Returns
    -------
    float, or ndarray of shape (k,)
        One scale per column for a series of shape ``(T, k)``: each column is
        a series of its own units.
    """
    values, one_d = _as_series(y)
    m = _check_positive_int(m, "m")
    if len(values) <= m:
        raise ValueError(f"MASE with m={m} needs more than {m} training steps, got {len(values)}")
    scale = np.abs(values[m:] - values[:-m]).mean(axis=0)
    return float(scale[0]) if one_d else scale


def backtest(forecaster, y, n_windows, horizon, X=None, *, refit=True, m=1):
    """Rolling-origin evaluation: forecast ``horizon`` steps from ``n_windows`` successive origins.

    The origins are the last ``n_windows`` multiples of ``horizon`` before the
    end of ``y``: origin ``i`` (0-based) is ``T - (n_windows - i) * horizon``,
    so the forecast windows tile the end of the series without overlap.  At
    each origin the forecaster sees only ``y[:origin]`` (and covariates up to
    the end of the forecast window, since covariates are taken as known in
    advance) and forecasts ``y[origin:origin + horizon]``.

    With ``refit=True`` (the default) a fresh clone
    (:func:`sklearn.base.clone`, with ``horizon`` set when the forecaster has
    that parameter) is fitted at every origin on ``y[:origin]``: the honest,
    expensive protocol.  With ``refit=False`` one clone is fitted on the data
    before the first origin and then only predicts, from ``y[:origin]``, at
    every origin: it measures a model that is not retrained as data arrives.

    Parameters
    ----------
    forecaster : estimator
        ``fit(y, X=None)`` and ``predict(y=None, X=None, horizon=None)``, as
        :class:`fastrnn.RNNForecaster`.
    y : array-like of shape (T,) or (T, k)
        One series.
    n_windows : int
        Number of origins.
    horizon : int
        Steps forecast from each origin.
    X : array-like of shape (T, n_covariates), optional
        Covariates aligned with ``y``.
    refit : bool, default True
    m : int, default 1
        Season length of the naive forecast that scales MASE: the MAE of
        ``y[t - m]`` as the forecast of ``y[t]`` over the training part
        ``y[:origin]`` (``m=1``: plain naive; e.g. ``m=24`` for hourly data
        with a daily cycle).

    Returns
    -------
    dict
        ``"origins"`` (n_windows,) int; ``"forecasts"`` (n_windows, horizon)
        or (n_windows, horizon, k); per origin ``"mae"``, ``"rmse"``,
        ``"mase"`` (n_windows,), NaN at an origin whose training part has a
        naive error of 0 (a constant series, or one that repeats every ``m``
        steps); for a series of ``k`` columns, MAE and RMSE are over all its
        values and MASE is the mean of the columns' own MASE (each column is
        scaled by its own naive error, so none dominates by its units); and
        overall ``"mae_overall"`` and ``"rmse_overall"`` (over every forecast
        step) and ``"mase_overall"`` (the mean of the per-origin MASE).
    """
    from sklearn.base import clone

    n_windows = _check_positive_int(n_windows, "n_windows")
    horizon = _check_positive_int(horizon, "horizon")
    _one_series(y, "backtest")
    values, one_d = _as_series(y)
    cov = None
    if X is not None:
        cov, _ = _as_series(X, "X")
        if len(cov) != len(values):
            raise ValueError(f"X has {len(cov)} steps but y has {len(values)}: covariates must be "
                             "aligned with y")
    T = len(values)
    origins = T - (n_windows - np.arange(n_windows)) * horizon
    if origins[0] <= m:
        raise ValueError(f"n_windows={n_windows} windows of horizon={horizon} leave "
                         f"{origins[0]} training steps before the first origin; MASE with m={m} "
                         f"needs more than {m}")
    params = forecaster.get_params(deep=False) if hasattr(forecaster, "get_params") else {}
    lookback = params.get("lookback")
    if isinstance(lookback, numbers.Integral):
        need = lookback + (1 if params.get("recursive") else horizon)
        if origins[0] < need:
            raise ValueError(f"n_windows={n_windows} windows of horizon={horizon} leave "
                             f"{origins[0]} training steps before the first origin, fewer than "
                             f"the {need} that one training window of lookback={lookback} needs: "
                             "use fewer windows or a longer y")

    def series(a, end):
        return None if a is None else (a[:end, 0] if a is values and one_d else a[:end])

    def make(end):
        est = clone(forecaster)
        if "horizon" in est.get_params(deep=False):
            est.set_params(horizon=horizon)
        return est.fit(series(values, end), series(cov, end))

    fitted = None if refit else make(origins[0])
    forecasts, mae, rmse, mase = [], [], [], []
    for o in origins:
        est = make(o) if refit else fitted
        if cov is None:
            pred = est.predict(series(values, o), horizon=horizon)
        else:
            pred = est.predict(series(values, o), cov[:o + horizon], horizon=horizon)
        pred = np.asarray(pred, dtype=np.float64).reshape(horizon, -1)
        err = pred - values[o:o + horizon]
        forecasts.append(pred[:, 0] if one_d else pred)
        mae.append(np.abs(err).mean())
        rmse.append(np.sqrt((err ** 2).mean()))
        scale = np.atleast_1d(mase_scale(values[:o], m))
        # undefined on a constant past
        mase.append(np.mean(np.abs(err).mean(axis=0) / scale) if (scale > 0).all() else np.nan)
    mae, rmse, mase = np.array(mae), np.array(rmse), np.array(mase)
    return {"origins": origins, "forecasts": np.array(forecasts), "mae": mae, "rmse": rmse,
            "mase": mase, "mae_overall": float(mae.mean()),
            "rmse_overall": float(np.sqrt((rmse ** 2).mean())), "mase_overall": float(mase.mean())}
