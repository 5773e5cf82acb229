"""fastrnn against PyTorch on the tutorials' configurations, interleaved in one run.

Usage::

    pip install torch==2.13.0        # bench-only; never a fastrnn dependency
    python bench/compare_torch.py [--configs C1 C2 ...] [--rounds 5] [--threads 2]
                                  [--backends numba cython] [--bptt 10] [--denormal]
                                  [--data imdb --path imdb-5k.npz] [--settle-ms 20]

For every configuration, each round times one training epoch slice (forward,
loss, backward, Adam update over ``n_batches`` batches) and one inference pass,
first in fastrnn (public ``RNNClassifier``: ``fit`` with ``max_iter=1,
warm_start=True`` and ``predict_proba``), then in PyTorch (``nn.Embedding`` +
``nn.RNN/LSTM/GRU`` + ``nn.Linear``, Adam, the same batch size), alternating
so that machine noise hits both.  Reported: median samples/s and the ratio
fastrnn / PyTorch.  PyTorch's figures are given with and without
``torch.set_flush_denormal(True)`` where asked (``--denormal``).  With
``--backends numba cython`` both fastrnn backends are timed in the same rounds
(the ratio columns compare the first backend with PyTorch; the last column is
the second backend's training and inference time over the first's).  With ``--bptt k`` both
frameworks train with truncated BPTT: fastrnn's ``bptt_truncate=k``, and in
PyTorch the first ``T - k`` steps run under ``no_grad`` and the last ``k`` with
gradients.

One training call is an epoch of ``--n-batches`` batches (16 by default; a tutorial's
epoch has about 300).  From 16 batches on, the C2 and C5 ratios stop moving
(C2: 3.40 at 16 batches and 3.40 at 64, against 2.34 at 4, one run each).

Every timed call is followed by a pause of ``--settle-ms`` milliseconds (20 by
default; 0 turns it off), outside the timing, so that each call starts once the
other framework's idle threads have stopped.  After each call PyTorch's OpenMP
threads keep polling for work (a busy wait) and held one of a two-core
machine's cores for 8-10 ms, measured from their scheduler statistics
(``/proc/<pid>/task/*/schedstat``); fastrnn's pool threads poll for 1 ms
(``FASTRNN_SPIN_US``).  Without the pause, the call after PyTorch's shares its
first milliseconds with that wait, which only happens because both frameworks
run in one process.  C5, 15 rounds, medians: fastrnn trained 40,353 samples/s
after its own call, 35,529 right after PyTorch's and 38,450 after PyTorch's and a
20 ms pause; PyTorch 8,216 and 8,198 samples/s without and with the pause.  With
PyTorch's threads told to sleep at once (``OMP_WAIT_POLICY=PASSIVE``) PyTorch
itself trained C5 at 1,534 samples/s, so the pause, not that setting, is how this
comparison separates the two.

By default the token ids are random and every row is ``T`` tokens long, so both
frameworks compute every step.  ``--data imdb`` feeds real reviews instead: the
first rows of a file holding ``load_imdb`` output, given by ``--path`` or the
environment variable ``FASTRNN_IMDB_NPZ`` (ids below 500, as Keras's
``imdb.load_data(num_words=500)`` gives them), pre-padded and pre-truncated to
``T`` with :func:`fastrnn.pad_sequences` as in the tutorials, with their labels
(random labels for a configuration with more than two classes).  Both
frameworks get the same padded array; PyTorch runs every step of it, as the
tutorials' models do, while fastrnn never computes a row's leading padding (its
masking semantics), so this mode measures what a user of the tutorials' data
sees, not equal work.  Long runs of padding are also what drives PyTorch's
gradients into denormal numbers (C6).
"""

import argparse
import os
import pathlib
import statistics
import time
import warnings

import numpy as np

