"""Shared fixtures.  The suite runs once per backend: ``FASTRNN_BACKEND`` picks it."""

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
