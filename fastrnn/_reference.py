"""Plain-NumPy twin of every kernel: the specification and the test oracle.

Every function here has exactly the name, argument order and docstring
contract of its Numba (``fastrnn.kernels``) and Cython (``fastrnn._cython``)
counterparts, and it is also the last-resort ``numpy`` backend.  It is written
to be read next to the maths, one time step at a time, like a textbook
``lossFun``: a forward loop that stores what backward needs, then a
``reversed(range(T))`` loop that carries ``dh`` (and ``dc``) back in time.

Shared conventions (all backends)
---------------------------------
Time-major layout.  ``T`` timesteps, ``B`` sequences, ``H`` units and
``G = k * H`` gate columns (``k`` = 1 SimpleRNN, 4 LSTM, 3 GRU).

``table`` : (N, G)
    Input projections ``x @ W (+ b)``.  For token input the rows are the
    projections of the distinct token ids of the batch (the embedding is
    never expanded to ``(T, B, E)``); for float input one row per (t, b).
``idx`` : (T, B) int32
    Row of ``table`` feeding sequence ``b`` at step ``t``.
``start`` : (B,) int32
    First real step of each sequence.  Steps ``t < start[b]`` are padding: the
    state is left unchanged there and receives no gradient.  Sequences are
    right-aligned by the layer, so interior and trailing padding never reach
    the kernels.  ``start[b] == T`` marks an all-padding row.
``rec_mask`` : (B, H) or (0, H)
    Recurrent-dropout mask (already scaled), fixed for the whole sequence and
    applied to the state entering the recurrent product.  An empty array
    means no dropout.
Outputs are preallocated by the caller and fully overwritten; stored gates
and auxiliary values are 0 at padded steps.  A stored
sequence array with a leading dimension of 0 means "do not store": the
inference path stores nothing for backward.
"""

import numpy as np

from ._constants import ACT_HARD_SIGMOID, ACT_LINEAR, ACT_RELU, ACT_SIGMOID, ACT_TANH

__all__ = [
    "adam_step",
    "gru_backward",
    "gru_forward",
    "lstm_backward",
    "lstm_forward",
    "rmsprop_step",
    "scatter_rows",
    "simple_rnn_backward",
    "simple_rnn_forward",
    "transposed_matmul",
]


def activate(x, code):
    """Apply activation ``code`` elementwise (returns a new array)."""
    if code == ACT_TANH:
        return np.tanh(x)
    if code == ACT_SIGMOID:
        with np.errstate(over="ignore"):  # exp(-x) = inf gives the exact limit 0
            return 1.0 / (1.0 + np.exp(-x))
    if code == ACT_HARD_SIGMOID:
        return np.clip(x / 6.0 + 0.5, 0.0, 1.0)
    if code == ACT_RELU:
        return np.maximum(x, 0.0)
    if code == ACT_LINEAR:
        return x.copy()
    raise ValueError(f"unknown activation code {code}")


def activate_grad(y, code):
    """Derivative of activation ``code`` expressed through its output ``y``."""
    if code == ACT_TANH:
        return 1.0 - y * y
    if code == ACT_SIGMOID:
        return y * (1.0 - y)
    if code == ACT_HARD_SIGMOID:
        return np.where((y > 0.0) & (y < 1.0), 1.0 / 6.0, 0.0).astype(y.dtype)
    if code == ACT_RELU:
        return (y > 0.0).astype(y.dtype)
    if code == ACT_LINEAR:
        return np.ones_like(y)
    raise ValueError(f"unknown activation code {code}")


def _masked(h, rec_mask):
    return h * rec_mask if rec_mask.shape[0] else h


def _prev(H_seq, h0, t):
    return H_seq[t - 1] if t > 0 else h0


# ----------------------------------------------------------------------------
# SimpleRNN:  h_t = act(x_t W + b + h_{t-1} U)
# ----------------------------------------------------------------------------
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
    T = idx.shape[0]
    h = h0.copy()
    for t in range(T):
        active = (start <= t)[:, None]
        z = table[idx[t]] + _masked(h, rec_mask) @ U
        h = np.where(active, activate(z, act), h)
        if H_seq.shape[0]:
            H_seq[t] = h
    h_out[...] = h


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
    T = H_seq.shape[0]
    dh = dh_last.copy()
    dU[...] = 0.0
    for t in reversed(range(T)):
        if dH_seq.shape[0]:
            dh = dh + dH_seq[t]
        active = (start <= t)[:, None]
        da = np.where(active, dh, 0.0) * activate_grad(H_seq[t], act)
        hm = _masked(_prev(H_seq, h0, t), rec_mask)
        dA[t] = da
        dU += hm.T @ da
        dhm = da @ U.T
        dh = np.where(active, _masked(dhm, rec_mask), dh)
    dh0[...] = dh


# ----------------------------------------------------------------------------
# LSTM, gates packed i, f, c, o (Keras):
#   i, f, o = ract(.), g = act(.), c_t = f c_{t-1} + i g, h_t = o act(c_t)
# ----------------------------------------------------------------------------
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
    T = idx.shape[0]
    H = h0.shape[1]
    h, c = h0.copy(), c0.copy()
    for t in range(T):
        active = (start <= t)[:, None]
        z = table[idx[t]] + np.concatenate([X[t], _masked(h, rec_mask)], axis=1) @ U
        i = activate(z[:, :H], rec_act)
        f = activate(z[:, H:2 * H], rec_act)
        g = activate(z[:, 2 * H:3 * H], act)
        o = activate(z[:, 3 * H:], rec_act)
        c_new = f * c + i * g
        h_new = o * activate(c_new, act)
        c = np.where(active, c_new, c)
        h = np.where(active, h_new, h)
        if H_seq.shape[0]:
            H_seq[t] = h
        if C_seq.shape[0]:
            C_seq[t] = c
        if gates.shape[0]:
            gates[t] = np.where(active, np.concatenate([i, f, g, o], axis=1), 0.0)
    h_out[...] = h
    c_out[...] = c


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
    T = H_seq.shape[0]
    H = h0.shape[1]
    F = dX.shape[2]
    dh, dc = dh_last.copy(), dc_last.copy()
    dU[...] = 0.0
    for t in reversed(range(T)):
        if dH_seq.shape[0]:
            dh = dh + dH_seq[t]
        active = (start <= t)[:, None]
        dha, dca = np.where(active, dh, 0.0), np.where(active, dc, 0.0)
        i, f, g, o = (gates[t][:, k * H:(k + 1) * H] for k in range(4))
        c_prev = _prev(C_seq, c0, t)
        ct = activate(C_seq[t], act)
        dct = dca + dha * o * activate_grad(ct, act)
        dzi = dct * g * activate_grad(i, rec_act)
        dzf = dct * c_prev * activate_grad(f, rec_act)
        dzg = dct * i * activate_grad(g, act)
        dzo = dha * ct * activate_grad(o, rec_act)
        da = np.concatenate([dzi, dzf, dzg, dzo], axis=1)
        dA[t] = da
        hm = _masked(_prev(H_seq, h0, t), rec_mask)
        if dU.shape[0]:
            dU += hm.T @ da
        d_row = da @ U.T  # [dx_t, d(h_{t-1} * mask)]
        dX[t] = np.where(active, d_row[:, :F], 0.0)
        dh = np.where(active, _masked(d_row[:, F:], rec_mask), dh)
        dc = np.where(active, dct * f, dc)
    dh0[...] = dh
    dc0[...] = dc


# ----------------------------------------------------------------------------
# GRU, gates packed z, r, h (Keras).
#   reset_after=True:  h~ = act(x W_h + b_h + r * (h U_h + rb_h))
#   reset_after=False: h~ = act(x W_h + b_h + (r * h) U_h)
#   h_t = z h_{t-1} + (1 - z) h~
# ----------------------------------------------------------------------------
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
    T = idx.shape[0]
    H = h0.shape[1]
    h = h0.copy()
    for t in range(T):
        active = (start <= t)[:, None]
        x = table[idx[t]]
        hm = _masked(h, rec_mask)
        if reset_after:
            rec = hm @ U + rb
            z = activate(x[:, :H] + rec[:, :H], rec_act)
            r = activate(x[:, H:2 * H] + rec[:, H:2 * H], rec_act)
            a = rec[:, 2 * H:]
            hh = activate(x[:, 2 * H:] + r * a, act)
        else:
            rec = hm @ U[:, :2 * H]
            z = activate(x[:, :H] + rec[:, :H], rec_act)
            r = activate(x[:, H:2 * H] + rec[:, H:], rec_act)
            a = r * hm
            hh = activate(x[:, 2 * H:] + a @ U[:, 2 * H:], act)
        # in float64, rounded once, as the compiled kernels: a float32 state that should stay
        # put (h == h~) then does, instead of moving by an ulp per step
        zd = z.astype(np.float64)
        h_new = (zd * h + (1.0 - zd) * hh).astype(h.dtype, copy=False)
        h = np.where(active, h_new, h)
        if H_seq.shape[0]:
            H_seq[t] = h
        if gates.shape[0]:
            gates[t] = np.where(active, np.concatenate([z, r, hh], axis=1), 0.0)
        if aux.shape[0]:
            aux[t] = np.where(active, a, 0.0)
    h_out[...] = h


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
    T = H_seq.shape[0]
    H = h0.shape[1]
    dh = dh_last.copy()
    dU[...] = 0.0
    drb[...] = 0.0
    for t in reversed(range(T)):
        if dH_seq.shape[0]:
            dh = dh + dH_seq[t]
        active = (start <= t)[:, None]
        dha = np.where(active, dh, 0.0)
        z, r, hh = (gates[t][:, k * H:(k + 1) * H] for k in range(3))
        h_prev = _prev(H_seq, h0, t)
        hm = _masked(h_prev, rec_mask)
        a = aux[t]
        dzz = dha * (h_prev - hh) * activate_grad(z, rec_act)
        dzh = dha * (1.0 - z) * activate_grad(hh, act)
        if reset_after:
            dzr = dzh * a * activate_grad(r, rec_act)
            drec = np.concatenate([dzz, dzr, dzh * r], axis=1)
            dU += hm.T @ drec
            drb += drec.sum(axis=0)
            dhm = drec @ U.T
        else:
            dra = dzh @ U[:, 2 * H:].T
            dzr = dra * hm * activate_grad(r, rec_act)
            dzr_ = np.concatenate([dzz, dzr], axis=1)
            dU[:, :2 * H] += hm.T @ dzr_
            dU[:, 2 * H:] += a.T @ dzh
            dhm = dzr_ @ U[:, :2 * H].T + dra * r
        dA[t] = np.concatenate([dzz, dzr, dzh], axis=1)
        dh = np.where(active, dh * z + _masked(dhm, rec_mask), dh)
    dh0[...] = dh


