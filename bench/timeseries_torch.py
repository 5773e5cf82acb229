"""fastrnn against PyTorch on time-series shapes, interleaved in one run, and the forecaster's memory.

Usage::

    pip install torch                # bench-only (compare_torch.py names the version)
    python bench/timeseries_torch.py [--parts a b c] [--rounds 5] [--threads 2]
                                     [--settle-ms 20] [--json results.json] [--tiny]
                                     [--no-reexec]

Parts:

(a) The Keras weather tutorial's shape: windows of 120 steps x 14 float
    features, LSTM(32), batch 256, Dense(1), mean squared error.  fastrnn's
    :class:`~fastrnn.RNNRegressor` (``fit`` with ``max_iter=1,
    warm_start=True`` over ``--n-batches`` batches, then ``predict``) against
    ``nn.LSTM`` + ``nn.Linear`` with Adam over the same batches.  Random
    inputs: every step is computed by both.
(b) A ragged panel: 1,000 series of 50-500 steps (4 features), GRU(64), one
    regression target per step.  fastrnn's :class:`~fastrnn.RNNSequenceRegressor`
    on the list of series (it computes no padding); PyTorch pads each batch,
    packs it with ``pack_padded_sequence`` and masks the loss.  Batch 32.
(c) Peak resident memory of ``RNNForecaster(lookback=168).fit`` on one series
    of 10**6 steps (LSTM(32), batch 256, one epoch), in a child process
    (``resource.getrusage``), next to the child's memory before the fit and the
    size the windows would take written out (10**6 x 168 float32).

Each round of (a) and (b) times fastrnn's training call, PyTorch's, then both
inference passes, with an untimed pause of ``--settle-ms`` after every call
(see ``compare_torch.py`` for why).  Reported: median samples/s (windows or
series per second) and the ratio fastrnn / PyTorch.  The header (machine,
BLAS kernels, versions) and the re-execution without ``OPENBLAS_CORETYPE`` /
``OPENBLAS_L2_SIZE`` are ``compare_torch.py``'s.  ``--tiny`` shrinks every part
to a smoke test whose figures mean nothing.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys

import numpy as np
from compare_torch import (SETTLE_HELP, environment_report, format_report, reexec_without_forced_blas,
                           timed)

FULL = dict(a_T=120, a_F=14, a_units=32, a_batch=256, n_batches=16,
            b_series=1000, b_min=50, b_max=500, b_F=4, b_units=64, b_batch=32,
            c_steps=10**6, c_lookback=168, c_units=32, c_batch=256)
TINY = dict(a_T=12, a_F=14, a_units=4, a_batch=16, n_batches=2,
            b_series=24, b_min=5, b_max=20, b_F=4, b_units=4, b_batch=8,
            c_steps=3000, c_lookback=24, c_units=4, c_batch=64)


# ----------------------------------------------------------------- (a) weather
def weather_data(n, T, F, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, T, F)).astype(np.float32), rng.standard_normal(n).astype(np.float32)


def fastrnn_weather(X, y, units, batch, threads):
    from fastrnn import RNNRegressor

    model = RNNRegressor(cell="lstm", units=units, batch_size=batch, max_iter=1, warm_start=True,
                         shuffle=True, n_threads=threads, clipnorm=None, random_state=0)
    model.fit(X[:batch], y[:batch])  # compiles and allocates outside the timing
    return (lambda: model.fit(X, y)), (lambda: model.predict(X))


def torch_weather(X, y, units, batch, threads):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(X.shape[2], units, batch_first=True)
            self.out = nn.Linear(units, 1)

        def forward(self, x):
            h, _ = self.rnn(x)
            return self.out(h[:, -1])[:, 0]

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=0.001, eps=1e-7)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(0)

    def train():
        order = torch.randperm(len(Xt), generator=gen)
        for lo in range(0, len(Xt), batch):
            rows = order[lo:lo + batch]
            loss = torch.nn.functional.mse_loss(net(Xt[rows]), yt[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()

    def infer():
        with torch.no_grad():
            for lo in range(0, len(Xt), batch):
                net(Xt[lo:lo + batch])

    return train, infer


# ----------------------------------------------------------------- (b) ragged panel
def panel_data(n, lo, hi, F, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(lo, hi + 1, size=n)
    X = [rng.standard_normal((T, F)).astype(np.float32) for T in lengths]
    y = [np.cumsum(x[:, 0]) / np.sqrt(np.arange(1, len(x) + 1)) for x in X]
    return X, [t.astype(np.float32) for t in y]


def fastrnn_panel(X, y, units, batch, threads):
    from fastrnn import RNNSequenceRegressor

    model = RNNSequenceRegressor(cell="gru", units=units, batch_size=batch, max_iter=1,
                                 warm_start=True, n_threads=threads, clipnorm=None, random_state=0)
    model.fit(X[:batch], y[:batch])
    return (lambda: model.fit(X, y)), (lambda: model.predict(X))


def torch_panel(X, y, units, batch, threads):
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rnn, out = nn.GRU(X[0].shape[1], units, batch_first=True), nn.Linear(units, 1)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(out.parameters()), lr=0.001, eps=1e-7)
    Xs = [torch.from_numpy(x) for x in X]
    ys = [torch.from_numpy(t) for t in y]
    lengths = torch.tensor([len(x) for x in X])
    gen = torch.Generator().manual_seed(0)

    def forward(rows):
        packed = pack_padded_sequence(pad_sequence([Xs[i] for i in rows], batch_first=True),
                                      lengths[rows], batch_first=True, enforce_sorted=False)
        h, _ = pad_packed_sequence(rnn(packed)[0], batch_first=True)
        return out(h)[:, :, 0]

    def train():
        order = torch.randperm(len(Xs), generator=gen)
        for lo in range(0, len(Xs), batch):
            rows = order[lo:lo + batch]
            pred = forward(rows)
            target = pad_sequence([ys[i] for i in rows], batch_first=True)
            mask = torch.arange(pred.shape[1])[None, :] < lengths[rows][:, None]
            loss = ((pred - target) ** 2)[mask].mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    def infer():
        with torch.no_grad():
            for lo in range(0, len(Xs), batch):
                forward(torch.arange(lo, min(lo + batch, len(Xs))))

    return train, infer


def compare(name, n, make_fast, make_torch, data, rounds, settle, threads):
    """Interleaved rounds; median samples/s of both frameworks and their ratios."""
    fast_train, fast_infer = make_fast(*data, threads)
    torch_train, torch_infer = make_torch(*data, threads)
    times = {k: [] for k in ("fast_train", "torch_train", "fast_infer", "torch_infer")}
    for _ in range(rounds):
        times["fast_train"].append(timed(fast_train, settle))
        times["torch_train"].append(timed(torch_train, settle))
        times["fast_infer"].append(timed(fast_infer, settle))
        times["torch_infer"].append(timed(torch_infer, settle))
    rate = {k: n / statistics.median(v) for k, v in times.items()}
    row = {"train_samples_per_s": {"fastrnn": rate["fast_train"], "torch": rate["torch_train"]},
           "infer_samples_per_s": {"fastrnn": rate["fast_infer"], "torch": rate["torch_infer"]}}
    row["train_ratio"] = rate["fast_train"] / rate["torch_train"]
    row["infer_ratio"] = rate["fast_infer"] / rate["torch_infer"]
    print(f"{name}: training samples/s fastrnn {rate['fast_train']:,.0f}, PyTorch "
          f"{rate['torch_train']:,.0f} (x{row['train_ratio']:.2f}); inference samples/s fastrnn "
          f"{rate['fast_infer']:,.0f}, PyTorch {rate['torch_infer']:,.0f} (x{row['infer_ratio']:.2f})",
          flush=True)
    return row


# ----------------------------------------------------------------- (c) memory
def _reset_peak_rss():
    """Forget the peak inherited from the parent (Linux copies it across fork and exec)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # elsewhere the peak includes the parent's at fork time


def _maxrss_bytes():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    # Linux reports kilobytes, macOS bytes
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def rss_child(steps, lookback, units, batch, threads):
    """Run in the child: fit the forecaster on ``steps`` steps and print JSON memory figures."""
    _reset_peak_rss()
    from fastrnn import RNNForecaster
    from fastrnn.datasets import make_seasonal_series

    y = make_seasonal_series(steps, seasonalities=(24, 168), noise=0.3, random_state=0)
    warm = RNNForecaster(lookback, units=units, batch_size=batch, max_iter=1, n_threads=threads,
                         random_state=0)
    warm.fit(y[:lookback + batch])  # compiles outside the measurement
    before = _maxrss_bytes()
    model = RNNForecaster(lookback, units=units, batch_size=batch, max_iter=1, n_threads=threads,
                          random_state=0).fit(y)
    print(json.dumps({"steps": steps, "lookback": lookback, "rss_before_fit": before,
                      "peak_rss": _maxrss_bytes(), "epochs": model.n_iter_,
                      "windows_written_out": (steps - lookback) * lookback * 4}))


def measure_rss(cfg, threads):
    cmd = [sys.executable, os.path.abspath(__file__), "--rss-child", str(cfg["c_steps"]),
           str(cfg["c_lookback"]), str(cfg["c_units"]), str(cfg["c_batch"]), str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    mib = 2**20
    print(f"(c) RNNForecaster(lookback={row['lookback']}).fit on {row['steps']:,} steps: peak RSS "
          f"{row['peak_rss'] / mib:,.0f} MiB ({row['rss_before_fit'] / mib:,.0f} MiB before the "
          f"fit); the windows written out would take {row['windows_written_out'] / mib:,.1f} MiB",
          flush=True)
    return row


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--rss-child":
        steps, lookback, units, batch, threads = map(int, argv[1:6])
        return rss_child(steps, lookback, units, batch, threads)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+", default=["a", "b", "c"], choices=["a", "b", "c"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--settle-ms", type=float, default=20.0,
                        help=SETTLE_HELP)
    parser.add_argument("--json", default=None)
    parser.add_argument("--tiny", action="store_true", help="smoke-test sizes (figures mean nothing)")
    parser.add_argument("--no-reexec", action="store_true")
    args = parser.parse_args(argv)
    reexec_without_forced_blas(argv)
    cfg = TINY if args.tiny else FULL
    env = environment_report()
    print("\n".join([f"threads: {args.threads}"] + list(format_report(env))), flush=True)
    settle = args.settle_ms / 1000
    report = {"environment": env, "tiny": args.tiny, "config": cfg}
    if "a" in args.parts:
        n = cfg["a_batch"] * cfg["n_batches"]
        data = weather_data(n, cfg["a_T"], cfg["a_F"])
        report["weather"] = compare(
            f"(a) LSTM({cfg['a_units']}) on {cfg['a_T']} x {cfg['a_F']} windows, batch {cfg['a_batch']}",
            n, lambda X, y, t: fastrnn_weather(X, y, cfg["a_units"], cfg["a_batch"], t),
            lambda X, y, t: torch_weather(X, y, cfg["a_units"], cfg["a_batch"], t),
            data, args.rounds, settle, args.threads)
    if "b" in args.parts:
        data = panel_data(cfg["b_series"], cfg["b_min"], cfg["b_max"], cfg["b_F"])
        report["panel"] = compare(
            f"(b) GRU({cfg['b_units']}) per step on {cfg['b_series']} series of "
            f"{cfg['b_min']}-{cfg['b_max']} steps, batch {cfg['b_batch']}",
            cfg["b_series"], lambda X, y, t: fastrnn_panel(X, y, cfg["b_units"], cfg["b_batch"], t),
            lambda X, y, t: torch_panel(X, y, cfg["b_units"], cfg["b_batch"], t),
            data, args.rounds, settle, args.threads)
    if "c" in args.parts:
        report["forecaster_memory"] = measure_rss(cfg, args.threads)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
