"""The command line, through a subprocess as a user runs it."""

import csv
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import fastrnn
from fastrnn.datasets import make_long_range_task, make_negation_sentiment

from conftest import default_backend_only

pytestmark = default_backend_only


def run(*args, cwd=None, stdin=None):
    return subprocess.run([sys.executable, "-m", "fastrnn", *map(str, args)], capture_output=True,
                          text=True, timeout=600, cwd=cwd, input=stdin)


def assert_one_line_error(out, *fragments):
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastrnn: error:"), out.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_demo_prints_a_table_for_every_cell_and_writes_curves(tmp_path):
    out = run("demo", "--n-samples", "200", "--epochs", "1", "--distance", "3", "6",
              "--curves", tmp_path / "curves.png")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("cell"))
    assert "acc D=3" in lines[header] and "acc D=6" in lines[header]
    rows = {line.split()[0]: line.split()[1:] for line in lines[header + 1:header + 4]}
    assert set(rows) == {"simple", "lstm", "gru"}
    for values in rows.values():
        assert len(values) == 4 and all(0.0 <= float(v) <= 1.0 for v in values[::2])
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_bad_arguments_are_one_line_and_a_nonzero_exit():
    assert_one_line_error(run("demo", "--distance", "0"), "distance must satisfy")


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    """A CSV of raw text with string labels (commas inside quoted text)."""
    root = tmp_path_factory.mktemp("cli")
    texts, y = make_negation_sentiment(n_samples=1500, return_text=True, random_state=0)
    path = root / "reviews.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "review", "sentiment"])
        for i, (t, label) in enumerate(zip(texts, y)):
            w.writerow([i, t.replace(" i think", ", i think"), "pos" if label else "neg"])
    return root, path


@pytest.fixture(scope="module")
def trained(reviews):
    root, data = reviews
    model = root / "model.fastrnn"
    out = run("train", data, "--text-col", "review", "--label-col", "sentiment", "--cell", "gru",
              "--units", "16", "--embedding-dim", "8", "--epochs", "10", "--learning-rate", "0.01",
              "--maxlen", "12", "-o", model, "--checkpoint", root / "best.fastrnn")
    assert out.returncode == 0, out.stderr
    return root, data, model, out


def test_train_saves_the_model_checkpoint_and_curves(trained):
    root, _, model, out = trained
    assert "validation accuracy" in out.stdout
    accuracy = float(out.stdout.split("validation accuracy ")[1].split()[0])
    assert accuracy > 0.9
    assert "Epoch 10/10" in out.stderr  # progress, one line per epoch
    assert "warning" not in out.stderr  # the checkpoint's own callback is not reported
    assert model.stat().st_size > 0 and (root / "best.fastrnn").stat().st_size > 0
    assert (root / "model-curves.png").stat().st_size > 1000


def test_predict_text_lines_csv_and_stdin(trained):
    root, data, model, _ = trained
    lines = root / "new.txt"
    lines.write_text("the film was not bad\nthe plot was really good\n\n")
    for out in (run("predict", model, lines),
                run("predict", model, "-", stdin=lines.read_text())):
        assert out.returncode == 0, out.stderr
        rows = list(csv.reader(io.StringIO(out.stdout)))
        assert rows[0] == ["label", "proba_neg", "proba_pos"]
        assert [r[0] for r in rows[1:3]] == ["pos", "pos"] and len(rows) == 4  # the blank line too
        assert all(abs(float(r[1]) + float(r[2]) - 1) < 1e-5 for r in rows[1:])
    out = run("predict", model, data, "--text-col", "review")
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 1501
    # a CSV on standard input (its column named), and Windows line ends read as on a file
    crlf = lines.read_text().replace("\n", "\r\n")
    assert run("predict", model, "-", stdin=crlf).stdout == run("predict", model, lines).stdout
    out = run("predict", model, "-", "--text-col", "review", stdin=data.read_text())
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 1501


def test_a_reader_that_stops_early_is_no_error(trained):
    root, _, model, _ = trained
    many = root / "many.txt"  # more output than a pipe holds, so the writer meets the closed end
    many.write_text("the plot was really good\n" * 20000)
    shell = f"'{sys.executable}' -m fastrnn predict '{model}' '{many}' | head -2"
    out = subprocess.run(["sh", "-c", shell], capture_output=True, text=True, timeout=600)
    assert len(out.stdout.splitlines()) == 2, out.stderr
    assert "error" not in out.stderr and "Traceback" not in out.stderr, out.stderr


