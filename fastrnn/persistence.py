"""Saving and loading fitted models without pickle.

A ``.fastrnn`` file is a ZIP archive with three kinds of member:

``config.json``
    The format name and version, the fastrnn version that wrote it, and the
    model: class name, constructor parameters and fitted attributes, with every
    array replaced by a reference ``{"__array__": i}``.
``arrays/<i>.npy``
    The arrays (weights, optimizer moments, ``classes_``), written by
    :func:`numpy.save` with ``allow_pickle=False``.
``MANIFEST.json``
    The SHA-256 of every other member.

Loading rebuilds only a fixed set of types (the classes registered with
:func:`fastrnn._registry.register_model_class`, which are fastrnn's estimators
and ``TextSequencer``; fastrnn's optimizers; :class:`~sklearn.pipeline.Pipeline`;
plain JSON values, numeric or string arrays, NumPy random generators), reads
arrays with ``allow_pickle=False`` and checks every checksum and every weight
shape first, so a file cannot run code, and a truncated, corrupted or edited
file raises :class:`ModelFileError` instead of producing a broken model.  The checksums
catch accidents and naive edits; they are not a signature.

Writes go to a temporary file in the target directory that is renamed over
the destination only once complete, so a crash mid-save leaves the previous
file intact.

This module sits below the estimators: it finds their classes through
:mod:`fastrnn._registry`, which they fill when imported (the package root
installs a resolver that imports them for a file loaded first thing).
"""

import functools
import hashlib
import io
import json
import os
import tempfile
import warnings
import zipfile

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._registry import model_class, model_kind, registered_kinds
from ._version import __version__

FORMAT = "fastrnn-model"
FORMAT_VERSION = 1
_CONFIG = "config.json"
_MANIFEST = "MANIFEST.json"
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
_MAX_MEMBERS = 100_000


class ModelFileError(ValueError):
    """A model file is unreadable, corrupted, tampered with or of an unknown version."""


@functools.cache
def _optimizer_classes():
    from .optimizers import SGD, Adam, RMSprop

    return {cls.__name__: cls for cls in (SGD, RMSprop, Adam)}


# ------------------------------------------------------------------ encoding
class _Encoder:
    """Turns a model into JSON-able values plus a list of arrays."""

    def __init__(self):
        self.arrays = []

    def array(self, a):
        if a.dtype.kind not in "biufcU":
            if a.dtype == object:
                return {"__objarray__": [self.value(v) for v in a.tolist()], "shape": list(a.shape)}
            raise TypeError(f"cannot save an array of dtype {a.dtype}")
        self.arrays.append(np.ascontiguousarray(a))
        return {"__array__": len(self.arrays) - 1}

    def value(self, v, where="value"):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, (int, float)):
            return v
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, os.PathLike):
            return os.fspath(v)
        if isinstance(v, np.ndarray):
            return self.array(v)
        if isinstance(v, list):
            return [self.value(x, where) for x in v]
        if isinstance(v, tuple):
            return {"__tuple__": [self.value(x, where) for x in v]}
        if isinstance(v, (set, frozenset)):
            return {"__set__": sorted(self.value(x, where) for x in v)}
        if isinstance(v, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in v):
                return {k: self.value(x, where) for k, x in v.items()}
            return {"__items__": [[self.value(k, where), self.value(x, where)] for k, x in v.items()]}
        if isinstance(v, np.random.Generator):
            return {"__generator__": self.value(v.bit_generator.state, where)}
        if isinstance(v, np.random.RandomState):
            return {"__randomstate__": self.value(v.get_state(legacy=False), where)}
        if model_kind(type(v)) is not None:
            return {"__model__": self.model(v)}
        if type(v).__name__ in _optimizer_classes() and type(v) is _optimizer_classes()[type(v).__name__]:
            return {"__optimizer__": type(v).__name__, "attrs": self.value(vars(v), where)}
        raise TypeError(f"cannot save {where}: objects of type {type(v).__name__} are not "
                        "supported (only numbers, strings, lists, dicts and arrays)")

    def model(self, obj):
        if isinstance(obj, Pipeline):
            return {"class": "Pipeline", "params": {"verbose": bool(obj.verbose)},
                    "steps": [[name, self.model(step)] for name, step in obj.steps]}
        name = model_kind(type(obj))
        if name is None:
            raise TypeError(f"fastrnn.save handles fastrnn estimators and Pipelines of them, not "
                            f"{type(obj).__name__}")
        params = obj.get_params(deep=False)
        if params.get("callbacks"):
            warnings.warn("callbacks are not saved: the loaded model has callbacks=None",
                          UserWarning, stacklevel=4)
        params = {k: (None if k == "callbacks" else v) for k, v in params.items()}
        if callable(params.get("tokenizer")):
            raise TypeError("cannot save a TextSequencer with a callable tokenizer (code is never "
                            "stored); use token_pattern, or pickle the model instead")
        fitted = {k: v for k, v in vars(obj).items() if k.endswith("_") and not k.startswith("_")}
        return {"class": name,
                "params": {k: self.value(v, f"parameter {k!r}") for k, v in params.items()},
                "fitted": {k: self.value(v, f"attribute {k!r}") for k, v in fitted.items()}}


