"""GRU kernels (Cython), gates packed z, r, h.  Contract and maths: ``fastrnn._reference``."""

import numpy as np

from fastrnn.runtime.chunks import run_chunks
from fastrnn._cython.products import transposed_matmul
from fastrnn.utils.linalg import gru_recurrent_grads
from cython cimport floating
from libc.stdint cimport int64_t

from fastrnn._cython._common cimport (
    activate_grad, activate_inplace, active_end, gemm, prefetch_step_rows, raise_flag)


cdef void _forward_chunk(const floating[:, ::1] table, const int[:, ::1] idx, const int[::1] start,
                         const floating[:, ::1] U, const floating[::1] rb,
                         const floating[:, ::1] rec_mask, int act, int rec_act, bint reset_after,
                         floating[:, :, ::1] H_seq, floating[:, :, ::1] gates,
                         floating[:, :, ::1] aux, floating[:, ::1] h_out, floating[:, ::1] rec,
                         floating[:, ::1] ra, floating[:, ::1] rh, floating[:, ::1] hm,
                         int lo, int hi, int64_t[::1] wake, int64_t wake_to) noexcept nogil:
    cdef int T = idx.shape[0], H = h_out.shape[1], G = 3 * H
    cdef int t, b, k, end, row
    cdef bint store_h = H_seq.shape[0] > 0, store_g = gates.shape[0] > 0
    cdef bint store_a = aux.shape[0] > 0, use_mask = rec_mask.shape[0] > 0
    cdef double z, a
    raise_flag(wake, wake_to)  # start the pool thread of slice 1 (see run_chunks)
    for t in range(T):
        end = active_end(start, lo, hi, t)
        prefetch_step_rows(table, idx, start, t, lo, end)
        for b in range(lo, end):
            for k in range(H):
                hm[b, k] = h_out[b, k] * rec_mask[b, k] if use_mask else h_out[b, k]
        if end > lo:
            # reset_after: all three blocks at once; otherwise only z and r (U[:, :2H]).
            gemm(False, False, end - lo, G if reset_after else 2 * H, H, &hm[lo, 0], H,
                 &U[0, 0], G, &rec[lo, 0], G, False)
        if reset_after:
            for b in range(lo, end):
                if start[b] > t:
                    continue
                row = idx[t, b]
                for k in range(2 * H):
                    rec[b, k] += table[row, k] + rb[k]
                activate_inplace(&rec[b, 0], 2 * H, rec_act)  # z, r
                for k in range(H):
                    a = rec[b, 2 * H + k] + rb[2 * H + k]
                    if store_a:
                        aux[t, b, k] = a
                    rec[b, 2 * H + k] = table[row, 2 * H + k] + rec[b, H + k] * a
                activate_inplace(&rec[b, 2 * H], H, act)  # h~
                for k in range(H):
                    z = rec[b, k]
                    h_out[b, k] = z * h_out[b, k] + (1.0 - z) * rec[b, 2 * H + k]
                if store_g:
                    for k in range(G):
                        gates[t, b, k] = rec[b, k]
        else:
            for b in range(lo, end):
                if start[b] > t:
                    for k in range(H):
                        ra[b, k] = 0.0
                    continue
                row = idx[t, b]
                for k in range(2 * H):
                    rec[b, k] += table[row, k]
                activate_inplace(&rec[b, 0], 2 * H, rec_act)  # z, r
                for k in range(H):
                    ra[b, k] = rec[b, H + k] * hm[b, k]
            if end > lo:
                gemm(False, False, end - lo, H, H, &ra[lo, 0], H, &U[0, 2 * H], G, &rh[lo, 0], H,
                     False)
            for b in range(lo, end):
                if start[b] > t:
                    continue
                row = idx[t, b]
                for k in range(H):
                    rh[b, k] += table[row, 2 * H + k]
                activate_inplace(&rh[b, 0], H, act)  # h~
                for k in range(H):
                    z = rec[b, k]
                    h_out[b, k] = z * h_out[b, k] + (1.0 - z) * rh[b, k]
                    if store_g:
                        gates[t, b, k] = z
                        gates[t, b, H + k] = rec[b, H + k]
                        gates[t, b, 2 * H + k] = rh[b, k]
                    if store_a:
                        aux[t, b, k] = ra[b, k]
        for b in range(lo, hi):
            if start[b] > t:
                for k in range(H):
                    if store_g:
                        gates[t, b, k] = 0.0
                        gates[t, b, H + k] = 0.0
                        gates[t, b, 2 * H + k] = 0.0
                    if store_a:
                        aux[t, b, k] = 0.0
            if store_h:
                for k in range(H):
                    H_seq[t, b, k] = h_out[b, k]


