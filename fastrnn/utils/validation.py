"""Input checks shared by the estimators: clear errors that name the problem."""

import numbers

import numpy as np

from ..layers._packing import MaskedSequences
from ..text import _is_missing, pad_sequences


def _is_ragged(X):
    if isinstance(X, np.ndarray):
        return X.dtype == object
    if type(X).__name__ == "Series" and hasattr(X, "to_numpy"):  # pandas: a column of sequences
        return X.dtype == object
    return isinstance(X, (list, tuple))


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


def _float_rows(items, floats=False):
    """Each item of a list as a float array, if the list holds float sequences, else None.

    Float sequences are items whose first non-empty one is a float (or boolean) array of
    one or two dimensions; one of integers keeps the list token ids (unless
    ``floats``: a model that reads float sequences), and an item that is not
    an array of numbers (an object row from a pandas frame) leaves the list to
    the array path.
    """
    if not hasattr(items[0], "__len__") or isinstance(items[0], (str, bytes)):
        return None
    # the first non-empty item decides: an empty list reads as floats, whatever the others hold
    probe = next((item for item in items if not hasattr(item, "__len__")
                  or isinstance(item, (str, bytes)) or len(item)), items[0])
    first = np.asarray(probe)
    # booleans are values (on/off readings), as in a boolean array X; never token ids
    if first.dtype.kind not in ("fiub" if floats else "fb") or first.ndim not in (1, 2):
        return None
    rows = []
    for i, item in enumerate(items):
        if isinstance(item, (str, bytes)) or not hasattr(item, "__len__"):
            raise ValueError(f"X[{i}] is {type(item).__name__}, not a sequence: X is a list of "
                             "float sequences, each of shape (n_steps,) or (n_steps, n_features)")
        row = np.asarray(item)
        if row.dtype.kind not in "fiub":
            raise ValueError(f"X[{i}] holds {row.dtype} values: each sequence of X must hold "
                             "numbers")
        rows.append(row)
    return rows


def _ragged_floats(rows, dtype=None):
    """A list of float sequences (n_steps,) or (n_steps, F) as post-padded values and a mask.

    The padded block (every row as long as the longest) is the one copy made,
    in ``dtype`` when given (the model's: no second copy to cast it), and the
    rows are checked for NaN and range before it, one at a time.
    """
    ndim = rows[0].ndim
    n_features = 1 if ndim == 1 else rows[0].shape[1]
    for i, row in enumerate(rows):
        if row.ndim != ndim:
            raise ValueError(f"X[{i}] is {row.ndim}-D but X[0] is {ndim}-D: every sequence of X "
                             "must be (n_steps,) or every one (n_steps, n_features)")
        if ndim == 2 and row.shape[1] != n_features:
            raise ValueError(f"X[{i}] has {row.shape[1]} features per step but X[0] has "
                             f"{n_features}: every sequence of X needs the same number")
        if len(row) == 0:
            raise ValueError(f"X[{i}] is empty: every sequence of X needs at least one step")
    lengths = np.array([len(row) for row in rows])
    if n_features == 0:
        raise ValueError("X has 0 features per step")
    if dtype is None:  # float32 rows stay float32 (half the memory of float64), others float64
        dtype = np.float32 if all(row.dtype == np.float32 for row in rows) else np.float64
    dtype = np.dtype(dtype)
    largest = np.finfo(dtype).max
    for i, row in enumerate(rows):
        if not np.isfinite(row).all():
            raise ValueError(f"X contains NaN or infinity (in X[{i}])")
        big = float(np.abs(row).max()) if row.dtype.itemsize > dtype.itemsize else 0.0
        if big > largest:
            raise ValueError(f"X holds values beyond the range of {dtype.name} (|x| up to "
                             f"{big:.3g}, in X[{i}]): scale the data, or use dtype='float64'")
    values = np.zeros((len(rows), int(lengths.max()), n_features), dtype=dtype)
    mask = np.arange(values.shape[1])[None, :] < lengths[:, None]
    for i, row in enumerate(rows):
        values[i, :len(row)] = row.reshape(len(row), n_features)
    return MaskedSequences(values, mask, ragged=True)


