"""LSTM kernels (Numba), gates packed i, f, c, o.  Contract and maths: ``fastrnn._reference``."""

import numpy as np

from .._constants import ACT_SIGMOID, ACT_TANH, BY_CHUNK_BELOW
from ..runtime.chunks import run_chunks
from ..utils.linalg import step_outer_sum
from .products import transposed_matmul
from ._activations import (
    activate_grad_into,
    activate_inplace,
    activate_rows_into,
    fast_tanh,
    tanh_form_scale,
)
from ._compile import jit_chunk, per_activation, wide_vectors
from ._steps import (
    active_end,
    input_recurrent_backward_step,
    input_recurrent_forward_step,
    lstm_gates,
    lstm_gates_tanh_sigmoid,
    lstm_output_row,
    prefetch_ahead,
    prefetch_next_row,
    prefetch_step_rows,
    store_gates_row,
)
from ._sync import raise_flag


@per_activation
def _forward_kernel(act, rec_act, by_chunk):
    """The forward chunk kernel for the activation codes ``act``, ``rec_act`` (:func:`per_activation`).

    ``by_chunk`` (a model of fewer than :data:`BY_CHUNK_BELOW` units) compiles
    only the elementwise loops over all of a chunk's rows, else only the loops
    over one row's values.
    """
    # The default activations: all four float32 gates in one loop (see tanh_form_scale).  A
    # closure constant, so Numba compiles only the branch that the kernel runs.
    tanh_sigmoid = act == ACT_TANH and rec_act == ACT_SIGMOID
    # Below BY_CHUNK_BELOW units a row's loop over H is too short for LLVM's vector loop, and the
    # cell's activation ran scalar: it then runs in one loop over the chunk's rows instead.

    @jit_chunk
    def forward_rows(table, idx, X, start, U, rec_mask, H_seq, C_seq, gates, h_out, c_out, z, xh, tcs, scale,
                     offset, j, lo, hi, wake, wake_to):
        wide_vectors()
        raise_flag(wake, wake_to)  # start the pool thread of slice 1 (see run_chunks)
        T = idx.shape[0]
        H = h_out.shape[1]
        store_h = H_seq.shape[0] > 0
        store_c = C_seq.shape[0] > 0
        store_g = gates.shape[0] > 0
        ahead = prefetch_ahead(table, lo, hi)
        for t in range(T):
            end = active_end(start, lo, hi, t)
            if t == 0 or not ahead:
                prefetch_step_rows(table, idx, start, t, lo, end)
            if end > lo:
                input_recurrent_forward_step(X, t, U, rec_mask, h_out, xh, z, lo, end)
            for b in range(lo, hi):
                if ahead:
                    prefetch_next_row(table, idx, start, t, b)
                if start[b] > t:
                    if store_g:
                        for k in range(4 * H):
                            gates[t, b, k] = 0.0
                    continue
                zb = z[b]
                xb = table[idx[t, b]]
                if tanh_sigmoid:
                    lstm_gates_tanh_sigmoid(zb, xb, scale, offset)
                else:
                    lstm_gates(zb, xb, act, rec_act)
                cb = c_out[b]
                if by_chunk:  # act(c) and h below, for all the chunk's rows at once
                    for k in range(H):
                        cb[k] = zb[H + k] * cb[k] + zb[k] * zb[2 * H + k]
                    continue
                hb = h_out[b]
                if tanh_sigmoid:
                    # One loop: act(c) stays in a register instead of a scratch row that the next
                    # loop reloads (at another vector width: a stalled store forward on AVX-512).
                    for k in range(H):
                        ck = zb[H + k] * cb[k] + zb[k] * zb[2 * H + k]
                        cb[k] = ck
                        hb[k] = zb[3 * H + k] * fast_tanh(ck)
                    store_gates_row(zb, gates, t, b)
                else:
                    tc = tcs[b]  # scratch: act(c)
                    for k in range(H):
                        cb[k] = zb[H + k] * cb[k] + zb[k] * zb[2 * H + k]
                        tc[k] = cb[k]
                    activate_inplace(tc, act)
                    lstm_output_row(zb, tc, hb, gates, t, b)
            if by_chunk and end > lo:
                activate_rows_into(c_out[lo:end], tcs[lo:end], act)
                for b in range(lo, end):
                    if start[b] <= t:
                        lstm_output_row(z[b], tcs[b], h_out[b], gates, t, b)
            for b in range(lo, hi):
                for k in range(H):
                    if store_h:
                        H_seq[t, b, k] = h_out[b, k]
                    if store_c:
                        C_seq[t, b, k] = c_out[b, k]

    return forward_rows


