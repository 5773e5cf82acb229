"""The NumPy reference is the specification: prove its gradients by central differences.

Every cell x input kind x scenario (bias, activations, padding layouts,
return_sequences, truncation, fixed dropout masks) is checked in float64.
"""

import numpy as np
import pytest

import fastrnn
from _model import CELLS, INPUTS, SCENARIOS, Case, Problem, cell_id, numeric_grad


def _assert_close(actual, numeric, what):
    # central differences (eps=1e-5) carry an O(eps^2 f''') error: relative 1e-5, and an
    # absolute floor scaled to the largest entry for the unbounded (linear/relu) cases
    atol = 1e-8 + 1e-6 * np.abs(numeric).max(initial=0.0)
    np.testing.assert_allclose(actual, numeric, rtol=1e-5, atol=atol, err_msg=what)


def _check(problem):
    c = problem.case
    grads, d_input, d_state0, cache = problem.analytic()
    t0 = cache["t0"]
    f = (lambda: problem.loss(truncate_from=t0)) if t0 else problem.loss
    for name, value in problem.params.items():
        _assert_close(grads[name], numeric_grad(f, value), f"d{name}")
    if c.input_kind == "tokens":
        _assert_close(d_input, numeric_grad(f, problem.E), "dE")
    elif c.input_kind == "dense":
        num = numeric_grad(f, problem.X)
        # the layer returns packed (T, B, F) gradients: map them back to input positions
        pos = problem.packed.positions
        real = problem.mask if c.padding != "none" else np.ones_like(problem.mask)
        mapped = d_input[pos, np.arange(c.B)[:, None]] * real[:, :, None]
        _assert_close(mapped, num, "dX")
    for k, h in enumerate(problem.h0):
        _assert_close(d_state0[k], numeric_grad(f, h), f"d_state0[{k}]")


@pytest.mark.parametrize("input_kind", INPUTS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
def test_reference_gradients_match_finite_differences(cell, scenario, input_kind):
    with fastrnn.use_backend("numpy"):
        _check(Problem(Case(input_kind=input_kind, **cell, **SCENARIOS[scenario])))


@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
def test_reference_gradients_single_step_single_unit(cell):
    with fastrnn.use_backend("numpy"):
        _check(Problem(Case(T=1, B=1, H=1, **cell)))
