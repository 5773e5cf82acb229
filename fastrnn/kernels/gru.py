"""GRU kernels (Numba), gates packed z, r, h.  Contract and maths: ``fastrnn._reference``."""

import numpy as np

from ..runtime.chunks import run_chunks
from ..utils.linalg import gru_recurrent_grads
from .products import transposed_matmul
from ._activations import activate_grad_into, activate_inplace
from ._blas import gemm_into
from ._compile import jit_chunk, per_activation, wide_vectors
from ._steps import active_end, prefetch_step_rows
from ._sync import raise_flag


@per_activation
def _forward_kernel(act, rec_act):
    """The forward chunk kernel for the activation codes ``act``, ``rec_act`` (:func:`per_activation`)."""

    @jit_chunk
    def forward_rows(table, idx, start, U, Uzr, Uh, rb, rec_mask, reset_after, H_seq, gates, aux, h_out,
                     rec, rzr, ra, rh, hm, j, lo, hi, wake, wake_to):
        wide_vectors()
        raise_flag(wake, wake_to)  # start the pool thread of slice 1 (see run_chunks)
        T = idx.shape[0]
        H = h_out.shape[1]
        store_h = H_seq.shape[0] > 0
        store_g = gates.shape[0] > 0
        store_a = aux.shape[0] > 0
        use_mask = rec_mask.shape[0] > 0
        for t in range(T):
            end = active_end(start, lo, hi, t)
            prefetch_step_rows(table, idx, start, t, lo, end)
            for b in range(lo, end):
                for k in range(H):
                    hm[b, k] = h_out[b, k] * rec_mask[b, k] if use_mask else h_out[b, k]
            if end > lo:
                if reset_after:
                    gemm_into(hm[lo:end], U, rec[lo:end])
                else:
                    gemm_into(hm[lo:end], Uzr, rzr[lo:end])
            if reset_after:
                for b in range(lo, end):
                    if start[b] > t:
                        continue
                    rb_ = rec[b]
                    xb = table[idx[t, b]]
                    for k in range(2 * H):
                        rb_[k] += xb[k] + rb[k]
                    activate_inplace(rb_[:2 * H], rec_act)  # z, r
                    for k in range(H):
                        a = rb_[2 * H + k] + rb[2 * H + k]
                        if store_a:
                            aux[t, b, k] = a
                        rb_[2 * H + k] = xb[2 * H + k] + rb_[H + k] * a
                    activate_inplace(rb_[2 * H:], act)  # h~
                    for k in range(H):
                        z = np.float64(rb_[k])  # the update in float64, rounded once
                        h_out[b, k] = z * h_out[b, k] + (1.0 - z) * rb_[2 * H + k]
                    if store_g:
                        for k in range(3 * H):
                            gates[t, b, k] = rb_[k]
            else:
                for b in range(lo, end):
                    if start[b] > t:
                        for k in range(H):
                            ra[b, k] = 0.0
                        continue
                    zr = rzr[b]
                    xb = table[idx[t, b]]
                    for k in range(2 * H):
                        zr[k] += xb[k]
                    activate_inplace(zr, rec_act)  # z, r
                    for k in range(H):
                        ra[b, k] = zr[H + k] * hm[b, k]
                if end > lo:
                    gemm_into(ra[lo:end], Uh, rh[lo:end])
                for b in range(lo, end):
                    if start[b] > t:
                        continue
                    hh = rh[b]
                    xb = table[idx[t, b]]
                    for k in range(H):
                        hh[k] += xb[2 * H + k]
                    activate_inplace(hh, act)
                    for k in range(H):
                        z = np.float64(rzr[b, k])
                        h_out[b, k] = z * h_out[b, k] + (1.0 - z) * hh[k]
                        if store_g:
                            gates[t, b, k] = z
                            gates[t, b, H + k] = rzr[b, H + k]
                            gates[t, b, 2 * H + k] = hh[k]
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

    return forward_rows


