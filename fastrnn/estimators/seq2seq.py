"""RNNSeq2Seq: an encoder-decoder with Luong attention, trained with teacher forcing."""

import math
import numbers

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..layers import Recurrent
from ..layers.seq2seq import Seq2SeqModel, _log_softmax, warn_failed
from ..losses import sequence_accuracy, sequence_crossentropy
from ..runtime import engine_scope, parallel_queue
from ..text import WORD_OR_SYMBOL_PATTERN, TextSequencer, _is_missing, pad_sequences
from ..training import Batch, minibatch_rows, n_minibatches
from .._warnings import warn_at_caller
from ._base import (_LARGE_TABLE_BYTES, BaseRNN, _available_memory, check_input_table_size,
                    check_weights_usable, declare_params, held_out_weights, param)

#: Target ids with a fixed meaning inside the model.
PAD, START, END = 0, 1, 2
#: Target ids are the target vocabulary's (or the user's) ids shifted by this much.
TARGET_OFFSET = 2
#: Most logits (rows x hypotheses x target ids) of one decoding step of one batch.
DECODE_LOGITS = 1 << 24
#: Sources per decoding batch (at least; ``batch_size`` when larger): greedy, beam search.
GREEDY_BATCH, BEAM_BATCH = 512, 256


def _is_text(seqs):
    return len(seqs) > 0 and all(isinstance(s, str) for s in seqs)


def _as_list(X, name):
    """``X`` as a list of rows (strings or id sequences)."""
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of texts or id sequences, not a single "
                        f"{type(X).__name__}")
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype != object:
        return list(X)
    try:
        return list(X)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of texts or id sequences, got "
                        f"{type(X).__name__}") from None


def _id_rows(rows, name):
    """Id rows without their padding (0 anywhere), as int64 arrays; refuses non-ids."""
    out = []
    for i, r in enumerate(rows):
        a = np.asarray(r)
        if a.ndim != 1 or not (a.size == 0 or np.issubdtype(a.dtype, np.integer)):
            raise TypeError(f"{name}[{i}] is not a sequence of integer ids (got {a.dtype}, "
                            f"{a.ndim}-D); pass texts or integer id sequences")
        if a.size and a.min() < 0:
            raise ValueError(f"{name}[{i}] holds a negative id ({int(a.min())}); ids are >= 0, "
                             "0 being padding")
        out.append(a[a != 0].astype(np.int64))
    return out


def _pair_weights(sample_weight, n):
    """``sample_weight`` as float64 of shape (n,): finite, non-negative, not all 0."""
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"sample_weight must hold one weight per pair, {n}, got shape {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinity")
    check_weights_usable(w)
    return w


