"""Denormal floats are flushed to zero inside the compiled kernels, and only there."""

import numpy as np
import pytest

import fastrnn
from fastrnn.runtime import denormals
from fastrnn.runtime.chunks import run_chunks

pytestmark = pytest.mark.skipif(not denormals.X86, reason="flushing is implemented for x86 only")


def _flushing():
    """``read_csr``, skipping where no compiled backend registered access to the register."""
    if denormals.read_csr() is None:
        pytest.skip("no compiled backend")
    return denormals.read_csr


@pytest.mark.parametrize("n_threads", [1, 2])
def test_chunk_kernels_flush_denormals_and_restore_the_thread_state(n_threads):
    pytest.importorskip("numba")
    from numba import njit

    from fastrnn.kernels._sync import raise_flag

    read_csr = _flushing()

    @njit(nogil=True)
    def scale(x, out, j, lo, hi, wake, wake_to):
        raise_flag(wake, wake_to)
        for b in range(lo, hi):
            out[b] = x[b] * np.float32(1e-10)

    x = np.full(4, 1e-30, np.float32)
    out = np.ones(4, np.float32)
    before = read_csr()
    run_chunks(scale, 4, n_threads, x, out)
    assert read_csr() == before
    expected = 0.0 if denormals.FLUSH else np.float32(1e-30) * np.float32(1e-10)
    np.testing.assert_array_equal(out, expected)
    scale(x, out, 0, 0, 4, np.zeros(0, np.int64), 0)  # outside run_chunks: IEEE behaviour, a denormal result
    assert 0 < out[0] < np.finfo(np.float32).tiny


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_engine_kernel_treats_denormal_inputs_as_zero(backend, n_threads):
    read_csr = _flushing()
    if not denormals.FLUSH:
        pytest.skip("FASTRNN_FLUSH_DENORMALS=0")
    if backend not in fastrnn.AVAILABLE_BACKENDS:
        pytest.skip(f"{backend} backend not built")
    module = "fastrnn.kernels" if backend == "numba" else "fastrnn._cython.simple_rnn"
    simple_rnn_forward = pytest.importorskip(module).simple_rnn_forward

    B, T, H = 3, 4, 2
    table = np.full((1, H), 1e-39, np.float32)  # a denormal input projection
    idx = np.zeros((T, B), np.int32)
    start = np.zeros(B, np.int32)
    h0 = np.zeros((B, H), np.float32)
    U = np.zeros((H, H), np.float32)
    H_seq = np.empty((T, B, H), np.float32)
    h_out = np.empty((B, H), np.float32)
    before = read_csr()
    simple_rnn_forward(table, idx, start, h0, U, np.empty((0, H), np.float32), 0, n_threads, H_seq,
                       h_out)
    assert read_csr() == before  # the caller's thread state is restored
    np.testing.assert_array_equal(H_seq, 0.0)
