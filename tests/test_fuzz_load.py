"""Fuzzing ``fastrnn.load``: a damaged model file loads to the same predictions or raises
``ModelFileError``, in bounded time and memory, and the CLI reports it as one line with exit 2.

Every estimator kind is saved once (tiny models); Hypothesis then damages the file four ways:

- bit flips anywhere in the file (ZIP headers, compressed streams, the central directory);
- truncations;
- members inserted (unknown names, duplicate names, an extra array declared in a resealed
  manifest, megabytes of zeros that compress to almost nothing);
- JSON edits of ``config.json`` or ``MANIFEST.json``: a value replaced, removed, added or
  swapped with another, or the text spliced;
- and, as a deliberate editor would, a parameter edited with the checksum recomputed: such a file
  describes another model, so it must be refused or load to a model that predicts (outputs of the
  same shapes), never fail later.

The examples are few and small (``FUZZ`` below) so that the whole module runs in seconds;
``FASTRNN_FUZZ_EXAMPLES=1000`` runs a thousand per test and kind (about six minutes).
"""

import contextlib
import hashlib
import io
import json
import os
import time
import tracemalloc
import warnings
import zipfile
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.pipeline import make_pipeline

import fastrnn
from fastrnn import (ModelFileError, RNNClassifier, RNNLanguageModel, RNNRegressor,
                     RNNSequenceTagger, TextSequencer)
from fastrnn.datasets import make_negation_sentiment

TINY = dict(units=3, embedding_dim=2, max_iter=1, batch_size=16, random_state=0)
KINDS = ["classifier", "regressor", "tagger", "language_model", "pipeline"]
#: Per example: a load (and a prediction) must finish in this time and allocate at most this much.
SECONDS = 30.0  # a load may compile the kernels of an edited width, on a busy machine
PEAK_BYTES = 48 * 2**20
#: Examples per test and kind: few, for the suite; more with FASTRNN_FUZZ_EXAMPLES.
FUZZ = settings(max_examples=int(os.environ.get("FASTRNN_FUZZ_EXAMPLES", 12)),
                deadline=timedelta(seconds=10),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _inputs():
    texts, y = make_negation_sentiment(n_samples=60, return_text=True, random_state=1)
    ids, y_ids = make_negation_sentiment(n_samples=60, random_state=1)
    dense = np.random.default_rng(0).normal(size=(30, 4, 2))
    return texts, y, ids, y_ids, dense


def _fit(kind):
    texts, y, ids, y_ids, dense = _inputs()
    if kind == "classifier":
        return RNNClassifier(**TINY).fit(ids, y_ids)
    if kind == "regressor":
        return RNNRegressor(**TINY).fit(dense, dense[:, -1, 0])
    if kind == "tagger":
        return RNNSequenceTagger(**TINY).fit(ids, ids % 3)
    if kind == "language_model":
        return RNNLanguageModel(**TINY).fit(["hello world", "a small corpus of text"])
    return make_pipeline(TextSequencer(maxlen=8), RNNClassifier(**TINY)).fit(texts, y)


def _predict(kind, model):
    """What the model computes on fixed inputs (a tuple of arrays / strings)."""
    texts, _, ids, _, dense = _inputs()
    if kind == "regressor":
        return (model.predict(dense[:5]),)
    if kind == "language_model":
        return (np.array([model.perplexity(["hello world"])]),
                model.generate("he", n_tokens=5, random_state=0))
    if kind == "pipeline":
        return model.predict_proba(texts[:5]), model.predict(texts[:5])
    return model.predict_proba(ids[:5]), model.predict(ids[:5])


def _same(a, b):
    return all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y for x, y in zip(a, b))


def _same_shape(a, b):
    return all(np.shape(x) == np.shape(y) if isinstance(x, np.ndarray) else type(x) is type(y)
               for x, y in zip(a, b))


