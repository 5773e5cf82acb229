"""Turn batch-major padded input into the kernels' time-major, right-aligned layout.

Padding (token id 0, or ``mask == False`` for float input) may sit anywhere in
a row.  Because a padded step leaves the state unchanged, removing padded
steps does not change any output or gradient; so every row is compacted and
right-aligned: its real steps keep their order and end at the last column.
The kernels then only need ``start[b]``, the first real column of row ``b``,
and a pre-padded, post-padded or unpadded copy of a sequence all become the
same kernel input.
"""

import functools
from typing import NamedTuple

import numpy as np


class Packed(NamedTuple):
    """A batch in kernel layout.

    Attributes
    ----------
    data : ndarray of shape (T, B) int32 or (T, B, F) float
        Real steps, time-major and right-aligned; padded cells hold 0.
    start : ndarray of shape (B,), int32
        First real step of each row (``T`` for an all-padding row).
    positions : ndarray of shape (B, T_in), int64
        For each input position, the packed step whose output it sees: the
        last real step at or before it, or -1 when there is none.
    """

    data: np.ndarray
    start: np.ndarray
    positions: np.ndarray

    @property
    def n_steps(self):
        return self.data.shape[0]


#: When every row's real steps are one slice, rows of at least this many values (steps x
#: features) are copied a slice at a time: a Python step per row against NumPy's per value.
SLICED_PACK_MIN_VALUES = 100


def _pack(values, real, fill_shape, dtype):
    B, T_in = real.shape
    lengths = real.sum(axis=1)
    T = max(int(lengths.max(initial=0)), 1)
    start = (T - lengths).astype(np.int32)
    rank = np.cumsum(real, axis=1) - 1  # index of each real step within its row
    out = np.zeros((T, B) + fill_shape, dtype=dtype)
    runs = (real[:, :1].sum(axis=1) + (real[:, 1:] & ~real[:, :-1]).sum(axis=1)) if T_in else lengths
    if runs.max(initial=0) <= 1 and T_in * int(np.prod(fill_shape)) >= SLICED_PACK_MIN_VALUES:
        # pre- or post-padding: each row's real steps are one slice, copied as one block
        # (a scatter of every cell costs more per cell than a row's slice costs per row)
        first = real.argmax(axis=1)
        for b in np.flatnonzero(lengths):
            out[start[b]:, b] = values[b, first[b]:first[b] + lengths[b]]
    else:
        rows, cols = np.nonzero(real)
        out[start[rows] + rank[rows, cols], rows] = values[rows, cols]
    positions = np.where(rank >= 0, start[:, None] + rank, -1)
    return Packed(out, start, positions)


def pack_tokens(ids):
    """Pack a padded id matrix.

    Parameters
    ----------
    ids : ndarray of shape (B, T_in), integer
        Token ids, 0 = padding.

    Returns
    -------
    Packed
        ``data`` of shape (T, B), int32, ``T`` = the longest real length.

    Examples
    --------
    >>> p = pack_tokens(np.array([[0, 0, 5, 6], [7, 0, 8, 0]]))
    >>> p.data.T.tolist(), p.start.tolist()
    ([[5, 6], [7, 8]], [0, 0])
    """
    ids = np.asarray(ids)
    real = ids != 0
    B, T_in = real.shape
    if B and T_in and real.all():  # no padding (fixed-length data): a transpose, no search
        return Packed(np.ascontiguousarray(ids.T, dtype=np.int32), np.zeros(B, dtype=np.int32),
                      _unpadded_positions(B, T_in))
    lengths = real.sum(axis=1)
    T = max(int(lengths.max(initial=0)), 1)
    cols = np.arange(T_in)
    first = T_in - lengths  # where each row's real steps begin if it is pre-padded
    if T <= T_in and np.array_equal(real, cols[None, :] >= first[:, None]):
        # already pre-padded (Keras's pad_sequences default): a slice, no scatter
        data = np.ascontiguousarray(ids[:, T_in - T:].T, dtype=np.int32)
        positions = np.where(real, cols[None, :] - (T_in - T), -1)
        return Packed(data, (T - lengths).astype(np.int32), positions)
    return _pack(ids, real, (), np.int32)


