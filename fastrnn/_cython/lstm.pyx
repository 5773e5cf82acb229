"""LSTM kernels (Cython), gates packed i, f, c, o.  Contract and maths: ``fastrnn._reference``."""

import numpy as np

from fastrnn.runtime.chunks import run_chunks
from fastrnn._cython.products import transposed_matmul
from fastrnn.utils.linalg import step_outer_sum
from cython cimport floating
from libc.stdint cimport int64_t

from fastrnn._cython._constants cimport BY_CHUNK_BELOW
from fastrnn._cython._common cimport (
    activate_grad_into, activate_inplace, active_end, gemm, input_recurrent_backward_step,
    prefetch_step_rows, raise_flag, tanh_rational32)


cdef void _forward_chunk(const floating[:, ::1] table, const int[:, ::1] idx,
                         const floating[:, :, ::1] X, const int[::1] start,
                         const floating[:, ::1] U, const floating[:, ::1] rec_mask, int act,
                         int rec_act, floating[:, :, ::1] H_seq, floating[:, :, ::1] C_seq,
                         floating[:, :, ::1] gates, floating[:, ::1] h_out, floating[:, ::1] c_out,
                         floating[:, ::1] z, floating[:, ::1] xh, floating[:, ::1] tcs,
                         const float[::1] scale, const float[::1] offset, int lo, int hi,
                         int64_t[::1] wake, int64_t wake_to) noexcept nogil:
    cdef int T = idx.shape[0], H = h_out.shape[1], G = 4 * H, F = X.shape[2]
    cdef int t, b, k, end
    cdef bint store_h = H_seq.shape[0] > 0, store_c = C_seq.shape[0] > 0
    cdef bint store_g = gates.shape[0] > 0, use_mask = rec_mask.shape[0] > 0
    # below BY_CHUNK_BELOW units act(c) runs in one loop over all of a chunk's active rows
    cdef bint by_chunk = H < BY_CHUNK_BELOW
    raise_flag(wake, wake_to)  # start the pool thread of slice 1 (see run_chunks)
    # float32 tanh/sigmoid: all four gates in one loop of the one-tanh form (see the Numba
    # kernels' tanh_form_scale); the same float32 bits as the per-gate loops
    cdef bint one_tanh = floating is float and act == 0 and rec_act == 1
    cdef floating* zb
    cdef const floating* xb
    cdef floating* cb
    cdef floating* tc
    cdef floating* zfg
    cdef floating* zcg
    cdef float* zf
    cdef const float* xf
    for t in range(T):
        end = active_end(start, lo, hi, t)
        prefetch_step_rows(table, idx, start, t, lo, end)
        if end > lo:
            # z = [x_t, h * mask] @ U: U stacks the input kernel over the recurrent one (F = 0:
            # no input, the table holds its projection)
            for b in range(lo, end):
                for k in range(F):
                    xh[b, k] = X[t, b, k]
                for k in range(H):
                    xh[b, F + k] = h_out[b, k] * rec_mask[b, k] if use_mask else h_out[b, k]
            gemm(False, False, end - lo, G, F + H, &xh[lo, 0], F + H, &U[0, 0], G, &z[lo, 0], G, False)
        for b in range(lo, hi):
            if start[b] > t:
                if store_g:
                    for k in range(G):
                        gates[t, b, k] = 0.0
                continue
            zb = &z[b, 0]
            xb = &table[idx[t, b], 0]
            if floating is float:
                if one_tanh:
                    zf = <float*>zb
                    xf = <const float*>xb
                    for k in range(G):
                        zf[k] = offset[k] + scale[k] * tanh_rational32(scale[k] * (zf[k] + xf[k]))
            if not one_tanh:
                for k in range(G):
                    zb[k] += xb[k]
                activate_inplace(zb, 2 * H, rec_act)  # i, f
                activate_inplace(zb + 2 * H, H, act)  # c~
                activate_inplace(zb + 3 * H, H, rec_act)  # o
            cb = &c_out[b, 0]
            # a pointer per gate: indexed zb[H + k], this loop ran scalar under Python's -fwrapv
            zfg = zb + H
            zcg = zb + 2 * H
            for k in range(H):
                cb[k] = zfg[k] * cb[k] + zb[k] * zcg[k]
            if by_chunk:
                continue  # act(c) and h below, for all the chunk's rows at once
            tc = &tcs[b, 0]  # scratch: act(c)
            for k in range(H):
                tc[k] = cb[k]
            activate_inplace(tc, H, act)
            _output_row(zb, tc, &h_out[b, 0], gates, t, b, H, store_g)
        if by_chunk and end > lo:
            for k in range((end - lo) * H):
                (&tcs[lo, 0])[k] = (&c_out[lo, 0])[k]
            activate_inplace(&tcs[lo, 0], (end - lo) * H, act)
            for b in range(lo, end):
                if start[b] <= t:
                    _output_row(&z[b, 0], &tcs[b, 0], &h_out[b, 0], gates, t, b, H, store_g)
        for b in range(lo, hi):
            for k in range(H):
                if store_h:
                    H_seq[t, b, k] = h_out[b, k]
                if store_c:
                    C_seq[t, b, k] = c_out[b, k]


cdef inline void _output_row(const floating* zb, const floating* tc, floating* hb,
                             floating[:, :, ::1] gates, int t, int b, int H,
                             bint store_g) noexcept nogil:
    # h = o * act(c) for one row; its activated gates stored when store_g
    cdef int k
    for k in range(H):
        hb[k] = zb[3 * H + k] * tc[k]
    if store_g:
        for k in range(4 * H):
            gates[t, b, k] = zb[k]


