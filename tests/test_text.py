"""pad_sequences against an independent implementation; TextSequencer as a transformer."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastrnn import RNNClassifier, TextSequencer, pad_sequences


def naive_pad(seqs, maxlen, padding, truncating, value):
    """Written from Keras's documentation, one sequence and one position at a time."""
    if maxlen is None:
        maxlen = max((len(s) for s in seqs), default=0)
    rows = []
    for s in seqs:
        s = list(s)
        if len(s) > maxlen:
            s = s[len(s) - maxlen:] if truncating == "pre" else s[:maxlen]
        fill = [value] * (maxlen - len(s))
        rows.append(fill + s if padding == "pre" else s + fill)
    return rows


@settings(max_examples=200, deadline=None)
@given(
    seqs=st.lists(st.lists(st.integers(0, 1000), max_size=12), max_size=8),
    maxlen=st.one_of(st.none(), st.integers(0, 15)),
    padding=st.sampled_from(["pre", "post"]),
    truncating=st.sampled_from(["pre", "post"]),
    value=st.integers(-3, 3),
)
def test_pad_sequences_matches_the_documented_semantics(seqs, maxlen, padding, truncating, value):
    out = pad_sequences(seqs, maxlen=maxlen, padding=padding, truncating=truncating, value=value)
    expected = naive_pad(seqs, maxlen, padding, truncating, value)
    assert out.dtype == np.int32
    assert out.tolist() == expected or (out.size == 0 and all(len(r) == 0 for r in expected))
    assert out.shape[0] == len(seqs)


def test_pad_sequences_inputs_and_errors():
    assert pad_sequences((np.array([1, 2]), (3,), [])).tolist() == [[1, 2], [0, 3], [0, 0]]
    assert pad_sequences([[0.5, 1.5]], dtype="float32").tolist() == [[0.5, 1.5]]
    assert pad_sequences([]).shape == (0, 0)
    with pytest.raises(ValueError, match="padding"):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="truncating"):
        pad_sequences([[1]], truncating="both")
    with pytest.raises(ValueError, match="non-integer"):
        pad_sequences([[1.5, 2.0]])
    with pytest.raises(ValueError, match="not a sequence"):
        pad_sequences([3, 4])
    # dtype=object keeps the items as they are (Keras); an object array of ints is ids
    assert pad_sequences([[1, "a"], [2.5]], dtype=object).tolist() == [[1, "a"], [0, 2.5]]
    assert pad_sequences(np.array([[1, 2], [3, 4]], dtype=object)).tolist() == [[1, 2], [3, 4]]
    assert pad_sequences([[2**40]], dtype="int64").tolist() == [[2**40]]
    with pytest.raises(ValueError, match=r"outside the range of dtype='int32' \(7 to 2147483648\)"):
        pad_sequences([[2**31, 7]])  # it wrapped round to -2147483648
    with pytest.raises(ValueError, match="outside the range of dtype='uint8'"):
        pad_sequences([[300]], dtype="uint8")
    with pytest.raises(ValueError, match="value='x' cannot be stored as dtype='int32'"):
        pad_sequences([[1]], maxlen=2, value="x")
    with pytest.raises(ValueError, match="maxlen must be"):
        pad_sequences([[1]], maxlen=True)


TEXTS = ["The film was good.", "The film was not good!", "A bad, bad film.",
         "Not bad at all; I didn't hate it.", "good GOOD good"]


def test_vocabulary_ids_follow_frequency_then_first_appearance():
    seq = TextSequencer().fit(TEXTS)
    # counts: good 4, film 3, bad 3, the 2, was 2, not 2 ... ties keep first-seen order
    assert seq.index_to_token_[:6] == ["", "<OOV>", "good", "film", "bad", "the"]
    assert seq.vocabulary_["didn't"] > 1  # contractions stay one token
    assert seq.vocab_size_ == seq.n_features_out_ == len(seq.index_to_token_)
    np.testing.assert_array_equal(TextSequencer().fit_transform(TEXTS), seq.transform(TEXTS))
    X = seq.transform(["good film", "an unseen word"])
    assert X.tolist() == [[0, 2, 3], [1, 1, 1]]
    assert seq.inverse_transform(X) == [["good", "film"], ["<OOV>", "<OOV>", "<OOV>"]]


