"""Text to padded id sequences, with Keras's semantics (``pad_sequences``) and a scikit-learn transformer."""

import numbers
import re
from collections import Counter

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._registry import register_model_class


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0):
    """Pad (and truncate) sequences to a common length, exactly like Keras.

    Parameters
    ----------
    sequences : iterable of sequences
        Lists, tuples or 1-D arrays (possibly empty); items may themselves be
        arrays of features, which are kept as trailing dimensions.
    maxlen : int, optional
        Output length; by default the longest sequence.
    dtype : str or dtype, default "int32"
    padding : {"pre", "post"}, default "pre"
        Pad before (default) or after each sequence.
    truncating : {"pre", "post"}, default "pre"
        Drop values from the beginning (default, keeps the end) or the end.
    value : scalar, default 0
        Padding value.

    Returns
    -------
    ndarray of shape (n_sequences, maxlen, ...)

    Examples
    --------
    >>> pad_sequences([[1, 2, 3], [4, 5], [6]]).tolist()
    [[1, 2, 3], [0, 4, 5], [0, 0, 6]]
    >>> pad_sequences([[1, 2, 3], [4, 5]], padding="post").tolist()
    [[1, 2, 3], [4, 5, 0]]
    >>> pad_sequences([[1, 2, 3], [4, 5]], maxlen=2).tolist()
    [[2, 3], [4, 5]]
    >>> pad_sequences([[1, 2, 3], [4, 5]], maxlen=2, truncating="post").tolist()
    [[1, 2], [4, 5]]
    >>> pad_sequences([[1], []], maxlen=3, value=9).tolist()
    [[9, 9, 1], [9, 9, 9]]
    """
    if padding not in ("pre", "post"):
        raise ValueError(f'padding must be "pre" or "post", got {padding!r}')
    if truncating not in ("pre", "post"):
        raise ValueError(f'truncating must be "pre" or "post", got {truncating!r}')
    if not hasattr(sequences, "__len__"):
        raise ValueError("sequences must be iterable with a length")
    seqs = []
    for i, s in enumerate(sequences):
        if not hasattr(s, "__len__") or isinstance(s, (str, bytes)):
            raise ValueError(f"sequences[{i}] is not a sequence: {s!r}")
        seqs.append(np.asarray(s))
    lengths = [len(s) for s in seqs]
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif not isinstance(maxlen, numbers.Integral) or maxlen < 0:
        raise ValueError(f"maxlen must be a non-negative integer, got {maxlen!r}")
    sample_shape = next((s.shape[1:] for s in seqs if len(s)), ())
    is_int = np.issubdtype(np.dtype(dtype), np.integer)
    out = np.full((len(seqs), maxlen) + tuple(sample_shape), value, dtype=dtype)
    for i, s in enumerate(seqs):
        if not len(s) or maxlen == 0:
            continue
        if s.shape[1:] != sample_shape:
            raise ValueError(f"sequences[{i}] has item shape {s.shape[1:]}, expected {sample_shape}")
        if is_int and s.dtype.kind not in "iub":
            if s.dtype.kind != "f" or not np.all(np.isfinite(s)) or np.any(s != np.round(s)):
                raise ValueError(f"sequences[{i}] holds non-integer values but dtype={dtype!r}")
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, maxlen - len(trunc):] = trunc
    return out


