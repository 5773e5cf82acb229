"""Benchmarks: ``python -m pytest bench/ --benchmark-only`` (not part of the test command;
``-m quick`` selects the subset the test suite smoke-runs)."""

import numpy as np
import pytest

import fastrnn
from _problems import BACKENDS, make_problem


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels():
    """Compile (or load from cache) every kernel before any timing starts."""
    for backend in BACKENDS:
        with fastrnn.use_backend(backend):
            for cell in ("simple", "lstm", "gru"):
                layer, params, inp = make_problem(cell, "small")
                _, _, _, cache = layer.forward(params, inp, training=True, n_threads=2)
                layer.backward(params, cache, d_last=np.ones((64, 8), np.float32))