class Saved(tuple):
    """``({kind: (file bytes, reference predictions)}, directory for damaged copies)``."""

    def __repr__(self):  # Hypothesis prints the arguments of a failing example
        return f"<the saved models in {self[1]}>"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    out = {}
    for kind in KINDS:
        path = fastrnn.save(_fit(kind), root / f"{kind}.fastrnn")
        out[kind] = (open(path, "rb").read(), _predict(kind, fastrnn.load(path)))
    return Saved((out, root))


def _cli_reports(path):
    """(exit code, stderr) of ``fastrnn summary path``, run in this process."""
    from fastrnn.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["summary", str(path)])
    return code, err.getvalue()


def check(kind, saved, data, resealed=False):
    """The property: refused as ModelFileError (and by the CLI), or the same predictions."""
    files, root = saved
    reference = files[kind][1]
    path = root / f"damaged-{kind}.fastrnn"
    path.write_bytes(data)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        model = fastrnn.load(path)
    except ModelFileError as exc:
        model, error = None, exc
    finally:
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert seconds < SECONDS and peak < PEAK_BYTES, (seconds, peak)
    if model is None:
        assert str(path) in str(error)
        code, err = _cli_reports(path)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("fastrnn: error:"), err
        return "refused"
    got = _predict(kind, model)
    if resealed:  # a deliberately edited, consistent file: another model, which must work
        assert _same_shape(got, reference), (got, reference)
    else:
        assert _same(got, reference), (got, reference)
    return "loaded"


