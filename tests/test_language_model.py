"""RNNLanguageModel: teacher forcing, windowed truncated BPTT, generation, perplexity, and the
shared estimator abilities (weights, validation, early stopping, checkpoints, partial_fit)."""

import json
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import fastrnn
from fastrnn import RNNLanguageModel
from fastrnn.layers import Recurrent, pack_tokens
from fastrnn.layers import SequenceModel
from fastrnn.losses import sequence_crossentropy
from fastrnn.optimizers import SGD
from fastrnn.training import StreamWindows, TrainConfig, train

from conftest import default_backend_only

PATTERN = ["abcabcabcabcabcabcabcabc"] * 30


@pytest.fixture(scope="module")
def pattern_lm():
    return RNNLanguageModel(units=32, max_iter=15, batch_size=8, window=16,
                            random_state=0).fit(PATTERN)


def test_learns_a_repeating_pattern_and_reproduces_it(pattern_lm):
    loss = pattern_lm.history_["loss"]
    assert loss[-1] < 0.2 < loss[0]
    assert pattern_lm.generate("ab", n_tokens=12, temperature=0) == "cabcabcabcab"
    sampled = pattern_lm.generate("abca", n_tokens=9, temperature=0.5, random_state=0)
    assert sampled.startswith("bcabca")
    assert pattern_lm.perplexity(PATTERN[:3]) < 1.3
    assert pattern_lm.perplexity(["cbacbacbacba"]) > 3 * pattern_lm.perplexity(PATTERN[:3])
    assert pattern_lm.score(PATTERN[:3]) == pytest.approx(-np.log(pattern_lm.perplexity(PATTERN[:3])))


def test_sampling_is_reproducible_and_temperature_matters(pattern_lm):
    a = pattern_lm.generate("", n_tokens=30, temperature=3.0, random_state=1)
    b = pattern_lm.generate("", n_tokens=30, temperature=3.0, random_state=1)
    assert a == b and len(a) == 30
    assert set(a) <= {"a", "b", "c", "\n"}


def test_word_level_returns_tokens():
    lm = RNNLanguageModel(level="word", units=16, max_iter=20, batch_size=4, window=8,
                          random_state=0).fit(["the cat sat on the mat " * 10] * 5)
    words = lm.generate("the cat", n_tokens=6, temperature=0)
    assert words == ["sat", "on", "the", "mat", "the", "cat"]


