"""LSTM kernels (Cython), gates packed i, f, c, o.  Contract and maths: ``fastrnn._reference``."""

import numpy as np

from fastrnn._config import FLUSH_DENORMALS
from fastrnn.utils.linalg import step_outer_sum
from cython cimport floating
from cython.parallel cimport prange

from fastrnn._cython._common cimport (
    activate_grad_into, activate_inplace, active_end, chunk_lo, flush_denormals, gemm,
    recurrent_backward_step, restore_csr)


# FASTRNN_FLUSH_DENORMALS=0 keeps denormals (see fastrnn._config)
cdef bint _FLUSH = FLUSH_DENORMALS

cdef void _forward_chunk(const floating[:, ::1] table, const int[:, ::1] idx, const int[::1] start,
                         const floating[:, ::1] U, const floating[:, ::1] rec_mask, int act,
                         int rec_act, floating[:, :, ::1] H_seq, floating[:, :, ::1] C_seq,
                         floating[:, :, ::1] gates, floating[:, ::1] h_out, floating[:, ::1] c_out,
                         floating[:, ::1] z, floating[:, ::1] hm, int lo, int hi) noexcept nogil:
    cdef int T = idx.shape[0], H = h_out.shape[1]
    cdef int t, b, k, end, row
    cdef bint store_h = H_seq.shape[0] > 0, store_c = C_seq.shape[0] > 0
    cdef bint store_g = gates.shape[0] > 0, use_mask = rec_mask.shape[0] > 0
    for t in range(T):
        end = active_end(start, lo, hi, t)
        if end > lo:
            for b in range(lo, end):
                for k in range(H):
                    hm[b, k] = h_out[b, k] * rec_mask[b, k] if use_mask else h_out[b, k]
            gemm(False, False, end - lo, 4 * H, H, &hm[lo, 0], H, &U[0, 0], 4 * H, &z[lo, 0],
                 4 * H, False)
        for b in range(lo, hi):
            if start[b] > t:
                if store_g:
                    for k in range(4 * H):
                        gates[t, b, k] = 0.0
                continue
            row = idx[t, b]
            for k in range(4 * H):
                z[b, k] += table[row, k]
            activate_inplace(&z[b, 0], 2 * H, rec_act)  # i, f
            activate_inplace(&z[b, 2 * H], H, act)  # c~
            activate_inplace(&z[b, 3 * H], H, rec_act)  # o
            for k in range(H):
                c_out[b, k] = z[b, H + k] * c_out[b, k] + z[b, k] * z[b, 2 * H + k]
                hm[b, k] = c_out[b, k]  # scratch: act(c)
            activate_inplace(&hm[b, 0], H, act)
            for k in range(H):
                h_out[b, k] = z[b, 3 * H + k] * hm[b, k]
            if store_g:
                for k in range(4 * H):
                    gates[t, b, k] = z[b, k]
        for b in range(lo, hi):
            for k in range(H):
                if store_h:
                    H_seq[t, b, k] = h_out[b, k]
                if store_c:
                    C_seq[t, b, k] = c_out[b, k]


def lstm_forward(const floating[:, ::1] table, const int[:, ::1] idx, const int[::1] start,
                 const floating[:, ::1] h0, const floating[:, ::1] c0, const floating[:, ::1] U,
                 const floating[:, ::1] rec_mask, int act, int rec_act, int n_threads,
                 floating[:, :, ::1] H_seq, floating[:, :, ::1] C_seq, floating[:, :, ::1] gates,
                 floating[:, ::1] h_out, floating[:, ::1] c_out):
    """LSTM forward over one window of timesteps.

    Parameters
    ----------
    table : ndarray of shape (N, 4H)
        Input projections ``x @ W + b``, gate blocks ``i, f, c, o``.
    idx, start, h0, rec_mask, n_threads
        As in :func:`simple_rnn_forward`.
    c0 : ndarray of shape (B, H)
        Initial cell state.
    U : ndarray of shape (H, 4H)
        Recurrent kernel.
    act, rec_act : int
        Activation codes of the candidate/cell output and of the gates.
    H_seq, C_seq : ndarray of shape (T, B, H) or (0, B, H)
        Out: hidden and cell state after every step (stored when ``T`` long).
    gates : ndarray of shape (T, B, 4H) or (0, B, 4H)
        Out: activated gates ``i, f, c~, o`` (stored when ``T`` long).
    h_out, c_out : ndarray of shape (B, H)
        Out: final hidden and cell state.
    """
    cdef int B = h0.shape[0], H = h0.shape[1]
    cdef int n_chunks = max(1, min(n_threads, B)), j, lo, hi
    cdef unsigned int csr
    dtype = np.float32 if floating is float else np.float64
    h_out[:, :] = h0
    c_out[:, :] = c0
    cdef floating[:, ::1] z = np.empty((B, 4 * H), dtype=dtype)
    cdef floating[:, ::1] hm = np.empty((B, H), dtype=dtype)
    for j in prange(n_chunks, nogil=True, schedule="static", num_threads=n_chunks):
        lo = chunk_lo(B, n_chunks, j)
        hi = chunk_lo(B, n_chunks, j + 1)
        csr = flush_denormals(_FLUSH)
        _forward_chunk(table, idx, start, U, rec_mask, act, rec_act, H_seq, C_seq, gates,
                       h_out, c_out, z, hm, lo, hi)
        restore_csr(csr)


