"""RNNSeq2Seq: fitting, decoding (greedy, beam), scoring, attention, persistence and bad input."""

import copy
import itertools
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

import fastrnn
from fastrnn import RNNSeq2Seq
from fastrnn.callbacks import Callback
from fastrnn.datasets import load_pairs, make_addition, make_date_normalization, make_reversal

SMALL = dict(cell="gru", units=16, embedding_dim=8, n_threads=1, random_state=0)


def _reversal_text(n=600, seed=0):
    return make_reversal(n, length=(3, 5), vocab_size=5, random_state=seed, return_text=True)


@pytest.fixture(scope="module")
def fitted():
    X, Y = _reversal_text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = RNNSeq2Seq(**{**SMALL, "units": 32}, max_iter=12, learning_rate=0.01,
                           early_stopping=False).fit(X, Y)
    return model, X, Y


def test_learns_to_reverse_short_strings(fitted):
    model, _, _ = fitted
    Xt, Yt = _reversal_text(200, seed=1)
    assert model.score(Xt, Yt) >= 0.9
    out = model.predict(Xt[:5])
    assert all(isinstance(s, str) for s in out)
    assert model.history_["loss"][-1] < model.history_["loss"][0]


@pytest.mark.parametrize("n_threads", [1, 2])
def test_training_is_deterministic_for_a_seed_and_thread_count(n_threads):
    X, Y = _reversal_text(100)
    kw = dict(SMALL, n_threads=n_threads, max_iter=2, dropout=0.1, recurrent_dropout=0.1)
    a = RNNSeq2Seq(**kw).fit(X, Y)
    b = RNNSeq2Seq(**kw).fit(X, Y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert a.history_ == b.history_


def test_id_input_ragged_or_padded_gives_ragged_ids():
    X, Y = make_reversal(200, length=(2, 4), vocab_size=4, random_state=0)
    padded = np.zeros((len(X), 4), dtype=np.int64)
    for i, r in enumerate(X):
        padded[i, 4 - len(r):] = r  # pre-padded: 0 is padding wherever it sits
    kw = dict(**SMALL, max_iter=2, early_stopping=False)
    a = RNNSeq2Seq(**kw).fit(X, Y)
    b = RNNSeq2Seq(**kw).fit(padded, Y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    out = a.predict(X[:3])
    assert all(isinstance(r, list) and all(1 <= t <= 4 for t in r) for r in out)
    assert a.n_source_ids_ == 5 and a.n_target_ids_ == 5
    with pytest.raises(ValueError, match=r"X\[0\] holds id 9"):
        a.predict([[9, 1]])


def test_word_level_uses_separate_vocabularies():
    X = ["the cat sat .", "a dog ran !", "the dog sat ."] * 10
    Y = ["le chat assis .", "un chien courait !", "le chien assis ."] * 10
    model = RNNSeq2Seq(**SMALL, level="word", max_iter=3, early_stopping=False).fit(X, Y)
    assert "cat" in model.source_sequencer_.vocabulary_
    assert "chat" in model.target_sequencer_.vocabulary_
    assert "chat" not in model.source_sequencer_.vocabulary_
    out = model.predict(["the cat ran ."])[0]
    assert isinstance(out, str) and "  " not in out
    # an unseen word is the unknown token, not an error
    assert len(model.predict(["the zebra sat ."])) == 1


def test_greedy_and_beam_search_decode_each_row_as_alone(fitted):
    model, X, _ = fitted
    for beam in (1, 3):
        together = model.predict(X[:6], beam_width=beam)
        alone = [model.predict([x], beam_width=beam)[0] for x in X[:6]]
        assert together == alone


@pytest.mark.parametrize("n_threads,logits_cap", [(2, None), (3, None), (1, 3), (2, 3)])
def test_decoding_batches_shared_by_threads_cover_every_source_in_order(fitted, n_threads,
                                                                         logits_cap, monkeypatch):
    # sources sorted by length, cut into batches that the threads take from one queue (batches
    # of 3 or 1 sources when a step's logits are capped at 3 rows' worth): every source decoded
    # once and returned in the input order, as decoded alone
    model, X, _ = fitted
    X = [X[i] + X[i + 1][:i % 3] for i in range(7)]  # lengths 3 to 7, out of order
    alone = [model.predict([x])[0] for x in X]
    if logits_cap is not None:
        n_outputs = model.n_target_ids_ + 2
        monkeypatch.setattr(fastrnn.estimators.seq2seq, "DECODE_LOGITS", logits_cap * n_outputs)
    threaded = copy.deepcopy(model).set_params(n_threads=n_threads)
    for beam in (1, 2):
        assert threaded.predict(X, beam_width=beam) == [model.predict([x], beam_width=beam)[0]
                                                        for x in X]
    assert threaded.predict(X) == alone

def test_beam_search_with_every_hypothesis_is_exhaustive_search():
    """Beam wide enough to keep every output up to the length limit finds the best normalised one."""
    X = ["ab", "ba", "aab"] * 6
    Y = ["xy", "y", "yxz"] * 6
    model = RNNSeq2Seq(**SMALL, max_iter=1, early_stopping=False, length_penalty=0.7).fit(X, Y)
    tokens = ["x", "y", "z"]
    outputs = [""] + ["".join(p) for n in (1, 2) for p in itertools.product(tokens, repeat=n)]
    for x in ["ab", "bba"]:
        ll = model.log_likelihood([x] * len(outputs), outputs)
        assert np.all(ll < 0) and np.exp(ll).sum() <= 1 + 1e-9
        norm = ll / (np.array([len(o) for o in outputs]) + 1.0) ** 0.7
        best = outputs[int(np.argmax(norm))]
        assert model.predict([x], beam_width=len(outputs), max_output_length=2)[0] == best


def test_a_beam_wider_than_half_the_vocabulary_is_still_exhaustive():
    """A row kept its best V candidates instead of 2 * beam_width: with outputs of up to 4 of 3
    tokens (7 output ids), a beam of 1000 missed the best one."""
    X = ["ab", "ba", "abc", "cab", "bca"] * 10
    model = RNNSeq2Seq(**{**SMALL, "cell": "lstm", "units": 8, "embedding_dim": 4}, max_iter=1,
                       early_stopping=False, max_output_length=4).fit(X, [x[::-1] for x in X])
    rng = np.random.default_rng(3)  # peaked, varied distributions: the optimum is not greedy's
    model.set_weights([rng.normal(0, 1, w.shape) for w in model.get_weights()])
    outputs = [""] + ["".join(p) for n in range(1, 5) for p in itertools.product("abc", repeat=n)]
    for x in ["cba", "ab", "bcab", "acb"]:
        norm = model.log_likelihood([x] * len(outputs), outputs) / (
            np.array([len(o) for o in outputs]) + 1.0)
        assert model.predict([x], beam_width=1000)[0] == outputs[int(np.argmax(norm))]


def test_max_output_length_set_after_fit_limits_predictions(fitted):
    """predict, score and attention_weights read the fitted limit: set_params was ignored."""
    model, X, Y = fitted
    model = copy.deepcopy(model)
    assert max(len(p) for p in model.predict(X[:20])) > 2
    model.set_params(max_output_length=2)
    for beam in (1, 3):
        assert max(len(p) for p in model.predict(X[:20], beam_width=beam)) <= 2
    assert all(w.shape[0] <= 2 for w in model.attention_weights(X[:5]))
    assert model.predict(X[:5], max_output_length=1) == [p[:1] for p in model.predict(X[:5])]


def test_a_source_whose_scores_overflow_decodes_to_nothing_with_a_warning():
    """Such a row decoded to '' without a word, as a genuine empty output would."""
    X = ["abcabc", "cbacba", "aabbcc", "ab"] * 5
    model = RNNSeq2Seq(**{**SMALL, "cell": "simple", "units": 8}, activation="relu", max_iter=1,
                       early_stopping=False).fit(X, X)
    model.set_weights([w * 30 for w in model.get_weights()])
    source = "abcabcabcabc" * 3
    assert np.isnan(model.log_likelihood([source], ["abc"])[0])
    for beam in (1, 2):
        with pytest.warns(RuntimeWarning, match="1 source.* non-finite scores"):
            assert model.predict([source], beam_width=beam) == [""]
    with warnings.catch_warnings(record=True) as caught:  # one warning for all the batches
        warnings.simplefilter("always")
        model.predict([source] * 1100)
    ours = [str(w.message) for w in caught if "non-finite scores" in str(w.message)]
    assert len(ours) == 1 and ours[0].startswith("1100 source(s)")  # (NumPy's overflow aside)


def test_attention_weights_have_one_row_per_output_token(fitted):
    model, X, Y = fitted
    weights = model.attention_weights(X[:4])
    predicted = model.predict(X[:4])
    for w, x, p in zip(weights, X[:4], predicted):
        assert w.shape == (len(p), len(x))
        np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-5)
    given = model.attention_weights(X[:2], Y[:2])
    assert [w.shape for w in given] == [(len(y), len(x)) for x, y in zip(X[:2], Y[:2])]
    # pairs are scored in batches; the batch size changes nothing
    ll = model.log_likelihood(X[:5], Y[:5])
    model._eval_rows = 2
    try:
        # (float32 sums: a row's rounding depends on its batch, ~1e-6 relative on some CPUs)
        np.testing.assert_allclose(model.log_likelihood(iter(X[:5]), iter(Y[:5])), ll, rtol=1e-5)
        for a, b in zip(model.attention_weights(X[:4]), weights):
            np.testing.assert_allclose(a, b, rtol=1e-5)
    finally:
        del model._eval_rows
    plain = RNNSeq2Seq(**SMALL, attention=None, max_iter=1, early_stopping=False).fit(X[:20], Y[:20])
    with pytest.raises(ValueError, match="attention=None"):
        plain.attention_weights(X[:2])


@pytest.mark.parametrize("cell,bidirectional,attention,units",
                         [("lstm", True, "general", (8, 6)), ("simple", False, None, 8)])
def test_configurations_fit_and_decode(cell, bidirectional, attention, units):
    X, Y = _reversal_text(60)
    model = RNNSeq2Seq(cell=cell, bidirectional=bidirectional, attention=attention, units=units,
                       embedding_dim=4, max_iter=1, early_stopping=False, n_threads=1,
                       random_state=0).fit(X, Y)
    assert len(model.predict(X[:3], beam_width=2)) == 3
    assert "Total params" in model.summary()
    assert model.count_params() == sum(w.size for w in model.get_weights())


def test_weights_save_load_and_clone(fitted, tmp_path):
    model, X, Y = fitted
    path = model.save(tmp_path / "m.fastrnn")
    loaded = fastrnn.load(path)
    assert isinstance(loaded, RNNSeq2Seq)
    assert loaded.predict(X[:10]) == model.predict(X[:10])
    np.testing.assert_allclose(loaded.log_likelihood(X[:5], Y[:5]), model.log_likelihood(X[:5], Y[:5]))
    other = clone(model).set_params(max_iter=1).fit(X[:50], Y[:50])
    other.set_weights(model.get_weights())
    assert other.predict(X[:10]) == model.predict(X[:10])
    with pytest.raises(ValueError, match="weight arrays"):
        other.set_weights(model.get_weights()[:-1])


def test_grid_search_scores_by_exact_match():
    X, Y = _reversal_text(80)
    search = GridSearchCV(RNNSeq2Seq(**SMALL, max_iter=1, early_stopping=False),
                          {"attention": ["dot", None]}, cv=2).fit(X, Y)
    assert set(search.cv_results_["params"][0]) == {"attention"}
    assert 0.0 <= search.best_score_ <= 1.0


def test_warm_start_progress_and_checkpoint(tmp_path, capsys):
    X, Y = _reversal_text(80)
    path = tmp_path / "best.fastrnn"
    model = RNNSeq2Seq(**SMALL, max_iter=2, verbose=1, warm_start=True, checkpoint_path=path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, Y).fit(X, Y)
    assert model.n_iter_ == 4 and len(model.history_["loss"]) == 4
    assert "val_loss" in model.history_ and path.exists()
    assert "val_token_accuracy" in capsys.readouterr().err
    given = RNNSeq2Seq(**SMALL, max_iter=1).fit(X, Y, validation_data=(X[:10], Y[:10]))
    assert len(given.validation_scores_) == 1
    stepped = RNNSeq2Seq(**SMALL, early_stopping=False).partial_fit(X, Y).partial_fit(X, Y)
    assert stepped.n_iter_ == 2


class _Interrupt(Callback):
    def on_epoch_end(self, model, epoch, logs, **kwargs):
        if epoch == 1:
            raise KeyboardInterrupt


def test_an_interrupted_fit_keeps_the_best_weights():
    X, Y = _reversal_text(80)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        model = RNNSeq2Seq(**SMALL, max_iter=5, callbacks=[_Interrupt()]).fit(X, Y)
    assert model.stopped_reason_ == "interrupted"
    assert len(model.predict(X[:2])) == 2


def test_a_diverging_fit_stops_and_keeps_a_usable_model():
    X, Y = _reversal_text(100)
    with pytest.warns(RuntimeWarning, match="diverged"):
        model = RNNSeq2Seq(**SMALL, optimizer="sgd", learning_rate=100.0, clipnorm=None,
                           max_iter=5, early_stopping=False).fit(X, Y)
    assert model.stopped_reason_ == "diverged"
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert len(model.predict(X[:2])) == 2


def test_bad_input_is_refused_naming_the_argument():
    X, Y = _reversal_text(40)
    model = RNNSeq2Seq(**SMALL, max_iter=1, early_stopping=False)
    with pytest.raises(NotFittedError):
        model.predict(X[:2])
    with pytest.raises(ValueError, match="X and Y have different lengths"):
        model.fit(X, Y[:-1])
    with pytest.raises(ValueError, match=r"X\[1\] is empty"):
        model.fit(["ab", "", "c"], ["ba", "x", "c"])
    with pytest.raises(TypeError, match="both be texts"):
        model.fit(X, [[1, 2]] * len(X))
    with pytest.raises(TypeError, match="single str"):
        model.fit("abc", Y)
    with pytest.raises(ValueError, match="beam_width"):
        RNNSeq2Seq(beam_width=0).fit(X, Y)
    with pytest.raises(ValueError, match="alpha"):
        RNNSeq2Seq(alpha=0.1).fit(X, Y)
    with pytest.raises(ValueError, match="bptt_truncate"):
        RNNSeq2Seq(bptt_truncate=3).fit(X, Y)
    with pytest.raises(ValueError, match="units"):
        RNNSeq2Seq(bidirectional=True, units=5).fit(X, Y)
    model.fit(X, Y)
    with pytest.raises(ValueError, match="beam_width"):
        model.predict(X[:2], beam_width=0)
    with pytest.raises(ValueError, match="max_output_length"):
        model.predict(X[:2], max_output_length=0)
    with pytest.raises(ValueError, match="fitted on text"):
        model.predict([[1, 2]])
    # an empty target is allowed (emit the end token at once); long ones are cut with a warning
    with pytest.warns(UserWarning, match="longer than max_output_length=3"):
        RNNSeq2Seq(**SMALL, max_iter=1, early_stopping=False, max_output_length=3).fit(
            ["abcd", "ab", "b"], ["dcba", "", "b"])
    # unseen characters at predict are the unknown token
    assert len(model.predict(["zzz"])[0]) <= model.max_output_length_


def test_generated_datasets_and_pair_files(tmp_path):
    X, Y = make_date_normalization(50, random_state=3)
    assert X == make_date_normalization(50, random_state=3)[0]
    assert all(len(y) == 10 and y[4] == "-" and y[7] == "-" for y in Y)
    assert len(set(X)) > 40
    X, Y = make_addition(20, digits=2, random_state=0)
    assert all(int(a) + int(b) == int(y) for (a, b), y in zip((x.split("+") for x in X), Y))
    X, Y = make_reversal(10, length=(30, 50), vocab_size=7, random_state=0)
    assert all(30 <= len(x) <= 50 and y == x[::-1] and max(x) <= 7 for x, y in zip(X, Y))
    path = tmp_path / "pairs.tsv"
    path.write_text("Go.\tVa !\tCC-BY 2.0\n\nHi.\tSalut !\tCC-BY 2.0\n", encoding="utf-8")
    assert load_pairs(path) == (["Go.", "Hi."], ["Va !", "Salut !"])
    assert load_pairs(path, source_col=1, target_col=0)[0] == ["Va !", "Salut !"]
    path.write_text("Go.\tVa !\nbroken line\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        load_pairs(path)
    path.write_text("Go.\tVa !\nHi.\tSalut !\n", encoding="utf-8-sig")  # a byte-order mark
    assert load_pairs(path) == (["Go.", "Hi."], ["Va !", "Salut !"])
    assert load_pairs(path, max_pairs=1) == (["Go."], ["Va !"])
    path.write_text("english\tfrench\nGo.\tVa !\n", encoding="utf-8")
    assert load_pairs(path, header=True) == (["Go."], ["Va !"])
    path.write_text("Go.\tVa !\n\n\tCours !\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"pairs.tsv, line 3: the source \(column 0\) is empty"):
        load_pairs(path)
    path.write_bytes("Go.\tVa !\nCafé\tCafé\n".encode("latin-1"))
    with pytest.raises(ValueError, match="pairs.tsv, line 2: not UTF-8 text"):
        load_pairs(path)
    big = tmp_path / "big.tsv"  # a bad line far beyond max_pairs is never read
    big.write_bytes(b"go\tva\n" * 5000 + "caf\u00e9\tcaf\u00e9\n".encode("latin-1"))
    assert load_pairs(big, max_pairs=10) == (["go"] * 10, ["va"] * 10)

    assert load_pairs(path, encoding="latin-1")[0] == ["Go.", "Café"]
    path.write_bytes(b"go\tva\rhi\tsalut\rrun\tcours\r")  # classic Mac OS line ends
    assert load_pairs(path) == (["go", "hi", "run"], ["va", "salut", "cours"])


@pytest.mark.parametrize("call, message", [
    (lambda p: load_pairs(p, max_pairs=0), "max_pairs must be a positive int, got 0"),
    (lambda p: load_pairs(p, max_pairs=2.5), "max_pairs must be a positive int"),
    (lambda p: load_pairs(p, max_pairs="3"), "max_pairs must be a positive int"),
    (lambda p: load_pairs(p, source_col=True), "source_col must be a non-negative int"),
    (lambda p: make_reversal(0), "n_samples must be a positive int, got 0"),
    (lambda p: make_reversal(2.5), "n_samples must be a positive int"),
    (lambda p: make_reversal(5, length=2.5), "length must be an int >= 1"),
    (lambda p: make_reversal(5, length=(1, 2, 3)), "length must be an int >= 1"),
    (lambda p: make_reversal(5, vocab_size=0), "vocab_size must be a positive int, got 0"),
    (lambda p: make_reversal(5, vocab_size=2.5), "vocab_size must be a positive int"),
    (lambda p: make_reversal(5, vocab_size=27, return_text=True), "at most 26"),
    (lambda p: make_addition(-1), "n_samples must be a positive int, got -1"),
    (lambda p: make_addition(5, digits=True), "digits must be an int"),
])
def test_dataset_arguments_are_checked_by_name(tmp_path, call, message):
    path = tmp_path / "pairs.tsv"
    path.write_text("Go.\tVa !\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        call(path)


@pytest.mark.parametrize("call, message", [
    (lambda m, X, Y: m.fit(X, Y, sample_weight=np.zeros(len(X))), "sample_weight sums to 0"),
    (lambda m, X, Y: m.fit(X, Y, sample_weight=np.ones(3)), "one weight per pair"),
    (lambda m, X, Y: m.fit(X, Y, sample_weight=-np.ones(len(X))), "Negative values"),
    (lambda m, X, Y: m.partial_fit(X, Y, sample_weight=np.zeros(len(X))), "sample_weight sums"),
    (lambda m, X, Y: m.fit(X, Y).score(X, Y, sample_weight=np.ones(2)), "one weight per pair"),
    (lambda m, X, Y: m.fit(X, Y).score(X, Y, sample_weight=np.zeros(len(X))), "sums to 0"),
    (lambda m, X, Y: m.fit(X, Y, validation_data=(X[:4],)), "validation_data must be a tuple"),
    (lambda m, X, Y: m.fit(X, Y, validation_data=X), "validation_data must be a tuple"),
    (lambda m, X, Y: m.fit(X, Y, validation_data=[X[:4], Y[:3]]), "validation_data: X and"),
    (lambda m, X, Y: m.fit(X, Y).predict(X, beam_width=True), "beam_width must be an int"),
])
def test_weights_validation_data_and_beam_width_are_checked_by_name(call, message):
    X = ["abc", "bca", "cab", "acb"] * 4
    model = RNNSeq2Seq(**SMALL, max_iter=1, early_stopping=False)
    with pytest.raises(ValueError, match=message):
        call(model, X, [s[::-1] for s in X])


def test_plot_attention_draws_outputs_against_source_tokens(fitted, tmp_path):
    pytest.importorskip("matplotlib")
    model, X, Y = fitted
    fig = fastrnn.plot_attention(model, X[0], path=tmp_path / "att.png", title="reversal")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(X[0])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(model.predict([X[0]])[0])
    assert (tmp_path / "att.png").read_bytes()[:4] == b"\x89PNG"
    given = fastrnn.plot_attention(model, X[1], y=Y[1]).axes[0]
    assert [t.get_text() for t in given.get_yticklabels()] == list(Y[1])
    with pytest.raises(TypeError, match="RNNSeq2Seq"):
        fastrnn.plot_attention(object(), X[0])


def test_command_line_trains_on_pairs_and_translates_line_by_line(tmp_path, capsys):
    from fastrnn.cli import main

    X, Y = _reversal_text(300)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{x}\t{y}\tCC-BY\n" for x, y in zip(X, Y)), encoding="utf-8")
    model_path = tmp_path / "rev.fastrnn"
    lines = []
    assert main(["train-seq2seq", str(pairs), "-o", str(model_path), "--cell", "gru",
                 "--units", "32", "--embedding-dim", "8", "--epochs", "12",
                 "--learning-rate", "0.01", "-q"], out=lines.append) == 0
    assert model_path.exists() and "300 pairs" in lines[0]
    inputs = tmp_path / "in.txt"
    inputs.write_text("abc\n\ncde\n", encoding="utf-8")
    printed = []
    assert main(["translate", str(model_path), str(inputs), "--beam-width", "2"],
                out=printed.append) == 0
    assert len(printed) == 3 and printed[1] == ""
    assert printed[0] == fastrnn.load(model_path).predict(["abc"], beam_width=2)[0]
    written = tmp_path / "out.txt"
    assert main(["translate", str(model_path), str(inputs), "-o", str(written)],
                out=printed.append) == 0
    assert written.read_text(encoding="utf-8").split("\n")[:3] == [
        fastrnn.load(model_path).predict(["abc"])[0], "", fastrnn.load(model_path).predict(["cde"])[0]]
    # a model file of another kind, and a seq2seq file given to predict, are one-line errors
    other = fastrnn.RNNClassifier(units=2, max_iter=1).fit(np.array([[1, 2], [2, 1]]), [0, 1])
    other_path = other.save(tmp_path / "clf.fastrnn")
    capsys.readouterr()
    assert main(["translate", str(other_path), str(inputs)], out=printed.append) == 2
    assert "holds a RNNClassifier, not a sequence-to-sequence model" in capsys.readouterr().err
    assert main(["predict", str(model_path), str(inputs)], out=printed.append) == 2
    assert "use fastrnn translate" in capsys.readouterr().err


def test_command_line_checks_the_output_before_training_and_reads_byte_order_marks(tmp_path, capsys):
    from fastrnn.cli import main

    X, Y = _reversal_text(60)
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{x}\t{y}\n" for x, y in zip(X, Y)), encoding="utf-8-sig")
    missing = tmp_path / "missing" / "m.fastrnn"
    assert main(["train-seq2seq", str(pairs), "-o", str(missing), "--epochs", "50"],
                out=lambda line: None) == 2
    assert "missing" in capsys.readouterr().err and not missing.parent.exists()
    model_path = tmp_path / "m.fastrnn"
    assert main(["train-seq2seq", str(pairs), "-o", str(model_path), "--cell", "gru", "--units", "8",
                 "--embedding-dim", "4", "--epochs", "1", "-q"], out=lambda line: None) == 0
    model = fastrnn.load(model_path)
    assert not any("\ufeff" in token for token in model.source_sequencer_.vocabulary_)
    inputs = tmp_path / "in.txt"
    inputs.write_text("abc\n\x0cde\n", encoding="utf-8-sig")  # a form feed is not a line end
    printed = []
    assert main(["translate", str(model_path), str(inputs)], out=printed.append) == 0
    assert printed == model.predict(["abc", "\x0cde"])
    capsys.readouterr()
    assert main(["translate", str(model_path), str(inputs), "-o", str(missing)],
                out=printed.append) == 2  # refused before decoding
    assert "does not exist" in capsys.readouterr().err
    inputs.write_bytes("abc\ncafé\n".encode("latin-1"))
    assert main(["translate", str(model_path), str(inputs)], out=printed.append) == 2
    assert "in.txt, line 2: not UTF-8 text" in capsys.readouterr().err
    headed = tmp_path / "headed.tsv"
    headed.write_text("source\ttarget\n" + pairs.read_text(encoding="utf-8-sig"), encoding="utf-8")
    assert main(["train-seq2seq", str(headed), "-o", str(model_path), "--header", "--cell", "gru",
                 "--units", "8", "--embedding-dim", "4", "--epochs", "1", "-q"],
                out=lambda line: None) == 0
    # the reversal pairs hold the letters a-e only: none of the header's "u", "r", "g" was read
    assert not {"u", "r", "g"} & set(fastrnn.load(model_path).source_sequencer_.vocabulary_)


def _warm_started_reversal():
    """A character model fitted for one epoch with warm_start, its pairs and its predictions."""
    X = ["abc", "bca", "cab", "acb"] * 8
    Y = [s[::-1] for s in X]
    model = RNNSeq2Seq(**SMALL, max_iter=1, early_stopping=False, warm_start=True).fit(X, Y)
    return model, X, Y, model.predict(X[:4])


@pytest.mark.parametrize("change", [dict(units=8), dict(bidirectional=True), dict(cell="lstm"),
                                    dict(attention="general"), dict(attention=None)])
def test_a_structure_changed_after_fit_is_refused_before_the_kernels_run(change):
    model, X, Y, expected = _warm_started_reversal()
    model.set_params(**change)
    for call in (lambda: model.predict(X[:4]), lambda: model.fit(X, Y),
                 lambda: model.log_likelihood(X[:4], Y[:4])):
        with pytest.raises(ValueError, match="fitted weights do not fit the network"):
            call()
    model.set_params(**{k: RNNSeq2Seq(**SMALL).get_params()[k] for k in change})
    assert model.predict(X[:4]) == expected


def test_a_stray_huge_id_is_refused_before_its_tables_are_allocated():
    model = RNNSeq2Seq(**SMALL, max_iter=1, early_stopping=False)
    with pytest.raises(MemoryError, match=r"the largest id of X, 1,000,000,000,"):
        model.fit([[1, 2, 3], [2, 3, 10**9]] * 3, [[1, 2], [2, 3]] * 3)
    with pytest.raises(MemoryError, match=r"the largest id of Y, 1,000,000,000,"):
        model.fit([[1, 2, 3]] * 4, [[1, 10**9]] * 4)
    with pytest.raises(MemoryError, match="target ids .* make each batch's output scores"):
        # a table that fits, but not a batch's scores over 10**7 target ids
        model.set_params(batch_size=4096).fit([[1, 2, 3]] * 4, [[1, 10**7]] * 4)


def test_all_empty_targets_and_partial_fit_with_early_stopping_are_explained():
    from fastrnn import RNNSeq2Seq

    with pytest.raises(ValueError, match="no target holds a token"):
        RNNSeq2Seq(units=4, max_iter=1).fit(["ab", "cd"], ["", ""])
    with pytest.raises(ValueError, match="set early_stopping=False for partial_fit"):
        RNNSeq2Seq(units=4).partial_fit(["ab", "cd"] * 10, ["ba", "dc"] * 10)


def test_word_level_keeps_combining_marks_in_their_words():
    """Devanagari vowel signs and decomposed accents are combining marks, which Python's \\w
    leaves out: each word stays one token, so an output joins whole words."""
    import unicodedata

    X = ["hello friend", "thank you", "good morning"] * 10
    Y = ["नमस्ते दोस्त", "धन्यवाद", unicodedata.normalize("NFD", "déjà vu .")] * 10
    model = RNNSeq2Seq(**SMALL, level="word", max_iter=1, early_stopping=False).fit(X, Y)
    analyze = model.target_sequencer_.build_analyzer()
    assert analyze(Y[0]) == ["नमस्ते", "दोस्त"]
    assert analyze(Y[2]) == [unicodedata.normalize("NFD", "déjà"), "vu", "."]
    perfect = [np.asarray(r) + 2 for r in model.target_sequencer_.texts_to_ids(Y[:3])]
    assert model._to_output(perfect) == Y[:3]
    # the pattern models were fitted with before reads as it did, so that they load as fitted
    from fastrnn import TextSequencer

    legacy = TextSequencer(token_pattern=r"\w+|[^\w\s]", lowercase=False).build_analyzer()
    assert legacy("नमस्ते") == ["नमस", "्", "त", "े"]


@pytest.mark.parametrize("change", [dict(level="word"), dict(lowercase=True), dict(max_features=3)])
def test_tokenisation_changed_before_a_continued_fit_is_refused(change):
    model, X, Y, expected = _warm_started_reversal()
    model.set_params(**change)
    with pytest.raises(ValueError, match=f"{next(iter(change))} changed since the model was fitted"):
        model.fit(X, Y)
    with pytest.raises(ValueError, match="changed since the model was fitted"):
        model.partial_fit(X, Y)
    assert model.predict(X[:4]) == expected  # joined as fitted (characters), not with spaces


def test_missing_and_undecoded_pairs_are_named():
    with pytest.raises(ValueError, match=r"X\[2\] is missing"):
        RNNSeq2Seq(**SMALL, max_iter=1).fit(["go", "hi", None, "run"], ["a", "b", "c", "d"])
    with pytest.raises(ValueError, match=r"Y\[1\] is missing"):
        RNNSeq2Seq(**SMALL, max_iter=1).fit(["go", "hi"], ["a", float("nan")])
    with pytest.raises(TypeError, match=r"X\[0\] is bytes: decode"):
        RNNSeq2Seq(**SMALL, max_iter=1).fit([b"go", "hi"], ["a", "b"])


def test_plot_attention_takes_path_and_target_by_name_only(fitted):
    pytest.importorskip("matplotlib")
    model, X, Y = fitted
    with pytest.raises(TypeError):
        fastrnn.plot_attention(model, X[0], Y[0])  # would have written a file named after Y[0]


def test_no_pairs_give_no_log_likelihoods_and_no_score(fitted):
    model, _, _ = fitted
    assert model.predict([]) == []
    assert model.log_likelihood([], []).shape == (0,)
    with pytest.raises(ValueError, match="X is empty: no pairs to score"):
        model.score([], [])