@per_activation
def _backward_kernel(act, rec_act):
    """The backward chunk kernel for the activation codes ``act``, ``rec_act`` (:func:`per_activation`)."""

    @jit_chunk
    def backward_rows(start, h0, UT, UzrT, UhT, rec_mask, reset_after, H_seq, gates, aux, dH_seq, dA, dh,
                      hm, dhm, dhz, dzh, dra, drec, dzr, deriv, j, lo, hi, wake, wake_to):
        wide_vectors()
        raise_flag(wake, wake_to)  # start the pool thread of slice 1 (see run_chunks)
        T = H_seq.shape[0]
        H = h0.shape[1]
        G = 3 * H
        use_mask = rec_mask.shape[0] > 0
        many = dH_seq.shape[0] > 0
        for t in range(T - 1, -1, -1):
            end = active_end(start, lo, hi, t)
            for b in range(lo, hi):
                dhb = dh[b]
                if many:
                    for k in range(H):
                        dhb[k] += dH_seq[t, b, k]
                prev = H_seq[t - 1, b] if t > 0 else h0[b]
                if b < end and not reset_after:  # the reset gate's gradient needs h_{t-1} * mask
                    if use_mask:
                        for k in range(H):
                            hm[b, k] = prev[k] * rec_mask[b, k]
                    else:
                        for k in range(H):
                            hm[b, k] = prev[k]
                da = dA[t, b]
                if start[b] > t:
                    for k in range(G):
                        da[k] = 0.0
                    if b < end:
                        for k in range(G):
                            drec[b, k] = 0.0
                        for k in range(2 * H):
                            dzr[b, k] = 0.0
                        for k in range(H):
                            dzh[b, k] = 0.0
                    continue
                # Activation derivatives first, in branch-free passes, so the loops below vectorise.
                gb = gates[t, b]
                d = deriv[b]
                activate_grad_into(gb[:2 * H], d[:2 * H], rec_act)  # z, r
                activate_grad_into(gb[2 * H:], d[2 * H:], act)  # h~
                if reset_after:
                    ab = aux[t, b]
                    rc = drec[b]
                    for k in range(H):
                        z = gb[k]
                        dhk = dhb[k]
                        dz = dhk * (prev[k] - gb[2 * H + k]) * d[k]
                        dhh = dhk * (1.0 - z) * d[2 * H + k]
                        dr = dhh * ab[k] * d[H + k]
                        da[k] = dz
                        da[H + k] = dr
                        da[2 * H + k] = dhh
                        dhz[b, k] = dhk * z
                        rc[k] = dz
                        rc[H + k] = dr
                        rc[2 * H + k] = dhh * gb[H + k]
                else:
                    for k in range(H):
                        z = gb[k]
                        dhk = dhb[k]
                        dz = dhk * (prev[k] - gb[2 * H + k]) * d[k]
                        dhh = dhk * (1.0 - z) * d[2 * H + k]
                        da[k] = dz
                        da[2 * H + k] = dhh
                        dhz[b, k] = dhk * z
                        dzr[b, k] = dz
                        dzh[b, k] = dhh
            if end == lo:
                continue
            if reset_after:
                gemm_into(drec[lo:end], UT, dhm[lo:end])
            else:
                gemm_into(dzh[lo:end], UhT, dra[lo:end])
                for b in range(lo, end):
                    if start[b] > t:
                        continue
                    d = deriv[b]
                    for k in range(H):
                        dr = dra[b, k] * hm[b, k] * d[H + k]
                        dA[t, b, H + k] = dr
                        dzr[b, H + k] = dr
                gemm_into(dzr[lo:end], UzrT, dhm[lo:end])
                for b in range(lo, end):
                    for k in range(H):
                        dhm[b, k] += dra[b, k] * gates[t, b, H + k]
            for b in range(lo, end):
                if start[b] <= t:
                    if use_mask:
                        for k in range(H):
                            dh[b, k] = dhz[b, k] + dhm[b, k] * rec_mask[b, k]
                    else:
                        for k in range(H):
                            dh[b, k] = dhz[b, k] + dhm[b, k]

    return backward_rows


def gru_forward(table, idx, start, h0, U, rb, rec_mask, act, rec_act, reset_after, n_threads,
                H_seq, gates, aux, h_out):
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
    B, H = h0.shape
    h_out[...] = h0
    empty = np.empty((0, 0), U.dtype)  # for the blocks the kernel does not read
    if reset_after:  # one product with all of U
        Uzr = Uh = empty
    else:  # one product per block of U
        Uzr, Uh = np.ascontiguousarray(U[:, :2 * H]), np.ascontiguousarray(U[:, 2 * H:])
    run_chunks(_forward_kernel(act, rec_act), B, n_threads, table, idx, start, U, Uzr, Uh, rb,
               rec_mask, reset_after, H_seq, gates, aux, h_out,
               np.empty((B, 3 * H), dtype=h0.dtype), np.empty((B, 2 * H), dtype=h0.dtype),
               np.empty_like(h0), np.empty_like(h0), np.empty_like(h0))


def gru_backward(start, h0, U, rec_mask, act, rec_act, reset_after, n_threads, H_seq, gates, aux,
                 dH_seq, dh_last, dA, dU, drb, dh0):
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
    B, H = h0.shape
    dh0[...] = dh_last
    empty = np.empty((0, 0), U.dtype)  # for the blocks the kernel does not read
    if reset_after:  # one product with all of U.T
        UT, UzrT, UhT = np.ascontiguousarray(U.T), empty, empty
    else:  # one product per block of U.T
        UT, UzrT, UhT = empty, np.ascontiguousarray(U[:, :2 * H].T), np.ascontiguousarray(U[:, 2 * H:].T)
    run_chunks(_backward_kernel(act, rec_act), B, n_threads, start, h0, UT, UzrT, UhT, rec_mask,
               reset_after, H_seq, gates, aux, dH_seq, dA, dh0, np.empty_like(h0),
               np.empty_like(h0), np.empty_like(h0), np.empty_like(h0), np.empty_like(h0),
               np.empty((B, 3 * H), dtype=h0.dtype), np.empty((B, 2 * H), dtype=h0.dtype),
               np.empty((B, 3 * H), dtype=h0.dtype))
    gru_recurrent_grads(h0, H_seq, rec_mask, gates, aux, dA, reset_after, n_threads, dU, drb,
                        transposed_matmul)
