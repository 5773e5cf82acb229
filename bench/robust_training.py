"""Stable training on long documents: Keras's settings against fastrnn's defaults, over seeds.

An LSTM(64) reading 200-token documents of :func:`fastrnn.datasets.make_topic_documents`
(8 topics, 5,000 training and 1,000 test documents), last-state head, Adam(1e-3), batch 32,
early stopping with patience 3 on a 10% validation split.  Each configuration is fitted once
per seed; the script prints, per configuration, every seed's epochs and test accuracy, their
median and how many seeds reached ``--good`` test accuracy.

``keras`` is Keras's setting (no gradient clipping, a constant learning rate); ``fastrnn`` is the
estimators' defaults (``clipnorm=1.0``, ``lr_schedule="auto"``).
Extra configurations are ``name=key:value,key:value`` pairs (values are Python literals).

Usage::

    python bench/robust_training.py --seeds 0 1 2 3 4 5
    python bench/robust_training.py --seeds 0 1 --config clip=clipnorm:1.0,lr_schedule:None
"""

import argparse
import ast
import time
import warnings

import numpy as np

from fastrnn import RNNClassifier
from fastrnn.datasets import make_topic_documents

COMMON = dict(cell="lstm", units=64, embedding_dim=32, max_iter=30, early_stopping=True,
              n_iter_no_change=3)
CONFIGS = {"keras": dict(clipnorm=None, lr_schedule=None), "fastrnn": {}}


def parse_config(text):
    """``name=key:value,key:value`` -> (name, kwargs)."""
    name, _, body = text.partition("=")
    kwargs = {}
    for item in filter(None, body.split(",")):
        key, _, value = item.partition(":")
        kwargs[key.strip()] = ast.literal_eval(value.strip())
    return name.strip(), kwargs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--max-iter", type=int, default=COMMON["max_iter"])
    parser.add_argument("--units", type=int, default=COMMON["units"])
    parser.add_argument("--good", type=float, default=0.85,
                        help="test accuracy counted as a successful run")
    parser.add_argument("--config", action="append", default=[],
                        help="extra configuration name=key:value,...")
    parser.add_argument("--only", nargs="+", help="run only these configurations")
    parser.add_argument("--n-threads", type=int, default=None)
    args = parser.parse_args(argv)
    configs = dict(CONFIGS)
    configs.update(parse_config(c) for c in args.config)
    if args.only:
        configs = {k: v for k, v in configs.items() if k in args.only}
    X, y = make_topic_documents(args.n_train + args.n_test, length=args.length, random_state=0)
    Xtr, ytr, Xte, yte = X[:args.n_train], y[:args.n_train], X[args.n_train:], y[args.n_train:]
    results = {name: [] for name in configs}
    for seed in args.seeds:  # interleaved: every configuration sees the same machine load
        for name, kwargs in configs.items():
            params = dict(COMMON, max_iter=args.max_iter, units=args.units, random_state=seed,
                          n_threads=args.n_threads, **kwargs)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = RNNClassifier(**params).fit(Xtr, ytr)
            acc = model.score(Xte, yte)
            results[name].append((model.n_iter_, acc))
            print(f"{name:>10}  seed {seed}: {model.n_iter_:2d} epochs, test accuracy {acc:.3f} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
    print()
    print(f"{'config':>10}  {'median acc':>10}  {'runs >= %.2f' % args.good:>12}  epochs")
    for name, runs in results.items():
        accs = np.array([a for _, a in runs])
        print(f"{name:>10}  {np.median(accs):10.3f}  {int((accs >= args.good).sum()):>5d} of "
              f"{len(accs):<4d}  {[e for e, _ in runs]}")


if __name__ == "__main__":
    main()
