"""The benchmark configurations C1-C7 (the tutorials' models) through the public estimator, per backend.

Each benchmark times one training epoch slice (``fit`` with ``max_iter=1,
warm_start=True`` over ``n_batches`` batches) or one ``predict_proba`` pass,
exactly as ``compare_torch.py`` does; building the model and compiling the
kernels happen before the timing.  ``-m quick`` keeps the two smallest
configurations (the smoke test the test suite runs).
"""

import pytest
from compare_torch import CONFIGS, fastrnn_runner, make_data

from _problems import BACKENDS

QUICK = ("C2", "C3")
N_BATCHES = {"C6": 2}  # the others: 4


def _configs():
    for name in CONFIGS:
        yield pytest.param(name, id=name, marks=[pytest.mark.quick] if name in QUICK else [])


_runners = {}


def _runner(name, backend):
    if (name, backend) not in _runners:
        cfg = CONFIGS[name]
        X, y = make_data(cfg[1], cfg[4], cfg[5] * N_BATCHES.get(name, 4), cfg[6])
        _runners[name, backend] = fastrnn_runner(cfg, X, y, threads=2, backend=backend)
    return _runners[name, backend]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(_configs()))
@pytest.mark.parametrize("mode", ["train", "infer"])
def bench_config(benchmark, mode, name, backend):
    benchmark.group = f"{name} {mode}"
    train, infer = _runner(name, backend)
    benchmark.pedantic(train if mode == "train" else infer, rounds=2 if name == "C6" else 5,
                       warmup_rounds=0)
