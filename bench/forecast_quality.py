"""Learning figures of the time-series estimators (accuracy, not speed).

Usage::

    python bench/forecast_quality.py [--small] [--seed 0] [--threads 2] [--uncentred]
                                     [--max-iter N]

1. Forecasts of ``make_seasonal_series`` (hourly-like: daily and weekly cycles,
   noise 0.3, a slight trend): MASE at horizons 1 and 24 over rolling origins
   (:func:`fastrnn.timeseries.backtest`, one fit before the first origin,
   ``refit=False``), scaled by the in-sample naive MAE, of
   :class:`~fastrnn.RNNForecaster`, the naive forecast (last value),
   the seasonal-naive forecast (the value 24 steps before) and Ridge on the
   same ``lookback`` lags (one multi-output Ridge per horizon, direct).  The
   network and Ridge read the same lags, are fitted on the same windows (all
   those before the first origin) and forecast from the same histories; the
   network is the estimator's defaults (``lookback`` and ``horizon`` aside).
   ``--uncentred`` also runs it with ``center_windows=False``.
2. ``make_macro_index``: per-step R^2 on held-out sequences of
   :class:`~fastrnn.RNNSequenceRegressor` (reading the inputs up to each
   step, in order) against Ridge on the current inputs and Ridge on the
   current and the last 7 steps of inputs (which hold the 3-step lag but
   only part of the output's memory).  No model sees a later input.
3. Raw units: one-step R^2 of :class:`~fastrnn.RNNForecaster` on the series
   times 1000 plus 5000 with ``scale=True`` and ``scale=False``, and on the
   standardised series, over the same test origins; Ridge on the same lags
   for reference.

``--small`` shrinks everything to a quick check whose figures are rough.
"""

import argparse
import time

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import Ridge

from fastrnn import RNNForecaster, RNNSequenceRegressor
from fastrnn.datasets import make_macro_index, make_seasonal_series
from fastrnn.timeseries import backtest, make_windows


class Naive(BaseEstimator):
    """``y[T + h] = y[T - m + ((h - 1) mod m) + 1]``: the last value (m=1) or the last season."""

    def __init__(self, m=1, horizon=1):
        self.m = m
        self.horizon = horizon

    def fit(self, y, X=None):
        self.y_ = np.asarray(y, dtype=float)
        return self

    def predict(self, y=None, X=None, horizon=None):
        y = self.y_ if y is None else np.asarray(y, dtype=float)
        h = np.arange(horizon or self.horizon)
        return y[len(y) - self.m + h % self.m]


class RidgeLags(BaseEstimator):
    """Ridge regression of the next ``horizon`` values on the last ``lookback`` values (direct)."""

    def __init__(self, lookback=24, horizon=1, alpha=1.0):
        self.lookback = lookback
        self.horizon = horizon
        self.alpha = alpha

    def fit(self, y, X=None):
        W, t = make_windows(y, self.lookback, self.horizon)
        self.model_ = Ridge(alpha=self.alpha).fit(W[:, :, 0], t)
        return self

    def predict(self, y, X=None, horizon=None):
        out = self.model_.predict(np.asarray(y, dtype=float)[-self.lookback:][None])
        return np.ravel(out)[:horizon or self.horizon]


def r2(y, pred):
    return 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def seasonal_forecasts(args, rnn_kw):
    n, origins = (1500, 20) if args.small else (6000, 60)
    y = make_seasonal_series(n, seasonalities=(24, 168), trend=0.0005, noise=0.3,
                             random_state=args.seed)
    lookback = 48 if args.small else 168
    rows = {}
    for horizon in (1, 24):
        n_windows = origins if horizon == 24 else 3 * origins
        models = {
            "RNNForecaster": RNNForecaster(lookback, horizon, **rnn_kw),
            **({"RNNForecaster, uncentred": RNNForecaster(lookback, horizon, center_windows=False,
                                                          **rnn_kw)} if args.uncentred else {}),
            "naive": Naive(1),
            "seasonal naive (24)": Naive(24),
            f"Ridge on {lookback} lags": RidgeLags(lookback),
        }
        for name, model in models.items():
            t0 = time.perf_counter()
            res = backtest(model, y, n_windows=n_windows, horizon=horizon, refit=False)
            rows.setdefault(name, {})[horizon] = (res["mase_overall"], time.perf_counter() - t0)
    print(f"\n1. make_seasonal_series({n}, (24, 168), noise=0.3): MASE over rolling origins "
          f"(1-step: {3 * origins} origins, 24-step: {origins}), one fit before the first origin")
    print(f"   {'model':<26}{'MASE h=1':>10}{'MASE h=24':>11}")
    for name, r in rows.items():
        print(f"   {name:<26}{r[1][0]:>10.3f}{r[24][0]:>11.3f}")


