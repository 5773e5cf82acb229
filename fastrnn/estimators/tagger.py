"""RNNSequenceTagger: one label per token (many-to-many), padding ignored."""

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from ..losses import sequence_accuracy, sequence_crossentropy
from ._base import BaseRNN


def _label_matrix(Y, shape):
    """``Y`` as an object/numeric array of ``shape``; ragged rows are pre-padded like ``X``."""
    if isinstance(Y, np.ndarray) and Y.dtype != object and Y.ndim == 2:
        arr = Y
    else:
        rows = [list(r) for r in Y]
        if len({len(r) for r in rows}) <= 1 and (not rows or len(rows[0]) == shape[1]):
            arr = np.array(rows) if rows and rows[0] else np.empty((len(rows), 0))
        else:
            arr = np.full((len(rows), shape[1]), None, dtype=object)
            for i, r in enumerate(rows):
                if len(r) > shape[1]:
                    raise ValueError(f"Y row {i} has {len(r)} labels but X has {shape[1]} steps")
                if r:
                    arr[i, shape[1] - len(r):] = r
    if arr.shape != tuple(shape):
        raise ValueError(f"Y must have one label per step of X: X is {tuple(shape)}, Y is "
                         f"{arr.shape}")
    return arr


class RNNSequenceTagger(BaseRNN):
    """Recurrent sequence tagger: a label for every token (Keras ``TimeDistributed(Dense)``).

    ``fit(X, Y)`` takes token ids ``X`` of shape ``(n_samples, n_timesteps)``
    (0 = padding) and labels ``Y`` of the same shape; labels at padding
    positions are ignored in the loss and the metrics (any value, e.g. 0 or
    None, may sit there).  Ragged lists are pre-padded: ``Y``'s rows must then
    have the lengths of ``X``'s.  The output layer is a softmax over the
    classes at every step; with ``bidirectional=True`` each label sees the
    whole sequence.

    Takes the parameters of :class:`fastrnn.RNNClassifier` except ``head`` and
    ``class_weight``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels seen at non-padding positions.
    params_, history_, loss_curve_, validation_scores_, best_loss_, best_epoch_, n_iter_
        As in :class:`fastrnn.RNNClassifier`; ``history_`` holds per-epoch
        ``loss``, ``accuracy`` (token accuracy) and their ``val_`` versions.
    """

    _metric_name = "accuracy"

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

    def _head_kind(self):
        return "sequence"

    _loss = staticmethod(sequence_crossentropy)
    _metric = staticmethod(sequence_accuracy)

    def fit(self, X, Y, sample_weight=None, validation_data=None):
        """Train on token ids ``X`` (n_samples, n_timesteps) and labels ``Y`` of the same shape.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps), or a list of id lists
        Y : array-like of shape (n_samples, n_timesteps), or a list of label lists
        sample_weight : array-like of shape (n_samples,), optional
            Weight of every token of a sequence.
        validation_data : tuple (X_val, Y_val), optional

        Returns
        -------
        self
        """
        return self._fit(X, Y, sample_weight, validation_data)

    def partial_fit(self, X, Y, classes=None, sample_weight=None):
        """One epoch over ``X``, ``Y``; ``classes`` is required on the first call."""
        if not hasattr(self, "classes_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._fit(X, Y, sample_weight, incremental=True, classes=classes)

    def _encode_targets(self, Y, reset, classes=None, n_samples=None, X=None):
        if Y is None:
            raise ValueError("RNNSequenceTagger requires Y to be passed, but the target Y is None")
        if X.ndim != 2 or self.input_kind_ == "dense":
            raise ValueError("RNNSequenceTagger reads token ids of shape (n_samples, n_timesteps)")
        Y = _label_matrix(Y, X.shape)
        real = X != 0
        labels = Y[real]
        if any(v is None for v in labels.tolist()):
            raise ValueError("Y has fewer labels than X has tokens in some row")
        if labels.dtype.kind == "f" and not np.isfinite(labels).all():
            raise ValueError("Y contains NaN or infinity at a token position")
        if labels.dtype == object:
            labels = np.array(labels.tolist())
        if reset:
            self.classes_ = np.unique(classes if classes is not None else labels)
            if len(self.classes_) < 2:
                raise ValueError(f"Y has only 1 class ({self.classes_.tolist()}) at token "
                                 "positions; the tagger needs at least 2")
            self.n_outputs_ = len(self.classes_)
        unseen = np.setdiff1d(np.unique(labels), self.classes_)
        if len(unseen):
            raise ValueError(f"Y holds labels not seen in the first fit: {unseen.tolist()[:10]}; "
                             f"known classes are {self.classes_.tolist()[:10]}")
        y_enc = np.full(X.shape, -1, dtype=np.int64)
        y_enc[real] = np.searchsorted(self.classes_, labels)
        return y_enc

    def _split_validation(self, X, y, w, rng):
        idx = np.arange(len(X))
        tr, va = train_test_split(idx, test_size=self.validation_fraction,
                                  random_state=int(rng.integers(2**31 - 1)))
        if len(tr) == 0 or len(va) == 0:
            raise ValueError("too few samples to hold out a validation set; lower "
                             "validation_fraction or pass validation_data")
        return X[tr], y[tr], w[tr], (X[va], y[va], np.ones(len(va)))

    # ------------------------------------------------------------- predict
    def predict_proba(self, X):
        """Class probabilities at every position.

        Padding positions get the probabilities computed from the state carried
        over them (as Keras's masked ``TimeDistributed``); mask them with ``X != 0``.

        Returns
        -------
        ndarray of shape (n_samples, n_timesteps, n_classes)
        """
        logits = self._forward_fast(X)
        z = np.exp(logits - logits.max(axis=2, keepdims=True))
        return z / z.sum(axis=2, keepdims=True)

    def predict(self, X):
        """Labels at every position, shape (n_samples, n_timesteps), in the original label values."""
        logits = self._forward_fast(X)
        return self.classes_[np.argmax(logits, axis=2)]

    def score(self, X, Y, sample_weight=None):
        """Token accuracy over the non-padding positions (weighted per sequence)."""
        check_is_fitted(self, "params_")
        X = self._validate_X(X, reset=False)
        y_enc = self._encode_targets(Y, reset=False, X=X)
        w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
        return sequence_accuracy(self._forward_fast(X), y_enc, w)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        return tags
