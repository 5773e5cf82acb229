"""Recurrent layers: parameter shapes and initialisation in Keras's layout, kernel dispatch.

A layer holds configuration only.  ``forward`` takes the parameters and an
input, returns the outputs and a cache; ``backward`` consumes that cache.
Truncated BPTT for a window of the last ``bptt_truncate`` steps happens here:
the steps before the window run through the kernels' inference path (nothing
stored), so stored activations are ``O(B * k * H)`` for many-to-one training.
"""

import numpy as np

from .._backend import get_kernels
from .._config import ACTIVATIONS
from ..initializers import glorot_uniform, orthogonal
from ..runtime.chunks import n_chunks
from .projection import (DenseInput, project, project_backward, project_tokens, reads_stacked,
                         stacked_backward, stacked_input)

N_GATES = {"simple": 1, "lstm": 4, "gru": 3}

#: At inference, float input is projected a window of steps at a time when a window whose
#: table holds this much per thread has fewer steps than the input (see window_steps): a
#: window's table is read back from the cache, not from memory.
WINDOW_TABLE_BYTES = 1 << 20
#: Fewest steps in such a window (each window costs a kernel call).
MIN_WINDOW_STEPS = 8


def activation_code(name):
    """Integer code of an activation name (``tanh``, ``sigmoid``, ``hard_sigmoid``, ``relu``, ``linear``)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose from tanh, sigmoid, hard_sigmoid, relu, linear"
        ) from None


class Recurrent:
    """One SimpleRNN, LSTM or GRU layer (Keras semantics and weight layout).

    Parameters
    ----------
    cell : {"simple", "lstm", "gru"}
    units : int
    activation : str, default "tanh"
    recurrent_activation : str, default "sigmoid"
        Gate activation (LSTM, GRU).
    use_bias : bool, default True
    reset_after : bool, default True
        GRU only: reset gate applied after the recurrent product, with a
        separate recurrent bias (Keras default).
    unit_forget_bias : bool, default True
        LSTM only: initialise the forget-gate bias to 1.
    """

    def __init__(self, cell, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, reset_after=True, unit_forget_bias=True):
        if cell not in N_GATES:
            raise ValueError(f"cell must be one of {sorted(N_GATES)}, got {cell!r}")
        self.cell = cell
        self.units = int(units)
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        self.use_bias = use_bias
        self.reset_after = bool(reset_after) and cell == "gru"
        self.unit_forget_bias = unit_forget_bias
        self.act = activation_code(activation)
        self.rec_act = activation_code(recurrent_activation)

    @property
    def n_gates(self):
        return N_GATES[self.cell]

    def param_shapes(self, n_in):
        """Keras ``get_weights()`` shapes of the layer for input width ``n_in``."""
        G = self.n_gates * self.units
        shapes = {"kernel": (n_in, G), "recurrent_kernel": (self.units, G)}
        if self.use_bias:
            shapes["bias"] = (2, G) if self.reset_after else (G,)
        return shapes

    def count_params(self, n_in):
        """Number of trainable parameters for input width ``n_in``."""
        return sum(int(np.prod(s)) for s in self.param_shapes(n_in).values())

    def init_params(self, rng, n_in, dtype=np.float32):
        """Keras defaults: Glorot-uniform kernel, orthogonal recurrent kernel, zero bias.

        Parameters
        ----------
        rng : numpy.random.Generator
        n_in : int
        dtype : dtype, default float32

        Returns
        -------
        dict of str to ndarray
        """
        shapes = self.param_shapes(n_in)
        params = {
            "kernel": glorot_uniform(rng, shapes["kernel"], dtype),
            "recurrent_kernel": orthogonal(rng, shapes["recurrent_kernel"], dtype),
        }
        if self.use_bias:
            bias = np.zeros(shapes["bias"], dtype=dtype)
            if self.cell == "lstm" and self.unit_forget_bias:
                bias[self.units:2 * self.units] = 1.0
            params["bias"] = bias
        return params

    def _biases(self, params, dtype):
        G = self.n_gates * self.units
        rb = np.zeros(G, dtype) if self.cell == "gru" else None  # only the GRU kernels read one
        if not self.use_bias:
            return np.zeros(G, dtype), rb
        bias = params["bias"]
        if self.reset_after:
            return bias[0], np.ascontiguousarray(bias[1])
        return bias, rb

    def token_table(self, params, embeddings, tokens, n_threads=1):
        """Input projections ``x @ W + b`` of the vocabulary ids ``tokens``, one row each.

        What :meth:`forward` gathers for those ids, for a
        :class:`~fastrnn.layers.projection.TokenInput` whose ``projected``
        table is made once for many batches.

        Parameters
        ----------
        params : dict
        embeddings : ndarray of shape (V, D) or None
            None for one-hot input.
        tokens : ndarray of shape (N,), int, or None
            None for every id, in order.
        n_threads : int, default 1

        Returns
        -------
        ndarray of shape (N, n_gates * units)
        """
        W = params["kernel"]
        b_in, _ = self._biases(params, W.dtype)
        return np.ascontiguousarray(project_tokens(embeddings, W, b_in, tokens, n_threads), dtype=W.dtype)

    def forward(self, params, inp, state=None, *, training=False, rec_mask=None,
                bptt_truncate=None, return_sequences=False, n_threads=1):
        """Run the layer over a packed input.

        Parameters
        ----------
        params : dict
            As from :meth:`init_params`.
        inp : TokenInput or DenseInput
            Packed input with ``T`` steps and ``B`` rows.
        state : tuple of ndarray of shape (B, H), optional
            Initial ``(h,)`` or ``(h, c)`` (LSTM); zeros by default.
        training : bool, default False
            Store what :meth:`backward` needs.  When False, nothing is stored.
        rec_mask : ndarray of shape (B, H), optional
            Recurrent-dropout mask (already scaled).
        bptt_truncate : int, optional
            Store (and later backpropagate through) only the last ``k`` steps.
        return_sequences : bool, default False
            Also return every step's state.
        n_threads : int, default 1

        Returns
        -------
        h_last : ndarray of shape (B, H)
        H_seq : ndarray of shape (T, B, H) or None
            Per-step states (packed layout), when ``return_sequences``.
        state : tuple of ndarray of shape (B, H)
            Final ``(h,)`` or ``(h, c)``.
        cache : dict or None
            For :meth:`backward`; None when not ``training``.
        """
        K = get_kernels()
        W = params["kernel"]
        dtype = W.dtype
        U = np.ascontiguousarray(params["recurrent_kernel"], dtype=dtype)
        b_in, rb = self._biases(params, dtype)
        start = inp.start
        B = start.shape[0]
        H = self.units
        if state is None:
            state = ((np.zeros((B, H), dtype), np.zeros((B, H), dtype)) if self.cell == "lstm"
                     else (np.zeros((B, H), dtype),))
        else:
            state = tuple(np.ascontiguousarray(s, dtype=dtype) for s in state)
        rm = np.empty((0, H), dtype) if rec_mask is None else np.ascontiguousarray(rec_mask, dtype)
        if self.cell == "lstm" and reads_stacked(inp):
            # the step's product reads x_t (no table of projections): U becomes [W; U]
            table, idx, X, U, pctx = stacked_input(inp, W, b_in, U)
        elif not training and (steps := window_steps(inp, W, n_threads)):
            return self._infer_by_windows(K, inp, W, b_in, steps, state, U, rb, rm, return_sequences,
                                          n_threads)
        else:
            table, idx, pctx = project(inp, W, b_in, n_threads)
            X = np.empty((idx.shape[0], idx.shape[1], 0), dtype)
        table = np.ascontiguousarray(table, dtype=dtype)
        T = idx.shape[0]
        H_full = np.empty((T, B, H), dtype) if return_sequences else None
        t0 = 0
        if training and bptt_truncate is not None and bptt_truncate < T:
            t0 = T - int(bptt_truncate)
        if t0 > 0 or not training:
            # Inference path (the whole input, or the truncated prefix): nothing stored.
            T_inf = t0 if training else T
            seq = H_full[:T_inf] if return_sequences else np.empty((0, B, H), dtype)
            state = self._run(K, table, idx[:T_inf], X[:T_inf], start, state, U, rb, rm, n_threads,
                              seq, store=False)[0]
        if not training:
            return state[0], H_full, state, None
        Tw = T - t0
        idx_w = np.ascontiguousarray(idx[t0:])
        # np.clip's argument checks cost more than a small batch's whole packing
        start_w = (np.ascontiguousarray(start, dtype=np.int32) if t0 == 0
                   else np.maximum(start - t0, 0).astype(np.int32))
        seq = H_full[t0:] if return_sequences else np.empty((Tw, B, H), dtype)
        new_state, stored = self._run(K, table, idx_w, X[t0:], start_w, state, U, rb, rm, n_threads,
                                      seq, store=True)
        cache = {
            "inp": inp, "pctx": pctx, "idx": idx_w, "start": start_w, "t0": t0, "T": T, "U": U,
            "state0": state, "rec_mask": rm, "H_seq": seq, "stored": stored, "rb": rb,
            "n_threads": n_threads,
        }
        return new_state[0], H_full, new_state, cache

    def _infer_by_windows(self, K, inp, W, b_in, steps, state, U, rb, rm, return_sequences, n_threads):
        """:meth:`forward` at inference on float input, projected ``steps`` steps at a time.

        ``steps`` is :func:`window_steps` of the input.

        Each window's table is made just before the kernels read it, so it is
        read from the cache; the state carries over from window to window, and
        a row whose first real step lies past a window leaves that window's
        state as it found it, so the outputs are those of one pass.
        """
        dtype = W.dtype
        T, B, _ = inp.X.shape
        H = self.units
        H_full = np.empty((T, B, H), dtype) if return_sequences else None
        no_input = np.empty((steps, B, 0), dtype)
        for lo in range(0, T, steps):
            hi = min(T, lo + steps)
            start = np.maximum(inp.start - lo, 0).astype(np.int32)
            table, idx, _ = project(DenseInput(inp.X[lo:hi], start), W, b_in, n_threads)
            table = np.ascontiguousarray(table, dtype=dtype)
            seq = H_full[lo:hi] if return_sequences else np.empty((0, B, H), dtype)
            state = self._run(K, table, idx, no_input[:hi - lo], start, state, U, rb, rm, n_threads, seq,
                              store=False)[0]
        return state[0], H_full, state, None

    def _run(self, K, table, idx, X, start, state, U, rb, rm, n_threads, seq, store):
        T, B = idx.shape
        H = self.units
        dtype = U.dtype
        h_out = np.empty((B, H), dtype)
        n = T if store else 0
        if self.cell == "simple":
            K.simple_rnn_forward(table, idx, start, state[0], U, rm, self.act, n_threads, seq, h_out)
            return (h_out,), ()
        if self.cell == "lstm":
            c_out = np.empty((B, H), dtype)
            C_seq = np.empty((n, B, H), dtype)
            gates = np.empty((n, B, 4 * H), dtype)
            K.lstm_forward(table, idx, X, start, state[0], state[1], U, rm, self.act, self.rec_act,
                           n_threads, seq, C_seq, gates, h_out, c_out)
            return (h_out, c_out), (C_seq, gates)
        gates = np.empty((n, B, 3 * H), dtype)
        aux = np.empty((n, B, H), dtype)
        K.gru_forward(table, idx, start, state[0], U, rb, rm, self.act, self.rec_act,
                      int(self.reset_after), n_threads, seq, gates, aux, h_out)
        return (h_out,), (gates, aux)

    def backward(self, params, cache, d_last=None, d_seq=None, d_state=None, input_grad=True):
        """Backpropagate through the stored window.

        Parameters
        ----------
        params : dict
        cache : dict
            From :meth:`forward` with ``training=True``.
        d_last : ndarray of shape (B, H), optional
            Gradient on the final output.
        d_seq : ndarray of shape (T, B, H), optional
            Gradient on every step's output (packed layout); steps before the
            truncation window are ignored.
        d_state : tuple of ndarray of shape (B, H), optional
            Gradient on the final ``(h,)`` / ``(h, c)`` carried in from a later window.
        input_grad : bool, default True
            False: the gradient on float input is not wanted (a network's raw
            input); the kernels then skip it.

        Returns
        -------
        grads : dict
            Same keys and shapes as ``params``.
        d_input : ndarray or None
            ``(T, B, F)`` for dense input, ``(V, D)`` for embeddings, None for one-hot
            (and for float input without ``input_grad``).
        d_state0 : tuple of ndarray of shape (B, H)
            Gradient on the initial state (zeros when the window was truncated).
        """
        K = get_kernels()
        U = cache["U"]  # as the kernels used it: [W; U] for an LSTM's stacked input
        dtype = U.dtype
        H_seq = cache["H_seq"]
        Tw, B, H = H_seq.shape
        t0 = cache["t0"]
        G = self.n_gates * H
        dh = np.zeros((B, H), dtype)
        if d_last is not None:
            dh += d_last
        if d_state is not None:
            dh += d_state[0]
        dH = np.empty((0, B, H), dtype) if d_seq is None else np.ascontiguousarray(d_seq[t0:], dtype)
        dA = np.empty((Tw, B, G), dtype)
        stacked = cache["pctx"][0] == "stacked"  # an LSTM's; then dU comes with dW (stacked_backward)
        dU = np.empty((0 if stacked else H, G), dtype)  # empty: the kernels skip it
        d_read = None  # the gradient on an input the kernels read themselves
        dh0 = np.empty((B, H), dtype)
        start, state0, rm, nt = cache["start"], cache["state0"], cache["rec_mask"], cache["n_threads"]
        grads = {}
        if self.cell == "simple":
            K.simple_rnn_backward(start, state0[0], U, rm, self.act, nt, H_seq, dH, dh, dA, dU, dh0)
            d_state0 = (dh0,)
        elif self.cell == "lstm":
            dc = np.zeros((B, H), dtype) if d_state is None else np.ascontiguousarray(d_state[1], dtype)
            dc0 = np.empty((B, H), dtype)
            C_seq, gates = cache["stored"]
            F = U.shape[0] - H
            if input_grad or not isinstance(cache["inp"], DenseInput):
                d_read = np.empty((cache["T"], B, F), dtype)
                d_read[:t0] = 0.0
                dX = d_read[t0:]
            else:  # raw float input: only the recurrent rows of [W; U] carry a gradient back
                U = U[F:]
                dX = np.empty((Tw, B, 0), dtype)
            K.lstm_backward(start, state0[0], state0[1], U, rm, self.act, self.rec_act, nt, H_seq,
                            C_seq, gates, dH, dh, dc, dA, dX, dU, dh0, dc0)
            d_state0 = (dh0, dc0)
        else:
            gates, aux = cache["stored"]
            drb = np.empty(G, dtype)
            K.gru_backward(start, state0[0], U, rm, self.act, self.rec_act, int(self.reset_after),
                           nt, H_seq, gates, aux, dH, dh, dA, dU, drb, dh0)
            d_state0 = (dh0,)
        if stacked:
            dW, dU, db, d_input = stacked_backward(cache["inp"], cache["pctx"], dA, state0[0], H_seq, rm,
                                                   t0, start, nt, d_read)
        else:
            dW, db, d_input = project_backward(cache["inp"], cache["pctx"], dA, cache["idx"], start,
                                               params["kernel"], t0, nt, input_grad=input_grad)
        grads["kernel"] = dW
        grads["recurrent_kernel"] = dU
        if self.use_bias:
            grads["bias"] = np.stack([db, drb]) if self.reset_after else db
        if t0 > 0:
            d_state0 = tuple(np.zeros_like(d) for d in d_state0)
        return grads, d_input, d_state0


def window_steps(inp, W, n_threads=1):
    """Steps per window of :meth:`Recurrent._infer_by_windows` for ``inp`` and input kernel ``W``.

    The steps whose table fits :data:`WINDOW_TABLE_BYTES` per thread (each
    thread reads its own rows' share), at least :data:`MIN_WINDOW_STEPS`; 0
    when one table for all the steps is as good (it is no larger than a
    window's, or the input is tokens or has a dropout mask).

    Parameters
    ----------
    inp : TokenInput or DenseInput
    W : ndarray of shape (F, G)
    n_threads : int, default 1
        Threads the kernels split the rows over.

    Returns
    -------
    int
    """
    if not isinstance(inp, DenseInput) or inp.dropout_mask is not None:
        return 0
    T, B, _ = inp.X.shape
    threads = n_chunks(B, n_threads)  # the slices the kernels split the rows into
    steps = max(MIN_WINDOW_STEPS,
                WINDOW_TABLE_BYTES * threads // max(1, B * W.shape[1] * W.dtype.itemsize))
    return steps if steps < T else 0
