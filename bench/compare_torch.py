"""fastrnn against PyTorch on the tutorials' configurations, interleaved in one run.

Usage::

    pip install torch==2.14.1 onnxruntime   # bench-only; never fastrnn dependencies
    python bench/compare_torch.py [--configs C1 C2 ...] [--rounds 5] [--threads 2]
                                  [--backends numba cython] [--bptt 10] [--denormal]
                                  [--data imdb --path imdb-5k.npz] [--settle-ms 20]
                                  [--json results.json] [--no-onnx] [--peak-n 2048]
                                  [--no-reexec]
    python bench/plot.py results.json -o speedup.png

Every run starts with a header naming the machine and the software actually
imported: CPU model and core count, the BLAS library NumPy and SciPy load and
the kernel it selected (threadpoolctl's ``architecture``), and the fastrnn
(version, backend, location), Numba, PyTorch and ONNX Runtime versions.  The
recommended PyTorch is ``TORCH_RECOMMENDED``; the header says when the imported
one differs.  If ``OPENBLAS_CORETYPE`` or ``OPENBLAS_L2_SIZE`` is set, the
script prints their values and re-executes itself once without them (so that
OpenBLAS picks its kernel from the CPU, as for a user), unless ``--no-reexec``
is given, in which case the header says the forced values are in effect.

For every configuration, after one untimed round of every call (``WARMUP_ROUNDS``:
the first call after building the other frameworks' models ran slower, in
fastrnn up to 40% on C2, from memory faulted in afresh and threads still busy
from the export), each round times one training epoch slice (forward,
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

Every timed call is followed, outside the timing, by a wait until the other
threads of the process have used under 0.1 ms of CPU in 2 ms (read from their
scheduler statistics, ``/proc/self/task/*/schedstat``, on Linux; at most 1 s;
this applies to every script that imports ``timed`` from here) and then a
pause of ``--settle-ms`` milliseconds (20 by default; 0 turns both off), so that
each call starts once the other frameworks' idle threads have stopped.  After
each call PyTorch's OpenMP threads keep polling for work (a busy wait) and held
one of a two-core machine's cores for 8-10 ms, ONNX Runtime's for 25-30 ms (so a
fixed 20 ms pause did not cover them); fastrnn's pool threads poll for 1 ms
(``FASTRNN_SPIN_US``).  Without the wait, the call after another framework's
shares its first milliseconds with that polling, which only happens because
the frameworks run in one process.  C5, 15 rounds, medians: fastrnn trained 40,353 samples/s
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

ONNX Runtime column: each configuration's PyTorch network, as built for the
timing (before its training rounds), exported with ``torch.onnx.export`` (the
TorchScript exporter, ``dynamo=False``, which needs no ``onnxscript``; the
dynamo exporter where that is the only one; else :func:`fastrnn.to_onnx` of the
fastrnn classifier) and run by ONNX Runtime (CPU provider, 2 intra-op threads,
``ORT_THREADS``) over the same rows in batches of 256, as PyTorch's inference,
interleaved with the other calls.  The header names the exporter used; without
onnxruntime (or with ``--no-onnx``) the column is left out and the header says
why.  Its ratio column is fastrnn's inference rate over ONNX Runtime's.

Roofline columns: the useful GFLOP/s of fastrnn's training and inference
(:func:`useful_flops` over the median time) and the same figures as a share of
the machine's float32 GEMM peak, measured at the start of the run (best of
``PEAK_REPEATS`` products of two ``--peak-n`` square float32 matrices with
NumPy, at ``--threads`` BLAS threads).  The gap to 100 % is the headroom.

``--json PATH`` writes the header, the options and every configuration's
rates, ratios and FLOP counts to ``PATH``; ``bench/plot.py`` draws the
speed-up chart from it.
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import threading
import time
import warnings

import numpy as np

TORCH_RECOMMENDED = "2.14.1"
FORCED_BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
REEXEC_MARK = "FASTRNN_BENCH_UNSET"  # set by the re-executed run: what it removed
ORT_THREADS = 2
# After a timed call, wait until the other threads have used under QUIET_CPU_NS of CPU in
# QUIET_WINDOW_S (at most QUIET_LIMIT_S), then pause --settle-ms.
QUIET_WINDOW_S, QUIET_CPU_NS, QUIET_LIMIT_S = 0.002, 100_000, 1.0
#: Untimed rounds of every call before the timed ones (see the module notes).
WARMUP_ROUNDS = 1
#: ``--settle-ms``'s help, for every script that times with :func:`timed`.
SETTLE_HELP = ("untimed, after every timed call: a wait until the other threads are idle, then "
               "this pause (0: neither)")
ORT_BATCH = 256
PEAK_REPEATS = 3
GATES = {"simple": 1, "lstm": 4, "gru": 3}
CELLS_PER_ID = 4  # fastrnn.layers.projection's rule for projecting the whole vocabulary

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


def _cpu_model():
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module, dist=None):
    """The version of ``module`` as imported; if it is not imported, the installed one, said so."""
    if module in sys.modules:
        return getattr(sys.modules[module], "__version__", "unknown")
    from importlib import metadata

    try:
        return metadata.version(dist or module) + " (installed, not imported)"
    except metadata.PackageNotFoundError:
        return "not installed"


def environment_report():
    """What the figures were measured on, as a dict (the header and the JSON's ``environment``)."""
    import numpy
    import scipy
    import scipy.linalg  # noqa: F401  (loads SciPy's BLAS so threadpoolctl sees it)
    from threadpoolctl import threadpool_info

    import fastrnn

    backend = getattr(fastrnn, "current_backend", lambda: "unknown")()
    blas = [{k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")}
            for info in threadpool_info() if info.get("user_api") == "blas"]
    forced = {v: os.environ[v] for v in FORCED_BLAS_VARS if v in os.environ}
    return {
        "cpu": _cpu_model(), "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(), "numpy": numpy.__version__,
        "scipy": scipy.__version__, "blas": blas,
        "fastrnn": getattr(fastrnn, "__version__", "unknown"), "fastrnn_backend": backend,
        "fastrnn_path": str(pathlib.Path(fastrnn.__file__).parent),
        "numba": _version("numba"), "torch": _version("torch"),
        "onnxruntime": _version("onnxruntime"),
        "blas_env_forced": forced, "blas_env_removed": os.environ.get(REEXEC_MARK, ""),
    }


def format_report(env):
    """The header lines of :func:`environment_report`'s dict."""
    lines = [f"CPU: {env['cpu']}; {env['logical_cores']} logical cores ({env['usable_cores']} usable)",
             f"Python {env['python']}, NumPy {env['numpy']}, SciPy {env['scipy']}"]
    for b in env["blas"]:
        lines.append(f"BLAS: {b['internal_api']} {b['version']}, kernel {b['architecture']}, "
                     f"{b['num_threads']} threads, {b['filepath']}")
    lines.append(f"fastrnn {env['fastrnn']} (default backend {env['fastrnn_backend']}) from "
                 f"{env['fastrnn_path']}; Numba {env['numba']}")
    torch_note = ""
    if env["torch"][:1].isdigit() and env["torch"].split()[0].split("+")[0] != TORCH_RECOMMENDED:
        torch_note = f" (recommended: {TORCH_RECOMMENDED})"
    lines.append(f"PyTorch {env['torch']}{torch_note}; ONNX Runtime {env['onnxruntime']}")
    if env["blas_env_removed"]:
        lines.append(f"removed from the environment before this run: {env['blas_env_removed']}")
    if env["blas_env_forced"]:
        lines.append("forced by the environment, so the kernel above is not the one the CPU would "
                     "select: " + ", ".join(f"{k}={v}" for k, v in env["blas_env_forced"].items()))
    return lines


def reexec_without_forced_blas(argv):
    """Re-execute the running script once without ``FORCED_BLAS_VARS`` (OpenBLAS reads them at load time).

    The other benchmark scripts call it too: it restarts ``sys.argv[0]``, not this file.
    """
    forced = {v: os.environ[v] for v in FORCED_BLAS_VARS if v in os.environ}
    if not forced or "--no-reexec" in argv:
        return
    removed = ", ".join(f"{k}={v}" for k, v in forced.items())
    print(f"note: {removed} set by the environment; running again without "
          f"{'them' if len(forced) > 1 else 'it'} (--no-reexec keeps them)", flush=True)
    env = {k: v for k, v in os.environ.items() if k not in forced}
    env[REEXEC_MARK] = removed
    os.execve(sys.executable, [sys.executable, os.path.abspath(sys.argv[0])] + list(argv), env)


def useful_flops(cfg, X, bptt=None):
    """Useful floating-point operations of one training epoch and one inference pass over ``X``.

    Counted are the matrix products fastrnn computes, at 2*M*N*K each:

    - first layer, input projection: one row per token-table row of each batch of
      ``B`` rows, i.e. the distinct ids of the batch, or the whole vocabulary when
      the batch has at least ``CELLS_PER_ID`` real cells per id (fastrnn's rule):
      ``2 * rows * E * G`` with ``G = gates * H``;
    - upper layers, input projection: ``2 * cells * H_prev * G`` per layer, where
      ``cells`` counts the real steps (a pre-padded row starts at its first
      non-zero id; fastrnn never computes its leading padding);
    - recurrent products: ``2 * cells * H * G`` per layer;
    - output layer: ``2 * B * H_last * n_out`` per batch.

    Training is three times the forward (the backward computes about twice the
    forward's products); with ``bptt`` only the last ``bptt`` real steps of each
    row count for the backward.  Element-wise gate arithmetic, the loss and Adam
    are left out.  Inference is counted on the same batches of ``B`` rows.
    Returns ``(train_flops, infer_flops)``.
    """
    cell, vocab, emb, units, T, B, n_classes = cfg
    g = GATES[cell]
    n_out = 1 if n_classes == 2 else n_classes
    nonzero = X != 0
    first = np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), T)
    row_cells = T - first
    forward = backward = 0.0
    for lo in range(0, len(X), B):
        xb, cells = X[lo:lo + B], int(row_cells[lo:lo + B].sum())
        real = xb[:, T - row_cells[lo:lo + B].max():] if cells else xb[:, :0]
        ids = real[real != 0] if cells else real.ravel()
        rows = vocab if cells >= CELLS_PER_ID * vocab else len(np.unique(ids))
        grad_cells = int(np.minimum(row_cells[lo:lo + B], bptt).sum()) if bptt else cells
        sizes = (emb,) + tuple(units)
        f = 2.0 * rows * emb * g * units[0]
        b = 2.0 * rows * emb * g * units[0]
        for i, h in enumerate(units):
            if i:
                f += 2.0 * cells * sizes[i] * g * h
                b += 2.0 * grad_cells * sizes[i] * g * h
            f += 2.0 * cells * h * g * h
            b += 2.0 * grad_cells * h * g * h
        f += 2.0 * len(xb) * units[-1] * n_out
        b += 2.0 * len(xb) * units[-1] * n_out
        forward += f
        backward += 2 * b
    return forward + backward, forward


