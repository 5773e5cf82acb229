"""Text to padded id sequences, with Keras's semantics (``pad_sequences``) and a scikit-learn transformer.

Pretrained word vectors enter through three pieces: :func:`load_word_vectors`
reads GloVe, word2vec and fastText files, ``TextSequencer(vocabulary=words)``
fixes the ids, and :func:`embedding_matrix` lays the vectors out in id order
for an estimator's ``embedding_init``.
"""

import functools
import gzip
import io
import numbers
import os
import re
import sys
import unicodedata
import zlib
from collections import Counter

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._registry import register_model_class
from ._warnings import warn_at_caller

#: ``TextSequencer``'s default ``token_pattern``.  Python's ``\w`` leaves out combining marks
#: (accents of decomposed text, Indic and Thai vowel signs, Arabic and Hebrew vowel points), which
#: would cut such words apart; this pattern and :data:`WORD_OR_SYMBOL_PATTERN` are therefore run
#: with the marks as word characters (:func:`_with_marks`).
DEFAULT_TOKEN_PATTERN = r"(?u)\b\w+(?:'\w+)?\b"
#: Words, and every other character but spaces on its own (the word level of
#: :class:`~fastrnn.RNNSeq2Seq`, whose outputs join the tokens with spaces).  ``(?u)`` changes
#: nothing in the pattern itself; it tells it from ``r"\w+|[^\w\s]"``, which earlier models
#: were fitted with and which keeps its plain reading (marks cut words) so that they load as fitted.
WORD_OR_SYMBOL_PATTERN = r"(?u)\w+|[^\w\s]"
#: Entries of a fixed vocabulary checked for being tokens the analyzer can produce.
VOCABULARY_SAMPLE = 1000
#: Word-level tokens in these scripts, which write no spaces between words, are whole phrases.
_UNSPACED_SCRIPTS = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff"
                               "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@functools.cache
def _mark_ranges():
    """Unicode's combining marks (category M) as the ranges of a regex character class.

    Built on first use (a few hundredths of a second: a scan of Unicode's planes 0-2 and 14).
    """
    ranges, start, prev = [], None, None
    for cp in (*range(0x30000), *range(0xE0000, min(0xE1000, sys.maxunicode + 1))):
        if unicodedata.category(chr(cp))[0] == "M":
            if start is None or cp != prev + 1:
                if start is not None:
                    ranges.append((start, prev))
                start = cp
            prev = cp
    ranges.append((start, prev))
    return "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


@functools.cache
def _with_marks(pattern):
    """``pattern`` (:data:`DEFAULT_TOKEN_PATTERN` or :data:`WORD_OR_SYMBOL_PATTERN`) compiled with
    combining marks as word characters: a mark stays in the word it follows."""
    marks = _mark_ranges()
    word = f"[\\w{marks}]"
    if pattern == DEFAULT_TOKEN_PATTERN:
        return re.compile(f"(?u){word}+(?:'{word}+)?")
    return re.compile(f"{word}+|[^\\w{marks}\\s]")


def _integer_items(s, i, dtype):
    """Row ``i`` of :func:`pad_sequences` as integers that ``dtype`` holds, or a ValueError."""
    if s.dtype.kind == "O":  # Python objects: ints only (np.asarray keeps huge ints as objects)
        if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in s.flat):
            raise ValueError(f"sequences[{i}] holds non-integer values but dtype={dtype!r}")
        ints = [int(v) for v in s.flat]
        low, high = (min(ints), max(ints)) if ints else (0, 0)
    elif s.dtype.kind in "iub":
        low, high = (int(s.min()), int(s.max())) if s.size else (0, 0)
    elif s.dtype.kind != "f" or not np.all(np.isfinite(s)) or np.any(s != np.round(s)):
        raise ValueError(f"sequences[{i}] holds non-integer values but dtype={dtype!r}")
    else:
        low, high = (float(s.min()), float(s.max())) if s.size else (0, 0)
    info = np.iinfo(np.dtype(dtype))
    if low < info.min or high > info.max:
        raise ValueError(f"sequences[{i}] holds values outside the range of dtype={dtype!r} "
                         f"({low} to {high})")
    return s.astype(np.dtype(dtype)) if s.dtype.kind == "O" else s


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
    keep_objects = np.dtype(dtype) == object  # as Keras: the items themselves, not converted
    seqs = []
    for i, s in enumerate(sequences):
        if not hasattr(s, "__len__") or isinstance(s, (str, bytes)):
            raise ValueError(f"sequences[{i}] is not a sequence: {s!r}")
        seqs.append(np.asarray(s, dtype=object) if keep_objects else np.asarray(s))
    lengths = [len(s) for s in seqs]
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif not isinstance(maxlen, numbers.Integral) or isinstance(maxlen, bool) or maxlen < 0:
        raise ValueError(f"maxlen must be a non-negative integer, got {maxlen!r}")
    sample_shape = next((s.shape[1:] for s in seqs if len(s)), ())
    is_int = np.issubdtype(np.dtype(dtype), np.integer)
    try:
        out = np.full((len(seqs), maxlen) + tuple(sample_shape), value, dtype=dtype)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"value={value!r} cannot be stored as dtype={dtype!r}") from None
    for i, s in enumerate(seqs):
        if not len(s) or maxlen == 0:
            continue
        if s.shape[1:] != sample_shape:
            raise ValueError(f"sequences[{i}] has item shape {s.shape[1:]}, expected {sample_shape}")
        if is_int:
            s = _integer_items(s, i, dtype)
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, maxlen - len(trunc):] = trunc
    return out


