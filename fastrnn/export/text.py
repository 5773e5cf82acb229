"""ONNX export of ``Pipeline(TextSequencer, estimator)``: raw strings in, predictions out.

The graph splits, lowercases and numbers the words as the fitted
:class:`~fastrnn.text.TextSequencer` does, with ONNX Runtime's string operators:

- ``StringNormalizer`` lowercases (ASCII letters: it runs in the portable
  ``C`` locale); a vocabulary word with other cased letters also gets a key for
  its Capitalized and UPPERCASE spellings, so those map to its id too;
- ``Tokenizer`` (``com.microsoft``, RE2 regular expressions) finds the words
  of the default ``token_pattern`` (its word characters, ``\\w`` and the
  combining marks, written as ``[\\p{L}\\p{M}\\p{N}_]``), or
  the characters with ``char_level=True``;
- ``LabelEncoder`` (``ai.onnx.ml``) maps words to ids: stop words and unknown
  words (without ``oov_token``) to 0, which is then dropped, others to the
  OOV id 1;
- the ids are packed, truncated and padded to ``maxlen`` as ``pad_sequences``
  does (``padding``, ``truncating``), and the estimator's graph follows.

Settings these operators cannot express raise a ValueError naming them.
"""

import functools
import warnings

import numpy as np

from ._graph import check_exportable, estimator_outputs, left_align

#: Tokenizer padding: never a token (words hold no space, characters are one long).
_PAD = "  "
# the default token_pattern as TextSequencer runs it (fastrnn.text._with_marks: \w and the
# combining marks); in RE2 \w and \b are ASCII-only, so the classes are spelled out
_DEFAULT_PATTERN_RE2 = r"[\p{L}\p{M}\p{N}_]+(?:'[\p{L}\p{M}\p{N}_]+)?"


def _ascii_lower(s):
    return "".join(c.lower() if c.isascii() else c for c in s)


@functools.lru_cache(maxsize=1)
def _capitals():
    """Non-ASCII lowercase strings whose capital letter ``str.upper`` does not give back:
    ``{"i̇": "İ", "ß": "ẞ", ...}`` (Python lowercases İ to i plus a combining dot)."""
    out = {}
    for code in range(0x80, 0x10000):  # (none lies beyond the Basic Multilingual Plane)
        c = chr(code)
        low = c.lower()
        if low != c and low.upper() != c and not low.isascii() and low not in out:
            out[low] = c
    return out


def _word_keys(word, lowercase):
    """The strings that lowercase to ``word`` in the graph: itself and, for non-ASCII cased letters,
    its Capitalized and UPPERCASE spellings (with the capitals of :func:`_capitals`)."""
    keys = [word]
    if lowercase and not word.isascii():
        variants = [word.capitalize(), word.upper()]
        capitals, first = word, word
        for low, cap in _capitals().items():
            if low in word:
                capitals = capitals.replace(low, cap)
                if word.startswith(low):
                    first = cap + word[len(low):]
        variants += [first, capitals.upper()]
        for variant in variants:
            key = _ascii_lower(variant)
            if key not in keys and key.lower() == word:
                keys.append(key)
    return keys


def check_sequencer(seq):
    """Raise ValueError naming the first ``TextSequencer`` setting the graph cannot express."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(seq, "vocabulary_")
    if seq.tokenizer is not None:
        raise ValueError("TextSequencer(tokenizer=...) cannot be exported: a Python callable has no "
                         "ONNX form; use the default token_pattern or char_level=True")
    default = type(seq)().token_pattern
    if not seq.char_level and seq.token_pattern != default:
        raise ValueError(f"TextSequencer(token_pattern={seq.token_pattern!r}) cannot be exported: only "
                         f"the default pattern {default!r} has an exact ONNX (RE2) equivalent here")


def _vocabulary_encoder(b, tokens, seq):
    """Words (N, L) -> ids (N, L) int64, 0 for padding, stop words and dropped unknown words."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    stop = ()
    if seq.stop_words == "english":
        stop = ENGLISH_STOP_WORDS
    elif seq.stop_words is not None:
        stop = seq.stop_words
    table = {_PAD: 0}
    for word in sorted(stop):
        if seq.lowercase and word != word.lower():  # never equals a lowercased token
            continue
        for key in _word_keys(word, seq.lowercase):
            table.setdefault(key, 0)
    for word, i in seq.vocabulary_.items():
        if seq.lowercase and word != word.lower():  # as for stop words: no lowercased token is it
            continue
        for key in _word_keys(word, seq.lowercase):
            table.setdefault(key, int(i))
    unknown = 1 if seq.oov_token is not None else 0
    return b.op("LabelEncoder", [tokens], base="word_ids", domain="ai.onnx.ml",
                keys_strings=list(table), values_int64s=list(table.values()), default_int64=unknown)


