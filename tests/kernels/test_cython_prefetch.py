"""The Cython forward kernels prefetch each step's table rows: results unchanged, prefetches emitted."""

import platform
import shutil
import subprocess

import numpy as np
import pytest

import fastrnn
from _model import TOLERANCES
from fastrnn._constants import ACT_SIGMOID, ACT_TANH

pytestmark = pytest.mark.skipif("cython" not in fastrnn.AVAILABLE_BACKENDS,
                                reason="the Cython kernels are not built")

T, B = 7, 9
# start: rows beginning at different steps and an all-padding row (start == T)
START = np.array([0, 0, 1, 3, 6, 7, 0, 2, 0], dtype=np.int32)


def _forward(kernels, cell, table, idx, h0, U, rb, n_threads):
    """Every output of one forward pass (all stored sequences and final states)."""
    H = h0.shape[1]
    dt = table.dtype
    out = {"H_seq": np.empty((T, B, H), dt), "h_out": np.empty((B, H), dt)}
    no_mask = np.zeros((0, H), dt)
    if cell == "simple":
        kernels.simple_rnn_forward(table, idx, START, h0, U, no_mask, ACT_TANH,
                                   n_threads, out["H_seq"], out["h_out"])
    elif cell == "lstm":
        out.update(C_seq=np.empty((T, B, H), dt), gates=np.empty((T, B, 4 * H), dt),
                   c_out=np.empty((B, H), dt))
        kernels.lstm_forward(table, idx, np.zeros((T, B, 0), dt), START, h0, 0.5 * h0, U, no_mask,
                             ACT_TANH, ACT_SIGMOID, n_threads,
                             out["H_seq"], out["C_seq"], out["gates"], out["h_out"], out["c_out"])
    else:
        out.update(gates=np.empty((T, B, 3 * H), dt), aux=np.empty((T, B, H), dt))
        kernels.gru_forward(table, idx, START, h0, U, rb, no_mask, ACT_TANH,
                            ACT_SIGMOID, cell == "gru_after", n_threads,
                            out["H_seq"], out["gates"], out["aux"], out["h_out"])
    return out


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("n_rows", [1, 20_000])
@pytest.mark.parametrize("H", [5, 17])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("cell", ["simple", "lstm", "gru_after", "gru_before"])
def test_prefetching_forward_matches_reference_on_a_large_table(cell, dtype, H, n_rows, n_threads):
    # rows of 5 or 17 units start off the cache-line boundaries; 20,000 rows exceed the L2 cache
    rng = np.random.default_rng(7)
    G = {"simple": 1, "lstm": 4}.get(cell, 3) * H
    table = rng.normal(size=(n_rows, G)).astype(dtype)
    idx = rng.integers(0, n_rows, size=(T, B)).astype(np.int32)
    h0 = rng.normal(scale=0.5, size=(B, H)).astype(dtype)
    U = rng.normal(scale=0.4, size=(H, G)).astype(dtype)
    rb = rng.normal(size=G).astype(dtype) if cell == "gru_after" else np.zeros(G, dtype)
    before = table.copy()
    expected = _forward(fastrnn.get_kernels("numpy"), cell, table, idx, h0, U, rb, n_threads)
    actual = _forward(fastrnn.get_kernels("cython"), cell, table, idx, h0, U, rb, n_threads)
    for key in expected:
        np.testing.assert_allclose(actual[key], expected[key], err_msg=key, **TOLERANCES[dtype])
    np.testing.assert_array_equal(table, before)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64") or shutil.which("objdump") is None,
                    reason="reads x86-64 machine code with objdump")
@pytest.mark.parametrize("module", ["simple_rnn", "lstm", "gru"])
def test_forward_kernels_hold_prefetch_instructions(module):
    import importlib

    path = importlib.import_module(f"fastrnn._cython.{module}").__file__
    code = subprocess.run(["objdump", "-d", path], capture_output=True, text=True, check=True).stdout
    # __builtin_prefetch(p, 0, 3): prefetcht0, in the float32 and the float64 forward kernel
    assert code.count("prefetcht0") >= 2