def _is_missing(value):
    # None, a float NaN, or pandas' NA (matched by type name: pandas is not a dependency)
    return value is None or type(value).__name__ == "NAType" or (
        isinstance(value, float) and value != value)


def _never_tokens(split, words):
    """The entries of ``words`` that ``split`` (the analyzer's tokenizer) never yields as a token."""
    return [w for w in words if not isinstance(w, str) or split(w) != [w]]


def _warn_if_unsegmented(counts):
    """Warn when most word-level tokens are long runs of a script written without spaces."""
    total = sum(counts.values())
    phrases = sum(n for t, n in counts.items() if len(t) >= 4 and _UNSPACED_SCRIPTS.search(t))
    if total and phrases > total / 2:
        warn_at_caller(f"{phrases / total:.0%} of the word-level tokens are runs of 4 or more "
                       "characters of Chinese, Japanese, Thai, Lao, Khmer or Myanmar text, "
                       "which put no spaces between words: each is a whole phrase, rarely seen "
                       "twice.  Use char_level=True, or segment the texts into space-separated "
                       "words first", UserWarning)


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
        such as "don't", which matter for sentiment).  The default counts
        combining marks (accents of decomposed text, Indic and Thai vowel
        signs, Arabic and Hebrew points) as word characters, which Python's
        ``\\w`` does not (so does :data:`WORD_OR_SYMBOL_PATTERN`).  At most one
        capturing group, whose text is the token.  Ignored with ``tokenizer``
        or ``char_level``.
    tokenizer : callable or None, default None
        ``str -> iterable of str``, replaces ``token_pattern``.
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
    vocabulary : list, tuple or 1-D array of str, or None, default None
        A fixed vocabulary, as ``CountVectorizer(vocabulary=...)`` takes one:
        its tokens get the ids after the reserved ones (2, 3, ... with
        ``oov_token``, else 1, 2, ...) in the order given, ``fit`` learns
        nothing from the texts, and ``max_features``, ``min_df`` and
        ``max_df`` are not used.  Tokens outside it are unknown (id 1, or
        dropped without ``oov_token``).  The tokens are matched as the
        analyzer produces them (lowercased with ``lowercase=True``).  Pass the
        words of :func:`load_word_vectors` to give every word of a pretrained
        table an id.

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
        "vocabulary": [list, tuple, np.ndarray, None],
    }

    def __init__(self, *, lowercase=True, token_pattern=DEFAULT_TOKEN_PATTERN, tokenizer=None,
                 max_features=None, min_df=1, max_df=1.0, stop_words=None, maxlen=None,
                 padding="pre", truncating="pre", oov_token="<OOV>", char_level=False,
                 vocabulary=None):
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
        self.vocabulary = vocabulary

    # ------------------------------------------------------------ analysis
    def _splitter(self):
        """The callable ``str -> list of str`` that finds a text's tokens (lowercased when set),
        before stop words are removed."""
        if self.char_level:
            split = list
        elif self.tokenizer is not None:
            tokenizer = self.tokenizer

            def split(doc):  # a list, whatever iterable the tokenizer returns
                return list(tokenizer(doc))
        elif self.token_pattern in (DEFAULT_TOKEN_PATTERN, WORD_OR_SYMBOL_PATTERN):
            plain = re.compile(self.token_pattern).findall
            with_marks = _with_marks(self.token_pattern).findall

            def split(doc):  # ASCII holds no combining mark: the plain pattern is faster there
                return plain(doc) if doc.isascii() else with_marks(doc)
        else:
            try:
                pattern = re.compile(self.token_pattern)
            except re.error as exc:
                raise ValueError(f"token_pattern {self.token_pattern!r} is not a valid regular "
                                 f"expression: {exc}") from None
            if pattern.groups > 1:  # findall would return tuples of groups as tokens
                raise ValueError(f"token_pattern {self.token_pattern!r} has {pattern.groups} "
                                 "capturing groups, at most 1 is allowed (the token); write the "
                                 "others as (?:...)")
            split = pattern.findall
        if not self.lowercase:
            return split
        return lambda doc: split(doc.lower())

    def build_analyzer(self):
        """Return the callable ``str -> list of str`` used by fit and transform."""
        stop = None
        if self.stop_words == "english":
            stop = ENGLISH_STOP_WORDS
        elif self.stop_words is not None:
            stop = frozenset(self.stop_words)
        split = self._splitter()

        def analyze(doc):
            tokens = split(doc)
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
                if _is_missing(doc):
                    raise ValueError(f"text {i} is missing ({doc!r}): fill or drop missing texts "
                                     "first")
                hint = ": decode it first (bytes.decode)" if isinstance(doc, bytes) else ""
                raise ValueError(f"text {i} is a {type(doc).__name__}, not a str{hint}")
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
        if self.vocabulary is not None:  # nothing to learn from the texts: only check them
            self._validate_params()
            self._check_texts(X)
            self._check_stop_words()
            self._fit_tokens(None)
        else:
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
        if not texts and self.vocabulary is None:
            raise ValueError("cannot fit a vocabulary on 0 texts")
        analyze = self.build_analyzer()
        self._check_stop_words()
        return [analyze(doc) for doc in texts]

    def _check_stop_words(self):
        """Warn about stop words that no token can equal (scikit-learn's vectorizers warn too)."""
        if self.stop_words is None or self.stop_words == "english" or self.char_level:
            return
        split = self._splitter()
        never = _never_tokens(split, self.stop_words)
        if never:
            shown = [repr(w) for w in sorted(never, key=str)[:5]]
            warn_at_caller(f"stop_words [{', '.join(shown)}]{' ...' if len(never) > 5 else ''} "
                           "never equal a token (tokens are "
                           f"{'lowercased and ' if self.lowercase else ''}split by token_pattern "
                           "or tokenizer), so they remove nothing; write them as the tokens are",
                           UserWarning)

    def _fixed_vocabulary(self):
        """The tokens of ``vocabulary`` as a list of str; duplicates and non-strings refused."""
        vocab = self.vocabulary
        if isinstance(vocab, np.ndarray) and vocab.ndim != 1:
            raise ValueError(f"vocabulary must be 1-D, got an array of shape {vocab.shape}")
        tokens = [t.item() if isinstance(t, np.str_) else t for t in vocab]
        seen = set()
        for i, t in enumerate(tokens):
            if not isinstance(t, str):
                raise ValueError(f"vocabulary[{i}] is a {type(t).__name__}, not a str: {t!r}")
            if t in seen:
                raise ValueError(f"vocabulary[{i}] = {t!r} is a duplicate: every token must appear "
                                 "once (ids follow the order)")
            seen.add(t)
        if not tokens:
            raise ValueError("vocabulary is empty")
        reserved = [t for t in tokens if t == "" or t == self.oov_token]
        if reserved:
            raise ValueError(f"vocabulary holds {reserved[0]!r}, the name of a reserved id "
                             "(padding '' or oov_token): give the words only")
        if self.lowercase and self.tokenizer is None:  # (a tokenizer may emit what it likes)
            cased = [t for t in tokens if t != t.lower()]
            if cased:  # the analyzer lowercases every token: these can never be read
                warn_at_caller(f"{len(cased)} of the {len(tokens)} vocabulary entries have "
                               f"capitals (e.g. {cased[0]!r}) and lowercase=True: no token can "
                               "match them (pass lowercase=False for a cased vocabulary)")
                return tokens
        if not self.char_level and self.tokenizer is None:
            split, sample = self._splitter(), tokens[:VOCABULARY_SAMPLE]
            never = _never_tokens(split, sample)
            if 2 * len(never) > len(sample):  # most entries are not what the pattern finds
                warn_at_caller(f"{len(never)} of the first {len(sample)} vocabulary entries "
                               f"(e.g. {never[0]!r} read as {split(never[0])}) are never a "
                               "token that token_pattern finds: they can never be read, and "
                               "texts become unknown ids; write them as the tokens are")
        return tokens

    def _fit_tokens(self, token_lists):
        if self.vocabulary is not None:
            self._set_vocabulary(self._fixed_vocabulary())
            return
        counts = Counter()
        doc_freq = Counter()
        for tokens in token_lists:
            counts.update(tokens)
            doc_freq.update(set(tokens))
        n_docs = len(token_lists)
        lo = self.min_df if isinstance(self.min_df, numbers.Integral) else self.min_df * n_docs
        hi = self.max_df if isinstance(self.max_df, numbers.Integral) else self.max_df * n_docs
        if hi < lo:
            raise ValueError(f"max_df={self.max_df!r} allows fewer documents ({hi:g} of {n_docs}) "
                             f"than min_df={self.min_df!r} requires ({lo:g}): no token could "
                             "be kept")
        kept = [t for t in counts if lo <= doc_freq[t] <= hi]  # Counter keeps first-seen order
        if not kept:
            why = (" (stop_words removed them all, or they hold none: " if self.stop_words
                   else " (they hold no token at all: ")
            raise ValueError(
                "empty vocabulary: the texts hold no token that min_df and max_df keep"
                + ("" if counts else why + "texts without letters or digits, such as emoji or "
                   "whitespace only, give none at word level; char_level=True reads every "
                   "character)"))
        kept.sort(key=lambda t: -counts[t])  # stable: ties stay in first-seen order
        if self.max_features is not None:
            kept = kept[:self.max_features]
        if not self.char_level and self.tokenizer is None:
            _warn_if_unsegmented(counts)
        self._set_vocabulary(kept)

    def _set_vocabulary(self, kept):
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
        X = np.asarray(X)
        if X.dtype.kind == "f":  # whole floats are ids (a float array of ids)
            if not np.all(np.isfinite(X)) or np.any(X != np.round(X)):
                raise ValueError("X must hold integer ids, got fractional or non-finite floats")
            X = X.astype(np.int64)
        for row in X:
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
            columns, so there are no fixed names (and ``set_output(transform=
            "pandas")``, which asks for them, needs ``maxlen``).
        """
        check_is_fitted(self, "vocabulary_")
        if self.maxlen is None:
            raise ValueError("TextSequencer(maxlen=None) pads each transform call to its longest "
                             "text, so its output columns have no fixed names (a pandas output "
                             "needs them); set maxlen to name them")
        return np.array([f"id{i}" for i in range(self.maxlen)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = True
        return tags


# ------------------------------------------------------------------ pretrained word vectors
#: Rows of a vector table allocated at a time while reading (the table grows by blocks), at most.
_VECTOR_BLOCK = 4096
#: Values of a block, at most (a very wide table gets fewer rows per block).
_VECTOR_BLOCK_VALUES = 1 << 22


def _open_binary(path):
    """``(binary file object, name for messages, whether to close it)``; ``.gz`` is decompressed."""
    if hasattr(path, "read"):
        return path, getattr(path, "name", "<file>"), False
    name = os.fsdecode(os.fspath(path))
    if name.lower().endswith((".gz", ".gzip")):
        return gzip.open(name, "rb"), name, True
    return open(name, "rb"), name, True


class _Table:
    """A growing float32 table of rows of one width, kept as blocks (no whole-file buffer)."""

    def __init__(self, dim, capacity=None):
        self.dim = dim
        rows = max(1, min(_VECTOR_BLOCK, _VECTOR_BLOCK_VALUES // dim))
        self.block = rows if capacity is None else max(1, min(capacity, rows))
        self.blocks = []
        self.n = 0

    def append(self, row):
        i = self.n % self.block
        if i == 0:
            self.blocks.append(np.empty((self.block, self.dim), dtype=np.float32))
        self.blocks[-1][i] = row
        self.n += 1

    def array(self):
        if not self.blocks:
            return np.empty((0, self.dim), dtype=np.float32)
        last = self.n - self.block * (len(self.blocks) - 1)
        self.blocks[-1] = self.blocks[-1][:last]
        # one block: a copy when it is mostly empty, so the result does not keep it alive
        out = (self.blocks[0] if last * 2 >= self.block else self.blocks[0].copy()) \
            if len(self.blocks) == 1 else np.concatenate(self.blocks)
        self.blocks = []
        return out


def _header(fields):
    """``(n_words, dim)`` if a first line's fields are a word2vec/fastText header, else None."""
    if len(fields) == 2 and all(f.isdigit() for f in fields):
        n, dim = int(fields[0]), int(fields[1])
        if dim >= 1:
            return n, dim
    return None


