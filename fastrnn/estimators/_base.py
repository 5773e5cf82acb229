"""BaseRNN: the scikit-learn contract shared by the classifier and the regressor."""

import copy
import functools
import numbers
import os
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ..callbacks import Callback, ModelCheckpoint, ProgressLogger
from ..layers import Recurrent
from ..layers.stack import Network
from ..optimizers import make_optimizer
from ..training import TrainConfig, predict_outputs, train
from ..utils.validation import check_sequences, default_n_threads, engine_scope

ACTIVATION_NAMES = StrOptions({"tanh", "sigmoid", "hard_sigmoid", "relu", "linear"})


def _immutable(value):
    """Whether ``value`` cannot change in place (None, numbers, strings, types, tuples of those)."""
    if isinstance(value, tuple):
        return all(map(_immutable, value))
    return value is None or isinstance(value, (numbers.Number, str, bytes, type, np.dtype))  # bools too


@functools.cache
def _param_names(cls):
    """``cls._get_param_names()``, which inspects the signature of ``__init__`` on every call."""
    return tuple(cls._get_param_names())


def _units_ok(units):
    if isinstance(units, numbers.Integral):
        return units >= 1
    return (isinstance(units, (tuple, list)) and len(units) > 0
            and all(isinstance(u, numbers.Integral) and u >= 1 for u in units))


def check_units_and_callbacks(units, callbacks):
    """The checks ``_validate_params`` cannot express: unit tuples and callback types."""
    if not _units_ok(units):
        raise ValueError(f"units must be a positive int or a non-empty tuple of them, got {units!r}")
    if callbacks is not None and not all(isinstance(c, Callback) for c in callbacks):
        raise TypeError("callbacks must be a list of fastrnn.callbacks.Callback instances")


def check_weights_match(net, params, dtype):
    """Raise ``ValueError`` unless ``params`` has the arrays ``net`` expects (used by ``load``)."""
    expected = Network.weights(net.init_params(np.random.default_rng(0), np.dtype(dtype)))
    got = Network.weights(params)
    if len(got) != len(expected):
        raise ValueError(f"expected {len(expected)} weight arrays, found {len(got)}")
    for i, (g, e) in enumerate(zip(got, expected)):
        if not isinstance(g, np.ndarray) or g.shape != e.shape or g.dtype != e.dtype:
            raise ValueError(f"weight {i} is {getattr(g, 'dtype', type(g))}"
                             f"{getattr(g, 'shape', '')}, expected {e.dtype}{e.shape}")


def format_summary(name, rows):
    """Keras-style ``model.summary()`` text from ``(layer, output shape, n_params)`` rows."""
    head = ("Layer (type)", "Output Shape", "Param #")
    w0 = max(len(head[0]), *(len(r[0]) for r in rows)) + 2
    w1 = max(len(head[1]), *(len(r[1]) for r in rows)) + 2
    line = "=" * (w0 + w1 + 12)
    out = [f'Model: "{name}"', line, f"{head[0]:<{w0}}{head[1]:<{w1}}{head[2]:>10}", line]
    out += [f"{layer:<{w0}}{shape:<{w1}}{n:>10,}" for layer, shape, n in rows]
    total = sum(r[2] for r in rows)
    out += [line, f"Total params: {total:,}", f"Trainable params: {total:,}",
            "Non-trainable params: 0"]
    return "\n".join(out)


