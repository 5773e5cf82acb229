"""Command line: ``python -m fastrnn`` / ``fastrnn``."""

import argparse
import sys
import time


def _demo(args, out):
    import numpy as np
    from sklearn.model_selection import train_test_split

    from . import RNNClassifier, current_backend
    from .datasets import make_long_range_task

    X, y = make_long_range_task(n_samples=args.n_samples, n_timesteps=args.distance + 10,
                                distance=args.distance, random_state=args.seed)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=args.seed,
                                              stratify=y)
    out(f"fastrnn demo (backend: {current_backend()}): label = a token {args.distance} steps "
        f"before the end; {len(X_tr)} training / {len(X_te)} test sequences of "
        f"{X.shape[1]} tokens")
    out(f"{'cell':<8}{'test accuracy':>15}{'train loss':>12}{'fit seconds':>13}")
    results = {}
    for cell in ("simple", "lstm", "gru"):
        clf = RNNClassifier(cell=cell, units=16, embedding_dim=8, max_iter=args.epochs,
                            learning_rate=0.003, batch_size=64, random_state=args.seed)
        t0 = time.perf_counter()
        clf.fit(X_tr, y_tr)
        seconds = time.perf_counter() - t0
        acc = clf.score(X_te, y_te)
        results[cell] = acc
        out(f"{cell:<8}{acc:>15.3f}{clf.loss_curve_[-1]:>12.4f}{seconds:>13.1f}")
    out("(fit seconds include the one-time Numba compilation on a fresh install)")
    return 0 if all(np.isfinite(list(results.values()))) else 1


def main(argv=None, out=print):
    parser = argparse.ArgumentParser(prog="fastrnn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train SimpleRNN, LSTM and GRU on a built-in task, offline")
    demo.add_argument("--n-samples", type=int, default=2000)
    demo.add_argument("--distance", type=int, default=40)
    demo.add_argument("--epochs", type=int, default=6)
    demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args, out)
    except (ValueError, OSError) as exc:
        print(f"fastrnn: error: {exc}", file=sys.stderr)
        return 2
    return 1