def gru_forward(const floating[:, ::1] table, const int[:, ::1] idx, const int[::1] start,
                const floating[:, ::1] h0, const floating[:, ::1] U, const floating[::1] rb,
                const floating[:, ::1] rec_mask, int act, int rec_act, int reset_after,
                int n_threads, floating[:, :, ::1] H_seq, floating[:, :, ::1] gates,
                floating[:, :, ::1] aux, floating[:, ::1] h_out):
    """GRU forward over one window of timesteps.

    Parameters
    ----------
    table : ndarray of shape (N, 3H)
        Input projections ``x @ W + b`` (input bias), gate blocks ``z, r, h``.
    idx, start, h0, rec_mask, n_threads
        As in :func:`simple_rnn_forward`.
    U : ndarray of shape (H, 3H)
        Recurrent kernel.
    rb : ndarray of shape (3H,)
        Recurrent bias (used only when ``reset_after``; zeros otherwise).
    act, rec_act : int
        Activation codes of the candidate and of the gates.
    reset_after : int
        1 applies the reset gate after the recurrent product (Keras default).
    H_seq : ndarray of shape (T, B, H) or (0, B, H)
        Out: state after every step.
    gates : ndarray of shape (T, B, 3H) or (0, B, 3H)
        Out: activated ``z, r, h~``.
    aux : ndarray of shape (T, B, H) or (0, B, H)
        Out: ``h U_h + rb_h`` (reset_after) or ``r * h`` (otherwise), per step.
    h_out : ndarray of shape (B, H)
        Out: final state.
    """
    cdef int B = h0.shape[0], H = h0.shape[1]
    dtype = np.float32 if floating is float else np.float64
    h_out[:, :] = h0
    cdef floating[:, ::1] rec = np.empty((B, 3 * H), dtype=dtype)
    cdef floating[:, ::1] ra = np.empty((B, H), dtype=dtype)
    cdef floating[:, ::1] rh = np.empty((B, H), dtype=dtype)
    cdef floating[:, ::1] hm = np.empty((B, H), dtype=dtype)

    def chunk(int j, int lo, int hi, int64_t[::1] wake, int64_t wake_to):  # see run_chunks
        with nogil:
            _forward_chunk(table, idx, start, U, rb, rec_mask, act, rec_act, reset_after != 0,
                           H_seq, gates, aux, h_out, rec, ra, rh, hm, lo, hi, wake, wake_to)

    run_chunks(chunk, B, n_threads)


cdef void _backward_chunk(const int[::1] start, const floating[:, ::1] h0,
                          const floating[:, ::1] UT, const floating[:, ::1] UzrT,
                          const floating[:, ::1] UhT, const floating[:, ::1] rec_mask, int act,
                          int rec_act, bint reset_after,
                          const floating[:, :, ::1] H_seq, const floating[:, :, ::1] gates,
                          const floating[:, :, ::1] aux, const floating[:, :, ::1] dH_seq,
                          floating[:, :, ::1] dA, floating[:, ::1] dh, floating[:, ::1] hm,
                          floating[:, ::1] dhm, floating[:, ::1] dhz, floating[:, ::1] dzh,
                          floating[:, ::1] dra, floating[:, ::1] drec, int lo, int hi,
                          int64_t[::1] wake, int64_t wake_to) noexcept nogil:
    cdef int T = H_seq.shape[0], H = h0.shape[1], G = 3 * H
    cdef int t, b, k, end
    cdef bint use_mask = rec_mask.shape[0] > 0, many = dH_seq.shape[0] > 0, active
    cdef double z, r, hh, dhk, dz, dhh, dr, m
    cdef floating prev
    raise_flag(wake, wake_to)  # start the pool thread of slice 1 (see run_chunks)
    for t in range(T - 1, -1, -1):
        end = active_end(start, lo, hi, t)
        for b in range(lo, hi):
            if many:
                for k in range(H):
                    dh[b, k] += dH_seq[t, b, k]
            active = start[b] <= t
            for k in range(H):
                prev = H_seq[t - 1, b, k] if t > 0 else h0[b, k]
                if b < end and not reset_after:  # the reset gate's gradient needs it
                    hm[b, k] = prev * rec_mask[b, k] if use_mask else prev
                if not active:
                    dA[t, b, k] = 0.0
                    dA[t, b, H + k] = 0.0
                    dA[t, b, 2 * H + k] = 0.0
                    if b < end:
                        drec[b, k] = 0.0
                        drec[b, H + k] = 0.0
                        drec[b, 2 * H + k] = 0.0
                        dzh[b, k] = 0.0
                    continue
                z = gates[t, b, k]
                r = gates[t, b, H + k]
                hh = gates[t, b, 2 * H + k]
                dhk = dh[b, k]
                dz = dhk * (prev - hh) * activate_grad(z, rec_act)
                dhh = dhk * (1.0 - z) * activate_grad(hh, act)
                dA[t, b, k] = dz
                dA[t, b, 2 * H + k] = dhh
                dhz[b, k] = dhk * z
                drec[b, k] = dz
                if reset_after:
                    dr = dhh * aux[t, b, k] * activate_grad(r, rec_act)
                    dA[t, b, H + k] = dr
                    drec[b, H + k] = dr
                    drec[b, 2 * H + k] = dhh * r
                else:
                    dzh[b, k] = dhh
        if end == lo:
            continue
        # Products with contiguous transposes of U's blocks (as the Numba kernel): BLAS's small
        # matrix kernel takes untransposed operands only (see gemm in _common.pxd).
        if reset_after:
            gemm(False, False, end - lo, H, G, &drec[lo, 0], G, &UT[0, 0], H, &dhm[lo, 0], H, False)
        else:
            gemm(False, False, end - lo, H, H, &dzh[lo, 0], H, &UhT[0, 0], H, &dra[lo, 0], H,
                 False)
            for b in range(lo, end):
                if start[b] > t:
                    continue
                for k in range(H):
                    r = gates[t, b, H + k]
                    dr = dra[b, k] * hm[b, k] * activate_grad(r, rec_act)
                    dA[t, b, H + k] = dr
                    drec[b, H + k] = dr
            # drec holds [dz, dr, -] here; its first 2H columns feed U[:, :2H].
            gemm(False, False, end - lo, H, 2 * H, &drec[lo, 0], G, &UzrT[0, 0], H, &dhm[lo, 0], H,
                 False)
            for b in range(lo, end):
                for k in range(H):
                    dhm[b, k] += dra[b, k] * gates[t, b, H + k]
        for b in range(lo, end):
            if start[b] <= t:
                for k in range(H):
                    m = rec_mask[b, k] if use_mask else 1.0
                    dh[b, k] = dhz[b, k] + dhm[b, k] * m