def test_the_checkpoint_of_a_text_model_reads_text(trained):
    root, _, _, _ = trained
    out = run("predict", root / "best.fastrnn", "-", stdin="the plot was really good\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "label,proba_neg,proba_pos"
    assert "TextSequencer" in run("summary", root / "best.fastrnn").stdout


def test_multi_output_predictions_and_a_sequencer_alone(tmp_path):
    from sklearn.pipeline import make_pipeline

    import fastrnn
    from fastrnn import RNNRegressor, TextSequencer

    texts = ["good film", "bad film", "not good", "not bad at all"] * 10
    targets = np.random.default_rng(0).normal(size=(40, 2))
    fastrnn.save(make_pipeline(TextSequencer(), RNNRegressor(units=4, max_iter=1, random_state=0))
                 .fit(texts, targets), tmp_path / "reg.fastrnn")
    out = run("predict", tmp_path / "reg.fastrnn", "-", stdin="good film\nbad\n")
    assert out.returncode == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["prediction_0", "prediction_1"] and len(rows) == 3
    assert all(np.isfinite([float(v) for v in row]).all() for row in rows[1:])
    fastrnn.save(TextSequencer(maxlen=5).fit(texts), tmp_path / "seq.fastrnn")
    out = run("summary", tmp_path / "seq.fastrnn")
    assert out.returncode == 0 and "TextSequencer:" in out.stdout and "maxlen=5" in out.stdout, \
        out.stderr


def test_evaluate_and_summary(trained):
    _, data, model, _ = trained
    out = run("evaluate", model, data, "--text-col", "review", "--label-col", "sentiment")
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.split("accuracy: ")[1].split()[0]) > 0.9
    assert "loss: " in out.stdout and "precision" in out.stdout and "neg" in out.stdout
    out = run("summary", model)
    assert out.returncode == 0, out.stderr
    assert "TextSequencer" in out.stdout and "GRU" in out.stdout and "Total params" in out.stdout


def test_train_sizes_the_embedding_from_the_vocabulary(tmp_path, capsys):
    """Words seen only where --maxlen truncates them still get ids the model accepts later."""
    data = tmp_path / "long.csv"
    rows = ["text,label"] + [f"rare{i} a b c d e,{i % 2}" for i in range(40)]
    data.write_text("\n".join(rows) + "\n")
    out = run_in_process(capsys, "train", data, "--maxlen", "3", "--epochs", "1", "--units", "4",
                         "-q", "--no-curves", "-o", tmp_path / "m.fastrnn")
    assert out.returncode == 0, out.stderr
    later = tmp_path / "later.csv"
    later.write_text("text,label\nd rare7 e,1\nrare8 c,0\n")
    out = run_in_process(capsys, "evaluate", tmp_path / "m.fastrnn", later)
    assert out.returncode == 0, out.stderr
    assert "samples: 2" in out.stdout


def test_keras_format_npz_train_predict_evaluate(tmp_path):
    X, y = make_long_range_task(n_samples=300, n_timesteps=8, distance=3, random_state=0)
    ids = np.empty(len(X), dtype=object)
    ids[:] = [list(map(int, row[row > 0])) for row in X]
    data = tmp_path / "ids.npz"
    np.savez(data, x_train=ids[:200], y_train=y[:200], x_test=ids[200:], y_test=y[200:])
    model = tmp_path / "ids.fastrnn"
    out = run("train", data, "--epochs", "2", "--maxlen", "8", "--units", "4", "-q",
              "--no-curves", "-o", model)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # --quiet
    out = run("predict", model, data)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) == 101
    out = run("evaluate", model, data)
    assert out.returncode == 0 and "samples: 100" in out.stdout, out.stderr
    assert_one_line_error(run("predict", model, tmp_path / "missing.txt"), "no such file")
    # an id that only the validation rows hold is in the vocabulary (max id + 1 of the file)
    ids[:10] = [[5, 900 + i] for i in range(10)]
    np.savez(data, x_train=ids[:200], y_train=y[:200], x_test=ids[200:], y_test=y[200:])
    out = run("train", data, "--epochs", "1", "--maxlen", "8", "--units", "4", "-q",
              "--no-curves", "-o", model)
    assert out.returncode == 0, out.stderr
    assert fastrnn.load(model).vocab_size_ == 910
    assert_one_line_error(run("train", data, "-o", model, "--patience", "0"), "patience")


