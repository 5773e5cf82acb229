"""A tiny one-layer model used by the gradient and parity tests.

It builds random parameters and inputs for one layer configuration, and
computes a scalar loss that touches the final state and (optionally) every
step's output at the original input positions, so every path of the layer is
differentiated.
"""

from dataclasses import dataclass

import numpy as np

from fastrnn.layers import (
    DenseInput,
    Recurrent,
    TokenInput,
    pack_dense,
    pack_sequence_grad,
    pack_tokens,
    unpack_sequence,
)


#: Backend-vs-reference tolerances per dtype.
TOLERANCES = {np.float64: dict(rtol=1e-9, atol=1e-10), np.float32: dict(rtol=1e-4, atol=2e-5)}

#: The configuration grid shared by the gradient checks and the parity tests.
CELLS = [
    dict(cell="simple"),
    dict(cell="lstm"),
    dict(cell="gru", reset_after=True),
    dict(cell="gru", reset_after=False),
]
SCENARIOS = {
    "base": dict(),
    "no_bias_post_seq": dict(use_bias=False, padding="post", return_sequences=True),
    "mixed_padding_seq": dict(padding="mixed", return_sequences=True),
    "unpadded": dict(padding="none"),
    "truncated": dict(bptt_truncate=2, T=6),
    "truncated_seq": dict(bptt_truncate=3, T=6, return_sequences=True, padding="post"),
    "dropout": dict(dropout=True, return_sequences=True),
    "relu_hard_sigmoid": dict(activation="relu", recurrent_activation="hard_sigmoid"),
    "linear_tanh": dict(activation="linear", recurrent_activation="tanh"),
    "sigmoid_linear": dict(activation="sigmoid", recurrent_activation="linear"),
}
INPUTS = ["tokens", "onehot", "dense"]


def cell_id(cell):
    """Readable pytest id of an entry of :data:`CELLS`."""
    return cell["cell"] + ("" if cell.get("reset_after", True) else "_v1")


@dataclass
class Case:
    cell: str = "lstm"
    input_kind: str = "tokens"  # tokens | onehot | dense
    padding: str = "pre"  # pre | post | none | mixed
    use_bias: bool = True
    reset_after: bool = True
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    return_sequences: bool = False
    bptt_truncate: int = None
    dropout: bool = False
    B: int = 3
    T: int = 5
    H: int = 3
    V: int = 7
    D: int = 2
    F: int = 2
    dtype: type = np.float64
    seed: int = 0
    n_threads: int = 1
    empty_rows: bool = False

    def layer(self):
        return Recurrent(self.cell, self.H, activation=self.activation,
                         recurrent_activation=self.recurrent_activation, use_bias=self.use_bias,
                         reset_after=self.reset_after)


def make_ids(rng, B, T, V, padding, allow_empty=False):
    """Random ids in [1, V) with the requested padding layout (row 0 always full).

    With ``allow_empty`` other rows may be all padding."""
    ids = rng.integers(1, V, size=(B, T))
    lengths = rng.integers(0 if allow_empty else 1, T + 1, size=B)
    lengths[0] = T
    for b, L in enumerate(lengths):
        if padding == "pre":
            ids[b, :T - L] = 0
        elif padding == "post":
            ids[b, L:] = 0
        elif padding == "mixed":
            ids[b, rng.permutation(T)[:T - L]] = 0
    return ids


