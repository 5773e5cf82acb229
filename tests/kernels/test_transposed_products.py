"""Every backend's ``transposed_matmul`` (a weight gradient ``X.T @ D``) against the float64 product."""

import os

import numpy as np
import pytest

import fastrnn

SHAPES = [
    (0, 4, 8),     # no rows: zeros (or out unchanged when accumulating)
    (1, 1, 8),
    (3, 5, 16),
    (257, 8, 40),  # one row past a pass of the loop; panels of 16, 16 and 8 columns
    (600, 12, 32),
    (300, 16, 32),  # wider than the loop takes: BLAS
    (100, 8, 12),   # a width not a multiple of 8: BLAS
]


def _register_loop(backend, f, g):
    """Whether ``backend``'s product of an ``(m, f)`` and an ``(m, g)`` runs in its own loop here."""
    if backend == "numpy":
        return False
    module = fastrnn.get_kernels(backend).products
    X, D = np.zeros((4, f), np.float32), np.zeros((4, g), np.float32)
    return module.takes_loop(X, D, np.zeros((f, g), np.float32))


@pytest.mark.parametrize("backend", fastrnn.AVAILABLE_BACKENDS)
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("m, f, g", SHAPES)
def test_transposed_matmul_is_the_product_and_adds_to_out(backend, dtype, rtol, m, f, g):
    product = fastrnn.get_kernels(backend).transposed_matmul
    rng = np.random.default_rng(m * 1000 + f * 10 + g)
    X = rng.normal(size=(m, f)).astype(dtype)
    D = rng.normal(size=(m, g)).astype(dtype)
    start = rng.normal(size=(f, g)).astype(dtype)
    expected = X.astype(np.float64).T @ D.astype(np.float64)
    atol = rtol * max(np.sqrt(m), 1.0)
    out = np.full((f, g), np.nan, dtype)
    product(X, D, out)
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=atol)
    added = start.copy()
    product(X, D, added, True)
    np.testing.assert_allclose(added, start + expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("backend", fastrnn.AVAILABLE_BACKENDS)
def test_transposed_matmul_of_strided_operands(backend):
    product = fastrnn.get_kernels(backend).transposed_matmul
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 16)).astype(np.float32)[:, ::2]
    D = rng.normal(size=(50, 32)).astype(np.float32)[:, 8:24]
    out = np.empty((8, 32), np.float32)[:, ::2]
    product(X, D, out)
    np.testing.assert_allclose(out, X.astype(np.float64).T @ D, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", fastrnn.AVAILABLE_BACKENDS)
@pytest.mark.parametrize("m, f, g, split", [(700, 8, 32, 300), (700, 12, 24, 256), (40, 3, 8, 1)])
def test_the_register_loop_sums_each_element_in_row_order(backend, m, f, g, split):
    """Where the loop runs, its result over all rows is the same bits as over the first rows and
    then the rest added (each element one fused multiply-add per row, in row order), wherever the
    rows are split: a BLAS kernel summing in blocks would fail this."""
    if not _register_loop(backend, f, g):
        pytest.skip(f"the {backend} backend has no register loop for this product on this CPU")
    product = fastrnn.get_kernels(backend).transposed_matmul
    rng = np.random.default_rng(m + f + g)
    X = rng.normal(size=(m, f)).astype(np.float32)
    D = rng.normal(size=(m, g)).astype(np.float32)
    whole = np.empty((f, g), np.float32)
    product(X, D, whole)
    parts = np.empty((f, g), np.float32)
    product(X[:split], D[:split], parts)
    product(X[split:], D[split:], parts, True)
    np.testing.assert_array_equal(parts, whole)


@pytest.mark.skipif("numba" not in fastrnn.AVAILABLE_BACKENDS, reason="the Numba loop")
@pytest.mark.parametrize("m, f, g", [(1, 1, 8), (5, 7, 40), (600, 16, 32), (0, 3, 16), (300, 9, 24)])
def test_the_numba_transposed_loop_itself_on_any_cpu(m, f, g):
    """The loop compiled here whatever the CPU (LLVM lowers its vector FMAs anywhere), so a
    broken loop fails also where the products normally go to BLAS."""
    from numba import njit

    from fastrnn.kernels._blas import transposed_gemm_into

    @njit(nogil=True)  # a function of its own, never cached
    def forced(X, D, out, accumulate):
        transposed_gemm_into(X, D, out, accumulate)

    rng = np.random.default_rng(m * 31 + f * 7 + g)
    X = rng.normal(size=(m, f)).astype(np.float32)
    D = rng.normal(size=(m, g)).astype(np.float32)
    expected = X.astype(np.float64).T @ D.astype(np.float64)
    out = np.full((f, g), 7.0, np.float32)
    forced(X, D, out, True)
    np.testing.assert_allclose(out, 7.0 + expected, rtol=2e-5, atol=2e-5 * max(np.sqrt(m), 1))
    if m:
        forced(X, D, out, False)
        np.testing.assert_allclose(out, expected, rtol=2e-5, atol=2e-5 * np.sqrt(m))
        split = m // 2
        parts = np.empty((f, g), np.float32)
        forced(X[:split], D[:split], parts, False) if split else parts.fill(0.0)
        forced(X[split:], D[split:], parts, True)
        np.testing.assert_array_equal(parts, out)


@pytest.mark.parametrize("shape, takes", [((12, 32), True), ((13, 32), False), ((8, 12), False),
                                          ((1, 8), True), ((12, 1024), True)])
def test_the_transposed_loop_rule(shape, takes):
    from fastrnn._constants import REGISTER_TRANSPOSED_MAX_COLUMNS, takes_transposed_register_loop

    assert REGISTER_TRANSPOSED_MAX_COLUMNS == 12
    assert takes_transposed_register_loop(*shape) is takes


def test_the_loop_runs_wherever_the_cpu_has_it():
    """Where Numba compiles for an AVX2 CPU without AVX-512, a small model's product takes the
    loop, and a native Cython build has the same loop (a build or a check that lost it would
    otherwise only send every product to NumPy, which the other tests accept)."""
    if "numba" not in fastrnn.AVAILABLE_BACKENDS:
        pytest.skip("the Numba backend decides where the loop runs")
    from fastrnn.kernels import products
    from fastrnn.kernels._blas import register_gemm_enabled

    assert products._REGISTER_LOOP == register_gemm_enabled()
    assert _register_loop("numba", 8, 32) == register_gemm_enabled()
    native = not any(os.environ.get(v) for v in ("FASTRNN_PORTABLE_BUILD", "NUMBA_CPU_NAME",
                                                   "NUMBA_CPU_FEATURES", "NUMBA_ENABLE_AVX"))
    if "cython" in fastrnn.AVAILABLE_BACKENDS and native:
        assert _register_loop("cython", 8, 32) == register_gemm_enabled()


@pytest.mark.parametrize("backend", fastrnn.AVAILABLE_BACKENDS)
def test_what_the_loop_cannot_take_is_the_references_product(backend):
    """A read-only out is refused and an out overlapping an operand still gets the product, as
    in the NumPy reference (the loop would write the one and read its own output in the other)."""
    product = fastrnn.get_kernels(backend).transposed_matmul
    rng = np.random.default_rng(5)
    D = rng.normal(size=(300, 8)).astype(np.float32)
    frozen = np.zeros((8, 8), np.float32)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        product(D, D, frozen)
    expected = D.astype(np.float64).T @ D
    product(D, D, D[:8])  # out is the first rows of both operands
    np.testing.assert_allclose(D[:8], expected, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError):
        product(D[:20], D[:10], np.zeros((8, 8), np.float32))  # rows that differ