def _apply_mask(X, mask):
    """Padded floats ``X`` (n, T, F) and a user's ``mask`` as :class:`MaskedSequences`."""
    if hasattr(mask, "to_numpy"):
        mask = mask.to_numpy()
    mask = np.asarray(mask)
    if mask.dtype == object:  # as pandas' nullable "boolean" and "Int64" give
        if not all(isinstance(v, (bool, np.bool_, numbers.Real)) for v in mask.flat):
            raise ValueError("mask holds a missing value (None or NA) or other objects: it must "
                             "be True at the real steps and False at padding")
        mask = mask.astype(float)
    if mask.shape != X.shape[:2]:
        raise ValueError(f"mask has shape {mask.shape} but X has {X.shape[0]} samples of "
                         f"{X.shape[1]} steps: mask must have shape {X.shape[:2]} (True = real "
                         "step, False = padding)")
    if mask.dtype != bool:
        if mask.dtype.kind not in "iuf" or not np.isin(mask, (0, 1)).all():
            raise ValueError(f"mask must be boolean (True = real step, False = padding); got "
                             f"{mask.dtype} values")
        mask = mask.astype(bool)
    empty = np.flatnonzero(~mask.any(axis=1))
    if len(empty):
        raise ValueError(f"mask marks no real step in row {int(empty[0])} of X ({len(empty)} "
                         "such row(s)): every sequence needs at least one step")
    bad = np.argwhere(mask & ~np.isfinite(X).all(axis=2))
    if len(bad):
        raise ValueError(f"X contains NaN or infinity at a real step (row {bad[0][0]}, step "
                         f"{bad[0][1]}; {len(bad)} step(s) in all): NaN is allowed at padded "
                         "steps only, where mask is False")
    values = np.where(mask[:, :, None], X, 0.0)  # padded steps may hold NaN
    return MaskedSequences(values, mask)


def _nullable_floats(X):
    """A pandas frame of float columns, some nullable (``Float64``), as float64, ``pandas.NA`` as NaN.

    NaN then follows the rules of float input (allowed at padded steps, where
    ``mask`` is False); other frames are returned as they are.
    """
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns") or not len(X.columns):
        return X
    if all(getattr(d, "kind", None) == "f" for d in dtypes) and not all(
            isinstance(d, np.dtype) for d in dtypes):  # some of them nullable
        return X.to_numpy(dtype=np.float64, na_value=np.nan)
    return X