def macro_index(args, rnn_kw):
    n_series, T = (60, 100) if args.small else (400, 200)
    X, y = make_macro_index(T, n_inputs=3, noise=0.05, n_series=n_series, random_state=args.seed)
    split = int(0.8 * n_series)
    Xtr, ytr, Xte, yte = X[:split], y[:split], X[split:], y[split:]
    # a sequence is a long sample: small batches, so that every epoch takes several steps
    seq = RNNSequenceRegressor(**{**rnn_kw, "batch_size": 16, "max_iter": 30,
                                  "learning_rate": 0.01}).fit(Xtr, ytr)
    r2_rnn = r2(yte, seq.predict(Xte))
    now = Ridge().fit(Xtr.reshape(-1, 3), ytr.ravel())
    r2_now = r2(yte.ravel(), now.predict(Xte.reshape(-1, 3)))

    def lagged(A, k=8):
        pad = np.concatenate([np.zeros((len(A), k - 1, A.shape[2])), A], axis=1)
        return np.stack([pad[:, i:i + A.shape[1]] for i in range(k)], axis=3).reshape(
            len(A) * A.shape[1], -1)

    lags = Ridge().fit(lagged(Xtr), ytr.ravel())
    r2_lags = r2(yte.ravel(), lags.predict(lagged(Xte)))
    print(f"\n2. make_macro_index: {n_series} sequences of {T} steps, 3 inputs, "
          f"per-step R^2 on {n_series - split} held-out sequences")
    print(f"   RNNSequenceRegressor {r2_rnn:.3f}; Ridge on the current inputs {r2_now:.3f}; "
          f"Ridge on the inputs of the last 8 steps {r2_lags:.3f}")


def raw_units(args, rnn_kw):
    n = 1500 if args.small else 6000
    y = make_seasonal_series(n, seasonalities=(24, 168), noise=0.3, random_state=args.seed + 1)
    lookback = 48 if args.small else 168
    cases = {"standardised series, scale=True": ((y - y.mean()) / y.std(), True),
             "x1000 + 5000, scale=True": (1000 * y + 5000, True),
             "x1000 + 5000, scale=False": (1000 * y + 5000, False)}
    print(f"\n3. one-step R^2 over the last {n // 10} steps (rolling origins, one fit)")
    for name, (series, scale) in cases.items():
        model = RNNForecaster(lookback, 1, scale=scale, **rnn_kw)
        res = backtest(model, series, n_windows=n // 10, horizon=1, refit=False)
        print(f"   {name:<34}{r2(series[-(n // 10):], res['forecasts'][:, 0]):>8.3f}")
    res = backtest(RidgeLags(lookback), y, n_windows=n // 10, horizon=1, refit=False)
    print(f"   {f'Ridge on {lookback} lags':<34}{r2(y[-(n // 10):], res['forecasts'][:, 0]):>8.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--uncentred", action="store_true",
                        help="also forecast with center_windows=False")
    parser.add_argument("--max-iter", type=int, default=None,
                        help="the forecasters' epochs (default: the estimator's)")
    args = parser.parse_args()
    # the estimators' defaults otherwise (LSTM, Adam at 0.001, 10 epochs, batches of 32)
    rnn_kw = dict(cell="lstm", units=16 if args.small else 32, n_threads=args.threads,
                  random_state=args.seed)
    forecast_kw = {**rnn_kw, **({} if args.max_iter is None else {"max_iter": args.max_iter})}
    t0 = time.perf_counter()
    seasonal_forecasts(args, forecast_kw)
    macro_index(args, rnn_kw)
    raw_units(args, forecast_kw)
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
