"""Benchmarks: ``python -m pytest bench/ --benchmark-only`` (not part of the test command;
``-m quick`` selects the subset the test suite smoke-runs).

The run's header names the machine and the software as ``compare_torch.py``'s does,
and the same description goes into ``--benchmark-json`` files (``machine_info``'s
``fastrnn_environment``).  pytest does not re-execute itself: when
``OPENBLAS_CORETYPE`` or ``OPENBLAS_L2_SIZE`` is set, the header says so and the
figures are those of the forced kernel.
"""

import numpy as np
import pytest

import fastrnn
from _problems import BACKENDS, make_problem
from compare_torch import environment_report, format_report


def pytest_report_header(config):
    return format_report(environment_report())


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["fastrnn_environment"] = environment_report()


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels():
    """Compile (or load from cache) every kernel before any timing starts."""
    for backend in BACKENDS:
        with fastrnn.use_backend(backend):
            for cell in ("simple", "lstm", "gru"):
                layer, params, inp = make_problem(cell, "small")
                _, _, _, cache = layer.forward(params, inp, training=True, n_threads=2)
                layer.backward(params, cache, d_last=np.ones((64, 8), np.float32))