def _check_fitted(obj):
    if isinstance(obj, Pipeline):
        for _, step in obj.steps:
            _check_fitted(step)
    else:
        check_is_fitted(obj)


def _npy_bytes(a):
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def save(model, path):
    """Write a fitted model to ``path`` (one file, no pickle, atomic).

    Parameters
    ----------
    model : RNNClassifier, RNNRegressor, TextSequencer or Pipeline of them
        Fitted.  Parameters and fitted attributes are stored; ``callbacks`` are
        not (a warning says so) and a callable ``tokenizer`` cannot be.
    path : str or os.PathLike
        Destination, conventionally ending in ``.fastrnn``.  Written to a
        temporary file beside it and renamed, so an existing file is replaced
        only by a complete one.

    Returns
    -------
    path : str
    """
    _check_fitted(model)
    enc = _Encoder()
    spec = enc.model(model)
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, "fastrnn_version": __version__,
              "model": spec}
    members = {_CONFIG: json.dumps(config, indent=1).encode()}
    for i, a in enumerate(enc.arrays):
        members[f"arrays/{i}.npy"] = _npy_bytes(a)
    manifest = {"sha256": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}}
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fastrnn-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(_MANIFEST, json.dumps(manifest, indent=1))
                for name, data in members.items():
                    zf.writestr(name, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# ------------------------------------------------------------------ decoding
class _Decoder:
    def __init__(self, arrays):
        self.arrays = arrays
        self.used = set()

    def value(self, v):
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            return v
        if "__array__" in v:
            i = v["__array__"]
            if not isinstance(i, int) or not 0 <= i < len(self.arrays):
                raise ModelFileError(f"array reference {i!r} out of range")
            self.used.add(i)
            return self.arrays[i].copy()
        if "__objarray__" in v:
            out = np.empty(len(v["__objarray__"]), dtype=object)
            out[:] = [self.value(x) for x in v["__objarray__"]]
            return out.reshape(v["shape"])
        if "__tuple__" in v:
            return tuple(self.value(x) for x in v["__tuple__"])
        if "__set__" in v:
            return set(self.value(x) for x in v["__set__"])
        if "__items__" in v:
            return {_hashable(self.value(k)): self.value(x) for k, x in v["__items__"]}
        if "__generator__" in v:
            state = self.value(v["__generator__"])
            name = state.get("bit_generator") if isinstance(state, dict) else None
            if name not in _BIT_GENERATORS:
                raise ModelFileError(f"unknown random bit generator {name!r}")
            bit_generator = getattr(np.random, name)()
            bit_generator.state = state
            return np.random.Generator(bit_generator)
        if "__randomstate__" in v:
            rs = np.random.RandomState()
            rs.set_state(self.value(v["__randomstate__"]))
            return rs
        if "__model__" in v:
            return self.model(v["__model__"])
        if "__optimizer__" in v:
            cls = _optimizer_classes().get(v["__optimizer__"])
            if cls is None:
                raise ModelFileError(f"unknown optimizer {v['__optimizer__']!r}")
            opt = cls.__new__(cls)
            opt.__dict__.update(self.value(v["attrs"]))
            return opt
        if any(k.startswith("__") for k in v):
            raise ModelFileError(f"unknown tagged value {sorted(v)!r}")
        return {k: self.value(x) for k, x in v.items()}

    def model(self, spec):
        name = spec.get("class") if isinstance(spec, dict) else None
        if name == "Pipeline":
            steps = [(step_name, self.model(step)) for step_name, step in spec["steps"]]
            return Pipeline(steps, verbose=bool(spec.get("params", {}).get("verbose", False)))
        cls = model_class(name)
        if cls is None:
            raise ModelFileError(f"unknown model class {name!r} (no class is registered under "
                                 f"that kind; registered: {', '.join(registered_kinds()) or 'none'}"
                                 "; importing fastrnn registers fastrnn's own)")
        params = self.value(spec["params"])
        if hasattr(cls, "_params_from_file"):  # a class may map renamed parameters of older files
            params = cls._params_from_file(params)
        unknown = set(params) - set(cls().get_params(deep=False))
        if unknown:
            raise ModelFileError(f"{name} has no parameters {sorted(unknown)}")
        obj = cls(**params)
        for k, v in self.value(spec["fitted"]).items():
            if not k.endswith("_") or k.startswith("_"):
                raise ModelFileError(f"unexpected attribute {k!r}")
            setattr(obj, k, v)
        if hasattr(obj, "_check_loaded_state"):
            obj._check_loaded_state()
        return obj


def _hashable(k):
    return tuple(k) if isinstance(k, list) else k


def _read_members(path):
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > _MAX_MEMBERS:
                raise ModelFileError("too many members")
            return {info.filename: zf.read(info) for info in infos}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, KeyError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{path}: not a fastrnn model file, or truncated/corrupted "
                             f"({exc})") from None
    except zipfile.error as exc:  # pragma: no cover - other zip failures
        raise ModelFileError(f"{path}: unreadable model file ({exc})") from None


