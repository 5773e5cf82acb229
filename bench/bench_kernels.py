"""Forward+backward of one layer per cell, shape and backend (pytest-benchmark groups)."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import fastrnn
from _problems import BACKENDS, SHAPES, make_problem


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def bench_train_step(benchmark, cell, shape, backend):
    benchmark.group = f"train-step {cell} {shape}"
    layer, params, inp = make_problem(cell, shape)
    d_last = np.ones((SHAPES[shape][0], SHAPES[shape][2]), np.float32)

    def step():
        _, _, _, cache = layer.forward(params, inp, training=True, n_threads=2)
        layer.backward(params, cache, d_last=d_last)

    with fastrnn.use_backend(backend), threadpool_limits(1, "blas"):
        benchmark.pedantic(step, rounds=10, warmup_rounds=1)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def bench_inference(benchmark, cell, backend):
    benchmark.group = f"inference {cell} medium"
    layer, params, inp = make_problem(cell, "medium")
    with fastrnn.use_backend(backend), threadpool_limits(1, "blas"):
        benchmark.pedantic(lambda: layer.forward(params, inp, n_threads=2), rounds=10,
                           warmup_rounds=1)