def test_options_change_the_vocabulary():
    assert TextSequencer(max_features=2).fit(TEXTS).index_to_token_ == ["", "<OOV>", "good", "film"]
    assert "a" not in TextSequencer(min_df=2).fit(TEXTS).vocabulary_
    assert "film" not in TextSequencer(max_df=0.5).fit(TEXTS).vocabulary_
    assert "the" not in TextSequencer(stop_words="english").fit(TEXTS).vocabulary_
    assert "The" in TextSequencer(lowercase=False).fit(TEXTS).vocabulary_
    no_oov = TextSequencer(oov_token=None).fit(TEXTS)
    assert no_oov.index_to_token_[1] == "good"
    assert no_oov.transform(["zzz good"]).tolist() == [[1]]
    chars = TextSequencer(char_level=True).fit(["abca"])
    assert chars.index_to_token_ == ["", "<OOV>", "a", "b", "c"]
    custom = TextSequencer(tokenizer=str.split, lowercase=False).fit(["x-y z"])
    assert set(custom.vocabulary_) == {"x-y", "z"}
    fixed = TextSequencer(maxlen=3, padding="post", truncating="post").fit(TEXTS)
    assert fixed.transform(["good film was good"]).tolist() == [[2, 3, 6]]
    assert fixed.transform(["good"]).tolist() == [[2, 0, 0]]


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="single string"):
        TextSequencer().fit("one text")
    with pytest.raises(ValueError, match="not a str"):
        TextSequencer().fit(["ok", 3])
    with pytest.raises(ValueError, match="0 texts"):
        TextSequencer().fit([])
    with pytest.raises(ValueError, match="ids must be in"):
        TextSequencer().fit(TEXTS).inverse_transform([[999]])


def test_pickles_and_works_in_a_grid_searched_pipeline():
    rng = np.random.default_rng(0)
    good = ["good", "great", "fine"]
    bad = ["bad", "awful", "poor"]
    texts, y = [], []
    for i in range(80):
        label = i % 2
        words = list(rng.choice(good if label else bad, size=3)) + ["film"] * 2
        texts.append(" ".join(words))
        y.append(label)
    pipe = make_pipeline(TextSequencer(), RNNClassifier(units=4, embedding_dim=4, max_iter=3,
                                                        learning_rate=0.01, random_state=0))
    search = GridSearchCV(pipe, {"textsequencer__max_features": [3, None],
                                 "rnnclassifier__cell": ["gru", "lstm"]}, cv=2).fit(texts, y)
    assert len(search.cv_results_["params"]) == 4
    best = search.best_estimator_
    again = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(again.predict_proba(texts), best.predict_proba(texts))


def test_transformer_contract():
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    seq = TextSequencer(max_features=3, maxlen=4)
    assert clone(seq).get_params() == seq.get_params()
    assert seq.set_params(min_df=2) is seq and seq.min_df == 2
    with pytest.raises(NotFittedError):
        seq.transform(TEXTS)
    assert seq.fit(TEXTS) is seq
    assert not hasattr(clone(seq), "vocabulary_")
    assert list(seq.get_feature_names_out()) == ["id0", "id1", "id2", "id3"]
    with pytest.raises(ValueError, match="max_features"):
        TextSequencer(max_features=0).fit(TEXTS)


def test_an_empty_text_predicts_as_padding_only():
    texts = ["good film", "bad film", "great", "awful"] * 5
    pipe = make_pipeline(TextSequencer(), RNNClassifier(units=3, embedding_dim=2, max_iter=1,
                                                        random_state=0)).fit(texts, [1, 0] * 10)
    assert TextSequencer().fit(texts).transform([""]).tolist() == [[0]]
    alone = pipe.predict_proba([""])
    assert alone.shape == (1, 2) and np.isfinite(alone).all()
    # as a row of padding among longer texts
    np.testing.assert_allclose(pipe.predict_proba(["", "good film"])[0], alone[0], rtol=1e-6)
    # with a known maxlen nothing changes: an empty text is a row of padding
    assert TextSequencer(maxlen=3).fit(texts).transform([""]).tolist() == [[0, 0, 0]]


def test_output_column_names_exist_only_with_a_fixed_maxlen():
    seq = TextSequencer().fit(TEXTS)
    with pytest.raises(ValueError, match="maxlen=None.*set maxlen to name them"):
        seq.get_feature_names_out()
    pd = pytest.importorskip("pandas")
    named = TextSequencer(maxlen=3).set_output(transform="pandas").fit(TEXTS)
    frame = named.transform(TEXTS[:2])
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["id0", "id1", "id2"]
    with pytest.raises(ValueError, match="a pandas output needs them"):
        TextSequencer().set_output(transform="pandas").fit_transform(TEXTS)


def test_an_invalid_token_pattern_names_the_parameter():
    with pytest.raises(ValueError, match=r"token_pattern '\[a-' is not a valid regular expression"):
        TextSequencer(token_pattern="[a-").fit(TEXTS)


