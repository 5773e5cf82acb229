"""SimpleRNN kernels (Cython).  Contract and maths: ``fastrnn._reference``."""

import numpy as np

from fastrnn.runtime.chunks import run_chunks
from fastrnn._cython.products import transposed_matmul
from fastrnn.utils.linalg import step_outer_sum
from cython cimport floating
from libc.stdint cimport int64_t

from fastrnn._cython._common cimport (
    activate_grad, activate_inplace, active_end, gemm, prefetch_step_rows, raise_flag,
    recurrent_backward_step)


cdef void _forward_chunk(const floating[:, ::1] table, const int[:, ::1] idx, const int[::1] start,
                         const floating[:, ::1] U, const floating[:, ::1] rec_mask, int act,
                         floating[:, :, ::1] H_seq, floating[:, ::1] h_out,
                         floating[:, ::1] z, floating[:, ::1] hm, int lo, int hi,
                         int64_t[::1] wake, int64_t wake_to) noexcept nogil:
    cdef int T = idx.shape[0], H = h_out.shape[1]
    cdef int t, b, k, end, row
    cdef bint store = H_seq.shape[0] > 0, use_mask = rec_mask.shape[0] > 0
    raise_flag(wake, wake_to)  # start the pool thread of slice 1 (see run_chunks)
    for t in range(T):
        end = active_end(start, lo, hi, t)
        prefetch_step_rows(table, idx, start, t, lo, end)
        if end > lo:
            for b in range(lo, end):
                for k in range(H):
                    hm[b, k] = h_out[b, k] * rec_mask[b, k] if use_mask else h_out[b, k]
            gemm(False, False, end - lo, H, H, &hm[lo, 0], H, &U[0, 0], H, &z[lo, 0], H, False)
            for b in range(lo, end):
                if start[b] <= t:
                    row = idx[t, b]
                    for k in range(H):
                        z[b, k] += table[row, k]
                    activate_inplace(&z[b, 0], H, act)
                    for k in range(H):
                        h_out[b, k] = z[b, k]
        if store:
            for b in range(lo, hi):
                for k in range(H):
                    H_seq[t, b, k] = h_out[b, k]


def simple_rnn_forward(const floating[:, ::1] table, const int[:, ::1] idx, const int[::1] start,
                       const floating[:, ::1] h0, const floating[:, ::1] U,
                       const floating[:, ::1] rec_mask, int act, int n_threads,
                       floating[:, :, ::1] H_seq, floating[:, ::1] h_out):
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
    cdef int B = h0.shape[0], H = h0.shape[1]
    dtype = np.float32 if floating is float else np.float64
    h_out[:, :] = h0
    cdef floating[:, ::1] z = np.empty((B, H), dtype=dtype)
    cdef floating[:, ::1] hm = np.empty((B, H), dtype=dtype)

    def chunk(int j, int lo, int hi, int64_t[::1] wake, int64_t wake_to):  # see run_chunks
        with nogil:
            _forward_chunk(table, idx, start, U, rec_mask, act, H_seq, h_out, z, hm, lo, hi, wake,
                           wake_to)

    run_chunks(chunk, B, n_threads)


cdef void _backward_chunk(const int[::1] start, const floating[:, ::1] h0, const floating[:, ::1] UT,
                          const floating[:, ::1] rec_mask, int act, const floating[:, :, ::1] H_seq,
                          const floating[:, :, ::1] dH_seq, floating[:, :, ::1] dA,
                          floating[:, ::1] dh, floating[:, ::1] dhm, int lo, int hi,
                          int64_t[::1] wake, int64_t wake_to) noexcept nogil:
    cdef int T = H_seq.shape[0], H = h0.shape[1]
    cdef int t, b, k, end
    cdef bint many = dH_seq.shape[0] > 0
    raise_flag(wake, wake_to)  # start the pool thread of slice 1 (see run_chunks)
    for t in range(T - 1, -1, -1):
        for b in range(lo, hi):
            for k in range(H):
                if many:
                    dh[b, k] += dH_seq[t, b, k]
                if start[b] <= t:
                    dA[t, b, k] = dh[b, k] * activate_grad(H_seq[t, b, k], act)
                else:
                    dA[t, b, k] = 0.0
        end = active_end(start, lo, hi, t)
        if end == lo:
            continue
        recurrent_backward_step(start, UT, rec_mask, dA, dh, dhm, t, lo, end)


def simple_rnn_backward(const int[::1] start, const floating[:, ::1] h0, const floating[:, ::1] U,
                        const floating[:, ::1] rec_mask, int act, int n_threads,
                        const floating[:, :, ::1] H_seq, const floating[:, :, ::1] dH_seq,
                        const floating[:, ::1] dh_last, floating[:, :, ::1] dA,
                        floating[:, ::1] dU, floating[:, ::1] dh0):
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
    cdef int B = h0.shape[0], H = h0.shape[1]
    dtype = np.float32 if floating is float else np.float64
    dh0[:, :] = dh_last
    cdef floating[:, ::1] dhm = np.empty((B, H), dtype=dtype)
    cdef const floating[:, ::1] UT = np.ascontiguousarray(np.asarray(U).T)

    def chunk(int j, int lo, int hi, int64_t[::1] wake, int64_t wake_to):  # see run_chunks
        with nogil:
            _backward_chunk(start, h0, UT, rec_mask, act, H_seq, dH_seq, dA, dh0, dhm, lo, hi, wake,
                            wake_to)

    run_chunks(chunk, B, n_threads)
    step_outer_sum(np.asarray(h0), np.asarray(H_seq), np.asarray(rec_mask), np.asarray(dA),
                   n_threads, out=np.asarray(dU), product=transposed_matmul)
