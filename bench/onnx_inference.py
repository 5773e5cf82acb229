"""Inference through ONNX Runtime against fastrnn's own ``predict_proba``, interleaved in one run.

Usage::

    pip install "fastrnn[onnx]"
    python bench/onnx_inference.py [--configs C1 C2 ...] [--rounds 5] [--threads 2]
                                   [--n-batches 16] [--settle-ms 20] [--tiny]

The configurations are those of ``bench/compare_torch.py`` (cell, vocabulary,
embedding width, units, ``T``, batch size, classes), on its random full-length
token ids.  For each, an ``RNNClassifier`` is fitted for one epoch (not timed)
and exported with :func:`fastrnn.to_onnx`; each round then times one
``predict_proba`` over ``n_batches * B`` rows and one ONNX Runtime
``InferenceSession.run`` over the same rows (CPU provider,
``intra_op_num_threads = --threads``, fastrnn with ``n_threads = --threads``),
alternating so that machine noise hits both.  Reported: median rows/s of each,
their ratio (fastrnn / ONNX Runtime), and the largest difference between the
two's probabilities.  ``--tiny`` shrinks every configuration to a few units and
steps, to check that the script runs (its timings mean nothing).
"""

import argparse
import statistics
import sys
import warnings

import numpy as np
from compare_torch import (CONFIGS, SETTLE_HELP, environment_report, format_report, make_data,
                           reexec_without_forced_blas, timed)


def shrink(cfg):
    """A configuration small enough to run in a second (for checking the script)."""
    cell, vocab, emb, units, T, B, n_classes = cfg
    return cell, min(vocab, 50), min(emb, 4), tuple(min(u, 4) for u in units), min(T, 12), \
        min(B, 8), min(n_classes, 3)


def runners(cfg, X, y, threads):
    """``(fastrnn predict_proba, ONNX Runtime run)`` callables of a fitted classifier, and both outputs."""
    import onnxruntime as ort

    import fastrnn

    # many random classes in few rows trip scikit-learn's "regression?" hint; expected here
    warnings.filterwarnings("ignore", message="The number of unique classes", category=UserWarning)
    cell, vocab, emb, units, T, B, n_classes = cfg
    clf = fastrnn.RNNClassifier(cell=cell, units=units, embedding_dim=emb, vocab_size=vocab,
                                batch_size=B, max_iter=1, shuffle=False, n_threads=threads,
                                random_state=0).fit(X, y)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(fastrnn.to_onnx(clf).SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    feed = {"X": X.astype(np.int64)}

    def fastrnn_infer():
        return clf.predict_proba(X)

    def onnx_infer():
        return sess.run(["probabilities"], feed)[0]

    return fastrnn_infer, onnx_infer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-batches", type=int, default=16, help="batches of B rows per timed call")
    parser.add_argument("--settle-ms", type=float, default=20.0,
                        help=SETTLE_HELP)
    parser.add_argument("--tiny", action="store_true", help="shrink every configuration (a smoke test)")
    args = parser.parse_args(argv)
    settle = max(args.settle_ms, 0.0) / 1000
    import onnxruntime  # noqa: F401  (imported before the header, which reports its version)

    for line in format_report(environment_report()):
        print(line)
    print(f"threads: {args.threads}; rounds: {args.rounds}; rows per call: B x {args.n_batches}"
          + ("; tiny configurations" if args.tiny else ""))
    print(f"{'config':<7}{'fastrnn rows/s':>15}{'onnxruntime rows/s':>20}{'ratio':>7}{'max |dp|':>11}")
    for name in args.configs:
        cfg = shrink(CONFIGS[name]) if args.tiny else CONFIGS[name]
        n = cfg[5] * args.n_batches
        X, y = make_data(cfg[1], cfg[4], n, cfg[6])
        fast, onnx_run = runners(cfg, X, y, args.threads)
        diff = float(np.abs(fast() - onnx_run()).max())  # also the warm-up of both
        times = {"fastrnn": [], "onnx": []}
        for _ in range(args.rounds):
            times["fastrnn"].append(timed(fast, settle))
            times["onnx"].append(timed(onnx_run, settle))
        rate = {k: n / statistics.median(v) for k, v in times.items()}
        print(f"{name:<7}{rate['fastrnn']:>15,.0f}{rate['onnx']:>20,.0f}"
              f"{rate['fastrnn'] / rate['onnx']:>7.2f}{diff:>11.1e}", flush=True)


if __name__ == "__main__":
    reexec_without_forced_blas(sys.argv[1:])
    main()