def check_sequences(X, *, mask=None, floats=False, dtype=None):
    """Validate and encode model input.

    Parameters
    ----------
    X : array-like
        2-D int ``(n, T)`` token ids (0 = padding), a list of id lists of
        different lengths (pre-padded like Keras), 2-D float ``(n, T)`` (one
        feature per step), 3-D float ``(n, T, F)``, or a list of float arrays
        of shapes ``(T_i,)`` or ``(T_i, F)`` (variable lengths).  An object
        array (a pandas frame of nullable ``Int64`` columns gives one) holding
        only integers is read as token ids, holding only floats as float
        sequences; missing values or a mix of the two are refused (a frame of
        nullable float columns is read as floats, ``pandas.NA`` as NaN).
    mask : array-like of shape (n, T), bool, optional
        For a padded float array ``X``: True at real steps, False at padding
        (anywhere in a row; NaN may sit there).  Token ids mark padding with
        id 0 and take no mask; a list of sequences needs none.
    floats : bool, default False
        Read integers as float sequences, not token ids (for a model fitted
        on float sequences).
    dtype : dtype or None
        The float type a list of float sequences is padded into (the model's);
        None keeps float32 rows float32 and reads others as float64.

    Returns
    -------
    X : ndarray of shape (n, T) int32 or (n, T, F) float, or MaskedSequences
        A :class:`~fastrnn.layers._packing.MaskedSequences` for a list of
        float sequences or a float array with a ``mask``.
    kind : {"tokens", "dense"}
    """
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError("X is a sparse matrix. Sparse input is not supported: pass a dense array "
                        "of token ids or float sequences")
    X = _nullable_floats(X)
    if _is_ragged(X):
        items = list(X)
        if not items:
            raise ValueError("X is empty: at least one sample is required")
        rows = _float_rows(items, floats)
        if rows is not None:
            if mask is not None:
                raise ValueError("mask is for a padded float array X; X is a list of sequences, "
                                 "whose lengths already say which steps are real: pass no mask")
            return _ragged_floats(rows, dtype), "dense"
        first = np.asarray(items[0]) if hasattr(items[0], "__len__") else None
        if first is not None and first.dtype.kind in "iu" or (first is not None and first.size == 0):
            try:
                X = pad_sequences(items, dtype="int64")
            except ValueError as exc:
                raise ValueError(f"X could not be read as token id sequences: {exc}") from None
        else:
            try:
                X = np.asarray(items)
            except ValueError:  # NumPy's "inhomogeneous shape": rows of different lengths
                raise ValueError("X is a list whose rows differ in length or shape and are not "
                                 "all float (or all integer) sequences: pass a list of float "
                                 "arrays (T_i,) or (T_i, n_features), or of token id lists, "
                                 "without missing values") from None
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
    if X.dtype.kind in "iu" and X.ndim == 2 and not floats:
        if mask is not None:
            raise ValueError("mask is for float sequences: X holds integer token ids, whose "
                             "padding is id 0; pass no mask (or pass X as floats)")
        if X.min() < 0:
            raise ValueError(f"Negative values in data passed to X: token ids must be >= 0 "
                             f"(0 = padding), found {X.min()}")
        if X.max() >= np.iinfo(np.int32).max:
            raise ValueError("token ids must fit in int32")
        return np.ascontiguousarray(X, dtype=np.int32), "tokens"
    if X.dtype.kind == "c":
        raise ValueError("Complex data not supported: X holds complex numbers")
    # float32 input stays float32: a float32 model would otherwise read a float64 copy cast back
    X = np.asarray(X, dtype=X.dtype if X.dtype in (np.float32, np.float64) else np.float64)
    if X.ndim == 2:
        X = X[:, :, None]
    if mask is not None:
        return _apply_mask(X, mask), "dense"
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity (if NaN marks padding, pass mask=, True at "
                         "the real steps; cross-validation hands a mask to score only with "
                         "metadata routing and set_score_request(mask=True), or pass X as a list "
                         "of sequences)")
    return X, "dense"


def real_steps(X):
    """Which steps of validated input are real: ``(n, T)`` bool.

    Parameters
    ----------
    X : ndarray of shape (n, T) ids (0 = padding) or (n, T, F) floats, or MaskedSequences
    """
    if isinstance(X, MaskedSequences):
        return X.mask
    if X.ndim == 2:
        return X != 0
    return np.ones(X.shape[:2], dtype=bool)


def check_target_rows(X, Y, validation_data=None):
    """Refuse a row of per-step targets ``Y`` whose length is not its sequence's, when ``X`` is a
    list of sequences of several lengths (read from ``X`` as given, before validation); the
    same for ``validation_data``'s ``(X_val, y_val[, mask])`` when given.

    Ragged sequences are padded inside, so a ``Y`` padded by hand (every row
    as long as the longest sequence) would otherwise pass the shape check
    with its labels shifted against the tokens.  Rectangular ``X`` may carry
    labels at its padding, so its ``Y`` is checked by shape only.
    """
    _check_row_lengths(X, Y)
    if isinstance(validation_data, (tuple, list)) and len(validation_data) >= 2:
        _check_row_lengths(*validation_data[:2])


