"""Wall time of a 12-candidate x 3-fold GridSearchCV: n_jobs=1, n_jobs=2, and a Dask cluster.

    python bench/dask_search.py [--n-samples 2000] [--scheduler tcp://host:8786]

Without ``--scheduler`` a ``LocalCluster(processes=True, n_workers=2, threads_per_worker=1)``
on 127.0.0.1 is started.  The pipeline is TextSequencer + RNNClassifier on the generated
negation-sentiment texts; every run must give the same cv_results_ scores.
"""

import argparse
import time

import joblib
import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from fastrnn import RNNClassifier, TextSequencer
from fastrnn.datasets import make_negation_sentiment

GRID = {"rnnclassifier__cell": ["simple", "lstm", "gru"], "rnnclassifier__units": [8, 16],
        "textsequencer__max_features": [None, 30]}


def search(X, y, n_jobs):
    pipe = make_pipeline(TextSequencer(maxlen=12),
                         RNNClassifier(embedding_dim=8, learning_rate=0.01, max_iter=5,
                                       random_state=0))
    t0 = time.perf_counter()
    gs = GridSearchCV(pipe, GRID, cv=3, n_jobs=n_jobs).fit(X, y)
    return time.perf_counter() - t0, gs.cv_results_["mean_test_score"]


def main():
    from dask.distributed import Client, LocalCluster

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-samples", type=int, default=2000)
    parser.add_argument("--scheduler", default=None)
    args = parser.parse_args()
    X, y = make_negation_sentiment(args.n_samples, return_text=True, random_state=0)
    search(X[:100], y[:100], 1)  # compile outside the timings
    rows = []
    for n_jobs in (1, 2):
        rows.append((f"local n_jobs={n_jobs}",) + search(X, y, n_jobs))
    if args.scheduler:
        client, cluster = Client(args.scheduler), None
    else:
        cluster = LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    with client:
        with joblib.parallel_config(backend="dask"):
            search(X[:100], y[:100], -1)  # workers compile / load the cache
            rows.append(("dask cluster",) + search(X, y, -1))
    if cluster is not None:
        cluster.close()
    for name, seconds, scores in rows:
        same = np.array_equal(scores, rows[0][2])
        print(f"{name:<18} {seconds:7.1f} s   scores equal to n_jobs=1: {same}")


if __name__ == "__main__":
    main()