class BaseRNN(BaseEstimator):
    """Shared parameters, validation, fitting and Keras weight exchange.

    See :class:`fastrnn.RNNClassifier` for the parameters.  Subclasses choose the
    output head: the classifier and the regressor take a ``head`` parameter, the
    tagger always emits one output per step.
    """

    _parameter_constraints = {
        "cell": [StrOptions({"simple", "lstm", "gru"})],
        "units": [Interval(numbers.Integral, 1, None, closed="left"), tuple, list],
        "bidirectional": ["boolean"],
        "reset_after": ["boolean"],
        "activation": [ACTIVATION_NAMES],
        "recurrent_activation": [ACTIVATION_NAMES],
        "use_bias": ["boolean"],
        "unit_forget_bias": ["boolean"],
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "vocab_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "input_encoding": [StrOptions({"embedding", "onehot"})],
        "optimizer": [StrOptions({"sgd", "rmsprop", "adam", "adamw"})],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "momentum": [Interval(numbers.Real, 0, 1, closed="left")],
        "nesterov": ["boolean"],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "clipnorm": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "clipvalue": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "bptt_truncate": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "recurrent_dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "monitor": [StrOptions({"val_loss", "val_score"})],
        "restore_best_weights": ["boolean"],
        "random_state": ["random_state"],
        "verbose": [Interval(numbers.Integral, 0, None, closed="left")],
        "warm_start": ["boolean"],
        "n_threads": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "dtype": [StrOptions({"float32", "float64"})],
        "callbacks": [list, None],
        "checkpoint_path": [str, os.PathLike, None],
    }

    def __init__(self, *, cell="lstm", units=32, bidirectional=False, reset_after=True,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 unit_forget_bias=True, embedding_dim=32, vocab_size=None,
                 input_encoding="embedding", optimizer="adam", learning_rate=0.001,
                 momentum=0.0, nesterov=False, weight_decay=0.004, batch_size=32, max_iter=10,
                 shuffle=True, alpha=0.0, clipnorm=None, clipvalue=None, bptt_truncate=None,
                 dropout=0.0, recurrent_dropout=0.0, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=3, tol=1e-4, monitor="val_loss",
                 restore_best_weights=True, random_state=None, verbose=0, warm_start=False,
                 n_threads=None, dtype="float32", callbacks=None, checkpoint_path=None):
        self.cell = cell
        self.units = units
        self.bidirectional = bidirectional
        self.reset_after = reset_after
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        self.use_bias = use_bias
        self.unit_forget_bias = unit_forget_bias
        self.embedding_dim = embedding_dim
        self.vocab_size = vocab_size
        self.input_encoding = input_encoding
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.alpha = alpha
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.bptt_truncate = bptt_truncate
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.monitor = monitor
        self.restore_best_weights = restore_best_weights
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_threads = n_threads
        self.dtype = dtype
        self.callbacks = callbacks
        self.checkpoint_path = checkpoint_path

    # --------------------------------------------------------------- hooks
    _loss_name = None
    _metric_name = None

    def _encode_targets(self, y, reset, classes=None, n_samples=None, X=None):  # pragma: no cover
        raise NotImplementedError

    def _metric(self, outputs, y, w):  # pragma: no cover - abstract
        raise NotImplementedError

    def _split_validation(self, X, y, w, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    # ---------------------------------------------------------- validation
    def _check_params(self):
        # scikit-learn's parameter validation costs 0.15-0.4 ms a call, which a warm-start or
        # partial_fit loop over small batches pays every call.  Values that are the very same
        # immutable objects as at the last successful check cannot fail it now, so it is skipped
        # for them; anything else (a new value, a list, a callback object) is checked again.
        values = tuple(getattr(self, name) for name in _param_names(type(self)))
        last = getattr(self, "_checked_params", None)
        if not (last is not None and len(last) == len(values)
                and all(a is b for a, b in zip(last, values)) and all(map(_immutable, values))):
            self._validate_params()
            check_units_and_callbacks(self.units, self.callbacks)
            self._checked_params = values
        if self.checkpoint_path is not None:
            directory = os.path.dirname(os.path.abspath(os.fspath(self.checkpoint_path)))
            if not os.path.isdir(directory):
                raise ValueError(f"checkpoint_path: directory {directory} does not exist")

    def _validate_X(self, X, reset):
        X, kind = check_sequences(X)
        if reset:
            self.input_kind_ = "dense" if kind == "dense" else (
                "onehot" if self.input_encoding == "onehot" else "tokens")
            self.n_timesteps_ = X.shape[1]
            self.n_features_in_ = X.shape[1]
            if kind == "tokens":
                inferred = int(X.max()) + 1
                if self.vocab_size is not None and inferred > self.vocab_size:
                    raise ValueError(f"X holds token id {inferred - 1} but vocab_size="
                                     f"{self.vocab_size}: ids must be < vocab_size")
                self.vocab_size_ = self.vocab_size if self.vocab_size is not None else max(inferred, 2)
                self.n_step_features_ = None
            else:
                self.vocab_size_ = None
                self.n_step_features_ = X.shape[2]
            return X
        fitted_kind = "dense" if self.input_kind_ == "dense" else "tokens"
        if kind != fitted_kind:
            fitted = "float sequences" if fitted_kind == "dense" else "token ids"
            given = "float values" if kind == "dense" else "integer token ids"
            raise ValueError(f"the model was fitted on {fitted} but X holds {given}")
        if kind == "tokens":
            if int(X.max()) >= self.vocab_size_:
                raise ValueError(
                    f"X holds token id {int(X.max())} but the model's vocabulary has "
                    f"{self.vocab_size_} ids (0..{self.vocab_size_ - 1}); map unknown tokens to an "
                    "out-of-vocabulary id (Keras uses 2) before predicting")
            if self._head_kind() == "flatten" and X.shape[1] != self.n_timesteps_:
                raise ValueError(f"X has {X.shape[1]} timesteps but the flatten head was fitted on "
                                 f"{self.n_timesteps_}")
        else:
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                                 f"expecting {self.n_features_in_} features as input (for float "
                                 "sequences, features are timesteps)")
            if X.shape[2] != self.n_step_features_:
                raise ValueError(f"X has {X.shape[2]} features per step, expected "
                                 f"{self.n_step_features_}")
        return X

    # ------------------------------------------------------------ building
    def _units_tuple(self):
        return (self.units,) if isinstance(self.units, numbers.Integral) else tuple(self.units)

    def _build_network(self, n_outputs):
        layers = [Recurrent(self.cell, u, activation=self.activation,
                            recurrent_activation=self.recurrent_activation, use_bias=self.use_bias,
                            reset_after=self.reset_after, unit_forget_bias=self.unit_forget_bias)
                  for u in self._units_tuple()]
        n_in = self.vocab_size_ if self.input_kind_ != "dense" else self.n_step_features_
        return Network(self.input_kind_, n_in, self.embedding_dim, layers, self.bidirectional,
                       self._head_kind(), n_outputs, n_timesteps=self.n_timesteps_)

    def _head_kind(self):  # pragma: no cover - overridden
        raise NotImplementedError

    def _network(self):
        return self._build_network(self.n_outputs_)

    def _resolved_threads(self):
        return self.n_threads if self.n_threads is not None else default_n_threads()

    # ----------------------------------------------------------------- fit
    def _fit(self, X, y, sample_weight=None, validation_data=None, incremental=False, classes=None):
        self._check_params()
        first = not (incremental or self.warm_start) or not hasattr(self, "params_")
        X = self._validate_X(X, reset=first)
        y_enc = self._encode_targets(y, reset=first, classes=classes, n_samples=X.shape[0], X=X)
        if sample_weight is None:  # scikit-learn's check makes the same ones in 20 us
            w = np.ones(X.shape[0])
        else:
            w = _check_sample_weight(sample_weight, X, dtype=np.float64)
        w = w * self._class_weights(y_enc)
        if first:
            self.rng_ = np.random.default_rng(check_random_state(self.random_state).randint(2**31 - 1))
        rng = self.rng_
        dtype = np.dtype(self.dtype)
        net = self._network()
        if first:
            self.params_ = net.init_params(rng, dtype)
            self.optimizer_state_ = make_optimizer(
                self.optimizer, self.learning_rate, momentum=self.momentum, nesterov=self.nesterov,
                weight_decay=self.weight_decay, clipnorm=self.clipnorm, clipvalue=self.clipvalue)
            self.history_ = {}
            self.n_iter_ = 0
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        validation = None
        if validation_data is not None:
            Xv, yv = validation_data
            Xv = self._validate_X(Xv, reset=False)
            yv = self._encode_targets(yv, reset=False, n_samples=Xv.shape[0], X=Xv)
            validation = (Xv, yv, np.ones(len(Xv)))
        elif self.early_stopping:
            X, y_enc, w, validation = self._split_validation(X, y_enc, w, rng)
        callbacks = list(self.callbacks or [])
        if self.verbose:
            callbacks.append(ProgressLogger(self.verbose))
        if self.checkpoint_path is not None:
            callbacks.append(ModelCheckpoint(self.checkpoint_path))
        cfg = TrainConfig(
            loss_fn=self._loss, metric_fn=self._metric, metric_name=self._metric_name,
            n_epochs=1 if incremental else self.max_iter, batch_size=self.batch_size,
            shuffle=self.shuffle, bptt_truncate=self.bptt_truncate, dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout, alpha=self.alpha,
            n_threads=self._resolved_threads(), early_stopping=self.early_stopping and not incremental,
            monitor=self.monitor, n_iter_no_change=self.n_iter_no_change, tol=self.tol,
            restore_best_weights=self.restore_best_weights, callbacks=callbacks)
        with engine_scope():
            result = train(self, net, self.params_, self.optimizer_state_, X, y_enc, w, cfg, rng,
                           validation=validation, history=self.history_, epoch_offset=self.n_iter_)
        self.n_iter_ += result.n_epochs
        self._record_history(result.stopped)
        if (self.early_stopping and not incremental and result.stopped is None):
            warnings.warn(f"{type(self).__name__}: max_iter={self.max_iter} reached before the "
                          "validation score stopped improving", ConvergenceWarning, stacklevel=3)
        return self

    def _record_history(self, stopped):
        self.loss_curve_ = list(self.history_.get("loss", []))
        self.validation_scores_ = list(self.history_.get("val_" + self._metric_name, [])) or None
        monitored = self.history_.get("val_loss") or self.history_.get("loss") or [np.inf]
        self.best_loss_ = float(np.min(monitored))
        self.best_epoch_ = int(np.argmin(monitored))
        self.stopped_reason_ = stopped

    def _snapshot(self, n_epochs_done):
        """A shallow copy that looks fitted after ``n_epochs_done`` epochs (for checkpoints)."""
        snap = copy.copy(self)
        snap.n_iter_ = n_epochs_done
        snap.history_ = {k: list(v) for k, v in self.history_.items()}
        snap._record_history(None)
        return snap

    def _class_weights(self, y_enc):
        return 1.0

    # ------------------------------------------------------------- predict
    def _forward_fast(self, X):
        """Raw outputs (logits or regression values) for ``X``, cache-free inference."""
        check_is_fitted(self, "params_")
        X = self._validate_X(X, reset=False)
        with engine_scope():
            out = predict_outputs(self._network(), self.params_, X, max(self.batch_size, 256),
                                  self._resolved_threads())
        return out.astype(np.float64)

    # ------------------------------------------------------- keras weights
    def get_weights(self):
        """Copies of the weights in Keras ``model.get_weights()`` order and layout.

        The equivalent Keras model is ``Sequential([Embedding(vocab_size, embedding_dim,
        mask_zero=True), <cell>(units, return_sequences=...) ..., Dense(n_outputs)])``
        (no Embedding for one-hot or float input; ``Bidirectional`` layers give the
        forward layer's arrays, then the backward layer's).

        Returns
        -------
        list of ndarray
        """
        check_is_fitted(self, "params_")
        return [w.copy() for w in Network.weights(self.params_)]

    def set_weights(self, weights):
        """Load weights given in :meth:`get_weights` order (e.g. from Keras).

        Parameters
        ----------
        weights : list of array-like
        """
        check_is_fitted(self, "params_")
        current = Network.weights(self.params_)
        if len(weights) != len(current):
            raise ValueError(f"expected {len(current)} weight arrays, got {len(weights)}")
        arrays = []
        for i, (dst, src) in enumerate(zip(current, weights)):
            src = np.asarray(src)
            if src.shape != dst.shape:
                raise ValueError(f"weight {i} has shape {src.shape}, expected {dst.shape}")
            if not np.isfinite(src).all():
                raise ValueError(f"weight {i} contains NaN or infinity")
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
        """Raise ``ValueError`` unless the weights match the configuration (used by ``load``)."""
        self._check_params()
        check_weights_match(self._network(), self.params_, self.dtype)

    def count_params(self):
        """Total number of trainable parameters."""
        check_is_fitted(self, "params_")
        return int(sum(w.size for w in Network.weights(self.params_)))

    def summary(self):
        """Keras-style table of layers, output shapes and parameter counts.

        Returns
        -------
        str
        """
        check_is_fitted(self, "params_")
        return format_summary(type(self).__name__, self._network().layer_summary())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False
        return tags
