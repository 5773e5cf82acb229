"""Integrated-gradients attributions (``explain``) and the word-level HTML helper."""

import re

import numpy as np
import pytest
import sklearn
from sklearn.pipeline import make_pipeline

from fastrnn import RNNClassifier, RNNRegressor, TextSequencer
from fastrnn.estimators._inspection import (
    _class_probability_and_grad,
    _output_and_grad,
    integrated_gradients,
)
from fastrnn.explain import explain_texts, to_html

V, T = 9, 6


def _ids(seed, n=6):
    rng = np.random.default_rng(seed)
    X = rng.integers(1, V, size=(n, T))
    X[0, :2] = 0   # pre-padded
    X[1, -3:] = 0  # post-padded
    X[2, 1::2] = 0  # padding between tokens
    return X


def _scrambled(model, seed, scale=0.8):
    """The model with large random weights: a strongly non-linear function to integrate."""
    rng = np.random.default_rng(seed)
    model.set_weights([scale * rng.normal(size=w.shape) for w in model.get_weights()])
    return model


def _classifier(n_classes=2, bidirectional=False, head="last", seed=0):
    X = _ids(seed, n=12)
    y = np.arange(12) % n_classes
    clf = RNNClassifier(cell="gru", units=4, embedding_dim=3, bidirectional=bidirectional, head=head,
                        max_iter=1, dtype="float64", random_state=0).fit(X, y)
    return _scrambled(clf, seed), X


def _ig(model, X, index, n_steps, **kw):
    fn = _class_probability_and_grad if hasattr(model, "classes_") else _output_and_grad
    return integrated_gradients(model._network(), model.params_, X, index, fn, n_steps=n_steps, **kw)


@pytest.mark.parametrize("bidirectional,head", [(False, "last"), (True, "attention"), (True, "mean")])
def test_completeness_error_shrinks_with_n_steps(bidirectional, head):
    clf, X = _classifier(bidirectional=bidirectional, head=head)
    index = np.ones(len(X), dtype=np.intp)
    errors = []
    for n_steps in (2, 8, 32):
        attr, at_x, at_base = _ig(clf, X, index, n_steps)
        errors.append(np.abs(attr.sum(axis=1) - (at_x - at_base)).max())
    np.testing.assert_allclose(at_x, clf.predict_proba(X)[:, 1], rtol=1e-10)
    assert errors[2] < errors[1] < errors[0]
    assert errors[2] < 2e-3 * np.abs(at_x - at_base).max()


def test_baseline_token_output_is_that_token_sequence():
    """The float-input network on the baseline embeddings is the token network on the baseline ids."""
    clf, X = _classifier(n_classes=3, bidirectional=True)
    index = np.arange(len(X)) % 3
    attr, at_x, at_base = _ig(clf, X, index, 16, baseline=1)
    rows = np.arange(len(X))
    np.testing.assert_allclose(at_x, clf.predict_proba(X)[rows, index], rtol=1e-10)
    baseline_ids = np.where(X != 0, 1, 0)
    np.testing.assert_allclose(at_base, clf.predict_proba(baseline_ids)[rows, index], rtol=1e-10)
    np.testing.assert_allclose(attr.sum(axis=1), at_x - at_base, atol=5e-3)


def test_padding_alignment_and_targets():
    clf, X = _classifier()
    attr = clf.explain(X, n_steps=8)
    assert attr.shape == X.shape and (attr[X == 0] == 0).all() and attr[X != 0].any()
    # the same tokens padded differently get the same attributions at the same tokens
    post = np.array([np.pad(r[r != 0], (0, T - (r != 0).sum())) for r in X])
    attr_post = clf.explain(post, n_steps=8)
    for a, b, r, p in zip(attr, attr_post, X, post):
        np.testing.assert_allclose(a[r != 0], b[p != 0], rtol=1e-9, atol=1e-12)
    # default target: the predicted class; p(class 0) = 1 - p(class 1)
    pred = clf.predict(X)
    for label in (0, 1):
        rows = pred == label
        np.testing.assert_allclose(attr[rows], clf.explain(X, label, n_steps=8)[rows], atol=1e-12)
    np.testing.assert_allclose(clf.explain(X, 0, n_steps=8), -clf.explain(X, 1, n_steps=8),
                               atol=1e-12)
    per_row = clf.explain(X, np.array([0, 1] * 6), n_steps=8)
    np.testing.assert_allclose(per_row[1], clf.explain(X[1:2], 1, n_steps=8)[0], atol=1e-12)


