"""Input checks shared by the estimators: clear errors that name the problem."""

import numbers

import numpy as np

from ..text import pad_sequences


def _is_ragged(X):
    if isinstance(X, np.ndarray):
        return X.dtype == object
    return isinstance(X, (list, tuple))


def _is_missing(value):
    # None, a float NaN, or pandas' NA (matched by type name: pandas is not a dependency)
    return value is None or type(value).__name__ == "NAType" or (
        isinstance(value, float) and value != value)


def _object_to_numeric(X):
    """An object array (e.g. from a pandas nullable-integer frame) as int64 ids or float64.

    Integers only are token ids; floats (possibly with integers among them) are
    float sequences, unless every value is a whole number: such a mix of
    integers and whole floats is ambiguous and refused, as are missing values
    and other objects, so that ids are never silently read as floats.
    """
    values = X.ravel().tolist()
    if any(map(_is_missing, values)):
        raise ValueError("X contains NaN or missing values (None, NaN or pandas.NA); fill or drop "
                         "them first")
    is_int = [isinstance(v, numbers.Integral) for v in values]
    if all(is_int):
        return np.asarray(values, dtype=np.int64).reshape(X.shape)
    if any(isinstance(v, (str, bytes)) for v in values):
        raise ValueError("X holds strings; encode text first (e.g. with fastrnn.TextSequencer)")
    if not all(isinstance(v, numbers.Real) for v in values):
        bad = next(v for v in values if not isinstance(v, numbers.Real))
        raise TypeError(f"X holds a {type(bad).__name__}, {bad!r}: each element of X must be a "
                        "number (the argument must be a string or a number that reads as an "
                        "integer token id or a float)")
    if any(is_int) and all(float(v).is_integer() for v in values):
        raise ValueError("X is an object array mixing integers and floats: convert it with "
                         "X.astype(int) for token ids or X.astype(float) for float sequences")
    return np.asarray(values, dtype=np.float64).reshape(X.shape)


def check_sequences(X, *, allow_tokens=True):
    """Validate and encode model input.

    Parameters
    ----------
    X : array-like
        2-D int ``(n, T)`` token ids (0 = padding), a list of id lists of
        different lengths (pre-padded like Keras), 2-D float ``(n, T)`` (one
        feature per step) or 3-D float ``(n, T, F)``.  An object array (a
        pandas frame of nullable ``Int64`` columns gives one) holding only
        integers is read as token ids, holding only floats as float sequences;
        missing values or a mix of the two are refused.

    Returns
    -------
    X : ndarray of shape (n, T) int32 or (n, T, F) float
    kind : {"tokens", "dense"}
    """
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError("X is a sparse matrix. Sparse input is not supported: pass a dense array "
                        "of token ids or float sequences")
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
        X = _object_to_numeric(X)
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
            raise ValueError(f"Negative values in data passed to X: token ids must be >= 0 "
                             f"(0 = padding), found {X.min()}")
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
