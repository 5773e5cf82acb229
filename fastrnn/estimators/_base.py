"""The estimators' shared base: parameters declared once, one ``_fit`` behind ``fit`` and ``partial_fit``.

Class tree
----------
::

    BaseRNN                 every estimator: recurrent layers, optimizer, training loop,
     |                      validation, early stopping, checkpoints, warm start,
     |                      get_weights/set_weights, summary, save
     +- BaseSequenceRNN     input sequences X (ids or floats) in shuffled mini-batches:
     |   |                  + bidirectional, vocab_size, input_encoding, shuffle, monitor
     |   +- BasePooledRNN   one output per sequence: + head
     |   |   +- RNNClassifier (+ class_weight), RNNRegressor
     |   +- RNNSequenceTagger
     +- RNNLanguageModel    texts as parallel token streams in contiguous windows:
                            + level, max_features, lowercase, window

How parameters are declared
---------------------------
scikit-learn reads an estimator's parameters from the explicit signature of its
``__init__`` (``get_params``, ``set_params``, ``clone`` and the repr all go
through ``BaseEstimator._get_param_names``), refuses ``**kwargs`` there, and
wants ``__init__`` to store the arguments and do nothing else.  scikit-learn's
own estimator families (e.g. ``MLPClassifier`` and ``MLPRegressor``) repeat the
whole signature in every class and forward it to ``super().__init__``; with
about forty parameters over four estimators that is four copies to keep in step.

Here every parameter is written once, as an annotated class attribute whose
value :func:`param` builds from its default and its validation constraints, and
:func:`declare_params` hands the class to :func:`dataclasses.dataclass`
(keyword-only, ``repr=False``, ``eq=False``).  The standard library then writes
a real ``__init__(self, *, cell="lstm", units=32, ...)`` that only assigns, so
``inspect.signature`` (hence ``get_params``, ``clone``, ``set_params``) sees
every parameter with its default; a subclass's declarations are appended to
its base's; ``_parameter_constraints`` is collected from the same
declarations; ``repr=False`` and ``eq=False`` keep ``BaseEstimator``'s repr and
identity equality and hashing.  A subclass changes a default by declaring the
name again with a plain value (the constraint is inherited), as
``RNNLanguageModel`` does for ``units``.  A class that adds no parameter (the
tagger) inherits the generated ``__init__`` unchanged.
"""

import copy
import dataclasses
import functools
import inspect
import numbers
import os
import sys
import warnings
import weakref

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names, _check_sample_weight, check_is_fitted

from .._warnings import warn_at_caller
from ..callbacks import Callback, ModelCheckpoint, ProgressLogger
from ..layers import POOLINGS, Recurrent, SequenceModel
from ..layers._packing import MaskedSequences
from ..optimizers import make_optimizer
from ..runtime import default_n_threads, engine_scope, usable_threads
from ..schedules import ReduceOnPlateau, Schedule, make_schedule
from ..training import (ShuffledBatches, TrainConfig, TrainResult, predict_outputs, restores_best,
                        train)
from ..utils.validation import check_sequences, real_steps
from ._inspection import PooledInspectionMixin

ACTIVATION_NAMES = StrOptions({"tanh", "sigmoid", "hard_sigmoid", "relu", "linear"})
_POSITIVE_INT = Interval(numbers.Integral, 1, None, closed="left")
_POSITIVE_REAL = Interval(numbers.Real, 0, None, closed="neither")
_NON_NEGATIVE_REAL = Interval(numbers.Real, 0, None, closed="left")
_FRACTION = Interval(numbers.Real, 0, 1, closed="left")
# the id that unknown_ids="oov" gives unknown tokens: TextSequencer's out-of-vocabulary id
OOV_ID = 1
# an input table larger than this is announced with a warning before it is allocated
_LARGE_TABLE_BYTES = 2**30
# arrays of the input table's size that training holds: weights, gradient (and its clipped
# copy), Adam's two moments and the best epoch's weights
_TABLE_COPIES = 6
# the largest id is "stray" when it is this many times the next largest id, and at least _STRAY_MIN
_STRAY_RATIO = 10
_STRAY_MIN = 10_000


# --------------------------------------------------------------- declaring parameters
def param(default, *constraints):
    """Declare an estimator parameter: its default and its ``_parameter_constraints`` entry.

    Parameters
    ----------
    default : immutable value
        The constructor's default (None, a number, a string or a tuple, as
        scikit-learn requires).
    *constraints
        scikit-learn parameter constraints (``Interval``, ``StrOptions``,
        ``"boolean"``, a type, None, ...), any of which the value may satisfy.

    Returns
    -------
    dataclasses.Field
    """
    return dataclasses.field(default=default, metadata={"constraints": list(constraints)})


def declare_params(cls):
    """Class decorator: generate ``__init__`` and ``_parameter_constraints`` from :func:`param` fields.

    ``__init__`` is keyword-only and only stores its arguments (scikit-learn's
    contract).  A name declared again with a plain default keeps the
    constraint declared higher up.

    Parameters
    ----------
    cls : type
        A ``BaseEstimator`` subclass with annotated ``param(...)`` attributes.

    Returns
    -------
    cls
    """
    inherited = getattr(cls, "_parameter_constraints", {})
    cls = dataclasses.dataclass(cls, kw_only=True, repr=False, eq=False)
    constraints = {}
    for f in dataclasses.fields(cls):
        if "constraints" in f.metadata:
            constraints[f.name] = list(f.metadata["constraints"])
        elif f.name in inherited:
            constraints[f.name] = inherited[f.name]
        else:
            raise TypeError(f"{cls.__name__}.{f.name}: declare a new parameter with param(default, "
                            "*constraints)")
    cls._parameter_constraints = constraints
    return cls


# ------------------------------------------------------------------------ helpers
def _immutable(value):
    """Whether ``value`` cannot change in place (None, numbers, strings, types, tuples of those)."""
    if isinstance(value, tuple):
        return all(map(_immutable, value))
    return value is None or isinstance(value, (numbers.Number, str, bytes, type, np.dtype,
                                               Schedule))  # bools too; schedules are frozen


@functools.cache
def _param_names(cls):
    """``cls._get_param_names()``, which inspects the signature of ``__init__`` on every call."""
    return tuple(cls._get_param_names())


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _units_ok(units):
    if _is_int(units):
        return units >= 1
    return (isinstance(units, (tuple, list)) and len(units) > 0
            and all(_is_int(u) and u >= 1 for u in units))


def _integer_params(cls):
    """Names of the parameters constrained to integer intervals (``verbose`` may be a bool)."""
    return [name for name, constraints in cls._parameter_constraints.items()
            if name != "verbose" and any(isinstance(c, Interval) and c.type is numbers.Integral
                                         for c in constraints)]


def check_units_and_callbacks(units, callbacks):
    """The checks ``_validate_params`` cannot express: unit tuples and callback types."""
    if not _units_ok(units):
        raise ValueError(f"units must be a positive int or a non-empty tuple of them, got {units!r}")
    if callbacks is not None and not all(isinstance(c, Callback) for c in callbacks):
        raise TypeError("callbacks must be a list of fastrnn.callbacks.Callback instances")


#: The last weights-and-network key each fitted estimator passed :meth:`BaseRNN._fitted_network`'s
#: check with (kept outside the estimator: predicting must not change its attributes).
_CHECKED_WEIGHTS = weakref.WeakKeyDictionary()


def _n_arrays(params):
    """Arrays held in the nested dicts, lists and tuples of ``params``."""
    if isinstance(params, np.ndarray):
        return 1
    if isinstance(params, dict):
        return sum(_n_arrays(v) for v in params.values())
    if isinstance(params, (list, tuple)):
        return sum(_n_arrays(v) for v in params)
    return 0