CONFIGS = {
    # name: (cell, vocab, emb, units, T, B, n_classes)
    "C1": ("simple", 10000, 32, (32,), 500, 128, 2),
    "C2": ("lstm", 500, 16, (8,), 100, 64, 2),
    "C3": ("gru", 500, 16, (8,), 100, 64, 2),
    "C4": ("lstm", 10000, 32, (32,), 500, 128, 2),
    "C5": ("lstm", 500, 16, (8, 8), 100, 64, 2),
    "C6": ("gru", 10000, 256, (256, 128), 300, 32, 46),
    "C7": ("lstm", 20000, 128, (128,), 200, 64, 2),
}


def make_data(vocab, T, n, n_classes, seed=0, data="random", path=None):
    """``n`` rows of ``T`` token ids below ``vocab`` and their labels.

    ``data`` is "random" (full-length random ids) or "imdb" (the first reviews of
    ``path``, a file holding ``load_imdb`` output).
    """
    rng = np.random.default_rng(seed)
    if data == "random":
        return rng.integers(1, vocab, size=(n, T)).astype(np.int64), rng.integers(0, n_classes, n)
    from fastrnn import pad_sequences
    from fastrnn.datasets import load_encoded

    (x, y), _ = load_encoded(path)
    if n > len(x):
        raise SystemExit(f"--data imdb has {len(x)} rows; asked for {n}")
    X = pad_sequences(x[:n], maxlen=T).astype(np.int64)
    if X.max() >= vocab:
        raise SystemExit(f"the subset's ids reach {X.max()}, beyond this configuration's vocabulary")
    labels = np.asarray(y[:n], dtype=np.int64) if n_classes == 2 else rng.integers(0, n_classes, n)
    return X, labels


def fastrnn_runner(cfg, X, y, threads, backend="numba", bptt=None):
    import fastrnn

    # C6's 46 random classes in 64 rows trip scikit-learn's "regression?" hint; it is expected here
    warnings.filterwarnings("ignore", message="The number of unique classes", category=UserWarning)
    from fastrnn import RNNClassifier

    cell, vocab, emb, units, T, B, n_classes = cfg
    clf = RNNClassifier(cell=cell, units=units, embedding_dim=emb, vocab_size=vocab, batch_size=B,
                        max_iter=1, warm_start=True, shuffle=False, n_threads=threads,
                        bptt_truncate=bptt, random_state=0)
    with fastrnn.use_backend(backend):
        clf.fit(X, y)  # builds the model and compiles the kernels (not timed)

    def train():
        with fastrnn.use_backend(backend):
            clf.fit(X, y)

    def infer():
        with fastrnn.use_backend(backend):
            clf.predict_proba(X)

    return train, infer