def load(path):
    """Load a model written by :func:`save`.

    Never executes code from the file: only fastrnn's own classes,
    :class:`~sklearn.pipeline.Pipeline`, JSON values and non-object arrays are
    rebuilt.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    model : the saved estimator or Pipeline, fitted.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ModelFileError
        If the file is not a fastrnn model, is truncated or corrupted, fails
        its checksums, was written by an unknown format version, or holds
        weights whose shapes do not match its configuration.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file: {path}")
    members = _read_members(path)
    try:
        manifest = json.loads(members[_MANIFEST])
        expected = manifest["sha256"]
    except (KeyError, TypeError, ValueError):
        raise ModelFileError(f"{path}: not a fastrnn model file (no valid {_MANIFEST})") from None
    if set(expected) != set(members) - {_MANIFEST}:
        raise ModelFileError(f"{path}: the members do not match the manifest (file edited?)")
    for name, digest in expected.items():
        if hashlib.sha256(members[name]).hexdigest() != digest:
            raise ModelFileError(f"{path}: checksum mismatch in {name} (corrupted or edited)")
    try:
        config = json.loads(members[_CONFIG])
    except (KeyError, ValueError) as exc:
        raise ModelFileError(f"{path}: unreadable {_CONFIG} ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a fastrnn model file")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{path}: model format version {version!r} is not supported by this "
                             f"fastrnn (reads version {FORMAT_VERSION}); it was written by fastrnn "
                             f"{config.get('fastrnn_version')}")
    arrays = []
    for i in range(len(members) - 2):
        try:
            arrays.append(np.load(io.BytesIO(members[f"arrays/{i}.npy"]), allow_pickle=False))
        except (KeyError, ValueError, OSError) as exc:
            raise ModelFileError(f"{path}: bad array member {i} ({exc})") from None
    try:
        return _Decoder(arrays).model(config["model"])
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{path}: inconsistent model description ({type(exc).__name__}: "
                             f"{exc})") from None