def test_windows_carry_state_and_cut_gradients():
    """One epoch over StreamWindows equals hand-written windowed TBPTT with plain SGD."""
    rng = np.random.default_rng(0)
    net = SequenceModel.build("tokens", 7, 3, [Recurrent("gru", 4)], False, "sequence", 7)
    params = net.init_params(rng, np.float64)
    stream = rng.integers(1, 7, size=(2, 11))
    inputs, targets = stream[:, :-1], stream[:, 1:]
    expected = fastrnn.training.copy_params(params)
    states = None
    for lo in (0, 4, 8):  # windows of 4, 4 and 2 steps
        logits, cache, states = net.forward(expected, pack_tokens(inputs[:, lo:lo + 4]),
                                            training=True, states=states, return_states=True)
        _, d = sequence_crossentropy(logits, targets[:, lo:lo + 4], np.ones(2))
        for p, g in zip(net.weights(expected), net.weights(net.backward(expected, cache, d))):
            p -= 0.1 * g

    class Model:
        pass

    history = {}
    cfg = TrainConfig(loss_fn=sequence_crossentropy, metric_fn=None, metric_name=None, n_epochs=1)
    train(Model(), net, params, SGD(0.1), StreamWindows(inputs, targets, 4), cfg,
          np.random.default_rng(0), history=history)
    for got, want in zip(net.weights(params), net.weights(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert len(history["loss"]) == 1


def test_save_load_and_summary(pattern_lm, tmp_path):
    loaded = fastrnn.load(pattern_lm.save(tmp_path / "lm.fastrnn"))
    assert loaded.generate("ab", 10, temperature=0) == pattern_lm.generate("ab", 10, temperature=0)
    assert loaded.perplexity(PATTERN[:2]) == pattern_lm.perplexity(PATTERN[:2])
    assert "TimeDistributed(Dense)" in loaded.summary()


def test_errors():
    with pytest.raises(NotFittedError):
        RNNLanguageModel().generate("a")
    with pytest.raises(ValueError, match="empty vocabulary: .* no token at all"):
        RNNLanguageModel().fit([""])
    with pytest.raises(ValueError, match="cannot fit a vocabulary on 0 texts"):
        RNNLanguageModel().fit([])
    lm = RNNLanguageModel(units=4, max_iter=1, random_state=0).fit(["abab"] * 3)
    with pytest.raises(TypeError, match="prompt must be a str"):
        lm.generate(["a"])
    with pytest.raises(ValueError, match="temperature must be a finite number >= 0"):
        lm.generate("a", temperature=-1)
    with pytest.raises(ValueError, match="temperature must be a finite number >= 0, got nan"):
        lm.generate("a", temperature=float("nan"))
    with pytest.raises(ValueError, match="X is empty"):
        lm.perplexity([])


@default_backend_only
def test_cli_train_lm_and_generate(tmp_path):
    text = tmp_path / "pattern.txt"
    text.write_text("\n".join(PATTERN) + "\n")
    model = tmp_path / "lm.fastrnn"

    def run(*args):
        return subprocess.run([sys.executable, "-m", "fastrnn", *map(str, args)],
                              capture_output=True, text=True, timeout=600)

    out = run("train-lm", text, "-o", model, "--units", "32", "--epochs", "15", "--batch-size", "8",
              "--window", "16", "-q")
    assert out.returncode == 0, out.stderr
    assert "perplexity" in out.stdout and model.stat().st_size > 0
    assert f"on {len(PATTERN)} lines" in out.stdout  # the final newline starts no empty text
    out = run("generate", model, "ab", "-n", "12", "-t", "0")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "abcabcabcabcab"
    out = run("predict", model, text)
    assert out.returncode == 2 and "use fastrnn generate" in out.stderr


# ------------------------------------------------------------ the shared estimator abilities
TEXTS = ["abcabcab cab", "hello world abc", "abc hello"] * 4
SMALL = dict(units=8, embedding_dim=4, max_iter=2, batch_size=4, window=8, random_state=0)


def test_window_and_bptt_truncate_are_separate_parameters():
    lm = RNNLanguageModel()
    assert lm.window == 32 and lm.bptt_truncate is None
    whole = RNNLanguageModel(**SMALL).fit(TEXTS)
    again = RNNLanguageModel(**SMALL).fit(TEXTS)
    truncated = RNNLanguageModel(**SMALL, bptt_truncate=2).fit(TEXTS)
    shorter = RNNLanguageModel(**{**SMALL, "window": 3}).fit(TEXTS)
    for a, b in zip(whole.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)  # the same seed: the same weights
    assert not np.allclose(whole.get_weights()[1], truncated.get_weights()[1])
    assert not np.allclose(whole.get_weights()[1], shorter.get_weights()[1])
    with pytest.raises(ValueError, match="window"):
        RNNLanguageModel(window=0).fit(TEXTS)


def test_get_and_set_weights_round_trip():
    lm = RNNLanguageModel(**SMALL).fit(TEXTS)
    other = RNNLanguageModel(**{**SMALL, "random_state": 1}).fit(TEXTS)
    weights = lm.get_weights()
    assert [w.shape for w in weights] == [w.shape for w in other.get_weights()]
    # Keras order: Embedding; LSTM kernel, recurrent kernel, bias; Dense kernel, bias
    assert len(weights) == 6 and weights[0].shape == (lm.vocab_size_, 4)
    assert weights[-2].shape == (8, lm.vocab_size_) and weights[-1].shape == (lm.vocab_size_,)
    other.set_weights(weights)
    assert other.score(TEXTS) == lm.score(TEXTS)
    assert other.generate("ab", 8, temperature=0) == lm.generate("ab", 8, temperature=0)
    weights[0][...] = 0.0  # get_weights returns copies
    assert other.score(TEXTS) == lm.score(TEXTS)
    with pytest.raises(ValueError, match="shape"):
        other.set_weights([w[:1] for w in lm.get_weights()])
    with pytest.raises(NotFittedError):
        RNNLanguageModel().get_weights()


def test_validation_texts_and_early_stopping():
    texts = PATTERN[:20]
    lm = RNNLanguageModel(**{**SMALL, "max_iter": 40}, learning_rate=0.05, early_stopping=True,
                          n_iter_no_change=2, tol=0.05).fit(texts)
    assert lm.stopped_reason_ == "early_stopping" and lm.n_iter_ < 40
    assert len(lm.history_["val_loss"]) == lm.n_iter_ == len(lm.validation_scores_)
    # restore_best_weights: the model is that of the last epoch that improved by tol, before the
    # n_iter_no_change epochs that did not; validation is the held-out tail (2 texts)
    restored = -lm.score(texts[-2:])
    assert any(v == pytest.approx(restored, rel=1e-5) for v in lm.history_["val_loss"][:-2])
    assert lm.validation_scores_ == [-v for v in lm.history_["val_loss"]]
    given = RNNLanguageModel(**SMALL).fit(TEXTS, validation_data=["abc hello", "world"])
    assert len(given.history_["val_loss"]) == 2
    assert given.score(["abc hello", "world"]) == pytest.approx(-given.history_["val_loss"][-1],
                                                                rel=1e-5)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        RNNLanguageModel(**SMALL, early_stopping=True, n_iter_no_change=5).fit(TEXTS)
    with pytest.raises(ValueError, match="too few to hold out"):
        RNNLanguageModel(**SMALL, early_stopping=True).fit(["abcabc"])
    with pytest.raises(TypeError, match="not a single str"):
        RNNLanguageModel(**SMALL).fit(TEXTS, validation_data="abc")


def test_partial_fit_and_warm_start_continue_training():
    lm = RNNLanguageModel(**SMALL)
    lm.partial_fit(TEXTS)
    vocabulary = lm.sequencer_.index_to_token_
    lm.partial_fit(["xyz abc"])  # unseen characters map to the out-of-vocabulary id
    assert lm.n_iter_ == 2 and len(lm.history_["loss"]) == 2
    assert lm.sequencer_.index_to_token_ == vocabulary
    # two partial_fit calls over the same texts are one fit of two epochs
    step = RNNLanguageModel(**SMALL).partial_fit(TEXTS).partial_fit(TEXTS)
    whole = RNNLanguageModel(**SMALL).fit(TEXTS)
    for a, b in zip(step.get_weights(), whole.get_weights()):
        np.testing.assert_array_equal(a, b)
    warm = RNNLanguageModel(**SMALL, warm_start=True).fit(TEXTS).fit(TEXTS)
    assert warm.n_iter_ == 4 and len(warm.loss_curve_) == 4
    with pytest.raises(ValueError, match="early_stopping"):
        RNNLanguageModel(**SMALL, early_stopping=True).partial_fit(TEXTS)


def test_checkpoint_path_holds_the_best_epoch(tmp_path):
    path = tmp_path / "lm.fastrnn"
    lm = RNNLanguageModel(**{**SMALL, "max_iter": 4}, checkpoint_path=path).fit(TEXTS)
    saved = fastrnn.load(path)
    best = int(np.argmin(lm.history_["loss"]))
    assert saved.n_iter_ == best + 1 and saved.history_["loss"] == lm.history_["loss"][:best + 1]
    assert saved.window == lm.window and saved.checkpoint_path == str(path)
    if best == lm.n_iter_ - 1:  # the last epoch was the best: the checkpoint is the model
        assert saved.score(TEXTS) == lm.score(TEXTS)
    with pytest.raises(ValueError, match="does not exist"):
        RNNLanguageModel(**SMALL, checkpoint_path=tmp_path / "no" / "lm.fastrnn").fit(TEXTS)


def test_clone_get_params_and_shared_declarations():
    lm = RNNLanguageModel(**SMALL, dropout=0.1, level="word")
    copy = clone(lm)
    assert copy.get_params() == lm.get_params() and copy is not lm
    assert not hasattr(copy, "params_")
    params = RNNLanguageModel().get_params()
    assert {"window", "level", "max_features", "lowercase", "early_stopping",
            "checkpoint_path", "warm_start", "bptt_truncate"} <= set(params)
    assert "bidirectional" not in params and "shuffle" not in params
    assert params["units"] == 64 and params["learning_rate"] == 0.005 and params["clipnorm"] == 5.0
    assert RNNLanguageModel._parameter_constraints["units"] == \
        fastrnn.RNNClassifier._parameter_constraints["units"]
    lm.set_params(window=4)
    assert lm.window == 4
    with pytest.raises(ValueError, match="Invalid parameter"):
        lm.set_params(head="last")


def test_dropout_trains_and_the_same_seed_repeats():
    a = RNNLanguageModel(**SMALL, dropout=0.2, recurrent_dropout=0.2).fit(TEXTS)
    b = RNNLanguageModel(**SMALL, dropout=0.2, recurrent_dropout=0.2).fit(TEXTS)
    plain = RNNLanguageModel(**SMALL).fit(TEXTS)
    assert a.history_["loss"] == b.history_["loss"] != plain.history_["loss"]


def test_a_file_from_before_window_existed_loads(tmp_path):
    """Older files stored the window length as ``bptt_truncate``; loading maps it to ``window``."""
    lm = RNNLanguageModel(**{**SMALL, "window": 6}).fit(TEXTS)
    new = lm.save(tmp_path / "new.fastrnn")
    old = tmp_path / "old.fastrnn"
    with zipfile.ZipFile(new) as zin:
        members = {i.filename: zin.read(i) for i in zin.infolist()}
    config = json.loads(members["config.json"])
    params = config["model"]["params"]
    params["bptt_truncate"] = params.pop("window")
    for name in ("reset_after", "activation", "recurrent_activation", "use_bias",
                 "unit_forget_bias", "momentum", "nesterov", "weight_decay", "clipvalue", "alpha",
                 "dropout", "recurrent_dropout", "early_stopping", "validation_fraction",
                 "n_iter_no_change", "tol", "restore_best_weights", "warm_start",
                 "checkpoint_path"):
        del params[name]  # parameters the language model did not have
    members["config.json"] = json.dumps(config).encode()
    import hashlib

    manifest = {"sha256": {k: hashlib.sha256(v).hexdigest() for k, v in members.items()
                           if k != "MANIFEST.json"}}
    members["MANIFEST.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(old, "w") as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    loaded = fastrnn.load(old)
    assert loaded.window == 6 and loaded.bptt_truncate is None
    assert loaded.generate("ab", 8, temperature=0) == lm.generate("ab", 8, temperature=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded.partial_fit(TEXTS)  # and it trains on
    assert loaded.n_iter_ == lm.n_iter_ + 1


def test_scoring_groups_texts_by_length_with_the_same_result(pattern_lm, monkeypatch):
    """Texts are scored in groups of similar length (one long text pads no others)."""
    import fastrnn.estimators.language_model as lm_module

    texts = [PATTERN[0] * 20] + [p[:n] for p in PATTERN for n in (1, 3, 7)]
    whole = pattern_lm._token_log_likelihoods(texts)
    monkeypatch.setattr(lm_module, "SCORE_LOGITS", 1)  # one text per group
    alone = pattern_lm._token_log_likelihoods(texts)
    assert [len(a) for a in alone] == [len(w) for w in whole]
    for a, w in zip(alone, whole):
        np.testing.assert_allclose(a, w, rtol=1e-6, atol=1e-6)
    assert pattern_lm.score(texts) == pytest.approx(float(np.mean(np.concatenate(whole))))


def test_a_long_prompt_is_read_without_an_output_per_step(pattern_lm):
    """generate feeds the prompt through the stack for its states only: the continuation is the
    one forward's last output gives, and no (prompt x vocabulary) array is made."""
    from fastrnn.layers import pack_tokens

    prompt = PATTERN[0] * 40
    net = pattern_lm._fitted_network()
    ids = [pattern_lm._end_id] + pattern_lm.sequencer_.texts_to_ids([prompt])[0]
    logits = net.forward(pattern_lm.params_, pack_tokens(np.array([ids], dtype=np.int32)))[0]
    z = logits[0, -1].astype(np.float64)
    z[:2] = -np.inf
    vocab = pattern_lm.sequencer_.index_to_token_
    assert pattern_lm.generate(prompt, n_tokens=1, temperature=0) == vocab[int(np.argmax(z))]
    assert pattern_lm.generate(prompt, n_tokens=0) == ""


def test_empty_validation_texts_are_refused_not_scored_as_perfect():
    """validation_data=[] gave val_loss 0.0 every epoch: early stopping kept epoch 0."""
    from fastrnn import RNNLanguageModel

    with pytest.raises(ValueError, match="validation_data holds no texts"):
        RNNLanguageModel(units=4, max_iter=2, early_stopping=True).fit(["abcabc"] * 20,
                                                                       validation_data=[])


def test_a_tiny_temperature_samples_the_greedy_token_without_overflow_warnings(pattern_lm):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny = pattern_lm.generate("ab", n_tokens=10, temperature=1e-320, random_state=0)
    assert tiny == pattern_lm.generate("ab", n_tokens=10, temperature=0)