cdef void _backward_chunk(const int[::1] start, const floating[:, ::1] h0,
                          const floating[:, ::1] c0, const floating[:, ::1] UT,
                          const floating[:, ::1] rec_mask, int act, int rec_act,
                          const floating[:, :, ::1] H_seq, const floating[:, :, ::1] C_seq,
                          const floating[:, :, ::1] gates, const floating[:, :, ::1] dH_seq,
                          floating[:, :, ::1] dA, floating[:, ::1] dh, floating[:, ::1] dc,
                          floating[:, ::1] dhm, double[:, ::1] deriv, int lo, int hi) noexcept nogil:
    cdef int T = H_seq.shape[0], H = h0.shape[1], G = 4 * H
    cdef int t, b, k, end
    cdef bint many = dH_seq.shape[0] > 0
    cdef double dct, dhk
    cdef const floating* gb
    cdef const floating* c_prev
    cdef const floating* tc
    cdef floating* da
    cdef double* d
    for t in range(T - 1, -1, -1):
        for b in range(lo, hi):
            if many:
                for k in range(H):
                    dh[b, k] += dH_seq[t, b, k]
            if start[b] > t:
                for k in range(G):
                    dA[t, b, k] = 0.0
                continue
            for k in range(H):
                dhm[b, k] = C_seq[t, b, k]  # scratch: act(c_t) in one vectorisable pass
            activate_inplace(&dhm[b, 0], H, act)
            # Activation derivatives first, one loop per gate block (float64, as the Numba
            # kernel), so that the loop below has no branch and vectorises.
            gb = &gates[t, b, 0]
            d = &deriv[b, 0]
            tc = &dhm[b, 0]
            activate_grad_into(gb, d, 2 * H, rec_act)  # i, f
            activate_grad_into(gb + 2 * H, d + 2 * H, H, act)  # c~
            activate_grad_into(gb + 3 * H, d + 3 * H, H, rec_act)  # o
            activate_grad_into(tc, d + G, H, act)  # act(c_t)
            c_prev = &C_seq[t - 1, b, 0] if t > 0 else &c0[b, 0]
            da = &dA[t, b, 0]
            for k in range(H):
                dhk = dh[b, k]
                dct = dc[b, k] + dhk * gb[3 * H + k] * d[G + k]
                da[k] = dct * gb[2 * H + k] * d[k]
                da[H + k] = dct * c_prev[k] * d[H + k]
                da[2 * H + k] = dct * gb[k] * d[2 * H + k]
                da[3 * H + k] = dhk * tc[k] * d[3 * H + k]
                dc[b, k] = dct * gb[H + k]
        end = active_end(start, lo, hi, t)
        if end == lo:
            continue
        recurrent_backward_step(start, UT, rec_mask, dA, dh, dhm, t, lo, end)


def lstm_backward(const int[::1] start, const floating[:, ::1] h0, const floating[:, ::1] c0,
                  const floating[:, ::1] U, const floating[:, ::1] rec_mask, int act, int rec_act,
                  int n_threads, const floating[:, :, ::1] H_seq, const floating[:, :, ::1] C_seq,
                  const floating[:, :, ::1] gates, const floating[:, :, ::1] dH_seq,
                  const floating[:, ::1] dh_last, const floating[:, ::1] dc_last,
                  floating[:, :, ::1] dA, floating[:, ::1] dU, floating[:, ::1] dh0,
                  floating[:, ::1] dc0):
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
    dU : ndarray of shape (H, 4H)
        Out: gradient on the recurrent kernel.
    dh0, dc0 : ndarray of shape (B, H)
        Out: gradient on the initial states.
    """
    cdef int B = h0.shape[0], H = h0.shape[1]
    cdef int n_chunks = max(1, min(n_threads, B)), j, lo, hi
    cdef unsigned int csr
    dtype = np.float32 if floating is float else np.float64
    dh0[:, :] = dh_last
    dc0[:, :] = dc_last
    cdef floating[:, ::1] dhm = np.empty((B, H), dtype=dtype)
    cdef const floating[:, ::1] UT = np.ascontiguousarray(np.asarray(U).T)
    cdef double[:, ::1] deriv = np.empty((B, 5 * H))
    for j in prange(n_chunks, nogil=True, schedule="static", num_threads=n_chunks):
        lo = chunk_lo(B, n_chunks, j)
        hi = chunk_lo(B, n_chunks, j + 1)
        csr = flush_denormals(_FLUSH)
        _backward_chunk(start, h0, c0, UT, rec_mask, act, rec_act, H_seq, C_seq, gates, dH_seq,
                        dA, dh0, dc0, dhm, deriv, lo, hi)
        restore_csr(csr)
    step_outer_sum(np.asarray(h0), np.asarray(H_seq), np.asarray(rec_mask), np.asarray(dA),
                   n_threads, out=np.asarray(dU))
