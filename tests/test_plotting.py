"""plot_history: PNG output, overlays, and a clear error without matplotlib."""

import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import fastrnn
from fastrnn import RNNClassifier, RNNRegressor

pytest.importorskip("matplotlib")

FAST = dict(units=4, embedding_dim=3, max_iter=3, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.integers(1, 9, size=(80, 6))
    y = (X[:, -1] > 4).astype(int)
    return RNNClassifier(**FAST, early_stopping=True, n_iter_no_change=5).fit(X, y)


def test_writes_a_png_with_loss_and_accuracy_panels(fitted, tmp_path):
    fig = fastrnn.plot_history(fitted, path=tmp_path / "curves.png", title="run")
    data = (tmp_path / "curves.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    loss_ax, acc_ax = fig.axes
    assert (loss_ax.get_ylabel(), acc_ax.get_ylabel()) == ("loss", "accuracy")
    # train and validation curves, with the history's values
    lines = {line.get_label(): line for line in loss_ax.get_lines()}
    np.testing.assert_allclose(lines["train"].get_ydata(), fitted.history_["loss"])
    np.testing.assert_allclose(lines["validation"].get_ydata(), fitted.history_["val_loss"])


def test_overlays_several_models_and_plain_dicts(fitted, rng):
    X = rng.normal(size=(40, 5))
    reg = RNNRegressor(**FAST).fit(X, X[:, -1])
    fig = fastrnn.plot_history({"clf": fitted, "reg": reg.history_})
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["clf train", "clf validation", "reg train"]
    with pytest.raises(TypeError, match="history"):
        fastrnn.plot_history(RNNClassifier())
    with pytest.raises(ValueError, match="empty"):
        fastrnn.plot_history({})


def test_missing_matplotlib_is_a_clear_error(fitted, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "fastrnn\[plot\]"'):
        fastrnn.plot_history(fitted)


def test_a_sequence_to_sequence_history_gets_its_token_accuracy_panel(tmp_path):
    X = ["abc", "bca", "cab", "acb"] * 8
    model = fastrnn.RNNSeq2Seq(units=8, embedding_dim=4, max_iter=2, random_state=0,
                               early_stopping=False).fit(X, [s[::-1] for s in X])
    fig = fastrnn.plot_history(model)
    assert [ax.get_ylabel() for ax in fig.axes][-1] == "token_accuracy"
    with pytest.raises(NotFittedError):
        fastrnn.plot_attention(fastrnn.RNNSeq2Seq(), "abc")


def test_validation_values_between_epochs_without_validation_are_drawn_as_markers():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from fastrnn import plot_history

    nan = float("nan")
    fig = plot_history({"loss": [1.0, 0.9, 0.8, 0.7], "val_loss": [nan, 0.95, nan, 0.75]})
    dashed = [line for ax in fig.axes for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert dashed and all(line.get_marker() == "o" for line in dashed)
