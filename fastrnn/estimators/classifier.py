"""RNNClassifier: a recurrent network with a sigmoid (two classes) or softmax head."""

import math
import numbers

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ..losses import binary_crossentropy, categorical_crossentropy, sigmoid, softmax
from ._base import BasePooledRNN, check_partial_fit_classes, declare_params, first_classes, param


# beyond this logit margin, the top float64 probability rounds to exactly 1
_SATURATED_LOGIT = 37.0


@declare_params
class RNNClassifier(ClassifierMixin, BasePooledRNN):
    """Recurrent neural network classifier (SimpleRNN, LSTM or GRU) with Keras semantics.

    Input is a 2-D integer array ``(n_samples, n_timesteps)`` of token ids (0 is
    padding; a list of id lists of different lengths is pre-padded), or float
    sequences: 2-D ``(n_samples, n_timesteps)`` (one feature per step) or 3-D
    ``(n_samples, n_timesteps, n_features)``, padded anywhere in a row if a
    ``mask`` marks the real steps, or a list of float arrays of shapes
    ``(T_i,)`` or ``(T_i, n_features)`` (variable lengths).  Padding costs no
    computation and changes no prediction; ``head="flatten"`` reads a fixed
    number of steps by position, so it refuses padded float sequences (a
    list of different lengths, or a ``mask`` with padding), and on token ids
    its outputs depend on where the padding is (as Keras's ``Flatten``, which
    takes no mask: pre-pad at predict as at fit).

    Parameters
    ----------
    cell : {"simple", "lstm", "gru"}, default "lstm"
    units : int or tuple of int, default 32
        Units per recurrent layer; a tuple stacks layers (all but the last return
        sequences internally).
    bidirectional : bool, default False
        Wrap every recurrent layer in a bidirectional (concatenating) layer.
    reset_after : bool, default True
        GRU variant (Keras default True).
    activation : str, default "tanh"
    recurrent_activation : str, default "sigmoid"
    use_bias : bool, default True
    unit_forget_bias : bool, default True
    embedding_dim : int, default 32
    embedding_init : array-like of shape (vocab_size, embedding_dim) or None, default None
        Initial embedding, e.g. pretrained word vectors laid out by
        :func:`fastrnn.text.embedding_matrix` (Keras ``Embedding(weights=...)``).
        Copied and cast to ``dtype`` at the first fit; its rows set
        ``vocab_size_`` when ``vocab_size`` is None (larger ids follow
        ``unknown_ids``).  A warm start or ``partial_fit`` continues from the
        fitted weights instead.
    embedding_trainable : bool, default True
        False freezes the embedding (Keras ``trainable=False``): no gradient
        is computed for it and no optimizer step, weight decay included,
        changes it.
    vocab_size : int or None, default None
        Number of token ids; None infers ``max id + 1`` in ``fit`` (with a
        warning when one id lies far above all others).  The first layer's
        table has ``vocab_size`` rows: ``fit`` warns before allocating one
        over 1 GiB and raises ``MemoryError`` for one larger than the
        machine's memory.
    unknown_ids : {"error", "oov"} or int, default "error"
        Token ids ``>= vocab_size`` (at predict time, or in ``fit`` with an
        explicit ``vocab_size``): "error" raises a ``ValueError``; "oov" maps
        them to the out-of-vocabulary id 1 (:class:`~fastrnn.TextSequencer`'s),
        an int to that id (2 for Keras's IMDB ids), with a warning that counts
        them.
    input_encoding : {"embedding", "onehot"}, default "embedding"
        How token ids enter the first layer; "onehot" is exact one-hot input
        (never materialised).
    head : {"last", "flatten", "mean", "max", "attention"}, default "last"
        Features fed to the output layer: the last state, all steps flattened,
        mean/max pooling over the non-padded steps, or their weighted mean by
        additive attention (weights from :meth:`attention_weights`).  The
        features themselves are :meth:`transform`'s output.
    optimizer : {"sgd", "rmsprop", "adam", "adamw"}, default "adam"
    learning_rate : float, default 0.001
    lr_schedule : {"auto", "plateau", "cosine"}, fastrnn.schedules.Schedule or None, default "auto"
        How the learning rate changes from epoch to epoch (recorded in
        ``history_["lr"]``): "auto" is a plateau schedule with patience
        ``n_iter_no_change - 1`` watching ``monitor`` (``tol`` the least
        improvement) when ``early_stopping`` is on and a constant
        rate otherwise (None: always constant, as Keras); "plateau" is
        :class:`~fastrnn.schedules.ReduceOnPlateau` (halve it when the
        validation loss stalls for 2 epochs), "cosine" is
        :class:`~fastrnn.schedules.CosineDecay` (from ``learning_rate`` to 0
        over ``max_iter`` epochs), or any schedule object.  Every ``fit``
        starts the schedule again; ``partial_fit`` continues it.
    momentum : float, default 0.0
        SGD only.
    nesterov : bool, default False
        SGD only.
    weight_decay : float, default 0.004
        AdamW only (decoupled weight decay, Keras's default).
    batch_size : int, default 32
    max_iter : int, default 10
        Epochs.
    shuffle : bool, default True
    alpha : float, default 0.0
        L2 penalty ``alpha * sum(W**2)`` on the kernels (not biases or embeddings),
        like a Keras ``l2(alpha)`` regulariser; ``loss`` and ``val_loss`` in
        ``history_`` include it, as Keras's do (but a language model's or a
        quantile forecaster's ``val_loss``, whose negative is its validation
        score).
    clipnorm : float or None, default 1.0
        Per-array gradient clipping, as in Keras optimizers (whose default is
        None: no clipping).
    clipvalue : float or None, default None
        Gradient clipping by value, as in Keras optimizers; applied before
        ``clipnorm`` (set ``clipnorm=None`` for Keras's ``clipvalue`` alone:
        Keras accepts only one of the two).
    bptt_truncate : int or None, default None
        Backpropagate through at most the last ``k`` steps of every sequence
        (None = full BPTT); the forward pass always reads every step.
    dropout, recurrent_dropout : float, default 0.0
        Fraction of inputs / recurrent state dropped, one mask per sequence.
    embedding_dropout : float, default 0.0
        Token ids through an embedding only: fraction of token occurrences
        whose embedding is zeroed in training (Keras's
        ``Dropout(p, noise_shape=(batch, timesteps, 1))`` after the embedding).
    spatial_dropout : float, default 0.0
        Token ids through an embedding only: fraction of embedding channels
        zeroed for a whole sequence in training (Keras's ``SpatialDropout1D``
        after the embedding; both directions see the same channels).
    spatial_dropout_shared : bool, default False
        Draw one spatial-dropout mask per mini-batch, shared by all its
        sequences, instead of one per sequence: not Keras's semantics, but it
        costs about nothing (the mask is folded into the first layer's kernel),
        where a mask per sequence costs about what ``dropout`` does.
    early_stopping : bool, default False
    validation_fraction : float, default 0.1
        Stratified, seeded hold-out used when ``early_stopping`` and no
        ``validation_data``.
    n_iter_no_change : int, default 3
        Patience, in epochs.
    tol : float, default 1e-4
        Minimum improvement of the monitored value.
    monitor : {"val_loss", "val_score"}, default "val_loss"
    restore_best_weights : bool, default True
    random_state : int, RandomState or None, default None
    verbose : int, default 0
        0 silent, 1 a progress bar per epoch (redrawn in place on a terminal, a
        ``tqdm.auto`` bar in a notebook with tqdm installed, one line per epoch
        in a log file), 2 one line per epoch.
    warm_start : bool, default False
    n_threads : int or None, default None
        Kernel threads; None uses ``FASTRNN_NUM_THREADS``, ``OMP_NUM_THREADS`` or
        the available cores.  At most the CPUs available to the process (a
        larger number is lowered, with a warning).
    dtype : {"float32", "float64"}, default "float32"
    callbacks : list of fastrnn.callbacks.Callback or None
    checkpoint_path : str, os.PathLike or None, default None
        Save the model (:func:`fastrnn.save`) to this file after every epoch that
        improves the monitored value (validation loss/score, else training
        loss), so an interrupted run can be reloaded with :func:`fastrnn.load`
        (with ``callbacks=None``: callbacks are not saved).  Checked when
        ``fit`` starts: an existing directory, a missing parent directory or a
        parameter that cannot be saved (a schedule class of your own) is refused.
    class_weight : dict, "balanced" or None, default None
        Weights of the classes in the loss, ``{label: weight}`` (labels not
        named weigh 1), or ``"balanced"``: inversely proportional to the
        classes' frequencies in ``y`` (scikit-learn's
        ``compute_class_weight``); they multiply ``sample_weight``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    params_ : dict
        The weights (see :meth:`get_weights` for Keras's layout).
    history_ : dict of str to list
        Per-epoch ``loss``, ``accuracy`` and, with validation, ``val_loss``,
        ``val_accuracy`` (and ``lr`` under a schedule).  Every list has one
        entry per epoch: NaN for an epoch that logged none (no validation data
        or no schedule in that epoch's fit).
    loss_curve_ : list of float
    validation_scores_ : list of float or None
    best_loss_ : float or None
        The validation loss (the training loss without validation data) of ``best_epoch_``.
    best_epoch_ : int or None
        The best epoch as early stopping judges it (``monitor``, ``tol``), counted from 0 over
        ``history_``; with ``restore_best_weights`` and ``early_stopping`` (at the end of the
        fit, stopped early or not, as Keras's ``EarlyStopping``), or after an interrupted,
        diverging or failed fit, the model holds that epoch's weights.  None (and ``best_loss_`` None)
        when no epoch finished (a first fit stopped in its first epoch keeps its starting
        weights).
    weights_epoch_ : int or None
        The epoch whose weights the model holds (``best_epoch_`` after a restore, else the last
        epoch; a warm start begins from it); None when it holds its starting weights.
    n_iter_ : int
        Epochs run.
    stopped_reason_ : str or None
        Why training stopped before ``max_iter``: None, "early_stopping",
        "non_finite" or "diverged" (a non-finite loss, or an epoch's loss over
        ten times the first epoch's: the best weights seen are restored, with
        a warning), "interrupted", "callback" or "error" (an exception during
        training, raised again after the attributes were brought up to the
        epochs done).
    n_features_in_ : int
        Timesteps of the training input.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame ``X`` given to ``fit`` (only then).
    """

    class_weight: dict | str | None = param(None, dict, StrOptions({"balanced"}), None)

    _metric_name = "accuracy"

    def fit(self, X, y, sample_weight=None, validation_data=None, mask=None):
        """Train on ``X``, ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features)
            Or a list of float arrays of shapes ``(T_i,)`` or ``(T_i, n_features)``.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative; weights (times ``class_weight``) must not all be 0.
        validation_data : tuple (X_val, y_val) or (X_val, y_val, mask_val), optional
            Overrides ``validation_fraction``.
        mask : array-like of shape (n_samples, n_timesteps), bool, optional
            For padded float ``X``: True at real steps, False at padding (NaN
            allowed there).  Not for token ids, whose padding is id 0.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, validation_data, mask=mask)

    def partial_fit(self, X, y, classes=None, sample_weight=None, mask=None):
        """One epoch over ``X``, ``y``; ``classes`` is required on the first call."""
        check_partial_fit_classes(self, classes)
        return self._fit(X, y, sample_weight, incremental=True, classes=classes, mask=mask)

    def _loss(self, logits, y, w):
        loss = binary_crossentropy if self.n_outputs_ == 1 else categorical_crossentropy
        return loss(logits, y, w)

    # ---------------------------------------------------------------- targets
    def _encode_targets(self, y, reset, classes=None, n_samples=None, X=None):
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D (n_samples,), got shape {y.shape}")
        if n_samples is not None and len(y) != n_samples:
            raise ValueError(f"X and y have different numbers of samples: {n_samples} and {len(y)}")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError("y contains NaN or infinity")
        if y.dtype.kind not in "biu":
            # 1-D integer or boolean labels are always binary or multiclass; scikit-learn's
            # check (slow next to a small batch's step) is needed for the other kinds only
            check_classification_targets(y)
        if reset:
            self.classes_ = first_classes(y, classes)
            self.n_outputs_ = 1 if len(self.classes_) == 2 else len(self.classes_)
        # one search and one comparison, cheaper than a set difference of the unique labels
        encoded = np.searchsorted(self.classes_, y)
        known = self.classes_[np.minimum(encoded, len(self.classes_) - 1)] == y
        if not known.all():
            unseen = np.unique(y[~known])
            raise ValueError(f"y holds labels not seen in the first fit: {unseen.tolist()}; "
                             f"known classes are {self.classes_.tolist()}")
        return encoded

    def _class_weights(self, y_enc):
        if self.class_weight is None:
            return 1.0
        if isinstance(self.class_weight, str):  # "balanced"
            present = np.unique(y_enc)
            cw = compute_class_weight("balanced", classes=present, y=y_enc)
            table = np.ones(len(self.classes_))
            table[present] = cw
            return table[y_enc]
        table = np.ones(len(self.classes_))
        for label, weight in self.class_weight.items():
            if not (isinstance(weight, numbers.Real) and np.isfinite(weight) and weight >= 0):
                raise ValueError(f"class_weight[{label!r}] is {weight!r}: class weights must be "
                                 "finite and >= 0")
            hit = np.flatnonzero(self.classes_ == label)
            if not len(hit):
                raise ValueError(f"class_weight names label {label!r}, which is not in classes_")
            table[hit[0]] = weight
        return table[y_enc]

    def _chance_loss(self, data):
        # a uniform prediction's cross-entropy
        return math.log(2 if self.n_outputs_ == 1 else self.n_outputs_)

    def _saturated(self, logits):
        """Whether every row's top probability is exactly 1.0 in float64 (as ``predict_proba`` has it)."""
        if logits.shape[1] == 1:
            return bool(np.abs(logits).min() > _SATURATED_LOGIT)
        top2 = np.partition(logits, -2, axis=1)[:, -2:]
        return bool((top2[:, 1] - top2[:, 0]).min() > _SATURATED_LOGIT)

    def _metric(self, outputs, y, w):
        pred = (outputs[:, 0] > 0).astype(int) if outputs.shape[1] == 1 else outputs.argmax(axis=1)
        return float(((pred == y) * w).sum() / w.sum())

    def _stratify(self, y_enc):
        return y_enc

    # ---------------------------------------------------------------- predict
    def decision_function(self, X, mask=None):
        """Logits of the output layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features)
            Or a list of float arrays of shapes ``(T_i,)`` or ``(T_i, n_features)``;
            as in :meth:`fit`.
        mask : array-like of shape (n_samples, n_timesteps), bool, optional
            For padded float ``X``: True at real steps, False at padding.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            One logit per sample for two classes (the second class's), else
            one per class, columns in ``classes_`` order.
        """
        out = self._forward_fast(X, mask)
        return out[:, 0] if out.shape[1] == 1 else out

    def predict_proba(self, X, mask=None):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features)
            Or a list of float arrays of shapes ``(T_i,)`` or ``(T_i, n_features)``;
            as in :meth:`fit`.
        mask : array-like of shape (n_samples, n_timesteps), bool, optional
            For padded float ``X``: True at real steps, False at padding.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in ``classes_`` order; each row sums to 1.
        """
        out = self._forward_fast(X, mask)
        if out.shape[1] == 1:
            p = sigmoid(out[:, 0])
            return np.column_stack([1.0 - p, p])
        return softmax(out)

    def predict_log_proba(self, X, mask=None):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features)
            Or a list of float arrays; as in :meth:`fit`.
        mask : array-like of shape (n_samples, n_timesteps), bool, optional
            For padded float ``X``: True at real steps, False at padding.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            ``-inf`` where a probability rounds to 0.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X, mask))

    def predict(self, X, mask=None):
        """Predicted labels: the most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features)
            Or a list of float arrays; as in :meth:`fit`.
        mask : array-like of shape (n_samples, n_timesteps), bool, optional
            For padded float ``X``: True at real steps, False at padding.

        Returns
        -------
        ndarray of shape (n_samples,)
            Values from ``classes_`` (the original labels).
        """
        proba = self.predict_proba(X, mask)
        return self.classes_[proba.argmax(axis=1)]

    def score(self, X, y, sample_weight=None, mask=None):
        """Accuracy of :meth:`predict` against ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features)
            Or a list of float arrays; as in :meth:`fit`.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        mask : array-like of shape (n_samples, n_timesteps), bool, optional
            For padded float ``X``: True at real steps, False at padding.

        Returns
        -------
        float
        """
        return float(accuracy_score(y, self.predict(X, mask), sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        # scikit-learn's common checks feed tabular 2-D floats (read here as one-feature
        # sequences); 10 epochs at Keras's default learning rate do not reach their accuracy
        # threshold, which is what this tag declares
        tags.classifier_tags.poor_score = True
        return tags


