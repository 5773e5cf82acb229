"""Recurrent stacks: stacked, optionally bidirectional, recurrent layers over packed batches.

A stack takes the first layer's input per direction and, optionally, initial
states; it returns the top layer's final output, its output sequence and every
layer's final states.  Its backward returns the gradients of its parameters,
of its first input and of its initial states, so a stack can start from
another's final states and hand the gradient back.
"""

import numpy as np

from .projection import DenseInput


def reverse_packed(arr, start):
    """Reverse every row's real steps in time, keeping them right-aligned (an involution).

    Parameters
    ----------
    arr : ndarray of shape (T, B, ...)
    start : ndarray of shape (B,)

    Returns
    -------
    ndarray of shape (T, B, ...)
    """
    T, B = arr.shape[:2]
    t = np.arange(T)[:, None]
    src = np.where(t >= start[None, :], start[None, :] + T - 1 - t, t)
    return arr[src, np.arange(B)[None, :]]


def _join(per_direction):
    """The directions' outputs side by side on the last axis (the one array itself for one)."""
    if len(per_direction) == 1:  # the array itself: a copy per layer shows in small batches
        return per_direction[0]
    return np.concatenate(per_direction, axis=-1)


class RecurrentStack:
    """Stacked, optionally bidirectional, recurrent layers over a packed batch.

    Every layer but the top one hands its whole output sequence to the next;
    a bidirectional layer runs its second direction over the reversed real
    steps and joins both outputs on the last axis (forward first, as Keras's
    ``Bidirectional(merge_mode="concat")``).

    Parameters
    ----------
    layers : list of Recurrent
        Bottom to top.
    bidirectional : bool, default False

    Notes
    -----
    Parameters are ``params[i][d]``: layer ``i``, direction ``d`` (0 forward,
    1 backward), each a dict as from :meth:`Recurrent.init_params`.  States
    use the same layout: ``states[i][d]`` is ``(h,)`` or ``(h, c)`` (LSTM),
    each (B, H_i).
    """

    def __init__(self, layers, bidirectional=False):
        if not layers:
            raise ValueError("a recurrent stack needs at least one layer")
        self.layers = list(layers)
        self.n_dir = 2 if bidirectional else 1

    @property
    def bidirectional(self):
        return self.n_dir == 2

    @property
    def width(self):
        """Features per step of the top layer's output (units times directions)."""
        return self.layers[-1].units * self.n_dir

    def layer_inputs(self, n_in):
        """``(layer, input width)`` pairs, bottom to top, for a first-layer input of ``n_in``."""
        width = n_in
        for layer in self.layers:
            yield layer, width
            width = layer.units * self.n_dir

    def init_params(self, rng, n_in, dtype=np.float32):
        """Keras's initialisers, layer by layer, forward direction first."""
        return [[layer.init_params(rng, w, dtype) for _ in range(self.n_dir)]
                for layer, w in self.layer_inputs(n_in)]

    @staticmethod
    def weights(params):
        """Arrays in Keras ``get_weights()`` order (views)."""
        out = []
        for directions in params:
            for p in directions:
                out.extend(p[k] for k in ("kernel", "recurrent_kernel", "bias") if k in p)
        return out

    def weight_shapes(self, n_in):
        """Shapes of :meth:`weights`' arrays for a first-layer input of ``n_in``, without making them."""
        return [shape for layer, w in self.layer_inputs(n_in) for _ in range(self.n_dir)
                for shape in layer.param_shapes(w).values()]

    def zero_states(self, B, dtype):
        """Zero initial states in the ``states[i][d]`` layout."""
        return [[tuple(np.zeros((B, layer.units), dtype) for _ in range(2 if layer.cell == "lstm" else 1))
                 for _ in range(self.n_dir)] for layer in self.layers]

    def summary_rows(self, n_in, n_timesteps, top_sequence):
        """Keras-style rows; ``top_sequence``: the top layer returns its sequence."""
        rows = []
        names = {"simple": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
        for i, (layer, w) in enumerate(self.layer_inputs(n_in)):
            seq = i < len(self.layers) - 1 or top_sequence
            width = layer.units * self.n_dir
            shape = f"(None, {n_timesteps or 'None'}, {width})" if seq else f"(None, {width})"
            kind = names[layer.cell]
            if self.n_dir == 2:
                kind = f"Bidirectional({kind})"
            rows.append((f"{layer.cell}_{i} ({kind})", shape, layer.count_params(w) * self.n_dir))
        return rows

    def forward(self, params, first_inputs, start, *, masks=None, states=None, training=False,
                bptt_truncate=None, return_sequences=False, n_threads=1):
        """Run the stack.

        Parameters
        ----------
        params : list of list of dict
        first_inputs : list of TokenInput or DenseInput
            The first layer's input per direction (the backward direction's
            already reversed, see :func:`reverse_packed`); ``T`` steps, ``B`` rows.
        start : ndarray of shape (B,), int32
            First real step of each row.
        masks : list or None
            ``masks[i][d] = (input_mask, recurrent_mask)`` (already scaled); the
            first layer's input mask is already in ``first_inputs``.
        states : list or None
            Initial states ``states[i][d]``; zeros by default.
        training : bool, default False
            Keep what :meth:`backward` needs.
        bptt_truncate : int or None
            Store (and backpropagate through) only the last ``k`` steps.
        return_sequences : bool, default False
            Also return the top layer's output at every step.
        n_threads : int, default 1

        Returns
        -------
        h_last : ndarray of shape (B, width)
            The top layer's final output (directions joined).
        seq : ndarray of shape (T, B, width) or None
            The top layer's output at every packed step, with ``return_sequences``.
        finals : list
            Final states in the ``states[i][d]`` layout.
        cache : list or None
            For :meth:`backward`; None unless ``training``.
        """
        caches, finals = [], []
        x_seq = None
        h_last = None
        for i, (layer, directions) in enumerate(zip(self.layers, params)):
            need_seq = i < len(self.layers) - 1 or return_sequences
            outs, lasts, dir_caches, dir_finals = [], [], [], []
            for d, p in enumerate(directions):
                in_mask, rec_mask = masks[i][d] if masks is not None else (None, None)
                if x_seq is None:
                    inp = first_inputs[d]
                else:
                    inp = DenseInput(x_seq if d == 0 else reverse_packed(x_seq, start), start, in_mask)
                state = states[i][d] if states is not None else None
                h, seq, final, cache = layer.forward(p, inp, state, training=training,
                                                     rec_mask=rec_mask, bptt_truncate=bptt_truncate,
                                                     return_sequences=need_seq, n_threads=n_threads)
                if need_seq and d == 1:
                    seq = reverse_packed(seq, start)
                outs.append(seq)
                lasts.append(h)
                dir_caches.append(cache)
                dir_finals.append(final)
            caches.append(dir_caches)
            finals.append(dir_finals)
            x_seq = _join(outs) if need_seq else None
            h_last = _join(lasts)
        return h_last, x_seq, finals, (caches if training else None)

    def backward(self, params, cache, start, d_last=None, d_seq=None, d_finals=None, input_grad=True):
        """Gradients of the stack's parameters, its first input and its initial states.

        Parameters
        ----------
        params : list of list of dict
        cache : list
            From :meth:`forward` with ``training=True``.
        start : ndarray of shape (B,), int32
        d_last : ndarray of shape (B, width), optional
            Gradient on ``h_last``.
        d_seq : ndarray of shape (T, B, width), optional
            Gradient on the top layer's output sequence.
        d_finals : list, optional
            Gradient on the final states, ``d_finals[i][d]`` a tuple like the
            state itself (or None), e.g. from a decoder that started from them.
        input_grad : bool, default True
            False: the first layer's gradient on float input is not wanted
            (the network's raw input) and is not computed.

        Returns
        -------
        grads : list of list of dict
            Same layout and shapes as ``params``.
        d_inputs : list
            Per direction, the first layer's input gradient as
            :meth:`Recurrent.backward` returns it (``(V, D)`` for embeddings,
            None for one-hot, ``(T, B, F)`` for float input, the backward
            direction's in reversed step order).
        d_states0 : list
            Gradient on the initial states, ``d_states0[i][d]``.
        """
        grads = [None] * len(self.layers)
        d_states0 = [None] * len(self.layers)
        d_inputs = None
        for i in reversed(range(len(self.layers))):
            layer = self.layers[i]
            H = layer.units
            layer_grads, layer_d0, d_in_dirs = [], [], []
            d_below = None
            for d, (p, c) in enumerate(zip(params[i], cache[i])):
                dl = None if d_last is None else np.ascontiguousarray(d_last[:, d * H:(d + 1) * H])
                ds = None
                if d_seq is not None:
                    ds = np.ascontiguousarray(d_seq[:, :, d * H:(d + 1) * H])
                    if d == 1:
                        ds = reverse_packed(ds, start)
                d_state = None if d_finals is None or d_finals[i] is None else d_finals[i][d]
                g, d_in, d0 = layer.backward(p, c, d_last=dl, d_seq=ds, d_state=d_state,
                                             input_grad=input_grad or i > 0)
                layer_grads.append(g)
                layer_d0.append(d0)
                if i == 0:
                    d_in_dirs.append(d_in)
                else:
                    if d == 1:
                        d_in = reverse_packed(d_in, start)
                    d_below = d_in if d_below is None else d_below + d_in
            grads[i] = layer_grads
            d_states0[i] = layer_d0
            if i == 0:
                d_inputs = d_in_dirs
            d_last, d_seq = None, d_below
        return grads, d_inputs, d_states0
