"""Input encoders: how a packed batch enters the first recurrent layer.

An encoder never builds the embedded ``(T, B, D)`` tensor: it describes the
input (:class:`~fastrnn.layers.projection.TokenInput` or
:class:`~fastrnn.layers.projection.DenseInput`) and the first recurrent layer
projects it in the table form its kernels read.  Its ``backward`` turns the
per-direction input gradients that the first layer returns into the
gradient of the encoder's own parameters.

Every encoder has the same interface:

- ``key``: the name of its entry in a model's parameter dict, or None when it
  has no parameters;
- ``width``: the number of input features the first recurrent layer sees;
- ``init_params(rng, dtype)`` -> its parameters (or None);
- ``weights(p)`` -> its arrays in Keras ``get_weights()`` order;
- ``pack(X, mask=None)`` -> :class:`~fastrnn.layers._packing.Packed`;
- ``layer_input(p, data, start, dropout_mask=None, projected=None,
  token_scale=None)`` -> the first layer's input for one direction (``data``
  already reversed for the backward direction; ``token_scale``: embedding
  dropout, token encoder only);
- ``backward(p, d_inputs)`` -> the gradient of its parameters (or None),
  given each direction's input gradient as the first layer returns it;
- ``summary_rows(n_timesteps)`` -> Keras-style summary rows;
- ``n_frozen``: how many of its parameters training leaves unchanged.
"""

from typing import NamedTuple

import numpy as np

from ._packing import pack_dense, pack_tokens
from .projection import DenseInput, TokenInput


class EmbeddingNoise(NamedTuple):
    """Training noise on the embedding output, shared by both directions of the first layer.

    Attributes
    ----------
    dropped : ndarray of shape (T, B), bool, or None
        Embedding dropout: the token occurrences (packed layout) whose
        embedding is zeroed; the others are scaled by ``token_scale``.
    token_scale : float or None
        ``1 / (1 - embedding_dropout)``.
    channels : ndarray of shape (B, D) or (D,), or None
        Spatial dropout: one channel mask per sequence (or, 1-D, one for the
        whole batch), already scaled, applied at every step.
    """

    dropped: np.ndarray = None
    token_scale: float = None
    channels: np.ndarray = None


def _sum_directions(d_inputs):
    """Sum per-direction gradients in direction order (None where a direction gives none)."""
    total = None
    for d in d_inputs:
        if d is not None:
            total = d if total is None else total + d
    return total


