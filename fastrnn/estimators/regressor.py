"""RNNRegressor: a recurrent network with a linear head and mean squared error."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import StrOptions

from ..layers.stack import HEADS
from ..losses import mean_squared_error
from ._base import BaseRNN


class RNNRegressor(RegressorMixin, BaseRNN):
    """Recurrent neural network regressor (SimpleRNN, LSTM or GRU) with Keras semantics.

    Same parameters and input conventions as :class:`fastrnn.RNNClassifier`
    (without ``class_weight``); the output layer is linear, the loss is the mean
    squared error, ``y`` may have several outputs, and ``score`` is R^2.

    Attributes
    ----------
    params_ : dict
    history_ : dict of str to list
        Per-epoch ``loss``, ``r2`` and, with validation, ``val_loss``, ``val_r2``.
    loss_curve_ : list of float
    validation_scores_ : list of float or None
    best_loss_ : float
    best_epoch_ : int
    n_iter_ : int
    n_features_in_ : int
    n_outputs_ : int
    y_ndim_ : int
        1 or 2: the shape ``predict`` returns follows the training ``y``.
    """

    _parameter_constraints = {**BaseRNN._parameter_constraints, "head": [StrOptions(set(HEADS))]}
    _metric_name = "r2"
    _loss = staticmethod(mean_squared_error)

    def __init__(self, *, cell="lstm", units=32, bidirectional=False, reset_after=True,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 unit_forget_bias=True, embedding_dim=32, vocab_size=None,
                 input_encoding="embedding", head="last", optimizer="adam", learning_rate=0.001,
                 momentum=0.0, nesterov=False, weight_decay=0.004, batch_size=32, max_iter=10,
                 shuffle=True, alpha=0.0, clipnorm=None, clipvalue=None, bptt_truncate=None,
                 dropout=0.0, recurrent_dropout=0.0, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=3, tol=1e-4, monitor="val_loss",
                 restore_best_weights=True, random_state=None, verbose=0, warm_start=False,
                 n_threads=None, dtype="float32", callbacks=None, checkpoint_path=None):
        super().__init__(
            cell=cell, units=units, bidirectional=bidirectional, reset_after=reset_after,
            activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
            unit_forget_bias=unit_forget_bias, embedding_dim=embedding_dim, vocab_size=vocab_size,
            input_encoding=input_encoding, optimizer=optimizer,
            learning_rate=learning_rate, momentum=momentum, nesterov=nesterov,
            weight_decay=weight_decay, batch_size=batch_size, max_iter=max_iter, shuffle=shuffle,
            alpha=alpha, clipnorm=clipnorm, clipvalue=clipvalue, bptt_truncate=bptt_truncate,
            dropout=dropout, recurrent_dropout=recurrent_dropout, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change, tol=tol,
            monitor=monitor, restore_best_weights=restore_best_weights,
            random_state=random_state, verbose=verbose, warm_start=warm_start,
            n_threads=n_threads, dtype=dtype, callbacks=callbacks,
            checkpoint_path=checkpoint_path)
        self.head = head

    def _head_kind(self):
        return self.head

    def fit(self, X, y, sample_weight=None, validation_data=None):
        """Train on ``X``, ``y`` (shape (n_samples,) or (n_samples, n_outputs)).

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, validation_data)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``X``, ``y``."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _encode_targets(self, y, reset, classes=None, n_samples=None, X=None):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        y = np.asarray(y)
        if y.dtype.kind not in "iufb":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError("y must be numeric for a regressor") from None
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}")
        if n_samples is not None and len(y) != n_samples:
            raise ValueError(f"X and y have different numbers of samples: {n_samples} and {len(y)}")
        y = y.astype(np.float64)
        if not np.isfinite(y).all():
            raise ValueError("y contains NaN or infinity")
        y2 = y[:, None] if y.ndim == 1 else y
        if reset:
            self.y_ndim_ = y.ndim
            self.n_outputs_ = y2.shape[1]
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y2.shape[1]} outputs, the model has {self.n_outputs_}")
        return y2

    def _metric(self, outputs, y, w):
        mean = (y * w[:, None]).sum(axis=0) / w.sum()
        ss_res = (((y - outputs) ** 2) * w[:, None]).sum(axis=0)
        ss_tot = (((y - mean) ** 2) * w[:, None]).sum(axis=0)
        r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
        return float(r2.mean())

    def _split_validation(self, X, y, w, rng):
        idx = np.arange(len(X))
        tr, va = train_test_split(idx, test_size=self.validation_fraction,
                                  random_state=int(rng.integers(2**31 - 1)))
        if len(tr) == 0 or len(va) == 0:
            raise ValueError("too few samples to hold out a validation set; lower "
                             "validation_fraction or pass validation_data")
        return X[tr], y[tr], w[tr], (X[va], y[va], np.ones(len(va)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.regressor_tags.poor_score = True  # see RNNClassifier.__sklearn_tags__
        return tags

    def predict(self, X):
        """Predictions, shape (n_samples,) or (n_samples, n_outputs) like the training ``y``."""
        out = self._forward_fast(X)
        return out[:, 0] if self.y_ndim_ == 1 else out
