"""Benchmark problems shared by the bench modules."""

import numpy as np

import fastrnn
from fastrnn.layers import Recurrent, TokenInput, pack_tokens

SHAPES = {"small": (64, 100, 8, 16), "medium": (128, 200, 32, 32)}  # (B, T, H, E)
BACKENDS = [b for b in ("numba", "cython") if b in fastrnn.AVAILABLE_BACKENDS]


def make_problem(cell, shape, seed=0):
    B, T, H, E = SHAPES[shape]
    rng = np.random.default_rng(seed)
    layer = Recurrent(cell, H)
    params = layer.init_params(rng, E)
    packed = pack_tokens(rng.integers(1, 500, size=(B, T)))
    inp = TokenInput(packed.data, packed.start, rng.normal(size=(500, E)).astype(np.float32))
    return layer, params, inp