def gru_backward(const int[::1] start, const floating[:, ::1] h0, const floating[:, ::1] U,
                 const floating[:, ::1] rec_mask, int act, int rec_act, int reset_after,
                 int n_threads, const floating[:, :, ::1] H_seq, const floating[:, :, ::1] gates,
                 const floating[:, :, ::1] aux, const floating[:, :, ::1] dH_seq,
                 const floating[:, ::1] dh_last, floating[:, :, ::1] dA, floating[:, ::1] dU,
                 floating[::1] drb, floating[:, ::1] dh0):
    """GRU backward through one stored window.

    Parameters
    ----------
    start, h0, U, rec_mask, act, rec_act, reset_after, n_threads
        As given to :func:`gru_forward`.
    H_seq : ndarray of shape (T, B, H)
        States stored by the forward pass.
    gates : ndarray of shape (T, B, 3H)
        Activated ``z, r, h~`` stored by the forward pass.
    aux : ndarray of shape (T, B, H)
        As stored by the forward pass.
    dH_seq : ndarray of shape (T, B, H) or (0, B, H)
        Gradient on every step's output, or empty.
    dh_last : ndarray of shape (B, H)
        Gradient on the final state.
    dA : ndarray of shape (T, B, 3H)
        Out: gradient on the input projections.
    dU : ndarray of shape (H, 3H)
        Out: gradient on the recurrent kernel.
    drb : ndarray of shape (3H,)
        Out: gradient on the recurrent bias (zeros unless ``reset_after``).
    dh0 : ndarray of shape (B, H)
        Out: gradient on the initial state.
    """
    cdef int B = h0.shape[0], H = h0.shape[1]
    dtype = np.float32 if floating is float else np.float64
    dh0[:, :] = dh_last
    cdef floating[:, ::1] hm = np.empty((B, H), dtype=dtype)
    cdef floating[:, ::1] dhm = np.empty((B, H), dtype=dtype)
    cdef floating[:, ::1] dhz = np.empty((B, H), dtype=dtype)
    cdef floating[:, ::1] dzh = np.empty((B, H), dtype=dtype)
    cdef floating[:, ::1] dra = np.empty((B, H), dtype=dtype)
    cdef floating[:, ::1] drec = np.empty((B, 3 * H), dtype=dtype)
    U_ = np.asarray(U)
    # reset_after: one product with all of U.T; otherwise one per block of U.T
    empty = np.empty((0, 0), dtype=dtype)
    cdef const floating[:, ::1] UT = np.ascontiguousarray(U_.T) if reset_after else empty
    cdef const floating[:, ::1] UzrT = empty if reset_after else np.ascontiguousarray(U_[:, :2 * H].T)
    cdef const floating[:, ::1] UhT = empty if reset_after else np.ascontiguousarray(U_[:, 2 * H:].T)

    def chunk(int j, int lo, int hi, int64_t[::1] wake, int64_t wake_to):  # see run_chunks
        with nogil:
            _backward_chunk(start, h0, UT, UzrT, UhT, rec_mask, act, rec_act, reset_after != 0, H_seq,
                            gates, aux, dH_seq, dA, dh0, hm, dhm, dhz, dzh, dra, drec, lo, hi, wake,
                            wake_to)

    run_chunks(chunk, B, n_threads)
    # The recurrent kernel's and bias's gradients: products over all steps after the loop.
    gru_recurrent_grads(np.asarray(h0), np.asarray(H_seq), np.asarray(rec_mask), np.asarray(gates),
                        np.asarray(aux), np.asarray(dA), reset_after, n_threads, np.asarray(dU),
                        np.asarray(drb), transposed_matmul)
