"""The backend under test equals the NumPy reference: outputs, states and every gradient.

Runs on the grid of the reference gradient check (cells x input kinds x
scenarios), in float64 and float32, single- and multi-threaded, plus
hypothesis-generated shapes including B=1, T=1, H=1 and all-padding rows.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastrnn
from fastrnn import _constants
from _model import CELLS, INPUTS, SCENARIOS, TOLERANCES, Case, Problem, cell_id


def _run(case, backend):
    problem = Problem(case)
    with fastrnn.use_backend(backend):
        h_last, seq, state, _ = problem.layer.forward(
            problem.params, problem.inp(), tuple(problem.h0), rec_mask=problem.rec_mask,
            return_sequences=True, n_threads=case.n_threads)
        grads, d_input, d_state0, cache = problem.analytic()
    out = {"h_last": h_last, "seq": seq, **{f"state{k}": s for k, s in enumerate(state)}}
    out.update({f"d_{k}": v for k, v in grads.items()})
    out.update({f"d_state0_{k}": v for k, v in enumerate(d_state0)})
    out.update({f"stored_{k}": v for k, v in enumerate(cache["stored"])})
    out["stored_H"] = cache["H_seq"]
    if d_input is not None:
        out["d_input"] = d_input
    return out


def _assert_same(case, backend, tol=None):
    expected = _run(case, "numpy")
    actual = _run(case, backend)
    assert expected.keys() == actual.keys()
    tol = tol or TOLERANCES[case.dtype]
    for key in expected:
        assert actual[key].dtype == case.dtype, key
        np.testing.assert_allclose(actual[key], expected[key], err_msg=key, **tol)


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("input_kind", INPUTS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
def test_backend_matches_reference(backend_under_test, cell, scenario, input_kind, dtype, n_threads):
    case = Case(input_kind=input_kind, dtype=dtype, n_threads=n_threads, B=4, **cell,
                **SCENARIOS[scenario])
    _assert_same(case, backend_under_test)


# The compiled LSTM forward kernels activate the cell row by row from this many units up, and below
# it in one loop over a chunk's rows (fastrnn._constants.BY_CHUNK_BELOW); the grids above have H <= 5.
ROW_LOOP_FROM = 16


@pytest.mark.parametrize("H", [ROW_LOOP_FROM - 1, ROW_LOOP_FROM])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("scenario", ["base", "mixed_padding_seq", "dropout", "relu_hard_sigmoid"])
def test_lstm_matches_reference_on_both_sides_of_the_row_loop_threshold(backend_under_test, scenario,
                                                                        dtype, H):
    case = Case(cell="lstm", H=H, B=5, n_threads=2, dtype=dtype, **SCENARIOS[scenario])
    _assert_same(case, backend_under_test)


def test_the_row_loop_threshold_is_the_kernels():
    assert _constants.BY_CHUNK_BELOW == ROW_LOOP_FROM


# Per-step products above this many multiply-adds are made in column blocks
# (fastrnn._constants.SMALL_GEMM_MACS); the grids above stay far below it.
BLOCKED_PRODUCT_ABOVE = 1_000_000


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("scenario", ["mixed_padding_seq", "dropout"])
@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
def test_backend_matches_reference_when_step_products_are_split_into_column_blocks(
        backend_under_test, cell, scenario, dtype, n_threads):
    # 40 rows of 240 units: a thread's product h @ U has (20 or 40) x 240 x 240 multiply-adds per
    # gate block, 1.15-9.2 million in all; as padded rows leave the product it shrinks step by
    # step, so some steps run in one call and some in blocks.
    H, B = 240, 40
    assert (B // 2) * H * H > BLOCKED_PRODUCT_ABOVE
    case = Case(H=H, B=B, T=4, V=9, D=3, F=3, dtype=dtype, n_threads=n_threads, **cell,
                **SCENARIOS[scenario])
    # float32 sums of 240-960 terms (the recurrent kernel's gradient: of every row and step) round
    # differently from the reference's order by more than the small-shape tolerance
    _assert_same(case, backend_under_test,
                 dict(rtol=1e-3, atol=1e-3) if dtype == np.float32 else None)


def test_the_product_block_limit_is_the_kernels():
    assert _constants.SMALL_GEMM_MACS == BLOCKED_PRODUCT_ABOVE


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cell=st.sampled_from(CELLS),
    input_kind=st.sampled_from(INPUTS),
    B=st.integers(1, 6),
    T=st.integers(1, 8),
    H=st.integers(1, 5),
    padding=st.sampled_from(["pre", "post", "mixed", "none"]),
    return_sequences=st.booleans(),
    dropout=st.booleans(),
    n_threads=st.integers(1, 3),
    f32=st.booleans(),
    empty_rows=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_backend_matches_reference_on_generated_shapes(backend_under_test, cell, input_kind, B, T,
                                                       H, padding, return_sequences, dropout,
                                                       n_threads, f32, empty_rows, seed):
    case = Case(input_kind=input_kind, B=B, T=T, H=H, padding=padding,
                return_sequences=return_sequences, dropout=dropout, n_threads=n_threads,
                dtype=np.float32 if f32 else np.float64, seed=seed,
                empty_rows=empty_rows and padding != "none", **cell)
    _assert_same(case, backend_under_test)


@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
def test_all_padding_rows_keep_the_initial_state(backend_under_test, cell):
    problem = Problem(Case(B=3, T=4, **cell))
    problem.ids[1:] = 0  # rows 1 and 2 hold padding only
    problem.packed = fastrnn.layers.pack_tokens(problem.ids)
    for backend in (backend_under_test, "numpy"):
        with fastrnn.use_backend(backend):
            h_last, _, state, _ = problem.layer.forward(problem.params, problem.inp(),
                                                        tuple(problem.h0))
        for k, s in enumerate(state):
            np.testing.assert_array_equal(s[1:], problem.h0[k][1:])
        assert not np.allclose(h_last[0], problem.h0[0][0])


@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
def test_results_are_bit_identical_for_a_given_thread_count(backend_under_test, cell):
    case = Case(B=7, T=9, H=5, dtype=np.float32, return_sequences=True, **cell)
    for n_threads in (1, 2, 3):
        runs = [_run(Case(**{**case.__dict__, "n_threads": n_threads}), backend_under_test)
                for _ in range(2)]
        for key in runs[0]:
            np.testing.assert_array_equal(runs[0][key], runs[1][key], err_msg=key)


# The Numba forward kernels fetch a step's table rows during the previous step when the table is
# larger than 4 x 256 KiB and a chunk's rows of one step take at most 256 KiB
# (fastrnn.kernels._steps.PREFETCH_AHEAD_BYTES); the grids above use small tables.
AHEAD_BYTES = 256 * 1024


@pytest.mark.parametrize("n_threads", [1, 2])
def test_lstm_forward_matches_reference_with_a_table_fetched_a_step_ahead(backend_under_test,
                                                                         n_threads):
    from fastrnn._backend import get_kernels

    rng = np.random.default_rng(0)
    T, B, H, V = 6, 9, 32, 3000
    table = rng.normal(size=(V, 4 * H))
    assert table.nbytes > 4 * AHEAD_BYTES and B * table.shape[1] * table.itemsize <= AHEAD_BYTES
    idx = rng.integers(0, V, size=(T, B)).astype(np.int32)
    start = np.array([0, 0, 1, 3, 5, 6, 0, 2, 0], dtype=np.int32)  # row 5 starts at the last step
    h0, c0 = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    U = rng.normal(size=(H, 4 * H)) / H
    results = []
    for backend in (backend_under_test, "numpy"):
        out = [np.empty((T, B, H)), np.empty((T, B, H)), np.empty((T, B, 4 * H)), np.empty((B, H)),
               np.empty((B, H))]
        get_kernels(backend).lstm_forward(table, idx, np.zeros((T, B, 0)), start, h0, c0, U,
                                          np.zeros((0, H)), _constants.ACT_TANH,
                                          _constants.ACT_SIGMOID, n_threads, *out)
        results.append(out)
    for got, expected in zip(*results):
        np.testing.assert_allclose(got, expected, **TOLERANCES[np.float64])


def test_the_prefetch_ahead_limit_is_the_kernels():
    pytest.importorskip("numba")
    from fastrnn.kernels import _steps

    assert _steps.PREFETCH_AHEAD_BYTES == AHEAD_BYTES
