"""RNNLanguageModel: teacher forcing, windowed truncated BPTT, generation, perplexity."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import fastrnn
from fastrnn import RNNLanguageModel
from fastrnn.layers import Recurrent, pack_tokens
from fastrnn.layers.stack import Network
from fastrnn.losses import sequence_crossentropy
from fastrnn.optimizers import SGD
from fastrnn.training import train_stream

from conftest import default_backend_only

PATTERN = ["abcabcabcabcabcabcabcabc"] * 30


@pytest.fixture(scope="module")
def pattern_lm():
    return RNNLanguageModel(units=32, max_iter=15, batch_size=8, bptt_truncate=16,
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
    lm = RNNLanguageModel(level="word", units=16, max_iter=20, batch_size=4, bptt_truncate=8,
                          random_state=0).fit(["the cat sat on the mat " * 10] * 5)
    words = lm.generate("the cat", n_tokens=6, temperature=0)
    assert words == ["sat", "on", "the", "mat", "the", "cat"]


def test_windows_carry_state_and_cut_gradients():
    """One epoch of train_stream equals hand-written windowed TBPTT with plain SGD."""
    rng = np.random.default_rng(0)
    net = Network("tokens", 7, 3, [Recurrent("gru", 4)], False, "sequence", 7)
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
    train_stream(Model(), net, params, SGD(0.1), inputs, targets, 4, 1, 1, history)
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
    with pytest.raises(ValueError, match="too short"):
        RNNLanguageModel().fit([""])
    with pytest.raises(ValueError, match="cannot fit a vocabulary on 0 texts"):
        RNNLanguageModel().fit([])
    lm = RNNLanguageModel(units=4, max_iter=1, random_state=0).fit(["abab"] * 3)
    with pytest.raises(TypeError, match="prompt must be a str"):
        lm.generate(["a"])
    with pytest.raises(ValueError, match="non-negative"):
        lm.generate("a", temperature=-1)


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
    out = run("generate", model, "ab", "-n", "12", "-t", "0")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "abcabcabcabcab"
    out = run("predict", model, text)
    assert out.returncode == 2 and "use fastrnn generate" in out.stderr
