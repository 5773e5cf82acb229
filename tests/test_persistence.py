"""fastrnn.save / fastrnn.load: round trips, atomic writes, refusal of bad files, checkpoints."""

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

import fastrnn
from fastrnn import ModelFileError, RNNClassifier, RNNRegressor, TextSequencer
from fastrnn.datasets import make_negation_sentiment

from _modelfile import DAMAGES
from _modelfile import central_entry as _central_entry
from _modelfile import damage as _damage
from _modelfile import members as _members
from _modelfile import reseal as _reseal
from _modelfile import rewrite as _rewrite

FAST = dict(units=4, embedding_dim=3, max_iter=2, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def text_task():
    texts, y = make_negation_sentiment(n_samples=240, return_text=True, random_state=1)
    return texts, np.array(["negative", "positive"])[y]


@pytest.fixture(scope="module")
def text_pipeline(text_task):
    return make_pipeline(TextSequencer(maxlen=10), RNNClassifier(**FAST)).fit(*text_task)


def test_pipeline_on_raw_text_round_trips_exactly(text_pipeline, text_task, tmp_path):
    texts, _ = text_task
    path = tmp_path / "model.fastrnn"
    fastrnn.save(text_pipeline, path)
    loaded = fastrnn.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(texts), text_pipeline.predict_proba(texts))
    np.testing.assert_array_equal(loaded.predict(texts), text_pipeline.predict(texts))
    assert loaded[0].vocabulary_ == text_pipeline[0].vocabulary_
    assert loaded[-1].get_params() == text_pipeline[-1].get_params()
    assert list(loaded[-1].classes_) == ["negative", "positive"]


def test_loaded_model_continues_training_like_the_original(text_task, tmp_path):
    """Optimizer moments and the random generator are saved too: warm starts agree bit for bit."""
    texts, y = text_task
    X = TextSequencer(maxlen=10).fit_transform(texts)
    original = RNNClassifier(**FAST, warm_start=True).fit(X, y)
    original.save(tmp_path / "m.fastrnn")
    loaded = fastrnn.load(tmp_path / "m.fastrnn")
    original.fit(X, y)
    loaded.fit(X, y)
    assert loaded.n_iter_ == original.n_iter_ == 4
    np.testing.assert_array_equal(loaded.predict_proba(X), original.predict_proba(X))


@pytest.mark.parametrize("kw", [dict(cell="gru", units=(3, 2), bidirectional=True, optimizer="sgd",
                                     momentum=0.9),
                                dict(cell="simple", optimizer="rmsprop", dtype="float64")])
def test_regressor_and_dense_input_round_trip(kw, rng, tmp_path):
    X = rng.normal(size=(40, 6, 3))
    y = np.c_[X[:, -1, 0], X[:, 0, 1]]
    reg = RNNRegressor(**{**FAST, **kw}).fit(X, y)
    loaded = fastrnn.load(reg.save(tmp_path / "r.fastrnn"))
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    assert loaded.predict(X).shape == (40, 2)
    assert [w.dtype for w in loaded.get_weights()] == [w.dtype for w in reg.get_weights()]


def test_pickle_and_joblib_still_work(text_pipeline, text_task):
    joblib = pytest.importorskip("joblib")
    texts, _ = text_task
    buf = io.BytesIO()
    joblib.dump(text_pipeline, buf)
    buf.seek(0)
    for clone in (pickle.loads(pickle.dumps(text_pipeline)), joblib.load(buf)):
        np.testing.assert_array_equal(clone.predict_proba(texts), text_pipeline.predict_proba(texts))


def test_file_holds_no_pickle_and_records_versions(text_pipeline, tmp_path):
    path = fastrnn.save(text_pipeline, tmp_path / "m.fastrnn")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        config = json.loads(zf.read("config.json"))
        for name in names:
            if name.endswith(".npy"):
                np.load(io.BytesIO(zf.read(name)), allow_pickle=False)  # raises on object arrays
    assert config["format_version"] == fastrnn.persistence.FORMAT_VERSION
    assert config["fastrnn_version"] == fastrnn.__version__
    assert config["model"]["steps"][0][1]["class"] == "TextSequencer"


def test_unfitted_or_foreign_models_are_refused(tmp_path):
    from sklearn.exceptions import NotFittedError
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(NotFittedError):
        fastrnn.save(RNNClassifier(), tmp_path / "x.fastrnn")
    fitted = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(TypeError, match="fastrnn estimators"):
        fastrnn.save(fitted, tmp_path / "x.fastrnn")
    assert not os.listdir(tmp_path)


def test_callable_tokenizer_cannot_be_saved(tmp_path):
    seq = TextSequencer(tokenizer=str.split).fit(["a b", "b c"])
    with pytest.raises(TypeError, match="callable tokenizer"):
        fastrnn.save(seq, tmp_path / "t.fastrnn")