@register_model_class("TextSequencer")
class TextSequencer(TransformerMixin, BaseEstimator):
    """Turn raw texts into padded token-id matrices for :class:`fastrnn.RNNClassifier`.

    Id 0 is padding; with ``oov_token`` (default) id 1 stands for every word
    outside the vocabulary and the vocabulary starts at 2, most frequent first
    (ties: first seen first), as Keras's ``Tokenizer`` numbers words.

    Parameters
    ----------
    lowercase : bool, default True
    token_pattern : str, default ``r"(?u)\\b\\w+(?:'\\w+)?\\b"``
        Regular expression of a token (keeps one-letter words and contractions
        such as "don't", which matter for sentiment).  Ignored with
        ``tokenizer`` or ``char_level``.
    tokenizer : callable or None, default None
        ``str -> list of str``, replaces ``token_pattern``.
    max_features : int or None, default None
        Keep the ``max_features`` most frequent tokens (by count).
    min_df, max_df : int or float, default 1 and 1.0
        Drop tokens in fewer / more documents than this (a float is a
        proportion of the documents).
    stop_words : "english", list of str or None, default None
        Tokens removed before counting ("english" is scikit-learn's list, which
        includes negations such as "not").
    maxlen : int or None, default None
        Output length; None pads to the longest text of each ``transform`` call
        (at least one column, so a text without known tokens is one padding
        step).  Output columns have names (:meth:`get_feature_names_out`, for
        ``set_output(transform="pandas")``) only with a ``maxlen``.
    padding, truncating : {"pre", "post"}, default "pre"
        As in :func:`pad_sequences` (the default keeps the end of long texts).
    oov_token : str or None, default "<OOV>"
        Name of id 1, given to unknown tokens; None drops unknown tokens.
    char_level : bool, default False
        Every character is a token.

    Attributes
    ----------
    vocabulary_ : dict of str to int
    index_to_token_ : list of str
        ``index_to_token_[i]`` is the token of id ``i`` ("" for padding).
    vocab_size_ : int
        Number of ids, padding and OOV included (size an embedding with it).
    n_features_out_ : int
        Same as ``vocab_size_``.

    Examples
    --------
    >>> seq = TextSequencer().fit(["the film was good", "the film was not good"])
    >>> seq.transform(["not a good film"]).tolist()
    [[6, 1, 5, 3]]
    >>> seq.inverse_transform([[0, 6, 1, 5, 3]])
    [['not', '<OOV>', 'good', 'film']]
    """

    _parameter_constraints = {
        "lowercase": ["boolean"],
        "token_pattern": [str],
        "tokenizer": [callable, None],
        "max_features": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "min_df": [Interval(numbers.Integral, 1, None, closed="left"),
                   Interval(numbers.Real, 0, 1, closed="both")],
        "max_df": [Interval(numbers.Integral, 1, None, closed="left"),
                   Interval(numbers.Real, 0, 1, closed="both")],
        "stop_words": [StrOptions({"english"}), list, tuple, set, frozenset, None],
        "maxlen": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "padding": [StrOptions({"pre", "post"})],
        "truncating": [StrOptions({"pre", "post"})],
        "oov_token": [str, None],
        "char_level": ["boolean"],
    }

    def __init__(self, *, lowercase=True, token_pattern=r"(?u)\b\w+(?:'\w+)?\b", tokenizer=None,
                 max_features=None, min_df=1, max_df=1.0, stop_words=None, maxlen=None,
                 padding="pre", truncating="pre", oov_token="<OOV>", char_level=False):
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.tokenizer = tokenizer
        self.max_features = max_features
        self.min_df = min_df
        self.max_df = max_df
        self.stop_words = stop_words
        self.maxlen = maxlen
        self.padding = padding
        self.truncating = truncating
        self.oov_token = oov_token
        self.char_level = char_level

    # ------------------------------------------------------------ analysis
    def build_analyzer(self):
        """Return the callable ``str -> list of str`` used by fit and transform."""
        stop = None
        if self.stop_words == "english":
            stop = ENGLISH_STOP_WORDS
        elif self.stop_words is not None:
            stop = frozenset(self.stop_words)
        if self.char_level:
            split = list
        elif self.tokenizer is not None:
            split = self.tokenizer
        else:
            try:
                split = re.compile(self.token_pattern).findall
            except re.error as exc:
                raise ValueError(f"token_pattern {self.token_pattern!r} is not a valid regular "
                                 f"expression: {exc}") from None
        lower = self.lowercase

        def analyze(doc):
            tokens = split(doc.lower() if lower else doc)
            return [t for t in tokens if t not in stop] if stop else tokens

        return analyze

    @staticmethod
    def _check_texts(X):
        if isinstance(X, (str, bytes)):
            raise ValueError("expected an iterable of texts, got a single string; wrap it in a list")
        if hasattr(X, "ndim") and getattr(X, "ndim", 1) > 1:
            X = np.asarray(X)
            if X.ndim == 2 and X.shape[1] == 1:
                X = X.ravel()
            else:
                raise ValueError(f"expected a 1-D collection of texts, got shape {X.shape}")
        texts = list(X)
        for i, doc in enumerate(texts):
            if not isinstance(doc, str):
                raise ValueError(f"text {i} is a {type(doc).__name__}, not a str")
        return texts

    # -------------------------------------------------------------- fitting
    def fit(self, X, y=None):
        """Learn the vocabulary of the texts ``X``.

        Parameters
        ----------
        X : iterable of str
        y : ignored

        Returns
        -------
        self
        """
        self._fit_tokens(self._tokenize(X))
        return self

    def fit_transform(self, X, y=None):
        """Fit, then transform the same texts (tokenising them once).

        Returns
        -------
        ndarray of shape (n_texts, maxlen), int32
        """
        tokens = self._tokenize(X)
        self._fit_tokens(tokens)
        return self._pad(self._encode(tokens))

    def _tokenize(self, X):
        self._validate_params()
        texts = self._check_texts(X)
        if not texts:
            raise ValueError("cannot fit a vocabulary on 0 texts")
        analyze = self.build_analyzer()
        return [analyze(doc) for doc in texts]

    def _fit_tokens(self, token_lists):
        counts = Counter()
        doc_freq = Counter()
        for tokens in token_lists:
            counts.update(tokens)
            doc_freq.update(set(tokens))
        n_docs = len(token_lists)
        lo = self.min_df if isinstance(self.min_df, numbers.Integral) else self.min_df * n_docs
        hi = self.max_df if isinstance(self.max_df, numbers.Integral) else self.max_df * n_docs
        kept = [t for t in counts if lo <= doc_freq[t] <= hi]  # Counter keeps first-seen order
        kept.sort(key=lambda t: -counts[t])  # stable: ties stay in first-seen order
        if self.max_features is not None:
            kept = kept[:self.max_features]
        offset = 2 if self.oov_token is not None else 1
        self.vocabulary_ = {t: i + offset for i, t in enumerate(kept)}
        head = ["", self.oov_token] if self.oov_token is not None else [""]
        self.index_to_token_ = head + kept
        self.vocab_size_ = len(self.index_to_token_)
        self.n_features_out_ = self.vocab_size_

    def _encode(self, token_lists):
        vocab = self.vocabulary_
        if self.oov_token is None:
            return [[vocab[t] for t in tokens if t in vocab] for tokens in token_lists]
        return [[vocab.get(t, 1) for t in tokens] for tokens in token_lists]

    def _pad(self, ids):
        maxlen = self.maxlen
        if maxlen is None:  # texts without a known token still give one (padding) step to predict
            maxlen = max(1, max(map(len, ids), default=0))
        return pad_sequences(ids, maxlen=maxlen, padding=self.padding,
                             truncating=self.truncating, dtype="int32")

    def texts_to_ids(self, X):
        """Unpadded id lists of the texts ``X``."""
        check_is_fitted(self, "vocabulary_")
        analyze = self.build_analyzer()
        return self._encode([analyze(doc) for doc in self._check_texts(X)])

    def transform(self, X):
        """Padded id matrix of the texts ``X``.

        Returns
        -------
        ndarray of shape (n_texts, maxlen), int32
        """
        return self._pad(self.texts_to_ids(X))

    def inverse_transform(self, X):
        """Token lists of an id matrix (padding dropped)."""
        check_is_fitted(self, "vocabulary_")
        vocab = self.index_to_token_
        out = []
        for row in np.asarray(X):
            if np.any(row < 0) or np.any(row >= len(vocab)):
                raise ValueError(f"ids must be in [0, {len(vocab)}), got {row.min()}..{row.max()}")
            out.append([vocab[i] for i in row if i != 0])
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``id0``, ``id1``, ... (positions in the padded rows).

        Raises
        ------
        ValueError
            With ``maxlen=None``: every ``transform`` call has its own number of
            columns, so there are no fixed names (a pandas output then numbers
            its columns).
        """
        check_is_fitted(self, "vocabulary_")
        if self.maxlen is None:
            raise ValueError("TextSequencer(maxlen=None) pads each transform call to its longest "
                             "text, so its output columns have no fixed names; set maxlen to name "
                             "them")
        return np.array([f"id{i}" for i in range(self.maxlen)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags
