"""RNNLanguageModel: next-token prediction with teacher forcing, and generation."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..callbacks import ProgressLogger
from ..layers import Recurrent, pack_tokens
from ..layers.stack import Network
from ..optimizers import make_optimizer
from ..text import TextSequencer, pad_sequences
from ..training import predict_outputs, train_stream
from ..utils.validation import default_n_threads, engine_scope
from ._base import check_units_and_callbacks, check_weights_match, format_summary

_END = {"char": "\n", "word": "</s>"}


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class RNNLanguageModel(BaseEstimator):
    """Character- or word-level recurrent language model.

    ``fit(texts)`` encodes the texts with a :class:`~fastrnn.TextSequencer`
    (``char_level`` for ``level="char"``), joins them into one stream with an
    end-of-text token between texts (it also starts the stream, so the first
    token of a text is predicted from a fresh context), cuts the stream into
    ``batch_size`` parallel streams and trains with **teacher forcing**: at
    every step the input is the true previous token and the target the next
    one.  Training is windowed truncated BPTT: windows of ``bptt_truncate``
    steps, the state at the end of a window starting the next one, gradients
    within a window only.

    Parameters
    ----------
    level : {"char", "word"}, default "char"
    cell : {"simple", "lstm", "gru"}, default "lstm"
    units : int or tuple of int, default 64
    embedding_dim : int, default 32
    max_features : int or None, default None
        Keep the most frequent tokens; the others map to the out-of-vocabulary id.
    lowercase : bool, default False
    optimizer : {"sgd", "rmsprop", "adam", "adamw"}, default "adam"
    learning_rate : float, default 0.005
    clipnorm : float or None, default 5.0
    batch_size : int, default 32
        Number of parallel streams.
    bptt_truncate : int, default 32
        Window length (steps of backpropagation).
    max_iter : int, default 10
        Epochs over the stream.
    random_state : int, RandomState or None
    verbose : int, default 0
    n_threads : int or None
    dtype : {"float32", "float64"}, default "float32"
    callbacks : list of Callback or None

    Attributes
    ----------
    sequencer_ : TextSequencer
    vocab_size_ : int
        Token ids including padding (0), out-of-vocabulary (1) and the
        end-of-text id (``vocab_size_ - 1``).
    params_, history_, n_iter_
        Weights, per-epoch ``loss`` (mean cross-entropy per token), epochs run.
    """

    _parameter_constraints = {
        "level": [StrOptions({"char", "word"})],
        "cell": [StrOptions({"simple", "lstm", "gru"})],
        "units": [Interval(numbers.Integral, 1, None, closed="left"), tuple, list],
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_features": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "lowercase": ["boolean"],
        "optimizer": [StrOptions({"sgd", "rmsprop", "adam", "adamw"})],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "clipnorm": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "bptt_truncate": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_threads": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "dtype": [StrOptions({"float32", "float64"})],
        "callbacks": [list, None],
    }

    def __init__(self, *, level="char", cell="lstm", units=64, embedding_dim=32,
                 max_features=None, lowercase=False, optimizer="adam", learning_rate=0.005,
                 clipnorm=5.0, batch_size=32, bptt_truncate=32, max_iter=10, random_state=None,
                 verbose=0, n_threads=None, dtype="float32", callbacks=None):
        self.level = level
        self.cell = cell
        self.units = units
        self.embedding_dim = embedding_dim
        self.max_features = max_features
        self.lowercase = lowercase
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.clipnorm = clipnorm
        self.batch_size = batch_size
        self.bptt_truncate = bptt_truncate
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads
        self.dtype = dtype
        self.callbacks = callbacks

    # ------------------------------------------------------------ helpers
    def _network(self):
        units = (self.units,) if isinstance(self.units, numbers.Integral) else tuple(self.units)
        layers = [Recurrent(self.cell, u) for u in units]
        return Network("tokens", self.vocab_size_, self.embedding_dim, layers, False, "sequence",
                       self.vocab_size_)

    def _threads(self):
        return self.n_threads if self.n_threads is not None else default_n_threads()

    @property
    def _end_id(self):
        return self.vocab_size_ - 1

    def _documents(self, texts):
        """Id lists of ``texts`` (unpadded), each ending with the end-of-text id."""
        return [ids + [self._end_id] for ids in self.sequencer_.texts_to_ids(texts)]

    # ---------------------------------------------------------------- fit
    def fit(self, X, y=None):
        """Train on the texts ``X`` (teacher forcing, windowed truncated BPTT).

        Parameters
        ----------
        X : iterable of str
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        check_units_and_callbacks(self.units, self.callbacks)
        seq = TextSequencer(char_level=self.level == "char", lowercase=self.lowercase,
                            max_features=self.max_features, min_df=1, max_df=1.0)
        seq.fit(X)
        self.sequencer_ = seq
        self.vocab_size_ = seq.vocab_size_ + 1  # + the end-of-text id
        stream = np.array([self._end_id] + [t for doc in self._documents(X) for t in doc],
                          dtype=np.int32)
        n_pairs = len(stream) - 1
        if (stream != self._end_id).sum() < 2:
            raise ValueError("the texts are too short to train a language model (fewer than 2 "
                             "tokens)")
        B = max(1, min(self.batch_size, n_pairs // 2))
        L = n_pairs // B
        inputs = stream[:B * L].reshape(B, L)
        targets = stream[1:B * L + 1].reshape(B, L).astype(np.int64)
        rng = np.random.default_rng(check_random_state(self.random_state).randint(2**31 - 1))
        net = self._network()
        self.params_ = net.init_params(rng, np.dtype(self.dtype))
        self.optimizer_state_ = make_optimizer(self.optimizer, self.learning_rate,
                                               clipnorm=self.clipnorm)
        self.history_ = {}
        callbacks = list(self.callbacks or [])
        if self.verbose:
            callbacks.append(ProgressLogger(self.verbose))
        with engine_scope():
            result = train_stream(self, net, self.params_, self.optimizer_state_, inputs, targets,
                                  self.bptt_truncate, self.max_iter, self._threads(),
                                  self.history_, callbacks=callbacks)
        self.n_iter_ = result.n_epochs
        self.stopped_reason_ = result.stopped
        return self

    # ------------------------------------------------------------ scoring
    def _token_log_likelihoods(self, X):
        """Log-probability of every token (and end-of-text) of each text; list of arrays."""
        check_is_fitted(self, "params_")
        docs = self._documents(X)
        inputs = pad_sequences([[self._end_id] + d[:-1] for d in docs], padding="post",
                               dtype="int32")
        with engine_scope():
            logits = predict_outputs(self._network(), self.params_, inputs, 256, self._threads())
        log_p = _log_softmax(logits.astype(np.float64))
        return [log_p[i, np.arange(len(d)), d] for i, d in enumerate(docs)]

    def score(self, X, y=None):
        """Mean log-likelihood per token (natural log; end-of-text tokens included)."""
        return float(np.mean(np.concatenate(self._token_log_likelihoods(X))))

    def perplexity(self, X):
        """``exp(-score(X))``: the model's perplexity per token on the texts ``X``."""
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
        """
        check_is_fitted(self, "params_")
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        if n_tokens < 0 or temperature < 0:
            raise ValueError("n_tokens and temperature must be non-negative")
        rs = check_random_state(random_state)
        net = self._network()
        ids = [self._end_id] + self.sequencer_.texts_to_ids([prompt])[0]
        vocab = self.sequencer_.index_to_token_ + [_END[self.level]]
        out, states, feed = [], None, np.array([ids], dtype=np.int32)
        with engine_scope():
            for _ in range(n_tokens):
                logits, _, states = net.forward(self.params_, pack_tokens(feed), states=states,
                                                return_states=True)
                z = logits[0, -1].astype(np.float64)
                z[:2] = -np.inf  # never emit padding or the out-of-vocabulary id
                if temperature == 0:
                    nxt = int(np.argmax(z))
                else:
                    p = np.exp((z - z.max()) / temperature)
                    nxt = int(rs.choice(len(p), p=p / p.sum()))
                out.append(vocab[nxt])
                feed = np.array([[nxt]], dtype=np.int32)
        return "".join(out) if self.level == "char" else out

    def summary(self):
        """Keras-style table of layers, output shapes and parameter counts."""
        check_is_fitted(self, "params_")
        return format_summary(type(self).__name__, self._network().layer_summary())

    def _check_loaded_state(self):
        """Raise ``ValueError`` unless the weights match the configuration (used by ``load``)."""
        self._validate_params()
        check_weights_match(self._network(), self.params_, self.dtype)

    def save(self, path):
        """Save to one file without pickle (see :func:`fastrnn.save`)."""
        from ..persistence import save

        return save(self, path)
