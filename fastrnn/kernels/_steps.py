"""Step helpers of the Numba kernels: one time step's product, gates and outputs over a row range."""

from numba import njit
from numba.extending import overload

from .._config import FASTMATH_FLAGS
from .._constants import ACT_SIGMOID, ACT_TANH
from ._activations import activate_inplace, tanh_rational32
from ._blas import gemm_into, prefetch_row
from ._compile import INLINE, INNER, is_f32, wide_vectors


@njit(**INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def lstm_gates(zb, xb, act, rec_act):
    """``zb = activated gates of zb + xb`` for an LSTM row (``i, f, c~, o``), one loop per gate."""
    wide_vectors()
    H = zb.shape[0] // 4
    for k in range(4 * H):
        zb[k] += xb[k]
    activate_inplace(zb[:2 * H], rec_act)  # i, f
    activate_inplace(zb[2 * H:3 * H], act)  # c~
    activate_inplace(zb[3 * H:], rec_act)  # o


def lstm_gates_tanh_sigmoid(zb, xb, scale, offset):
    """``zb = activated gates of zb + xb`` for an LSTM row with tanh/sigmoid (jitted code only).

    Float32: one loop over all ``4H`` gates in the one-tanh form of
    :func:`tanh_form_scale` (``scale``, ``offset`` from it).  Float64: one loop
    per gate, libm's sigmoid and tanh (``scale`` and ``offset`` unused).
    """
    raise NotImplementedError


@overload(lstm_gates_tanh_sigmoid, jit_options=INLINE)
def _lstm_gates_tanh_sigmoid(zb, xb, scale, offset):
    if is_f32(zb.dtype):
        def one_loop(zb, xb, scale, offset):
            wide_vectors()
            for k in range(zb.shape[0]):
                zb[k] = offset[k] + scale[k] * tanh_rational32(scale[k] * (zb[k] + xb[k]))
        return one_loop

    def per_gate(zb, xb, scale, offset):
        wide_vectors()
        lstm_gates(zb, xb, ACT_TANH, ACT_SIGMOID)
    return per_gate


@njit(**INNER)
def store_gates_row(zb, gates, t, b):
    """``gates[t, b] = zb`` when the gates are stored (``gates`` not empty)."""
    wide_vectors()
    if gates.shape[0] > 0:
        gb = gates[t, b]
        for k in range(zb.shape[0]):
            gb[k] = zb[k]


@njit(**INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def lstm_output_row(zb, tc, hb, gates, t, b):
    """``hb = o * tc`` for an LSTM row (``tc``: its ``act(c)``); ``gates[t, b] = zb`` when stored."""
    wide_vectors()
    H = hb.shape[0]
    for k in range(H):
        hb[k] = zb[3 * H + k] * tc[k]
    store_gates_row(zb, gates, t, b)


@njit(**INNER)
def prefetch_step_rows(table, idx, start, t, lo, hi):
    """Start loading the ``table`` rows that step ``t`` reads for the real rows of ``[lo, hi)``.

    Called before the step's product: a token table larger than the cache is
    then read while the product runs (a one-row table is left alone).
    """
    wide_vectors()
    if table.shape[0] > 1:
        for b in range(lo, hi):
            if start[b] <= t:
                prefetch_row(table, idx[t, b])


#: A chunk whose step reads at most this many bytes of rows of a table larger than
#: ``4 * PREFETCH_AHEAD_BYTES`` fetches the next step's rows while it activates this step's
#: (:func:`prefetch_ahead`); otherwise each step's rows are fetched just before its product.
PREFETCH_AHEAD_BYTES = 256 * 1024


@njit(**INNER)
def prefetch_ahead(table, lo, hi):
    """Whether the rows ``[lo, hi)`` fetch step ``t + 1``'s table rows during step ``t``.

    Then the rows of a table larger than the core's cache arrive during the
    step's activations and the next product, not only during the product.  A
    step's rows larger than :data:`PREFETCH_AHEAD_BYTES` would push the
    step's own gates out of the cache, and a table that fits in it gains
    nothing: those rows are fetched just before the product instead
    (:func:`prefetch_step_rows`).
    """
    wide_vectors()
    return (table.size * table.itemsize > 4 * PREFETCH_AHEAD_BYTES
            and (hi - lo) * table.shape[1] * table.itemsize <= PREFETCH_AHEAD_BYTES)


@njit(**INNER)
def prefetch_next_row(table, idx, start, t, b):
    """Start loading the ``table`` row that row ``b`` reads at step ``t + 1``, if it has one."""
    wide_vectors()
    if t + 1 < idx.shape[0] and start[b] <= t + 1:
        prefetch_row(table, idx[t + 1, b])


@njit(**INNER)
def active_end(start, lo, hi, t):
    """One past the last row of ``[lo, hi)`` that is real at step ``t`` (``lo`` if none)."""
    wide_vectors()
    end = lo
    for b in range(lo, hi):
        if start[b] <= t:
            end = b + 1
    return end


@njit(**INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def recurrent_forward_step(U, rec_mask, h, hm, z, lo, end):
    """``z = (h * mask) @ U`` for rows ``[lo, end)`` (SimpleRNN, LSTM); ``hm`` holds ``h * mask``."""
    wide_vectors()
    if rec_mask.shape[0] > 0:
        for b in range(lo, end):
            for k in range(h.shape[1]):
                hm[b, k] = h[b, k] * rec_mask[b, k]
        gemm_into(hm[lo:end], U, z[lo:end])
    else:
        gemm_into(h[lo:end], U, z[lo:end])


@njit(**INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def input_recurrent_forward_step(X, t, U, rec_mask, h, xh, z, lo, end):
    """``z = [x_t, h * mask] @ U`` for rows ``[lo, end)`` (LSTM); ``xh`` holds ``[x_t, h * mask]``.

    ``U`` stacks the input kernel over the recurrent one, so the step's input
    projection is part of its recurrent product and no ``(T, B, 4H)`` table of
    projections is made.  ``X`` of width 0 is no input: :func:`recurrent_forward_step`.
    """
    wide_vectors()
    F = X.shape[2]
    if F == 0:
        recurrent_forward_step(U, rec_mask, h, xh, z, lo, end)
        return
    H = h.shape[1]
    use_mask = rec_mask.shape[0] > 0
    for b in range(lo, end):
        for k in range(F):
            xh[b, k] = X[t, b, k]
        for k in range(H):
            xh[b, F + k] = h[b, k] * rec_mask[b, k] if use_mask else h[b, k]
    gemm_into(xh[lo:end], U, z[lo:end])


@njit(**INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def recurrent_backward_step(start, UT, rec_mask, dA, dh, dhm, t, lo, end):
    """Backward through ``h_{t-1} @ U`` for rows ``[lo, end)`` at step ``t`` (SimpleRNN, LSTM).

    Sets, for the real rows, ``dh = (dA[t] @ U.T) * mask``, the gradient carried
    to step ``t - 1``.  The gradient on ``U`` is summed after the time loop, over
    blocks of steps (:func:`fastrnn.utils.linalg.step_outer_sum`).
    """
    wide_vectors()
    H = dh.shape[1]
    use_mask = rec_mask.shape[0] > 0
    gemm_into(dA[t, lo:end], UT, dhm[lo:end])
    for b in range(lo, end):
        if start[b] <= t:
            if use_mask:
                for k in range(H):
                    dh[b, k] = dhm[b, k] * rec_mask[b, k]
            else:
                for k in range(H):
                    dh[b, k] = dhm[b, k]


@njit(**INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def input_recurrent_backward_step(start, UT, rec_mask, dA, dh, dxh, dX, t, lo, end):
    """Backward through ``[x_t, h_{t-1} * mask] @ U`` for rows ``[lo, end)`` at step ``t`` (LSTM).

    Sets, for the real rows, ``dX[t]`` and ``dh`` from ``dxh = dA[t] @ U.T``
    (``UT`` contiguous); the caller zeroes ``dX[t]`` on the other rows.  ``dX``
    of width 0 is no input: :func:`recurrent_backward_step`.
    """
    wide_vectors()
    F = dX.shape[2]
    if F == 0:
        recurrent_backward_step(start, UT, rec_mask, dA, dh, dxh, t, lo, end)
        return
    H = dh.shape[1]
    use_mask = rec_mask.shape[0] > 0
    gemm_into(dA[t, lo:end], UT, dxh[lo:end])
    for b in range(lo, end):
        if start[b] <= t:
            for k in range(F):
                dX[t, b, k] = dxh[b, k]
            for k in range(H):
                dh[b, k] = dxh[b, F + k] * rec_mask[b, k] if use_mask else dxh[b, F + k]