def _pad_like_keras(b, ids, seq):
    """Real ids of each row truncated and padded to ``maxlen`` as ``pad_sequences`` does."""
    zero = b.const(np.array(0, np.int64), "zero")
    one = b.const(np.array(1, np.int64), "one")
    left, lengths, _ = left_align(b, ids)
    n_cols = b.op("Gather", [b.op("Shape", [left]), one], base="n_words", axis=0)
    # column n_cols, appended, is the padding
    padded = b.op("Pad", [left, b.const(np.array([0, 0, 0, 1], np.int64), "pads_col")])
    if seq.maxlen is not None:
        width = b.const(np.array(seq.maxlen, np.int64), "maxlen")
    else:
        # the longest row, and one padding step when every text is empty (as transform gives)
        width = b.op("Max", [b.reduce("ReduceMax", lengths, [0, 1], keepdims=0), one], base="maxlen")
    cols = b.op("Unsqueeze", [b.op("Range", [zero, width, one]), b.const(np.array([0], np.int64), "axes0")],
                base="cols")                                                # (1, maxlen)
    kept = b.op("Min", [lengths, width], base="kept")                       # (N, 1)
    if seq.truncating == "pre":  # keep the last maxlen ids
        first = b.op("Max", [b.op("Sub", [lengths, width]), zero], base="first_kept")
    else:
        first = zero
    k = cols if seq.padding == "post" else b.op("Sub", [cols, b.op("Sub", [width, kept])])
    valid = b.op("And", [b.op("GreaterOrEqual", [k, zero]), b.op("Less", [k, kept])])
    src = b.op("Where", [valid, b.op("Add", [first, k]), n_cols], base="source_col")
    return b.op("GatherElements", [padded, src], base="padded_ids", axis=1)


def pipeline_graph(b, pipeline):
    """Add the graph of a fitted ``Pipeline(TextSequencer, estimator)`` reading strings ``X`` (N,).

    Parameters
    ----------
    b : GraphBuilder
    pipeline : sklearn.pipeline.Pipeline
    """
    from ..text import TextSequencer

    steps = [est for _, est in pipeline.steps if est is not None and est != "passthrough"]
    if len(steps) != 2 or not isinstance(steps[0], TextSequencer):
        names = [type(est).__name__ for est in steps]
        raise ValueError(f"a pipeline exports when it is TextSequencer then a fastrnn estimator; got {names}")
    seq, est = steps
    check_sequencer(seq)
    check_exportable(est)
    if est.input_kind_ == "dense":
        raise ValueError("the pipeline's estimator was fitted on float sequences, not token ids")
    if est._unknown_id() is None and seq.vocab_size_ > est.vocab_size_:
        warnings.warn(f"the TextSequencer gives ids up to {seq.vocab_size_ - 1} but "
                      f"{type(est).__name__} knows ids below {est.vocab_size_} (no training row "
                      "held the others, and unknown_ids='error'): where predict refuses text "
                      "holding those words, the graph fails with an index error; fit with "
                      "vocab_size=<sequencer>.vocab_size_ or unknown_ids='oov'", UserWarning,
                      stacklevel=3)
    text = b.input("X", b.onnx.TensorProto.STRING, ["N"])
    estimator_outputs(b, est, sequencer_ids(b, seq, text))


def sequencer_ids(b, seq, text):
    """Add a fitted ``TextSequencer``'s transform of the strings ``text`` (N,); the name of its ids.

    Returns
    -------
    str
        Ids (N, maxlen) int64, as ``seq.transform`` gives them (``maxlen``
        None: the longest row's length).
    """
    check_sequencer(seq)
    if seq.lowercase:
        # "C": a locale every ONNX Runtime host has (it lowercases ASCII; see _word_keys)
        text = b.op("StringNormalizer", [text], base="lowercased", case_change_action="LOWER",
                    locale="C")
    pattern = r"(?s)." if seq.char_level else _DEFAULT_PATTERN_RE2
    tokens = b.op("Tokenizer", [text], base="words", domain="com.microsoft", mark=0, mincharnum=1,
                  pad_value=_PAD, tokenexp=pattern)
    b.typed(tokens, b.onnx.TensorProto.STRING, ["N", "n_tokens"])
    return _pad_like_keras(b, _vocabulary_encoder(b, tokens, seq), seq)