def test_multiclass_attributions_of_all_classes_sum_to_zero():
    clf, X = _classifier(n_classes=3)
    total = sum(clf.explain(X, label, n_steps=4) for label in clf.classes_)
    np.testing.assert_allclose(total, 0.0, atol=1e-12)


def test_regressor_and_float_input():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8, 5, 2))
    reg = _scrambled(RNNRegressor(cell="lstm", units=3, max_iter=1, dtype="float64", random_state=0)
                     .fit(X, rng.normal(size=(8, 2))), 1, scale=0.5)
    with pytest.raises(ValueError, match="2 outputs: pass target"):
        reg.explain(X)
    attr = reg.explain(X, 1, n_steps=32)
    zero = reg.predict(np.zeros_like(X))
    np.testing.assert_allclose(attr.sum(axis=1), reg.predict(X)[:, 1] - zero[:, 1], atol=2e-3)
    with pytest.raises(ValueError, match="output index"):
        reg.explain(X, 2)


def test_explain_errors():
    clf, X = _classifier()
    with pytest.raises(ValueError, match="n_steps"):
        clf.explain(X, n_steps=0)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        clf.explain(X, baseline=V + 5)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        clf.explain(X, baseline=np.zeros(4))
    with pytest.raises(ValueError, match="not in classes_"):
        clf.explain(X, 7)
    onehot = RNNClassifier(units=2, input_encoding="onehot", max_iter=1, random_state=0).fit(X, [0, 1] * 6)
    with pytest.raises(ValueError, match="input_encoding='embedding'"):
        onehot.explain(X)


TEXTS = ["a good film", "a bad film", "not good at all", "good good fun", "bad and dull", "dull film"]


@pytest.fixture(scope="module")
def text_pipeline():
    pipe = make_pipeline(TextSequencer(maxlen=4, token_pattern=r"\S+"),
                         RNNClassifier(cell="gru", units=4, embedding_dim=4, head="attention",
                                       unknown_ids="oov", max_iter=2, random_state=0))
    return pipe.fit(TEXTS, [1, 0, 0, 1, 0, 0])


def test_explain_texts_aligns_words(text_pipeline):
    texts = ["one two three a good film", "<b>good</b> & bad"]
    out = explain_texts(text_pipeline, texts, n_steps=8)
    assert [w for w, _ in out[0]] == ["one", "two", "three", "a", "good", "film"]
    # maxlen=4 keeps the last four words (truncating="pre"); unknown words are the OOV id
    assert [s is None for _, s in out[0]] == [True, True, False, False, False, False]
    X = text_pipeline[0].transform(texts)
    attr = text_pipeline[-1].explain(X, n_steps=8)
    assert [s for _, s in out[0][2:]] == attr[0].tolist()
    assert [s for _, s in out[1]] == attr[1, 1:].tolist()
    weights = explain_texts(text_pipeline, texts, method="attention")
    assert sum(s for _, s in weights[1]) == pytest.approx(1.0)


def test_explain_texts_reads_a_sequencer_that_gives_a_data_frame(text_pipeline):
    pytest.importorskip("pandas")
    texts = ["one two three a good film", "<b>good</b> & bad"]
    out = explain_texts(text_pipeline, texts, n_steps=8)
    with sklearn.config_context(transform_output="pandas"):
        assert explain_texts(text_pipeline, texts, n_steps=8) == out


def test_explain_texts_dropped_unknown_words():
    pipe = make_pipeline(TextSequencer(oov_token=None, truncating="post", maxlen=2),
                         RNNClassifier(units=2, embedding_dim=2, max_iter=1, random_state=0))
    pipe.fit(TEXTS, [1, 0, 0, 1, 0, 0])
    (words,) = explain_texts(pipe, ["zzz good yyy film bad"], n_steps=4)
    assert [s is None for _, s in words] == [True, False, True, False, True]
    with pytest.raises(ValueError, match="head='attention'"):
        explain_texts(pipe, ["good"], method="attention")
    with pytest.raises(TypeError, match="Pipeline"):
        explain_texts(pipe[-1], ["good"])