def gemm_peak(n=2048, threads=2, repeats=PEAK_REPEATS):
    """Float32 GEMM rate (FLOP/s) of NumPy on this machine: best of ``repeats`` ``n x n`` products."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    with threadpool_limits(threads, user_api="blas"):
        a @ b  # loads and warms the BLAS
        best = min(timed(lambda: a @ b) for _ in range(repeats))
    return 2.0 * n ** 3 / best


def fastrnn_runner(cfg, X, y, threads, backend="numba", bptt=None):
    import fastrnn

    # C6's 46 random classes in 64 rows trip scikit-learn's "regression?" hint; it is expected here
    warnings.filterwarnings("ignore", message="The number of unique classes", category=UserWarning)
    from fastrnn import RNNClassifier

    cell, vocab, emb, units, T, B, n_classes = cfg
    clf = RNNClassifier(cell=cell, units=units, embedding_dim=emb, vocab_size=vocab, batch_size=B,
                        max_iter=1, warm_start=True, shuffle=False, n_threads=threads,
                        bptt_truncate=bptt, clipnorm=None, random_state=0)  # PyTorch's loop: no clipping
    with fastrnn.use_backend(backend):
        clf.fit(X, y)  # builds the model and compiles the kernels (not timed)

    def train():
        with fastrnn.use_backend(backend):
            clf.fit(X, y)

    def infer():
        with fastrnn.use_backend(backend):
            clf.predict_proba(X)

    infer.model = clf  # for the ONNX fallback export
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
            for lo in range(0, len(Xt), ORT_BATCH):
                net(Xt[lo:lo + ORT_BATCH])

    infer.model = net  # for the ONNX export
    return train, infer


def onnx_exporter():
    """``(name, None)`` of the ONNX export this run will use, or ``(None, reason)`` for no ONNX column."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None, "onnxruntime is not installed (pip install onnxruntime)"
    import inspect

    import torch

    candidates = []
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        candidates.append("torch.onnx.export(dynamo=False)")
    candidates.append("torch.onnx.export")
    probe = torch.nn.Sequential(torch.nn.Embedding(5, 2), torch.nn.Linear(2, 1))
    for name in candidates:
        try:  # a trial export of a tiny network: the exporter may exist yet refuse to run here
            _export_torch(name, probe, np.ones((2, 3), np.int64))
            return name, None
        except Exception:
            continue
    import fastrnn

    if hasattr(fastrnn, "to_onnx"):
        return "fastrnn.to_onnx", None
    return None, "torch.onnx.export failed here (onnxscript missing?) and this fastrnn has no to_onnx"


