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
    The SHA-256 of every other member and the dtype and shape of every array.

Loading rebuilds only a fixed set of types (the classes registered with
:func:`fastrnn._registry.register_model_class`, which are fastrnn's estimators
and ``TextSequencer``; fastrnn's optimizers and learning-rate schedules, from
their fields; :class:`~sklearn.pipeline.Pipeline`;
plain JSON values, numeric or string arrays, NumPy random generators), reads
arrays with ``allow_pickle=False`` and checks every checksum and every weight
shape first, so a file cannot run code, and a truncated, corrupted or edited
file raises :class:`ModelFileError` instead of producing a broken model.  The checksums
catch accidents and naive edits; they are not a signature.

Reading is bounded before anything is decompressed: the ZIP directory's
declared sizes must fit ``max_bytes`` in total (and 256 MiB per JSON member),
every array's declared size must be exactly what its ``.npy`` header and the
manifest say, and JSON may nest at most 64 levels.  Whatever the ZIP, zlib, JSON
or NumPy layers raise on damaged bytes surfaces as :class:`ModelFileError`.

Writes go to a temporary file in the target directory that is renamed over
the destination (the file a symbolic link points to) only once complete, so a
crash mid-save leaves the previous file intact; the file gets the mode a new
file would (from the umask), or the mode of the file it replaces.

This module sits below the estimators: it finds their classes through
:mod:`fastrnn._registry`, which they fill when imported (the package root
installs a resolver that imports them for a file loaded first thing).
"""

import functools
import hashlib
import io
import json
import math
import os
import re
import secrets
import stat
import threading
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
#: The default of :func:`load`'s ``max_bytes``: the most a model file may decompress to (4 GiB).
MAX_BYTES = 4 * 2**30
_MAX_JSON_BYTES = 256 * 2**20  # config.json holds the vocabulary: tens of MB for a million words
_MAX_JSON_DEPTH = 64  # a pipeline's config nests 12 levels
_MAX_NPY_HEADER = 10_000  # numpy's own limit on a .npy header it parses
_ARRAY_KINDS = "biufcU"  # what save writes: numbers, booleans and unicode strings
_ARRAY_NAME = re.compile(r"arrays/(0|[1-9][0-9]{0,8})\.npy")
_CHUNK = 1 << 22


class ModelFileError(ValueError):
    """A model file is unreadable, corrupted, tampered with or of an unknown version."""


@functools.cache
def _optimizer_classes():
    from .optimizers import SGD, Adam, RMSprop

    return {cls.__name__: cls for cls in (SGD, RMSprop, Adam)}


@functools.cache
def _schedule_classes():
    from .schedules import SCHEDULES

    return SCHEDULES


# ------------------------------------------------------------------ encoding
def _json_number(v):
    """A number as JSON holds it: NaN and infinities (a history's epochs without validation)
    have no JSON literal, so they are written as ``{"__float__": "nan"}`` and the like."""
    if isinstance(v, float) and not math.isfinite(v):
        return {"__float__": repr(float(v))}  # 'nan', 'inf', '-inf'
    return v


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
            return _json_number(v)
        if isinstance(v, np.generic):
            return _json_number(v.item())
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
        if type(v) is _schedule_classes().get(type(v).__name__):  # its fields, rebuilt by load
            return {"__schedule__": type(v).__name__, "config": self.value(v.get_config(), where)}
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
        if hasattr(obj, "_check_saveable"):  # a file that load would refuse is not written
            obj._check_saveable()
        params = obj.get_params(deep=False)
        if params.get("callbacks"):
            warnings.warn("callbacks are not saved: the loaded model has callbacks=None",
                          UserWarning, stacklevel=4)
        params = {k: (None if k == "callbacks" else v) for k, v in params.items()}
        if callable(params.get("tokenizer")):
            raise TypeError("cannot save a TextSequencer with a callable tokenizer (code is never "
                            "stored); use token_pattern, or pickle the model instead")
        fitted = {k: v for k, v in vars(obj).items() if k.endswith("_") and not k.startswith("_")}
        spec = {"class": name,
                "params": {k: self.value(v, f"parameter {k!r}") for k, v in params.items()},
                "fitted": {k: self.value(v, f"attribute {k!r}") for k, v in fitted.items()}}
        output = getattr(obj, "_sklearn_output_config", None)  # set_output(transform=...)
        if output:
            spec["output"] = {k: str(v) for k, v in output.items()}
        return spec


def check_parameters_saveable(model):
    """Raise ``TypeError`` naming the first parameter of ``model`` that :func:`save` cannot store.

    Callbacks are left out (a file holds ``callbacks=None``).  For a check
    before training, so that a checkpoint does not fail after the first epoch.
    """
    encoder = _Encoder()
    for name, value in model.get_params(deep=False).items():
        if name != "callbacks":
            encoder.value(value, f"parameter {name!r}")


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
        only by a complete one.  A new file gets the mode the umask gives new
        files; a replaced file keeps its mode.

    Returns
    -------
    path : str

    Raises
    ------
    OSError
        If the file cannot be written (missing directory, no permission, full
        disk); the message names ``path``, and an existing file is left as it was.
    ValueError
        If :func:`load` would refuse the model (weights that no longer fit
        parameters set after the fit), before any file is written.
    """
    _check_fitted(model)
    enc = _Encoder()
    spec = enc.model(model)
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, "fastrnn_version": __version__,
              "model": spec}
    members = {_CONFIG: json.dumps(config, indent=1, allow_nan=False).encode()}
    declared = {}
    for i, a in enumerate(enc.arrays):
        members[f"arrays/{i}.npy"] = _npy_bytes(a)
        declared[f"arrays/{i}.npy"] = {"dtype": a.dtype.str, "shape": list(a.shape)}
    manifest = {"sha256": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
                "arrays": declared}

    def write(fh):
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(_MANIFEST, json.dumps(manifest, indent=1))
            for name, data in members.items():
                zf.writestr(name, data)

    path = os.fspath(path)
    _write_atomically(path, write)
    return path