def run_in_process(capsys, *args):
    """The same ``main`` the subprocess runs, without paying for a new interpreter."""
    from fastrnn.cli import main

    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


def test_errors_are_one_clear_line(reviews, trained, tmp_path, capsys):
    root, data = reviews
    _, _, model, _ = trained
    cli = lambda *a: run_in_process(capsys, *a)  # noqa: E731
    assert_one_line_error(cli("train", data, "--text-col", "body"), "'body' not found",
                          "review, sentiment")
    assert_one_line_error(cli("train", tmp_path / "none.csv"), "no such file")
    empty = tmp_path / "empty.csv"
    empty.write_text("text,label\n")
    assert_one_line_error(cli("train", empty), "no data rows")
    one_class = tmp_path / "one.csv"
    one_class.write_text("text,label\na b,1\nc d,1\n")
    assert_one_line_error(cli("train", one_class), "single class")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("text,label\na b,1\nc d\n")
    assert_one_line_error(cli("train", ragged), "line 3")
    not_model = tmp_path / "junk.fastrnn"
    not_model.write_bytes(b"not a zip at all")
    assert_one_line_error(cli("predict", not_model, data), "not a fastrnn model file")
    assert_one_line_error(cli("summary", tmp_path / "nothing.fastrnn"), "no such model file")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert_one_line_error(cli("predict", model, binary))
    ids = tmp_path / "ids.npz"
    arr = np.empty(2, dtype=object)
    arr[:] = [[1, 2], [3]]
    np.savez(ids, x_test=arr)
    assert_one_line_error(cli("predict", model, ids), "reads raw text")


def test_a_broken_model_file_fails_cleanly_in_a_real_process(tmp_path):
    not_model = tmp_path / "junk.fastrnn"
    not_model.write_bytes(b"PK\x03\x04 truncated zip")
    assert_one_line_error(run("summary", not_model), "not a fastrnn model file")


# ------------------------------------------------------------ files the CLI reads and writes
@pytest.fixture(scope="module")
def small_pipeline(tmp_path_factory):
    """A saved text pipeline, trained in-process in a second (the CLI's own model is slower)."""
    from sklearn.pipeline import make_pipeline

    import fastrnn
    from fastrnn import RNNClassifier, TextSequencer

    texts, y = make_negation_sentiment(n_samples=300, return_text=True, random_state=0)
    model = make_pipeline(TextSequencer(maxlen=12),
                          RNNClassifier(units=4, embedding_dim=3, max_iter=2, random_state=0))
    model.fit(texts, np.array(["neg", "pos"])[y])
    path = tmp_path_factory.mktemp("small") / "small.fastrnn"
    fastrnn.save(model, path)
    return path, model


@pytest.mark.parametrize("member", ["MANIFEST.json", "config.json", "arrays/2.npy"])
def test_a_damaged_model_file_is_one_line_and_exit_2(small_pipeline, tmp_path, capsys, member):
    """Regression guard: zlib.error and the others printed a traceback and exited 1."""
    from _modelfile import DAMAGES, damage

    path, _ = small_pipeline
    text = tmp_path / "in.txt"
    text.write_text("a good film\n")
    for how in DAMAGES:
        bad = tmp_path / "bad.fastrnn"
        bad.write_bytes(damage(path.read_bytes(), how, member))
        for command in (("predict", bad, text), ("evaluate", bad, text), ("summary", bad)):
            assert_one_line_error(run_in_process(capsys, *command), str(bad))


def test_a_damaged_model_file_fails_cleanly_in_a_real_process(small_pipeline, tmp_path):
    from _modelfile import damage

    path, _ = small_pipeline
    bad = tmp_path / "bad.fastrnn"
    bad.write_bytes(damage(path.read_bytes(), "invalid deflate block", "config.json"))
    assert_one_line_error(run("summary", bad), "not a fastrnn model file, or truncated/corrupted")


