"""Bad input, per estimator: the exception type and a message that names the argument.

The first table runs every case against every estimator that reads sequences
(classifier, regressor, tagger); the later tables hold the cases of one
estimator, the language model and the text tools.  The tests after them check
that input which used to be mis-read silently (object and nullable-integer ids,
stray ids, unknown ids at predict time) is read correctly or refused.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse
from sklearn.model_selection import GridSearchCV

from fastrnn import RNNClassifier, RNNLanguageModel, RNNRegressor, RNNSequenceTagger, TextSequencer
from fastrnn.estimators import _base
from fastrnn.layers.encoders import TokenEncoder

FAST = dict(units=3, embedding_dim=2, max_iter=1, batch_size=8, random_state=0)
ESTIMATORS = {"classifier": RNNClassifier, "regressor": RNNRegressor, "tagger": RNNSequenceTagger}


def _data(kind, n=12, T=5):
    """Token ids ``X`` (ids 1..8) and a matching target for ``kind``."""
    X = np.random.default_rng(0).integers(1, 9, size=(n, T))
    if kind == "tagger":
        return X, X % 2
    return X, (X[:, -1] % 2 if kind == "classifier" else X[:, -1] / 8.0)


def _with_a_whole_float(X):
    X = X.astype(object)
    X[0, 0] = float(X[0, 0])
    return X


def _pandas():
    return pytest.importorskip("pandas")


# (case id, fit arguments from (X, y), estimator parameters, exception, message naming the argument)
FIT_CASES = [
    ("empty X", lambda X, y: (X[:0], y[:0]), {}, ValueError, "X is empty"),
    ("1-D X", lambda X, y: (X[:, 0], y), {}, ValueError, "X must be 2-D"),
    ("4-D X", lambda X, y: (X[:, :, None, None] * 1.0, y), {}, ValueError, "X must be 2-D"),
    ("no timesteps", lambda X, y: (X[:, :0], y), {}, ValueError, "X has 0 timesteps"),
    ("strings", lambda X, y: (X.astype(str), y), {}, ValueError, "X holds strings"),
    ("negative ids", lambda X, y: (-X, y), {}, ValueError, "Negative values in data passed to X"),
    ("NaN floats", lambda X, y: (np.where(X > 4, np.nan, 1.0), y), {}, ValueError,
     "X contains NaN"),
    ("sparse X", lambda X, y: (scipy.sparse.csr_matrix(X), y), {}, TypeError, "X is a sparse matrix"),
    ("object ids mixed with whole floats",
     lambda X, y: (_with_a_whole_float(X), y), {}, ValueError,
     "X is an object array mixing integers and floats"),
    ("object X holding a dict", lambda X, y: (np.array([[1, {}]] * len(X), dtype=object), y), {},
     TypeError, "X holds a dict"),
    ("object X holding None", lambda X, y: (np.where(X > 4, X, None), y), {}, ValueError,
     "X contains NaN or missing values"),
    ("y is None", lambda X, y: (X, None), {}, ValueError, "requires y"),
    ("y of another length", lambda X, y: (X, y[:-1]), {}, ValueError,
     r"X and y have different numbers of samples|y must have one label per step of X"),
    ("negative sample_weight", lambda X, y: (X, y, np.r_[-1.0, np.ones(len(y) - 1)]), {},
     ValueError, "Negative values in data passed to sample_weight: weights must be >= 0"),
    ("sample_weight of another length", lambda X, y: (X, y, np.ones(len(y) + 1)), {}, ValueError,
     "sample_weight"),
    ("NaN sample_weight", lambda X, y: (X, y, np.r_[np.nan, np.ones(len(y) - 1)]), {}, ValueError,
     "sample_weight"),
    ("sample_weight all 0", lambda X, y: (X, y, np.zeros(len(y))), {}, ValueError,
     "sample_weight sums to 0"),
    ("ids above vocab_size", lambda X, y: (X, y), {"vocab_size": 4}, ValueError,
     "token id 8 but vocab_size=4 .*unknown_ids"),
    ("unknown_ids id above vocab_size", lambda X, y: (X, y), {"vocab_size": 4, "unknown_ids": 7},
     ValueError, "unknown_ids=7 maps unknown ids to 7"),
    ("units=True", lambda X, y: (X, y), {"units": True}, ValueError, "units"),
    ("units=(2, 0)", lambda X, y: (X, y), {"units": (2, 0)}, ValueError, "units"),
    ("max_iter=True", lambda X, y: (X, y), {"max_iter": True}, ValueError, "'max_iter' parameter"),
    ("learning_rate=-1", lambda X, y: (X, y), {"learning_rate": -1.0}, ValueError,
     "'learning_rate' parameter"),
    ("unknown_ids='skip'", lambda X, y: (X, y), {"unknown_ids": "skip"}, ValueError,
     "'unknown_ids' parameter"),
    ("callbacks=[print]", lambda X, y: (X, y), {"callbacks": [print]}, TypeError, "callbacks"),
    ("checkpoint_path in a missing directory", lambda X, y: (X, y),
     {"checkpoint_path": "/no/such/directory/model.fastrnn"}, ValueError, "checkpoint_path"),
]


@pytest.mark.parametrize("kind", ESTIMATORS)
@pytest.mark.parametrize("case, make_args, params, exc, message", FIT_CASES,
                         ids=[c[0] for c in FIT_CASES])
def test_fit_refuses_bad_input_naming_the_argument(kind, case, make_args, params, exc, message):
    est = ESTIMATORS[kind](**{**FAST, **params})
    with pytest.raises(exc, match=message):
        est.fit(*make_args(*_data(kind)))


# cases on a fitted estimator: (case id, input from X, exception, message)
PREDICT_CASES = [
    ("an id above the vocabulary", lambda X: X + 100, ValueError,
     "token id 108 but the model's vocabulary has 9 ids .*unknown_ids='oov'"),
    ("floats after token ids", lambda X: X * 0.5, ValueError, "fitted on token ids"),
    ("1-D X", lambda X: X[0], ValueError, "X must be 2-D"),
    ("empty X", lambda X: X[:0], ValueError, "X is empty"),
    ("missing values", lambda X: np.where(X > 4, X, None), ValueError, "missing values"),
]


@pytest.fixture(scope="module")
def fitted():
    return {kind: cls(**FAST).fit(*_data(kind)) for kind, cls in ESTIMATORS.items()}


@pytest.mark.parametrize("kind", ESTIMATORS)
@pytest.mark.parametrize("case, make_X, exc, message", PREDICT_CASES,
                         ids=[c[0] for c in PREDICT_CASES])
def test_predict_refuses_bad_input_naming_the_argument(fitted, kind, case, make_X, exc, message):
    X, _ = _data(kind)
    with pytest.raises(exc, match=message):
        fitted[kind].predict(make_X(X))


@pytest.mark.parametrize("weights, message", [
    ({0: -1.0, 1: 1.0}, r"class_weight\[0\] is -1.0"),
    ({0: np.nan, 1: 1.0}, r"class_weight\[0\] is nan"),
    ({0: 0.0, 1: 0.0}, "sample_weight times class_weight sums to 0"),
    ({9: 1.0}, "not in classes_"),
])
def test_classifier_refuses_bad_class_weights(weights, message):
    with pytest.raises(ValueError, match=message):
        RNNClassifier(**FAST, class_weight=weights).fit(*_data("classifier"))


@pytest.mark.parametrize("make_y, message", [
    (lambda X: X[:, -1] % 2, "one label per step of X.*1-D"),
    (lambda X: (X % 2)[:, :-1], "one label per step of X: X is"),
    (lambda X: 7, "one label per step of X"),
])
def test_tagger_refuses_targets_that_are_not_one_label_per_step(make_y, message):
    X, _ = _data("tagger")
    with pytest.raises(ValueError, match=message):
        RNNSequenceTagger(**FAST).fit(X, make_y(X))


@pytest.fixture(scope="module")
def lm():
    return RNNLanguageModel(units=4, embedding_dim=3, max_iter=1, random_state=0).fit(["abcab"] * 4)


@pytest.mark.parametrize("call, exc, message", [
    (lambda lm: lm.perplexity([]), ValueError, "X is empty"),
    (lambda lm: lm.score([]), ValueError, "X is empty"),
    (lambda lm: lm.score("abc"), TypeError, "X must be an iterable of texts"),
    (lambda lm: lm.generate(temperature=float("nan")), ValueError, "temperature"),
    (lambda lm: lm.generate(temperature=-1), ValueError, "temperature"),
    (lambda lm: lm.generate(n_tokens=-1), ValueError, "n_tokens"),
    (lambda lm: lm.generate(n_tokens=2.5), ValueError, "n_tokens"),
    (lambda lm: lm.generate(prompt=3), TypeError, "prompt"),
])
def test_language_model_refuses_bad_arguments(lm, call, exc, message):
    with pytest.raises(exc, match=message):
        call(lm)


@pytest.mark.parametrize("params, X, exc, message", [
    ({"units": True}, ["abc"] * 3, ValueError, "units"),
    ({"window": 0}, ["abc"] * 3, ValueError, "'window' parameter"),
    ({}, "abc", TypeError, "X must be an iterable of texts"),
    ({}, ["a"], ValueError, "too short"),
])
def test_language_model_fit_refuses_bad_input(params, X, exc, message):
    with pytest.raises(exc, match=message):
        RNNLanguageModel(**{**FAST, **params}).fit(X)


@pytest.mark.parametrize("params, X, exc, message", [
    ({"token_pattern": "(unclosed"}, ["a b"], ValueError, "token_pattern '\\(unclosed' is not a valid"),
    ({}, "one text", ValueError, "single string"),
    ({}, ["fine", 3], ValueError, "text 1 is a int"),
    ({}, [], ValueError, "0 texts"),
    ({"maxlen": 0}, ["a"], ValueError, "'maxlen' parameter"),
])
def test_text_sequencer_refuses_bad_input(params, X, exc, message):
    with pytest.raises(exc, match=message):
        TextSequencer(**params).fit(X)


# ----------------------------------------------------------- silently mis-read input
@pytest.mark.parametrize("kind", ESTIMATORS)
def test_object_and_nullable_integer_ids_are_read_as_ids(kind):
    pd = _pandas()
    X, y = _data(kind)
    ref = ESTIMATORS[kind](**FAST).fit(X, y)
    for given in (X.astype(object), pd.DataFrame(X).astype("Int64")):
        est = ESTIMATORS[kind](**FAST).fit(given, y)
        assert est.input_kind_ == "tokens" and est.vocab_size_ == ref.vocab_size_
        np.testing.assert_array_equal(est.predict(given), ref.predict(X))
    with pytest.raises(ValueError, match="missing values"):
        ESTIMATORS[kind](**FAST).fit(pd.DataFrame(X).astype("Int64").where(X > 2), y)


def test_object_floats_are_still_float_sequences():
    X, y = _data("regressor")
    floats = X / 3.0
    a = RNNRegressor(**FAST).fit(floats.astype(object), y)
    b = RNNRegressor(**FAST).fit(floats, y)
    assert a.input_kind_ == "dense"
    np.testing.assert_array_equal(a.predict(floats), b.predict(floats))


def test_a_ragged_id_list_may_start_with_an_empty_row():
    """An empty first row made the list read as float sequences: 'X[0] is empty'."""
    X, y = [[], [3, 4], [5], [6, 7, 8]] * 5, [0, 1, 0, 1] * 5
    model = RNNClassifier(**FAST).fit(X, y)
    assert model.input_kind_ == "tokens"
    np.testing.assert_array_equal(model.predict_proba(X[:4]),
                                  model.predict_proba(np.array([[0, 0, 0], [0, 3, 4], [0, 0, 5],
                                                                [6, 7, 8]])))
    with pytest.raises(ValueError, match=r"X\[0\] is empty"):  # floats need a step
        RNNClassifier(**FAST).fit([np.zeros((0, 2)), np.ones((3, 2))], [0, 1])


def test_a_pandas_series_of_sequences_reads_as_the_list_of_them():
    """A column of id lists or float arrays (a DataFrame column) was refused as 'holds a list'."""
    pd = _pandas()
    rng = np.random.default_rng(0)
    ids = [[int(v) for v in rng.integers(1, 9, rng.integers(2, 7))] for _ in range(40)]
    floats = [rng.normal(size=(len(r), 2)) for r in ids]
    y = np.arange(40) % 2
    for cls, X, target in ((RNNClassifier, ids, y), (RNNRegressor, floats, y * 1.0)):
        a = cls(**FAST).fit(pd.Series(X), target)
        np.testing.assert_array_equal(a.predict(pd.Series(X)), cls(**FAST).fit(X, target).predict(X))


def test_dataframe_input_sets_feature_names_in_():
    pd = _pandas()
    X, y = _data("classifier")
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])])
    clf = RNNClassifier(**FAST).fit(frame, y)
    assert list(clf.feature_names_in_) == list(frame.columns)
    assert not hasattr(RNNClassifier(**FAST).fit(X, y), "feature_names_in_")
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


def test_unknown_ids_oov_maps_and_counts_them(fitted):
    X, y = _data("classifier")
    clf = RNNClassifier(**FAST, unknown_ids="oov").fit(X, y)
    unseen = X.copy()
    unseen[:2, :2] = [[50, 60], [70, 9]]
    mapped = unseen.copy()
    mapped[unseen >= clf.vocab_size_] = 1
    with pytest.warns(UserWarning, match=r"4 token id\(s\) >= 9 \(largest 70\).* id 1") as record:
        proba = clf.predict_proba(unseen)
    assert record[0].filename == __file__  # attributed to the caller, not to fastrnn
    np.testing.assert_array_equal(proba, clf.predict_proba(mapped))
    keras_style = RNNClassifier(**FAST, unknown_ids=2).fit(X, y)
    mapped[unseen >= clf.vocab_size_] = 2
    with pytest.warns(UserWarning, match="out-of-vocabulary id 2"):
        np.testing.assert_array_equal(keras_style.predict(unseen), keras_style.predict(mapped))
    # the tagger too, and a fit with an explicit vocab_size maps what lies above it
    tagger = RNNSequenceTagger(**FAST, unknown_ids="oov", vocab_size=6)
    with pytest.warns(UserWarning, match="vocab_size=6"):
        tagger.fit(*_data("tagger"))
    assert tagger.vocab_size_ == 6


def test_a_grid_search_fold_with_unseen_ids_runs_with_unknown_ids_oov():
    X, y = _data("classifier", n=40)
    X[-4:, 0] = 8 + np.arange(1, 5)  # ids only in the last fold
    search = GridSearchCV(RNNClassifier(**FAST, unknown_ids="oov"), {"cell": ["gru"]}, cv=2,
                          error_score="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    with pytest.raises(ValueError, match="unknown_ids"):
        GridSearchCV(RNNClassifier(**FAST), {"cell": ["gru"]}, cv=2, error_score="raise").fit(X, y)


# ----------------------------------------------------------------- input table size
def test_embedding_is_drawn_in_blocks_of_the_models_dtype_with_the_same_values():
    enc = TokenEncoder(1000, 7)
    enc.INIT_BLOCK = 50  # many blocks, one ending mid-row
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    table = enc.init_params(rng, np.float32)
    assert table.dtype == np.float32
    np.testing.assert_array_equal(table, twin.uniform(-0.05, 0.05, (1000, 7)).astype(np.float32))
    assert rng.random() == twin.random()  # the generator is left where one draw leaves it


def test_embedding_initialisation_never_holds_a_float64_table():
    enc = TokenEncoder(400_000, 16)
    table_bytes = 400_000 * 16 * 4
    tracemalloc.start()
    try:
        enc.init_params(np.random.default_rng(0), np.float32)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * table_bytes  # a float64 table first would peak at 3x


def test_a_stray_id_far_above_the_others_is_named_in_a_warning():
    X, y = _data("classifier")
    X[0, 0] = 999_999
    with pytest.warns(UserWarning, match=r"token id 999999, far above every other id \(the next "
                                         r"largest is 8\).*vocab_size_ to 1,000,000"):
        RNNClassifier(**FAST).fit(X, y)
    X[0, 0] = 5_000  # below the threshold: a large but plausible vocabulary
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RNNClassifier(**FAST).fit(X, y)


def test_an_input_table_too_large_is_refused_or_announced_before_it_is_allocated(monkeypatch):
    X, y = _data("classifier")
    with pytest.raises(MemoryError, match=r"vocab_size=1000000000000 makes the input table "
                                          r"1,000,000,000,000 x 2 float32"):
        RNNClassifier(**FAST, vocab_size=10**12).fit(X, y)
    monkeypatch.setattr(_base, "_available_memory", lambda: 10**6)  # never allocate a large table
    with pytest.raises(MemoryError, match=r"token id 99999 \(vocab_size=None infers max id"), \
            pytest.warns(UserWarning, match="far above every other id"):
        RNNClassifier(**FAST).fit(np.r_[X, np.full((1, 5), 99_999)], np.r_[y, 0])
    monkeypatch.setattr(_base, "_LARGE_TABLE_BYTES", 1000)
    with pytest.warns(UserWarning, match=r"vocab_size=200 makes the input table 200 x 2 float32"):
        RNNClassifier(**FAST, vocab_size=200).fit(X, y)
    with pytest.warns(UserWarning, match=r"input table 200 x 12 float32"):  # one-hot: 4 gates x 3
        RNNClassifier(**FAST, vocab_size=200, input_encoding="onehot").fit(X, y)


@pytest.mark.parametrize("cls", [RNNClassifier, RNNRegressor])
def test_the_flatten_head_refuses_padded_float_sequences(cls):
    # flattening reads padded steps as steps: the prediction would change with the padding
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 5, 2))
    y = np.arange(6) % 2
    mask = np.ones((6, 5), dtype=bool)
    mask[:3, 3:] = False
    with pytest.raises(ValueError, match="head='flatten'"):
        cls(head="flatten", **FAST).fit(X, y, mask=mask)
    with pytest.raises(ValueError, match="head='flatten'"):
        cls(head="flatten", **FAST).fit([x[:n] for x, n in zip(X, (3, 5, 4, 5, 5, 5))], y)
    model = cls(head="flatten", **FAST).fit(X, y, mask=np.ones((6, 5), dtype=bool))  # no padding
    assert len(model.predict(X)) == 6
    with pytest.raises(ValueError, match="head='flatten'"):
        model.predict(X, mask=mask)


def test_sample_weights_too_large_to_sum_are_refused_by_name():
    """1e307 per sample overflowed the batch's sum: the fit 'diverged' at its first step and
    advised a lower learning rate."""
    X, y = np.random.default_rng(0).integers(1, 9, (40, 5)), np.arange(40) % 2
    with pytest.raises(ValueError, match="sample_weight is too large to compute with"):
        RNNClassifier(**FAST).fit(X, y, sample_weight=np.full(40, 1e307))
    assert np.isfinite(RNNClassifier(**FAST).fit(X, y, sample_weight=np.full(40, 1e200))
                       .predict_proba(X)).all()