def pack_unpadded_rows(ids, rows):
    """``pack_tokens(ids[rows])`` for rows that hold no padding, without looking for any.

    A training batch source that knows every row of ``ids`` is unpadded packs
    each batch with one gather and one transposing cast.

    Parameters
    ----------
    ids : ndarray of shape (n, T_in), integer
        Token ids, none of them 0 in the rows ``rows``; ``T_in > 0``.
    rows : ndarray of shape (B,), int
        At least one row.

    Returns
    -------
    Packed
        The same arrays as ``pack_tokens(ids[rows])``.

    Examples
    --------
    >>> p = pack_unpadded_rows(np.array([[1, 2], [3, 4], [5, 6]]), np.array([2, 0]))
    >>> p.data.tolist(), p.start.tolist()
    ([[5, 1], [6, 2]], [0, 0])
    """
    data = ids.take(rows, axis=0).T.astype(np.int32, order="C")
    return Packed(data, np.zeros(len(rows), dtype=np.int32), _unpadded_positions(*data.shape[::-1]))


@functools.lru_cache(maxsize=16)
def _unpadded_positions(B, T_in):
    """Positions of ``B`` unpadded rows of ``T_in`` steps: a read-only view, shared by every batch
    of that shape (building it costs a small batch's packing again)."""
    return np.broadcast_to(np.arange(T_in), (B, T_in))


class MaskedSequences:
    """Float sequences padded to one length, with the step mask that says which steps are real.

    How variable-length float input travels from validation to the batches:
    it supports ``len()``, ``.shape`` (the values' shape) and row indexing
    (``X[rows]`` gives the rows' values and mask), so training, validation
    splits and prediction handle it as they handle a padded array.

    Parameters
    ----------
    values : ndarray of shape (n, T, F), float
        Padded steps hold 0.
    mask : ndarray of shape (n, T), bool
        True at real steps; every row has at least one.
    ragged : bool, default False
        Whether the input was a list of sequences (per-step predictions are
        then returned as a list of arrays).
    """

    __slots__ = ("values", "mask", "ragged")

    def __init__(self, values, mask, ragged=False):
        self.values, self.mask, self.ragged = values, mask, ragged

    def __len__(self):
        return len(self.values)

    @property
    def shape(self):
        return self.values.shape

    @property
    def ndim(self):
        return self.values.ndim

    @property
    def dtype(self):
        return self.values.dtype

    def __getitem__(self, rows):
        return MaskedSequences(self.values[rows], self.mask[rows], self.ragged)

    def lengths(self):
        """Real steps of every row, shape (n,)."""
        return self.mask.sum(axis=1)


def pack_dense(X, mask=None):
    """Pack float sequences, optionally with a step mask (Keras ``Masking``).

    Parameters
    ----------
    X : ndarray of shape (B, T_in, F)
        Float inputs.
    mask : ndarray of shape (B, T_in), bool, optional
        ``False`` marks padded steps; by default every step is real.

    Returns
    -------
    Packed
        ``data`` of shape (T, B, F).
    """
    X = np.asarray(X)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
    if mask is None or mask.all():  # nothing to compact: a transpose, no scatter
        B, T_in = X.shape[:2]
        data = np.ascontiguousarray(X.transpose(1, 0, 2))
        return Packed(data, np.zeros(B, dtype=np.int32), _unpadded_positions(B, T_in))
    return _pack(X, np.asarray(mask, dtype=bool), X.shape[2:], X.dtype)