#: Float input or regression targets whose mean or spread exceeds this get a warning at fit.
BADLY_SCALED = 100.0


def warn_if_badly_scaled(values, name, remedy):
    """Warn when a column of ``values`` (input features along the last axis, or targets) is far
    from unit scale.

    The weights start at unit scale (Glorot, orthogonal) and the activations
    saturate past a few units, so targets in the thousands or inputs of that
    size train slowly or not at all (sine windows times 1,000: R^2 0.007
    against 0.999), without any error.
    """
    if not values.size:
        return
    # column by column (features of X, outputs of y): one column in the hundreds among unit-scale
    # ones spoils training as much, while a mean over all of them can hide it
    columns = values.reshape(-1, values.shape[-1]) if values.ndim > 1 else values[:, None]
    means, stds = columns.mean(axis=0), columns.std(axis=0)
    size = np.maximum(np.abs(means), stds)
    worst = int(np.argmax(size))
    if size[worst] > BADLY_SCALED:
        which = name if columns.shape[1] == 1 else (
            f"{name}'s {'feature' if name == 'X' else 'output'} {worst}")
        warn_at_caller(f"{which} is far from unit scale (mean {means[worst]:.3g}, standard "
                       f"deviation {stds[worst]:.3g}): the network starts at unit scale and may "
                       f"not learn it; {remedy}")


def _check_step_names(estimator, X):
    """Refuse a frame whose column names differ from the fitted ones on the steps they share.

    A model fitted on float sequences of several lengths (a mask) predicts frames of any
    number of step columns; scikit-learn's check, which asks for the fitted names exactly,
    would refuse a wider one.  Reordered or renamed steps are refused as it refuses them.
    """
    fitted = getattr(estimator, "feature_names_in_", None)
    columns = getattr(X, "columns", None)
    if fitted is None or columns is None:
        return
    given = [str(c) for c in columns]
    shared = min(len(given), len(fitted))
    if given[:shared] != list(fitted[:shared]):
        first = next(i for i in range(shared) if given[i] != fitted[i])
        raise ValueError(f"The feature names should match those that were passed during fit: "
                         f"step column {first} is {given[first]!r}, fitted as {fitted[first]!r} "
                         "(a model of sequences of several lengths takes more or fewer step "
                         "columns, in the fitted order)")


def non_finite_rows(a):
    """Indices of the rows (along the first axis) of ``a`` holding NaN or infinity."""
    finite = np.isfinite(a)
    if finite.size == 0:
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(~finite.reshape(len(finite), -1).all(axis=1))


def check_float_range(values, dtype, name="X"):
    """Refuse float input or targets that the model's ``dtype`` cannot hold (they would become infinite)."""
    dtype = np.dtype(dtype)
    if values.dtype.itemsize > dtype.itemsize and values.size:
        largest = float(np.abs(values).max())
        if largest > np.finfo(dtype).max:
            raise ValueError(f"{name} holds values beyond the range of {dtype.name} (|{name.lower()}| "
                             f"up to {largest:.3g}): scale the data, or use dtype='float64'")


def _is_count(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0


def check_training_state(model, weights):
    """Raise ``ValueError`` unless the training state a continued fit reads is usable (``load``).

    ``n_iter_`` a count, ``history_`` lists of numbers by name, ``rng_`` a
    Generator, and the optimizer's state arrays shaped and typed like the
    weights they belong to (``weights``: the network's, in order).
    """
    if not _is_count(getattr(model, "n_iter_", None)):
        raise ValueError(f"n_iter_={getattr(model, 'n_iter_', None)!r} is not a count of epochs")
    history = getattr(model, "history_", None)
    if not isinstance(history, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(
                isinstance(x, (int, float, np.number)) and not isinstance(x, bool) for x in v)
            for k, v in history.items()):
        raise ValueError("history_ is not a mapping of names to lists of numbers")
    if not isinstance(getattr(model, "rng_", np.random.default_rng()), np.random.Generator):
        raise ValueError("rng_ is not a NumPy random Generator")
    if not _is_count(getattr(model, "lr_schedule_start_", 0)):
        raise ValueError("lr_schedule_start_ is not a count of epochs")
    held = getattr(model, "weights_epoch_", None)
    if held is not None and not (_is_count(held) and held < model.n_iter_):
        raise ValueError(f"weights_epoch_={held!r} is not one of the {model.n_iter_} epochs")
    opt = getattr(model, "optimizer_state_", None)
    if opt is None:
        return
    from ..optimizers import Optimizer

    if not isinstance(opt, Optimizer):
        raise ValueError(f"optimizer_state_ is a {type(opt).__name__}, not an optimizer")
    fresh = vars(type(opt)(learning_rate=1e-3))
    missing = set(fresh) - set(vars(opt))
    if missing:
        raise ValueError(f"the optimizer's state lacks {sorted(missing)}")
    if not _is_count(opt.iterations):
        raise ValueError(f"the optimizer's iterations={opt.iterations!r} is not a count")
    for name, value in vars(opt).items():
        number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
        if name in fresh and isinstance(fresh[name], float) and not number or (
                name in ("clipnorm", "clipvalue") and not (value is None or number)):
            raise ValueError(f"the optimizer's {name}={value!r} is not a number")
    for store in opt._slot_stores():
        if not isinstance(store, dict):
            raise ValueError("the optimizer's state arrays are not a mapping")
        for i, a in store.items():
            if not _is_count(i) or i >= len(weights):
                raise ValueError(f"the optimizer holds state for weight {i!r}, which the network "
                                 f"lacks ({len(weights)} weights)")
            w = weights[i]
            if not isinstance(a, np.ndarray) or a.shape != w.shape or a.dtype != w.dtype:
                raise ValueError(f"the optimizer's state for weight {i} is not a "
                                 f"{w.dtype} array of shape {w.shape}")


def check_weights_match(net, params, dtype):
    """Raise ``ValueError`` unless ``params`` holds exactly the arrays ``net`` expects.

    Used by ``load`` and before running a fitted model whose parameters may
    have changed since the fit (weights ``net`` would not read, such as an
    attention layer's that a network without attention ignores, count as a
    mismatch too).
    """
    expected = [tuple(int(n) for n in shape) for shape in net.weight_shapes()]
    dtype = np.dtype(dtype)
    try:
        got = net.weights(params)
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"the weights lack an array the network needs ({exc!r})") from None
    if len(got) != len(expected) or _n_arrays(params) != len(expected):
        raise ValueError(f"expected {len(expected)} weight arrays, found {_n_arrays(params)}")
    for i, (g, shape) in enumerate(zip(got, expected)):
        if not isinstance(g, np.ndarray) or g.shape != shape or g.dtype != dtype:
            raise ValueError(f"weight {i} is {getattr(g, 'dtype', type(g))}"
                             f"{getattr(g, 'shape', '')}, expected {dtype}{shape}")


# scikit-learn >= 1.6 refuses all-zero weights itself, with a message that does not name the
# argument; this module says it in its own words
_ZERO_WEIGHTS_OK = ({"allow_all_zero_weights": True}
                    if "allow_all_zero_weights" in inspect.signature(_check_sample_weight).parameters
                    else {})