@declare_params
class RNNSeq2Seq(BaseRNN):
    """Sequence to sequence: a recurrent encoder-decoder with Luong attention.

    The encoder reads the source; each encoder layer's final states start the
    matching decoder layer, which reads the target shifted right (the start
    token, then the true previous tokens: **teacher forcing**) and predicts
    the next target token through a softmax over the target vocabulary.
    With ``attention`` the decoder's outputs also attend to the encoder's
    outputs (:class:`~fastrnn.layers.LuongAttention`).  The loss is the mean
    cross-entropy over the real target tokens (the end token included).
    Both recurrent stacks run in the compiled kernels, in training and in
    decoding.

    Parameters
    ----------
    cell : {"simple", "lstm", "gru"}, default "lstm"
    units : int or tuple of int, default 128
        Units of the decoder's layers, bottom to top (a tuple stacks layers);
        the encoder has as many layers, of the same widths.  With
        ``bidirectional`` each encoder direction has half of them (so they
        must be even), and the two directions' final states are joined side
        by side to start the decoder layer.
    embedding_dim : int, default 64
        Width of both embeddings (source and target).
    bidirectional : bool, default False
        Bidirectional encoder.
    attention : {"dot", "general"} or None, default "dot"
        Luong global attention over the encoder's outputs (source padding
        masked), combined with the decoder output as
        ``tanh(W_c [context; h])`` before the output softmax.  None: the
        decoder starts from the encoder's final states and sees nothing else.
    level : {"char", "word"}, default "char"
        Tokenisation of text input: characters, or words (``\\w+``, combining
        marks kept in their word) and every other non-space character
        (punctuation) as tokens.  Word-level outputs are joined with single
        spaces.
    max_features : int or None, default None
        Keep the most frequent tokens of each side (source and target
        separately); the others become the unknown token.
    lowercase : bool, default False
        Lowercase text before tokenising (both sides).
    max_output_length : int or None, default None
        Most tokens :meth:`predict` generates (the end token not counted).
        Training targets longer than it are cut to it (with a warning), still
        followed by the end token.  None: the longest training target plus 10.
    beam_width : int, default 1
        1 decodes greedily; more runs beam search, ranking finished
        hypotheses by log-probability divided by ``length ** length_penalty``.
    length_penalty : float, default 1.0
        Exponent of the length normalisation (0: none).
    optimizer, learning_rate : default "adam", 0.001
    clipnorm : float or None, default 1.0
    batch_size : int, default 64
    max_iter : int, default 30
        Epochs.
    dropout, recurrent_dropout : float, default 0.0
        Input and recurrent dropout of every encoder and decoder layer.
    embedding_dropout, spatial_dropout : float, default 0.0
        Not supported here: ``fit`` refuses a positive value.
    spatial_dropout_shared : bool, default False
        Without effect here (no spatial dropout).
    early_stopping : bool, default True
        Stop when the validation loss (teacher-forced, per token) stops
        improving by ``tol`` for ``n_iter_no_change`` epochs, and keep the best
        weights; the validation pairs are ``fit``'s ``validation_data``, else a
        random ``validation_fraction`` of the pairs.
    validation_fraction : float, default 0.1
    n_iter_no_change : int, default 3

    The other parameters (``reset_after``, ``activation``,
    ``recurrent_activation``, ``use_bias``, ``unit_forget_bias``,
    ``momentum``, ``nesterov``, ``weight_decay``, ``clipvalue``, ``tol``,
    ``restore_best_weights``, ``random_state``, ``verbose``, ``warm_start``,
    ``n_threads``, ``dtype``, ``callbacks``, ``checkpoint_path``, ``lr_schedule``)
    are those of :class:`fastrnn.RNNClassifier`; ``alpha``, ``bptt_truncate``,
    ``embedding_init`` and ``embedding_trainable`` must keep their defaults (0,
    None, None and True).

    Attributes
    ----------
    input_kind_ : {"text", "ids"}
    source_sequencer_, target_sequencer_ : TextSequencer or None
        The vocabularies of text input: id 0 is padding, 1 the unknown token,
        then tokens by frequency.
    n_source_ids_ : int
        Source vocabulary size (padding included).
    n_target_ids_ : int
        Ids of the target side as the user sees them: the target
        sequencer's vocabulary size, or the largest target id plus one.
    max_output_length_ : int
        The limit of the last fit: ``max_output_length``, or the longest
        training target plus 10.  A ``max_output_length`` set after the fit
        takes effect at prediction.
    params_ : dict
        The weights (see :meth:`get_weights`).
    history_ : dict of str to list
        Per-epoch ``loss`` (cross-entropy per target token) and
        ``token_accuracy`` (teacher-forced), with ``val_`` versions when
        validating.
    loss_curve_, validation_scores_, best_loss_, best_epoch_, n_iter_, stopped_reason_
        As in :class:`fastrnn.RNNClassifier`, but the validation score (``history_``'s
        ``val_token_accuracy``) is the teacher-forced share of target tokens predicted
        right, not :meth:`score`'s exact match, and early stopping, checkpoints and the
        ``"auto"`` schedule watch the validation loss (there is no ``monitor``).

    Notes
    -----
    **Id input.**  ``X`` and ``Y`` may be sequences of integer id sequences
    (ragged lists, or padded 2-D arrays): id 0 is padding (ignored wherever it
    sits) and every other id a token.  No id is reserved beyond 0: the model
    keeps its own start and end tokens apart.  :meth:`predict` returns lists
    of ids; source ids above those seen in ``fit`` are refused.

    **Text input.**  Unseen tokens at :meth:`predict` become the unknown
    token (never an error); the model never emits the unknown token.

    **Empty pairs.**  A source must have at least one token (an empty one is
    refused); an empty target is allowed and teaches the model to emit the
    end token at once.

    **Weights order** (:meth:`get_weights`): source embedding (n_source, E);
    the encoder's layers bottom to top (kernel, recurrent kernel, bias; a
    bidirectional layer's forward arrays, then its backward ones); target
    embedding (n_target, E), where the target ids are the user's or the
    vocabulary's shifted by 2 (0 padding, 1 start, 2 end); the decoder's
    layers; with attention, ``W_a`` ("general" only, (W, W)), ``W_c``
    (2W, W) (context rows first) and its bias; the output ``Dense`` kernel
    (W, n_target) and bias.

    Examples
    --------
    >>> from fastrnn import RNNSeq2Seq
    >>> X = ["abc", "bca", "cab", "acb"] * 8
    >>> Y = [s[::-1] for s in X]
    >>> model = RNNSeq2Seq(units=16, embedding_dim=8, max_iter=2, early_stopping=False,
    ...                    random_state=0).fit(X, Y)
    >>> len(model.predict(["abc"]))
    1
    """

    attention: str | None = param("dot", StrOptions({"dot", "general"}), None)
    bidirectional: bool = param(False, "boolean")
    level: str = param("char", StrOptions({"char", "word"}))
    max_features: int | None = param(None, Interval(numbers.Integral, 1, None, closed="left"),
                                     None)
    lowercase: bool = param(False, "boolean")
    max_output_length: int | None = param(None, Interval(numbers.Integral, 1, None,
                                                         closed="left"), None)
    beam_width: int = param(1, Interval(numbers.Integral, 1, None, closed="left"))
    length_penalty: float = param(1.0, Interval(numbers.Real, 0, None, closed="left"))
    # defaults that suit an encoder-decoder
    units: int | tuple = 128
    embedding_dim: int = 64
    clipnorm: float | None = 1.0
    batch_size: int = 64
    max_iter: int = 30
    early_stopping: bool = True

    _loss = staticmethod(sequence_crossentropy)
    _metric = staticmethod(sequence_accuracy)
    _metric_name = "token_accuracy"

    # ---------------------------------------------------------- network
    def _layers(self, widths):
        return [Recurrent(self.cell, u, activation=self.activation,
                          recurrent_activation=self.recurrent_activation, use_bias=self.use_bias,
                          reset_after=self.reset_after, unit_forget_bias=self.unit_forget_bias)
                for u in widths]

    def _check_params(self):
        self._refuse_single_embedding()  # before the shared check, whose advice would not apply
        super()._check_params()

    def _refuse_single_embedding(self):
        if self.embedding_init is not None or not self.embedding_trainable:
            raise ValueError("embedding_init and embedding_trainable=False are for a single "
                             "embedding; RNNSeq2Seq has a source and a target embedding: leave "
                             "them at None and True (or load weights with set_weights)")

    def _check_seq2seq_params(self):
        self._refuse_single_embedding()
        if self.alpha:
            raise ValueError(f"alpha={self.alpha!r}: RNNSeq2Seq has no L2 penalty; use "
                             "optimizer='adamw' with weight_decay instead")
        if self.bptt_truncate is not None:
            raise ValueError(f"bptt_truncate={self.bptt_truncate!r}: RNNSeq2Seq backpropagates "
                             "through whole sources and targets; leave it None")
        if self.bidirectional and any(u % 2 for u in self._units_tuple()):
            raise ValueError(f"units={self.units!r}: a bidirectional encoder gives each direction "
                             "half of a layer's units, so they must be even")

    def _network(self):
        units = self._units_tuple()
        n_dir = 2 if self.bidirectional else 1
        return Seq2SeqModel(self.n_source_ids_, self.n_target_ids_ + TARGET_OFFSET,
                            self.embedding_dim, self._layers([u // n_dir for u in units]),
                            self._layers(units), self.bidirectional, self.attention)

    # -------------------------------------------------------------- data
    def _sequencer(self):
        return TextSequencer(char_level=self.level == "char", lowercase=self.lowercase,
                             token_pattern=WORD_OR_SYMBOL_PATTERN, max_features=self.max_features,
                             oov_token="<unk>")

    def _kind_of(self, X, Y=None):
        for name, rows in (("X", X), ("Y", Y or ())):
            for i, r in enumerate(rows):
                if _is_missing(r) or isinstance(r, np.floating) and np.isnan(r):
                    raise ValueError(f"{name}[{i}] is missing ({r!r}): every pair needs a source "
                                     "and a target (an empty string for an empty target)")
                if isinstance(r, bytes):
                    raise TypeError(f"{name}[{i}] is bytes: decode the texts first (e.g. "
                                    "r.decode('utf-8'))")
        kind = "text" if _is_text(X) else "ids"
        if Y is not None and len(Y) and _is_text(Y) != (kind == "text"):
            raise TypeError("X and Y must both be texts or both be id sequences")
        if kind == "ids" and any(isinstance(s, str) for s in X):
            raise TypeError("X mixes texts and other values; pass only texts or only id sequences")
        return kind

    def _encode_sources(self, X):
        """Source id arrays (unpadded); refuses empty ones and unseen ids."""
        if self.input_kind_ == "text":
            rows = [np.asarray(r, dtype=np.int64) for r in self.source_sequencer_.texts_to_ids(X)]
        else:
            rows = _id_rows(X, "X")
        for i, r in enumerate(rows):
            if len(r) == 0:
                raise ValueError(f"X[{i}] is empty: every source needs at least one token "
                                 f"({'after tokenisation, ' if self.input_kind_ == 'text' else ''}"
                                 "padding aside)")
            if self.input_kind_ == "ids" and r.max() >= self.n_source_ids_:
                raise ValueError(f"X[{i}] holds id {int(r.max())}, but the model was fitted on "
                                 f"source ids below {self.n_source_ids_}")
        return rows

    def _encode_targets(self, Y, name="Y"):
        """Target id arrays in the model's ids (shifted by :data:`TARGET_OFFSET`), unpadded."""
        if self.input_kind_ == "text":
            rows = [np.asarray(r, dtype=np.int64) for r in self.target_sequencer_.texts_to_ids(Y)]
        else:
            rows = _id_rows(Y, name)
            for i, r in enumerate(rows):
                if len(r) and r.max() >= self.n_target_ids_:
                    raise ValueError(f"{name}[{i}] holds id {int(r.max())}, but the model was "
                                     f"fitted on target ids below {self.n_target_ids_}")
        return [r + TARGET_OFFSET for r in rows]

    def _pairs(self, X, Y, name="Y", purpose="to learn from"):
        X, Y = _as_list(X, "X"), _as_list(Y, name)
        if len(X) != len(Y):
            raise ValueError(f"X and {name} have different lengths: {len(X)} sources and "
                             f"{len(Y)} targets")
        if not X and purpose is not None:
            raise ValueError(f"X is empty: no pairs {purpose}")
        return X, Y

    def _arrays(self, sources, targets):
        """Pre-padded source ids, decoder inputs and targets (-1 under padding)."""
        limit = self.max_output_length_
        long = [i for i, t in enumerate(targets) if len(t) > limit]
        if long:
            warn_at_caller(f"{len(long)} target(s) longer than max_output_length={limit} "
                           f"(first: Y[{long[0]}], {len(targets[long[0]])} tokens) were cut to "
                           f"{limit} tokens")
            targets = [t[:limit] for t in targets]
        src = pad_sequences([r.tolist() for r in sources], dtype="int32")
        dec_in = pad_sequences([[START] + t.tolist() for t in targets], dtype="int32")
        tgt = pad_sequences([t.tolist() + [END] for t in targets], dtype="int64", value=-1)
        return src, dec_in, tgt

    def _fit_data(self, X, y, sample_weight, classes, reset):
        self._check_seq2seq_params()
        X, Y = self._pairs(X, y)
        kind = self._kind_of(X, Y)
        if reset:
            self.input_kind_ = kind
            if kind == "text":
                self.source_sequencer_ = self._sequencer().fit(X)
                try:
                    self.target_sequencer_ = self._sequencer().fit(Y)
                except ValueError as exc:
                    if "empty vocabulary" not in str(exc):
                        raise
                    raise ValueError("Y: no target holds a token (every target is empty or "
                                     "blank); an empty target is allowed among others, but "
                                     "the model needs targets to learn to write") from None
                self.n_source_ids_ = self.source_sequencer_.vocab_size_
                self.n_target_ids_ = self.target_sequencer_.vocab_size_
            else:
                self.source_sequencer_ = self.target_sequencer_ = None
                src_rows, tgt_rows = _id_rows(X, "X"), _id_rows(Y, "Y")
                self.n_source_ids_ = max(max((int(r.max()) for r in src_rows if len(r)),
                                             default=0) + 1, 2)
                self.n_target_ids_ = max((int(r.max()) for r in tgt_rows if len(r)),
                                         default=0) + 1
                # the largest id sizes the tables: a stray huge one is refused or announced
                check_input_table_size(self.n_source_ids_, self.embedding_dim, self.dtype,
                                       f"the largest id of X, {self.n_source_ids_ - 1:,},")
                check_input_table_size(self.n_target_ids_, self.embedding_dim, self.dtype,
                                       f"the largest id of Y, {self.n_target_ids_ - 1:,},")
        elif kind != self.input_kind_:
            raise ValueError(f"the model was fitted on {self.input_kind_} but X holds "
                             f"{'texts' if kind == 'text' else 'id sequences'}")
        elif kind == "text":
            self._check_same_vocabulary_settings()
        sources = self._encode_sources(X)
        targets = self._encode_targets(Y)
        if reset or self.max_output_length is not None:  # a warm start takes a new limit too
            longest = max(len(t) for t in targets)
            self.max_output_length_ = (self.max_output_length if self.max_output_length
                                       is not None else longest + 10)
            self._check_output_size(min(longest, self.max_output_length_) + 1)
        w = np.ones(len(X)) if sample_weight is None else _pair_weights(sample_weight, len(X))
        return self._arrays(sources, targets) + (w,)

    def _check_same_vocabulary_settings(self):
        """Refuse a continued fit whose tokenisation parameters differ from the fitted vocabularies'."""
        fitted = self.source_sequencer_
        changed = [name for name, now, then in (
            ("level", self.level == "char", fitted.char_level),
            ("lowercase", self.lowercase, fitted.lowercase),
            ("max_features", self.max_features, fitted.max_features)) if now != then]
        if changed:
            raise ValueError(f"{' and '.join(changed)} changed since the model was fitted; a "
                             "continued fit (warm_start or partial_fit) keeps the fitted "
                             "vocabularies: set it back, or fit anew with warm_start=False")

    def _check_output_size(self, steps):
        """Refuse a target vocabulary whose scores for one batch would not fit in memory.

        Each training batch holds its logits, their softmax and gradient and a float64 copy
        for the loss, ``batch_size x steps x target ids`` values each; one stray huge id in
        ``Y`` (id input) sets that size.
        """
        n_values = self.batch_size * steps * (self.n_target_ids_ + TARGET_OFFSET)
        n_bytes = 4 * n_values * 8
        what = (f"{self.n_target_ids_:,} target ids (the largest id of Y, or its vocabulary) "
                f"make each batch's output scores about {n_bytes / 2**30:.1f} GiB")
        memory = _available_memory()
        if memory is not None and n_bytes > memory:
            raise MemoryError(f"{what}, more than the {memory / 2**30:.1f} GiB of memory "
                              "available; map rare ids to one, or lower batch_size")
        if n_bytes > _LARGE_TABLE_BYTES:
            warn_at_caller(f"{what}; map rare ids to one if that is not intended")

    def _validation_set(self, validation_data):
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise ValueError("validation_data must be a tuple (X_val, Y_val) of sources and "
                             f"targets, got {type(validation_data).__name__}"
                             + (f" of length {len(validation_data)}"
                                if isinstance(validation_data, (tuple, list)) else ""))
        Xv, Yv = self._pairs(*validation_data, name="validation Y")
        src, dec_in, tgt = self._arrays(self._encode_sources(Xv),
                                        self._encode_targets(Yv, "validation Y"))
        return (src, dec_in), tgt, np.ones(len(src))

    def _split_validation(self, data, rng):
        src, dec_in, tgt, w = data
        if len(src) < 2:
            raise ValueError("too few pairs to hold out a validation set; pass validation_data, "
                             "more pairs, or early_stopping=False")
        tr, va = train_test_split(np.arange(len(src)), test_size=self.validation_fraction,
                                  random_state=int(rng.integers(2**31 - 1)))
        w_tr, w_va = held_out_weights(w, tr, va)
        return (src[tr], dec_in[tr], tgt[tr], w_tr), ((src[va], dec_in[va]), tgt[va], w_va)

    def _batch_source(self, data):
        return PairBatches(*data, self.batch_size)

    def _chance_loss(self, data):
        # a uniform prediction's cross-entropy per target token
        return math.log(self.n_target_ids_ + TARGET_OFFSET)

    # ---------------------------------------------------------------- fit
    def fit(self, X, Y, sample_weight=None, validation_data=None):
        """Train on pairs with teacher forcing.

        Parameters
        ----------
        X : sequence of str, or of id sequences
            Sources (see the class notes for ids).
        Y : sequence of str, or of id sequences
            Targets, one per source.
        sample_weight : array-like of shape (n_pairs,), optional
            Weight of every token of a pair in the loss.
        validation_data : tuple (X_val, Y_val), optional
            Scored after every epoch; overrides ``validation_fraction``.

        Returns
        -------
        self
        """
        return self._fit(X, Y, sample_weight, validation_data=validation_data)

    def partial_fit(self, X, Y, sample_weight=None):
        """One epoch over the pairs (the first call learns the vocabularies).

        Returns
        -------
        self
        """
        return self._fit(X, Y, sample_weight, incremental=True)

    # ------------------------------------------------------------ predict
    def _source_batch(self, X):
        X = _as_list(X, "X")
        if len(X) and self._kind_of(X) != self.input_kind_:
            raise ValueError(f"the model was fitted on {self.input_kind_} but X holds "
                             f"{'texts' if self.input_kind_ == 'ids' else 'id sequences'}")
        return self._encode_sources(X)

    def _decode_ids(self, sources, beam_width, max_output_length):
        """Decoded ids (model ids, no start or end id) of every source, in the input order.

        Sources of similar lengths decode together (less padding in the
        attention memory, and a batch's rows, whose outputs' lengths often
        follow their sources', end together), in batches of
        ``max(batch_size, GREEDY_BATCH)`` sources (greedy) or
        ``max(batch_size, BEAM_BATCH)`` (beam search), fewer when a step's
        logits would exceed :data:`DECODE_LOGITS` values or a thread would get
        no batch.  The threads take the batches from one queue, longest first,
        each batch decoded on one thread: one hand-off per batch rather than
        several per output step (a single batch gets all the threads).  The
        batches depend on the thread count, not on which thread takes which.
        """
        net = self._fitted_network()
        banned = [PAD, START] + ([1 + TARGET_OFFSET] if self.input_kind_ == "text" else [])
        out = [None] * len(sources)
        failed = []  # rows with non-finite scores, per batch (list.append holds across threads)
        threads = self._resolved_threads()
        n_threads = max(1, min(threads, len(sources)))
        size = max(self.batch_size, GREEDY_BATCH if beam_width == 1 else BEAM_BATCH)
        size = min(size, DECODE_LOGITS // (beam_width * net.n_outputs))
        size = max(1, min(size, -(-len(sources) // n_threads)))
        order = np.argsort([len(r) for r in sources], kind="stable")
        starts = range(0, len(sources), size)
        # one batch (one source): its products get the threads (a queue task runs on one)
        inner = threads if len(starts) == 1 else 1

        def run(lo):
            rows = order[lo:lo + size]
            src = pad_sequences([sources[i].tolist() for i in rows], dtype="int32")
            batch = Seq2SeqModel.batch(src, np.full((len(src), 1), START, np.int32))[0]
            ids, _ = net.decode(self.params_, batch.source, start_id=START, end_id=END,
                                max_length=max_output_length, beam_width=beam_width,
                                length_penalty=self.length_penalty, banned_ids=banned,
                                n_threads=inner, return_scores=False, failures=failed)
            for i, r in zip(rows, ids):
                out[i] = r

        with engine_scope():
            parallel_queue(run, starts[::-1], n_threads)  # the longest first
        warn_failed(sum(failed))  # once, from the caller's thread
        return out

    def _to_output(self, ids):
        user = [np.asarray(r, dtype=np.int64) - TARGET_OFFSET for r in ids]
        if self.input_kind_ == "ids":
            return [r.tolist() for r in user]
        vocab = self.target_sequencer_.index_to_token_
        sep = "" if self.target_sequencer_.char_level else " "  # as fitted, whatever level is now
        return [sep.join(vocab[i] for i in r) for r in user]

    def _predict_one(self):
        self.predict(["a"] if self.input_kind_ == "text" else [[1]], max_output_length=2)

    def _output_limit(self):
        """Most tokens a prediction generates: the parameter, when set, else the fitted limit."""
        return self.max_output_length if self.max_output_length is not None \
            else self.max_output_length_

    def predict(self, X, beam_width=None, max_output_length=None):
        """Decode every source: greedy or beam search, all rows of a batch per step.

        Parameters
        ----------
        X : sequence of str, or of id sequences
        beam_width : int or None
            Overrides the ``beam_width`` parameter.
        max_output_length : int or None
            Overrides the ``max_output_length`` parameter (or, when that is
            None, the fitted ``max_output_length_``).

        Returns
        -------
        list of str (text input) or list of list of int (id input)
        """
        check_is_fitted(self, "params_")
        beam_width = self.beam_width if beam_width is None else beam_width
        if not isinstance(beam_width, numbers.Integral) or isinstance(beam_width, bool) \
                or beam_width < 1:
            raise ValueError(f"beam_width must be an int >= 1, got {beam_width!r}")
        limit = self._output_limit() if max_output_length is None else max_output_length
        if not isinstance(limit, numbers.Integral) or limit < 1:
            raise ValueError(f"max_output_length must be an int >= 1, got {limit!r}")
        sources = self._source_batch(X)
        return self._to_output(self._decode_ids(sources, int(beam_width), int(limit)))

    #: Pairs per teacher-forced batch (its logits are (rows, Td, V)).
    _eval_rows = 256

    def _teacher_forced(self, X, Y, return_attention=False):
        """Teacher-forced passes over the pairs, in batches.

        Yields
        ------
        out : tuple
            :meth:`Seq2SeqModel.forward`'s ``(logits, None[, weights])``.
        batch : Seq2SeqBatch
        tgt : ndarray of shape (B, Td)
            Targets at the decoder's packed steps (-1 under padding).
        targets : list of ndarray
            The batch's target ids (model ids, no end id).
        """
        internal = isinstance(Y, _Internal)
        X, Y = self._pairs(X, Y)
        sources = self._source_batch(X)
        targets = [np.asarray(t, dtype=np.int64) for t in Y] if internal \
            else self._encode_targets(Y)
        net = self._fitted_network()
        for lo in range(0, len(sources), self._eval_rows):
            rows = slice(lo, lo + self._eval_rows)
            src = pad_sequences([r.tolist() for r in sources[rows]], dtype="int32")
            dec_in = pad_sequences([[START] + t.tolist() for t in targets[rows]], dtype="int32")
            tgt = pad_sequences([t.tolist() + [END] for t in targets[rows]], dtype="int64",
                                value=-1)
            batch, tgt = Seq2SeqModel.batch(src, dec_in, tgt)
            with engine_scope():
                out = net.forward(self.params_, batch, n_threads=self._resolved_threads(),
                                  return_attention=return_attention)
            yield out, batch, tgt, targets[rows]

    def log_likelihood(self, X, Y):
        """Total log-probability (natural log) of each target given its source.

        Counts every target token and the end token, under teacher forcing.

        Parameters
        ----------
        X, Y : sequences of str, or of id sequences

        Returns
        -------
        ndarray of shape (n_pairs,)
        """
        check_is_fitted(self, "params_")
        X, Y = self._pairs(X, Y, purpose=None)  # lists: iterators are read once
        if not X:  # no pairs: no totals, as predict([]) is []
            return np.zeros(0)
        totals = []
        for (logits, _), _, tgt, _ in self._teacher_forced(X, Y):
            log_p = _log_softmax(logits.astype(np.float64))
            picked = np.take_along_axis(log_p, np.maximum(tgt, 0)[:, :, None], axis=2)[:, :, 0]
            totals.append(np.where(tgt >= 0, picked, 0.0).sum(axis=1))
        return np.concatenate(totals)

    def score(self, X, Y, sample_weight=None):
        """Exact-match accuracy: the share of sources whose decoded output is the target.

        Outputs and targets are compared as token sequences (a target token
        outside the vocabulary never matches).

        Returns
        -------
        float
        """
        check_is_fitted(self, "params_")
        X, Y = self._pairs(X, Y, purpose="to score")
        predicted = self._decode_ids(self._source_batch(X), self.beam_width, self._output_limit())
        targets = self._encode_targets(Y)
        unknown = 1 + TARGET_OFFSET
        hits = np.array([self.input_kind_ == "ids" or unknown not in t
                         for t in targets], dtype=bool)
        hits &= np.array([len(p) == len(t) and np.array_equal(p, t)
                          for p, t in zip(predicted, targets)], dtype=bool)
        w = np.ones(len(X)) if sample_weight is None else _pair_weights(sample_weight, len(X))
        return float((hits * w).sum() / w.sum())

    def attention_weights(self, X, Y=None):
        """Attention of every output token over the source tokens.

        Parameters
        ----------
        X : sequence of str, or of id sequences
        Y : same, optional
            Targets to attend along (teacher forcing); by default the greedy
            (or ``beam_width``) outputs of :meth:`predict`.

        Returns
        -------
        list of ndarray of shape (len(output), len(input))
            Row ``j``: the weights with which output token ``j`` was
            predicted; each row sums to 1.
        """
        check_is_fitted(self, "params_")
        if self.attention is None:
            raise ValueError("attention_weights: the model was fitted with attention=None")
        if Y is None:
            X = _as_list(X, "X")
            sources = self._source_batch(X)
            Y = _Internal(self._decode_ids(sources, self.beam_width, self._output_limit()))
        out = []
        for (_, _, weights), batch, _, targets in self._teacher_forced(X, Y, return_attention=True):
            s_start, t_start = batch.source.start, batch.target.start
            out += [weights[b, t_start[b]:t_start[b] + len(targets[b]), s_start[b]:].copy()
                    for b in range(len(targets))]
        return out

    def get_weights(self):
        """Copies of the weights, in the order the class notes give (**Weights order**).

        Returns
        -------
        list of ndarray
        """
        return super().get_weights()

    def _attention_view(self, x, y=None):
        """``(source tokens, output tokens, weights)`` of one pair, for :func:`fastrnn.plot_attention`."""
        check_is_fitted(self, "params_")
        if self.input_kind_ == "text":
            if not isinstance(x, str):
                raise TypeError(f"x must be a str for a model fitted on texts, got "
                                f"{type(x).__name__}")
            source = self.source_sequencer_.build_analyzer()(x)
        else:
            source = [str(i) for i in _id_rows([x], "x")[0]]
        if y is None:
            out_ids = self._decode_ids(self._source_batch([x]), self.beam_width,
                                       self._output_limit())[0]
            y_arg = _Internal([np.asarray(out_ids, dtype=np.int64)])
        else:
            y_arg = [y]
            out_ids = self._encode_targets(y_arg)[0].tolist()
        weights = self.attention_weights([x], y_arg)[0]
        if self.input_kind_ == "text":
            vocab = self.target_sequencer_.index_to_token_
            output = [vocab[i - TARGET_OFFSET] for i in out_ids]
        else:
            output = [str(i - TARGET_OFFSET) for i in out_ids]
        return source, output, weights

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = True  # fit(X, Y): the targets are the outputs to learn
        return tags


class _Internal(list):
    """Targets already in the model's ids (decoded outputs), not to be encoded again."""


class PairBatches:
    """Batch source: shuffled mini-batches of pairs, each starting from the encoder's states.

    Parameters
    ----------
    source : ndarray of shape (n, Ts), int
        Padded source ids.
    decoder_inputs : ndarray of shape (n, Td), int
        Pre-padded: the start id, then the target tokens.
    targets : ndarray of shape (n, Td), int
        Laid out like the decoder inputs: the target tokens, then the end
        id; -1 under padding.
    w : ndarray of shape (n,)
    batch_size : int
    """

    def __init__(self, source, decoder_inputs, targets, w, batch_size):
        self.source, self.decoder_inputs, self.targets, self.w = source, decoder_inputs, targets, w
        self.batch_size = batch_size

    @property
    def n_batches(self):
        return n_minibatches(len(self.source), self.batch_size)

    def batches(self, rng):
        """Yield the epoch's batches in a new order (one permutation drawn from ``rng``).

        Yields
        ------
        Batch
            ``packed`` is a :class:`~fastrnn.layers.Seq2SeqBatch`, ``y`` the
            targets at its decoder steps, ``weight`` the weighted number of
            target tokens (the batch's share of the epoch's mean loss).
        """
        for rows in minibatch_rows(len(self.source), self.batch_size, rng):
            batch, y = Seq2SeqModel.batch(self.source[rows], self.decoder_inputs[rows],
                                          self.targets[rows])
            w = self.w[rows]
            yield Batch(batch, y, w, None, float((w[:, None] * (y >= 0)).sum()))

    def carry(self, states):
        """Ignore a step's final states: the next batch holds other pairs."""
