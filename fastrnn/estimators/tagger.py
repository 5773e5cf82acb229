"""RNNSequenceTagger: one label per token (many-to-many), padding ignored."""

import math

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ..layers._packing import MaskedSequences
from ..losses import sequence_accuracy, sequence_crossentropy
from ..utils.validation import check_step_targets, check_target_rows, real_steps
from ._base import BaseSequenceRNN, check_partial_fit_classes, check_sample_weight, first_classes


def _label_matrix(Y, shape):
    """``Y`` as an object/numeric array of ``shape``; ragged rows are pre-padded like ``X``."""
    if hasattr(Y, "to_numpy"):  # a pandas frame
        Y = Y.to_numpy()
    if not hasattr(Y, "__len__") and hasattr(Y, "__array__"):
        Y = np.asarray(Y)
    if isinstance(Y, (str, bytes)) or not hasattr(Y, "__len__"):
        raise ValueError(f"y must hold one label per step of X, shape {tuple(shape)}; got "
                         f"{type(Y).__name__}")
    if isinstance(Y, np.ndarray) and Y.dtype != object and Y.ndim == 2:
        arr = Y
    elif any(isinstance(r, (str, bytes)) or not hasattr(r, "__len__") for r in Y):
        raise ValueError(f"y must hold one label per step of X, shape {tuple(shape)} like X, but "
                         f"it is 1-D (one label per sequence: use RNNClassifier for that)")
    else:
        rows = [list(r) for r in Y]
        if len({len(r) for r in rows}) <= 1 and (not rows or len(rows[0]) == shape[1]):
            # object: labels of mixed types stay apart for the targets check
            arr = np.array(rows, dtype=object) if rows and rows[0] else np.empty((len(rows), 0))
        else:
            arr = np.full((len(rows), shape[1]), None, dtype=object)
            for i, r in enumerate(rows):
                if len(r) > shape[1]:
                    raise ValueError(f"y row {i} has {len(r)} labels but X has {shape[1]} steps")
                if r:
                    arr[i, shape[1] - len(r):] = r
    if arr.shape != tuple(shape):
        raise ValueError(f"y must have one label per step of X: X is {tuple(shape)}, y is "
                         f"{arr.shape}")
    return arr


