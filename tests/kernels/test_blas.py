"""The Numba kernels' BLAS intrinsic ``gemm_into`` against NumPy's matrix product."""

import numpy as np
import pytest

import fastrnn

pytestmark = pytest.mark.skipif("numba" not in fastrnn.AVAILABLE_BACKENDS,
                                reason="gemm_into is part of the Numba kernels")


def _row_block_product():
    from numba import njit

    from fastrnn.kernels._blas import gemm_into

    @njit(nogil=True)
    def product(a, b, out, lo, hi):
        gemm_into(a[lo:hi], b, out[lo:hi])

    return product


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("m, k, n, lo, hi", [
    (7, 5, 12, 0, 7),    # whole matrix
    (9, 8, 32, 2, 6),    # a row block: the rows outside it stay untouched
    (4, 1, 3, 1, 4),     # inner dimension 1
    (5, 3, 1, 0, 5),     # one output column
    (6, 4, 4, 3, 3),     # empty row block: nothing written
    (40, 200, 300, 0, 40),   # 2.4 million multiply-adds: column blocks of 120 (the last 60)
    (33, 257, 771, 1, 32),   # blocks of 120 (1e6 // (31 * 257) = 125) on a row block
    (600, 1800, 5, 0, 600),  # too many rows for 8 columns a block: one call
])
def test_gemm_into_matches_numpy_on_row_blocks(dtype, tol, m, k, n, lo, hi):
    rng = np.random.default_rng(m * 100 + n)
    a = rng.normal(size=(m, k)).astype(dtype)
    b = rng.normal(size=(k, n)).astype(dtype)
    out = np.full((m, n), 7.0, dtype=dtype)
    _row_block_product()(a, b, out, lo, hi)
    expected = np.full((m, n), 7.0, dtype=dtype)
    expected[lo:hi] = a[lo:hi].astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol * k)  # k rounded terms


def test_gemm_into_with_empty_inner_dimension_writes_zeros():
    a = np.ones((3, 0), np.float32)
    b = np.ones((0, 4), np.float32)
    out = np.full((3, 4), 7.0, np.float32)
    _row_block_product()(a, b, out, 0, 3)
    np.testing.assert_array_equal(out, np.zeros((3, 4), np.float32))


def test_gemm_into_rejects_mixed_dtypes_and_strided_arrays():
    from numba import njit
    from numba.core.errors import TypingError

    from fastrnn.kernels._blas import gemm_into

    @njit
    def product(a, b, out):
        gemm_into(a, b, out)

    a = np.ones((2, 3), np.float32)
    with pytest.raises(TypingError):
        product(a, np.ones((3, 2), np.float64), np.ones((2, 2), np.float32))
    with pytest.raises(TypingError):
        product(a, np.ones((3, 4), np.float32)[:, ::2], np.ones((2, 2), np.float32))


@pytest.mark.parametrize("m, k, n, width", [
    (32, 256, 768, 112),   # 6.3 million multiply-adds: 7 calls (120 columns each at most), 6 x 112 + 96
    (32, 768, 256, 40),    # 7 calls of at most 40: 6 x 40 + 16 (37 is no multiple of 8)
    (32, 128, 512, 176),   # 3 calls: 176 + 176 + 160, not 240 + 240 + 32
    (256, 32, 128, 64),    # 1,048,576: 64 + 64, not 120 + 8
    (64, 32, 128, 128),    # 262,144: one call
    (10, 100, 1000, 1000),  # exactly 1e6: one call
    (10, 100, 1001, 504),
    (128, 1024, 128, 128),  # 8 columns would be 1,048,576: one call
    (256, 128, 512, 512),   # 16.8 million over 256 rows: OpenBLAS's packed path, one call
    (64, 128, 512, 512),    # 4.2 million over 64 rows: one call
    (63, 128, 512, 104),    # one row fewer: 5 calls, 4 x 104 + 96
    (0, 5, 9, 9),
    (5, 0, 9, 9),
])
def test_gemm_block_width_stays_within_the_small_product_limit(m, k, n, width):
    from numba import njit

    from fastrnn._constants import PACKED_GEMM_MIN_MACS, PACKED_GEMM_MIN_ROWS
    from fastrnn.kernels._blas import SMALL_GEMM_MACS, block_width_of, gemm_block_width

    assert gemm_block_width(m, k, n) == width
    # the same rule in gemm_into's generated code
    assert njit(lambda m, k, n: block_width_of(m, k, n))(m, k, n) == width
    if m >= PACKED_GEMM_MIN_ROWS and m * k * n >= PACKED_GEMM_MIN_MACS:
        assert width == n  # large enough for the packed path: one call
    if width < n:
        widest = SMALL_GEMM_MACS // (m * k) // 8 * 8
        # within the limit, in as few calls as the widest blocks take, as even as multiples of 8
        assert width % 8 == 0 and m * k * width <= SMALL_GEMM_MACS
        assert -(-n // width) == -(-n // widest)
        assert width - 8 < -(-n // -(-n // widest)) <= width


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("width", [1, 15, 16, 17, 768])
def test_prefetch_step_rows_emits_prefetches_and_changes_nothing(dtype, width):
    from numba import njit

    from fastrnn.kernels._steps import prefetch_step_rows

    @njit(nogil=True)
    def read_step(table, idx, start, t):
        prefetch_step_rows(table, idx, start, t, 0, idx.shape[1])
        total = 0.0
        for b in range(idx.shape[1]):
            if start[b] <= t:
                total += table[idx[t, b]].sum()
        return total

    rng = np.random.default_rng(0)
    table = rng.normal(size=(50, width)).astype(dtype)
    idx, start = rng.integers(0, 50, size=(3, 6)), np.array([0, 1, 2, 3, 0, 0])
    before = table.copy()
    for t in range(3):
        real = start <= t
        np.testing.assert_allclose(read_step(table, idx, start, t), table[idx[t, real]].sum(), rtol=1e-5)
    np.testing.assert_array_equal(table, before)
    assert "llvm.prefetch" in read_step.inspect_llvm(read_step.signatures[0])


@pytest.mark.parametrize("m, k, n", [
    (1, 1, 8), (3, 5, 16), (4, 8, 32), (5, 8, 24), (6, 16, 40), (7, 0, 8), (64, 32, 128),
    (130, 46, 128),  # a weather-tutorial step: 46 inputs (14 features + 32 units) to 4 x 32 gates
    (40, 128, 128),  # the largest right-hand operand the register loop takes at any rows (16,384)
    (40, 129, 128),  # one row of it more, over more than 32 rows: BLAS
    (32, 200, 256),  # a larger operand, but 32 rows: the register loop
    (32, 64, 1024),  # rows of B 4 KB apart: BLAS
])
def test_float32_products_of_a_few_columns_per_row_are_exact_and_row_independent(m, k, n):
    """Float32 products whose width is a multiple of 8 (the register loop on CPUs with AVX2 and
    without AVX-512 when the right-hand operand is small or the rows few, BLAS otherwise): close
    to the float64 product, and where the register loop runs, a row's result is the same bits
    whether it is computed alone or with the others (what the loop promises)."""
    product = _row_block_product()
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    a = rng.normal(size=(m, k)).astype(np.float32)
    b = rng.normal(size=(k, n)).astype(np.float32)
    out = np.full((m, n), 7.0, np.float32)
    product(a, b, out, 0, m)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-5,
                               atol=1e-5 * max(k, 1))
    from fastrnn.kernels._blas import register_gemm_enabled, takes_register_loop

    if register_gemm_enabled() and takes_register_loop(m, k, n):
        for row in {0, m // 2, m - 1}:
            alone = np.full((m, n), 7.0, np.float32)
            product(a, b, alone, row, row + 1)
            np.testing.assert_array_equal(alone[row], out[row])


def test_float32_register_products_carry_non_finite_values_as_blas_does():
    product = _row_block_product()
    a = np.ones((5, 3), np.float32)
    a[1, 2] = np.nan
    a[3, 0] = np.inf
    b = np.ones((3, 16), np.float32)
    b[:, 5] = 0.0  # inf * 0 is nan
    out = np.zeros((5, 16), np.float32)
    product(a, b, out, 0, 5)
    with np.errstate(invalid="ignore"):
        expected = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(out), np.isposinf(expected))
    np.testing.assert_array_equal(out[[0, 2, 4]], expected[[0, 2, 4]])


@pytest.mark.parametrize("m, k, n", [(1, 1, 8), (6, 7, 40), (9, 46, 128), (0, 3, 16), (5, 0, 24)])
def test_the_register_loop_itself_on_any_cpu(monkeypatch, m, k, n):
    """The register loop forced on (LLVM lowers its vector FMAs on any CPU), so a broken loop
    fails here also where the products normally go to BLAS: exact to float32 rounding, each
    row the same bits alone as in the batch, and nothing written outside the row block."""
    from numba import njit

    from fastrnn.kernels import _blas

    monkeypatch.setattr(_blas, "register_gemm_enabled", lambda features=None: True)

    @njit(nogil=True)  # compiled here, after the patch: a function of its own, never cached
    def forced(a, b, out, lo, hi):
        _blas.gemm_into(a[lo:hi], b, out[lo:hi])

    rng = np.random.default_rng(m * 97 + k * 13 + n)
    a = rng.normal(size=(m + 2, k)).astype(np.float32)
    b = rng.normal(size=(k, n)).astype(np.float32)
    out = np.full((m + 2, n), 7.0, np.float32)
    forced(a, b, out, 1, m + 1)
    assert (out[0] == 7.0).all() and (out[m + 1] == 7.0).all()
    np.testing.assert_allclose(out[1:m + 1], a[1:m + 1].astype(np.float64) @ b.astype(np.float64),
                               rtol=1e-5, atol=1e-5 * max(k, 1))
    for row in range(1, m + 1):
        alone = np.full((m + 2, n), 7.0, np.float32)
        forced(a, b, alone, row, row + 1)
        np.testing.assert_array_equal(alone[row], out[row])


@pytest.mark.parametrize("m, k, n, takes", [
    (500, 128, 128, True),    # 16,384 elements: any rows
    (500, 129, 128, False),
    (32, 256, 768, True),     # 196,608 elements over 32 rows (a GRU(256) step of a batch slice)
    (32, 257, 768, False),
    (33, 256, 768, False),
    (32, 64, 1024, False),    # rows of B 4 KB apart
    (32, 64, 1032, True),
    (8, 3, 12, False),        # not a multiple of 8 columns
    (0, 5, 16, True),
])
def test_the_register_loop_rule_is_the_same_in_python_and_in_the_generated_code(m, k, n, takes):
    from numba import njit

    from fastrnn.kernels._blas import register_loop_of, takes_register_loop

    assert takes_register_loop(m, k, n) is takes
    assert njit(lambda m, k, n: register_loop_of(m, k, n))(m, k, n) is takes


@pytest.mark.parametrize("features, enabled", [
    ("+avx,+avx2,+fma,+sse4.2,-avx512f", True),
    ("+avx,+avx2,+fma,+avx512f,+avx512bw", False),  # OpenBLAS's small-matrix kernel runs there
    ("+avx,+avx2,-fma", False),
    ("+neon,+fp-armv8", False),
    ("", False),
])
def test_register_products_run_only_on_avx2_cpus_without_avx512(features, enabled):
    from fastrnn.kernels._blas import register_gemm_enabled

    assert register_gemm_enabled(features) is enabled