class Problem:
    """Parameters, input and loss weights for one :class:`Case`."""

    def __init__(self, case):
        self.case = c = case
        rng = np.random.default_rng(c.seed)
        self.layer = c.layer()
        n_in = {"tokens": c.D, "onehot": c.V, "dense": c.F}[c.input_kind]
        self.params = self.layer.init_params(rng, n_in, c.dtype)
        for k, v in self.params.items():  # non-trivial biases and larger weights
            self.params[k] = (v + 0.3 * rng.normal(size=v.shape)).astype(c.dtype)
        ids = make_ids(rng, c.B, c.T, c.V, c.padding, allow_empty=c.empty_rows)
        self.mask = ids != 0
        if c.input_kind == "dense":
            self.X = rng.normal(size=(c.B, c.T, c.F)).astype(c.dtype)
            self.packed = pack_dense(self.X, None if c.padding == "none" else self.mask)
        else:
            self.packed = pack_tokens(ids)
            self.E = rng.normal(size=(c.V, c.D)).astype(c.dtype) if c.input_kind == "tokens" else None
        self.ids = ids
        self.h0 = [0.5 * rng.normal(size=(c.B, c.H)).astype(c.dtype)
                   for _ in range(2 if c.cell == "lstm" else 1)]
        width = {"tokens": c.D, "onehot": c.V, "dense": c.F}[c.input_kind]
        self.in_mask = ((rng.random((c.B, width)) > 0.3) / 0.7).astype(c.dtype) if c.dropout else None
        self.rec_mask = ((rng.random((c.B, c.H)) > 0.3) / 0.7).astype(c.dtype) if c.dropout else None
        # copies that finite differences never perturb (truncated-BPTT reference)
        self.frozen = {
            "params": {k: v.copy() for k, v in self.params.items()},
            "h0": tuple(h.copy() for h in self.h0),
            "X": self.X.copy() if c.input_kind == "dense" else None,
            "E": self.E.copy() if c.input_kind == "tokens" else None,
        }
        self.w_last = rng.normal(size=(c.B, c.H)).astype(c.dtype)
        self.w_seq = rng.normal(size=(c.B, c.T, c.H)).astype(c.dtype)

    def inp(self, X=None, E=None):
        c = self.case
        if c.input_kind == "dense":
            X = self.X if X is None else X
            mask = None if c.padding == "none" else self.mask
            data = pack_dense(X, mask).data
            return DenseInput(data, self.packed.start, self.in_mask)
        E = self.E if E is None else E
        return TokenInput(self.packed.data, self.packed.start, E, self.in_mask)

    def loss(self, params=None, X=None, E=None, h0=None, training=True, truncate_from=None):
        """Scalar loss; ``truncate_from`` freezes the state entering the window at its
        value under the unperturbed parameters (what truncated BPTT differentiates)."""
        c = self.case
        params = self.params if params is None else params
        h0 = self.h0 if h0 is None else h0
        state = tuple(h0)
        inp = self.inp(X, E)
        if truncate_from:
            t0 = truncate_from
            # the prefix runs on the unperturbed parameters and state, the window on `params`
            frozen = self.frozen
            pref = self._slice(self.inp(frozen["X"], frozen["E"]), 0, t0)
            _, seq_p, state, _ = self.layer.forward(frozen["params"], pref, frozen["h0"],
                                                    rec_mask=self.rec_mask, return_sequences=True)
            win = self._slice(inp, t0, None)
            h_last, seq_w, _, _ = self.layer.forward(params, win, state, rec_mask=self.rec_mask,
                                                     return_sequences=True)
            loss = np.sum(h_last * self.w_last)
            if c.return_sequences:
                seq = np.concatenate([seq_p, seq_w])
                dense_seq = unpack_sequence(self.packed, seq, h0[0])
                # only window steps are differentiated: weight the prefix by constants
                window = self.packed.positions >= t0
                loss += np.sum(dense_seq * self.w_seq * window[:, :, None])
            return loss
        h_last, seq, _, _ = self.layer.forward(params, inp, state, rec_mask=self.rec_mask,
                                               return_sequences=c.return_sequences)
        loss = np.sum(h_last * self.w_last)
        if c.return_sequences:
            loss += np.sum(unpack_sequence(self.packed, seq, h0[0]) * self.w_seq)
        return loss

    @staticmethod
    def _slice(inp, a, b):
        start = np.clip(inp.start - a, 0, None).astype(np.int32)
        if isinstance(inp, DenseInput):
            return inp._replace(X=np.ascontiguousarray(inp.X[a:b]), start=start)
        return inp._replace(ids=np.ascontiguousarray(inp.ids[a:b]), start=start)

    def analytic(self):
        """Gradients from the layer's backward: (grads, d_input, d_h0)."""
        c = self.case
        _, seq, _, cache = self.layer.forward(
            self.params, self.inp(), tuple(self.h0), training=True, rec_mask=self.rec_mask,
            bptt_truncate=c.bptt_truncate, return_sequences=c.return_sequences,
            n_threads=c.n_threads)
        d_seq = None
        d_h0_extra = 0.0
        if c.return_sequences:
            w = self.w_seq
            if c.bptt_truncate is not None:
                w = w * (self.packed.positions >= cache["t0"])[:, :, None]
            d_seq, d_h0_extra = pack_sequence_grad(self.packed, w, seq.shape[0])
        grads, d_input, d_state0 = self.layer.backward(self.params, cache, d_last=self.w_last,
                                                       d_seq=d_seq)
        if cache["t0"] == 0:
            d_state0 = (d_state0[0] + d_h0_extra,) + d_state0[1:]
        return grads, d_input, d_state0, cache


def numeric_grad(f, x, eps=1e-5):
    """Central differences of scalar ``f()`` with respect to array ``x`` (perturbed in place)."""
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        fp = f()
        x[i] = old - eps
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g