def _decode(raw, name, lineno):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name}, line {lineno}: not UTF-8 text ({exc.reason} at byte "
                         f"{exc.start})") from None


def _read_text_vectors(f, name, max_words):
    with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, refused with its line
        return _read_text_lines(f, name, max_words)


def _read_text_lines(f, name, max_words):
    words, seen, table, dim, declared = [], set(), None, None, None
    lines = []  # the line of each kept word, for the messages
    n_records = 0  # vector lines, a repeated word's included (what a header counts)
    for lineno, raw in enumerate(f, 1):
        if max_words is not None and len(words) >= max_words:
            break
        line = _decode(raw, name, lineno).rstrip()
        if lineno == 1:
            line = line.removeprefix("\ufeff")  # a byte order mark is not part of the first word
        if not line:
            continue
        fields = line.split(" ")
        if lineno == 1 and _header(fields) is not None:
            declared, dim = _header(fields)
            continue
        if dim is None:
            dim = len(fields) - 1
            if dim < 1:
                raise ValueError(f"{name}, line {lineno}: a word without a vector ({line[:60]!r}); "
                                 "expected 'word v1 v2 ...'")
        if len(fields) < dim + 1:
            raise ValueError(f"{name}, line {lineno}: {len(fields) - 1} values where the vectors "
                             f"have {dim} (inconsistent dimensions, or a malformed line)")
        # the word is everything before the last ``dim`` fields (a few GloVe words hold spaces)
        word = " ".join(fields[:-dim])
        try:
            row = np.array(fields[-dim:], dtype=np.float32)
        except ValueError:
            bad = next(v for v in fields[-dim:] if not _is_float(v))
            raise ValueError(f"{name}, line {lineno}: {bad!r} is not a number (malformed "
                             "line)") from None
        if len(fields) > dim + 1 and _is_float(fields[-dim - 1]):
            raise ValueError(f"{name}, line {lineno}: {len(fields) - 1} values where the vectors "
                             f"have {dim} (inconsistent dimensions)")
        if table is None:
            table = _Table(dim, None if max_words is None else max_words)
        n_records += 1
        if word in seen:  # keep the first vector of a word
            continue
        seen.add(word)
        words.append(word)
        lines.append(lineno)
        table.append(row)
    if dim is None:
        raise ValueError(f"{name} holds no word vectors")
    if declared is not None and max_words is None and n_records != declared:
        raise ValueError(f"{name}: the header declares {declared} words but the file holds "
                         f"{n_records}" + (" (truncated?)" if n_records < declared else ""))
    vectors = table.array() if table is not None else np.empty((0, dim), np.float32)
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))  # (checked once, not per line)
    if len(bad):
        raise ValueError(f"{name}, line {lines[bad[0]]}: a value is not a finite float32 (NaN, "
                         "infinity, or beyond 3.4e38)")
    return words, vectors


