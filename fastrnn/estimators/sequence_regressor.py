"""RNNSequenceRegressor: one real value (or vector) per step (many-to-many regression)."""

import warnings

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.exceptions import UndefinedMetricWarning

from ..layers._packing import MaskedSequences
from ..losses import sequence_mean_squared_error, sequence_r2
from ..utils.validation import check_step_targets, check_target_rows, real_steps
from ._base import (BaseSequenceRNN, check_float_range, check_sample_weight, float_targets,
                    non_finite_rows, warn_if_badly_scaled)


def per_step_output(out, X, squeeze):
    """Per-step outputs ``out`` (n, T, k) in the form of the input ``X``.

    A list of sequences gives a list of ``(T_i,)`` / ``(T_i, k)`` arrays (its
    real steps); a padded array gives ``(n, T)`` / ``(n, T, k)`` with NaN at
    padded steps.
    """
    real = real_steps(X)
    if squeeze:
        out = out[:, :, 0]
    if isinstance(X, MaskedSequences) and X.ragged:
        return [out[i][real[i]] for i in range(len(out))]
    if not real.all():
        out[~real] = np.nan
    return out


class RNNSequenceRegressor(RegressorMixin, BaseSequenceRNN):
    """Recurrent regressor with an output at every step (Keras ``TimeDistributed(Dense)``).

    ``fit(X, y)`` takes sequences ``X`` (float arrays ``(n_samples,
    n_timesteps)`` or ``(n_samples, n_timesteps, n_features)``, padded
    anywhere in a row if a ``mask`` marks the real steps; a list of float
    arrays ``(T_i,)`` or ``(T_i, n_features)``; or token ids, 0 = padding)
    and targets ``y`` for every step: an array ``(n_samples, n_timesteps)``
    or ``(n_samples, n_timesteps, n_outputs)`` aligned with ``X``, or a list
    with one ``(T_i,)`` / ``(T_i, n_outputs)`` array per sequence.  The
    loss is the mean squared error over real steps only (targets at padded
    steps are ignored and may be NaN); the output layer is linear.

    Takes the parameters of :class:`fastrnn.RNNRegressor` except ``head``.
    ``bptt_truncate = k`` backpropagates through the last ``k`` steps of
    every sequence; with ``bidirectional=True`` each output sees the whole
    sequence.

    Attributes
    ----------
    n_outputs_ : int
        Values per step.
    y_ndim_ : int
        2 or 3: whether a step's target is a scalar or a vector, as in the
        training ``y`` (``predict`` follows it).
    params_, history_, loss_curve_, validation_scores_, best_loss_, best_epoch_, n_iter_
        As in :class:`fastrnn.RNNRegressor`; ``history_`` holds per-epoch
        ``loss``, ``r2`` (over real steps) and their ``val_`` versions.
    n_features_in_ : int
        Timesteps of the (padded) training input.

    Examples
    --------
    >>> import numpy as np
    >>> from fastrnn import RNNSequenceRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.normal(size=n) for n in (5, 8, 3)]
    >>> y = [np.cumsum(x) for x in X]
    >>> model = RNNSequenceRegressor(units=4, max_iter=2, random_state=0).fit(X, y)
    >>> [p.shape for p in model.predict(X)]
    [(5,), (8,), (3,)]
    """

    _metric_name = "r2"
    _loss = staticmethod(sequence_mean_squared_error)
    _metric = staticmethod(sequence_r2)

    def _head_kind(self):
        return "sequence"

    def fit(self, X, y, sample_weight=None, validation_data=None, mask=None):
        """Train on sequences ``X`` and per-step targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features]), or a list of sequences
        y : array-like of shape (n_samples, n_timesteps[, n_outputs]), or a list of sequences
            One target (or vector) per real step of ``X``.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of every step of a sequence; non-negative.
        validation_data : tuple (X_val, y_val) or (X_val, y_val, mask_val), optional
        mask : array-like of shape (n_samples, n_timesteps), bool, optional
            For padded float ``X``: True at real steps, False at padding.

        Returns
        -------
        self
        """
        check_target_rows(X, y, validation_data)
        return self._fit(X, y, sample_weight, validation_data, mask=mask)

    def partial_fit(self, X, y, sample_weight=None, mask=None):
        """One epoch over ``X``, ``y``."""
        check_target_rows(X, y)
        return self._fit(X, y, sample_weight, incremental=True, mask=mask)

    def _encode_targets(self, y, reset, classes=None, n_samples=None, X=None):
        values = float_targets(check_step_targets(y, X, type(self).__name__))
        bad = non_finite_rows(values)
        if len(bad):
            real = real_steps(X)
            row, step = np.argwhere(real)[bad[0]]
            nth = int(real[row, :step].sum())  # the same for a list y and for a padded one
            raise ValueError(f"y contains NaN or infinity at a real step of X (row {row}, its "
                             f"real step {nth}; {len(bad)} step(s) in all); if NaN marks y's "
                             "padding, it must be where X's padding is")
        check_float_range(values, self.dtype, "y")
        scalar = values.ndim == 1  # one value per step, not a vector
        if scalar:
            values = values[:, None]
        if reset:
            warn_if_badly_scaled(values, "y", "standardise it first (and invert the scaling of "
                                 "the predictions)")
            self.y_ndim_ = 2 if scalar else 3
            self.n_outputs_ = values.shape[1]
        elif (2 if scalar else 3) != self.y_ndim_:
            # predict's form follows y_ndim_: a y of the other form would change it silently
            forms = {2: "one value per step (2-D padded, or a list of 1-D sequences)",
                     3: "a vector per step (3-D padded, or a list of 2-D sequences)"}
            raise ValueError(f"y holds {forms[2 if scalar else 3]}, but the model was fitted on "
                             f"y holding {forms[self.y_ndim_]}; give y in that form, or fit "
                             "from scratch")
        elif values.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {values.shape[1]} outputs per step, the model has "
                             f"{self.n_outputs_}")
        real = real_steps(X)
        y_enc = np.full(real.shape + (self.n_outputs_,), np.nan)
        y_enc[real] = values
        return y_enc

    def _chance_loss(self, data):
        # the squared error of predicting the (weighted) mean of the real steps' targets
        _, y, w = data
        keep = ~np.isnan(y[:, :, 0])
        step_w = np.broadcast_to(w[:, None], keep.shape)[keep][:, None]
        yk = y[keep]
        mean = (yk * step_w).sum(axis=0) / step_w.sum()
        return float((((yk - mean) ** 2) * step_w).sum(axis=0).mean() / step_w.sum())

    # ------------------------------------------------------------- predict
    def predict(self, X, mask=None):
        """Predictions at every step, in the form of ``X``.

        Parameters
        ----------
        X : array-like or list of sequences
        mask : array-like of shape (n_samples, n_timesteps), bool, optional

        Returns
        -------
        ndarray of shape (n_samples, n_timesteps[, n_outputs]), or list of ndarray
            For a list of sequences, a list of ``(T_i,)`` (``(T_i, n_outputs)``)
            arrays; for a padded array, the padded shape with NaN at padded
            steps (``mask`` False, or token id 0).
        """
        out, Xv = self._forward_fast(X, mask, return_input=True)
        return per_step_output(out, Xv, self.y_ndim_ == 2)

    def score(self, X, y, sample_weight=None, mask=None):
        """R^2 over the real steps, averaged uniformly over the outputs.

        Parameters
        ----------
        X, y, mask
            As in :meth:`fit`.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of every step of a sequence.

        Returns
        -------
        float
        """
        check_target_rows(X, y)
        out, Xv = self._forward_fast(X, mask, return_input=True)
        y_enc = self._encode_targets(y, reset=False, X=Xv)
        w = np.ones(len(Xv)) if sample_weight is None else check_sample_weight(sample_weight, Xv)
        n_real = int((~np.isnan(y_enc[:, :, 0])).sum())
        if n_real == 0:
            raise ValueError("X has no real step to score (every step is padding)")
        if n_real < 2:  # as r2_score (and RNNRegressor.score) for one sample
            warnings.warn("R^2 score is not well-defined with less than two samples.",
                          UndefinedMetricWarning, stacklevel=2)
            return float("nan")
        return sequence_r2(out, y_enc, w)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.regressor_tags.poor_score = True
        return tags