def test_train_checks_the_output_path_before_training(reviews, tmp_path, capsys):
    """Regression guard: -o in a missing directory failed only after the whole training."""
    _, data = reviews
    missing = tmp_path / "missing" / "model.fastrnn"
    for args in (("train", data, "--text-col", "review", "--label-col", "sentiment", "-o", missing),
                 ("train", data, "--text-col", "review", "--label-col", "sentiment",
                  "-o", tmp_path / "m.fastrnn", "--checkpoint", missing),
                 ("train-lm", data, "-o", missing)):
        out = run_in_process(capsys, *args)
        assert_one_line_error(out, str(missing), "does not exist")
        assert out.stdout == "" and "Epoch" not in out.stderr  # nothing was trained
    assert_one_line_error(run_in_process(capsys, "train", data, "-o", tmp_path), "is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_train_refuses_an_unwritable_output_directory(reviews, tmp_path, capsys, monkeypatch):
    _, data = reviews
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root writes anywhere: say what others see
        access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: access(p, mode) and p != str(locked))
    try:
        assert_one_line_error(run_in_process(capsys, "train", data, "-o", locked / "m.fastrnn"),
                              str(locked), "not writable")
    finally:
        locked.chmod(0o700)


def _predictions(out):
    assert out.returncode == 0, out.stderr
    return list(csv.reader(io.StringIO(out.stdout)))[1:]


def test_predict_keeps_one_row_per_input_line(small_pipeline, tmp_path, capsys):
    """Regression guard: blank lines were dropped, so rows stopped lining up with the lines."""
    path, model = small_pipeline
    lines = ["the film was not bad", "", "   ", "the plot was\x0creally good", "bad acting", ""]
    text = tmp_path / "new.txt"
    text.write_bytes("".join(line + "\r\n" for line in lines).encode())  # a form feed inside one
    rows = _predictions(run_in_process(capsys, "predict", path, text))
    assert len(rows) == len(lines) == 6
    expected = model.predict_proba(lines)
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in rows], expected, atol=1e-6)
    assert rows[1] == rows[2] == rows[5]  # blank lines: the padding-only prediction
    stdin = run("predict", path, "-", stdin="".join(line + "\n" for line in lines))
    assert _predictions(stdin) == rows
    text.write_text("a good film\n\nbad")  # no line end after the last line
    assert len(_predictions(run_in_process(capsys, "predict", path, text))) == 3
    text.write_text("\n\n  \n")
    assert_one_line_error(run_in_process(capsys, "predict", path, text), "holds no text")


def test_files_with_a_utf8_byte_order_mark_are_read(small_pipeline, tmp_path, capsys):
    """Regression guard: Excel's "CSV UTF-8" starts with a BOM; the first column was not found."""
    path, model = small_pipeline
    texts, y = make_negation_sentiment(n_samples=40, return_text=True, random_state=5)
    table = tmp_path / "excel.csv"
    with open(table, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(["review", "sentiment"])
        w.writerows(zip(texts, np.array(["neg", "pos"])[y]))
    out = run_in_process(capsys, "evaluate", path, table, "--text-col", "review",
                         "--label-col", "sentiment")
    assert out.returncode == 0 and "samples: 40" in out.stdout, out.stderr
    rows = _predictions(run_in_process(capsys, "predict", path, table, "--text-col", "review"))
    assert [r[0] for r in rows] == list(model.predict(texts))
    lines = tmp_path / "bom.txt"
    lines.write_text("\n".join(texts[:3]) + "\n", encoding="utf-8-sig")
    rows = _predictions(run_in_process(capsys, "predict", path, lines))
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in rows],
                               model.predict_proba(texts[:3]), atol=1e-6)
    out = run_in_process(capsys, "train", table, "--text-col", "review", "--label-col",
                         "sentiment", "--epochs", "1", "--units", "2", "-q", "--no-curves",
                         "-o", tmp_path / "m.fastrnn")
    assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def ids_model(tmp_path_factory):
    """A classifier of token ids 0..19 and an .npz whose test rows hold ids up to 24."""
    import fastrnn
    from fastrnn import RNNClassifier

    root = tmp_path_factory.mktemp("ids")
    X, y = make_long_range_task(n_samples=200, n_timesteps=8, distance=3, random_state=0)
    X = X % 20
    clf = RNNClassifier(units=4, embedding_dim=3, max_iter=1, random_state=0).fit(X, y)
    model = fastrnn.save(clf, root / "ids.fastrnn")
    X_test = X[:30].copy()
    X_test[:3, -1] = [20, 23, 24]
    data = root / "ids.npz"
    np.savez(data, x_test=X_test, y_test=y[:30])
    return model, data, clf, X_test