def test_failed_save_keeps_the_previous_file(text_pipeline, tmp_path, monkeypatch):
    path = tmp_path / "m.fastrnn"
    fastrnn.save(text_pipeline, path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(fastrnn.persistence.os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        fastrnn.save(text_pipeline, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.fastrnn"]  # no temporary file left behind


@pytest.fixture
def saved(text_pipeline, tmp_path):
    return fastrnn.save(text_pipeline, tmp_path / "good.fastrnn")


def test_truncated_file_is_refused(saved, tmp_path):
    data = open(saved, "rb").read()
    for cut in (0, 10, len(data) // 2, len(data) - 5):
        bad = tmp_path / f"cut{cut}.fastrnn"
        bad.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match="truncated|corrupted|not a fastrnn"):
            fastrnn.load(bad)


def test_flipped_weight_bytes_fail_the_checksum(saved, tmp_path):
    bad = tmp_path / "bad.fastrnn"

    def flip(name, data):
        if name == "arrays/1.npy":
            return data[:-4] + bytes(b ^ 0xFF for b in data[-4:])
        return data

    _rewrite(saved, bad, flip)
    with pytest.raises(ModelFileError, match="checksum mismatch in arrays/1.npy"):
        fastrnn.load(bad)


def test_edited_config_and_missing_members_are_refused(saved, tmp_path):
    bad = tmp_path / "bad.fastrnn"
    _rewrite(saved, bad, lambda n, d: d.replace(b'"units": 4', b'"units": 40'))
    with pytest.raises(ModelFileError, match="checksum mismatch in config.json"):
        fastrnn.load(bad)
    _rewrite(saved, bad, lambda n, d: None if n == "arrays/0.npy" else d)
    with pytest.raises(ModelFileError, match="do not match the manifest"):
        fastrnn.load(bad)


def test_resealed_inconsistent_shapes_are_refused(saved, tmp_path):
    """Even with valid checksums, weights must fit the configuration (kernels trust shapes)."""
    bad = tmp_path / "bad.fastrnn"
    _rewrite(saved, bad, lambda n, d: d.replace(b'"units": 4', b'"units": 5'))
    _reseal(bad)
    with pytest.raises(ModelFileError, match="weight .* expected"):
        fastrnn.load(bad)


def test_pickled_payloads_and_unknown_classes_are_refused(saved, tmp_path):
    bad = tmp_path / "bad.fastrnn"

    def evil_array(name, data):
        if name == "arrays/0.npy":
            buf = io.BytesIO()
            np.save(buf, np.array([print], dtype=object), allow_pickle=True)
            return buf.getvalue()
        return data

    _rewrite(saved, bad, evil_array)
    _reseal(bad)
    with pytest.raises(ModelFileError, match="arrays/0.npy holds an array of dtype object"):
        fastrnn.load(bad)
    _rewrite(saved, bad, lambda n, d: d.replace(b'"class": "TextSequencer"',
                                                b'"class": "subprocess.Popen"'))
    _reseal(bad)
    with pytest.raises(ModelFileError, match="unknown model class"):
        fastrnn.load(bad)


def test_other_format_versions_and_non_models_are_refused(saved, tmp_path):
    bad = tmp_path / "bad.fastrnn"
    _rewrite(saved, bad, lambda n, d: d.replace(b'"format_version": 1', b'"format_version": 99'))
    _reseal(bad)
    with pytest.raises(ModelFileError, match="format version 99 is not supported"):
        fastrnn.load(bad)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ModelFileError, match="not a fastrnn model file"):
        fastrnn.load(other)
    with pytest.raises(FileNotFoundError):
        fastrnn.load(tmp_path / "missing.fastrnn")


def test_checkpoint_holds_the_best_epoch_and_reloads(tmp_path):
    X, y = make_negation_sentiment(n_samples=400, random_state=0)
    path = tmp_path / "ckpt.fastrnn"
    clf = RNNClassifier(**{**FAST, "max_iter": 6}, learning_rate=0.05, early_stopping=True,
                        n_iter_no_change=6, checkpoint_path=path).fit(X, y)
    best = int(np.argmin(clf.history_["val_loss"]))
    ckpt = fastrnn.load(path)
    assert ckpt.n_iter_ == best + 1
    assert ckpt.history_["val_loss"] == clf.history_["val_loss"][:best + 1]
    # restore_best_weights: the fitted model is the best epoch's, so is the checkpoint
    np.testing.assert_array_equal(ckpt.predict_proba(X), clf.predict_proba(X))


def test_checkpoint_survives_an_interrupted_fit(tmp_path):
    from fastrnn.callbacks import Callback

    class StopAfterTwo(Callback):
        def on_epoch_begin(self, model, epoch, **kw):
            if epoch == 2:
                raise KeyboardInterrupt

    X, y = make_negation_sentiment(n_samples=200, random_state=0)
    path = tmp_path / "ckpt.fastrnn"
    with pytest.warns(Warning) as record:
        RNNClassifier(**{**FAST, "max_iter": 5}, callbacks=[StopAfterTwo()],
                      checkpoint_path=path).fit(X, y)
    messages = " ".join(str(w.message) for w in record)
    # the checkpoint's callbacks=None is its documented rule, not a warning at every epoch
    assert "interrupted" in messages and "callbacks are not saved" not in messages
    reloaded = fastrnn.load(path)
    assert reloaded.n_iter_ in (1, 2) and reloaded.callbacks is None
    assert reloaded.predict(X).shape == (200,)


def test_checkpoint_directory_must_exist(tmp_path):
    X, y = make_negation_sentiment(n_samples=50, random_state=0)
    with pytest.raises(ValueError, match="does not exist"):
        RNNClassifier(**FAST, checkpoint_path=tmp_path / "no" / "m.fastrnn").fit(X, y)


def test_a_model_and_its_checkpoint_load_after_the_directory_moved(tmp_path):
    """The checkpoint directory was checked at load too: a model trained with checkpoint_path,
    and the checkpoint itself, could not be loaded once that directory was moved or copied."""
    X, y = make_negation_sentiment(n_samples=50, random_state=0)
    run = tmp_path / "run"
    run.mkdir()
    model = RNNClassifier(**FAST, checkpoint_path=run / "best.fastrnn").fit(X, y)
    final = fastrnn.save(model, tmp_path / "final.fastrnn")
    run.rename(tmp_path / "moved")
    for path in (final, tmp_path / "moved" / "best.fastrnn"):
        np.testing.assert_array_equal(fastrnn.load(path).predict(X), model.predict(X))
    with pytest.raises(ValueError, match="does not exist"):  # training again needs it
        fastrnn.load(final).fit(X, y)


def test_save_refuses_a_model_that_load_would_refuse_and_keeps_the_old_file(tmp_path):
    X, y = make_negation_sentiment(n_samples=50, random_state=0)
    model = RNNClassifier(**FAST).fit(X, y)
    path = fastrnn.save(model, tmp_path / "m.fastrnn")
    before = Path(path).read_bytes()
    model.set_params(units=8)
    with pytest.raises(ValueError, match="fitted weights do not fit the network"):
        fastrnn.save(model, path)
    assert Path(path).read_bytes() == before


# ------------------------------------------------------------ damaged files: one exception, bounded cost
@pytest.mark.parametrize("member", ["MANIFEST.json", "config.json", "arrays/3.npy"])
@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_zip_fields_and_streams_are_model_file_errors(saved, tmp_path, how, member):
    """Regression guard: zlib.error, RuntimeError, NotImplementedError and OSError escaped."""
    bad = tmp_path / "bad.fastrnn"
    bad.write_bytes(_damage(open(saved, "rb").read(), how, member))
    with pytest.raises(ModelFileError, match=str(bad)):
        fastrnn.load(bad)


@pytest.mark.parametrize("member", ["config.json", "MANIFEST.json"])
def test_deeply_nested_json_is_refused_before_it_is_parsed(saved, tmp_path, member):
    """Regression guard: a re-hashed config nested 100,000 deep raised RecursionError."""
    bad = tmp_path / "bad.fastrnn"
    deep = b'"deep": ' + b"[" * 100_000 + b"]" * 100_000 + b", "
    _rewrite(saved, bad, lambda n, d: d.replace(b"{", b"{" + deep, 1) if n == member else d)
    if member == "config.json":
        _reseal(bad)
    with pytest.raises(ModelFileError, match=f"{member} nests deeper than 64 levels"):
        fastrnn.load(bad)


def _array_index(config, attribute):
    """The array number of a fitted attribute of the pipeline's final estimator."""
    return config["model"]["steps"][-1][1]["fitted"][attribute]["__array__"]


@pytest.mark.parametrize("classes", [["negative", "neutral", "positive"], ["positive"],
                                     ["positive", "negative"]])
def test_classes_that_do_not_fit_the_output_layer_are_refused_at_load(saved, tmp_path, classes):
    """Regression guard: classes_ of another length loaded, then predict raised TypeError."""
    config = json.loads(_members(saved)["config.json"])
    target = f"arrays/{_array_index(config, 'classes_')}.npy"
    bad = tmp_path / "bad.fastrnn"
    _rewrite(saved, bad, lambda n, d: _npy(np.array(classes)) if n == target else d)
    _reseal(bad)
    with pytest.raises(ModelFileError, match="classes_"):
        fastrnn.load(bad)


@pytest.mark.parametrize("edit, message", [
    ((b'"token_pattern": "', b'"token_pattern": "(['), "token_pattern"),
    ((b'"stop_words": null', b'"stop_words": [["not"]]'), "unhashable"),
    ((b'"maxlen": 10', b'"maxlen": -1'), "maxlen"),
])
def test_resealed_parameters_the_model_cannot_use_are_refused_at_load(saved, tmp_path, edit,
                                                                       message):
    """Found by the fuzz test: a TextSequencer edited to an invalid token_pattern or unhashable
    stop words loaded, then failed in predict."""
    bad = tmp_path / "bad.fastrnn"
    _rewrite(saved, bad, lambda n, d: d.replace(*edit) if n == "config.json" else d)
    _reseal(bad)
    with pytest.raises(ModelFileError, match=message):
        fastrnn.load(bad)


def test_pipelines_whose_steps_cannot_run_are_refused(saved, tmp_path):
    bad = tmp_path / "bad.fastrnn"

    def swap_steps(name, data):
        if name != "config.json":
            return data
        config = json.loads(data)
        config["model"]["steps"].reverse()
        return json.dumps(config).encode()

    _rewrite(saved, bad, swap_steps)
    _reseal(bad)
    # the classifier is a transformer (its pooled features), but the text step cannot follow it
    with pytest.raises(ModelFileError, match="'textsequencer' .* reads raw texts but follows"):
        fastrnn.load(bad)


def _npy(array):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _bomb(src, dst, n_bytes, manifest):
    """``src`` with arrays/0.npy replaced by ``n_bytes`` of zeros (a thousandth of that compressed).

    ``manifest`` is "original" (left as it was), "resealed" (checksums recomputed, as an old file
    without array declarations) or "declared" (checksums and the declaration of the new shape).
    """
    import hashlib

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (n_bytes // 8,)})
    header = header.getvalue()
    members = _members(src)
    digest = hashlib.sha256(header)
    zeros = bytes(2**20)
    for _ in range(n_bytes // len(zeros)):
        digest.update(zeros)
    old = json.loads(members["MANIFEST.json"])
    sums = {**old["sha256"], "arrays/0.npy": digest.hexdigest()}
    new = {"original": old, "resealed": {"sha256": sums},
           "declared": {"sha256": sums, "arrays": {**old.get("arrays", {}), "arrays/0.npy": {
               "dtype": "<f8", "shape": [n_bytes // 8]}}}}[manifest]
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("MANIFEST.json", json.dumps(new))
        for name, data in members.items():
            if name == "arrays/0.npy":
                with zf.open(name, "w", force_zip64=True) as fh:
                    fh.write(header)
                    for _ in range(n_bytes // len(zeros)):
                        fh.write(zeros)
            elif name != "MANIFEST.json":
                zf.writestr(name, data)
    return dst


def _peak_while(call):
    """(exception raised, seconds, peak bytes allocated) of ``call()``."""
    import time
    import tracemalloc

    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - returned for the caller to check
        raised = exc
    else:  # pragma: no cover - the callers expect a refusal
        raised = None
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return raised, seconds, peak


BOMB = 64 * 2**20


@pytest.fixture(scope="module")
def bombs(text_pipeline, tmp_path_factory):
    root = tmp_path_factory.mktemp("bombs")
    good = fastrnn.save(text_pipeline, root / "good.fastrnn")
    return {kind: _bomb(good, root / f"{kind}.fastrnn", BOMB, kind)
            for kind in ("original", "resealed", "declared")}


@pytest.mark.parametrize("kind, call, message", [
    ("original", lambda p: fastrnn.load(p), "arrays/0.npy is a <f8"),
    ("resealed", lambda p: fastrnn.load(p, max_bytes=2**20), "more than max_bytes=1,048,576"),
    ("declared", lambda p: fastrnn.load(p, max_bytes=2**20), "more than max_bytes=1,048,576"),
])
def test_a_decompression_bomb_is_refused_before_it_is_decompressed(bombs, kind, call, message):
    """Regression guard: load decompressed every member first (1 MB of file cost 2.2 GB).

    64 MiB of zeros (64 kB in the file) replace a weight: refused from the sizes the ZIP directory,
    the .npy header and the manifest declare, in well under a second and a few MB.
    """
    assert os.path.getsize(bombs[kind]) < BOMB / 200
    raised, seconds, peak = _peak_while(lambda: call(bombs[kind]))
    assert isinstance(raised, ModelFileError) and message in str(raised), raised
    assert seconds < 1.0 and peak < 4 * 2**20, (seconds, peak)


def test_a_bomb_within_max_bytes_is_read_once_into_its_array(bombs):
    """Consistent declarations under the cap: read in chunks into the array, not copied thrice."""
    raised, seconds, peak = _peak_while(lambda: fastrnn.load(bombs["declared"]))
    assert isinstance(raised, ModelFileError), raised  # 8M zeros are not what the model holds
    assert peak < 1.25 * BOMB, peak


def test_a_resealed_config_declaring_a_huge_vocabulary_is_refused_cheaply(saved, tmp_path):
    """A 10 kB file whose config claims vocab_size_=10**7: refused without a 10**7-row table."""
    bad = tmp_path / "bad.fastrnn"

    def huge(name, data):
        if name != "config.json":
            return data
        config = json.loads(data)
        config["model"]["steps"][-1][1]["fitted"]["vocab_size_"] = 10**7
        return json.dumps(config).encode()

    _rewrite(saved, bad, huge)
    _reseal(bad)
    raised, seconds, peak = _peak_while(lambda: fastrnn.load(bad))
    assert isinstance(raised, ModelFileError), raised
    assert peak < 16 * 2**20, peak


def test_declared_sizes_above_the_default_cap_are_refused_at_once(saved, tmp_path):
    data = bytearray(open(saved, "rb").read())
    for name in ("arrays/0.npy", "arrays/1.npy"):
        entry = _central_entry(bytes(data), name)
        data[entry + 24:entry + 28] = (0xF000_0000).to_bytes(4, "little")
    bad = tmp_path / "bad.fastrnn"
    bad.write_bytes(bytes(data))
    raised, seconds, peak = _peak_while(lambda: fastrnn.load(bad))
    assert isinstance(raised, ModelFileError), raised
    assert "more than max_bytes=4,294,967,296" in str(raised)
    assert seconds < 1.0 and peak < 2**20
    with pytest.raises(ValueError, match="max_bytes must be a positive int"):
        fastrnn.load(saved, max_bytes=0)


def test_inserted_and_duplicated_members_are_refused(saved, tmp_path):
    bad = tmp_path / "bad.fastrnn"
    with zipfile.ZipFile(saved) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        zout.writestr("payload.py", b"print('hi')")
    with pytest.raises(ModelFileError, match="unexpected member 'payload.py'"):
        fastrnn.load(bad)
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(saved) as zin, zipfile.ZipFile(bad, "w") as zout:
            for info in zin.infolist():
                zout.writestr(info, zin.read(info))
            zout.writestr("config.json", b"{}")
    with pytest.raises(ModelFileError, match="'config.json' appears twice"):
        fastrnn.load(bad)


# ------------------------------------------------------------ file modes and save errors
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@posix_only
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_the_umask_gives(text_pipeline, tmp_path, umask, mode):
    """Regression guard: saved files were always 0600."""
    import stat

    old = os.umask(umask)
    try:
        path = fastrnn.save(text_pipeline, tmp_path / "m.fastrnn")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert os.listdir(tmp_path) == ["m.fastrnn"]


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o600])
def test_overwriting_a_file_keeps_its_mode(text_pipeline, tmp_path, mode):
    """Regression guard: overwriting a 0644 file made it 0600."""
    import stat

    path = tmp_path / "m.fastrnn"
    path.write_bytes(b"old")
    path.chmod(mode)
    fastrnn.save(text_pipeline, path)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert fastrnn.load(path)[-1].n_iter_ == text_pipeline[-1].n_iter_


@posix_only
def test_saving_to_a_symbolic_link_replaces_the_file_it_points_to(text_pipeline, tmp_path):
    """The link itself was replaced by a regular file, and the file it pointed to left stale."""
    target = tmp_path / "v1.fastrnn"
    target.write_bytes(b"old")
    link = tmp_path / "latest.fastrnn"
    link.symlink_to(target.name)
    fastrnn.save(text_pipeline, link)
    assert link.is_symlink() and os.readlink(link) == target.name
    assert fastrnn.load(target)[-1].n_iter_ == text_pipeline[-1].n_iter_
    assert sorted(os.listdir(tmp_path)) == ["latest.fastrnn", "v1.fastrnn"]


def test_a_save_interrupted_as_its_file_is_created_leaves_nothing(text_pipeline, tmp_path,
                                                                 monkeypatch):
    """A Ctrl-C inside mkstemp, after it had created the file, left a .fastrnn-*.tmp behind
    (97 of 400 interrupted saves)."""
    real_open = os.open

    def created_then_interrupted(path, flags, mode=0o777, **kw):
        os.close(real_open(path, flags, mode, **kw))
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "open", created_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        fastrnn.save(text_pipeline, tmp_path / "m.fastrnn")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_save_errors_name_the_path_not_the_temporary_file(text_pipeline, tmp_path):
    """Regression guard: the message named .fastrnn-XXXX.tmp in the missing directory."""
    path = tmp_path / "missing" / "m.fastrnn"
    with pytest.raises(FileNotFoundError) as info:
        fastrnn.save(text_pipeline, path)
    assert str(path) in str(info.value) and ".tmp" not in str(info.value)
    assert info.value.filename == str(path)
    directory = tmp_path / "m.fastrnn"
    directory.mkdir()
    with pytest.raises(IsADirectoryError, match=str(directory)):
        fastrnn.save(text_pipeline, directory)
    assert os.listdir(directory) == [] and sorted(os.listdir(tmp_path)) == ["m.fastrnn"]


# ------------------------------------------------------------ files written by earlier versions
DATA = Path(__file__).resolve().parent / "data"
#: Files written by fastrnn 0.1.0 before classes were found through the registry, and the
#: predictions of the models they hold (computed when they were written).
OLD_FILES = {
    "pipeline_v1.fastrnn": (["the acting felt good i think", "the acting seemed brilliant",
                             "this movie seemed great to me", "this movie seemed bad"],
                            [[0.500410751056192, 0.49958924894380796],
                             [0.5002803482927427, 0.4997196517072573],
                             [0.5006339602500434, 0.4993660397499567],
                             [0.5012660385992062, 0.49873396140079385]]),
    "regressor_v1.fastrnn": (np.random.default_rng(0).normal(size=(10, 4, 2))[:3],
                             [-0.025863733142614365, 0.061012037098407745, 0.05430896580219269]),
    "language_model_v1.fastrnn": (None, None),
}


def _contained(old, new, where="model"):
    """Every key and value of ``old`` is in ``new`` (a newer estimator may add parameters)."""
    if isinstance(old, dict):
        assert isinstance(new, dict), where
        for k, v in old.items():
            assert k in new, f"{where}.{k} is no longer written"
            _contained(v, new[k], f"{where}.{k}")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(old) == len(new), where
        for i, (a, b) in enumerate(zip(old, new)):
            _contained(a, b, f"{where}[{i}]")
    else:
        assert old == new, f"{where}: {old!r} != {new!r}"


@pytest.mark.parametrize("name", sorted(OLD_FILES))
def test_files_of_the_previous_release_load_and_save_back_alike(name, tmp_path):
    X, expected = OLD_FILES[name]
    model = fastrnn.load(DATA / name)
    if X is not None:
        got = model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    else:
        assert isinstance(model.generate("ab", n_tokens=3, random_state=0), str)
    old, new = _members(DATA / name), _members(fastrnn.save(model, tmp_path / name))
    assert set(old) == set(new)
    for member in old:
        if member.endswith(".npy"):
            assert old[member] == new[member], member
    old_config, new_config = json.loads(old["config.json"]), json.loads(new["config.json"])
    assert new_config["format_version"] == old_config["format_version"] == 1
    old_model = old_config["model"]
    if hasattr(type(model), "_params_from_file"):  # a renamed parameter is compared by its new name
        old_model["params"] = type(model)._params_from_file(old_model["params"])
    _contained(old_model, new_config["model"])


# ------------------------------------------------------------ the registry
def _run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "FASTRNN_BACKEND": fastrnn.BACKEND})
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.parametrize("entry", ["import fastrnn; load = fastrnn.load",
                                   "from fastrnn.persistence import load"])
def test_load_works_before_any_estimator_was_imported(entry):
    code = (f"{entry}\nimport sys\n"
            "before = 'fastrnn.estimators' in sys.modules\n"
            f"model = load({str(DATA / 'pipeline_v1.fastrnn')!r})\n"
            "print(before, type(model[-1]).__name__, type(model[0]).__name__)")
    assert _run(code) == ["False", "RNNClassifier", "TextSequencer"]


def test_persistence_does_not_import_the_estimators():
    code = ("import sys, fastrnn.persistence\n"
            "print(sorted(m for m in sys.modules if m.startswith('fastrnn.estimators')) or 'none')")
    assert _run(code) == ["none"]


def test_an_unregistered_kind_is_a_clear_model_file_error(monkeypatch):
    from fastrnn import _registry

    monkeypatch.setattr(_registry, "_CLASSES", {})
    monkeypatch.setattr(_registry, "_KINDS", {})
    monkeypatch.setattr(_registry, "_resolver", None)
    with pytest.raises(ModelFileError, match="unknown model class 'TextSequencer'.*registered: none"):
        fastrnn.load(DATA / "pipeline_v1.fastrnn")


def test_registry_refuses_a_second_class_under_a_kind_and_bad_kinds(monkeypatch):
    from fastrnn import _registry

    monkeypatch.setattr(_registry, "_CLASSES", dict(_registry._CLASSES))
    monkeypatch.setattr(_registry, "_KINDS", dict(_registry._KINDS))
    with pytest.raises(ValueError, match="'RNNClassifier' is already registered"):
        _registry.register_model_class("RNNClassifier")(type("RNNClassifier", (), {}))
    with pytest.raises(ValueError, match="kind must be"):
        _registry.register_model_class("not a name")
    with pytest.raises(TypeError, match="decorates a class"):
        _registry.register_model_class("Thing")(lambda: None)
    with pytest.raises(TypeError, match="resolver must be callable"):
        _registry.set_model_resolver("fastrnn.estimators")
    assert _registry.model_kind(RNNClassifier) == "RNNClassifier"
    assert _registry.model_kind(type("Sub", (RNNClassifier,), {})) is None


def test_checkpoint_saves_through_the_models_own_save(tmp_path):
    from fastrnn.callbacks import ModelCheckpoint

    saved = []

    class Snapshot:
        def save(self, path):
            saved.append(path)

    class Model:
        def _snapshot(self, n_epochs_done):
            saved.append(n_epochs_done)
            return Snapshot()

        def save(self, path):  # pragma: no cover - the snapshot's save is the one called
            raise AssertionError

    ckpt = ModelCheckpoint(tmp_path / "m.fastrnn")
    ckpt.on_epoch_end(Model(), epoch=2, is_best=False)
    ckpt.on_epoch_end(Model(), epoch=3, is_best=True)
    assert saved == [4, tmp_path / "m.fastrnn"]
    with pytest.raises(TypeError, match="ModelCheckpoint needs a model with _snapshot"):
        ckpt.on_epoch_end(object(), epoch=0, is_best=True)


def _edit_fitted(src, dst, path_to_fitted, name, value):
    """Rewrite ``src`` with one fitted attribute changed (checksums recomputed)."""

    def edit(member, data):
        if member != "config.json":
            return data
        config = json.loads(data)
        node = config["model"]
        for key in path_to_fitted:
            node = node[key]
        if value is _DELETE:
            del node["fitted"][name]
        else:
            node["fitted"][name] = value
        return json.dumps(config).encode()

    _rewrite(src, dst, edit)
    _reseal(dst)


_DELETE = object()


@pytest.mark.parametrize("case", ["regressor_n_features", "lm_vocabulary", "pipeline_vocabulary"])
def test_fitted_attributes_that_cannot_work_are_refused_at_load(case, text_pipeline, tmp_path):
    """A resealed file whose fitted state cannot predict fails in load, not in the next predict."""
    if case == "regressor_n_features":
        model = RNNRegressor(**FAST).fit(np.random.default_rng(0).normal(size=(20, 4, 2)), np.arange(20.0))
        where, name, value = (), "n_features_in_", 2.5
    elif case == "lm_vocabulary":
        model = fastrnn.RNNLanguageModel(units=4, embedding_dim=3, max_iter=1, random_state=0)
        model.fit(["abc abd", "bcd"])
        where, name, value = ("fitted", "sequencer_", "__model__"), "index_to_token_", None
    else:
        model = text_pipeline
        where, name, value = ("steps", 0, 1), "vocabulary_", _DELETE
    good = fastrnn.save(model, tmp_path / "good.fastrnn")
    fastrnn.load(good)  # the untouched file loads
    bad = tmp_path / "bad.fastrnn"
    _edit_fitted(good, bad, where, name, value)
    with pytest.raises(ModelFileError):
        fastrnn.load(bad)


def test_a_bad_thread_setting_is_named_by_load_not_blamed_on_the_file(tmp_path, monkeypatch):
    X, y = make_negation_sentiment(n_samples=50, random_state=0)
    path = tmp_path / "m.fastrnn"
    fastrnn.save(RNNClassifier(**FAST).fit(X, y), path)
    monkeypatch.setenv("FASTRNN_NUM_THREADS", "two")
    with pytest.raises(ValueError, match="^FASTRNN_NUM_THREADS must be a positive integer"):
        fastrnn.load(path)


def test_a_history_with_nan_epochs_is_saved_as_strict_json(tmp_path):
    """Epochs without validation are NaN in history_; json.dumps wrote them as NaN, which is
    no JSON (a strict reader refuses the file)."""
    import json
    import zipfile

    X, y = make_negation_sentiment(n_samples=60, random_state=0)
    model = RNNClassifier(**{**FAST, "max_iter": 1}, warm_start=True).fit(X, y)
    model.fit(X, y, validation_data=(X[:10], y[:10]))
    path = tmp_path / "m.fastrnn"
    fastrnn.save(model, path)

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    json.loads(zipfile.ZipFile(path).read("config.json"), parse_constant=refuse)
    loaded = fastrnn.load(path).history_["val_loss"]
    assert np.isnan(loaded[0]) and loaded[1:] == model.history_["val_loss"][1:]


def test_a_numpy_non_finite_float_round_trips():
    from fastrnn.persistence import _Decoder, _Encoder

    for v in (np.float64("nan"), np.float64("inf"), float("-inf")):
        encoded = _Encoder().value(v)
        assert encoded["__float__"] in ("nan", "inf", "-inf")
        back = _Decoder([]).value(encoded)
        assert (np.isnan(back) and np.isnan(v)) or back == v


def _edited(src, dst, edit_fitted=None, arrays=None):
    """``src`` with its estimator's fitted attributes passed through ``edit_fitted`` and the
    given arrays replaced, resealed (a deliberate editor)."""
    def edit(name, data):
        if name == "config.json" and edit_fitted is not None:
            config = json.loads(data)
            edit_fitted(config["model"]["fitted"], config)
            return json.dumps(config).encode()
        if arrays and name in arrays:
            buf = io.BytesIO()
            np.save(buf, arrays[name])
            return buf.getvalue()
        return data
    _rewrite(src, dst, edit)
    _reseal(dst)
    return dst


def _first_moment(fitted):
    item = fitted["optimizer_state_"]["attrs"]["m"]["__items__"][0][1]
    return f"arrays/{item['__array__']}.npy"


@pytest.mark.parametrize("edit, message", [
    (lambda f, c: f["optimizer_state_"]["attrs"].update(iterations="7"), "iterations"),
    (lambda f, c: f["optimizer_state_"]["attrs"].update(beta_1="x"), "beta_1"),
    (lambda f, c: f["optimizer_state_"]["attrs"].pop("m"), "lacks"),
    (lambda f, c: f.update(history_=None), "history_"),
    (lambda f, c: f.update(n_iter_="2"), "n_iter_"),
    (lambda f, c: f.update(rng_=5), "rng_"),
    (lambda f, c: c.update(format_version=1.0), "format version"),
], ids=["iterations", "beta_1", "no-moments", "history", "n_iter", "rng", "version-float"])
def test_training_state_that_a_continued_fit_could_not_use_is_refused(tmp_path, edit, message):
    X = np.random.default_rng(0).integers(1, 9, size=(40, 6))
    good = RNNClassifier(**FAST).fit(X, X[:, 0] % 2).save(tmp_path / "m.fastrnn")
    bad = _edited(good, tmp_path / "bad.fastrnn", edit)
    with pytest.raises(ModelFileError, match=message):
        fastrnn.load(bad)


def test_weights_or_moments_of_another_shape_or_not_finite_are_refused(tmp_path):
    X = np.random.default_rng(0).integers(1, 9, size=(40, 6))
    good = RNNClassifier(**FAST).fit(X, X[:, 0] % 2).save(tmp_path / "m.fastrnn")
    config = json.loads(_members(good)["config.json"])
    moment = _first_moment(config["model"]["fitted"])
    shape = np.load(io.BytesIO(_members(good)[moment])).shape
    bad = _edited(good, tmp_path / "a.fastrnn", arrays={moment: np.zeros(3, np.float32)})
    with pytest.raises(ModelFileError, match="optimizer's state for weight 0"):
        fastrnn.load(bad)
    # the same size transposed was reshaped and used
    bad = _edited(good, tmp_path / "b.fastrnn", arrays={moment: np.zeros(shape[::-1], np.float32)})
    with pytest.raises(ModelFileError, match="optimizer's state for weight 0"):
        fastrnn.load(bad)
    # every array of that shape: the weight, and its moments, which load does not read for NaN
    same = [name for name, data in _members(good).items() if name.startswith("arrays/")
            and np.load(io.BytesIO(data)).shape == shape]
    bad = _edited(good, tmp_path / "c.fastrnn",
                  arrays={name: np.full(shape, np.nan, np.float32) for name in same})
    with pytest.raises(ModelFileError, match="NaN or infinity"):
        fastrnn.load(bad)
    # and save does not write what load refuses
    model = fastrnn.load(good)
    model._fitted_network().weights(model.params_)[0][...] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.save(tmp_path / "d.fastrnn")


def test_set_output_is_kept(text_pipeline, text_task, tmp_path):
    import copy

    pipe = copy.deepcopy(text_pipeline).set_output(transform="pandas")
    loaded = fastrnn.load(fastrnn.save(pipe, tmp_path / "p.fastrnn"))
    assert [step._sklearn_output_config for _, step in loaded.steps] == \
        [{"transform": "pandas"}] * 2
    pytest.importorskip("pandas")
    assert type(loaded.transform(text_task[0][:2])).__name__ == "DataFrame"