def test_to_html_shades_and_escapes():
    page = to_html([[("<script>", 0.5), ("fine", -0.25), ("cut", None)], [("x&y", 0.0)]])
    assert "<script>" not in page and "&lt;script&gt;" in page and "x&amp;y" in page
    assert page.count("<div") == 2
    assert "rgba(0,160,60,0.800)" in page and "rgba(220,40,40,0.400)" in page
    assert 'title="not read by the model"' in page and "color:#888888" in page
    assert "rgba(0,160,60,0.400)" in to_html([[("w", 0.5)]], scale=1.0)
    # words are direction-isolated: a right-to-left word or override cannot reorder the others
    rtl = to_html([[("\u202eevil", 0.1), ("שלום", 0.2), ("ok", 0.3)]])
    assert rtl.startswith('<div dir="auto"') and rtl.count("unicode-bidi:isolate") == 3
    page = to_html([[("w", float("nan")), ("v", 0.5)]])
    assert "nan)" not in page and "color:#888888" in page  # grey, not invalid CSS
    assert "rgba(0,160,60,0.800)" in page  # the NaN does not spoil the others' scale
    with pytest.raises(ValueError, match="scale"):
        to_html([], scale=0)
    with pytest.raises(ValueError, match="positive finite"):  # every word shaded 0: looked unread
        to_html([[("w", 0.5)]], scale=float("inf"))


def test_explain_targets_are_checked_as_labels_and_none_means_predicted():
    """[0, None] raised NumPy's TypeError, {"a": 1} another, and [0, "a"] claimed that 0 was
    not a class (NumPy made both strings)."""
    clf, X = _classifier()
    for bad, shown in (([0] * (len(X) - 1) + ["a"], "['a']"), ({"a": 1}, "[{'a': 1}]")):
        with pytest.raises(ValueError, match=rf"not in classes_: {re.escape(shown)}"):
            clf.explain(X, bad)
    mixed = clf.explain(X, [0] + [None] * (len(X) - 1), n_steps=4)
    np.testing.assert_array_equal(mixed[0], clf.explain(X, 0, n_steps=4)[0])
    np.testing.assert_array_equal(mixed[1:], clf.explain(X, None, n_steps=4)[1:])
    np.testing.assert_array_equal(clf.explain(X, np.array(1), n_steps=4),
                                  clf.explain(X, 1, n_steps=4))
    pd = pytest.importorskip("pandas")  # any array-like of one label per row, as documented
    labels = np.resize([0, 1], len(X))
    np.testing.assert_array_equal(clf.explain(X, pd.Series(labels), n_steps=4),
                                  clf.explain(X, labels, n_steps=4))
    with pytest.raises(ValueError, match=r"got shape \(\d+, 1\)"):
        clf.explain(X, labels[:, None])


def test_explain_texts_of_no_texts_and_with_pandas_output(text_pipeline):
    """No texts raised an error about X; a pandas-output pipeline warned that X had no feature
    names at every call."""
    assert explain_texts(text_pipeline, []) == []
    pytest.importorskip("pandas")
    import warnings
    from sklearn.base import clone

    pipe = clone(text_pipeline).set_output(transform="pandas").fit(TEXTS, [1, 0, 0, 1, 0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explain_texts(pipe, ["a good film"], n_steps=4)
        explain_texts(pipe, ["a good film"], method="attention")


def test_variable_length_float_sequences():
    """A list of float sequences, or the same padded with a mask: the same attributions and weights."""
    rng = np.random.default_rng(2)
    seqs = [rng.normal(size=(k, 2)) for k in (3, 5, 2)]
    reg = RNNRegressor(cell="gru", units=3, head="attention", max_iter=1, dtype="float64",
                       random_state=0).fit(seqs, rng.normal(size=3))
    X, mask = np.zeros((3, 5, 2)), np.zeros((3, 5), dtype=bool)
    for i, s in enumerate(seqs):
        X[i, -len(s):], mask[i, -len(s):] = s, True
    attr = reg.explain(X, mask=mask, n_steps=64)
    assert (attr[~mask] == 0).all()
    zero = np.array(reg.predict([np.zeros_like(s) for s in seqs]))
    np.testing.assert_allclose(attr.sum(axis=1), np.array(reg.predict(seqs)) - zero, atol=1e-5)
    ragged = reg.explain(seqs, n_steps=64)  # post-padded to the longest sequence
    for i, s in enumerate(seqs):
        np.testing.assert_allclose(ragged[i, :len(s)], attr[i, mask[i]], rtol=1e-9)
    weights = reg.attention_weights(X, mask=mask)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert (weights[~mask] == 0).all()
