"""Output heads: what a model computes from a recurrent stack's outputs.

A head reads the stack's final output ``h_last`` (B, W) and, when it asks for
it (``needs_sequence``), the output at every packed step ``seq`` (T, B, W);
it returns the model's outputs (logits or regression values).  Its
``backward`` returns its parameter gradients and the gradients on
``h_last`` and ``seq`` (either may be None).

The heads here pool the steps (:data:`POOLINGS`) and apply one ``Dense``
layer, as Keras's ``Dense`` after a last-state recurrent layer, ``Flatten``,
``GlobalAveragePooling1D`` / ``GlobalMaxPooling1D``, or ``TimeDistributed``
(the ``"sequence"`` pooling, one output per input position).  Padding never
contributes: pooling covers the real steps only.
"""

import numpy as np

from ..initializers import glorot_uniform
from ..utils.linalg import column_sums
from ._packing import pack_sequence_grad, unpack_sequence

#: Poolings of a many-to-one head.
POOLINGS = ("last", "flatten", "mean", "max")
#: The many-to-many pooling: a Dense applied at every input position (Keras TimeDistributed).
SEQUENCE = "sequence"


class DenseHead:
    """Pooling of the recurrent outputs, then ``Dense(n_outputs)`` (no activation).

    Parameters
    ----------
    pooling : {"last", "flatten", "mean", "max", "sequence"}
    width : int
        Features per step of the recurrent output ``W``.
    n_outputs : int
    n_timesteps : int or None
        Input length, needed by "flatten".

    Notes
    -----
    Parameters: ``{"kernel": (F, n_outputs), "bias": (n_outputs,)}`` with
    ``F = W`` (``W * n_timesteps`` for "flatten").  Outputs are (B, n_outputs),
    or (B, T_in, n_outputs) for "sequence".
    """

    key = "dense"

    def __init__(self, pooling, width, n_outputs, n_timesteps=None):
        if pooling not in POOLINGS + (SEQUENCE,):
            raise ValueError(f"pooling must be one of {POOLINGS + (SEQUENCE,)}, got {pooling!r}")
        if pooling == "flatten" and not n_timesteps:
            raise ValueError("the flatten head needs n_timesteps")
        self.pooling = pooling
        self.width = int(width)
        self.n_outputs = int(n_outputs)
        self.n_timesteps = n_timesteps

    @property
    def needs_sequence(self):
        """Whether :meth:`forward` reads the output at every step."""
        return self.pooling != "last"

    @property
    def per_step(self):
        """Whether the outputs have one row per input position."""
        return self.pooling == SEQUENCE

    @property
    def in_width(self):
        """Features entering the Dense layer."""
        return self.width * self.n_timesteps if self.pooling == "flatten" else self.width

    def init_params(self, rng, dtype=np.float32):
        """Glorot-uniform kernel, zero bias (Keras's defaults)."""
        return {"kernel": glorot_uniform(rng, (self.in_width, self.n_outputs), dtype),
                "bias": np.zeros(self.n_outputs, dtype)}

    @staticmethod
    def weights(p):
        return [p["kernel"], p["bias"]]

    def weight_shapes(self):
        """Shapes of :meth:`weights`' arrays, without making them."""
        return [(self.in_width, self.n_outputs), (self.n_outputs,)]

    def summary_rows(self, n_timesteps):
        n_params = self.in_width * self.n_outputs + self.n_outputs
        if self.pooling == SEQUENCE:
            return [("time_distributed (TimeDistributed(Dense))",
                     f"(None, {n_timesteps or 'None'}, {self.n_outputs})", n_params)]
        rows = []
        if self.pooling == "flatten":
            rows.append(("flatten (Flatten)", f"(None, {self.in_width})", 0))
        elif self.pooling in ("mean", "max"):
            pool = "GlobalAveragePooling1D" if self.pooling == "mean" else "GlobalMaxPooling1D"
            rows.append((f"pooling ({pool})", f"(None, {self.in_width})", 0))
        rows.append(("dense (Dense)", f"(None, {self.n_outputs})", n_params))
        return rows

    def forward(self, p, h_last, seq, packed):
        """Outputs of a batch.

        Parameters
        ----------
        p : dict
        h_last : ndarray of shape (B, W)
        seq : ndarray of shape (T, B, W) or None
            Needed when :attr:`needs_sequence`.
        packed : Packed
            The batch (its ``start`` and ``positions``).

        Returns
        -------
        outputs : ndarray of shape (B, n_outputs) or (B, T_in, n_outputs)
        cache : tuple
            For :meth:`backward`.
        """
        feats = self._pool(h_last, seq, packed)
        return feats @ p["kernel"] + p["bias"], (feats, seq, packed)

    def backward(self, p, cache, d_out):
        """Gradients given the gradient on the outputs.

        Returns
        -------
        grads : dict
            ``kernel`` and ``bias``.
        d_last : ndarray of shape (B, W) or None
        d_seq : ndarray of shape (T, B, W) or None
        """
        feats, seq, packed = cache
        if self.pooling == SEQUENCE:  # the same Dense at every position: sum over them
            flat_feats, flat_d = feats.reshape(-1, feats.shape[-1]), d_out.reshape(-1, self.n_outputs)
            grads = {"kernel": flat_feats.T @ flat_d, "bias": column_sums(flat_d)}
        else:
            grads = {"kernel": feats.T @ d_out, "bias": d_out.sum(axis=0)}
        d_feats = d_out @ p["kernel"].T
        d_last, d_seq = self._pool_backward(d_feats, seq, packed)
        return grads, d_last, d_seq

    def _pool(self, h_last, seq, packed):
        if self.pooling == "last":
            return h_last
        if self.pooling in ("flatten", SEQUENCE):
            B = packed.start.shape[0]
            dense = unpack_sequence(packed, seq, np.zeros((B, seq.shape[2]), seq.dtype))
            return dense if self.pooling == SEQUENCE else dense.reshape(B, -1)
        real = np.arange(seq.shape[0])[:, None] >= packed.start[None, :]
        if self.pooling == "mean":
            n = np.maximum(real.sum(axis=0), 1)[:, None]
            return (seq * real[:, :, None]).sum(axis=0) / n
        masked = np.where(real[:, :, None], seq, -np.inf).max(axis=0)
        return np.where(np.isfinite(masked), masked, 0.0).astype(seq.dtype)

    def _pool_backward(self, d_feats, seq, packed):
        if self.pooling == "last":
            return d_feats, None
        T = seq.shape[0]
        if self.pooling in ("flatten", SEQUENCE):
            B = packed.start.shape[0]
            d_seq, _ = pack_sequence_grad(packed, d_feats.reshape(B, -1, seq.shape[2]), T)
            return None, d_seq
        real = np.arange(T)[:, None] >= packed.start[None, :]
        if self.pooling == "mean":
            n = np.maximum(real.sum(axis=0), 1)[:, None]
            return None, real[:, :, None] * (d_feats / n)[None]
        masked = np.where(real[:, :, None], seq, -np.inf)
        arg = masked.argmax(axis=0)  # (B, W): first maximising step
        d_seq = np.zeros_like(seq)
        b_idx, h_idx = np.indices(arg.shape)
        d_seq[arg, b_idx, h_idx] = d_feats * real.any(axis=0)[:, None]
        return None, d_seq
