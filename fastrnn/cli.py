"""Command line: ``python -m fastrnn`` / ``fastrnn``."""

import argparse
import sys
import time


def _demo(args, out):
    from sklearn.model_selection import train_test_split

    from . import RNNClassifier, current_backend
    from .datasets import make_long_range_task

    out(f"fastrnn demo (backend: {current_backend()}): the label needs a token seen D steps "
        f"before the end; {args.n_samples} sequences of {args.n_timesteps} tokens, "
        f"{args.epochs} epochs per model")
    header = f"{'cell':<8}" + "".join(f"{'acc D=' + str(d):>12}{'seconds':>9}" for d in args.distance)
    out(header)
    data = {}
    for d in args.distance:
        X, y = make_long_range_task(n_samples=args.n_samples, n_timesteps=args.n_timesteps,
                                    distance=d, random_state=args.seed)
        data[d] = train_test_split(X, y, test_size=0.25, random_state=args.seed, stratify=y)
    for cell in ("simple", "lstm", "gru"):
        row = f"{cell:<8}"
        for d in args.distance:
            X_tr, X_te, y_tr, y_te = data[d]
            clf = RNNClassifier(cell=cell, units=16, embedding_dim=8, max_iter=args.epochs,
                                learning_rate=0.01, batch_size=64, random_state=args.seed)
            t0 = time.perf_counter()
            clf.fit(X_tr, y_tr)
            row += f"{clf.score(X_te, y_te):>12.3f}{time.perf_counter() - t0:>9.1f}"
        out(row)
    out("(test accuracy; 0.5 is chance. The first fit of each cell includes Numba's one-time "
        "compilation.)")
    return 0


def main(argv=None, out=print):
    parser = argparse.ArgumentParser(prog="fastrnn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train SimpleRNN, LSTM and GRU on a built-in task, offline")
    demo.add_argument("--n-samples", type=int, default=6000)
    demo.add_argument("--n-timesteps", type=int, default=30)
    demo.add_argument("--distance", type=int, nargs="+", default=[5, 20])
    demo.add_argument("--epochs", type=int, default=12)
    demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return _demo(args, out)
    except (ValueError, OSError) as exc:
        print(f"fastrnn: error: {exc}", file=sys.stderr)
        return 2
    return 1