def _check_row_lengths(X, Y):
    """:func:`check_target_rows` for one ``(X, Y)``."""
    if hasattr(X, "to_numpy") and not hasattr(X, "columns"):  # a pandas Series of sequences
        X = X.to_numpy()
    if not (isinstance(X, (list, tuple)) or isinstance(X, np.ndarray) and X.dtype == object
            and X.ndim == 1):
        return
    try:
        lengths = [len(row) for row in X]
    except TypeError:
        return  # not a list of sequences: check_sequences names the problem
    first = next((row for row, n in zip(X, lengths) if n), None)
    if first is not None and np.asarray(first).dtype.kind in "fb":
        return  # float sequences keep their masks: check_step_targets checks them
    if len(set(lengths)) <= 1 or not hasattr(Y, "__len__") or len(Y) != len(lengths):
        return
    if hasattr(Y, "to_numpy"):
        Y = Y.to_numpy()
    for i, (row, n) in enumerate(zip(Y, lengths)):
        if hasattr(row, "__len__") and not isinstance(row, (str, bytes)) and len(row) != n:
            raise ValueError(f"y row {i} has {len(row)} targets but X[{i}] has {n} steps: for "
                             "a list of sequences of several lengths, y needs one target per "
                             "step of each (not padded)")


def check_step_targets(Y, X, estimator):
    """The per-step targets ``Y`` at the real steps of validated input ``X``, in row order.

    Parameters
    ----------
    Y : array-like of shape (n, T) or (n, T, k), or a list of n sequences
        A padded array aligned with ``X`` (any value, NaN included, at padded
        steps), or one sequence per row holding a target for each real step
        of that row (or, when ``X`` is a padded array, for each of its ``T``
        steps).  A list of sequences ``X`` of different lengths needs a list
        ``Y`` with one target per step of each sequence.
    X : ndarray or MaskedSequences
        As :func:`check_sequences` returns it.
    estimator : str
        Named in the messages.

    Returns
    -------
    ndarray of shape (n_real,) or (n_real, k)
        The real steps' targets, row by row.
    """
    if Y is None:
        raise ValueError(f"{estimator} requires y to be passed, but the target y is None")
    if hasattr(Y, "to_numpy"):
        Y = Y.to_numpy()
    real = real_steps(X)
    n, T = real.shape
    per_sequence = ("y must hold a target for every step of X, but it holds one per sequence "
                    "(for that, use RNNClassifier or RNNRegressor)")
    if isinstance(Y, (str, bytes)) or not hasattr(Y, "__len__"):
        raise ValueError(f"y must hold a target for every step of X; got {type(Y).__name__}")
    if isinstance(Y, np.ndarray) and Y.dtype != object:
        if Y.ndim == 1:
            raise ValueError(per_sequence)
        if len(Y) != n:
            raise ValueError(f"X and y have different numbers of samples: {n} and {len(Y)}")
        if Y.ndim not in (2, 3) or Y.shape[:2] != (n, T):
            raise ValueError(f"y must have a target for every step of X: X has {n} samples of "
                             f"{T} steps, y has shape {Y.shape}")
        if isinstance(X, MaskedSequences) and X.ragged and not real.all():
            raise ValueError("X is a list of sequences of different lengths: pass y as a list "
                             "too, one sequence of targets per sequence of X")
        return Y[real]
    if len(Y) != n:
        raise ValueError(f"X and y have different numbers of samples: {n} and {len(Y)}")
    # a padded row of y is aligned with X's own padding, which a list of sequences X does not have
    padded_rows_ok = not (isinstance(X, MaskedSequences) and X.ragged)
    parts = []
    for i, row in enumerate(Y):
        if isinstance(row, (str, bytes)) or not hasattr(row, "__len__"):
            raise ValueError(per_sequence)
        row = np.asarray(row)
        n_real = int(real[i].sum())
        if len(row) == n_real:
            parts.append(row)
        elif len(row) == T and padded_rows_ok:
            parts.append(row[real[i]])
        else:
            ids = ("; X holds integers, read as token ids whose 0 is padding: for float "
                   "sequences of whole numbers, pass them as floats"
                   if not isinstance(X, MaskedSequences) and X.ndim == 2 else "")
            raise ValueError(f"y[{i}] has {len(row)} steps but X[{i}] has {n_real} real steps: "
                             f"y needs one target per real step of X{ids}")
        if parts[-1].shape[1:] != parts[0].shape[1:] or parts[-1].ndim > 2:
            raise ValueError(f"y[{i}] has shape {row.shape}: every sequence of y must be "
                             "(n_steps,) or every one (n_steps, n_outputs) with the same n_outputs")
    return np.concatenate(parts)