@per_activation
def _backward_kernel(act, rec_act, units):
    """The backward chunk kernel for the activation codes ``act``, ``rec_act`` (:func:`per_activation`).

    ``units`` > 0 compiles it for that many units, a constant: below
    :data:`BY_CHUNK_BELOW` its loops over a row's values then have known
    lengths, which LLVM unrolls and vectorises; 0 compiles it for any number.
    """
    tanh_sigmoid = act == ACT_TANH and rec_act == ACT_SIGMOID

    @jit_chunk
    def backward_rows(start, h0, c0, UT, rec_mask, H_seq, C_seq, gates, dH_seq, dA, dX, dh, dc, dhm, dxh,
                      deriv, dtc, scale, j, lo, hi, wake, wake_to):
        wide_vectors()
        raise_flag(wake, wake_to)  # start the pool thread of slice 1 (see run_chunks)
        T = H_seq.shape[0]
        H = units if units > 0 else h0.shape[1]
        G = 4 * H
        F = dX.shape[2]
        many = dH_seq.shape[0] > 0
        n = (hi - lo) * H
        for t in range(T - 1, -1, -1):
            # act(c_t) and its derivative for all the chunk's rows, in two loops over them (one row's
            # H values are too few for a vector loop at H=8); dhm is free until the product below.
            activate_rows_into(C_seq[t, lo:hi], dhm[lo:hi], act)
            activate_grad_into(dhm[lo:hi].reshape(n), dtc[lo:hi].reshape(n), act)
            for b in range(lo, hi):
                if many:
                    for k in range(H):
                        dh[b, k] += dH_seq[t, b, k]
                if start[b] > t:
                    for k in range(G):
                        dA[t, b, k] = 0.0
                    for k in range(F):
                        dX[t, b, k] = 0.0
                    continue
                # Activation derivatives first, in branch-free passes, so the loop below vectorises.
                tc = dhm[b]  # act(c_t)
                dt = dtc[b]  # its derivative
                gb = gates[t, b]
                d = deriv[b]
                if tanh_sigmoid:  # activate_grad_into's values, in one loop over the gates
                    for k in range(G):
                        y = gb[k]
                        d[k] = 1.0 - y * y if scale[k] == 1.0 else y * (1.0 - y)
                else:
                    activate_grad_into(gb[:2 * H], d[:2 * H], rec_act)  # i, f
                    activate_grad_into(gb[2 * H:3 * H], d[2 * H:3 * H], act)  # c~
                    activate_grad_into(gb[3 * H:], d[3 * H:G], rec_act)  # o
                c_prev = C_seq[t - 1, b] if t > 0 else c0[b]
                da = dA[t, b]
                dhb = dh[b]
                dcb = dc[b]
                for k in range(H):
                    dhk = dhb[k]
                    dct = dcb[k] + dhk * gb[3 * H + k] * dt[k]
                    da[k] = dct * gb[2 * H + k] * d[k]
                    da[H + k] = dct * c_prev[k] * d[H + k]
                    da[2 * H + k] = dct * gb[k] * d[2 * H + k]
                    da[3 * H + k] = dhk * tc[k] * d[3 * H + k]
                    dcb[k] = dct * gb[H + k]
            end = active_end(start, lo, hi, t)
            if end == lo:
                continue
            input_recurrent_backward_step(start, UT, rec_mask, dA, dh, dxh, dX, t, lo, end)

    return backward_rows