# scikit-learn's generic checks need numeric input; for string input only these apply
@parametrize_with_checks([TextSequencer()])
def test_sklearn_transformer_checks_that_apply_to_text(estimator, check):
    check(estimator)


def test_min_df_above_max_df_is_refused_by_name():
    with pytest.raises(ValueError, match="max_df=2 allows fewer documents"):
        TextSequencer(min_df=5, max_df=2).fit(["a b", "a c", "b c"] * 3)


def test_combining_marks_stay_inside_words():
    """Python's \\w leaves out combining marks: Hindi vowel signs, Arabic vowel points and the
    accents of decomposed text cut words apart (four Hindi words became one token)."""
    import unicodedata

    analyze = TextSequencer().build_analyzer()
    assert analyze("की के को का") == ["की", "के", "को", "का"]
    assert analyze("مُعَلِّم جيد") == ["مُعَلِّم", "جيد"]
    assert analyze(unicodedata.normalize("NFD", "Résumé, don't")) == [
        unicodedata.normalize("NFD", "résumé"), "don't"]
    assert TextSequencer(token_pattern=r"(?u)\w+").build_analyzer()("की") == ["क"]  # as written


def test_texts_without_tokens_or_spaces_are_announced():
    with pytest.raises(ValueError, match="empty vocabulary: .* char_level=True"):
        TextSequencer().fit(["\U0001F60D", "  "])
    with pytest.raises(ValueError, match="empty vocabulary: the texts hold no token that min_df"):
        TextSequencer(min_df=2).fit(["one", "two"])
    with pytest.warns(UserWarning, match="Chinese, Japanese, Thai.* char_level=True"):
        TextSequencer().fit(["我喜欢这部电影。它很好看！", "我不喜欢这部电影"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TextSequencer(char_level=True).fit(["我喜欢这部电影。它很好看！", "我不喜欢这部电影"])
        TextSequencer().fit(["a long enough English text", "電 a b c"])


def test_stop_words_that_no_token_equals_and_missing_texts_are_named():
    with pytest.warns(UserWarning, match=r"stop_words \['Die', \"l'\"\] never equal a token"):
        TextSequencer(stop_words=["Die", "l'", "der"]).fit(["Die Katze l'homme der"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TextSequencer(stop_words=["die", "der"]).fit(["Die Katze der"])
    for text, message in ((None, r"text 1 is missing \(None\)"), (float("nan"), "missing"),
                          (b"x", r"bytes, not a str: decode it first")):
        with pytest.raises(ValueError, match=message):
            TextSequencer().fit(["a", text])


def test_tokenizers_may_return_any_iterable_and_patterns_one_group_at_most():
    texts = ["the film was good", "the plot was bad"]
    seq = TextSequencer(tokenizer=lambda s: map(str.strip, s.split())).fit(texts)
    assert set(seq.vocabulary_) == {"the", "film", "was", "good", "plot", "bad"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "the" is a token: no "stop words never match" warning
        TextSequencer(tokenizer=lambda s: iter(s.split()), stop_words=["the"]).fit(texts)
    with pytest.raises(ValueError, match="token_pattern .* has 2 capturing groups"):
        TextSequencer(token_pattern=r"(\w)(\w+)").fit(texts)
    one = TextSequencer(token_pattern=r"(\w+)a").fit(["banana tea"])  # the group is the token
    assert set(one.vocabulary_) == {"banan", "te"}


def test_a_vocabulary_the_tokens_can_never_match_warns():
    texts = ["the film was good", "the plot was bad"]
    with pytest.warns(UserWarning, match=r"4 of the first 4 vocabulary entries .*'/c/en/the'"):
        TextSequencer(vocabulary=["/c/en/the", "/c/en/film", "/c/en/good", "/c/en/bad"]).fit(texts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TextSequencer(vocabulary=["the", "film", ",", "good"]).fit(texts)  # a few may be unreachable


def test_inverse_transform_reads_whole_float_ids_and_refuses_fractions():
    seq = TextSequencer().fit(["good film"])
    assert seq.inverse_transform(np.array([[0.0, 2.0, 3.0]])) == seq.inverse_transform([[0, 2, 3]])
    with pytest.raises(ValueError, match="X must hold integer ids"):
        seq.inverse_transform([[0.0, 2.5]])
    rows = np.empty(2, dtype=object)
    rows[:] = [np.array([2, 3]), np.array([3])]  # rows of different lengths, as objects
    assert seq.inverse_transform(rows) == [["good", "film"], ["film"]]