def unpack_sequence(packed, H_seq, h0):
    """Map packed per-step outputs back to the input positions (batch-major).

    A padded position outputs the state after the last real step before it,
    or ``h0`` when there is none (Keras's masked ``return_sequences``).

    Parameters
    ----------
    packed : Packed
    H_seq : ndarray of shape (T, B, H)
    h0 : ndarray of shape (B, H)

    Returns
    -------
    ndarray of shape (B, T_in, H)
    """
    T, B, H = H_seq.shape
    positions = packed.positions
    # one gather from the (T * B, H) rows, not a copy of H_seq with h0 appended and then a
    # two-index gather; the positions before any real step (-1) take h0 afterwards
    rows = positions * B + np.arange(B)[:, None]
    before = positions < 0
    any_before = before.any()
    out = np.take(H_seq.reshape(T * B, H), np.where(before, 0, rows) if any_before else rows, axis=0)
    if any_before:
        b = np.nonzero(before)[0]
        out[before] = h0[b]
    return out


def real_positions(packed):
    """Which input positions hold a real step, (B, T_in) bool.

    A real position is one whose packed step (``packed.positions``) is a new
    one: padded positions repeat the step before them, or have none (-1).
    """
    before = np.concatenate([np.full((packed.positions.shape[0], 1), -1), packed.positions[:, :-1]],
                            axis=1)
    return packed.positions > before


def pack_sequence_grad(packed, dY, n_steps):
    """Adjoint of :func:`unpack_sequence`: sum input-position gradients per packed step.

    Parameters
    ----------
    packed : Packed
    dY : ndarray of shape (B, T_in, H)
    n_steps : int

    Returns
    -------
    dH_seq : ndarray of shape (T, B, H)
    dh0 : ndarray of shape (B, H)
    """
    B, _, H = dY.shape
    acc = np.zeros((n_steps + 1, B, H), dtype=dY.dtype)
    positions = packed.positions
    rows = np.where(positions < 0, n_steps, positions) * B + np.arange(B)[:, None]
    # Real positions are distinct packed rows, so they are assigned; np.add.at, slow per
    # element, only sums the padded positions' repeats, after them: each row's terms still
    # add in step order.
    new = real_positions(packed)
    flat = acc.reshape(-1, H)
    flat[rows[new]] = dY[new]
    repeats = ~new
    if repeats.any():
        np.add.at(flat, rows[repeats], dY[repeats])
    return acc[:-1], acc[-1]


def balanced_order(lengths, n_chunks):
    """Row order that makes padding free and balances the kernel's batch slices.

    The kernels split a batch into ``n_chunks`` contiguous slices (sizes
    ``ceil(B / n_chunks)``, the last one shorter) and, at each step, compute
    only up to the last row of a slice that has started.  Dealing the rows,
    longest first, round-robin to the slices gives each slice a similar amount
    of work and keeps every slice sorted longest-first, so no padded step of any
    row is computed.

    Parameters
    ----------
    lengths : ndarray of shape (B,)
        Real length of each row.
    n_chunks : int

    Returns
    -------
    ndarray of shape (B,)
        A permutation of ``range(B)``.

    Examples
    --------
    >>> balanced_order(np.array([1, 5, 3, 4, 2]), 2).tolist()
    [1, 2, 0, 3, 4]
    """
    B = len(lengths)
    n_chunks = max(1, min(int(n_chunks), B))
    size = -(-B // n_chunks)
    capacity = [min(size, B - j * size) for j in range(n_chunks)]
    slices = [[] for _ in range(n_chunks)]
    j = 0
    ranked = np.argsort(-np.asarray(lengths), kind="stable")
    if B % n_chunks == 0:  # equal slices: slice j holds ranks j, j + n, j + 2n, ...
        return ranked.reshape(size, n_chunks).T.ravel().astype(np.intp)
    for row in ranked:
        while len(slices[j]) >= capacity[j]:
            j = (j + 1) % n_chunks
        slices[j].append(row)
        j = (j + 1) % n_chunks
    return np.array([r for s in slices for r in s], dtype=np.intp)