def test_unknown_ids_are_refused_or_read_as_oov(ids_model, capsys):
    """Regression guard: ids beyond the vocabulary stopped evaluate on an .npz."""
    model, data, clf, X_test = ids_model
    for command in ("predict", "evaluate"):
        assert_one_line_error(run_in_process(capsys, command, model, data), "token ids up to 24",
                              "--unknown-ids oov")
        assert_one_line_error(run_in_process(capsys, command, model, data, "--unknown-ids",
                                             "error"), "--unknown-ids oov")
        out = run_in_process(capsys, command, model, data, "--unknown-ids", "oov")
        assert out.returncode == 0, out.stderr
        warning = out.stderr.strip().splitlines()
        assert len(warning) == 1 and warning[0].startswith("fastrnn: warning:"), out.stderr
        assert "3 token id(s)" in warning[0]
    rows = _predictions(run_in_process(capsys, "predict", model, data, "--unknown-ids", "oov"))
    oov = X_test.copy()
    oov[oov >= 20] = 1
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in rows], clf.predict_proba(oov),
                               atol=1e-6)
    out = run("predict", "--help")
    assert "--unknown-ids {error,oov}" in out.stdout


@pytest.mark.parametrize("at_epoch, saved", [(1, True), (0, False)])
def test_ctrl_c_in_train_exits_130_and_says_what_was_saved(tmp_path, capsys, monkeypatch,
                                                          at_epoch, saved):
    """The fit kept its best weights but train went on as if done: exit 0, 'trained ...'."""
    from fastrnn.callbacks import ProgressLogger

    def interrupt(self, model, epoch, **kw):
        if epoch == at_epoch:
            raise KeyboardInterrupt

    hook = "on_epoch_end" if at_epoch else "on_epoch_begin"
    monkeypatch.setattr(ProgressLogger, hook, interrupt)
    data = tmp_path / "d.csv"
    data.write_text("text,label\n" + "".join(f"w{i % 7} x y,{i % 2}\n" for i in range(60)))
    model = tmp_path / "m.fastrnn"
    out = run_in_process(capsys, "train", data, "--epochs", "4", "--units", "4", "--no-curves",
                         "-o", model)
    assert out.returncode == 130
    assert model.exists() == saved
    if saved:
        assert "interrupted after 2 epoch(s)" in out.stderr and fastrnn.load(model)[-1].n_iter_ == 2
    else:
        assert "before the first epoch ended: nothing saved" in out.stderr


def test_tables_keep_every_row_and_their_texts(small_pipeline, tmp_path, capsys):
    """A TSV text opening with a quote mark swallowed the rows after it (5 rows gave 3
    predictions, exit 0); a CSV with such a quote did the same; predict read a .csv without
    --text-col as lines (its header and label column as text)."""
    path, model = small_pipeline
    texts = ['"oops, it opens with a quote', "the film was not bad", 'says "hi" there',
             '"Stop!" she said', "bad acting"]
    tsv = tmp_path / "q.tsv"
    tsv.write_text("text\tlabel\n" + "".join(f"{t}\tpos\n" for t in texts)
                   + '"a ""quoted"" field"\tneg\n')
    rows = _predictions(run_in_process(capsys, "predict", path, tsv, "--text-col", "text"))
    expected = model.predict_proba(texts + ['a "quoted" field'])
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in rows], expected, atol=1e-6)
    assert _predictions(run_in_process(capsys, "predict", path, tsv)) == rows  # "text" by default
    table = tmp_path / "q.csv"
    with open(table, "w", newline="") as fh:
        csv.writer(fh).writerows([["label", "text"], *(["pos", t] for t in texts)])
    assert _predictions(run_in_process(capsys, "predict", path, table)) == rows[:5]
    broken = tmp_path / "broken.csv"
    broken.write_text('text,label\n"oops opens a quote,pos\nnormal one,neg\nsays "hi" there,pos\n')
    assert_one_line_error(run_in_process(capsys, "predict", path, broken), "broken.csv, line",
                          "quoting")


def test_file_labels_keep_their_names_and_match_the_model(tmp_path, capsys):
    """'007' and '7' merged into one class and 'inf' became -2**63; a test file of 0 and 1 did
    not match a model trained on '0', '1' and 'n/a' (its labels were read as integers)."""
    from fastrnn.datasets._files import class_labels, labels_like

    assert class_labels(np.array(["007", "7", "8"])).tolist() == ["007", "7", "8"]
    assert class_labels(np.array(["inf", "1"])).tolist() == ["inf", "1"]
    assert class_labels(np.array(["0", "-1", "12"])).tolist() == [0, -1, 12]
    assert labels_like(np.array(["0", "1"]), np.array(["0", "1", "n/a"])).tolist() == ["0", "1"]
    assert labels_like(np.array(["0", "x"]), np.array([0, 1])).tolist() == [0, "x"]
    texts, y = make_negation_sentiment(n_samples=120, return_text=True, random_state=0)
    labels = np.array(["0", "1", "n/a"])[y + (np.arange(120) % 7 == 0)]
    train = tmp_path / "train.csv"
    with open(train, "w", newline="") as fh:
        csv.writer(fh).writerows([["text", "label"], *zip(texts, labels)])
    model = tmp_path / "m.fastrnn"
    out = run_in_process(capsys, "train", train, "-o", model, "--epochs", "1", "--units", "2",
                         "--embedding-dim", "2", "--no-curves", "-q")
    assert out.returncode == 0, out.stderr
    assert fastrnn.load(model).steps[-1][1].classes_.tolist() == ["0", "1", "n/a"]
    test = tmp_path / "test.csv"
    with open(test, "w", newline="") as fh:
        csv.writer(fh).writerows([["text", "label"], *zip(texts[:20], y[:20])])
    out = run_in_process(capsys, "evaluate", model, test)
    assert out.returncode == 0, out.stderr
    assert "accuracy" in out.stdout


def test_small_cli_refusals_come_before_any_work(tmp_path, capsys, monkeypatch):
    """Each of these trained (or printed nothing) and exited 0 or failed only at the end."""
    cli = lambda *a: run_in_process(capsys, *a)  # noqa: E731
    ids = tmp_path / "ids.npz"
    rows = np.empty(4, dtype=object)
    rows[:] = [[1, 2], [3, 4], [2, 2], [4, 1]]
    np.savez(ids, x_train=rows, y_train=np.array([0, 1, 0, 1]))
    assert_one_line_error(cli("train", ids, "--vocab-size", "0"), "--vocab-size must be at least 2")
    assert_one_line_error(cli("train", ids, "--char-level"), "--char-level and --max-features")
    assert_one_line_error(cli("train", ids, "--max-features", "10"), "an .npz holds token ids")
    assert_one_line_error(cli("train", ids, "-o", ""), "-o/--output is empty")
    assert_one_line_error(cli("demo", "--curves", tmp_path / "no" / "d.png", "--n-samples", "10"),
                          "--curves", "does not exist")
    # standard input is UTF-8 as files are: an invalid byte is an error, not a guessed text
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"ok\ncaf\xe9\n"), "latin-1"))
    from fastrnn.datasets._files import read_inputs
    with pytest.raises(ValueError, match="standard input, line 2: not UTF-8 text"):
        read_inputs("-")


def test_translate_refuses_a_file_without_text(tmp_path, capsys):
    from fastrnn import RNNSeq2Seq

    model = RNNSeq2Seq(units=4, embedding_dim=4, max_iter=1, early_stopping=False,
                       random_state=0).fit(["ab", "ba"] * 4, ["ba", "ab"] * 4)
    path = tmp_path / "s2s.fastrnn"
    fastrnn.save(model, path)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert_one_line_error(run_in_process(capsys, "translate", path, empty), "holds no text")


def test_a_bad_thread_setting_is_named_not_blamed_on_the_model(small_pipeline, capsys,
                                                                 monkeypatch):
    path, _ = small_pipeline
    monkeypatch.setenv("FASTRNN_NUM_THREADS", "abc")
    assert_one_line_error(run_in_process(capsys, "summary", path), "FASTRNN_NUM_THREADS")


def test_an_integer_label_too_long_for_int64_stays_a_string():
    from fastrnn.datasets._files import class_labels, labels_like

    labels = np.array(["1", "99999999999999999999"])
    assert class_labels(labels).tolist() == ["1", "99999999999999999999"]
    assert labels_like(labels, np.array([0, 1])).tolist() == [1, "99999999999999999999"]


def test_a_tsv_row_split_by_a_line_break_names_the_cause(tmp_path, capsys, small_pipeline):
    path, _ = small_pipeline
    tsv = tmp_path / "t.tsv"
    tsv.write_text('text\tlabel\n"a text\nwith a line break"\tpos\n')
    assert_one_line_error(run_in_process(capsys, "predict", path, tsv), "line 2",
                          "needs a CSV file")


def test_the_reported_loss_is_the_kept_models():
    """After Ctrl-C or early stopping the file holds the best epoch, but the line printed the
    last epoch's loss."""
    from types import SimpleNamespace

    from fastrnn.cli import _kept_loss

    history = {"loss": [1.0, 0.5, 0.7]}
    plain = dict(restore_best_weights=True, early_stopping=False)
    assert _kept_loss(SimpleNamespace(history_=history, stopped_reason_="interrupted",
                                      best_epoch_=1, **plain)) == 0.5
    assert _kept_loss(SimpleNamespace(history_=history, stopped_reason_=None,
                                      best_epoch_=1, **plain)) == 0.7
    # early stopping restores the best epoch at max_iter too (train-seq2seq's default)
    assert _kept_loss(SimpleNamespace(history_=history, stopped_reason_=None, best_epoch_=1,
                                      restore_best_weights=True, early_stopping=True)) == 0.5
    assert _kept_loss(SimpleNamespace(history_=history, stopped_reason_="early_stopping",
                                      best_epoch_=1, restore_best_weights=False,
                                      early_stopping=True)) == 0.7


def test_train_seq2seq_can_train_on_every_pair(tmp_path, capsys):
    """One pair could not be trained on: 10% was always held out for early stopping, and the
    advice named Python parameters."""
    pairs = tmp_path / "one.tsv"
    pairs.write_text("abc\tcba\n")
    out = tmp_path / "m.fastrnn"
    common = ["train-seq2seq", pairs, "-o", out, "--units", "4", "--embedding-dim", "2",
              "--epochs", "1", "-q"]
    assert_one_line_error(run_in_process(capsys, *common), "too few pairs",
                          "--validation-fraction 0")
    done = run_in_process(capsys, *common, "--validation-fraction", "0")
    assert done.returncode == 0, done.stderr
    model = fastrnn.load(out)
    assert model.early_stopping is False and model.n_iter_ == 1
    assert_one_line_error(run_in_process(capsys, *common, "--patience", "0"), "--patience")


@pytest.mark.parametrize("seed", range(4))
def test_train_keeps_a_single_example_class_in_the_training_part(tmp_path, capsys, seed):
    data = tmp_path / "rare.csv"
    rows = ["text,label"] + [f"w{i % 7} x y,{'ab'[i % 2]}" for i in range(19)] + ["w9 z z,c"]
    data.write_text("\n".join(rows) + "\n")
    out = run_in_process(capsys, "train", data, "--epochs", "1", "--units", "4", "--seed", seed,
                         "--validation-fraction", "0.5", "-q", "--no-curves",
                         "-o", tmp_path / "m.fastrnn")
    assert out.returncode == 0, out.stderr
    assert list(fastrnn.load(tmp_path / "m.fastrnn").classes_) == ["a", "b", "c"]


def read_inputs_of(root, data):
    from fastrnn.datasets._files import read_inputs

    path = root / "lines.txt"
    path.write_bytes(data)
    return read_inputs(str(path))


