"""Shared fixtures.  The suite runs once per backend: ``FASTRNN_BACKEND`` picks it."""

import os
from pathlib import Path

import numpy as np
import pytest

import fastrnn


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def backend_under_test():
    """The backend this run tests against the NumPy reference."""
    if fastrnn.BACKEND == "numpy":
        pytest.skip("the NumPy reference is the oracle; nothing to compare it with")
    return fastrnn.BACKEND


def pytest_report_header(config):
    return f"fastrnn backend: {fastrnn.BACKEND} (available: {fastrnn.AVAILABLE_BACKENDS})"


#: Backend-independent integration tests (subprocess CLI runs, examples, README, Dask) run once,
#: in the pass of the backend users get by default; the estimator suite covers every backend.
default_backend_only = pytest.mark.skipif(
    fastrnn.BACKEND != fastrnn.AVAILABLE_BACKENDS[0],
    reason="backend-independent integration test: runs in the default backend's pass")


def imdb_subset_path():
    """The IMDB subset named by ``FASTRNN_IMDB_NPZ``, or ``None`` when it is unset or absent.

    The file holds ``load_imdb`` output (``x_train``, ``y_train``, ``x_test``,
    ``y_test``; 5,000 training and 1,000 test reviews, ids below 500).
    """
    value = os.environ.get("FASTRNN_IMDB_NPZ", "").strip()
    path = Path(value).expanduser() if value else None
    return path if path is not None and path.is_file() else None


#: Tests that need the IMDB subset skip cleanly without it.
requires_imdb_subset = pytest.mark.skipif(
    imdb_subset_path() is None,
    reason="set FASTRNN_IMDB_NPZ to an IMDB subset in load_imdb format to run this test")
