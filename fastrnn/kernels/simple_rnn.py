"""SimpleRNN kernels (Numba).  Contract and maths: ``fastrnn._reference``."""

import numpy as np

from ..runtime.chunks import run_chunks
from ..utils.linalg import step_outer_sum
from .products import transposed_matmul
from ._activations import activate_grad_into, activate_inplace
from ._compile import jit_chunk, per_activation, wide_vectors
from ._steps import active_end, prefetch_step_rows, recurrent_backward_step, recurrent_forward_step
from ._sync import raise_flag


@per_activation
def _forward_kernel(act):
    """The forward chunk kernel for the activation code ``act`` (:func:`per_activation`)."""

    @jit_chunk
    def forward_rows(table, idx, start, U, rec_mask, H_seq, h_out, z, hm, j, lo, hi, wake, wake_to):
        wide_vectors()
        raise_flag(wake, wake_to)  # start the pool thread of slice 1 (see run_chunks)
        T = idx.shape[0]
        H = h_out.shape[1]
        store = H_seq.shape[0] > 0
        for t in range(T):
            end = active_end(start, lo, hi, t)
            prefetch_step_rows(table, idx, start, t, lo, end)
            if end > lo:
                recurrent_forward_step(U, rec_mask, h_out, hm, z, lo, end)
                for b in range(lo, end):
                    if start[b] <= t:
                        zb = z[b]
                        xb = table[idx[t, b]]
                        for k in range(H):
                            zb[k] += xb[k]
                        activate_inplace(zb, act)
                        for k in range(H):
                            h_out[b, k] = zb[k]
            if store:
                for b in range(lo, hi):
                    for k in range(H):
                        H_seq[t, b, k] = h_out[b, k]

    return forward_rows


@per_activation
def _backward_kernel(act):
    """The backward chunk kernel for the activation code ``act`` (:func:`per_activation`)."""

    @jit_chunk
    def backward_rows(start, UT, rec_mask, H_seq, dH_seq, dA, dh, dhm, deriv, j, lo, hi, wake, wake_to):
        wide_vectors()
        raise_flag(wake, wake_to)  # start the pool thread of slice 1 (see run_chunks)
        T = H_seq.shape[0]
        H = dh.shape[1]
        many = dH_seq.shape[0] > 0
        for t in range(T - 1, -1, -1):
            for b in range(lo, hi):
                dhb = dh[b]
                if many:
                    for k in range(H):
                        dhb[k] += dH_seq[t, b, k]
                da = dA[t, b]
                if start[b] > t:
                    for k in range(H):
                        da[k] = 0.0
                    continue
                d = deriv[b]
                activate_grad_into(H_seq[t, b], d, act)
                for k in range(H):
                    da[k] = dhb[k] * d[k]
            end = active_end(start, lo, hi, t)
            if end == lo:
                continue
            recurrent_backward_step(start, UT, rec_mask, dA, dh, dhm, t, lo, end)

    return backward_rows


def simple_rnn_forward(table, idx, start, h0, U, rec_mask, act, n_threads, H_seq, h_out):
    """SimpleRNN forward over one window of timesteps.

    Parameters
    ----------
    table : ndarray of shape (N, H)
        Input projections ``x @ W + b``.
    idx : ndarray of shape (T, B), int32
        Row of ``table`` for each step and sequence.
    start : ndarray of shape (B,), int32
        First real step of each sequence.
    h0 : ndarray of shape (B, H)
        Initial state.
    U : ndarray of shape (H, H)
        Recurrent kernel.
    rec_mask : ndarray of shape (B, H) or (0, H)
        Recurrent dropout mask, or empty for none.
    act : int
        Activation code.
    n_threads : int
        Number of batch slices run in parallel (results depend on it only
        through floating-point summation order).
    H_seq : ndarray of shape (T, B, H) or (0, B, H)
        Out: the state after every step (stored when ``T`` long).
    h_out : ndarray of shape (B, H)
        Out: the state after the last step.
    """
    h_out[...] = h0
    run_chunks(_forward_kernel(act), h0.shape[0], n_threads, table, idx, start, U, rec_mask, H_seq,
               h_out, np.empty_like(h0), np.empty_like(h0))


def simple_rnn_backward(start, h0, U, rec_mask, act, n_threads, H_seq, dH_seq, dh_last, dA, dU, dh0):
    """SimpleRNN backward through one stored window.

    Parameters
    ----------
    start, h0, U, rec_mask, act, n_threads
        As given to :func:`simple_rnn_forward`.
    H_seq : ndarray of shape (T, B, H)
        States stored by the forward pass.
    dH_seq : ndarray of shape (T, B, H) or (0, B, H)
        Gradient on every step's output (many-to-many), or empty.
    dh_last : ndarray of shape (B, H)
        Gradient on the final state (from the loss and/or a later window).
    dA : ndarray of shape (T, B, H)
        Out: gradient on the input projections (zero on padded steps).
    dU : ndarray of shape (H, H)
        Out: gradient on the recurrent kernel.
    dh0 : ndarray of shape (B, H)
        Out: gradient on the initial state.
    """
    B, H = h0.shape
    dh0[...] = dh_last
    run_chunks(_backward_kernel(act), B, n_threads, start, np.ascontiguousarray(U.T), rec_mask, H_seq,
               dH_seq, dA, dh0, np.empty_like(h0), np.empty_like(h0))
    step_outer_sum(h0, H_seq, rec_mask, dA, n_threads, out=dU, product=transposed_matmul)
