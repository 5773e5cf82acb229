"""Draw docs/timeseries_forecast.png: a 48-step forecast with its 10%-90% interval.

Usage::

    python bench/forecast_figure.py [-o docs/timeseries_forecast.png]

An :class:`~fastrnn.RNNForecaster` with ``quantiles=(0.1, 0.5, 0.9)`` is fitted
on ``make_seasonal_series`` (daily and weekly cycles, noise 0.3) up to 48 steps
before its end; the figure shows the last week of history, the held-out 48
steps, the median forecast and the band between the 0.1 and 0.9 quantiles.
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from fastrnn import RNNForecaster  # noqa: E402
from fastrnn.datasets import make_seasonal_series  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", default="docs/timeseries_forecast.png")
    args = parser.parse_args()
    h = 48
    y = make_seasonal_series(3000, seasonalities=(24, 168), noise=0.3, random_state=0)
    train, test = y[:-h], y[-h:]
    f = RNNForecaster(168, h, quantiles=(0.1, 0.5, 0.9), units=32, max_iter=20,
                      learning_rate=0.005, batch_size=64, random_state=0).fit(train)
    q = f.predict_quantiles()
    inside = ((test >= q[:, 0]) & (test <= q[:, 2])).mean()
    t_hist = np.arange(len(train) - 168, len(train))
    t_fut = np.arange(len(train), len(y))
    fig, ax = plt.subplots(figsize=(7, 2.6), dpi=90)
    ax.plot(t_hist, train[-168:], color="0.3", lw=1, label="history")
    ax.plot(t_fut, test, color="0.3", lw=1, ls=":", label="held out")
    ax.fill_between(t_fut, q[:, 0], q[:, 2], color="tab:blue", alpha=0.25,
                    label=f"0.1-0.9 quantiles ({inside:.0%} of steps inside)")
    ax.plot(t_fut, q[:, 1], color="tab:blue", lw=1.5, label="median forecast")
    ax.set_xlabel("step")
    ax.legend(loc="upper left", fontsize=7, ncol=2, frameon=False)
    ax.margins(x=0.01)
    fig.tight_layout()
    fig.savefig(args.output)
    print(f"wrote {args.output}; {inside:.0%} of the held-out steps inside the band")


if __name__ == "__main__":
    main()
