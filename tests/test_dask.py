"""Scaling out with Dask: joblib's dask backend for searches, partition-wise prediction.

Uses a 2-worker ``LocalCluster`` of processes on 127.0.0.1 (the ``dask`` extra).
"""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import fastrnn
from fastrnn import RNNClassifier, TextSequencer
from fastrnn.datasets import make_negation_sentiment

from conftest import default_backend_only

pytestmark = default_backend_only

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")
da = pytest.importorskip("dask.array")
db = pytest.importorskip("dask.bag")

FAST = dict(units=6, embedding_dim=4, max_iter=2, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                       host="127.0.0.1", dashboard_address=None)
    with cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def texts():
    return make_negation_sentiment(n_samples=480, return_text=True, random_state=0)


def _search():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(TextSequencer(maxlen=12), RNNClassifier(**FAST))
    grid = {"rnnclassifier__cell": ["lstm", "gru"], "textsequencer__max_features": [None, 20]}
    return GridSearchCV(pipe, grid, cv=3)


def test_grid_search_on_the_cluster_equals_the_local_run(client, texts):
    X, y = texts
    local = _search().set_params(n_jobs=1).fit(X, y)
    with joblib.parallel_config(backend="dask"):
        remote = _search().set_params(n_jobs=-1).fit(X, y)
    for key in [k for k in local.cv_results_ if k.startswith(("split", "mean_test", "rank"))]:
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key], err_msg=key)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))


def test_workers_run_the_kernels_single_threaded(client):
    from fastrnn.runtime import default_n_threads

    per_worker = client.run(default_n_threads)
    assert len(per_worker) == 2 and set(per_worker.values()) == {1}
    backends = client.run(lambda: fastrnn.BACKEND)
    assert set(backends.values()) == {fastrnn.BACKEND}


def test_partition_wise_prediction_equals_local(client, texts):
    X, y = texts
    model = _search().estimator.fit(X, y)
    expected = model.predict_proba(X)
    # raw text: a bag of texts, predict_proba on each partition
    bag = db.from_sequence(X, npartitions=4)
    parts = bag.map_partitions(lambda part: [model.predict_proba(list(part))]).compute()
    # Workers run one thread on a partition, the local call two threads on all rows: the BLAS
    # calls see other row counts, and OpenBLAS's small-matrix paths (AVX-512 CPUs) may sum in
    # another order, so the two agree to rounding, not bit for bit (2e-10 seen on a Zen 4 CPU).
    np.testing.assert_allclose(np.concatenate(parts), expected, rtol=1e-6, atol=1e-9)
    # token ids: a dask array chunked by rows
    ids = model[0].transform(X)
    clf = model[-1]
    darr = da.from_array(ids, chunks=(100, ids.shape[1]))
    proba = darr.map_blocks(clf.predict_proba, dtype=np.float64,
                            chunks=(darr.chunks[0], (len(clf.classes_),))).compute()
    np.testing.assert_allclose(proba, clf.predict_proba(ids), rtol=1e-6, atol=1e-9)
    assert not np.allclose(proba, clf.predict_proba(ids)[::-1])  # rows line up with their inputs


def test_fitted_estimators_pickle_without_jitted_code(texts):
    X, y = texts
    model = _search().estimator.fit(X, y)
    payload = pickle.dumps(model)
    assert b"numba" not in payload and b"Dispatcher" not in payload
    assert len(payload) < 200_000


@pytest.mark.skipif(fastrnn.BACKEND != "numba", reason="the on-disk cache is Numba's")
def test_processes_compiling_into_one_cache_at_once_do_not_crash(tmp_path):
    script = (
        "import numpy as np; from fastrnn import RNNClassifier;"
        "X = np.random.default_rng(0).integers(1, 9, size=(64, 7));"
        "clf = RNNClassifier(cell='simple', units=5, embedding_dim=3, max_iter=1, random_state=0)"
        ".fit(X, X[:, -1] > 4);"
        "print(repr(clf.predict_proba(X[:3]).round(6).tolist()))"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
    assert len({out for out, _ in results}) == 1
    assert any((tmp_path / "cache").rglob("*.nbi"))  # the cache was written
    # and a later process reads it
    again = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0 and again.stdout == results[0][0]