_umask_lock = threading.Lock()


def _umask():
    """The process's umask, read without changing it where the platform allows."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:  # elsewhere the only way is to set it and put it back
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def _save_error(exc, path):
    """``exc`` about the temporary file, retold about the user's ``path`` (same OSError subclass)."""
    if exc.errno is not None:
        return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), path)
    return type(exc)(f"cannot write {path}: {exc}")


def _write_atomically(path, write):
    """Call ``write(binary file)`` on a temporary file beside ``path``, then rename it onto ``path``.

    The temporary file is created private (mode 0600); before the rename it gets the mode of
    the file it replaces, or for a new file ``0o666`` less the umask, as ``open`` would give.
    """
    # through a symbolic link, the file it points to is replaced, as open(path, "wb") would write
    target = os.path.realpath(path) if os.path.islink(path) else path
    directory = os.path.dirname(os.path.abspath(target))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError as exc:
        raise _save_error(exc, path) from exc
    # the name is chosen before the file exists, so a Ctrl-C at any point can remove it
    tmp = os.path.join(directory, f".fastrnn-{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _save_error(exc, path) from exc
        raise


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
            if type(i) is not int or not 0 <= i < len(self.arrays):
                raise ModelFileError(f"array reference {i!r} out of range")
            first = i not in self.used
            self.used.add(i)
            return self.arrays[i] if first else self.arrays[i].copy()
        if "__objarray__" in v:
            out = np.empty(len(v["__objarray__"]), dtype=object)
            out[:] = [self.value(x) for x in v["__objarray__"]]
            return out.reshape(v["shape"])
        if "__float__" in v:
            if v["__float__"] not in ("nan", "inf", "-inf"):
                raise ModelFileError(f"__float__ {v['__float__']!r} is not nan, inf or -inf")
            return float(v["__float__"])
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
            attrs = self.value(v["attrs"])
            if not isinstance(attrs, dict):
                raise ModelFileError(f"the {cls.__name__} optimizer's state is not a mapping")
            opt = cls.__new__(cls)
            opt.__dict__.update(attrs)
            return opt
        if "__schedule__" in v:
            cls = _schedule_classes().get(v["__schedule__"])
            config = self.value(v.get("config"))
            if cls is None or not isinstance(config, dict):
                raise ModelFileError(f"unknown learning-rate schedule {v['__schedule__']!r}")
            return cls(**config)
        if any(k.startswith("__") for k in v):
            raise ModelFileError(f"unknown tagged value {sorted(v)!r}")
        return {k: self.value(x) for k, x in v.items()}

    def model(self, spec):
        name = spec.get("class") if isinstance(spec, dict) else None
        if name == "Pipeline":
            steps = [(step_name, self.model(step)) for step_name, step in spec["steps"]]
            params = spec.get("params", {})
            pipe = Pipeline(steps, verbose=bool(params.get("verbose", False)))
            _check_pipeline(pipe)
            return pipe
        cls = model_class(name)
        if cls is None:
            raise ModelFileError(f"unknown model class {name!r} (no class is registered under "
                                 f"that kind; registered: {', '.join(registered_kinds()) or 'none'}"
                                 "; importing fastrnn registers fastrnn's own)")
        params = self.value(spec["params"])
        if not isinstance(params, dict):
            raise ModelFileError(f"the parameters of {name} are not a mapping")
        if hasattr(cls, "_params_from_file"):  # a class may map renamed parameters of older files
            params = cls._params_from_file(params)
        unknown = set(params) - set(cls().get_params(deep=False))
        if unknown:
            raise ModelFileError(f"{name} has no parameters {sorted(unknown)}")
        obj = cls(**params)
        fitted = self.value(spec["fitted"])
        if not isinstance(fitted, dict):
            raise ModelFileError(f"the fitted attributes of {name} are not a mapping")
        for k, v in fitted.items():
            if not k.endswith("_") or k.startswith("_"):
                raise ModelFileError(f"unexpected attribute {k!r}")
            setattr(obj, k, v)
        output = spec.get("output", {})
        if not isinstance(output, dict) or set(output) - {"transform"} or not all(
                v in ("default", "pandas", "polars") for v in output.values()):
            raise ModelFileError(f"the output settings of {name} are not set_output's: {output!r}")
        if output and not hasattr(obj, "set_output"):
            raise ModelFileError(f"{name} has no set_output")
        if hasattr(obj, "_check_loaded_state"):
            obj._check_loaded_state()
        else:  # a class without its own check: its parameters, and its analyzer if it has one
            if hasattr(obj, "_validate_params"):
                obj._validate_params()
            if hasattr(obj, "build_analyzer"):  # compiles token_pattern, hashes stop_words
                obj.build_analyzer()
            if hasattr(obj, "transform"):  # its fitted attributes must work, as the estimators'
                obj.transform([""])
        _check_classes(obj, name)
        if output:  # after the checks, which need no pandas or polars
            obj.set_output(**output)
        return obj


def _hashable(k):
    return tuple(k) if isinstance(k, list) else k


def _check_pipeline(pipe):
    """A pipeline the file describes must be one that can run: named steps, transformers first."""
    if not pipe.steps:
        raise ModelFileError("a Pipeline without steps")
    names = [name for name, _ in pipe.steps]
    if (not all(isinstance(n, str) and n and "__" not in n for n in names)
            or len(set(names)) != len(names)):
        raise ModelFileError(f"bad Pipeline step names {names!r}")
    for name, step in pipe.steps[:-1]:
        if not hasattr(step, "transform"):
            raise ModelFileError(f"Pipeline step {name!r} ({type(step).__name__}) is not a "
                                 "transformer but is followed by other steps")
    for name, step in pipe.steps[1:]:
        if model_kind(type(step)) == "TextSequencer":  # it reads raw texts, which no step outputs
            raise ModelFileError(f"Pipeline step {name!r} (TextSequencer) reads raw texts but "
                                 "follows other steps")


def _check_classes(obj, name):
    """``classes_`` must be sorted distinct labels, one per output unit (one unit for two)."""
    classes = vars(obj).get("classes_")
    if classes is None:
        return
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 2:
        raise ModelFileError(f"{name}.classes_ is not a list of at least 2 labels")
    if not np.all(classes[1:] > classes[:-1]):
        raise ModelFileError(f"{name}.classes_ is not sorted and distinct")
    n_outputs = vars(obj).get("n_outputs_")
    allowed = (1, 2) if len(classes) == 2 else (len(classes),)
    if type(n_outputs) is not int or n_outputs not in allowed:
        raise ModelFileError(f"{name}.classes_ holds {len(classes)} classes but the output layer "
                             f"has {n_outputs!r} units")


# ------------------------------------------------------------------ reading the archive
_ESCAPES = re.compile(rb"\\.", re.DOTALL)
_STRINGS = re.compile(rb'"[^"]*"')
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


def _json_depth(data, limit):
    """How deeply the JSON text ``data`` nests (counted up to just past ``limit``), without parsing.

    Linear in ``len(data)``: escapes go first, so every remaining quote delimits a string, and the
    strings go before the brackets are counted.
    """
    brackets = _STRINGS.sub(b"", _ESCAPES.sub(b"", data)).translate(None, _NOT_BRACKETS)
    steps = np.frombuffer(brackets, dtype=np.uint8)
    depth = deepest = 0
    for start in range(0, len(steps), _CHUNK):
        chunk = steps[start:start + _CHUNK]
        level = depth + np.cumsum(np.where((chunk == ord("[")) | (chunk == ord("{")), 1, -1),
                                  dtype=np.int64)
        deepest, depth = max(deepest, int(level.max())), int(level[-1])
        if deepest > limit:
            break
    return deepest


def _parse_json(data, name):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelFileError(f"{name} is not UTF-8 text") from None
    depth = _json_depth(data, _MAX_JSON_DEPTH)
    if depth > _MAX_JSON_DEPTH:
        raise ModelFileError(f"{name} nests deeper than {_MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or an integer literal too long to convert
        raise ModelFileError(f"unreadable {name} ({exc})") from None


def _read_exact(stream, n):
    data = stream.read(n)
    if len(data) != n:
        raise ModelFileError("a member ends early")
    return data


def _npy_header(stream, name):
    """``(shape, fortran_order, dtype, header length)`` from the start of a ``.npy`` member."""
    magic = _read_exact(stream, 8)
    if magic[:6] != b"\x93NUMPY" or magic[6:] not in (b"\x01\x00", b"\x02\x00"):
        raise ModelFileError(f"{name} is not a .npy array")
    width = 2 if magic[6] == 1 else 4
    size_bytes = _read_exact(stream, width)
    size = int.from_bytes(size_bytes, "little")
    if size > _MAX_NPY_HEADER:
        raise ModelFileError(f"{name} has a {size}-byte .npy header")
    header = _read_exact(stream, size)
    read = (np.lib.format.read_array_header_1_0 if width == 2
            else np.lib.format.read_array_header_2_0)
    try:
        shape, fortran, dtype = read(io.BytesIO(size_bytes + header), max_header_size=_MAX_NPY_HEADER)
    except (ValueError, TypeError, SyntaxError) as exc:
        raise ModelFileError(f"{name} has a bad .npy header ({exc})") from None
    if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.shape != () \
            or dtype.itemsize == 0:
        raise ModelFileError(f"{name} holds an array of dtype {dtype}, which model files do not use")
    return shape, fortran, dtype, 8 + width + size


def _check_declared(name, info, shape, dtype, header_len, declared):
    """The array's size in the ZIP directory, its .npy header and the manifest must all agree."""
    n_bytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if info.file_size != header_len + n_bytes:
        raise ModelFileError(f"{name} declares {info.file_size} bytes but its header describes a "
                             f"{dtype}{tuple(shape)} array of {header_len + n_bytes}")
    if declared is not None:
        entry = declared.get(name)
        if (not isinstance(entry, dict) or entry.get("dtype") != dtype.str
                or entry.get("shape") != list(shape)):
            raise ModelFileError(f"{name} is a {dtype.str}{tuple(shape)} array; the manifest "
                                 f"declares {entry!r}")
    return n_bytes


def _read_array(zf, info, shape, fortran, dtype, header_len):
    """The array of a ``.npy`` member, read in chunks into its final buffer; and its SHA-256."""
    digest = hashlib.sha256()
    with zf.open(info) as stream:
        digest.update(_read_exact(stream, header_len))
        out = np.empty(shape, dtype=dtype, order="F" if fortran else "C")
        view = memoryview(out.reshape(-1, order="A").view(np.uint8))
        pos = 0
        while pos < len(view):
            n = stream.readinto(view[pos:pos + _CHUNK])
            if not n:
                raise ModelFileError(f"{info.filename} ends early")
            digest.update(view[pos:pos + n])
            pos += n
        if stream.read(1):  # also where zipfile checks the CRC-32
            raise ModelFileError(f"{info.filename} is longer than its header says")
    if not dtype.isnative:
        out = out.astype(dtype.newbyteorder("="))
    return out, digest.hexdigest()


def _read_json_member(zf, info):
    with zf.open(info) as stream:
        data = stream.read()
    if len(data) != info.file_size:
        raise ModelFileError(f"{info.filename} ends early")
    return data


def _read_archive(fh, max_bytes):
    """``(config, arrays)`` of an open model file; every size is checked before it is decompressed."""
    with zipfile.ZipFile(fh) as zf:
        infos = zf.infolist()
        if len(infos) > _MAX_MEMBERS:
            raise ModelFileError("too many members")
        members = {}
        for info in infos:
            if info.filename in members:
                raise ModelFileError(f"member {info.filename!r} appears twice")
            members[info.filename] = info
        if _MANIFEST not in members or _CONFIG not in members:
            raise ModelFileError(f"not a fastrnn model file (no {_MANIFEST} or {_CONFIG})")
        array_names = [n for n in members if n not in (_MANIFEST, _CONFIG)]
        for name in array_names:
            if not _ARRAY_NAME.fullmatch(name):
                raise ModelFileError(f"unexpected member {name!r}")
        array_names.sort(key=lambda n: int(_ARRAY_NAME.fullmatch(n).group(1)))
        for i, name in enumerate(array_names):
            if name != f"arrays/{i}.npy":
                raise ModelFileError(f"the members do not match the manifest (arrays/{i}.npy is "
                                     "missing; file edited?)")
        for info in infos:
            if info.flag_bits & 0x1:
                raise ModelFileError(f"{info.filename} is encrypted; model files never are")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ModelFileError(f"{info.filename} uses compression method "
                                     f"{info.compress_type}; model files use deflate")
        for name in (_MANIFEST, _CONFIG):
            if members[name].file_size > min(_MAX_JSON_BYTES, max_bytes):
                raise ModelFileError(f"{name} declares {members[name].file_size:,} bytes, more "
                                     f"than a model file's {min(_MAX_JSON_BYTES, max_bytes):,}")
        total = sum(info.file_size for info in infos)
        if total > max_bytes:
            raise ModelFileError(f"the members declare {total:,} bytes uncompressed, more than "
                                 f"max_bytes={max_bytes:,}")

        manifest = _parse_json(_read_json_member(zf, members[_MANIFEST]), _MANIFEST)
        expected = manifest.get("sha256") if isinstance(manifest, dict) else None
        declared = manifest.get("arrays") if isinstance(manifest, dict) else None
        if not isinstance(expected, dict) or not (declared is None or isinstance(declared, dict)):
            raise ModelFileError(f"not a fastrnn model file (no valid {_MANIFEST})")
        if set(expected) != set(members) - {_MANIFEST} or (
                declared is not None and set(declared) != set(array_names)):
            raise ModelFileError("the members do not match the manifest (file edited?)")

        data = _read_json_member(zf, members[_CONFIG])
        if hashlib.sha256(data).hexdigest() != expected[_CONFIG]:
            raise ModelFileError(f"checksum mismatch in {_CONFIG} (corrupted or edited)")
        config = _parse_json(data, _CONFIG)
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            raise ModelFileError("not a fastrnn model file")
        version = config.get("format_version")
        if type(version) is not int or version != FORMAT_VERSION:  # 1.0 and True equal 1
            raise ModelFileError(f"model format version {version!r} is not supported by this "
                                 f"fastrnn (reads version {FORMAT_VERSION}); it was written by "
                                 f"fastrnn {config.get('fastrnn_version')}")

        headers = []
        for name in array_names:  # every header and declared size first, then the data
            with zf.open(members[name]) as stream:
                shape, fortran, dtype, header_len = _npy_header(stream, name)
            _check_declared(name, members[name], shape, dtype, header_len, declared)
            headers.append((shape, fortran, dtype, header_len))
        arrays = []
        for name, header in zip(array_names, headers):
            array, digest = _read_array(zf, members[name], *header)
            if digest != expected[name]:
                raise ModelFileError(f"checksum mismatch in {name} (corrupted or edited)")
            arrays.append(array)
    return config, arrays


def load(path, *, max_bytes=MAX_BYTES):
    """Load a model written by :func:`save`.

    Never executes code from the file: only fastrnn's own classes,
    :class:`~sklearn.pipeline.Pipeline`, JSON values and non-object arrays are
    rebuilt.

    Parameters
    ----------
    path : str or os.PathLike
    max_bytes : int, default 4 GiB
        The most the file may decompress to.  Sizes are checked against it (and
        against each array's declared shape and dtype) before anything is
        decompressed; raise it for a model whose weights are larger.

    Returns
    -------
    model : the saved estimator or Pipeline, fitted.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ModelFileError
        If the file is not a fastrnn model, is truncated or corrupted, fails
        its checksums, was written by an unknown format version, declares more
        than ``max_bytes``, or holds weights, classes or steps that do not match
        its configuration.  Whatever the ZIP, zlib, JSON and NumPy readers raise
        on damaged bytes is reported as this exception.
    """
    from .runtime.cpus import default_n_threads

    default_n_threads()  # a bad FASTRNN_NUM_THREADS is named, not reported as a damaged file
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such model file: {path}")
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1:
        raise ValueError(f"max_bytes must be a positive int, got {max_bytes!r}")
    with open(path, "rb") as fh:  # an unreadable path (permissions, a directory) stays an OSError
        try:
            config, arrays = _read_archive(fh, max_bytes)
        except ModelFileError as exc:
            raise ModelFileError(f"{path}: {exc}") from None
        except MemoryError:
            raise
        except Exception as exc:  # zipfile, zlib, bz2, struct, ...: the bytes are damaged
            raise ModelFileError(f"{path}: not a fastrnn model file, or truncated/corrupted "
                                 f"({type(exc).__name__}: {exc})") from exc
    try:
        return _Decoder(arrays).model(config["model"])
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    except MemoryError:
        raise
    except Exception as exc:  # a value of the wrong type or range where the model needs another
        raise ModelFileError(f"{path}: inconsistent model description ({type(exc).__name__}: "
                             f"{exc})") from exc