class RNNSequenceTagger(BaseSequenceRNN):
    """Recurrent sequence tagger: a label for every step (Keras ``TimeDistributed(Dense)``).

    ``fit(X, y)`` takes token ids ``X`` of shape ``(n_samples, n_timesteps)``
    (0 = padding) and labels ``y`` of the same shape; labels at padding
    positions are ignored in the loss and the metrics (any value, e.g. 0 or
    None, may sit there).  Ragged lists are pre-padded: ``y``'s rows must then
    have the lengths of ``X``'s.  The output layer is a softmax over the
    classes at every step; with ``bidirectional=True`` each label sees the
    whole sequence.

    ``X`` may also hold float sequences: an array ``(n_samples, n_timesteps)``
    or ``(n_samples, n_timesteps, n_features)`` with an optional ``mask``
    (True at real steps), or a list of ``(T_i,)`` / ``(T_i, n_features)``
    float arrays with a list of ``(T_i,)`` label sequences as ``y``; for a
    list, ``predict`` and ``predict_proba`` return lists of per-sequence
    arrays.

    Takes the parameters of :class:`fastrnn.RNNClassifier` except ``head`` and
    ``class_weight`` (it declares none of its own, so it keeps the generated
    constructor of :class:`~fastrnn.estimators._base.BaseSequenceRNN`).
    ``bptt_truncate = k`` backpropagates through the last ``k`` steps of every
    sequence.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels seen at non-padding positions.
    params_, history_, loss_curve_, validation_scores_, best_loss_, best_epoch_, n_iter_
        As in :class:`fastrnn.RNNClassifier`; ``history_`` holds per-epoch
        ``loss``, ``accuracy`` (token accuracy) and their ``val_`` versions.
    """

    _metric_name = "accuracy"

    def _head_kind(self):
        return "sequence"

    _loss = staticmethod(sequence_crossentropy)
    _metric = staticmethod(sequence_accuracy)

    def fit(self, X, y, sample_weight=None, validation_data=None, mask=None):
        """Train on sequences ``X`` and labels ``y`` with one label per step.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features]), or a list of sequences
            Token ids (0 = padding), float steps, or a list of either.
        y : array-like of shape (n_samples, n_timesteps), or a list of label lists
        sample_weight : array-like of shape (n_samples,), optional
            Weight of every token of a sequence; non-negative.
        validation_data : tuple (X_val, y_val) or (X_val, y_val, mask_val), optional
        mask : array-like of shape (n_samples, n_timesteps), bool, optional
            For padded float ``X``: True at real steps, False at padding.

        Returns
        -------
        self
        """
        check_target_rows(X, y, validation_data)
        return self._fit(X, y, sample_weight, validation_data, mask=mask)

    def partial_fit(self, X, y, classes=None, sample_weight=None, mask=None):
        """One epoch over ``X``, ``y``; ``classes`` is required on the first call."""
        check_partial_fit_classes(self, classes)
        check_target_rows(X, y)
        return self._fit(X, y, sample_weight, incremental=True, classes=classes, mask=mask)

    def _encode_targets(self, Y, reset, classes=None, n_samples=None, X=None):
        if Y is None:
            raise ValueError("RNNSequenceTagger requires y to be passed, but the target y is None")
        if self.input_kind_ == "dense":
            real = real_steps(X)
            labels = check_step_targets(Y, X, "RNNSequenceTagger")
            if labels.ndim != 1:
                raise ValueError("y must hold one label per step of X, not a vector")
        else:
            Y = _label_matrix(Y, X.shape)
            real = X != 0
            labels = Y[real]
        missing = [v is None for v in labels.tolist()]
        if any(missing):
            row, step = np.argwhere(real)[missing.index(True)]
            raise ValueError(f"y has no label for row {row}, step {step}, a token of X: a label "
                             "is None there, or that row of y has fewer labels than X has tokens")
        if labels.dtype.kind == "f" and not np.isfinite(labels).all():
            raise ValueError("y contains NaN or infinity at a token position")
        if labels.dtype == object:
            values = labels.tolist()
            if len({isinstance(v, str) for v in values}) > 1:  # NumPy would make them all strings
                raise ValueError("y mixes string and non-string labels at token positions; give "
                                 "labels of one type")
            labels = np.array(values)
        if labels.dtype.kind not in "biu":  # as RNNClassifier: no regression targets
            check_classification_targets(labels)
        if reset:
            self.classes_ = first_classes(labels, classes, " at token positions")
            self.n_outputs_ = len(self.classes_)
        unseen = np.setdiff1d(np.unique(labels), self.classes_)
        if len(unseen):
            raise ValueError(f"y holds labels not seen in the first fit: {unseen.tolist()[:10]}; "
                             f"known classes are {self.classes_.tolist()[:10]}")
        y_enc = np.full(real.shape, -1, dtype=np.int64)
        y_enc[real] = np.searchsorted(self.classes_, labels)
        return y_enc

    def _chance_loss(self, data):
        # a uniform prediction's cross-entropy per token
        return math.log(self.n_outputs_)

    # ------------------------------------------------------------- predict
    def predict_proba(self, X, mask=None):
        """Class probabilities at every position.

        Padding positions (token id 0, or ``mask`` False) get the probabilities
        computed from the state carried over them (as Keras's masked
        ``TimeDistributed``: the last real step's, or the initial state's
        before the first real step; with ``bidirectional=True`` from zeros, as
        Keras's ``Bidirectional``); mask them out with ``X != 0`` or ``mask``.

        Returns
        -------
        ndarray of shape (n_samples, n_timesteps, n_classes), or list of ndarray
            A list of ``(T_i, n_classes)`` arrays for a list of float sequences.
        """
        logits, Xv = self._forward_fast(X, mask, return_input=True)
        z = np.exp(logits - logits.max(axis=2, keepdims=True))
        return self._as_input(z / z.sum(axis=2, keepdims=True), Xv)

    def predict(self, X, mask=None):
        """Labels at every position, shape (n_samples, n_timesteps), in the original label values.

        A list of float sequences gives a list of ``(T_i,)`` label arrays.
        """
        logits, Xv = self._forward_fast(X, mask, return_input=True)
        return self._as_input(self.classes_[np.argmax(logits, axis=2)], Xv)

    @staticmethod
    def _as_input(out, X):
        """Per-position outputs as a list of the real steps' for a list of float sequences."""
        if isinstance(X, MaskedSequences) and X.ragged:
            return [out[i][X.mask[i]] for i in range(len(out))]
        return out

    def score(self, X, y, sample_weight=None, mask=None):
        """Token accuracy over the non-padding positions (weighted per sequence).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps[, n_features]), or a list of sequences
        y : array-like of shape (n_samples, n_timesteps), or a list of label lists
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative, finite, not all 0.
        mask : array-like of shape (n_samples, n_timesteps), bool, optional
            For padded float ``X``, as in :meth:`fit`.

        Returns
        -------
        float
        """
        check_is_fitted(self, "params_")
        check_target_rows(X, y)
        logits, Xv = self._forward_fast(X, mask, return_input=True)
        y_enc = self._encode_targets(y, reset=False, X=Xv)
        if sample_weight is None:
            w = np.ones(len(Xv))
        else:
            w = check_sample_weight(sample_weight, Xv)
        return sequence_accuracy(logits, y_enc, w)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags
