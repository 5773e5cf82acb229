"""Sequence utilities with Keras's semantics."""

import numbers

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0):
    """Pad (and truncate) sequences to a common length, exactly like Keras.

    Parameters
    ----------
    sequences : iterable of sequences
        Lists, tuples or 1-D arrays (possibly empty); items may themselves be
        arrays of features, which are kept as trailing dimensions.
    maxlen : int, optional
        Output length; by default the longest sequence.
    dtype : str or dtype, default "int32"
    padding : {"pre", "post"}, default "pre"
        Pad before (default) or after each sequence.
    truncating : {"pre", "post"}, default "pre"
        Drop values from the beginning (default, keeps the end) or the end.
    value : scalar, default 0
        Padding value.

    Returns
    -------
    ndarray of shape (n_sequences, maxlen, ...)

    Examples
    --------
    >>> pad_sequences([[1, 2, 3], [4, 5], [6]]).tolist()
    [[1, 2, 3], [0, 4, 5], [0, 0, 6]]
    >>> pad_sequences([[1, 2, 3], [4, 5]], padding="post").tolist()
    [[1, 2, 3], [4, 5, 0]]
    >>> pad_sequences([[1, 2, 3], [4, 5]], maxlen=2).tolist()
    [[2, 3], [4, 5]]
    >>> pad_sequences([[1, 2, 3], [4, 5]], maxlen=2, truncating="post").tolist()
    [[1, 2], [4, 5]]
    >>> pad_sequences([[1], []], maxlen=3, value=9).tolist()
    [[9, 9, 1], [9, 9, 9]]
    """
    if padding not in ("pre", "post"):
        raise ValueError(f'padding must be "pre" or "post", got {padding!r}')
    if truncating not in ("pre", "post"):
        raise ValueError(f'truncating must be "pre" or "post", got {truncating!r}')
    if not hasattr(sequences, "__len__"):
        raise ValueError("sequences must be iterable with a length")
    seqs = []
    for i, s in enumerate(sequences):
        if not hasattr(s, "__len__") or isinstance(s, (str, bytes)):
            raise ValueError(f"sequences[{i}] is not a sequence: {s!r}")
        seqs.append(np.asarray(s))
    lengths = [len(s) for s in seqs]
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif not isinstance(maxlen, numbers.Integral) or maxlen < 0:
        raise ValueError(f"maxlen must be a non-negative integer, got {maxlen!r}")
    sample_shape = next((s.shape[1:] for s in seqs if len(s)), ())
    is_int = np.issubdtype(np.dtype(dtype), np.integer)
    out = np.full((len(seqs), maxlen) + tuple(sample_shape), value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not len(s) or maxlen == 0:
            continue
        if s.shape[1:] != sample_shape:
            raise ValueError(f"sequences[{i}] has item shape {s.shape[1:]}, expected {sample_shape}")
        if is_int and s.dtype.kind not in "iub":
            if s.dtype.kind != "f" or not np.all(np.isfinite(s)) or np.any(s != np.round(s)):
                raise ValueError(f"sequences[{i}] holds non-integer values but dtype={dtype!r}")
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, maxlen - len(trunc):] = trunc
    return out
