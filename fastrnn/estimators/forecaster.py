"""RNNForecaster: forecasts the next steps of one series or a panel of series from their past."""

import copy
import inspect
import numbers
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..layers import SequenceModel
from ..losses import mean_squared_error, pinball_loss, r2
from ..runtime import engine_scope
from ..timeseries import SeriesWindows, _as_series, is_panel
from ..training import predict_outputs
from .._warnings import warn_at_caller
from ._base import BaseRNN, declare_params, param

_POSITIVE_INT = Interval(numbers.Integral, 1, None, closed="left")
_CHANCE_SAMPLE = 2048  # windows whose targets estimate the chance loss
_SPREAD_SAMPLE = 4096  # windows whose spread scales a series (scale=True, center_windows=True)
_SPREAD_VALUES = 2 ** 22  # and at most this many values in them
#: Relative fall of the training loss per epoch, over the last two, above which a fit that used
#: all its max_iter epochs warns that it stopped while still learning fast.
_STILL_FALLING = 0.02


def _warn_if_undertrained(losses, chance, max_iter):
    """Warn when the last epochs of ``losses`` still cut the loss fast, or steadily while it is
    above half ``chance`` (the loss of an uninformed forecast, or None): see ``fit``."""
    loss = losses[-3:]  # none when the first epoch did not finish
    if len(loss) < 3 or not loss[0] > 0:
        return
    drops = [(loss[0] - loss[1]) / loss[0], (loss[1] - loss[2]) / loss[1]]
    if np.mean(drops) > _STILL_FALLING or (
            chance and loss[2] > 0.5 * chance and min(drops) > _STILL_FALLING / 8):
        warn_at_caller(f"RNNForecaster: the training loss still fell by {np.mean(drops):.1%} per "
                       f"epoch at the end of max_iter={max_iter} epochs"
                       + (f", at {loss[2] / chance:.0%} of the loss of an uninformed forecast"
                          if chance else "")
                       + ", so the model is likely under-trained (a short series gives few "
                       "batches per epoch); raise max_iter (or the learning_rate), or set "
                       "early_stopping=True with a larger max_iter", ConvergenceWarning)


def _median_of(out, quantiles):
    """The 0.5 quantile from forecasts ``out`` (..., n_quantiles) at sorted levels ``quantiles``."""
    above = int(np.searchsorted(quantiles, 0.5))
    if above < len(quantiles) and quantiles[above] == 0.5:
        return out[..., above]
    if above == 0 or above == len(quantiles):
        return out[..., min(above, len(quantiles) - 1)]
    lo, hi = quantiles[above - 1], quantiles[above]
    w = (0.5 - lo) / (hi - lo)
    return (1 - w) * out[..., above - 1] + w * out[..., above]


def _covariate_scaling(how):
    """Covariates are not centred per window: scaled by their standard deviation, or not at all."""
    return "none" if how == "none" else "series"


class _CenteredWindows(SeriesWindows):
    """Windows taken relative to their level: each window's mean of the series' past values.

    The past steps' series columns and the targets are minus the level (per
    column); the future steps' series columns stay 0 (unknown).  A forecast
    adds :meth:`level` back.
    """

    def level(self, rows=None):
        """Mean of each window's past values of the series: ndarray of shape (n_rows, k)."""
        starts = self.starts if rows is None else self.starts[rows]
        steps = starts[:, None] + np.arange(self.lookback)
        return self.values[steps, :self.n_targets].mean(axis=1)

    def __getitem__(self, rows):
        out = super().__getitem__(rows)  # freshly gathered: centred in place
        L, k = self.lookback, self.n_targets
        out[:, :L, :k] -= out[:, :L, :k].mean(axis=1, keepdims=True)
        return out

    def window_targets(self, rows=None):
        return super().window_targets(rows) - np.tile(self.level(rows), self.horizon)


