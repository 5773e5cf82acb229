"""RNNRegressor: a recurrent network with a linear head and mean squared error."""

from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score

from ..losses import mean_squared_error, r2
from ..utils.validation import real_steps
from ._base import (BasePooledRNN, check_float_range, float_targets, non_finite_rows,
                    warn_if_badly_scaled)


class RNNRegressor(RegressorMixin, BasePooledRNN):
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
    best_loss_ : float or None
    best_epoch_, weights_epoch_ : int or None
        As in :class:`RNNClassifier`: the best epoch as early stopping judges it, and its loss
        (None when no epoch finished); the epoch whose weights the model holds.
    n_iter_ : int
    n_features_in_ : int
    n_outputs_ : int
    y_ndim_ : int
        1 or 2: the shape ``predict`` returns follows the training ``y``.
    """

    _metric_name = "r2"
    _loss = staticmethod(mean_squared_error)

    def fit(self, X, y, sample_weight=None, validation_data=None, mask=None):
        """Train on ``X``, ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features)
            Or a list of float arrays of shapes ``(T_i,)`` or ``(T_i, n_features)``;
            as in :meth:`fastrnn.RNNClassifier.fit`.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative, not all 0.
        validation_data : tuple (X_val, y_val) or (X_val, y_val, mask_val), optional
            Overrides ``validation_fraction``.
        mask : array-like of shape (n_samples, n_timesteps), bool, optional
            For padded float ``X``: True at real steps, False at padding.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, validation_data, mask=mask)

    def partial_fit(self, X, y, sample_weight=None, mask=None):
        """One epoch over ``X``, ``y``."""
        return self._fit(X, y, sample_weight, incremental=True, mask=mask)

    def _encode_targets(self, y, reset, classes=None, n_samples=None, X=None):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        y = float_targets(y)
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}")
        if n_samples is not None and len(y) != n_samples:
            raise ValueError(f"X and y have different numbers of samples: {n_samples} and {len(y)}")
        bad = non_finite_rows(y)
        if len(bad):
            per_step = (y.ndim == 2 and X is not None and y.shape == real_steps(X).shape
                        and y.shape[1] > 1)
            raise ValueError(f"y contains NaN or infinity (in y[{bad[0]}])"
                             + ("; if y holds a target per step, use RNNSequenceRegressor"
                                if per_step else ""))
        check_float_range(y, self.dtype, "y")
        y2 = y[:, None] if y.ndim == 1 else y
        if reset:
            warn_if_badly_scaled(y2, "y", "standardise it (e.g. sklearn.compose."
                                 "TransformedTargetRegressor with a StandardScaler)")
            self.y_ndim_ = y.ndim
            self.n_outputs_ = y2.shape[1]
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y2.shape[1]} outputs, the model has {self.n_outputs_}")
        return y2

    def _chance_loss(self, data):
        # the squared error of predicting the (weighted) mean: the targets' variance
        _, y, w = data
        mean = (y * w[:, None]).sum(axis=0) / w.sum()
        return float((((y - mean) ** 2) * w[:, None]).sum(axis=0).mean() / w.sum())

    _metric = staticmethod(r2)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.regressor_tags.poor_score = True  # see RNNClassifier.__sklearn_tags__
        return tags

    def predict(self, X, mask=None):
        """Predicted values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features)
            Or a list of float arrays of shapes ``(T_i,)`` or ``(T_i, n_features)``;
            as in :meth:`fastrnn.RNNClassifier.fit`.
        mask : array-like of shape (n_samples, n_timesteps), bool, optional
            For padded float ``X``: True at real steps, False at padding.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The shape of the training ``y`` (``y_ndim_``).
        """
        out = self._forward_fast(X, mask)
        return out[:, 0] if self.y_ndim_ == 1 else out

    def score(self, X, y, sample_weight=None, mask=None):
        """R^2 of :meth:`predict` (uniform average over outputs), as scikit-learn's regressors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features)
            Or a list of float arrays; as in :meth:`predict`.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional
        mask : array-like of shape (n_samples, n_timesteps), bool, optional
            For padded float ``X``: True at real steps, False at padding.

        Returns
        -------
        float
        """
        return float(r2_score(y, self.predict(X, mask), sample_weight=sample_weight))