def check_sample_weight(sample_weight, X, what="sample_weight"):
    """``sample_weight`` as float64 of shape (n_samples,): finite, non-negative, not all 0.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,)
    X : ndarray of shape (n_samples, ...)
    what : str
        The weights' name in the messages.

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    w = _check_sample_weight(sample_weight, X, dtype=np.float64, **_ZERO_WEIGHTS_OK)
    check_weights_usable(w, what)
    return w


def split_keeping_classes(n, test_size, seed, labels=None):
    """Indices ``(train, held_out)`` of a seeded random split of ``n`` rows, stratified by ``labels``.

    When a class is too rare to stratify by, the split is plain random, and
    the rows of any class it left out of the training part move there: a
    model cannot learn a class it never sees, and early stopping would then
    stop on a score it could not raise.  ``ValueError`` (scikit-learn's) when
    a part would be empty.
    """
    idx = np.arange(n)
    try:
        return train_test_split(idx, test_size=test_size, random_state=seed, stratify=labels)
    except ValueError:
        if labels is None:
            raise
    train, held_out = train_test_split(idx, test_size=test_size, random_state=seed)
    missing = np.isin(labels[held_out], labels[train], invert=True)
    if missing.any():
        train = np.sort(np.concatenate([train, held_out[missing]]))
        held_out = held_out[~missing]
    if len(held_out) == 0:
        raise ValueError("every held-out row is of a class the training part lacks")
    return train, held_out


def held_out_weights(w, train, held_out):
    """``(w[train], w[held_out])``, refused when either part weighs nothing (early_stopping's split).

    The held-out rows keep their weights (sample and class weights), so the
    validation loss and score weigh the rows as training does.
    """
    for rows, part in ((train, "training"), (held_out, "validation")):
        if not w[rows].sum() > 0:
            raise ValueError(f"early_stopping's split left the {part} part only samples of "
                             "weight 0 (sample_weight or class_weight); give those samples weight, "
                             "change validation_fraction or random_state, or pass validation_data")
    return w[train], w[held_out]


def check_partial_fit_classes(estimator, classes):
    """``partial_fit``'s ``classes``: required on the first call, the fitted ones (any order) after."""
    if not hasattr(estimator, "classes_"):
        if classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return
    if classes is not None and not np.array_equal(np.unique(np.asarray(classes)),
                                                  np.asarray(estimator.classes_)):
        raise ValueError(f"classes={np.unique(np.asarray(classes)).tolist()!r} differs from the "
                         f"classes the model was fitted with, "
                         f"{np.asarray(estimator.classes_).tolist()!r}")


def first_classes(labels, classes=None, where=""):
    """``classes_`` of a first fit: ``partial_fit``'s ``classes``, or the labels found in ``y``.

    Parameters
    ----------
    labels : ndarray of shape (n,)
        The labels of ``y`` (of its real steps, for per-step targets).
    classes : array-like or None
        ``partial_fit``'s ``classes`` on its first call.
    where : str
        Where in ``y`` the labels were read, for the messages (e.g. " at token positions").

    Returns
    -------
    ndarray of shape (n_classes,)
        Sorted, at least 2.

    Raises
    ------
    ValueError
        Fewer than 2 classes (naming ``classes`` when it was given), or labels
        of ``y`` missing from ``classes``.
    """
    if classes is None:
        found = np.unique(labels)
        if len(found) < 2:
            raise ValueError(f"y has only 1 class ({found.tolist()}){where}; at least 2 classes "
                             "are needed")
        return found
    found = np.unique(np.asarray(classes))
    if len(found) < 2:
        raise ValueError(f"classes holds {len(found)} class ({found.tolist()}); partial_fit needs "
                         "every class of the problem, at least 2")
    unseen = np.setdiff1d(np.unique(labels), found)
    if len(unseen):
        raise ValueError(f"y holds labels{where} that are not in classes: {unseen.tolist()[:10]}; "
                         f"classes is {found.tolist()[:10]}")
    return found


def check_weights_usable(w, what="sample_weight"):
    """Raise ``ValueError`` for negative weights, weights summing to 0, or too large to sum."""
    if (w < 0).any():
        raise ValueError(f"Negative values in data passed to {what}: weights must be >= 0 "
                         f"(min {w.min():g})")
    with np.errstate(over="ignore"):
        total = w.sum()
        room = total * 1e8  # a weighted loss sum must stay finite too
    if not np.isfinite(room):
        raise ValueError(f"{what} is too large to compute with (largest {w.max():g}, sum "
                         f"{total:g}): weights count relative to each other, so divide them by "
                         "their mean")
    if not total > 0:
        raise ValueError(f"{what} sums to 0 (every weight is zero): no sample would count")


def float_targets(y):
    """Regression targets as float64; ``ValueError`` unless every value reads as a number."""
    try:
        return np.asarray(y).astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("y must be numeric for a regressor") from None


def _available_memory():
    """Bytes of memory available to a new allocation, or None where the platform does not say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_input_table_size(n_ids, width, dtype, source):
    """Refuse or announce a first-layer table of ``n_ids`` rows before it is allocated.

    Parameters
    ----------
    n_ids, width : int
        Rows (token ids) and columns of the table (embedding or one-hot kernel).
    dtype : str
    source : str
        What set ``n_ids`` (e.g. ``"vocab_size=10000000"``), named in the message.

    Raises
    ------
    MemoryError
        When training would hold more copies of the table (weights, gradient,
        the optimizer's moments: ``_TABLE_COPIES``) than memory is available.
    """
    n_bytes = int(n_ids) * int(width) * np.dtype(dtype).itemsize
    what = (f"{source} makes the input table {n_ids:,} x {width} {dtype} = "
            f"{n_bytes / 2**30:.2f} GiB")
    memory = _available_memory()
    if memory is not None and _TABLE_COPIES * n_bytes > memory:
        raise MemoryError(f"{what}; training holds about {_TABLE_COPIES} such arrays, more than the "
                          f"{memory / 2**30:.1f} GiB of memory available; lower vocab_size (map "
                          "rare ids to an out-of-vocabulary id) or embedding_dim")
    if n_bytes > _LARGE_TABLE_BYTES:
        warn_at_caller(f"{what}; lower vocab_size or embedding_dim if that is not intended")


def check_embedding_init(estimator):
    """Raise unless ``embedding_init`` (if any) is a 2-D numeric table ``embedding_dim`` wide.

    Its rows are checked against the vocabulary at fit (:func:`initial_embeddings`).
    """
    E = estimator.embedding_init
    if E is None:
        return
    E = np.asarray(E)
    if E.ndim != 2 or E.dtype.kind not in "biuf":
        raise ValueError(f"embedding_init must be a 2-D numeric array (vocab_size, embedding_dim), "
                         f"got {E.dtype} of shape {E.shape}")
    if E.shape[1] != estimator.embedding_dim:
        raise ValueError(f"embedding_init has {E.shape[1]} columns but embedding_dim="
                         f"{estimator.embedding_dim}; pass embedding_dim={E.shape[1]}")
    vocab_size = getattr(estimator, "vocab_size", None)
    if vocab_size is not None and E.shape[0] != vocab_size:
        raise ValueError(f"embedding_init has {E.shape[0]} rows but vocab_size={vocab_size}; "
                         "they must be equal (or leave vocab_size=None: embedding_init's rows "
                         "set it)")
    if getattr(estimator, "input_encoding", "embedding") != "embedding":
        raise ValueError(f"embedding_init needs input_encoding='embedding', got "
                         f"{estimator.input_encoding!r}")


def initial_embeddings(estimator, params):
    """A copy of ``embedding_init`` in the model's dtype, checked against its embedding.

    Parameters
    ----------
    estimator : BaseRNN
        With ``embedding_init`` set.
    params : dict
        Freshly initialised parameters (their ``"embeddings"`` fix the shape).

    Returns
    -------
    ndarray of shape (vocab_size_, embedding_dim)
    """
    name = type(estimator).__name__
    if "embeddings" not in params:
        raise ValueError(f"embedding_init: this {name} has no embedding to initialise (it needs "
                         "token-id input read through an embedding)")
    expected = params["embeddings"].shape
    E = np.array(estimator.embedding_init, dtype=params["embeddings"].dtype, order="C", copy=True)
    if E.shape != expected:
        raise ValueError(f"embedding_init has shape {E.shape} but the model's embedding is "
                         f"{expected} (vocab_size_ x embedding_dim); its rows must cover every "
                         "token id")
    if not np.isfinite(E).all():
        raise ValueError("embedding_init contains NaN or infinity")
    return E


def format_summary(name, rows, n_frozen=0):
    """Keras-style ``model.summary()`` text from ``(layer, output shape, n_params)`` rows.

    ``n_frozen`` of the parameters are not trained (a frozen embedding).
    """
    head = ("Layer (type)", "Output Shape", "Param #")
    w0 = max(len(head[0]), *(len(r[0]) for r in rows)) + 2
    w1 = max(len(head[1]), *(len(r[1]) for r in rows)) + 2
    line = "=" * (w0 + w1 + 12)
    out = [f'Model: "{name}"', line, f"{head[0]:<{w0}}{head[1]:<{w1}}{head[2]:>10}", line]
    out += [f"{layer:<{w0}}{shape:<{w1}}{n:>10,}" for layer, shape, n in rows]
    total = sum(r[2] for r in rows)
    out += [line, f"Total params: {total:,}", f"Trainable params: {total - n_frozen:,}",
            f"Non-trainable params: {n_frozen:,}"]
    return "\n".join(out)


def _check_embedding_noise(estimator, net):
    """Refuse embedding or spatial dropout, or a frozen embedding, where there is no embedding."""
    kind = getattr(net, "input_kind", "tokens")
    if not estimator.embedding_trainable and kind != "tokens":
        given = "float sequences" if kind == "dense" else "one-hot token input"
        raise ValueError(f"embedding_trainable=False freezes the embedding of token ids read with "
                         f"input_encoding='embedding'; this model reads {given}, which has no "
                         "embedding: leave it at True")
    for name in ("embedding_dropout", "spatial_dropout"):
        rate = getattr(estimator, name)
        if not rate:
            continue
        kind = getattr(net, "input_kind", None)
        if kind is None:
            raise ValueError(f"{name}={rate!r}: {type(estimator).__name__} does not support "
                             f"{name}; leave it at 0.0 (dropout applies to its layers' inputs)")
        if kind != "tokens":
            given = "float sequences" if kind == "dense" else "one-hot token input"
            raise ValueError(f"{name}={rate!r} drops embedded tokens or channels, so it needs "
                             f"token ids with input_encoding='embedding'; this model reads {given}")


# ------------------------------------------------------------------------ BaseRNN
@declare_params
class BaseRNN(BaseEstimator):
    """Parameters, validation, the fit procedure and weight exchange shared by every estimator.

    See :class:`fastrnn.RNNClassifier` for the parameters.  Subclasses supply
    the data side through hooks: ``_fit_data`` (validate and encode ``X``,
    ``y``), ``_validation_set`` and ``_split_validation`` (the held-out data),
    ``_batch_source`` (a :mod:`fastrnn.training` batch source), ``_network``,
    and the class attributes ``_loss``, ``_metric`` and ``_metric_name``.
    """

    # the recurrent layers
    cell: str = param("lstm", StrOptions({"simple", "lstm", "gru"}))
    units: int | tuple = param(32, _POSITIVE_INT, tuple, list)
    reset_after: bool = param(True, "boolean")
    activation: str = param("tanh", ACTIVATION_NAMES)
    recurrent_activation: str = param("sigmoid", ACTIVATION_NAMES)
    use_bias: bool = param(True, "boolean")
    unit_forget_bias: bool = param(True, "boolean")
    embedding_dim: int = param(32, _POSITIVE_INT)
    embedding_init: np.ndarray | None = param(None, "array-like", None)
    embedding_trainable: bool = param(True, "boolean")
    # the optimizer
    optimizer: str = param("adam", StrOptions({"sgd", "rmsprop", "adam", "adamw"}))
    learning_rate: float = param(0.001, _POSITIVE_REAL)
    momentum: float = param(0.0, _FRACTION)
    nesterov: bool = param(False, "boolean")
    weight_decay: float = param(0.004, _NON_NEGATIVE_REAL)
    clipnorm: float | None = param(1.0, _POSITIVE_REAL, None)
    clipvalue: float | None = param(None, _POSITIVE_REAL, None)
    lr_schedule: str | Schedule | None = param("auto", StrOptions({"auto", "plateau", "cosine"}),
                                               Schedule, None)
    # the training loop
    batch_size: int = param(32, _POSITIVE_INT)
    max_iter: int = param(10, _POSITIVE_INT)
    alpha: float = param(0.0, _NON_NEGATIVE_REAL)
    bptt_truncate: int | None = param(None, _POSITIVE_INT, None)
    dropout: float = param(0.0, _FRACTION)
    recurrent_dropout: float = param(0.0, _FRACTION)
    embedding_dropout: float = param(0.0, _FRACTION)
    spatial_dropout: float = param(0.0, _FRACTION)
    spatial_dropout_shared: bool = param(False, "boolean")
    # validation and stopping
    early_stopping: bool = param(False, "boolean")
    validation_fraction: float = param(0.1, Interval(numbers.Real, 0, 1, closed="neither"))
    n_iter_no_change: int = param(3, _POSITIVE_INT)
    tol: float = param(1e-4, _NON_NEGATIVE_REAL)
    restore_best_weights: bool = param(True, "boolean")
    # the run
    random_state: int | None = param(None, "random_state")
    verbose: int = param(0, Interval(numbers.Integral, 0, None, closed="left"))
    warm_start: bool = param(False, "boolean")
    n_threads: int | None = param(None, _POSITIVE_INT, None)
    dtype: str = param("float32", StrOptions({"float32", "float64"}))
    callbacks: list | None = param(None, list, None)
    checkpoint_path: str | None = param(None, str, os.PathLike, None)

    # --------------------------------------------------------------- hooks
    _loss = None  # (outputs, y, w) -> (loss, d_outputs)
    _metric = None  # (outputs, y, w) -> float, or None for no metric
    _metric_name = None

    def _fit_data(self, X, y, sample_weight, classes, reset):  # pragma: no cover - abstract
        """Validated, encoded training data; with ``reset``, also learn its encoding."""
        raise NotImplementedError

    def _validation_set(self, validation_data):  # pragma: no cover - abstract
        """``(X, y, w)`` for :func:`fastrnn.training.evaluate` from user validation data."""
        raise NotImplementedError

    def _split_validation(self, data, rng):  # pragma: no cover - abstract
        """``(training data, (X, y, w))``: a held-out ``validation_fraction`` of ``data``."""
        raise NotImplementedError

    def _batch_source(self, data):  # pragma: no cover - abstract
        """A :mod:`fastrnn.training` batch source over the training data."""
        raise NotImplementedError

    def _network(self):  # pragma: no cover - abstract
        """The :class:`~fastrnn.layers.SequenceModel` of the fitted configuration."""
        raise NotImplementedError

    def __setattr__(self, name, value):
        if not name.endswith("_"):  # a parameter (set_params sets them this way too)
            _CHECKED_WEIGHTS.pop(self, None)
        super().__setattr__(name, value)

    def _fitted_network(self):
        """:meth:`_network`, checked against the fitted weights ``params_``.

        The network is built from the current parameters, which ``set_params``
        may have changed since the fit; the compiled kernels trust the weights'
        shapes, so a mismatch is refused here, before any of them runs.
        """
        net = self._network()
        # checked again only for other weights or after a parameter was set (__setattr__): a
        # small prediction should not pay for it every time
        key = id(self.params_)
        if _CHECKED_WEIGHTS.get(self) == key:
            return net
        try:
            check_weights_match(net, self.params_, self.dtype)
        except ValueError as exc:
            raise ValueError(
                f"{type(self).__name__}: the fitted weights do not fit the network that the "
                f"current parameters describe ({exc}): a parameter that shapes the network "
                "(such as cell, units, bidirectional, attention, embedding_dim or dtype) changed "
                "after fit; set it back, or fit again without warm_start") from None
        _CHECKED_WEIGHTS[self] = key
        return net

    def _monitor(self):
        """What early stopping and checkpoints watch: "val_loss" or "val_score"."""
        return "val_loss"

    _saturated = None  # (outputs) -> bool: every output of a batch saturated, or None

    def _chance_loss(self, data):
        """The training loss of an uninformed prediction on ``data``, or None.

        A reference for divergence (see :mod:`fastrnn.training`): e.g.
        ``log(n_classes)`` for a cross-entropy over ``n_classes`` outputs.
        """
        return None

    @classmethod
    def _params_from_file(cls, params):
        """Constructor parameters read from a model file, in this version's names."""
        return params

    # ---------------------------------------------------------- validation
    def _check_params(self):
        # scikit-learn's parameter validation is slow next to a small batch's step, and a
        # warm-start or partial_fit loop pays it every call.  Values that are the very same
        # immutable objects as at the last successful check cannot fail it now, so it is skipped
        # for them; anything else (a new value, a list, a callback object) is checked again.
        values = tuple(getattr(self, name) for name in _param_names(type(self)))
        last = getattr(self, "_checked_params", None)
        if not (last is not None and len(last) == len(values)
                and all(a is b for a, b in zip(last, values)) and all(map(_immutable, values))):
            self._validate_params()
            for name in _integer_params(type(self)):
                if isinstance(getattr(self, name), bool):
                    raise ValueError(f"The '{name}' parameter of {type(self).__name__} must be an "
                                     f"int, got {getattr(self, name)!r} (a bool)")
            check_units_and_callbacks(self.units, self.callbacks)
            check_embedding_init(self)
            self._checked_params = values

    # ------------------------------------------------------------ building
    def _units_tuple(self):
        return (self.units,) if isinstance(self.units, numbers.Integral) else tuple(self.units)

    def _recurrent_layers(self):
        return [Recurrent(self.cell, u, activation=self.activation,
                          recurrent_activation=self.recurrent_activation, use_bias=self.use_bias,
                          reset_after=self.reset_after, unit_forget_bias=self.unit_forget_bias)
                for u in self._units_tuple()]

    def _resolved_threads(self):
        return usable_threads(self.n_threads if self.n_threads is not None else default_n_threads())

    # ----------------------------------------------------------------- fit
    def _fit(self, X, y=None, sample_weight=None, validation_data=None, incremental=False,
             classes=None, mask=None):
        """The one fit procedure behind ``fit`` (``incremental=False``) and ``partial_fit``.

        ``mask`` (padded float sequences) reaches ``_fit_data`` only when given.
        """
        self._check_params()
        if self.checkpoint_path is not None:  # at fit only: a loaded model may come from elsewhere
            self._check_checkpoint_path()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True (its default in "
                             "some estimators): set early_stopping=False for partial_fit")
        # nothing of a fitted model is lost when the checks before training refuse the call
        before = dict(vars(self))
        if "rng_" in before:  # drawn from in place (the validation split): its state too
            before["rng_"] = copy.deepcopy(before["rng_"])
        try:
            net, data, validation, cfg, rng = self._prepare_fit(
                X, y, sample_weight, validation_data, incremental, classes, mask)
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise
        logged_before = len(self.history_.get("loss", []))
        reset = self._starts_fresh(incremental, before)
        try:
            with engine_scope():
                result = train(self, net, self.params_, self.optimizer_state_,
                               self._batch_source(data), cfg, rng, validation=validation,
                               history=self.history_, epoch_offset=self.n_iter_)
        except BaseException:  # outside the epochs (the engine's set-up), a second Ctrl-C
            logged = len(self.history_.get("loss", [])) - logged_before
            result = TrainResult(self.params_, logged, -1, None, "error", error=sys.exc_info()[1])
        if result.error is not None and reset and result.n_epochs == 0:
            vars(self).clear()  # nothing trained: the model (or none) as it was
            vars(self).update(before)
            raise result.error
        start = self.n_iter_
        self.n_iter_ += result.n_epochs
        # the run's best epoch, whose weights the model holds when they were restored; a continued
        # run in which no epoch was best holds (and restores) the weights it started from
        held = None if reset or start == 0 else self._held_at_start(start, cfg)
        best = result.best_epoch if result.best_epoch >= start else held
        self._record_history(result.stopped, best)
        if result.restored:
            self.weights_epoch_ = best
        else:
            self.weights_epoch_ = self.n_iter_ - 1 if result.n_epochs else held
        if result.error is not None:  # the epochs done stay, with the attributes describing them
            raise result.error
        if self.early_stopping and result.stopped is None:
            warnings.warn(f"{type(self).__name__}: max_iter={self.max_iter} reached before the "
                          "validation score stopped improving", ConvergenceWarning, stacklevel=3)
        return self

    def _held_at_start(self, start, cfg):
        """The epoch whose weights a continued fit starts from (``start`` epochs done)."""
        if hasattr(self, "weights_epoch_"):
            return self.weights_epoch_
        # a model saved before weights_epoch_: its last run restored its best epoch, or ended on
        # its last
        if restores_best(getattr(self, "stopped_reason_", None), cfg.restore_best_weights,
                         cfg.early_stopping):
            return getattr(self, "best_epoch_", None)
        return start - 1

    def _check_checkpoint_path(self):
        """Refuse a ``checkpoint_path`` that the first checkpoint, after an epoch, would fail on."""
        from ..persistence import check_parameters_saveable

        path = os.path.abspath(os.fspath(self.checkpoint_path))
        if os.path.isdir(path):
            raise ValueError(f"checkpoint_path: {path} is a directory; give the file to write, "
                             f"e.g. {os.path.join(path, 'model.fastrnn')}")
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            raise ValueError(f"checkpoint_path: directory {directory} does not exist")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise ValueError(f"checkpoint_path: directory {directory} is not writable")
        try:
            check_parameters_saveable(self)
        except TypeError as exc:
            raise ValueError(f"checkpoint_path: a checkpoint could not be written: {exc}") from None

    def _prepare_fit(self, X, y, sample_weight, validation_data, incremental, classes, mask):
        """Everything :meth:`_fit` checks and sets up before training: ``(net, data, validation,
        cfg, rng)``.  It only assigns attributes (which :meth:`_fit` restores if it raises), but
        for a continued fit's optimizer (:meth:`_update_optimizer`: its rate and clipping set in
        place, or a new one), once nothing can refuse the call any more."""
        first = self._starts_fresh(incremental, vars(self))
        data = self._fit_data(X, y, sample_weight, classes, reset=first,
                              **({} if mask is None else {"mask": mask}))
        if first or not hasattr(self, "rng_"):
            self.rng_ = np.random.default_rng(check_random_state(self.random_state).randint(2**31 - 1))
        rng = self.rng_
        if first:
            self._start_fresh()
        net = self._network() if first else self._fitted_network()
        _check_embedding_noise(self, net)
        if first:  # (the weights are drawn before the validation split: the seed's results)
            self.params_ = net.init_params(rng, np.dtype(self.dtype))
            if self.embedding_init is not None:
                self.params_["embeddings"] = initial_embeddings(self, self.params_)
            self.optimizer_state_ = make_optimizer(
                self.optimizer, self.learning_rate, momentum=self.momentum, nesterov=self.nesterov,
                weight_decay=self.weight_decay, clipnorm=self.clipnorm, clipvalue=self.clipvalue)
            self.history_ = {}
            self.n_iter_ = 0
        if first or not incremental:  # fit starts a run; partial_fit continues it
            self.lr_schedule_start_ = self.n_iter_
            # each log's length at the run's start: what comes after is the run's own
            self.lr_schedule_logs_ = {k: len(v) for k, v in self.history_.items()}
        validation = None
        if validation_data is not None:
            try:
                validation = self._validation_set(validation_data)
            except ValueError as exc:  # say which data is wrong: the training data was fine
                if str(exc).startswith("validation_data"):
                    raise
                raise ValueError(f"validation_data: {exc}") from exc
        elif self.early_stopping:
            data, validation = self._split_validation(data, rng)
        callbacks = list(self.callbacks or [])
        if self.verbose:
            callbacks.append(ProgressLogger(self.verbose))
        if self.checkpoint_path is not None:  # first: an epoch counted done is in the file
            callbacks.insert(0, ModelCheckpoint(self.checkpoint_path))
        cfg = TrainConfig(
            loss_fn=self._loss, metric_fn=self._metric, metric_name=self._metric_name,
            n_epochs=1 if incremental else self.max_iter, bptt_truncate=self.bptt_truncate,
            dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
            embedding_dropout=self.embedding_dropout, spatial_dropout=self.spatial_dropout,
            spatial_dropout_shared=self.spatial_dropout_shared,
            alpha=self.alpha,
            n_threads=self._resolved_threads(), early_stopping=self.early_stopping,
            monitor=self._monitor(), n_iter_no_change=self.n_iter_no_change, tol=self.tol,
            restore_best_weights=self.restore_best_weights, callbacks=callbacks,
            saturated_fn=self._saturated, chance_loss=self._chance_loss(data),
            lr_schedule=self._lr_function())
        if not first:  # (in place: after the checks)
            self._update_optimizer()
        return net, data, validation, cfg, rng

    def _start_fresh(self):
        """Set what a fit from scratch fixes before the network is built (nothing here)."""

    def _starts_fresh(self, incremental, attributes):
        """Whether a fit draws new weights: not a warm start or ``partial_fit`` of a model whose
        ``attributes`` (``vars`` of it) hold fitted weights."""
        return not (incremental or self.warm_start) or "params_" not in attributes

    def _update_optimizer(self):
        """Bring a continued fit's optimizer to the current parameters.

        ``learning_rate`` (a schedule may have left another), ``clipnorm`` and
        ``clipvalue`` are set in place.  Another ``optimizer``, or another
        ``momentum``, ``nesterov`` (sgd) or ``weight_decay`` (adamw), starts
        a new optimizer (its moments from zero; scikit-learn's ``MLPClassifier``
        starts a new one on every warm-start fit); the same keeps its moments.
        """
        fresh = make_optimizer(
            self.optimizer, self.learning_rate, momentum=self.momentum, nesterov=self.nesterov,
            weight_decay=self.weight_decay, clipnorm=self.clipnorm, clipvalue=self.clipvalue)
        state = self.optimizer_state_
        settings = ("momentum", "nesterov", "weight_decay", "rho", "beta_1", "beta_2", "epsilon")
        if type(state) is not type(fresh) or any(
                getattr(state, k, None) != getattr(fresh, k, None) for k in settings):
            self.optimizer_state_ = fresh
            return
        state.learning_rate = self.learning_rate
        state.clipnorm, state.clipvalue = self.clipnorm, self.clipvalue

    def _lr_function(self):
        """``(epoch, history) -> learning rate`` for the training loop, or None without a schedule.

        Epochs and history are counted from ``lr_schedule_start_``, the first
        epoch of the current run, and each log from its length then,
        ``lr_schedule_logs_`` (see :mod:`fastrnn.schedules`).
        """
        if self.lr_schedule == "auto":
            # early stopping gives up after n_iter_no_change stalled epochs; a lower rate first
            # lets a run that stalls on a noisy plateau go on (docs: guide/training)
            # and it watches what early stopping watches, with the same tol
            schedule = None
            if self.early_stopping:
                score = self._monitor() == "val_score" and self._metric_name is not None
                schedule = ReduceOnPlateau(
                    patience=max(1, self.n_iter_no_change - 1), min_delta=self.tol,
                    monitor="val_" + self._metric_name if score else "val_loss",
                    mode="max" if score else "min")
        else:
            schedule = make_schedule(self.lr_schedule)
        if schedule is None:
            return None
        start, base, n_epochs = getattr(self, "lr_schedule_start_", 0), self.learning_rate, self.max_iter
        logs = getattr(self, "lr_schedule_logs_", None)

        def learning_rate(epoch, history):
            done = epoch - start
            if logs is None:  # a model saved without the logs' lengths: their last values
                run = {k: v[max(len(v) - done, 0):] for k, v in history.items()}
            else:  # a log the run began without starts with the run (earlier epochs: NaN)
                first = logs.get("loss", 0)
                run = {k: v[logs.get(k, first):] for k, v in history.items()}
            return schedule.learning_rate(base, done, n_epochs, run)

        return learning_rate

    def _record_history(self, stopped, best_epoch):
        """The attributes read from ``history_``; ``best_epoch`` as the training loop judged it
        (monitor and tol), None when no epoch was."""
        self.loss_curve_ = list(self.history_.get("loss", []))
        if self._metric_name is not None:
            self.validation_scores_ = list(self.history_.get("val_" + self._metric_name, [])) or None
        else:  # without a metric the score is the mean log-likelihood, minus the loss
            self.validation_scores_ = [-v for v in self.history_.get("val_loss", [])] or None
        if self.validation_scores_ is not None and not np.isfinite(self.validation_scores_).any():
            self.validation_scores_ = None  # (epochs without validation are NaN)
        self.stopped_reason_ = stopped
        losses = self.loss_curve_
        if best_epoch is None or not 0 <= best_epoch < len(losses):
            # no epoch judged best (none finished, or the run diverged from its first epoch): the
            # model holds its starting weights
            self.best_epoch_, self.best_loss_ = None, None
            return
        val = self.history_.get("val_loss", [])
        best = val[best_epoch] if best_epoch < len(val) and np.isfinite(val[best_epoch]) else None
        self.best_epoch_ = int(best_epoch)
        self.best_loss_ = float(losses[best_epoch] if best is None else best)

    def _snapshot(self, n_epochs_done):
        """A shallow copy that looks fitted after ``n_epochs_done`` epochs (for checkpoints)."""
        snap = copy.copy(self)
        snap.n_iter_ = n_epochs_done
        snap.history_ = {k: list(v) for k, v in self.history_.items()}
        snap._record_history(None, n_epochs_done - 1)  # saved as the best epoch so far
        snap.weights_epoch_ = n_epochs_done - 1
        return snap

    # ------------------------------------------------------- keras weights
    def get_weights(self):
        """Copies of the weights in Keras ``model.get_weights()`` order and layout.

        The equivalent Keras model is ``Sequential([Embedding(vocab_size, embedding_dim,
        mask_zero=True), <cell>(units, return_sequences=...) ..., Dense(n_outputs)])``
        (no Embedding for one-hot or float input; ``Bidirectional`` layers give the
        forward layer's arrays, then the backward layer's; the tagger's and the
        language model's ``Dense`` is applied at every step).

        Returns
        -------
        list of ndarray
        """
        check_is_fitted(self, "params_")
        return [w.copy() for w in self._fitted_network().weights(self.params_)]

    def set_weights(self, weights):
        """Load weights given in :meth:`get_weights` order (e.g. from Keras).

        Parameters
        ----------
        weights : list of array-like
            Same number, shapes and order as :meth:`get_weights` returns; every
            value finite.
        """
        check_is_fitted(self, "params_")
        current = self._fitted_network().weights(self.params_)
        if len(weights) != len(current):
            raise ValueError(f"expected {len(current)} weight arrays, got {len(weights)}")
        arrays = []
        for i, (dst, src) in enumerate(zip(current, weights)):
            src = np.asarray(src)
            if src.shape != dst.shape:
                raise ValueError(f"weight {i} has shape {src.shape}, expected {dst.shape}")
            if src.dtype.kind not in "iuf":
                raise ValueError(f"weight {i} must hold real numbers, got dtype {src.dtype}")
            with np.errstate(over="ignore"):
                src = src.astype(dst.dtype)  # checked as stored: 1e39 is infinite in float32
            if not np.isfinite(src).all():
                raise ValueError(f"weight {i} contains NaN or infinity (as {dst.dtype})")
            arrays.append(src)
        for dst, src in zip(current, arrays):
            dst[...] = src

    def save(self, path):
        """Save the fitted model to one file, without pickle (see :func:`fastrnn.save`).

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        path : str
        """
        from ..persistence import save

        return save(self, path)

    def _check_loaded_state(self):
        """Raise unless a loaded model can run (used by ``load``).

        Its parameters must be valid, its weights must have the shapes its
        configuration gives, and it must predict one short input, so that a
        file whose fitted attributes cannot work fails at load, not later.
        """
        self._check_params()
        net = self._network()
        check_weights_match(net, self.params_, self.dtype)
        self._check_fitted_state(net)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._predict_one()

    def _check_saveable(self):
        """Raise unless ``load`` would accept this model: valid parameters, weights that fit them."""
        self._check_params()
        self._check_fitted_state(self._fitted_network())  # (which checked the weights' shapes)

    def _check_fitted_state(self, net):
        """Finite weights (of ``net``'s shapes, checked by the caller) and a training state a
        continued fit can use."""
        weights = net.weights(self.params_)
        for i, w in enumerate(weights):
            if not np.isfinite(w).all():
                raise ValueError(f"weight {i} holds NaN or infinity")
        check_training_state(self, weights)

    def _predict_one(self):  # pragma: no cover - abstract
        """Predict one short input (see :meth:`_check_loaded_state`)."""
        raise NotImplementedError

    def count_params(self):
        """Total number of parameters (a frozen embedding's included, as in Keras)."""
        check_is_fitted(self, "params_")
        return int(sum(w.size for w in self._fitted_network().weights(self.params_)))

    def summary(self):
        """Keras-style table of layers, output shapes and parameter counts.

        Returns
        -------
        str
        """
        check_is_fitted(self, "params_")
        net = self._fitted_network()
        return format_summary(type(self).__name__, net.layer_summary(),
                              getattr(net, "n_frozen", lambda: 0)())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags


# ---------------------------------------------------------------- BaseSequenceRNN
@declare_params
class BaseSequenceRNN(BaseRNN):
    """Estimators reading sequences ``X`` (token ids or floats) in shuffled mini-batches.

    Adds the input parameters (``bidirectional``, ``vocab_size``,
    ``input_encoding``), ``shuffle`` and ``monitor``; trains on
    :class:`~fastrnn.training.ShuffledBatches`, so ``bptt_truncate = k``
    backpropagates through the last ``k`` steps of every sequence.
    Subclasses choose the head (``_head_kind``) and encode targets
    (``_encode_targets``).
    """

    bidirectional: bool = param(False, "boolean")
    vocab_size: int | None = param(None, _POSITIVE_INT, None)
    input_encoding: str = param("embedding", StrOptions({"embedding", "onehot"}))
    shuffle: bool = param(True, "boolean")
    monitor: str = param("val_loss", StrOptions({"val_loss", "val_score"}))
    unknown_ids: str | int = param("error", StrOptions({"error", "oov"}), _POSITIVE_INT)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # float sequences (n_samples, n_timesteps, n_features)
        return tags

    def _encode_targets(self, y, reset, classes=None, n_samples=None, X=None):  # pragma: no cover
        raise NotImplementedError

    def _head_kind(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def _predict_one(self):
        if self.input_kind_ == "dense":
            X = np.zeros((1, self.n_features_in_, self.n_step_features_))
        else:  # id 1 exists in every vocabulary; the flatten head reads a fixed length
            X = np.ones((1, self.n_timesteps_ if self._head_kind() == "flatten" else 1), np.int64)
        self.predict(X)

    def _class_weights(self, y_enc):
        return 1.0

    def _stratify(self, y_enc):
        """Labels to stratify the validation split by, or None."""
        return None

    def _monitor(self):
        return self.monitor

    # ---------------------------------------------------------------- data
    def _unknown_id(self):
        """The id unknown token ids map to, or None to refuse them (``unknown_ids``)."""
        if self.unknown_ids == "error":
            return None
        return OOV_ID if self.unknown_ids == "oov" else int(self.unknown_ids)

    def _map_unknown_ids(self, X, vocab_size, context):
        """``X`` with ids ``>= vocab_size`` mapped as ``unknown_ids`` says (a copy if any is)."""
        top = int(X.max())
        if top < vocab_size:
            return X
        oov = self._unknown_id()
        if oov is None:
            raise ValueError(
                f"X holds token id {top} but {context} has {vocab_size} ids (0..{vocab_size - 1}); "
                f"pass unknown_ids='oov' to map unknown ids to the out-of-vocabulary id {OOV_ID} "
                "(or unknown_ids=<id>), or map them beforehand")
        if oov >= vocab_size:
            raise ValueError(f"unknown_ids={self.unknown_ids!r} maps unknown ids to {oov}, which is "
                             f"not below the vocabulary size {vocab_size}")
        unknown = X >= vocab_size
        X = X.copy()
        X[unknown] = oov
        warn_at_caller(f"X holds {int(unknown.sum())} token id(s) >= {vocab_size} (largest {top}), "
                       f"outside {context}: mapped to the out-of-vocabulary id {oov} "
                       f"(unknown_ids={self.unknown_ids!r})")
        return X

    def _check_vocabulary(self, X):
        """Set ``vocab_size_`` from ``vocab_size`` or ``X``; refuse or announce a huge input table."""
        top = int(X.max())
        if self.vocab_size is None and self.embedding_init is not None:  # its rows are the ids
            rows = len(self.embedding_init)
            X = self._map_unknown_ids(X, rows, f"embedding_init (of {rows} rows)")
            self.vocab_size_ = rows
            source = f"embedding_init ({rows} rows)"
        elif self.vocab_size is not None:
            X = self._map_unknown_ids(X, self.vocab_size, f"vocab_size={self.vocab_size}")
            self.vocab_size_ = self.vocab_size
            source = f"vocab_size={self.vocab_size}"
        else:
            self.vocab_size_ = max(top + 1, 2)
            source = f"token id {top} (vocab_size=None infers max id + 1)"
            if top >= _STRAY_MIN:
                below = X[X < top]
                second = int(below.max()) if below.size else 0
                if top > _STRAY_RATIO * max(second, 1):
                    warn_at_caller(
                        f"X holds token id {top}, far above every other id (the next largest is "
                        f"{second}): it alone sets vocab_size_ to {top + 1:,}; map it to an "
                        "out-of-vocabulary id or pass vocab_size")
        if self.input_encoding == "onehot":
            gates = {"simple": 1, "gru": 3, "lstm": 4}[self.cell]
            width = gates * self._units_tuple()[0] * (2 if self.bidirectional else 1)
        else:
            width = self.embedding_dim
        check_input_table_size(self.vocab_size_, width, self.dtype, source)
        return X

    def _validate_X(self, X, reset, mask=None):
        """``X`` (and ``mask``) checked and encoded: ids, floats or
        :class:`~fastrnn.layers._packing.MaskedSequences` (a list of float
        sequences, or floats with a mask).  Variable-length float input may
        have any number of steps at predict time."""
        if reset or not getattr(self, "variable_length_", False):
            _check_feature_names(self, X, reset=reset)
        else:  # the columns are steps, of any number: the names they share must be the fitted ones
            _check_step_names(self, X)
        # a model of float sequences reads whole numbers as floats, not as token ids
        floats = not reset and getattr(self, "input_kind_", None) == "dense"
        X, kind = check_sequences(X, mask=mask, floats=floats, dtype=self.dtype)
        masked = isinstance(X, MaskedSequences)
        if masked and self._head_kind() == "flatten" and not X.mask.all():
            # flattening reads the padded steps as steps: the padding would change the output
            raise ValueError("head='flatten' reads a fixed number of steps and cannot skip "
                             "padding; for float sequences of different lengths (a list, or "
                             "a mask with padding) use head='last', 'mean', 'max' or "
                             "'attention'")
        if kind == "dense":
            values = X.values if masked else X
            # the real steps' values, gathered only when something reads them
            if reset or values.dtype.itemsize > np.dtype(self.dtype).itemsize:
                real = values[X.mask] if masked else values
                check_float_range(real, self.dtype)
                if reset:
                    warn_if_badly_scaled(real, "X", "standardise its features first (e.g. "
                                         "sklearn.preprocessing.StandardScaler on the features)")
            # cast once, here, not in every batch's products (padded input: made once too)
            values = values.astype(self.dtype, copy=False)
            X = MaskedSequences(values, X.mask, X.ragged) if masked else values
        if reset:
            self.input_kind_ = "dense" if kind == "dense" else (
                "onehot" if self.input_encoding == "onehot" else "tokens")
            self.n_timesteps_ = X.shape[1]
            self.n_features_in_ = X.shape[1]
            if kind == "tokens":
                X = self._check_vocabulary(X)
                self.n_step_features_ = None
            else:
                self.vocab_size_ = None
                self.n_step_features_ = X.shape[2]
                # sequences of several lengths: later input may have any number of steps
                self.variable_length_ = isinstance(X, MaskedSequences) and not X.mask.all()
            return X
        fitted_kind = "dense" if self.input_kind_ == "dense" else "tokens"
        if kind != fitted_kind:
            fitted = "float sequences" if fitted_kind == "dense" else "token ids"
            given = "float values" if kind == "dense" else "integer token ids"
            raise ValueError(f"the model was fitted on {fitted} but X holds {given}")
        if kind == "tokens":
            X = self._map_unknown_ids(X, self.vocab_size_, "the model's vocabulary")
            if self._head_kind() == "flatten" and X.shape[1] != self.n_timesteps_:
                raise ValueError(f"X has {X.shape[1]} timesteps but the flatten head was fitted on "
                                 f"{self.n_timesteps_}")
        else:
            variable = isinstance(X, MaskedSequences) or getattr(self, "variable_length_", False)
            if X.shape[1] != self.n_features_in_ and not variable:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                                 f"expecting {self.n_features_in_} features as input (for float "
                                 "sequences, features are timesteps)")
            if self._head_kind() == "flatten" and X.shape[1] != self.n_timesteps_:
                raise ValueError(f"X has {X.shape[1]} timesteps but the flatten head was fitted on "
                                 f"{self.n_timesteps_}")
            if X.shape[2] != self.n_step_features_:
                raise ValueError(f"X has {X.shape[2]} features per step, expected "
                                 f"{self.n_step_features_}")
        return X

    def _fit_data(self, X, y, sample_weight, classes, reset, mask=None):
        X = self._validate_X(X, reset=reset, mask=mask)
        y_enc = self._encode_targets(y, reset=reset, classes=classes, n_samples=X.shape[0], X=X)
        if sample_weight is None:  # scikit-learn's check would make the same ones, more slowly
            w = np.ones(X.shape[0])
        else:
            w = check_sample_weight(sample_weight, X)
            if self._head_kind() == "sequence" and not (w * real_steps(X).sum(axis=1)).sum() > 0:
                raise ValueError("sample_weight is 0 for every sequence that has a real step: "
                                 "no step would count (the weighted sequences are all padding)")
        class_weights = self._class_weights(y_enc)
        if not np.isscalar(class_weights):
            w = w * class_weights
            check_weights_usable(w, "sample_weight times class_weight")
        return X, y_enc, w

    def _validation_set(self, validation_data):
        if len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (X_val, y_val) or, for padded float "
                             f"sequences, (X_val, y_val, mask_val); got {len(validation_data)} items")
        Xv, yv, mv = (*validation_data, None)[:3]
        Xv = self._validate_X(Xv, reset=False, mask=mv)
        yv = self._encode_targets(yv, reset=False, n_samples=Xv.shape[0], X=Xv)
        return Xv, yv, np.ones(len(Xv))

    def _split_validation(self, data, rng):
        X, y, w = data
        seed = int(rng.integers(2**31 - 1))
        too_few = ValueError(f"too few samples ({len(X)}) to hold out a validation set for "
                             "early_stopping; lower validation_fraction, pass validation_data, "
                             "or set early_stopping=False")
        if len(X) < 2:
            raise too_few
        try:
            tr, va = split_keeping_classes(len(X), self.validation_fraction, seed,
                                           self._stratify(y))
        except ValueError:
            raise too_few from None
        if len(tr) == 0 or len(va) == 0:
            raise too_few
        w_tr, w_va = held_out_weights(w, tr, va)
        return (X[tr], y[tr], w_tr), (X[va], y[va], w_va)

    def _batch_source(self, data):
        X, y, w = data
        return ShuffledBatches(X, y, w, self.batch_size, shuffle=self.shuffle,
                               input_kind=self.input_kind_, n_threads=self._resolved_threads(),
                               per_step=self._head_kind() == "sequence")

    # ------------------------------------------------------------ building
    def _start_fresh(self):
        # a bidirectional stack outputs zeros at padded steps (Keras's Bidirectional); a model
        # file without this attribute was trained on the repeated last real output, and keeps it
        self.padding_outputs_ = "zeros"

    def _build_network(self, n_outputs):
        n_in = self.vocab_size_ if self.input_kind_ != "dense" else self.n_step_features_
        zeros = self.bidirectional and getattr(self, "padding_outputs_", "repeat") == "zeros"
        return SequenceModel.build(self.input_kind_, n_in, self.embedding_dim,
                                   self._recurrent_layers(), self.bidirectional,
                                   self._head_kind(), n_outputs, n_timesteps=self.n_timesteps_,
                                   embedding_trainable=self.embedding_trainable,
                                   zero_padding=zeros)

    def _network(self):
        return self._build_network(self.n_outputs_)

    # ------------------------------------------------------------- predict
    def _forward_fast(self, X, mask=None, return_input=False):
        """Raw outputs (logits or regression values) for ``X``, cache-free inference.

        With ``return_input``, also the validated input (to shape per-step outputs like it).
        """
        check_is_fitted(self, "params_")
        X = self._validate_X(X, reset=False, mask=mask)
        with engine_scope():
            out = predict_outputs(self._fitted_network(), self.params_, X, max(self.batch_size, 256),
                                  self._resolved_threads())
        out = out.astype(np.float64)
        bad = np.count_nonzero(~np.isfinite(out))
        if bad:  # reachable with weights set by hand (an unbounded relu network that overflows)
            warnings.warn(f"{type(self).__name__}: {bad} of the {out.size} network outputs are not "
                          "finite (activations overflowed); the predictions that read them are "
                          "meaningless", RuntimeWarning, stacklevel=3)
        return (out, X) if return_input else out


@declare_params
class BasePooledRNN(PooledInspectionMixin, BaseSequenceRNN):
    """One output per sequence, from the features the ``head`` pools (classifier, regressor).

    The pooled features are also the estimator's ``transform`` output; the
    mixin (``_inspection.py``) adds ``attention_weights`` and ``explain``.
    """

    head: str = param("last", StrOptions(set(POOLINGS)))

    def _head_kind(self):
        return self.head