def lstm_forward(table, idx, X, start, h0, c0, U, rec_mask, act, rec_act, n_threads,
                 H_seq, C_seq, gates, h_out, c_out):
    """LSTM forward over one window of timesteps.

    Parameters
    ----------
    table : ndarray of shape (N, 4H)
        Input projections ``x @ W + b``, gate blocks ``i, f, c, o`` (with
        ``X``: the bias, ``N = 1``, or whatever else is added to each step).
    idx, start, h0, rec_mask, n_threads
        As in :func:`simple_rnn_forward`.
    X : ndarray of shape (T, B, F)
        Input read by each step's product, which is then
        ``[x_t, h_{t-1} * mask] @ U``; ``F = 0``: none (the table holds the
        whole input projection).
    c0 : ndarray of shape (B, H)
        Initial cell state.
    U : ndarray of shape (F + H, 4H)
        Input kernel stacked over the recurrent kernel (the recurrent kernel
        alone when ``F = 0``).
    act, rec_act : int
        Activation codes of the candidate/cell output and of the gates.
    H_seq, C_seq : ndarray of shape (T, B, H) or (0, B, H)
        Out: hidden and cell state after every step (stored when ``T`` long).
    gates : ndarray of shape (T, B, 4H) or (0, B, 4H)
        Out: activated gates ``i, f, c~, o`` (stored when ``T`` long).
    h_out, c_out : ndarray of shape (B, H)
        Out: final hidden and cell state.
    """
    h_out[...] = h0
    c_out[...] = c0
    B, H = h0.shape
    F = X.shape[2]
    run_chunks(_forward_kernel(act, rec_act, H < BY_CHUNK_BELOW), B, n_threads, table, idx, X, start, U,
               rec_mask, H_seq, C_seq, gates, h_out, c_out, np.empty((B, 4 * H), dtype=h0.dtype),
               np.empty((B, F + H), dtype=h0.dtype), np.empty_like(h0),
               *tanh_form_scale(4 * H, 2 * H, 3 * H, h0.dtype))


def lstm_backward(start, h0, c0, U, rec_mask, act, rec_act, n_threads, H_seq, C_seq, gates,
                  dH_seq, dh_last, dc_last, dA, dX, dU, dh0, dc0):
    """LSTM backward through one stored window.

    Parameters
    ----------
    start, h0, c0, U, rec_mask, act, rec_act, n_threads
        As given to :func:`lstm_forward`.
    H_seq, C_seq : ndarray of shape (T, B, H)
        States stored by the forward pass.
    gates : ndarray of shape (T, B, 4H)
        Activated gates stored by the forward pass.
    dH_seq : ndarray of shape (T, B, H) or (0, B, H)
        Gradient on every step's output, or empty.
    dh_last, dc_last : ndarray of shape (B, H)
        Gradient on the final hidden and cell state.
    dA : ndarray of shape (T, B, 4H)
        Out: gradient on the input projections.
    dX : ndarray of shape (T, B, F)
        Out: gradient on the forward pass's ``X`` (zero on padded steps).
    dU : ndarray of shape (H, 4H) or (0, 4H)
        Out: gradient on the recurrent kernel (the last ``H`` rows of ``U``);
        not computed when empty (the caller sums it with the input kernel's:
        :func:`fastrnn.utils.linalg.stacked_outer_sum`).
    dh0, dc0 : ndarray of shape (B, H)
        Out: gradient on the initial states.
    """
    B, H = h0.shape
    F = dX.shape[2]
    dh0[...] = dh_last
    dc0[...] = dc_last
    units = H if H < BY_CHUNK_BELOW else 0  # see _backward_kernel
    dhm = np.empty_like(h0)
    dxh = dhm if F == 0 else np.empty((B, F + H), dtype=h0.dtype)  # the step product's output
    run_chunks(_backward_kernel(act, rec_act, units), B, n_threads, start, h0, c0, np.ascontiguousarray(U.T),
               rec_mask, H_seq, C_seq, gates, dH_seq, dA, dX, dh0, dc0, dhm, dxh,
               np.empty((B, 4 * H), dtype=h0.dtype), np.empty_like(h0),
               tanh_form_scale(4 * H, 2 * H, 3 * H, gates.dtype)[0])
    if dU.shape[0]:
        step_outer_sum(h0, H_seq, rec_mask, dA, n_threads, out=dU, product=transposed_matmul)
