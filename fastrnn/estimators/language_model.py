"""RNNLanguageModel: next-token prediction with teacher forcing, and generation."""

import math
import numbers

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..layers import SEQUENCE, SequenceModel, pack_tokens
from ..losses import sequence_crossentropy
from ..runtime import engine_scope
from ..text import TextSequencer, pad_sequences
from ..training import StreamWindows, predict_outputs
from ._base import BaseRNN, declare_params, param

_END = {"char": "\n", "word": "</s>"}
#: Logit values (texts x steps x vocabulary) that scoring holds at once: texts are scored in
#: groups of similar length within it, so one long text does not pad all the others.
SCORE_LOGITS = 1 << 22


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _texts(X, name="X"):
    """``X`` as a list of str (a single string would be read as one text per character)."""
    if isinstance(X, str):
        raise TypeError(f"{name} must be an iterable of texts, not a single str")
    return list(X)


@declare_params
class RNNLanguageModel(BaseRNN):
    """Character- or word-level recurrent language model.

    ``fit(texts)`` encodes the texts with a :class:`~fastrnn.TextSequencer`
    (``char_level`` for ``level="char"``), joins them into one stream with an
    end-of-text token between texts (it also starts the stream, so the first
    token of a text is predicted from a fresh context), cuts the stream into
    ``batch_size`` parallel streams and trains with **teacher forcing**: at
    every step the input is the true previous token and the target the next
    one.  Training is windowed truncated BPTT: windows of ``window`` steps, the
    state at the end of a window starting the next one (reset at every epoch),
    gradients within a window only.

    Parameters
    ----------
    level : {"char", "word"}, default "char"
    max_features : int or None, default None
        Keep the most frequent tokens; the others map to the out-of-vocabulary id.
    lowercase : bool, default False
    window : int, default 32
        Steps per training window: the length of the pieces the streams are
        cut into.  The recurrent state carries from one window to the next;
        gradients stay within a window.
    bptt_truncate : int or None, default None
        As everywhere: backpropagate through at most the last ``k`` steps of
        what the network reads in one step, here a window (None = the whole
        window).  Only meaningful below ``window``.
    units : int or tuple of int, default 64
    learning_rate : float, default 0.005
    clipnorm : float or None, default 5.0
    batch_size : int, default 32
        Number of parallel streams (fewer for a short text: at least two
        tokens per stream).
    max_iter : int, default 10
        Epochs over the streams.
    dropout, recurrent_dropout : float, default 0.0
        Fraction of inputs / recurrent state dropped, one mask per stream and
        window.
    embedding_dropout, spatial_dropout : float, default 0.0
        Fraction of token occurrences, and of embedding channels (one mask
        per stream and window), whose embedding is zeroed in training (see
        :class:`RNNClassifier`).
    spatial_dropout_shared : bool, default False
        One spatial-dropout mask per window for all streams (see
        :class:`RNNClassifier`).
    early_stopping : bool, default False
        Stop when the validation loss (mean cross-entropy per token, minus
        :meth:`score`) stops improving by ``tol`` for ``n_iter_no_change``
        epochs.  The validation texts are ``fit``'s ``validation_data``, else
        the last ``validation_fraction`` of the texts (at least one), held out
        in order, without shuffling.
    validation_fraction : float, default 0.1
    checkpoint_path : str, os.PathLike or None, default None
        Save the model after every epoch that improves the monitored loss
        (validation loss, else training loss).
    warm_start : bool, default False
        Refits continue from the fitted weights, vocabulary and optimizer state.

    The other parameters (``cell``, ``reset_after``, ``activation``,
    ``recurrent_activation``, ``use_bias``, ``unit_forget_bias``,
    ``embedding_dim``, ``embedding_init`` (its rows must be ``vocab_size_``),
    ``embedding_trainable``, ``lr_schedule``, ``optimizer``, ``momentum``, ``nesterov``,
    ``weight_decay``, ``clipvalue``, ``alpha``, ``n_iter_no_change``, ``tol``,
    ``restore_best_weights``, ``random_state``, ``verbose``, ``n_threads``,
    ``dtype``, ``callbacks``) are those of :class:`fastrnn.RNNClassifier`.

    Attributes
    ----------
    sequencer_ : TextSequencer
    vocab_size_ : int
        Token ids including padding (0), out-of-vocabulary (1) and the
        end-of-text id (``vocab_size_ - 1``).
    params_ : dict
        The weights (see :meth:`get_weights`).
    history_ : dict of str to list
        Per-epoch ``loss`` (mean cross-entropy per token) and, with
        validation, ``val_loss``.
    loss_curve_ : list of float
    validation_scores_ : list of float or None
        :meth:`score` of the validation texts after every epoch.
    best_loss_ : float or None
    best_epoch_, weights_epoch_ : int or None
        As in :class:`RNNClassifier`: the best epoch as early stopping judges it, and its loss
        (None when no epoch finished); the epoch whose weights the model holds.
    n_iter_ : int
        Epochs run.
    stopped_reason_ : str or None
        None, "early_stopping", "non_finite", "diverged", "interrupted", "callback"
        or "error" (an exception during training, raised again after the
        attributes were brought up to the epochs done).
    """

    level: str = param("char", StrOptions({"char", "word"}))
    max_features: int | None = param(None, Interval(numbers.Integral, 1, None, closed="left"),
                                     None)
    lowercase: bool = param(False, "boolean")
    window: int = param(32, Interval(numbers.Integral, 1, None, closed="left"))
    # defaults that suit next-token training on parallel streams
    units: int | tuple = 64
    learning_rate: float = 0.005
    clipnorm: float | None = 5.0

    _loss = staticmethod(sequence_crossentropy)

    # ------------------------------------------------------------ helpers
    def _network(self):
        return SequenceModel.build("tokens", self.vocab_size_, self.embedding_dim,
                                   self._recurrent_layers(), False, SEQUENCE, self.vocab_size_,
                                   embedding_trainable=self.embedding_trainable)

    @property
    def _end_id(self):
        return self.vocab_size_ - 1

    def _documents(self, texts):
        """Id lists of ``texts`` (unpadded), each ending with the end-of-text id."""
        return [ids + [self._end_id] for ids in self.sequencer_.texts_to_ids(texts)]

    def _evaluation_arrays(self, docs):
        """Teacher-forced inputs (post-padded with 0), targets (-1 under padding) and weights."""
        inputs = pad_sequences([[self._end_id] + d[:-1] for d in docs], padding="post",
                               dtype="int32")
        targets = pad_sequences(docs, padding="post", dtype="int64", value=-1)
        return inputs, targets, np.ones(len(docs))

    @classmethod
    def _params_from_file(cls, params):
        # files written before ``window`` existed stored the window length as bptt_truncate
        if "window" not in params and "bptt_truncate" in params:
            params = {**params, "window": params["bptt_truncate"], "bptt_truncate": None}
        return params

    def _chance_loss(self, data):
        # a uniform prediction's cross-entropy per token
        return math.log(self.vocab_size_)

    # -------------------------------------------------------------- fit hooks
    def _fit_data(self, X, y, sample_weight, classes, reset):
        X = _texts(X)
        if reset:
            seq = TextSequencer(char_level=self.level == "char", lowercase=self.lowercase,
                                max_features=self.max_features, min_df=1, max_df=1.0)
            seq.fit(X)
            self.sequencer_ = seq
            self.vocab_size_ = seq.vocab_size_ + 1  # + the end-of-text id
        docs = self._documents(X)
        if sum(len(d) - 1 for d in docs) < 2:
            raise ValueError("the texts are too short to train a language model (fewer than 2 "
                             "tokens)")
        return docs

    def _validation_set(self, validation_data):
        texts = _texts(validation_data, "validation_data")
        if not len(texts):  # no token to score: a loss of 0 would look perfect
            raise ValueError("validation_data holds no texts")
        return self._evaluation_arrays(self._documents(texts))

    def _split_validation(self, docs, rng):
        n_val = math.ceil(self.validation_fraction * len(docs))
        if n_val >= len(docs):
            raise ValueError(f"{len(docs)} text(s) are too few to hold out a validation set; pass "
                             "validation_data or more texts")
        return docs[:-n_val], self._evaluation_arrays(docs[-n_val:])

    def _batch_source(self, docs):
        stream = np.array([self._end_id] + [t for doc in docs for t in doc], dtype=np.int32)
        n_pairs = len(stream) - 1
        B = max(1, min(self.batch_size, n_pairs // 2))
        L = n_pairs // B
        inputs = stream[:B * L].reshape(B, L)
        targets = stream[1:B * L + 1].reshape(B, L).astype(np.int64)
        return StreamWindows(inputs, targets, self.window)

    # ---------------------------------------------------------------- fit
    def fit(self, X, y=None, validation_data=None):
        """Train on the texts ``X`` (teacher forcing, windowed truncated BPTT).

        Parameters
        ----------
        X : iterable of str
        y : ignored
        validation_data : iterable of str, optional
            Texts scored after every epoch (``val_loss`` in ``history_``);
            overrides ``validation_fraction``.

        Returns
        -------
        self
        """
        return self._fit(X, validation_data=validation_data)

    def partial_fit(self, X, y=None):
        """One epoch over the texts ``X``.

        The first call learns the vocabulary from its texts; later calls keep
        it (unseen tokens map to the out-of-vocabulary id) and continue from
        the fitted weights and optimizer state.

        Parameters
        ----------
        X : iterable of str
        y : ignored

        Returns
        -------
        self
        """
        return self._fit(X, incremental=True)

    # ------------------------------------------------------------ scoring
    def _token_log_likelihoods(self, X):
        """Log-probability of every token (and end-of-text) of each text; list of arrays."""
        check_is_fitted(self, "params_")
        docs = self._documents(_texts(X))
        net, out = self._fitted_network(), [None] * len(docs)
        order = sorted(range(len(docs)), key=lambda i: len(docs[i]))
        lo = 0
        with engine_scope():
            while lo < len(order):
                # the longest text of a group sets its padded length: at least one text per group
                hi = lo + 1
                while hi < len(order) and (hi + 1 - lo) * len(docs[order[hi]]) * self.vocab_size_ \
                        <= SCORE_LOGITS:
                    hi += 1
                group = [docs[i] for i in order[lo:hi]]
                inputs, _, _ = self._evaluation_arrays(group)
                logits = predict_outputs(net, self.params_, inputs, 256, self._resolved_threads())
                log_p = _log_softmax(logits.astype(np.float64))
                for k, (i, d) in enumerate(zip(order[lo:hi], group)):
                    out[i] = log_p[k, np.arange(len(d)), d]
                lo = hi
        return out

    def score(self, X, y=None):
        """Mean log-likelihood per token (natural log; end-of-text tokens included).

        A word or character outside the vocabulary counts as one token, the
        out-of-vocabulary one, which is easy to predict when it stands for
        many: scores of models with other vocabularies (``max_features``,
        ``level``) are not comparable, and a search over ``max_features``
        by this score favours the smallest vocabulary.

        Parameters
        ----------
        X : iterable of str
            At least one text.
        y : ignored

        Returns
        -------
        float
        """
        X = _texts(X)
        if not X:
            raise ValueError("X is empty: at least one text is required to score")
        return float(np.mean(np.concatenate(self._token_log_likelihoods(X))))

    def _predict_one(self):
        self.score(["a"])
        self.generate("", n_tokens=1, random_state=0)

    def perplexity(self, X):
        """``exp(-score(X))``: the model's perplexity per token on the texts ``X`` (at least one)."""
        return float(np.exp(-self.score(X)))

    # ---------------------------------------------------------- generation
    def generate(self, prompt="", n_tokens=100, temperature=1.0, random_state=None):
        """Continue ``prompt`` by sampling one token at a time, feeding each back in.

        Parameters
        ----------
        prompt : str
        n_tokens : int
        temperature : float, default 1.0
            Softmax temperature; 0 picks the most likely token every time.
        random_state : int, RandomState or None

        Returns
        -------
        str (``level="char"``) or list of str (``level="word"``)
            The continuation only; an end of text is ``"\\n"`` (char) or ``"</s>"`` (word).
            A character model fitted on texts holding line breaks writes those
            as ``"\\n"`` too: split such texts into lines before fitting, or
            use ``level="word"``, to tell where a generated text ends.
        """
        check_is_fitted(self, "params_")
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        if not isinstance(n_tokens, numbers.Integral) or isinstance(n_tokens, bool) or n_tokens < 0:
            raise ValueError(f"n_tokens must be a non-negative int, got {n_tokens!r}")
        if (not isinstance(temperature, numbers.Real) or isinstance(temperature, bool)
                or not np.isfinite(temperature) or temperature < 0):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        rs = check_random_state(random_state)
        net = self._fitted_network()
        ids = [self._end_id] + self.sequencer_.texts_to_ids([prompt])[0]
        vocab = self.sequencer_.index_to_token_ + [_END[self.level]]
        out, states, feed = [], None, np.array([ids], dtype=np.int32)
        with engine_scope():
            if n_tokens and feed.shape[1] > 1:  # the prompt's states, without its outputs
                states = net.final_states(self.params_, pack_tokens(feed[:, :-1]))
                feed = feed[:, -1:]
            for _ in range(n_tokens):
                logits, _, states = net.forward(self.params_, pack_tokens(feed), states=states,
                                                return_states=True)
                z = logits[0, -1].astype(np.float64)
                z[:2] = -np.inf  # never emit padding or the out-of-vocabulary id
                if temperature == 0:
                    nxt = int(np.argmax(z))
                else:
                    with np.errstate(over="ignore", under="ignore"):  # a tiny temperature
                        p = np.exp((z - z.max()) / temperature)
                    nxt = int(rs.choice(len(p), p=p / p.sum()))
                out.append(vocab[nxt])
                feed = np.array([[nxt]], dtype=np.int32)
        return "".join(out) if self.level == "char" else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = False
        return tags