@declare_params
class RNNForecaster(BaseRNN):
    """Recurrent network forecasting the next ``horizon`` steps of one series or a panel.

    The network reads a window of the ``lookback`` steps before an origin and
    outputs the ``horizon`` steps after it, all at once (direct multi-step
    forecasting: one ``Dense`` head of ``horizon`` values per target column).
    It is trained on every window of the training series (windows are
    gathered per mini-batch from the series, never written out: see
    :mod:`fastrnn.timeseries`).  For a panel, one network is trained on the
    windows of all series (a global model).

    Network input.  Each past step reads the series' values at that step
    (``k`` columns) followed by its covariates (``n_covariates`` columns).
    Covariates are taken as *known in advance* (calendar features, planned
    prices, weather forecasts): when ``X`` is given, the window gets
    ``horizon`` more steps after the past ones, which read the covariates of
    the steps to predict, zeros in place of the unknown values of ``y``, and
    one more feature set to 1 (0 on past steps) marking them as future.  So
    ``predict`` needs the covariates of the steps it forecasts.

    Parameters
    ----------
    lookback : int
        Past steps the network reads per forecast (at least 2 with
        ``center_windows``: a one-step window minus its level is 0).
    horizon : int, default 1
        Steps forecast from each origin (steps 1..horizon after it, sktime's
        relative forecasting horizon).
    quantiles : tuple of float or None, default None
        With quantiles such as ``(0.1, 0.5, 0.9)``, the network predicts them
        for every step, trained with the pinball loss
        (:func:`fastrnn.losses.pinball_loss`); :meth:`predict_quantiles`
        returns them and :meth:`predict` the median (the 0.5 quantile, or
        interpolated between the two either side of 0.5).  Without, the loss is the mean squared error.
    scale : bool, default True
        Standardise each series (per column: minus its mean, over its
        spread) and each covariate column (over its standard deviation)
        before training, and map the forecasts back, so raw units of any
        size train as well as standardised ones.  With ``center_windows``
        the spread is the root mean variance within the windows of
        ``lookback`` steps, which does not grow with the length of a trend,
        so any stretch of a series is scaled alike at :meth:`predict`;
        without, the standard deviation.  A series constant within every
        window cannot be standardised (an error at fit; at predict it is
        forecast from its level); a constant covariate column is only
        centred.
    center_windows : bool, default True
        Take each window relative to its level, the mean of the series' past
        values it reads (per column, after ``scale``): subtracted from those
        values and from the targets, added back to the forecasts.  The
        network then learns how the series moves around a window's level, so
        levels beyond those seen in training (a trend, a level shift) are
        forecast as familiar ones are, as a linear autoregression does.
        ``False`` feeds the scaled values as they are, for series whose
        absolute level tells what comes next.
    recursive : bool, default False
        Train a one-step-ahead network (its own horizon is 1 whatever
        ``horizon`` says) and forecast ``h`` steps by feeding each forecast
        back as the next step's value.  ``horizon`` is then only
        :meth:`predict`'s default, and any horizon can be asked for.  Errors
        compound along the way; the direct default usually forecasts far
        steps better.  Not combined with ``quantiles``.
    shuffle : bool, default True
        Draw the training windows in a new random order every epoch.
    cell, units, ..., checkpoint_path
        The recurrent layers, optimizer and training loop, as for
        :class:`fastrnn.RNNClassifier` (``embedding_dim`` is unused: inputs
        are floats).  ``batch_size`` counts windows; ``max_iter`` counts
        epochs over all windows.  With ``early_stopping``, the last
        ``validation_fraction`` of each series' windows (in time) is held
        out, minus the ``horizon - 1`` training windows whose targets would
        reach into it.

    Attributes
    ----------
    params_ : dict
    history_ : dict of str to list
        Per-epoch ``loss``, ``r2`` (point forecasts, on the scaled values, relative
        to each window's level with ``center_windows``) and,
        with validation, ``val_loss``, ``val_r2``.
    loss_curve_ : list of float
    n_iter_ : int
    n_series_ : int
        Series in the training data (1 for a single series).
    panel_ : bool
        Whether ``y`` was given as a list of series.
    n_targets_ : int
        ``k``, columns of each series.
    y_ndim_ : int
        1 or 2: the dimension of a training series.
    n_covariates_ : int
        Covariate columns (0 without ``X``).
    y_mean_, y_scale_ : ndarray of shape (n_series, k)
        Each training series' mean and spread (0 and 1 with ``scale=False``).
    y_scaling_ : str
        The spread ``y_scale_`` holds: ``"window"`` (within windows),
        ``"series"`` (standard deviation) or ``"none"``.
    center_windows_, recursive_ : bool
        The fitted ``center_windows`` and ``recursive``.
    X_mean_, X_scale_ : ndarray of shape (n_series, n_covariates)
    y_last_ : ndarray of shape (n_series, lookback, k)
        The last ``lookback`` values of each training series (raw units):
        what ``predict(y=None)`` forecasts from (:meth:`update` moves it on).
    X_last_ : ndarray of shape (n_series, lookback, n_covariates)
    quantiles_ : ndarray of shape (n_quantiles,) or None
    model_horizon_ : int
        Steps the network outputs: ``horizon``, or 1 with ``recursive``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastrnn import RNNForecaster
    >>> y = np.sin(np.arange(300) * 2 * np.pi / 24)
    >>> f = RNNForecaster(lookback=24, horizon=6, units=8, max_iter=2, random_state=0).fit(y)
    >>> f.predict().shape
    (6,)
    """

    lookback: int = param(24, _POSITIVE_INT)
    horizon: int = param(1, _POSITIVE_INT)
    quantiles: tuple | None = param(None, tuple, list, None)
    scale: bool = param(True, "boolean")
    center_windows: bool = param(True, "boolean")
    recursive: bool = param(False, "boolean")
    shuffle: bool = param(True, "boolean")

    # --------------------------------------------------------------- hooks
    @property
    def _loss(self):
        q = getattr(self, "quantiles_", None)
        if q is None:
            return mean_squared_error
        return lambda outputs, y, w: pinball_loss(outputs, y, w, q)

    @property
    def _metric(self):
        return r2 if getattr(self, "quantiles_", None) is None else None

    @property
    def _metric_name(self):
        return "r2" if getattr(self, "quantiles_", None) is None else None

    # ------------------------------------------------------------------ fit
    def fit(self, y, X=None):
        """Train on one series or a panel of series.

        Parameters
        ----------
        y : array-like of shape (T,) or (T, k), or list of them
            One series (a list of numbers is one series too, and a list of
            equal-length lists one series of rows), or a list of arrays or
            pandas Series (a panel; each its own length ``T_i``, the same
            ``k``).  Each needs at least ``lookback + horizon`` steps and no
            NaN.
        X : array-like of shape (T, n_covariates), or list of them, optional
            Covariates aligned with ``y`` (the same number of steps per series).

        Returns
        -------
        self

        Warns
        -----
        ConvergenceWarning
            When ``max_iter`` epochs (3 or more, without ``early_stopping``)
            end with the training loss still falling fast (by more than 2%
            per epoch over the last two), or still above half the loss of an
            uninformed forecast (the targets' variance, relative to each
            window's level with ``center_windows``) and falling in each of
            the last two epochs: a short series gives few batches per epoch, and the
            forecasts of such a model are poor.
        """
        n_before = getattr(self, "n_iter_", 0) if self.warm_start else 0
        self._fit_chance_loss = None
        self._fit((y, X))
        if not self.early_stopping and self.n_iter_ - n_before >= self.max_iter >= 3:
            _warn_if_undertrained(self.history_.get("loss", []), self._fit_chance_loss,
                                  self.max_iter)
        return self

    def partial_fit(self, y, X=None):
        """One epoch over the windows of ``y`` (and ``X``), continuing from the current weights.

        The series' scaling statistics and the history ``predict()`` starts
        from are those of this call's ``y``.

        Returns
        -------
        self
        """
        return self._fit((y, X), incremental=True)

    def _check_quantiles(self):
        if self.quantiles is None:
            return None
        q = np.asarray(self.quantiles, dtype=np.float64)
        if q.ndim != 1 or len(q) == 0 or not ((q > 0) & (q < 1)).all():
            raise ValueError(f"quantiles must be a non-empty sequence of numbers in (0, 1), got "
                             f"{self.quantiles!r}")
        q = np.sort(q)
        if (np.diff(q) == 0).any():
            raise ValueError(f"quantiles must be distinct, got {self.quantiles!r}")
        if self.recursive:
            raise ValueError("quantiles need recursive=False (a recursive forecast feeds back one "
                             "value per step, not a distribution)")
        return q

    def _series_list(self, y, X, where, panel=None):
        """``(panel, [(T_i, k) series], [(T_i, n_cov) covariates or None])``, checked.

        ``panel``: how to read a list (:func:`fastrnn.timeseries.is_panel`);
        None at fit, the fitted form afterwards.
        """
        if panel is None and isinstance(y, (list, tuple)) and y and \
                isinstance(y[0], (list, tuple)) and not is_panel(y):
            warnings.warn(f"y is a list of {len(y)} lists of {len(y[0])} values, read as one series "
                          f"of {len(y)} steps and {len(y[0])} columns (as make_windows reads it): "
                          "pass np.asarray(y) for that, or a list of arrays for a panel",
                          UserWarning, stacklevel=4)
        panel = is_panel(y, panel)
        ys = list(y) if panel else [y]
        if panel and not ys:
            raise ValueError("y is an empty list: give at least one series")
        series, one_d = [], None
        for i, s in enumerate(ys):
            name = f"y[{i}]" if panel else "y"
            a, is_1d = _as_series(s, name)
            if one_d is not None and (is_1d != one_d or a.shape[1] != series[0].shape[1]):
                raise ValueError(f"{name} has shape {np.shape(s)}, but y[0] has "
                                 f"{np.shape(ys[0])}: every series needs the same columns")
            one_d = is_1d
            series.append(a)
        if X is None:
            return panel, series, one_d, None
        xs = list(X) if panel else [X]
        if panel and (not isinstance(X, (list, tuple)) or len(xs) != len(series)):
            raise ValueError(f"X must be a list of {len(series)} covariate arrays, one per series "
                             "of y")
        covs = []
        for i, (x, s) in enumerate(zip(xs, series)):
            name = f"X[{i}]" if panel else "X"
            c, _ = _as_series(x, name)
            if len(c) != len(s) + where:
                extra = f" plus the horizon ({where} steps)" if where else ""
                raise ValueError(f"{name} has {len(c)} steps but {'y[%d]' % i if panel else 'y'} "
                                 f"has {len(s)}: covariates must cover the series{extra}, "
                                 f"{len(s) + where} steps")
            if covs and c.shape[1] != covs[0].shape[1]:
                raise ValueError(f"{name} has {c.shape[1]} columns, X[0] has {covs[0].shape[1]}")
            covs.append(c)
        return panel, series, one_d, covs

    def _scaling(self):
        """How the parameters scale a series: ``"window"``, ``"series"`` or ``"none"``.

        With ``center_windows`` the network reads each window relative to its
        level, so the spread that matters is the one within windows
        (``"window"``); without, the series' own (``"series"``).
        """
        if not self.scale:
            return "none"
        return "window" if self.center_windows else "series"

    def _y_scaling(self):
        """``y_scaling_``; a model pickled before it was kept scaled by the standard deviation."""
        return getattr(self, "y_scaling_", "series" if self.scale else "none")

    def _fitted_form(self):
        """``(scale, center_windows, recursive)`` as fitted."""
        return (self._y_scaling() != "none", getattr(self, "center_windows_", self.center_windows),
                getattr(self, "recursive_", self.recursive))

    def _check_form_unchanged(self, remedy="refit"):
        """Refuse ``scale``, ``center_windows`` or ``recursive`` set after fit to other values."""
        fitted = self._fitted_form()
        if (bool(self.scale), bool(self.center_windows), bool(self.recursive)) != fitted:
            raise ValueError(f"scale={self.scale!r}, center_windows={self.center_windows!r}, "
                             f"recursive={self.recursive!r} differ from what the model was "
                             f"fitted with ({fitted[0]!r}, {fitted[1]!r}, {fitted[2]!r}): "
                             f"set them back, or {remedy}")

    def _stats(self, a, name, refuse_constant, how):
        """Mean and scale per column of ``a`` (T, c), scaled as ``how`` says (see :meth:`_scaling`).

        ``"window"``: the root mean within-window variance over windows of
        ``lookback`` steps (at most :data:`_SPREAD_SAMPLE`, evenly spaced), a
        spread that does not grow with the length of a trending series, so a
        longer history of the same series is scaled alike.  ``"series"``: the
        standard deviation.  ``"none"``: (0, 1).
        """
        c = a.shape[1]
        if how == "none":
            return np.zeros(c), np.ones(c)
        mean = a.mean(axis=0)
        if how == "window":
            L = min(self.lookback, len(a))
            n = len(a) - L + 1
            size = min(n, _SPREAD_SAMPLE, max(1, _SPREAD_VALUES // (c * L)))
            starts = np.unique(np.linspace(0, n - 1, size).astype(np.intp))
            windows = np.lib.stride_tricks.sliding_window_view(a - mean, L, axis=0)[starts]
            std = np.sqrt(windows.var(axis=2).mean(axis=0))
        else:
            std = a.std(axis=0)
        # relative to the values' size, so that series in tiny units still count as varying
        flat = ~(std > 1e-12 * np.abs(a).max(axis=0))
        if flat.any():
            if refuse_constant:
                j = int(np.flatnonzero(flat)[0])
                where = f" in column {j}" if c > 1 else ""
                within = f" within every window of lookback={self.lookback} steps" \
                    if how == "window" else ""
                raise ValueError(f"{name} is constant{where}{within} (spread {std[j]:.3g}, "
                                 "negligible against its values), so scale=True cannot "
                                 "standardise it; pass scale=False, or drop the series")
            std = np.where(flat, 1.0, std)
        return mean, std

    def _n_future(self):
        return self.model_horizon_ if self.n_covariates_ else 0

    def _fit_data(self, X, y, sample_weight, classes, reset):
        y, cov = X
        quantiles = self._check_quantiles()
        if self.center_windows and self.lookback == 1:
            raise ValueError("lookback=1 with center_windows=True leaves the network nothing to "
                             "read (a one-step window minus its own level is 0): use lookback >= 2 "
                             "or center_windows=False")
        panel, series, one_d, covs = self._series_list(y, cov, 0)
        model_horizon = 1 if self.recursive else self.horizon
        need = self.lookback + model_horizon
        for i, s in enumerate(series):
            if len(s) < need:
                name = f"y[{i}]" if panel else "y"
                rows = ("; a nested list of equal-length rows is read as one series of shape "
                        "(T, k): pass a panel as a list of arrays"
                        if isinstance(y, (list, tuple)) and not panel else "")
                raise ValueError(f"lookback={self.lookback} is too long for {name}: it has "
                                 f"{len(s)} steps, and a window needs lookback + "
                                 f"{'1 (recursive)' if self.recursive else 'horizon'} = {need}"
                                 f"{rows}")
        k, n_cov = series[0].shape[1], (0 if covs is None else covs[0].shape[1])
        if not reset:
            self._check_form_unchanged("fit from scratch (warm_start=False)")
            if (k, n_cov) != (self.n_targets_, self.n_covariates_) or \
                    model_horizon != self.model_horizon_ or len(quantiles if quantiles is not None
                                                                else ()) != \
                    len(self.quantiles_ if self.quantiles_ is not None else ()):
                raise ValueError("continuing training (warm_start or partial_fit): the new data or "
                                 "parameters change the network's shape (columns of y or X, "
                                 "horizon, quantiles); fit from scratch")
        self.panel_, self.n_series_ = panel, len(series)
        self.n_targets_, self.y_ndim_, self.n_covariates_ = k, 1 if one_d else 2, n_cov
        self.model_horizon_, self.quantiles_ = model_horizon, quantiles
        self.n_step_features_ = k + n_cov + (1 if n_cov else 0)
        self.n_timesteps_ = self.lookback + self._n_future()
        dtype = np.dtype(self.dtype)
        # a continued fit keeps the scaling its weights were trained with (a file from before
        # the window spread keeps the standard deviation)
        how = self._scaling() if reset else self._y_scaling()
        self.y_scaling_, self.center_windows_, self.recursive_ = \
            how, bool(self.center_windows), bool(self.recursive)
        y_stats = [self._stats(s, f"y[{i}]" if panel else "y", True, how)
                   for i, s in enumerate(series)]
        self.y_mean_ = np.array([m for m, _ in y_stats]).reshape(len(series), k)
        self.y_scale_ = np.array([s for _, s in y_stats]).reshape(len(series), k)
        x_stats = [self._stats(c, "X", False, _covariate_scaling(how)) for c in covs] if covs else []
        self.X_mean_ = np.array([m for m, _ in x_stats]).reshape(len(series), n_cov)
        self.X_scale_ = np.array([s for _, s in x_stats]).reshape(len(series), n_cov)
        L = self.lookback
        self.y_last_ = np.stack([s[-L:] for s in series])
        self.X_last_ = (np.stack([c[-L:] for c in covs]) if covs
                        else np.zeros((len(series), L, 0)))
        # the series end to end, scaled, one start index per window
        parts, starts, offset = [], [], 0
        for i, s in enumerate(series):
            cols = [(s - self.y_mean_[i]) / self.y_scale_[i]]
            if covs:
                cols.append((covs[i] - self.X_mean_[i]) / self.X_scale_[i])
            parts.append(np.concatenate(cols, axis=1).astype(dtype))
            starts.append(offset + np.arange(len(s) - need + 1))
            offset += len(s)
        values = np.concatenate(parts)
        return self._windows_class()(values, values[:, :k], np.concatenate(starts), L,
                                     self._n_future(), model_horizon, k, self.batch_size,
                                     self.shuffle)

    def _windows_class(self):
        return _CenteredWindows if self.center_windows else SeriesWindows

    def _batch_source(self, data):
        return data

    def _validation_set(self, validation_data):  # pragma: no cover - fit takes no validation_data
        raise NotImplementedError("RNNForecaster holds out the end of each series (early_stopping)")

    def _split_validation(self, data, rng):
        # the last validation_fraction of each series' windows, in time; training windows whose
        # targets would reach into the first held-out target are dropped
        starts = data.starts
        breaks = np.flatnonzero(np.diff(starts) != 1) + 1
        train, val = [], []
        for run in np.split(np.arange(len(starts)), breaks):
            n_val = int(np.ceil(self.validation_fraction * len(run)))
            n_train = len(run) - n_val - (self.model_horizon_ - 1)
            if n_val < 1 or n_train < 1:
                raise ValueError("a series is too short to hold out a validation part; lower "
                                 "validation_fraction or turn early_stopping off")
            train.append(run[:n_train])
            val.append(run[len(run) - n_val:])
        train, val = np.concatenate(train), np.concatenate(val)
        held = data.subset(val)
        return data.subset(train), (held, held.window_targets(), np.ones(len(val)))

    def _chance_loss(self, data):
        # the squared error of predicting the targets' mean: their variance, read from the
        # targets the loss is on (centred with center_windows), on a spread sample of windows
        if self.quantiles_ is not None:
            return None
        n = len(data.starts)
        rows = np.unique(np.linspace(0, n - 1, min(n, _CHANCE_SAMPLE)).astype(np.intp))
        chance = float(data.window_targets(rows).var(axis=0).mean())
        self._fit_chance_loss = chance  # for fit's under-training warning (not a fitted attribute)
        return chance

    def _network(self):
        n_out = self.model_horizon_ * self.n_targets_ * (
            1 if self.quantiles_ is None else len(self.quantiles_))
        return SequenceModel.build("dense", self.n_step_features_, None, self._recurrent_layers(),
                                   False, "last", n_out, n_timesteps=self.n_timesteps_)

    def _check_saveable(self):
        super()._check_saveable()
        self._check_form_unchanged()

    def _check_loaded_state(self):
        """Refuse fitted attributes that disagree with each other or with the parameters (load)."""
        self._check_params()
        q = self._check_quantiles()
        if not isinstance(self.panel_, bool) or not isinstance(self.n_series_, int) or self.n_series_ < 1:
            raise ValueError("panel_ must be a bool and n_series_ a positive int")
        if self.y_ndim_ not in (1, 2) or (self.y_ndim_ == 1 and self.n_targets_ != 1):
            raise ValueError(f"y_ndim_={self.y_ndim_!r} does not fit n_targets_={self.n_targets_!r}")
        if not (self.panel_ or self.n_series_ == 1):
            raise ValueError(f"a single-series model has n_series_={self.n_series_}")
        if (q is None) != (self.quantiles_ is None) or (
                q is not None and not (isinstance(self.quantiles_, np.ndarray)
                                       and np.array_equal(self.quantiles_, q))):
            raise ValueError(f"quantiles_={self.quantiles_!r} does not match quantiles={self.quantiles!r}")
        if self.model_horizon_ != (1 if self.recursive else self.horizon):
            raise ValueError(f"model_horizon_={self.model_horizon_!r} does not match horizon and recursive")
        n, L, k, c = self.n_series_, self.lookback, self.n_targets_, self.n_covariates_
        if (self.n_timesteps_, self.n_step_features_) != (L + self._n_future(), k + c + (1 if c else 0)):
            raise ValueError("n_timesteps_ or n_step_features_ does not match the window's shape")
        shapes = {"y_last_": (n, L, k), "X_last_": (n, L, c), "y_mean_": (n, k), "y_scale_": (n, k),
                  "X_mean_": (n, c), "X_scale_": (n, c)}
        for name, shape in shapes.items():
            a = getattr(self, name)
            if not isinstance(a, np.ndarray) or a.shape != shape or a.dtype.kind != "f" or \
                    not np.isfinite(a).all():
                raise ValueError(f"{name} must be a finite float array of shape {shape}")
        if not ((self.y_scale_ > 0).all() and (self.X_scale_ > 0).all()):
            raise ValueError("y_scale_ and X_scale_ must be positive")
        if not hasattr(self, "y_scaling_"):  # a file from before these were kept: its scaling
            self.y_scaling_ = self._y_scaling()
            _, self.center_windows_, self.recursive_ = map(bool, self._fitted_form())
        if self.y_scaling_ not in ("none", "series", "window") or \
                (self.y_scaling_ == "window" and not self.center_windows_):
            raise ValueError(f"y_scaling_={self.y_scaling_!r} is not a scaling of this model")
        self._check_form_unchanged()
        super()._check_loaded_state()

    def _predict_one(self):
        if self.n_covariates_:
            future = np.zeros((self.n_series_, self.model_horizon_, self.n_covariates_))
            self._forecast(self.y_last_, self.X_last_, future, self.y_mean_, self.y_scale_,
                           self.X_mean_, self.X_scale_, self.model_horizon_)
        else:
            self._forecast(self.y_last_, None, None, self.y_mean_, self.y_scale_, None, None,
                           self.model_horizon_)

    # -------------------------------------------------------------- predict
    def _forecast(self, hist, hist_X, future_X, y_mean, y_scale, X_mean, X_scale, horizon):
        """Raw-unit forecasts, shape (n_series, horizon, k, n_q), from per-series histories.

        ``hist`` (n_series, >= lookback, k) raw values, ``hist_X`` the same
        steps' covariates and ``future_X`` (n_series, horizon, n_cov) the
        forecast steps' ones (None without covariates).
        """
        L, k, n_cov = self.lookback, self.n_targets_, self.n_covariates_
        n, Q = len(hist), (1 if self.quantiles_ is None else len(self.quantiles_))
        dtype = np.dtype(self.dtype)
        net = self._fitted_network()
        # each series' last L steps then the steps to forecast, scaled, end to end
        width = L + horizon
        values = np.zeros((n, width, k + n_cov), dtype=dtype)
        values[:, :L, :k] = (hist[:, -L:] - y_mean[:, None]) / y_scale[:, None]
        if n_cov:
            values[:, :L, k:] = (hist_X[:, -L:] - X_mean[:, None]) / X_scale[:, None]
            values[:, L:, k:] = (future_X - X_mean[:, None]) / X_scale[:, None]
        flat = values.reshape(n * width, k + n_cov)
        starts = np.arange(n) * width
        H = self.model_horizon_
        out = np.empty((n, horizon, k, Q))
        windows_class = self._windows_class()

        def level(windows):  # what the network's outputs are relative to, (n, k)
            return windows.level() if self.center_windows else 0.0

        with engine_scope():
            if not self.recursive:
                windows = windows_class(flat, None, starts, L, self._n_future(), H, k)
                raw = predict_outputs(net, self.params_, windows, max(self.batch_size, 256),
                                      self._resolved_threads())
                raw = raw.reshape(n, H, k, Q) + np.reshape(level(windows), (-1, 1, k, 1))
                out[:] = raw[:, :horizon]
            else:
                for j in range(horizon):
                    windows = windows_class(flat, None, starts + j, L, self._n_future(), 1, k)
                    raw = predict_outputs(net, self.params_, windows, max(self.batch_size, 256),
                                          self._resolved_threads())
                    raw = raw.reshape(n, k, Q) + np.reshape(level(windows), (-1, k, 1))
                    out[:, j] = raw
                    flat[starts + L + j, :k] = raw.reshape(n, k)
        out = out * y_scale[:, None, :, None] + y_mean[:, None, :, None]
        # quantile heads are trained apart and may cross: sorting each step's values
        # (monotone rearrangement) returns the same set of values, ordered
        return np.sort(out, axis=3) if Q > 1 else out

    def _check_X_given(self, X, needs):
        """Refuse ``X`` missing when fitted with covariates (``needs`` says why), or given without."""
        if X is None and self.n_covariates_:
            raise ValueError(f"X is missing: the model was fitted with {self.n_covariates_} "
                             f"covariate column(s), so {needs}")
        if X is not None and not self.n_covariates_:
            raise ValueError("X was given, but the model was fitted without covariates")

    def _check_columns(self, panel, series, one_d, covs):
        """Refuse new series (and covariates) whose columns differ from the fitted ones."""
        for i, s in enumerate(series):
            if s.shape[1] != self.n_targets_ or one_d != (self.y_ndim_ == 1):
                shape = (len(s),) if one_d else s.shape
                raise ValueError(f"{'y[%d]' % i if panel else 'y'} has shape {shape}, the model "
                                 f"was fitted on series of {self.n_targets_} column(s), "
                                 f"{self.y_ndim_}-D")
        if covs and covs[0].shape[1] != self.n_covariates_:
            raise ValueError(f"X has {covs[0].shape[1]} columns, the model was fitted with "
                             f"{self.n_covariates_}")

    def _prepare(self, y, X, horizon):
        """Histories, covariates and statistics for a forecast of ``horizon`` steps."""
        check_is_fitted(self, "params_")
        if horizon is None:
            horizon = self.horizon
        if not isinstance(horizon, numbers.Integral) or isinstance(horizon, bool) or horizon < 1:
            raise ValueError(f"horizon must be an int >= 1, got {horizon!r}")
        horizon = int(horizon)
        self._check_form_unchanged()
        if not self.recursive and horizon > self.model_horizon_:
            raise ValueError(f"horizon={horizon} is beyond the {self.model_horizon_} steps this "
                             f"model forecasts (fitted with horizon={self.model_horizon_}); refit "
                             "with a larger horizon, or use recursive=True")
        n_cov, L = self.n_covariates_, self.lookback
        self._check_X_given(X, f"predict needs their values for the {horizon} forecast steps "
                               "(and, with y, for y's steps before them)")
        # the network reads model_horizon_ future covariate steps even when fewer are forecast
        pad = self.model_horizon_ - horizon if (n_cov and not self.recursive) else 0
        if y is None:
            hist, hist_X = self.y_last_, self.X_last_
            y_mean, y_scale, X_mean, X_scale = self.y_mean_, self.y_scale_, self.X_mean_, self.X_scale_
            future = None
            if n_cov:
                xs = list(X) if self.panel_ else [X]
                if self.panel_ and (not isinstance(X, (list, tuple)) or len(xs) != self.n_series_):
                    raise ValueError(f"X must be a list of {self.n_series_} arrays, the future "
                                     "covariates of each training series")
                future = []
                for i, x in enumerate(xs):
                    c, _ = _as_series(x, f"X[{i}]" if self.panel_ else "X")
                    if c.shape != (horizon, n_cov):
                        raise ValueError(f"{'X[%d]' % i if self.panel_ else 'X'} has shape "
                                         f"{c.shape}; with y=None it holds the covariates of the "
                                         f"{horizon} forecast steps: shape ({horizon}, {n_cov})")
                    future.append(c)
                future = np.stack(future)
            panel = self.panel_
        else:
            panel, series, one_d, covs = self._series_list(y, X, horizon, self.panel_)
            self._check_columns(panel, series, one_d, covs)
            for i, s in enumerate(series):
                if len(s) < L:
                    raise ValueError(f"{'y[%d]' % i if panel else 'y'} has {len(s)} steps, fewer "
                                     f"than lookback={L}")
            how = self._y_scaling()
            # a constant history forecasts from its level (scale 1), as it could not train
            stats = [self._stats(s, f"y[{i}]" if panel else "y", False, how)
                     for i, s in enumerate(series)]
            y_mean = np.array([m for m, _ in stats])
            y_scale = np.array([s for _, s in stats])
            hist = np.stack([s[-L:] for s in series])
            hist_X = future = X_mean = X_scale = None
            if n_cov and not panel:
                # the covariates' effect was learned on values scaled as in training: a flag the
                # given history happens not to vary would otherwise be read as another value
                X_mean, X_scale = self.X_mean_, self.X_scale_
            elif n_cov:
                xstats = [self._stats(c[:len(s)], "X", False, _covariate_scaling(how))
                          for c, s in zip(covs, series)]
                X_mean = np.array([m for m, _ in xstats])
                X_scale = np.array([s for _, s in xstats])
            if n_cov:
                hist_X = np.stack([c[len(s) - L:len(s)] for c, s in zip(covs, series)])
                future = np.stack([c[len(s):] for c, s in zip(covs, series)])
        if pad:  # steps past the asked horizon read their last covariates, and are dropped
            future = np.concatenate([future, np.repeat(future[:, -1:], pad, axis=1)], axis=1)
        return panel, hist, hist_X, future, y_mean, y_scale, X_mean, X_scale, horizon, pad

    def _run(self, y, X, horizon):
        panel, hist, hist_X, future, y_mean, y_scale, X_mean, X_scale, horizon, pad = \
            self._prepare(y, X, horizon)
        out = self._forecast(hist, hist_X, future, y_mean, y_scale, X_mean, X_scale, horizon + pad)
        out = out[:, :horizon]
        if self.y_ndim_ == 1:
            out = out[:, :, 0]
        return out if panel else out[0]

    def predict(self, y=None, X=None, horizon=None):
        """Forecast the ``horizon`` steps after the end of ``y``.

        Parameters
        ----------
        y : array-like of shape (T, ...) or list of them, optional
            The history to forecast from (a series, or a panel as a list);
            only its last ``lookback`` steps enter the network, scaled with
            the spread of ``y`` as in training (see ``scale``), which takes
            several windows, and several seasons, to measure: pass the whole
            history, not only its last ``lookback`` steps.  By default, the training
            series (as moved on by :meth:`update`), with their training
            statistics.  Covariates are scaled with the training statistics
            for a model fitted on one series, and with each given series' own
            for a panel (whose given series may be new ones).
        X : array-like or list of them, optional
            Required when the model was fitted with covariates.  With
            ``y=None``: the covariates of the forecast steps, shape
            ``(horizon, n_covariates)`` (a list of them for a panel).  With
            ``y``: covariates aligned with ``y`` followed by those of the
            forecast steps, ``T + horizon`` rows per series.  The direct
            network reads the covariates of all the fitted ``horizon``
            steps; for a shorter forecast the steps after it repeat the last
            row given.
        horizon : int, optional
            Steps to forecast, at most the fitted ``horizon`` (any number
            with ``recursive=True``); default the ``horizon`` parameter.

        Returns
        -------
        ndarray
            One series: shape ``(horizon,)``, or ``(horizon, k)`` for series
            of ``k`` columns.  A panel: ``(n_series, horizon)`` or
            ``(n_series, horizon, k)``, in the order of the series.  With
            ``quantiles``, the median of each step: the 0.5 quantile, else
            interpolated linearly between the quantiles either side of 0.5
            (the closest one when all lie on one side).
        """
        out = self._run(y, X, horizon)
        if self.quantiles_ is None:
            return out[..., 0]
        return _median_of(out, self.quantiles_)

    def predict_quantiles(self, y=None, X=None, horizon=None):
        """Forecast quantiles (models fitted with ``quantiles``).

        Parameters are those of :meth:`predict`.

        Returns
        -------
        ndarray of shape (horizon, n_quantiles)
            Columns in increasing quantile order (``quantiles_``); each row is
            sorted, so quantiles never cross.  ``(horizon, k, n_quantiles)``
            for series of ``k`` columns, with a leading ``n_series`` axis for
            a panel.
        """
        check_is_fitted(self, "params_")
        if self.quantiles_ is None:
            raise ValueError("predict_quantiles needs a model fitted with quantiles=(...)")
        return self._run(y, X, horizon)

    def update(self, y, X=None):
        """Append newly observed steps to the history ``predict(y=None)`` forecasts from.

        The network and the scaling statistics stay as fitted (sktime's
        ``update`` with ``update_params=False``).

        Parameters
        ----------
        y : array-like of shape (T_new,) or (T_new, k), or a list of them for a panel
        X : array-like of shape (T_new, n_covariates), or list, optional
            The new steps' covariates; required when fitted with covariates.

        Returns
        -------
        self
        """
        check_is_fitted(self, "params_")
        self._check_X_given(X, "update needs those of the new steps")
        panel, series, one_d, covs = self._series_list(y, X, 0, self.panel_)
        if panel != self.panel_ or len(series) != self.n_series_:
            raise ValueError(f"y must have the training data's form: "
                             f"{'a list of %d series' % self.n_series_ if self.panel_ else 'one series'}")
        self._check_columns(panel, series, one_d, covs)
        L = self.lookback
        self.y_last_ = np.stack([np.concatenate([old, s])[-L:]
                                 for old, s in zip(self.y_last_, series)])
        if covs:
            self.X_last_ = np.stack([np.concatenate([old, c])[-L:]
                                     for old, c in zip(self.X_last_, covs)])
        return self

    def score(self, y, X=None):
        """R² of the forecasts of ``y``, the steps that follow the series forecast from.

        From the end of the history :meth:`predict` forecasts from (the
        training series, as moved on by :meth:`update`), the model forecasts
        ``horizon`` steps, is given their observed values (as by
        :meth:`update`, on a copy: this model is left as it is), forecasts
        the next ``horizon``, and so on to the end of ``y``.  So
        ``GridSearchCV`` with ``TimeSeriesSplit`` (each test fold follows its
        training fold) scores forecasts as they would be made.

        Parameters
        ----------
        y : array-like of shape (T,) or (T, k)
            The steps after the history, as many as wanted.
        X : array-like of shape (T, n_covariates), optional
            Their covariates; required when fitted with covariates.

        Returns
        -------
        float
            R² over all forecast values (``sklearn.metrics.r2_score``, the
            columns' average for ``k`` columns).
        """
        check_is_fitted(self, "params_")
        if self.panel_:
            raise ValueError("score takes the continuation of one series; a model fitted on a panel "
                             "is scored per series with fastrnn.timeseries.backtest")
        self._check_X_given(X, "score needs those of the steps of y")
        _, (s,), one_d, covs = self._series_list(y, X, 0, False)
        self._check_columns(False, [s], one_d, covs)
        c = covs[0] if covs else None
        model, preds, h = copy.copy(self), [], self.horizon
        for start in range(0, len(s), h):
            stop = min(start + h, len(s))
            future = None if c is None else c[start:stop]
            preds.append(model.predict(X=future, horizon=stop - start).reshape(stop - start, -1))
            if stop < len(s):
                model.update(s[start:stop, 0] if one_d else s[start:stop], future)
        return r2(np.concatenate(preds), s)

    @classmethod
    def _params_from_file(cls, params):
        # files written before ``center_windows`` existed hold networks trained on uncentred windows
        return params if "center_windows" in params else {**params, "center_windows": False}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags


def _positional(cls, names):
    """Let ``names`` (the first parameters) also be passed by position: ``cls(168, 24, units=64)``.

    :func:`declare_params` writes a keyword-only ``__init__``; this wraps it and
    publishes the signature with ``names`` first, positional-or-keyword, which
    is what ``get_params`` and ``clone`` read.
    """
    generated = cls.__init__
    sig = inspect.signature(generated)
    params = list(sig.parameters.values())
    first = [sig.parameters[n].replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    rest = [p for p in params[1:] if p.name not in names]

    def __init__(self, *args, **kwargs):
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes at most {len(names)} positional arguments "
                            f"({', '.join(names)}), got {len(args)}")
        for name, value in zip(names, args):
            if name in kwargs:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
            kwargs[name] = value
        generated(self, **kwargs)

    __init__.__signature__ = sig.replace(parameters=[params[0], *first, *rest])
    __init__.__doc__ = generated.__doc__
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = __init__
    return cls


_positional(RNNForecaster, ("lookback", "horizon"))