# ------------------------------------------------------------------ bit flips and truncations
@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(data=st.data())
def test_bit_flips(saved, kind, data):
    original = saved[0][kind][0]
    flips = data.draw(st.lists(st.integers(0, 8 * len(original) - 1), min_size=1, max_size=3))
    damaged = bytearray(original)
    for bit in flips:
        damaged[bit // 8] ^= 1 << (bit % 8)
    check(kind, saved, bytes(damaged))


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(data=st.data())
def test_truncations(saved, kind, data):
    original = saved[0][kind][0]
    cut = data.draw(st.integers(0, len(original) - 1))
    junk = data.draw(st.sampled_from([b"", b"PK\x05\x06" + bytes(18), b"\x00" * 7]))
    check(kind, saved, original[:cut] + junk)  # junk may restore what the cut removed


# ------------------------------------------------------------------ inserted members
def _archive(members, manifest=None):
    """A ZIP of ``[(name, bytes)]``; ``manifest`` (a dict) replaces MANIFEST.json's content."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            if name == "MANIFEST.json" and manifest is not None:
                data = json.dumps(manifest).encode()
            zf.writestr(name, data)
    return buf.getvalue()


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def _npy(array):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


#: Names of inserted members: duplicates, near misses and any text (zipfile cannot write an
#: empty name, which a NUL makes).
member_names = st.one_of(
    st.sampled_from(["config.json", "MANIFEST.json", "arrays/0.npy", "arrays/-1.npy",
                     "arrays/01.npy", "arrays/1.npy/", "../evil.py", "__init__.py"]),
    st.text(min_size=1, max_size=12).filter(lambda n: "\x00" not in n))


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(data=st.data())
def test_inserted_members(saved, kind, data):
    original = saved[0][kind][0]
    members = _members(original)
    manifest = json.loads(dict(members)["MANIFEST.json"])
    n_arrays = sum(name.startswith("arrays/") for name, _ in members)
    how = data.draw(st.sampled_from(["name", "zeros", "declared array"]))
    if how == "declared array":  # an extra array the manifest declares: loads, and is unused
        name = f"arrays/{n_arrays}.npy"
        payload = _npy(np.arange(data.draw(st.integers(0, 5)), dtype=np.int64))
        manifest["sha256"][name] = hashlib.sha256(payload).hexdigest()
        manifest.setdefault("arrays", {})[name] = {"dtype": "<i8",
                                                   "shape": [np.load(io.BytesIO(payload)).size]}
    else:
        name = data.draw(member_names)
        payload = (bytes(data.draw(st.integers(1, 8)) * 2**20) if how == "zeros"
                   else data.draw(st.binary(max_size=64)))
    at = data.draw(st.integers(0, len(members)))
    members.insert(at, (name, payload))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name
        damaged = _archive(members, manifest if how == "declared array" else None)
    check(kind, saved, damaged)


# ------------------------------------------------------------------ JSON edits
def _paths(value, prefix=()):
    """Every path (tuple of keys / indices) to a value inside the JSON ``value``."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


def _get(value, path):
    for key in path:
        value = value[key]
    return value


def json_values(largest_int):
    """JSON values, with the tags and names a model file uses among the strings and keys."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 40),
                        st.integers(-largest_int, largest_int), st.floats(allow_nan=True),
                        st.text(max_size=6), st.sampled_from(["__array__", "__model__", "Pipeline",
                                                              "RNNClassifier", "float64", "<f8"]))
    keys = st.text(max_size=4) | st.sampled_from(["__array__", "__tuple__", "__items__", "class",
                                                  "params", "fitted", "shape", "__generator__"])
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(keys, inner, max_size=3), max_leaves=6)


ANY_JSON = json_values(2**70)
#: A valid parameter may make predict costly (maxlen=10**12 pads every text to that length):
#: the edits that load must predict, so their integers stay small.
SMALL_JSON = json_values(1000)


def _edit_json(data, draw, params_only=False):
    """A drawn edit of the JSON document ``data`` (bytes): a value replaced, removed, added or
    swapped with another, or the serialized text spliced; ``params_only``: a value inside the
    constructor parameters of a model (not its fitted state), and no splice."""
    doc = json.loads(data)
    paths = list(_paths(doc))
    if params_only:
        paths = [p for p in paths if "params" in p and "fitted" not in p]
    ops = ["replace", "remove", "add", "swap"]
    op = draw(st.sampled_from(ops if params_only else ops + ["splice"]))
    if op == "splice":
        text = json.dumps(doc, indent=1).encode()
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 8))
        return text[:at] + draw(st.binary(max_size=6)) + text[at + cut:]
    path = paths[draw(st.integers(0, len(paths) - 1))]
    if op == "swap":
        new = _get(doc, paths[draw(st.integers(0, len(paths) - 1))])
        new = json.loads(json.dumps(new))
    else:
        new = draw(SMALL_JSON if params_only else ANY_JSON)
    if not path:
        doc = new if op == "replace" else doc
    else:
        parent, key = _get(doc, path[:-1]), path[-1]
        if op in ("replace", "swap"):
            parent[key] = new
        elif op == "remove":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = new
        else:
            parent.insert(key, new)
    return json.dumps(doc, indent=draw(st.sampled_from([None, 1]))).encode()


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(data=st.data())
def test_json_edits(saved, kind, data):
    """Edited JSON: refused by a checksum, the manifest's structure or its declarations."""
    original = saved[0][kind][0]
    members = _members(original)
    target = data.draw(st.sampled_from(["config.json", "MANIFEST.json"]))
    edited = _edit_json(dict(members)[target], data.draw)
    members = [(n, edited if n == target else d) for n, d in members]
    check(kind, saved, _archive(members))


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(data=st.data())
def test_resealed_parameter_edits(saved, kind, data):
    """A parameter edited and the checksum recomputed: a valid other model, or refused at load.

    (Edits of the fitted state are refused where load checks them: weights against the
    configuration, classes_ against the output layer -- see test_persistence.py.)
    """
    original = saved[0][kind][0]
    members = _members(original)
    edited = _edit_json(dict(members)["config.json"], data.draw, params_only=True)
    manifest = json.loads(dict(members)["MANIFEST.json"])
    manifest["sha256"]["config.json"] = hashlib.sha256(edited).hexdigest()
    members = [(n, edited if n == "config.json" else d) for n, d in members]
    check(kind, saved, _archive(members, manifest), resealed=True)


def test_the_fuzzed_files_load_unchanged(saved):
    """The property's other side: the undamaged files load to the reference predictions."""
    for kind in KINDS:
        assert check(kind, saved, saved[0][kind][0]) == "loaded"