def torch_runner(cfg, X, y, threads, bptt=None):
    import torch

    torch.set_num_threads(threads)
    cell, vocab, emb, units, T, B, n_classes = cfg
    rnn_cls = {"simple": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(vocab, emb)
            sizes = (emb,) + tuple(units)
            self.rnns = torch.nn.ModuleList(
                rnn_cls(sizes[i], sizes[i + 1], batch_first=True) for i in range(len(units)))
            self.out = torch.nn.Linear(units[-1], 1 if n_classes == 2 else n_classes)

        def forward(self, x):
            h = self.emb(x)
            for rnn in self.rnns:
                h, _ = rnn(h)
            return self.out(h[:, -1])

        def forward_truncated(self, x, k):
            """The first T - k steps without gradients, the last k with them."""
            with torch.no_grad():
                h = self.emb(x[:, :-k])
                prefix_states = []
                for rnn in self.rnns:
                    h, state = rnn(h)
                    prefix_states.append(state)
            h = self.emb(x[:, -k:])
            for rnn, state in zip(self.rnns, prefix_states):
                h, _ = rnn(h, state)
            return self.out(h[:, -1])

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    loss_fn = (torch.nn.BCEWithLogitsLoss() if n_classes == 2 else torch.nn.CrossEntropyLoss())

    def train():
        for lo in range(0, len(Xt), B):
            xb, yb = Xt[lo:lo + B], yt[lo:lo + B]
            out = net(xb) if not bptt else net.forward_truncated(xb, bptt)
            loss = loss_fn(out[:, 0], yb.float()) if n_classes == 2 else loss_fn(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()

    def infer():
        with torch.no_grad():
            for lo in range(0, len(Xt), 256):
                net(Xt[lo:lo + 256])

    return train, infer


def timed(fn, settle=0.0):
    """Seconds that ``fn()`` took; then sleep ``settle`` seconds (untimed, see the module notes)."""
    t0 = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - t0
    time.sleep(settle)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-batches", type=int, default=16, help="batches per timed epoch")
    parser.add_argument("--denormal", action="store_true", help="also time PyTorch with flushed denormals")
    parser.add_argument("--backends", nargs="+", default=["numba"])
    parser.add_argument("--bptt", type=int, default=None, help="truncated BPTT window (both)")
    parser.add_argument("--data", choices=["random", "imdb"], default="random",
                        help="random full-length ids, or real padded reviews (see --path)")
    parser.add_argument("--path", default=os.environ.get("FASTRNN_IMDB_NPZ"),
                        help="with --data imdb: a file holding load_imdb() output "
                             "(default: $FASTRNN_IMDB_NPZ)")
    parser.add_argument("--settle-ms", type=float, default=20.0,
                        help="untimed pause after every timed call (0: none)")
    args = parser.parse_args()
    settle = max(args.settle_ms, 0.0) / 1000
    if args.data == "imdb" and not (args.path and pathlib.Path(args.path).is_file()):
        raise SystemExit("--data imdb needs --path FILE (or FASTRNN_IMDB_NPZ) naming a file "
                         f"that holds load_imdb() output; got {args.path!r}")
    import torch

    second = (f"{args.backends[1]}/{args.backends[0]} time: train, infer"
              if len(args.backends) > 1 else "")
    print(f"fastrnn backend: {args.backends[0]}; threads: {args.threads}; rounds: {args.rounds}; "
          f"bptt: {args.bptt or 'full'}; data: {args.data}; pause after each call: {args.settle_ms:g} ms")
    print(f"{'config':<6}{'fastrnn train/s':>16}{'torch train/s':>15}{'ratio':>7}"
          f"{'fastrnn infer/s':>17}{'torch infer/s':>15}{'ratio':>7}   {second}")
    for name in args.configs:
        cfg = CONFIGS[name]
        n = cfg[5] * args.n_batches
        X, y = make_data(cfg[1], cfg[4], n, cfg[6], data=args.data, path=args.path)
        modes = [False, True] if args.denormal else [False]
        for flush in modes:
            torch.set_flush_denormal(flush)
            runners = [fastrnn_runner(cfg, X, y, args.threads, b, args.bptt) for b in args.backends]
            pt_train, pt_infer = torch_runner(cfg, X, y, args.threads, args.bptt)
            pt_train()  # warm-up
            times = {k: [] for k in ("ft", "pt", "fi", "pi", "f2", "i2")}
            for _ in range(args.rounds):
                times["ft"].append(timed(runners[0][0], settle))
                times["pt"].append(timed(pt_train, settle))
                times["fi"].append(timed(runners[0][1], settle))
                times["pi"].append(timed(pt_infer, settle))
                if len(runners) > 1:
                    times["f2"].append(timed(runners[1][0], settle))
                    times["i2"].append(timed(runners[1][1], settle))
            rate = {k: n / statistics.median(v) for k, v in times.items() if v}
            label = name + ("*" if flush else "")
            extra = (f"{rate['ft'] / rate['f2']:>20.2f}, {rate['fi'] / rate['i2']:.2f}"
                     if "f2" in rate else "")
            print(f"{label:<6}{rate['ft']:>16,.0f}{rate['pt']:>15,.0f}{rate['ft'] / rate['pt']:>7.2f}"
                  f"{rate['fi']:>17,.0f}{rate['pi']:>15,.0f}{rate['fi'] / rate['pi']:>7.2f}{extra}",
                  flush=True)
    if args.denormal:
        print("* PyTorch with torch.set_flush_denormal(True)")


if __name__ == "__main__":
    main()
