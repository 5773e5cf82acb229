"""Word-level explanations of a text classifier, and their rendering as HTML.

:func:`explain_texts` runs a fitted ``Pipeline(TextSequencer, RNNClassifier)``
(or an :class:`~fastrnn.RNNRegressor`) on raw texts and pairs every word with
its attribution (integrated gradients, ``explain``) or its attention weight
(``head="attention"``); :func:`to_html` shades the words by score, green for
positive and red for negative.

Words are the tokens the pipeline's :class:`~fastrnn.TextSequencer` makes
(lower-cased unless ``lowercase=False``).  Words the network never reads
get the score None: those cut off by ``maxlen`` (``truncating`` says which
end) and unknown words that ``oov_token=None`` drops.  An unknown word kept
as the out-of-vocabulary id has a score like any other word.
"""

import html
import math
import numbers

import numpy as np
from sklearn.pipeline import Pipeline

from .text import TextSequencer

__all__ = ["explain_texts", "to_html"]

#: Methods of :func:`explain_texts`.
METHODS = ("integrated_gradients", "attention")


def _parts(pipeline):
    """The pipeline's TextSequencer and final estimator, checked."""
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        raise TypeError("pipeline must be a fitted Pipeline(TextSequencer, estimator) of two steps, "
                        f"got {type(pipeline).__name__}")
    sequencer, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    if not isinstance(sequencer, TextSequencer):
        raise TypeError(f"the pipeline's first step must be a TextSequencer, got "
                        f"{type(sequencer).__name__}")
    if not hasattr(model, "explain"):
        raise TypeError(f"the pipeline's estimator must be an RNNClassifier or RNNRegressor, got "
                        f"{type(model).__name__}")
    return sequencer, model


def explain_texts(pipeline, texts, *, method="integrated_gradients", target=None, baseline="zeros",
                  n_steps=32):
    """Score every word of ``texts`` by its part in the pipeline's prediction.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted ``Pipeline(TextSequencer, RNNClassifier or RNNRegressor)``.
    texts : iterable of str
    method : {"integrated_gradients", "attention"}, default "integrated_gradients"
        "integrated_gradients": each word's share of the change of the
        explained output (a class's probability, a regression output) from
        the baseline to the text (the estimator's ``explain``; ``target``,
        ``baseline`` and ``n_steps`` go there).  "attention": the weights of
        a model fitted with ``head="attention"`` (non-negative, summing to 1
        over the words the network reads).
    target : label, array-like or None, default None
        The class to explain (None: each text's predicted class), or a
        regressor's output index.
    baseline : "zeros", int or array-like, default "zeros"
        Start of the integration path (see ``RNNClassifier.explain``).
    n_steps : int, default 32
        Points of the integral's Riemann sum.

    Returns
    -------
    list of list of (str, float or None)
        Per text, its words in order with their scores; None for a word the
        network does not read (beyond ``maxlen``, or unknown and dropped).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    sequencer, model = _parts(pipeline)
    texts = TextSequencer._check_texts(texts)
    if len(texts) == 0:
        return []
    analyze = sequencer.build_analyzer()
    words = [analyze(doc) for doc in texts]
    features = sequencer.transform(texts)  # a DataFrame under set_output(transform="pandas")
    X = np.asarray(features)
    if not hasattr(model, "feature_names_in_"):  # the model reads what it was fitted on
        features = X
    if method == "attention":
        scores = model.attention_weights(features)
    else:
        scores = model.explain(features, target, baseline=baseline, n_steps=n_steps)
    vocab = sequencer.vocabulary_
    oov = 1 if sequencer.oov_token is not None else None
    out = []
    for tokens, row, row_scores in zip(words, X, scores):
        ids = [vocab.get(t, oov) for t in tokens]
        kept = [k for k, i in enumerate(ids) if i is not None]
        cols = np.flatnonzero(row)
        n_read = len(cols)
        # pad_sequences keeps the last maxlen ids with truncating="pre", the first with "post"
        read = kept[len(kept) - n_read:] if sequencer.truncating == "pre" else kept[:n_read]
        if [ids[k] for k in read] != row[cols].tolist():
            raise ValueError("the TextSequencer's output does not match its tokens; was it refitted "
                             "after the pipeline?")
        score = [None] * len(tokens)
        for k, c in zip(read, cols):
            score[k] = float(row_scores[c])
        out.append(list(zip(tokens, score)))
    return out


def _shade(score, scale):
    """Inline style of a word: green for positive, red for negative, stronger for larger |score|."""
    if score is None or not math.isfinite(score):
        return "color:#888888"
    strength = 0.0 if not scale > 0 else min(abs(score) / scale, 1.0)
    rgb = "0,160,60" if score > 0 else "220,40,40"
    return f"background-color:rgba({rgb},{0.8 * strength:.3f})"


def to_html(explanations, *, scale=None):
    """HTML of explained texts: each word on a background shaded by its score.

    Parameters
    ----------
    explanations : list of list of (str, float or None)
        As :func:`explain_texts` returns (one list per text).
    scale : float or None, default None
        The absolute score of full colour; None uses each text's largest
        absolute score.  Words scored None are grey.

    Returns
    -------
    str
        One ``<div>`` per text of ``<span>`` words with inline styles (no
        script, no stylesheet), words HTML-escaped and isolated from each
        other's text direction (the text's direction is the browser's guess,
        ``dir="auto"``), each with its score as a tooltip.  In a notebook:
        ``IPython.display.HTML(to_html(...))``.
    """
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, numbers.Real)
                              or not 0 < scale < math.inf):
        raise ValueError(f"scale must be a positive finite number or None, got {scale!r}")
    blocks = []
    for words in explanations:
        scores = [abs(s) for _, s in words if s is not None and math.isfinite(s)]
        text_scale = scale if scale is not None else max(scores, default=0.0)
        spans = []
        for word, score in words:
            tip = "not read by the model" if score is None else f"{score:+.4g}"
            # each word isolated, so a right-to-left word or a stray direction control inside one
            # cannot reorder the others
            spans.append(f'<span style="{_shade(score, text_scale)};padding:0 2px;'
                         f'unicode-bidi:isolate" title="{tip}">{html.escape(str(word))}</span>')
        blocks.append('<div dir="auto" style="line-height:1.8;margin:0.5em 0">' + " ".join(spans)
                      + "</div>")
    return "\n".join(blocks)