def _is_float(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_binary_vectors(f, name, max_words):
    header = f.readline()
    fields = _decode(header, name, 1).split()
    if _header(fields) is None:
        raise ValueError(f"{name}, line 1: a word2vec binary file starts with the header "
                         f"'n_words dim', got {header[:60]!r}")
    declared, dim = _header(fields)
    n = declared if max_words is None else min(declared, max_words)
    n_bytes = 4 * dim
    words, seen, table = [], set(), _Table(dim, n)
    buf = b""
    i = 0
    while i < declared and (max_words is None or len(words) < max_words):
        while True:  # the word runs up to the first space
            space = buf.find(b" ")
            if space >= 0:
                break
            more = f.read(max(4096, n_bytes + 64))
            if not more:
                raise ValueError(f"{name}: the file ends in word {i + 1} of the {declared} its "
                                 "header declares (truncated?)")
            buf += more
        word = buf[:space].lstrip(b"\n")
        buf = buf[space + 1:]
        if len(buf) < n_bytes:
            buf += f.read(n_bytes - len(buf))
            if len(buf) < n_bytes:
                raise ValueError(f"{name}: the file ends in the vector of word {i + 1} "
                                 "(truncated?)")
        row = np.frombuffer(buf[:n_bytes], dtype="<f4")
        buf = buf[n_bytes:]
        i += 1
        try:
            word = word.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{name}: word {i} is not UTF-8 ({exc.reason} at byte "
                             f"{exc.start})") from None
        if not word or "\n" in word or "\x00" in word:  # what a misaligned record leaves
            raise ValueError(f"{name}: word {i} is {'empty' if not word else repr(word[:40])} "
                             f"(malformed record: a dimension other than the header's {dim}, or "
                             "a text file? pass binary=False)")
        if word in seen:
            continue
        seen.add(word)
        words.append(word)
        table.append(row)
    if max_words is None and (buf + f.read(64)).strip():
        raise ValueError(f"{name}: the header declares {declared} words but the file holds more")
    vectors = table.array()
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if len(bad):
        raise ValueError(f"{name}: the vector of {words[bad[0]]!r} (word {bad[0] + 1} kept) holds "
                         "NaN or infinity")
    return words, vectors


def load_word_vectors(path, max_words=None, binary=False):
    """Read pretrained word vectors: GloVe, word2vec or fastText, text or word2vec binary.

    The file is read as a stream, one line (or one binary record) at a time,
    and only up to ``max_words`` words: the first 50,000 words of a 1 GB file
    read about 50,000 lines of it.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        A path ending in ``.gz`` is decompressed on the fly (gzip).  A file
        object must be opened in binary mode; it is read from its current
        position and left open.
    max_words : int or None, default None
        Read at most this many distinct words (files list the most frequent
        words first); None reads them all.
    binary : bool, default False
        False: text, one ``word v1 v2 ... vd`` line per word, UTF-8, with
        (word2vec, fastText ``.vec``) or without (GloVe) a first line
        ``n_words dim``.  True: word2vec's binary format, that header line,
        then for every word its UTF-8 bytes, a space and ``dim`` little-endian
        float32 values (a newline may follow).

    Returns
    -------
    words : list of str
        In file order; a word that appears twice keeps its first vector.
    vectors : ndarray of shape (n_words, dim), float32

    Raises
    ------
    ValueError
        For a malformed line or record (the message gives the line, or the
        word's position in a binary file), vectors of different dimensions,
        text that is not UTF-8, or a file that ends early (a binary record
        cut short, or, read without ``max_words``, fewer lines than a header
        declares).

    Examples
    --------
    >>> import io
    >>> f = io.BytesIO("the 0.1 0.2\\nfilm 0.3 0.4\\ncafé -1 1\\n".encode())
    >>> words, vectors = load_word_vectors(f)
    >>> words, vectors.shape, vectors.dtype
    (['the', 'film', 'café'], (3, 2), dtype('float32'))
    """
    if max_words is not None and (not isinstance(max_words, numbers.Integral)
                                  or isinstance(max_words, bool) or max_words < 1):
        raise ValueError(f"max_words must be a positive int or None, got {max_words!r}")
    f, name, close = _open_binary(path)
    if isinstance(f, io.TextIOBase):
        raise TypeError(f"{name} is open in text mode; open it in binary mode ('rb')")
    try:
        if binary:
            return _read_binary_vectors(f, name, max_words)
        return _read_text_vectors(f, name, max_words)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # a truncated or corrupt .gz file
        raise ValueError(f"{name}: the compressed file is cut short or corrupt ({exc})") from None
    finally:
        if close:
            f.close()


def embedding_matrix(vocabulary, words, vectors, *, missing="zeros", random_state=None):
    """The rows of pretrained ``vectors`` in a vocabulary's id order, for ``embedding_init``.

    Parameters
    ----------
    vocabulary : TextSequencer, dict of str to int, or sequence of str
        A fitted :class:`TextSequencer` (its ids), a mapping token -> id
        (ids ``1..V-1``; id 0 is padding), or the token of every id in id
        order (``index_to_token_``: entry ``i`` names id ``i``).
    words : sequence of str
        The words of ``vectors``' rows (as :func:`load_word_vectors` returns them).
    vectors : array-like of shape (n_words, dim)
    missing : {"zeros", "random"}, default "zeros"
        The rows of ids that have no vector: the out-of-vocabulary id and
        every token that ``words`` lacks.  "zeros" leaves them 0 (Keras's
        guide to pretrained embeddings does so); "random" draws them from a
        normal distribution with the per-dimension mean and standard deviation
        of the vectors found, so that unknown tokens differ from each other.
        The padding id 0 always gets zeros (it is masked, never read).
    random_state : int, RandomState instance or None, default None
        Seeds the "random" rows.

    Returns
    -------
    ndarray of shape (vocab_size, dim), float32
        Row ``i`` is the vector of the token of id ``i``.  The number of
        tokens found is ``(matrix != 0).any(axis=1).sum()`` with
        ``missing="zeros"``.

    Examples
    --------
    >>> seq = TextSequencer(vocabulary=["film", "good", "bad"]).fit([])
    >>> E = embedding_matrix(seq, ["good", "film"], [[1.0, 2.0], [3.0, 4.0]])
    >>> E.tolist()  # ids: padding, <OOV>, film, good, bad
    [[0.0, 0.0], [0.0, 0.0], [3.0, 4.0], [1.0, 2.0], [0.0, 0.0]]
    """
    if missing not in ("zeros", "random"):
        raise ValueError(f'missing must be "zeros" or "random", got {missing!r}')
    if isinstance(vocabulary, TextSequencer):
        check_is_fitted(vocabulary, "vocabulary_")
        tokens = list(vocabulary.index_to_token_)
        tokens[0] = None  # padding
        if vocabulary.oov_token is not None:
            tokens[1] = None  # the OOV id stands for no word in particular
    elif isinstance(vocabulary, dict):
        ids = list(vocabulary.values())
        if not all(isinstance(i, numbers.Integral) and not isinstance(i, bool) and i >= 1
                   for i in ids):
            raise ValueError("vocabulary maps tokens to ids: positive ints (0 is padding)")
        tokens = [None] * (max(ids, default=0) + 1)
        for token, i in vocabulary.items():
            tokens[i] = token
    elif isinstance(vocabulary, (list, tuple, np.ndarray)):
        tokens = [None] + list(vocabulary)[1:]
    else:
        raise TypeError("vocabulary must be a fitted TextSequencer, a dict of token to id or a "
                        f"list of tokens in id order, got {type(vocabulary).__name__}")
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be 2-D (n_words, dim), got shape {vectors.shape}")
    words = list(words)
    if len(words) != len(vectors):
        raise ValueError(f"{len(words)} words but {len(vectors)} vectors")
    row_of = {}
    for i, w in enumerate(words):
        row_of.setdefault(w, i)  # the first vector of a repeated word
    if isinstance(vocabulary, (list, tuple, np.ndarray)) and len(vocabulary) \
            and vocabulary[0] in row_of:  # the words alone, shifted by the reserved ids
        raise ValueError(f"vocabulary[0] is {vocabulary[0]!r}, a word with a vector: a list names every "
                         "id in id order from the padding id 0 (a TextSequencer's "
                         "index_to_token_), not the words alone; for the words given to "
                         "TextSequencer(vocabulary=...), pass the fitted TextSequencer itself")
    found_ids, found_rows = [], []
    for i, token in enumerate(tokens):
        if token is not None and token in row_of:
            found_ids.append(i)
            found_rows.append(row_of[token])
    out = np.zeros((len(tokens), vectors.shape[1]), dtype=np.float32)
    if missing == "random" and found_rows:
        rng = check_random_state(random_state)
        mean = vectors[found_rows].mean(axis=0)
        std = vectors[found_rows].std(axis=0)
        out[:] = rng.normal(mean, std, out.shape)
        out[0] = 0.0
    out[found_ids] = vectors[found_rows]
    wanted = sum(t is not None for t in tokens)
    if wanted and not found_ids:
        warn_at_caller(f"no token of the vocabulary ({wanted} tokens, e.g. "
                       f"{next(t for t in tokens if t is not None)!r}) has a vector among "
                       f"words (e.g. {words[0] if words else None!r}): the matrix is all "
                       "zeros; are the words spelt as the tokens are?")
    return out
