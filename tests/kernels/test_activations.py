"""The Numba kernels' tanh and logistic function against NumPy's, in both dtypes."""

import numpy as np
import pytest

common = pytest.importorskip("fastrnn.kernels._activations")


@pytest.fixture(scope="module")
def activations():
    from numba import njit

    @njit
    def evaluate(x, tanh_out, sigmoid_out):
        for i in range(x.shape[0]):
            tanh_out[i] = common.fast_tanh(x[i])
            sigmoid_out[i] = common.fast_sigmoid(x[i])

    def run(x):
        t, s = np.empty_like(x), np.empty_like(x)
        evaluate(x, t, s)
        return t, s

    return run


def _exact(x):
    x = x.astype(np.float64)
    return np.tanh(x), 1.0 / (1.0 + np.exp(-x))


def test_float32_rational_is_within_a_few_ulps_everywhere(activations):
    x = np.concatenate([np.linspace(-30, 30, 600_001), [0.0, -0.0, 1e-30, -1e-30, np.inf, -np.inf]])
    x = x.astype(np.float32)
    tanh_out, sigmoid_out = activations(x)
    assert tanh_out.dtype == sigmoid_out.dtype == np.float32
    tanh_ref, sigmoid_ref = _exact(x)
    tanh_err = np.abs(tanh_out - tanh_ref)
    sigmoid_err = np.abs(sigmoid_out - sigmoid_ref)
    assert tanh_err.max() < 4e-7  # 3.7e-7 measured: about 3 float32 ulps at 1
    assert sigmoid_err.max() < 3e-7
    assert np.all(np.abs(tanh_out) <= 1) and np.all((sigmoid_out >= 0) & (sigmoid_out <= 1))
    np.testing.assert_array_equal(tanh_out[x == 0], 0)  # odd: tanh(0) is exactly 0


def test_float64_keeps_libm(activations):
    x = np.linspace(-20, 20, 10_001)
    tanh_out, sigmoid_out = activations(x)
    tanh_ref, sigmoid_ref = _exact(x)
    np.testing.assert_allclose(tanh_out, tanh_ref, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(sigmoid_out, sigmoid_ref, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("act, rec_act, expected", [
    ("tanh", "sigmoid", {"tanh", "exp"}),
    ("relu", "hard_sigmoid", set()),
    ("linear", "sigmoid", {"exp"}),
])
def test_kernels_compile_only_the_activations_they_run(act, rec_act, expected):
    # The activation codes are compile-time constants of a kernel: the branches of the others are
    # pruned, so a float64 kernel calls libm's tanh/exp only if its activations need them.
    import re

    from numba import njit

    from fastrnn._config import ACTIVATIONS
    from fastrnn.kernels import lstm

    B, T, H = 2, 3, 2
    rng = np.random.default_rng(0)
    h0, c0 = np.zeros((B, H)), np.zeros((B, H))
    lstm.lstm_forward(rng.normal(size=(4, 4 * H)), np.ones((T, B), np.int32), np.empty((T, B, 0)),
                      np.zeros(B, np.int32), h0, c0, rng.normal(size=(H, 4 * H)), np.empty((0, H)),
                      ACTIVATIONS[act], ACTIVATIONS[rec_act], 1, np.empty((0, B, H)), np.empty((0, B, H)),
                      np.empty((0, B, 4 * H)), np.empty((B, H)), np.empty((B, H)))
    kernel = lstm._forward_kernel(ACTIVATIONS[act], ACTIVATIONS[rec_act], H < lstm.BY_CHUNK_BELOW)
    # the float64 signature: an earlier test may have compiled this kernel for float32 too
    sig = next(s for s in kernel.signatures if str(s[0].dtype) == "float64")
    fresh = njit(kernel.py_func)  # not from the cache: inspectable
    fresh.compile(sig)
    called = set(re.findall(r"call [^@]*@([\w.]+)", fresh.inspect_llvm(sig)))
    libm = {name for name in ("tanh", "exp") if any(re.fullmatch(rf"(llvm\.)?{name}(\..*)?", c)
                                                    for c in called)}
    assert libm == expected


@pytest.mark.parametrize("H", [1, 3, 8])
def test_one_tanh_form_of_the_lstm_gates_equals_the_per_gate_activations(H):
    # tanh_form_scale lets the float32 LSTM kernels activate all four gates in one loop; the values
    # must be the very bits of fast_sigmoid (i, f, o) and fast_tanh (c~).
    from numba import njit

    scale, offset = common.tanh_form_scale(4 * H, 2 * H, 3 * H, np.float32)

    @njit
    def both(x):
        one, per_gate = np.empty_like(x), np.empty_like(x)
        for k in range(x.shape[0]):
            one[k] = offset[k] + scale[k] * common.fast_tanh(scale[k] * x[k])
            tanh_gate = 2 * H <= k < 3 * H
            per_gate[k] = common.fast_tanh(x[k]) if tanh_gate else common.fast_sigmoid(x[k])
        return one, per_gate

    x = np.random.default_rng(H).normal(scale=4.0, size=(5000, 4 * H)).astype(np.float32)
    for row in x:
        one, per_gate = both(row)
        np.testing.assert_array_equal(one, per_gate)
