"""The cost of dropout on token input: epoch time with each kind of dropout over the time without.

Usage::

    python bench/dropout_cost.py [--configs C2 C4] [--backends numba cython] [--rate 0.3]
                                 [--rounds 7] [--n-batches 8] [--threads 1] [--settle-ms 20]
                                 [--json PATH] [--tiny] [--no-reexec]

For every configuration (``compare_torch.CONFIGS``: the tutorials' models; C2
is an LSTM(8) over 16-wide embeddings of 500 ids, C4 an LSTM(32) over 32-wide
embeddings of 10,000 ids) and backend, five ``RNNClassifier`` models are
built on the same random full-length rows: without dropout, with
``dropout=rate`` (Keras's LSTM input dropout: one channel mask per sequence
and layer), with ``embedding_dropout=rate`` (whole token occurrences),
with ``spatial_dropout=rate`` (one channel mask per sequence on the embedding
output, Keras's ``SpatialDropout1D``) and with ``spatial_dropout=rate,
spatial_dropout_shared=True`` (one channel mask per batch).  Each is fitted
once untimed (building the model and compiling the kernels); then every
round times one epoch of ``--n-batches`` batches (``fit`` with
``max_iter=1, warm_start=True``) of each model, in an order that rotates
from round to round so that machine noise hits all of them.
Reported per cell: the median epoch time and its ratio to the median
without dropout.

The header (machine, BLAS kernel, versions) is ``compare_torch.py``'s; if
``OPENBLAS_CORETYPE`` or ``OPENBLAS_L2_SIZE`` is set, the script runs itself
again without them (``--no-reexec`` keeps them).  ``--tiny`` runs a small
model for one round (a smoke test, not a measurement).
"""

import argparse
import json
import pathlib
import statistics
import sys
import warnings

from compare_torch import (
    CONFIGS,
    SETTLE_HELP,
    environment_report,
    format_report,
    make_data,
    reexec_without_forced_blas,
    timed,
)

KINDS = ("none", "dropout", "embedding_dropout", "spatial_dropout", "spatial_shared")
TINY = ("lstm", 50, 8, (4,), 12, 16, 2)


def runner(cfg, X, y, kind, rate, threads, backend):
    """An untimed first fit, then a function running one timed epoch."""
    import fastrnn
    from fastrnn import RNNClassifier

    cell, vocab, emb, units, T, B, n_classes = cfg
    extra = {} if kind == "none" else {kind: rate}
    if kind == "spatial_shared":
        extra = {"spatial_dropout": rate, "spatial_dropout_shared": True}
    clf = RNNClassifier(cell=cell, units=units, embedding_dim=emb, vocab_size=vocab, batch_size=B,
                        max_iter=1, warm_start=True, shuffle=False, n_threads=threads,
                        random_state=0, **extra)
    with fastrnn.use_backend(backend):
        clf.fit(X, y)

    def epoch():
        with fastrnn.use_backend(backend):
            clf.fit(X, y)

    return epoch


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=["C2", "C4"])
    parser.add_argument("--backends", nargs="+", default=["numba", "cython"])
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n-batches", type=int, default=8, help="batches per timed epoch")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--settle-ms", type=float, default=20.0,
                        help=SETTLE_HELP)
    parser.add_argument("--json", metavar="PATH", help="also write the header and results to PATH")
    parser.add_argument("--tiny", action="store_true", help="a tiny model, one round (smoke test)")
    parser.add_argument("--no-reexec", action="store_true",
                        help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE if set (the header says so)")
    args = parser.parse_args(argv)
    reexec_without_forced_blas(argv)
    import fastrnn

    warnings.filterwarnings("ignore", message="The number of unique classes", category=UserWarning)
    configs = {"tiny": TINY} if args.tiny else {name: CONFIGS[name] for name in args.configs}
    rounds, n_batches = (1, 2) if args.tiny else (args.rounds, args.n_batches)
    backends = [b for b in args.backends if b in fastrnn.AVAILABLE_BACKENDS]
    env = environment_report()
    for line in format_report(env):
        print(line)
    skipped = sorted(set(args.backends) - set(backends))
    print(f"rate: {args.rate:g}; threads: {args.threads}; rounds: {rounds}; batches per epoch: "
          f"{n_batches}; quiet wait and pause after each call: {args.settle_ms:g} ms"
          + (f"; not available: {', '.join(skipped)}" if skipped else ""))
    print(f"{'config':<7}{'backend':<9}{'no dropout s':>13}"
          + "".join(f"{k.replace('_dropout', '') + ' s (ratio)':>25}" for k in KINDS[1:]))
    settle = max(args.settle_ms, 0.0) / 1000
    results = []
    for name, cfg in configs.items():
        X, y = make_data(cfg[1], cfg[4], cfg[5] * n_batches, cfg[6])
        for backend in backends:
            epochs = {k: runner(cfg, X, y, k, args.rate, args.threads, backend) for k in KINDS}
            times = {k: [] for k in KINDS}
            for r in range(rounds):
                order = KINDS[r % len(KINDS):] + KINDS[:r % len(KINDS)]
                for k in order:
                    times[k].append(timed(epochs[k], settle))
            median = {k: statistics.median(v) for k, v in times.items()}
            ratio = {k: median[k] / median["none"] for k in KINDS}
            print(f"{name:<7}{backend:<9}{median['none']:>13.4f}"
                  + "".join(f"{median[k]:>18.4f} ({ratio[k]:4.2f})" for k in KINDS[1:]), flush=True)
            results.append({"config": name, "backend": backend,
                            "definition": dict(zip(("cell", "vocab", "emb", "units", "T", "B",
                                                    "n_classes"), cfg)),
                            "seconds": times, "median_s": median, "ratio": ratio})
    if args.json:
        payload = {"environment": env, "options": vars(args), "results": results}
        pathlib.Path(args.json).write_text(json.dumps(payload, indent=1))
        print(f"results written to {args.json}")
    return results


if __name__ == "__main__":
    main()
