"""SimpleRNN kernels (Numba).  Contract and maths: ``fastrnn._reference``."""

import numpy as np
from numba import prange

from ._activations import activate, activate_grad, active_end, chunk_bounds, jit_parallel, jit_serial


def _forward(table, idx, start, h0, U, rec_mask, act, n_threads, H_seq, h_out):
    T = idx.shape[0]
    B, H = h0.shape
    store = H_seq.shape[0] > 0
    use_mask = rec_mask.shape[0] > 0
    h_out[:, :] = h0
    z = np.empty_like(h0)
    hm = np.empty_like(h0)
    n_chunks = max(1, min(n_threads, B))
    for j in prange(n_chunks):
        lo, hi = chunk_bounds(B, n_chunks, j)
        for t in range(T):
            end = active_end(start, lo, hi, t)
            if end > lo:
                if use_mask:
                    for b in range(lo, end):
                        for k in range(H):
                            hm[b, k] = h_out[b, k] * rec_mask[b, k]
                    np.dot(hm[lo:end], U, z[lo:end])
                else:
                    np.dot(h_out[lo:end], U, z[lo:end])
                for b in range(lo, end):
                    if start[b] <= t:
                        row = idx[t, b]
                        for k in range(H):
                            h_out[b, k] = activate(z[b, k] + table[row, k], act)
            if store:
                for b in range(lo, hi):
                    for k in range(H):
                        H_seq[t, b, k] = h_out[b, k]


def _backward(start, h0, U, rec_mask, act, n_threads, H_seq, dH_seq, dh_last, dA, dU, dh0):
    T = H_seq.shape[0]
    B, H = h0.shape
    use_mask = rec_mask.shape[0] > 0
    many = dH_seq.shape[0] > 0
    n_chunks = max(1, min(n_threads, B))
    UT = np.ascontiguousarray(U.T)
    dh0[:, :] = dh_last
    dhm = np.empty_like(h0)
    hm = np.empty_like(h0)
    dU_part = np.zeros((n_chunks, H, H), dtype=U.dtype)
    tmp = np.empty((n_chunks, H, H), dtype=U.dtype)
    for j in prange(n_chunks):
        lo, hi = chunk_bounds(B, n_chunks, j)
        for t in range(T - 1, -1, -1):
            for b in range(lo, hi):
                active = start[b] <= t
                for k in range(H):
                    if many:
                        dh0[b, k] += dH_seq[t, b, k]
                    if active:
                        dA[t, b, k] = dh0[b, k] * activate_grad(H_seq[t, b, k], act)
                    else:
                        dA[t, b, k] = 0.0
            end = active_end(start, lo, hi, t)
            if end == lo:
                continue
            for b in range(lo, end):
                for k in range(H):
                    prev = H_seq[t - 1, b, k] if t > 0 else h0[b, k]
                    hm[b, k] = prev * rec_mask[b, k] if use_mask else prev
            np.dot(hm[lo:end].T, dA[t, lo:end], tmp[j])
            dU_part[j] += tmp[j]
            np.dot(dA[t, lo:end], UT, dhm[lo:end])
            for b in range(lo, end):
                if start[b] <= t:
                    for k in range(H):
                        dh0[b, k] = dhm[b, k] * rec_mask[b, k] if use_mask else dhm[b, k]
    dU[:, :] = 0.0
    for j in range(n_chunks):
        dU += dU_part[j]


_forward_serial = jit_serial(_forward)
_forward_parallel = jit_parallel(_forward)
_backward_serial = jit_serial(_backward)
_backward_parallel = jit_parallel(_backward)


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
    kernel = _forward_parallel if n_threads > 1 else _forward_serial
    kernel(table, idx, start, h0, U, rec_mask, act, n_threads, H_seq, h_out)


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
    kernel = _backward_parallel if n_threads > 1 else _backward_serial
    kernel(start, h0, U, rec_mask, act, n_threads, H_seq, dH_seq, dh_last, dA, dU, dh0)
