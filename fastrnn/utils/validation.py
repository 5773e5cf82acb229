"""Input checks shared by the estimators: clear errors that name the problem."""

import numpy as np

from ..text import pad_sequences


def _is_ragged(X):
    if isinstance(X, np.ndarray):
        return X.dtype == object
    return isinstance(X, (list, tuple))


def check_sequences(X, *, allow_tokens=True):
    """Validate and encode model input.

    Parameters
    ----------
    X : array-like
        2-D int ``(n, T)`` token ids (0 = padding), a list of id lists of
        different lengths (pre-padded like Keras), 2-D float ``(n, T)`` (one
        feature per step) or 3-D float ``(n, T, F)``.

    Returns
    -------
    X : ndarray of shape (n, T) int32 or (n, T, F) float
    kind : {"tokens", "dense"}
    """
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError("Sparse input is not supported: pass a dense array of token ids or float "
                        "sequences")
    if _is_ragged(X):
        items = list(X)
        if not items:
            raise ValueError("X is empty: at least one sample is required")
        first = np.asarray(items[0]) if hasattr(items[0], "__len__") else None
        if first is not None and first.dtype.kind in "iub" or (first is not None and first.size == 0):
            try:
                X = pad_sequences(items, dtype="int64")
            except ValueError as exc:
                raise ValueError(f"X could not be read as token id sequences: {exc}") from None
        else:
            X = np.asarray(items)
    X = np.asarray(X)
    if X.dtype == object:
        X = X.astype(np.float64)  # TypeError/ValueError name the offending value
    if X.dtype.kind in "US":
        raise ValueError("X holds strings; encode text first (e.g. with fastrnn.TextSequencer)")
    if X.ndim not in (2, 3):
        hint = (" Reshape your data either using array.reshape(-1, 1) if your data has a single "
                "timestep or array.reshape(1, -1) if it contains a single sample."
                if X.ndim == 1 else "")
        raise ValueError(
            f"X must be 2-D (n_samples, n_timesteps) or 3-D (n_samples, n_timesteps, n_features); "
            f"got {X.ndim}-D input with shape {X.shape}.{hint}")
    if X.shape[0] == 0:
        raise ValueError(f"X is empty: found 0 samples (shape {X.shape}); at least one is required")
    if X.shape[1] == 0:
        raise ValueError(f"X has 0 timesteps: found 0 feature(s) (shape={X.shape}) while a minimum "
                         "of 1 is required.")
    if X.ndim == 3 and X.shape[2] == 0:
        raise ValueError(f"X has 0 features (shape {X.shape})")
    if X.dtype.kind in "iu" and X.ndim == 2 and allow_tokens:
        if X.min() < 0:
            raise ValueError(f"X holds negative token ids (min {X.min()}); ids must be >= 0 "
                             "(0 = padding)")
        if X.max() >= np.iinfo(np.int32).max:
            raise ValueError("token ids must fit in int32")
        return np.ascontiguousarray(X, dtype=np.int32), "tokens"
    if X.dtype.kind == "c":
        raise ValueError("Complex data not supported: X holds complex numbers")
    X = np.asarray(X, dtype=np.float64)
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity")
    if X.ndim == 2:
        X = X[:, :, None]
    return X, "dense"