class TokenEncoder:
    """Token ids through an embedding (Keras ``Embedding(mask_zero=True)``).

    Parameters
    ----------
    n_ids : int
        Vocabulary size ``V``, padding id 0 included.
    dim : int
        Embedding width ``D``.
    trainable : bool, default True
        False freezes the embedding (Keras ``trainable=False``): :meth:`backward`
        gives no gradient (None), which the optimizers read as "leave it".
    """

    kind = "tokens"
    key = "embeddings"
    INIT_BLOCK = 1 << 20  # float64 values drawn at a time by init_params

    def __init__(self, n_ids, dim, trainable=True):
        self.n_ids = int(n_ids)
        self.dim = int(dim)
        self.trainable = bool(trainable)

    @property
    def n_frozen(self):
        return 0 if self.trainable else self.n_ids * self.dim

    @property
    def width(self):
        return self.dim

    def init_params(self, rng, dtype=np.float32):
        """Keras's default ``uniform(-0.05, 0.05)`` embedding, shape (V, D).

        Drawn in blocks of rows into an array of ``dtype``: the values are those
        of one float64 draw of the whole table (a generator's consecutive draws
        continue one stream), without a float64 table's memory.
        """
        out = np.empty((self.n_ids, self.dim), dtype=dtype)
        rows = max(1, self.INIT_BLOCK // max(self.dim, 1))
        for lo in range(0, self.n_ids, rows):
            hi = min(lo + rows, self.n_ids)
            out[lo:hi] = rng.uniform(-0.05, 0.05, (hi - lo, self.dim))
        return out

    @staticmethod
    def weights(p):
        return [p]

    def weight_shapes(self):
        """Shapes of :meth:`weights`' arrays, without making them."""
        return [(self.n_ids, self.dim)]

    @staticmethod
    def pack(X, mask=None):
        """Pack a ``(B, T_in)`` id matrix (0 = padding; ``mask`` is not used)."""
        return pack_tokens(X)

    def layer_input(self, p, data, start, dropout_mask=None, projected=None, token_scale=None):
        return TokenInput(data, start, p, dropout_mask, projected, token_scale, not self.trainable)

    def apply_noise(self, data, noise):
        """The ids and the per-sequence channel mask of the first layer under ``noise``.

        Parameters
        ----------
        data : ndarray of shape (T, B), int
            Packed ids.
        noise : EmbeddingNoise

        Returns
        -------
        data : ndarray of shape (T, B)
            ``data`` with dropped occurrences replaced by id ``n_ids`` (zero input).
        token_scale : float or None
        channels : ndarray of shape (B, dim) or (dim,), or None
        """
        token_scale = None
        if noise.dropped is not None:
            data = np.where(noise.dropped, self.n_ids, data)
            token_scale = noise.token_scale
        return data, token_scale, noise.channels

    def backward(self, p, d_inputs):
        """Embedding gradient (V, D): the directions' gradients summed; None when frozen."""
        if not self.trainable:
            return None
        return _sum_directions(d_inputs)

    def summary_rows(self, n_timesteps):
        return [("embedding (Embedding)", f"(None, {n_timesteps or 'None'}, {self.dim})",
                 self.n_ids * self.dim)]


class _Parameterless:
    """What an encoder without parameters of its own answers."""

    key = None
    n_frozen = 0

    @staticmethod
    def init_params(rng, dtype=np.float32):
        return None

    @staticmethod
    def weights(p):
        return []

    @staticmethod
    def weight_shapes():
        return []

    @staticmethod
    def backward(p, d_inputs):
        return None

    @staticmethod
    def summary_rows(n_timesteps):
        return []


class OneHotEncoder(_Parameterless):
    """Token ids as exact one-hot vectors of width ``n_ids`` (never materialised).

    Parameters
    ----------
    n_ids : int
    """

    kind = "onehot"

    def __init__(self, n_ids):
        self.n_ids = int(n_ids)

    @property
    def width(self):
        return self.n_ids

    @staticmethod
    def pack(X, mask=None):
        return pack_tokens(X)

    @staticmethod
    def layer_input(p, data, start, dropout_mask=None, projected=None, token_scale=None):
        if token_scale is not None:
            raise ValueError("embedding dropout needs an embedding, not one-hot input")
        return TokenInput(data, start, None, dropout_mask, projected)


class DenseEncoder(_Parameterless):
    """Float sequences of ``n_features`` values per step, with an optional step mask.

    Parameters
    ----------
    n_features : int
    """

    kind = "dense"

    def __init__(self, n_features):
        self.n_features = int(n_features)

    @property
    def width(self):
        return self.n_features

    @staticmethod
    def pack(X, mask=None):
        """Pack ``(B, T_in, F)`` floats; ``mask`` (B, T_in) bool marks the real steps."""
        return pack_dense(X, mask)

    @staticmethod
    def layer_input(p, data, start, dropout_mask=None, projected=None, token_scale=None):
        if projected is not None or token_scale is not None:
            raise ValueError("projection tables and embedding dropout need token input")
        return DenseInput(data, start, dropout_mask)


def make_encoder(input_kind, n_in, embedding_dim=None, embedding_trainable=True):
    """The encoder of an input kind.

    Parameters
    ----------
    input_kind : {"tokens", "onehot", "dense"}
    n_in : int
        Vocabulary size (tokens, onehot) or features per step (dense).
    embedding_dim : int or None
        Embedding width (tokens only).
    embedding_trainable : bool, default True
        False freezes the embedding (tokens only).

    Returns
    -------
    TokenEncoder, OneHotEncoder or DenseEncoder
    """
    if input_kind == "tokens":
        return TokenEncoder(n_in, embedding_dim, embedding_trainable)
    if input_kind == "onehot":
        return OneHotEncoder(n_in)
    if input_kind == "dense":
        return DenseEncoder(n_in)
    raise ValueError(f"input_kind must be 'tokens', 'onehot' or 'dense', got {input_kind!r}")