def test_files_that_would_train_or_read_wrongly_are_refused_by_name(small_pipeline, tmp_path,
                                                                     capsys):
    """Each of these trained on the wrong rows or labels, overwrote an input, or printed a
    traceback or a bare decoding error."""
    cli = lambda *a: run_in_process(capsys, *a)  # noqa: E731
    X = np.array([[1, 2, 3], [4, 5, 6]] * 20)
    y = np.array([0, 1] * 20)
    for name, xs, ys in (("long_x.npz", X, y[:30]), ("long_y.npz", X[:30], y)):
        np.savez(tmp_path / name, x_train=xs, y_train=ys, x_test=X[:4], y_test=y[:4])
        assert_one_line_error(cli("train", tmp_path / name, "-o", tmp_path / "m.fastrnn"),
                              f"x_train has {len(xs)} rows but y_train has {len(ys)}")
    table = tmp_path / "labels.csv"
    table.write_text("text,label\n" + "good film,pos\nbad film,neg\ngood movie, pos\n" * 5
                     + "bad movie,\n")
    assert_one_line_error(cli("train", table, "-o", tmp_path / "m.fastrnn"),
                          "1 row(s) have no 'label' (the first is data row 16)")
    from fastrnn.datasets._files import read_labeled

    table.write_text("text,label\n" + "good film,pos\nbad film,neg\ngood movie, pos\n" * 5)
    assert sorted(set(read_labeled(str(table))[1])) == ["neg", "pos"]  # " pos" is "pos"
    copy = tmp_path / "data.csv"
    copy.write_bytes(table.read_bytes())
    assert_one_line_error(cli("train", copy, "-o", copy), "is the input file")
    assert_one_line_error(cli("train-lm", copy, "-o", copy), "is the input file")
    assert copy.read_bytes() == table.read_bytes()
    path, model = small_pipeline
    onnx_named = tmp_path / "model.onnx"
    onnx_named.write_bytes(path.read_bytes())
    assert_one_line_error(cli("export", onnx_named), "is the input file")
    assert_one_line_error(cli("export", path, "-o", path), "is the input file")
    assert fastrnn.load(onnx_named) is not None and fastrnn.load(path) is not None
    from fastrnn import TextSequencer

    fastrnn.save(TextSequencer(maxlen=5).fit(["a b", "c d"]), tmp_path / "seq.fastrnn")
    assert_one_line_error(cli("predict", tmp_path / "seq.fastrnn", table),
                          "holds a TextSequencer, not a model that predicts")
    assert_one_line_error(cli("train", table, "-o", tmp_path / "m.fastrnn",
                              "--validation-fraction", "0"), "--validation-fraction must be in (0, 1)")
    assert_one_line_error(cli("train-lm", table, "-o", tmp_path / "m.fastrnn", "--epochs", "0"),
                          "--epochs must be at least 1, got 0")
    assert_one_line_error(cli("train", table, "-o", tmp_path / "m.fastrnn", "--units", "8", "0"),
                          "--units must be at least 1, got 0")
    from fastrnn.datasets._files import read_text

    marked = tmp_path / "marked.txt"  # the byte-order mark does not shift the line
    marked.write_bytes(b"\xef\xbb\xbfa\nb\nc\n\xe9x\n")
    with pytest.raises(ValueError, match="marked.txt, line 4: not UTF-8 text"):
        read_text(marked)
    assert read_inputs_of(tmp_path, b"good\rbad\rok\r") == ["good", "bad", "ok"]  # \r only
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\ngood,pos\ntr\u00e8s bien,pos\n".encode("latin-1"))
    assert_one_line_error(cli("train", latin, "-o", tmp_path / "m.fastrnn"),
                          "latin.csv, line 3: not UTF-8 text")
    lines = tmp_path / "cr.txt"
    lines.write_bytes(b"good\rfilm\nbad film\n")  # a lone carriage return is not a line end
    out = cli("predict", path, lines)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.strip().splitlines()) == 3  # the header and one row per line
    old = tmp_path / "old.csv"  # a model whose classes carry spaces (" pos"), files' labels none
    old.write_text("text,label\n" + "good film,pos\nbad film,neg\n" * 10)
    spaced = fastrnn.load(path)
    spaced[-1].classes_ = np.array([" neg", " pos"])
    fastrnn.save(spaced, tmp_path / "spaced.fastrnn")
    out = cli("evaluate", tmp_path / "spaced.fastrnn", old)
    assert out.returncode == 0 and "accuracy" in out.stdout, out.stderr
