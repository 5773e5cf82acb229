"""ONNX export: ONNX Runtime's outputs equal fastrnn's on generated configurations."""

import warnings

import numpy as np
import pytest

import fastrnn
from fastrnn import RNNClassifier, RNNRegressor, RNNSequenceTagger

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

ATOL = 1e-5
VOCAB = 17
T_IN = 7


def _token_batch(rng, n=24, T=T_IN):
    """Ids with pre-, post- and mid-row padding and all-padding rows."""
    X = rng.integers(1, VOCAB, (n, T))
    X[0:4, :3] = 0             # pre-padded
    X[4:8, -3:] = 0            # post-padded
    X[8:10, 1::2] = 0          # padding between real steps
    X[10] = 0                  # all padding
    X[11, :-1] = 0             # one real step, at the end
    X[12, 1:] = 0              # one real step, at the start
    return X


def _pre_padded(X):
    """The same rows with their real ids moved to the end (Keras's pad_sequences default)."""
    out = np.zeros_like(X)
    for i, row in enumerate(X):
        real = row[row != 0]
        if len(real):
            out[i, -len(real):] = real
    return out


def _post_padded(X):
    out = np.zeros_like(X)
    for i, row in enumerate(X):
        real = row[row != 0]
        out[i, :len(real)] = real
    return out


def _session(model, **kwargs):
    onx = fastrnn.to_onnx(model, **kwargs)
    onnx.checker.check_model(onx, full_check=True)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(onx.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _config(kind="classifier", cell="lstm", head="last", inp="tokens", **params):
    return {"kind": kind, "cell": cell, "head": head, "inp": inp, **params}


def _configs():
    out = []
    for cell in ("simple", "lstm", "gru"):
        for head in ("last", "mean", "max", "flatten"):
            out.append(_config(cell=cell, head=head))
        out.append(_config(kind="tagger", cell=cell, head="sequence"))
        out.append(_config(cell=cell, head="mean", bidirectional=True, units=(4, 3)))
        out.append(_config(cell=cell, head="last", inp="onehot", bidirectional=True))
        out.append(_config(kind="regressor", cell=cell, head="max", inp="dense"))
        out.append(_config(kind="regressor", cell=cell, head="flatten", inp="dense", units=(3, 4)))
    out += [
        _config(cell="gru", reset_after=False, head="last"),
        _config(cell="gru", reset_after=False, head="max", bidirectional=True, units=(3, 3)),
        _config(cell="gru", reset_after=False, inp="onehot", head="mean"),
        _config(kind="tagger", cell="gru", reset_after=False, bidirectional=True),
        _config(kind="tagger", cell="lstm", bidirectional=True, units=(4, 3)),
        _config(kind="tagger", cell="simple", inp="onehot", bidirectional=True),
        _config(cell="lstm", head="flatten", bidirectional=True),
        _config(cell="lstm", activation="relu", recurrent_activation="hard_sigmoid"),
        _config(cell="gru", activation="linear", recurrent_activation="hard_sigmoid", head="mean"),
        _config(cell="simple", activation="relu", head="max", bidirectional=True),
        _config(cell="lstm", activation="hard_sigmoid", head="mean", bidirectional=True),
        _config(cell="gru", activation="linear", head="last"),
        _config(cell="simple", activation="hard_sigmoid", inp="onehot", head="mean"),
        _config(cell="simple", activation="linear", use_bias=False),
        _config(cell="lstm", use_bias=False, head="mean"),
        _config(cell="gru", binary=True, head="last", bidirectional=True),
        _config(cell="lstm", string_classes=True, head="max"),
        _config(kind="regressor", cell="gru", head="mean", multi_output=True),
        _config(kind="regressor", cell="lstm", head="last", inp="dense", bidirectional=True),
        _config(kind="classifier", cell="simple", head="mean", inp="dense"),
    ]
    return out


CONFIGS = _configs()


def _id(c):
    extra = "-".join(f"{k}={v}" for k, v in c.items() if k not in ("kind", "cell", "head", "inp"))
    return f"{c['kind']}-{c['cell']}-{c['head']}-{c['inp']}" + (f"-{extra}" if extra else "")


def _fit(c, rng):
    c = dict(c)
    kind, head, inp = c.pop("kind"), c.pop("head"), c.pop("inp")
    binary, string_classes = c.pop("binary", False), c.pop("string_classes", False)
    multi_output = c.pop("multi_output", False)
    common = dict(units=c.pop("units", 4), embedding_dim=3, max_iter=2, batch_size=8,
                  random_state=0, **c)
    if inp == "onehot":
        common["input_encoding"] = "onehot"
    if inp == "dense":
        X = rng.normal(size=(24, 5, 3))
    else:
        X = _token_batch(rng)
    n = len(X)
    if kind == "tagger":
        Y = rng.integers(0, 3, X.shape)
        return RNNSequenceTagger(**common).fit(X, Y), X
    if kind == "regressor":
        y = rng.normal(size=(n, 2)) if multi_output else rng.normal(size=n)
        return RNNRegressor(head=head, **common).fit(X, y), X
    y = rng.integers(0, 2 if binary else 3, n)
    if string_classes:
        y = np.array(["cat", "dog", "eel"])[y]
    return RNNClassifier(head=head, **common).fit(X, y), X


def _run(sess, X):
    feed = X.astype(np.int64) if X.dtype.kind in "iu" else X.astype(np.float32)
    return sess.run(None, {"X": feed})


@pytest.mark.parametrize("c", CONFIGS, ids=[_id(c) for c in CONFIGS])
def test_onnx_runtime_matches_predict(c):
    rng = np.random.default_rng(0)
    model, X = _fit(c, rng)
    sess = _session(model)
    batches = [X]
    if X.ndim == 2:
        batches += [_pre_padded(X), _post_padded(X)]
        if c["head"] != "flatten":  # a longer input than in training, extra padding up front
            batches.append(np.hstack([np.zeros((len(X), 3), X.dtype), X]))
    for Xb in batches:
        outs = _run(sess, Xb)
        if c["kind"] == "regressor":
            np.testing.assert_allclose(outs[0], model.predict(Xb), rtol=ATOL, atol=ATOL)
            continue
        labels, proba = outs
        np.testing.assert_allclose(proba, model.predict_proba(Xb), rtol=0, atol=ATOL)
        np.testing.assert_array_equal(labels, model.predict(Xb))


def test_enough_configurations():
    assert len(CONFIGS) >= 30
    cells = {c["cell"] for c in CONFIGS}
    heads = {c["head"] for c in CONFIGS}
    assert cells == {"simple", "lstm", "gru"}
    assert heads == {"last", "mean", "max", "flatten", "sequence"}
    assert {c["inp"] for c in CONFIGS} == {"tokens", "onehot", "dense"}


def test_writes_file_and_options(tmp_path):
    rng = np.random.default_rng(1)
    model, X = _fit(_config(cell="gru", head="mean"), rng)
    path = tmp_path / "model.onnx"
    onx = fastrnn.to_onnx(model, path, opset=14)
    assert path.exists()
    loaded = onnx.load(str(path))
    assert loaded.graph == onx.graph
    assert [o.version for o in loaded.opset_import if o.domain == ""] == [14]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(_run(sess, X)[1], model.predict_proba(X), atol=ATOL)
    onx64 = fastrnn.to_onnx(model, dtype="float64")
    onnx.checker.check_model(onx64, full_check=True)
    assert onx64.graph.output[1].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


@pytest.mark.parametrize("c", [_config(cell="lstm", head="max"), _config(cell="gru", head="flatten"),
                               _config(kind="regressor", cell="simple", head="mean", inp="dense"),
                               _config(kind="regressor", cell="gru", head="max", inp="dense")],
                         ids=_id)
def test_oldest_opset(c):
    """Opset 14 takes reduction axes as attributes (ReduceMax, ReduceMean)."""
    model, X = _fit(c, np.random.default_rng(3))
    outs = _run(_session(model, opset=14), X)
    expected = model.predict(X) if c["kind"] == "regressor" else model.predict_proba(X)
    np.testing.assert_allclose(outs[-1] if c["kind"] != "regressor" else outs[0], expected,
                               rtol=ATOL, atol=ATOL)


def test_bad_arguments():
    rng = np.random.default_rng(2)
    model, _ = _fit(_config(cell="simple"), rng)
    with pytest.raises(ValueError, match="opset"):
        fastrnn.to_onnx(model, opset=7)
    with pytest.raises(ValueError, match="dtype"):
        fastrnn.to_onnx(model, dtype="int32")
    with pytest.raises(TypeError, match="model must be"):
        fastrnn.to_onnx(object())
    with pytest.raises(TypeError, match="RNNLanguageModel"):
        fastrnn.to_onnx(fastrnn.RNNLanguageModel())
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        fastrnn.to_onnx(RNNClassifier())


def test_import_does_not_load_onnx():
    import subprocess
    import sys

    code = "import sys, fastrnn; fastrnn.to_onnx; assert 'onnx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_onnx_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError("No module named 'onnx'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with pytest.raises(ImportError, match=r'pip install "fastrnn\[onnx\]"'):
        fastrnn.to_onnx(RNNClassifier())


# ------------------------------------------------------------------ raw-text pipelines
TEXTS = ["Hello world, this is GREAT!", "bad bad movie...", "I don't like it", "École déjà vu",
         "ÉCOLE is great", "", "what? a good film", "Zebras don't fly; birds do.",
         "great great great good", "terrible, TERRIBLE", "यह फिल्म पसंद है"] * 3
NEW_TEXTS = TEXTS[:10] + ["", "HELLO!!!", "unknown words only", "Great, GREAT, great.",
                          "école Déjà", "a'b 'c' d'", "  ", "ÉCOLE", "x" * 40, "good " * 30,
                          # combining marks are word characters: vowel signs, points, NFD accents
                          "यह फिल्म अच्छी है", "مُعَلِّم جيد", "cafe\u0301 de\u0301ja\u0300 vu"]

PIPELINES = [
    ({}, "last"),
    ({"maxlen": 5}, "flatten"),
    ({"maxlen": 4, "padding": "post", "truncating": "post"}, "flatten"),
    ({"oov_token": None, "maxlen": 6, "truncating": "post"}, "mean"),
    ({"lowercase": False}, "max"),
    ({"char_level": True, "maxlen": 12}, "flatten"),
    ({"stop_words": "english", "max_features": 8}, "last"),
    ({"min_df": 2, "padding": "post", "oov_token": None}, "max"),
    ({"stop_words": ["École", "is", "Bad", "déjà"], "maxlen": 7}, "mean"),
    ({"stop_words": ["École", "is", "Bad"], "lowercase": False}, "last"),
    # an entry that is not lowercase shadowed the lowercase one in the graph, never in Python
    ({"vocabulary": ["École", "école", "great", "Great", "bad", "déjà"]}, "last"),
]


@pytest.mark.parametrize("seq_params, head", PIPELINES, ids=[f"{p}-{h}" for p, h in PIPELINES])
def test_text_pipeline_matches_predict(seq_params, head):
    from sklearn.pipeline import make_pipeline

    y = np.arange(len(TEXTS)) % 3
    pipe = make_pipeline(fastrnn.TextSequencer(**seq_params),
                         RNNClassifier(units=4, embedding_dim=3, max_iter=2, random_state=0, head=head,
                                       cell="gru", bidirectional=True))
    pipe.fit(TEXTS, y)
    onx = fastrnn.to_onnx(pipe)
    onnx.checker.check_model(onx)
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    for texts in (NEW_TEXTS, ["", ""], ["", "zebras"]):
        labels, proba = sess.run(None, {"X": np.array(texts, dtype=object)})
        np.testing.assert_allclose(proba, pipe.predict_proba(texts), rtol=0, atol=ATOL)
        np.testing.assert_array_equal(labels, pipe.predict(texts))


def test_text_pipeline_oldest_opset():
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(fastrnn.TextSequencer(padding="post"),
                         RNNClassifier(units=3, embedding_dim=2, max_iter=1, random_state=0))
    pipe.fit(TEXTS, np.arange(len(TEXTS)) % 2)
    onx = fastrnn.to_onnx(pipe, opset=14)
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    proba = sess.run(None, {"X": np.array(NEW_TEXTS, dtype=object)})[1]
    np.testing.assert_allclose(proba, pipe.predict_proba(NEW_TEXTS), rtol=0, atol=ATOL)


def test_benchmark_script_runs():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "bench" / "onnx_inference.py"
    result = subprocess.run([sys.executable, str(script), "--tiny", "--configs", "C2", "C5",
                             "--rounds", "1", "--n-batches", "1", "--settle-ms", "0"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line.split() for line in result.stdout.splitlines() if line[:1] == "C" and line[1:2].isdigit()]
    assert [r[0] for r in rows] == ["C2", "C5"]
    assert all(float(r[-1]) < ATOL for r in rows)  # the two runtimes' probabilities agree


def test_text_pipeline_errors_name_the_setting():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    y = np.arange(len(TEXTS)) % 2
    clf = RNNClassifier(units=2, embedding_dim=2, max_iter=1, random_state=0)
    bad = [
        (fastrnn.TextSequencer(tokenizer=str.split), "tokenizer"),
        (fastrnn.TextSequencer(token_pattern=r"\w+"), "token_pattern"),
    ]
    for seq, name in bad:
        pipe = make_pipeline(seq, clf).fit(TEXTS, y)
        with pytest.raises(ValueError, match=name):
            fastrnn.to_onnx(pipe)
    pipe = make_pipeline(FunctionTransformer(), fastrnn.TextSequencer(), clf).fit(TEXTS, y)
    with pytest.raises(ValueError, match="TextSequencer then"):
        fastrnn.to_onnx(pipe)


def test_cli_export_saved_pipeline(tmp_path):
    from sklearn.pipeline import make_pipeline

    from fastrnn.cli import main

    pipe = make_pipeline(fastrnn.TextSequencer(maxlen=6),
                         RNNClassifier(units=3, embedding_dim=2, max_iter=1, random_state=0))
    pipe.fit(TEXTS, np.arange(len(TEXTS)) % 2)
    path = tmp_path / "pipe.fastrnn"
    fastrnn.save(pipe, path)
    lines = []
    assert main(["export", str(path)], out=lines.append) == 0
    target = tmp_path / "pipe.onnx"
    assert lines == [f"ONNX model written to {target}"]
    sess = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    proba = sess.run(None, {"X": np.array(NEW_TEXTS, dtype=object)})[1]
    np.testing.assert_allclose(proba, pipe.predict_proba(NEW_TEXTS), rtol=0, atol=ATOL)
    assert main(["export", str(path), "-o", str(tmp_path / "a.onnx"), "--opset", "3"]) == 2


def test_skl2onnx_converts_pipeline_and_estimator():
    skl2onnx = pytest.importorskip("skl2onnx")
    from skl2onnx.common.data_types import StringTensorType
    from sklearn.pipeline import make_pipeline

    from fastrnn.export import register_skl2onnx

    register_skl2onnx()
    y = np.array(["neg", "pos", "mid"])[np.arange(len(TEXTS)) % 3]
    pipe = make_pipeline(fastrnn.TextSequencer(maxlen=6, stop_words="english"),
                         RNNClassifier(units=3, embedding_dim=2, max_iter=1, random_state=0,
                                       cell="lstm", bidirectional=True))
    pipe.fit(TEXTS, y)
    onx = skl2onnx.to_onnx(pipe, initial_types=[("X", StringTensorType([None, 1]))])
    onnx.checker.check_model(onx)  # every output declares its shape
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, proba = sess.run(None, {"X": np.array(NEW_TEXTS, dtype=object).reshape(-1, 1)})
    np.testing.assert_allclose(proba, pipe.predict_proba(NEW_TEXTS), rtol=0, atol=ATOL)
    np.testing.assert_array_equal(labels, pipe.predict(NEW_TEXTS))

    X = pipe[0].transform(TEXTS)
    onx = skl2onnx.to_onnx(pipe[-1], X[:1].astype(np.int64))
    onnx.checker.check_model(onx)
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    proba = sess.run(None, {"X": X.astype(np.int64)})[1]
    np.testing.assert_allclose(proba, pipe[-1].predict_proba(X), rtol=0, atol=ATOL)


@pytest.mark.parametrize("cell, head", [("lstm", "last"), ("gru", "mean"), ("simple", "max")])
def test_skl2onnx_converts_a_model_of_float_sequences(cell, head):
    """Full-length float rows omit the recurrent operator's sequence_lens (skl2onnx refused an
    input named "")."""
    skl2onnx = pytest.importorskip("skl2onnx")
    from skl2onnx.common.data_types import FloatTensorType

    from fastrnn.export import register_skl2onnx

    register_skl2onnx()
    X = np.random.default_rng(0).normal(size=(40, 6, 3)).astype(np.float32)
    clf = RNNClassifier(cell=cell, head=head, units=5, max_iter=1, random_state=0)
    clf.fit(X, np.arange(40) % 2)
    onx = skl2onnx.to_onnx(clf, initial_types=[("X", FloatTensorType([None, 6, 3]))])
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, proba = sess.run(None, {"X": X})
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=ATOL)
    np.testing.assert_array_equal(labels, clf.predict(X))
    assert not any(name == "" for node in fastrnn.to_onnx(clf).graph.node for name in node.input)


def test_a_model_of_float_sequences_of_several_lengths_warns_and_matches_unpadded_rows():
    """The graph has no mask input: padded rows of a masked model were silently off by 0.03."""
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(rng.integers(2, 8), 2)) for _ in range(30)]
    model = RNNClassifier(units=3, max_iter=2, random_state=0).fit(seqs, np.arange(30) % 2)
    with pytest.warns(UserWarning, match="no input for: it reads every step of X as real"):
        onx = fastrnn.to_onnx(model)
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    for row in seqs[:3]:
        _, proba = sess.run(None, {"X": row[None].astype(np.float32)})
        np.testing.assert_allclose(proba, model.predict_proba([row]), atol=1e-5)
    equal = RNNClassifier(units=3, max_iter=1, random_state=0).fit(np.stack([s[:2] for s in seqs]),
                                                                   np.arange(30) % 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastrnn.to_onnx(equal)


def _in_child(code, path):
    """Run ``code`` (reading ``PATH``) in a fresh interpreter: a crash there fails this test only."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", code.replace("PATH", repr(str(path)))],
                          capture_output=True, text=True, timeout=300)


def test_text_graph_passes_onnx_shape_inference(tmp_path):
    """The Tokenizer's output is typed: onnx's inference of the LabelEncoder reading it crashed."""
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(fastrnn.TextSequencer(maxlen=4),
                         RNNClassifier(units=3, embedding_dim=2, max_iter=1, random_state=0))
    pipe.fit(TEXTS, np.arange(len(TEXTS)) % 2)
    onnx.save(fastrnn.to_onnx(pipe), tmp_path / "text.onnx")
    done = _in_child("import onnx; m = onnx.load(PATH); onnx.checker.check_model(m, full_check=True); "
                     "onnx.shape_inference.infer_shapes(m, strict_mode=True); print('ok')",
                     tmp_path / "text.onnx")
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


@pytest.mark.parametrize("cell, inp", [("lstm", "tokens"), ("gru", "tokens"), ("gru", "floats"),
                                       ("simple", "tokens")])
def test_a_request_of_no_rows_gives_empty_outputs(tmp_path, cell, inp):
    """ONNX Runtime's LSTM and GRU crashed the process on a batch of 0 rows."""
    rng = np.random.default_rng(0)
    X = rng.integers(1, 9, size=(30, 6)) if inp == "tokens" else rng.normal(size=(30, 6, 2))
    y = np.arange(30) % 3
    model = RNNClassifier(cell=cell, units=3, embedding_dim=2, max_iter=1, random_state=0).fit(X, y)
    onnx.save(fastrnn.to_onnx(model), tmp_path / "m.onnx")
    empty = "np.zeros((0, 6), np.int64)" if inp == "tokens" else "np.zeros((0, 6, 2), np.float32)"
    done = _in_child("import numpy as np, onnxruntime as ort; "
                     "s = ort.InferenceSession(PATH, providers=['CPUExecutionProvider']); "
                     f"label, proba = s.run(None, {{'X': {empty}}}); print(label.shape, proba.shape)",
                     tmp_path / "m.onnx")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[0] == "(0,) (0, 3)"
    sess = _session(model)  # and on rows, unchanged
    X1 = X[:1].astype(np.int64) if inp == "tokens" else X[:1].astype(np.float32)
    np.testing.assert_allclose(sess.run(None, {"X": X1})[1], model.predict_proba(X[:1]),
                               rtol=0, atol=ATOL)


def test_export_warns_when_the_sequencer_gives_ids_the_classifier_lacks():
    from sklearn.pipeline import make_pipeline

    texts = ["zebra quokka the film was good", "the film was bad", "a good film", "a bad film"] * 3
    pipe = make_pipeline(fastrnn.TextSequencer(maxlen=3),
                         RNNClassifier(units=3, embedding_dim=2, max_iter=1, random_state=0))
    pipe.fit(texts, [1, 0, 1, 0] * 3)
    assert pipe[0].vocab_size_ > pipe[1].vocab_size_
    with pytest.warns(UserWarning, match="vocab_size=<sequencer>.vocab_size_ or unknown_ids='oov'"):
        fastrnn.to_onnx(pipe)
    pipe[1].set_params(unknown_ids="oov")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastrnn.to_onnx(pipe)


def test_capitals_that_python_lowercases_irregularly_match_their_words():
    """'İstanbul' lowercases to 'i̇stanbul' (i and a combining dot): the graph read it as unknown."""
    from sklearn.pipeline import make_pipeline

    texts = ["İstanbul çok güzel", "İzmir güzel değil", "die straße ist gut", "hava kötü"] * 5
    pipe = make_pipeline(fastrnn.TextSequencer(maxlen=4),
                         RNNClassifier(units=3, embedding_dim=2, max_iter=1, random_state=0))
    pipe.fit(texts, [1, 0, 1, 0] * 5)
    sess = ort.InferenceSession(fastrnn.to_onnx(pipe).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    new = ["İstanbul güzel", "İSTANBUL değil", "DIE STRAẞE", "Straße kötü"]
    assert (pipe[0].transform(new) != 1).all()  # every word known to Python (1: unknown)
    proba = sess.run(None, {"X": np.array(new, dtype=object)})[1]
    np.testing.assert_allclose(proba, pipe.predict_proba(new), rtol=0, atol=ATOL)