def _export_torch(exporter, model, X):
    """ONNX bytes of ``model`` on int64 input ``x`` of a variable batch size."""
    import io

    import torch

    buf, kwargs = io.BytesIO(), ({"dynamo": False} if "dynamo=False" in exporter else {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracing notes
        axes = {"x": {0: "batch"}, "logits": {0: "batch"}}
        torch.onnx.export(model, (torch.from_numpy(X[:2]),), buf, input_names=["x"],
                          output_names=["logits"], dynamic_axes=axes, **kwargs)
    return buf.getvalue()


def onnx_runner(exporter, torch_model, fastrnn_model, X, threads=ORT_THREADS):
    """ONNX Runtime inference over ``X`` in batches of ``ORT_BATCH`` rows, of the exported model."""
    import onnxruntime as ort

    if exporter == "fastrnn.to_onnx":
        import fastrnn

        blob, feed_name = fastrnn.to_onnx(fastrnn_model).SerializeToString(), "X"
    else:
        blob, feed_name = _export_torch(exporter, torch_model, X), "x"
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(blob, opts, providers=["CPUExecutionProvider"])
    X = np.ascontiguousarray(X, dtype=np.int64)

    def infer():
        for lo in range(0, len(X), ORT_BATCH):
            sess.run(None, {feed_name: X[lo:lo + ORT_BATCH]})

    return infer


def _other_threads_cpu_ns():
    """CPU time (ns) of this process's threads other than the caller, or None off Linux."""
    me = str(threading.get_native_id())
    total = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    for tid in tasks:
        if tid == me:
            continue
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended meanwhile
    return total


def wait_until_quiet(window=QUIET_WINDOW_S, limit=QUIET_LIMIT_S):
    """Sleep until the process's other threads use under ``QUIET_CPU_NS`` of CPU in ``window`` seconds.

    At most ``limit`` seconds.  The idle threads of every framework here poll
    for work for a while after a call (see the module notes); this waits them
    out.  Off Linux it returns at once.
    """
    before = _other_threads_cpu_ns()
    if before is None:
        return
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        time.sleep(window)
        now = _other_threads_cpu_ns()
        if now - before < QUIET_CPU_NS:
            return
        before = now


def timed(fn, settle=0.0):
    """Seconds that ``fn()`` took; then, untimed, wait for quiet and sleep ``settle`` seconds.

    With ``settle`` 0 nothing is waited for (see the module notes).
    """
    t0 = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - t0
    if settle > 0:
        wait_until_quiet()
        time.sleep(settle)
    return elapsed


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
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
                        help=SETTLE_HELP)
    parser.add_argument("--json", metavar="PATH", help="also write the header and results to PATH")
    parser.add_argument("--no-onnx", action="store_true", help="leave out the ONNX Runtime column")
    parser.add_argument("--peak-n", type=int, default=2048,
                        help="size of the square float32 product measuring the GEMM peak")
    parser.add_argument("--no-reexec", action="store_true",
                        help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE if set (the header says so)")
    args = parser.parse_args(argv)
    from fastrnn.runtime import available_cpus

    if args.threads > available_cpus():  # fastrnn would run on fewer threads than PyTorch
        parser.error(f"--threads {args.threads}: this process has {available_cpus()} CPUs")
    settle = max(args.settle_ms, 0.0) / 1000
    if args.data == "imdb" and not (args.path and pathlib.Path(args.path).is_file()):
        raise SystemExit("--data imdb needs --path FILE (or FASTRNN_IMDB_NPZ) naming a file "
                         f"that holds load_imdb() output; got {args.path!r}")
    reexec_without_forced_blas(argv)
    import torch

    exporter, why_not = (None, "--no-onnx") if args.no_onnx else onnx_exporter()
    env = environment_report()  # after the imports, so that it names the versions imported
    for line in format_report(env):
        print(line)
    print(f"ONNX Runtime column: {exporter} model, {ORT_THREADS} intra-op threads" if exporter
          else f"ONNX Runtime column left out: {why_not}")
    peak = gemm_peak(args.peak_n, args.threads)
    print(f"float32 GEMM peak (NumPy, {args.peak_n}x{args.peak_n}, {args.threads} threads, "
          f"best of {PEAK_REPEATS}): {peak / 1e9:.1f} GFLOP/s")
    second = (f"{args.backends[1]}/{args.backends[0]} time: train, infer"
              if len(args.backends) > 1 else "")
    print(f"fastrnn backend: {args.backends[0]}; threads: {args.threads}; rounds: {args.rounds}; "
          f"bptt: {args.bptt or 'full'}; data: {args.data}; "
          f"quiet wait and pause after each call: {args.settle_ms:g} ms")
    onnx_head = f"{'onnx infer/s':>14}{'ratio':>7}" if exporter else ""
    print(f"{'config':<6}{'fastrnn train/s':>16}{'torch train/s':>15}{'ratio':>7}"
          f"{'fastrnn infer/s':>17}{'torch infer/s':>15}{'ratio':>7}{onnx_head}"
          f"{'GFLOP/s train, infer':>22}{'% peak':>12}   {second}")
    results = []
    for name in args.configs:
        cfg = CONFIGS[name]
        n = cfg[5] * args.n_batches
        X, y = make_data(cfg[1], cfg[4], n, cfg[6], data=args.data, path=args.path)
        flops_train, flops_infer = useful_flops(cfg, X, args.bptt)
        modes = [False, True] if args.denormal else [False]
        for flush in modes:
            torch.set_flush_denormal(flush)
            runners = [fastrnn_runner(cfg, X, y, args.threads, b, args.bptt) for b in args.backends]
            pt_train, pt_infer = torch_runner(cfg, X, y, args.threads, args.bptt)
            ort_infer = (onnx_runner(exporter, pt_infer.model, runners[0][1].model, X)
                         if exporter else None)
            calls = [("ft", runners[0][0]), ("pt", pt_train), ("fi", runners[0][1]),
                     ("pi", pt_infer)]
            calls += [("oi", ort_infer)] if ort_infer else []
            calls += [("f2", runners[1][0]), ("i2", runners[1][1])] if len(runners) > 1 else []
            times = {k: [] for k, _ in calls}
            for rnd in range(WARMUP_ROUNDS + args.rounds):
                for key, call in calls:
                    seconds = timed(call, settle)
                    if rnd >= WARMUP_ROUNDS:
                        times[key].append(seconds)
            rate = {k: n / statistics.median(v) for k, v in times.items() if v}
            gflops = (flops_train / n * rate["ft"] / 1e9, flops_infer / n * rate["fi"] / 1e9)
            label = name + ("*" if flush else "")
            onnx_cols = f"{rate['oi']:>14,.0f}{rate['fi'] / rate['oi']:>7.2f}" if "oi" in rate else ""
            extra = (f"   {rate['ft'] / rate['f2']:.2f}, {rate['fi'] / rate['i2']:.2f}"
                     if "f2" in rate else "")
            print(f"{label:<6}{rate['ft']:>16,.0f}{rate['pt']:>15,.0f}{rate['ft'] / rate['pt']:>7.2f}"
                  f"{rate['fi']:>17,.0f}{rate['pi']:>15,.0f}{rate['fi'] / rate['pi']:>7.2f}{onnx_cols}"
                  f"{gflops[0]:>14.2f}, {gflops[1]:>6.2f}"
                  f"{100 * gflops[0] * 1e9 / peak:>6.1f}, {100 * gflops[1] * 1e9 / peak:>4.1f}{extra}",
                  flush=True)
            results.append({
                "config": name, "flush_denormal": flush, "rows": n,
                "definition": dict(zip(("cell", "vocab", "emb", "units", "T", "B", "n_classes"), cfg)),
                "samples_per_s": {key: rate.get(short) for key, short in (
                    ("fastrnn_train", "ft"), ("torch_train", "pt"), ("fastrnn_infer", "fi"),
                    ("torch_infer", "pi"), ("onnx_infer", "oi"), ("second_backend_train", "f2"),
                    ("second_backend_infer", "i2"))},
                "seconds": {k: v for k, v in times.items() if v},
                "flops": {"train": flops_train, "infer": flops_infer},
                "fastrnn_gflops": {"train": gflops[0], "infer": gflops[1]},
            })
    if args.denormal:
        print("* PyTorch with torch.set_flush_denormal(True)")
    if args.json:
        payload = {"environment": env, "options": vars(args), "onnx_exporter": exporter,
                   "onnx_missing_reason": why_not, "gemm_peak_flops": peak,
                   "columns": {"second_backend": args.backends[1] if len(args.backends) > 1 else None},
                   "results": results}
        pathlib.Path(args.json).write_text(json.dumps(payload, indent=1))
        print(f"results written to {args.json}")
    return results


if __name__ == "__main__":
    main()