# ----------------------------------------------------------------------------
# Embedding-table gradient: scatter-add of per-step gradients into rows.
# ----------------------------------------------------------------------------
def scatter_rows(dA, idx, start, d_table, n_threads=1):
    """Add each real step's gradient row into the table row it came from.

    Parameters
    ----------
    dA : ndarray of shape (T, B, G)
        Gradient on the input projections.
    idx : ndarray of shape (T, B), int32
        Table row used at each step.
    start : ndarray of shape (B,), int32
        First real step of each sequence (earlier steps are skipped).
    d_table : ndarray of shape (N, G)
        Out: summed gradient per table row.
    n_threads : int, default 1
        Threads the fast backends split a large gradient over, by columns
        (every column is summed in the same order, so the result does not
        depend on it).
    """
    d_table[...] = 0.0
    T = idx.shape[0]
    for t in range(T):
        active = start <= t
        np.add.at(d_table, idx[t][active], dA[t][active])


# ----------------------------------------------------------------------------
# Optimizer steps: one elementwise pass over a contiguous slice of a parameter.
# The order of operations, in the parameter's dtype, is the contract: every
# backend gives bit-identical results (the compiled ones fuse the loop).
# ----------------------------------------------------------------------------
def adam_step(p, g, m, v, lr, beta_1, beta_2, epsilon):
    """One Adam step, in place: ``m``, ``v`` and then ``p`` are updated.

    ``m += (g - m) (1 - beta_1)``, ``v += (g g - v) (1 - beta_2)``,
    ``p -= lr m / (sqrt(v) + epsilon)``, every scalar first rounded to the dtype of ``p``.

    Parameters
    ----------
    p, g, m, v : ndarray of shape (n,)
        Parameter, gradient, first and second moments; C-contiguous, one float dtype.
    lr : float
        Step size with the bias correction folded in.
    beta_1, beta_2, epsilon : float
    """
    dt = p.dtype.type
    tmp = g - m
    tmp *= dt(1 - beta_1)
    m += tmp
    np.multiply(g, g, out=tmp)
    tmp -= v
    tmp *= dt(1 - beta_2)
    v += tmp
    np.sqrt(v, out=tmp)
    tmp += dt(epsilon)
    np.divide(m, tmp, out=tmp)
    tmp *= dt(lr)
    p -= tmp


def rmsprop_step(p, g, a, lr, rho, epsilon):
    """One RMSprop step, in place: ``a`` and then ``p`` are updated.

    ``a = a rho + ((1 - rho) g) g``, ``p -= (lr g) / sqrt(a + epsilon)``, every scalar
    first rounded to the dtype of ``p``.

    Parameters
    ----------
    p, g, a : ndarray of shape (n,)
        Parameter, gradient and mean square; C-contiguous, one float dtype.
    lr, rho, epsilon : float
    """
    dt = p.dtype.type
    a *= dt(rho)
    a += dt(1 - rho) * g * g
    p -= dt(lr) * g / np.sqrt(a + dt(epsilon))


def transposed_matmul(X, D, out, accumulate=False):
    """``out[...] = X.T @ D``, or ``out += X.T @ D`` when ``accumulate``: a weight gradient over many rows.

    Parameters
    ----------
    X : ndarray of shape (m, f)
    D : ndarray of shape (m, g)
    out : ndarray of shape (f, g)
        Of the dtype of ``X`` and ``D``; must not overlap them.
    accumulate : bool, default False
    """
    if accumulate:
        out += X.T @ D
    else:
        np.matmul(X.T, D, out=out)