def lstm_forward(const floating[:, ::1] table, const int[:, ::1] idx, const floating[:, :, ::1] X,
                 const int[::1] start,
                 const floating[:, ::1] h0, const floating[:, ::1] c0, const floating[:, ::1] U,
                 const floating[:, ::1] rec_mask, int act, int rec_act, int n_threads,
                 floating[:, :, ::1] H_seq, floating[:, :, ::1] C_seq, floating[:, :, ::1] gates,
                 floating[:, ::1] h_out, floating[:, ::1] c_out):
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
    cdef int B = h0.shape[0], H = h0.shape[1]
    dtype = np.float32 if floating is float else np.float64
    h_out[:, :] = h0
    c_out[:, :] = c0
    cdef floating[:, ::1] z = np.empty((B, 4 * H), dtype=dtype)
    cdef floating[:, ::1] xh = np.empty((B, X.shape[2] + H), dtype=dtype)
    cdef floating[:, ::1] tcs = np.empty((B, H), dtype=dtype)
    # the one-tanh form's gate = offset + scale * tanh(scale * x): scale 1 on c~, 0.5 elsewhere
    scales = np.full(4 * H, 0.5, np.float32)
    scales[2 * H:3 * H] = 1.0
    cdef const float[::1] scale = scales
    cdef const float[::1] offset = 1.0 - scales

    def chunk(int j, int lo, int hi, int64_t[::1] wake, int64_t wake_to):  # see run_chunks
        with nogil:
            _forward_chunk(table, idx, X, start, U, rec_mask, act, rec_act, H_seq, C_seq, gates,
                           h_out, c_out, z, xh, tcs, scale, offset, lo, hi, wake, wake_to)

    run_chunks(chunk, B, n_threads)


cdef void _backward_chunk(const int[::1] start, const floating[:, ::1] h0,
                          const floating[:, ::1] c0, const floating[:, ::1] UT,
                          const floating[:, ::1] rec_mask, int act, int rec_act,
                          const floating[:, :, ::1] H_seq, const floating[:, :, ::1] C_seq,
                          const floating[:, :, ::1] gates, const floating[:, :, ::1] dH_seq,
                          floating[:, :, ::1] dA, floating[:, :, ::1] dX, floating[:, ::1] dh,
                          floating[:, ::1] dc, floating[:, ::1] dhm, floating[:, ::1] dxh,
                          floating[:, ::1] deriv, int lo, int hi, int64_t[::1] wake,
                          int64_t wake_to) noexcept nogil:
    cdef int T = H_seq.shape[0], H = h0.shape[1], G = 4 * H, F = dX.shape[2]
    cdef int t, b, k, end
    cdef bint many = dH_seq.shape[0] > 0
    cdef floating dct, dhk
    cdef const floating* gb
    cdef const floating* c_prev
    cdef const floating* tc
    cdef floating* da
    cdef floating* d
    raise_flag(wake, wake_to)  # start the pool thread of slice 1 (see run_chunks)
    for t in range(T - 1, -1, -1):
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
            for k in range(H):
                dhm[b, k] = C_seq[t, b, k]  # scratch: act(c_t) in one vectorisable pass
            activate_inplace(&dhm[b, 0], H, act)
            # Activation derivatives first, one loop per gate block, so that the loop below
            # has no branch and vectorises.
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
        input_recurrent_backward_step(start, UT, rec_mask, dA, dX, dh, dxh, t, lo, end)


def lstm_backward(const int[::1] start, const floating[:, ::1] h0, const floating[:, ::1] c0,
                  const floating[:, ::1] U, const floating[:, ::1] rec_mask, int act, int rec_act,
                  int n_threads, const floating[:, :, ::1] H_seq, const floating[:, :, ::1] C_seq,
                  const floating[:, :, ::1] gates, const floating[:, :, ::1] dH_seq,
                  const floating[:, ::1] dh_last, const floating[:, ::1] dc_last,
                  floating[:, :, ::1] dA, floating[:, :, ::1] dX, floating[:, ::1] dU,
                  floating[:, ::1] dh0, floating[:, ::1] dc0):
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
    cdef int B = h0.shape[0], H = h0.shape[1]
    dtype = np.float32 if floating is float else np.float64
    dh0[:, :] = dh_last
    dc0[:, :] = dc_last
    cdef floating[:, ::1] dhm = np.empty((B, H), dtype=dtype)
    # the step product's output [dx_t, d(h * mask)]; without input, dhm (its act(c) is used up)
    cdef floating[:, ::1] dxh = dhm
    if dX.shape[2] > 0:
        dxh = np.empty((B, dX.shape[2] + H), dtype=dtype)
    cdef const floating[:, ::1] UT = np.ascontiguousarray(np.asarray(U).T)
    cdef floating[:, ::1] deriv = np.empty((B, 5 * H), dtype=dtype)

    def chunk(int j, int lo, int hi, int64_t[::1] wake, int64_t wake_to):  # see run_chunks
        with nogil:
            _backward_chunk(start, h0, c0, UT, rec_mask, act, rec_act, H_seq, C_seq, gates, dH_seq,
                            dA, dX, dh0, dc0, dhm, dxh, deriv, lo, hi, wake, wake_to)

    run_chunks(chunk, B, n_threads)
    if dU.shape[0]:
        step_outer_sum(np.asarray(h0), np.asarray(H_seq), np.asarray(rec_mask), np.asarray(dA),
                       n_threads, out=np.asarray(dU), product=transposed_matmul)
