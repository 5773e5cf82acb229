"""Backend selection: Numba, else Cython, else the NumPy reference.

The choice is made once, at import, by a short ladder; ``FASTRNN_BACKEND``
forces one.  No other module imports numba or the compiled extensions: layers
ask :func:`get_kernels` for the module of the backend in use, at call time, so
estimators never hold jitted objects and pickle across backends.
"""

import contextlib
import importlib
import threading
import warnings

from . import _config

_MODULES = {
    "numba": "fastrnn.kernels",
    "cython": "fastrnn._cython",
    "numpy": "fastrnn._reference",
}


def _try_import(name):
    try:
        return importlib.import_module(_MODULES[name])
    except ImportError:
        return None


_LOADED = {name: mod for name in _config.BACKEND_NAMES if (mod := _try_import(name)) is not None}

#: Names of the backends that imported on this machine, fastest first.
AVAILABLE_BACKENDS = [name for name in _config.BACKEND_NAMES if name in _LOADED]


def _initial_backend():
    forced = _config.requested_backend()
    if forced is not None:
        if forced not in _LOADED:
            raise ImportError(
                f"FASTRNN_BACKEND={forced!r} was requested but that backend is not available "
                f"(available: {', '.join(AVAILABLE_BACKENDS)}); install numba, or reinstall "
                "fastrnn with a C compiler for the Cython kernels"
            )
        return forced
    for name in ("numba", "cython"):
        if name in _LOADED:
            return name
    warnings.warn(
        "fastrnn: neither Numba nor the Cython kernels are available; falling back to the "
        "slow NumPy reference backend",
        RuntimeWarning,
        stacklevel=3,
    )
    return "numpy"


_current = _base = _initial_backend()
# the use_backend blocks running, oldest first: one's exit must not undo a later one's choice.
# Reentrant: a garbage collection inside may close a suspended generator's block in this thread
_blocks = {}
_SWITCH = threading.RLock()


def current_backend():
    """Return the name of the backend in use (``"numba"``, ``"cython"`` or ``"numpy"``)."""
    return _current


def get_kernels(name=None):
    """Return the kernel module of backend ``name`` (default: the one in use).

    The kernels take what fastrnn's layers pass them (int32 ids within the
    table, arrays of one float dtype) and, compiled, check neither types nor
    bounds: called directly with other input, they may read outside an array
    where the NumPy reference raises.
    """
    name = _current if name is None else name
    if name not in _LOADED:
        raise ValueError(f"backend {name!r} is not available (available: {AVAILABLE_BACKENDS})")
    return _LOADED[name]


@contextlib.contextmanager
def use_backend(name):
    """Run the enclosed block on backend ``name``.

    Parameters
    ----------
    name : {"numba", "cython", "numpy"}
        Backend to switch to; must be in ``AVAILABLE_BACKENDS``.

    Notes
    -----
    The choice is process-wide (fastrnn's worker threads read it too): while
    the block runs, other threads' fits use this backend as well.  Blocks may
    nest and overlap across threads: the backend in use is that of the block
    entered last among those still running, and the one chosen at import
    when none is.

    Examples
    --------
    >>> import fastrnn
    >>> with fastrnn.use_backend("numpy"):
    ...     fastrnn.BACKEND
    'numpy'
    """
    global _current
    get_kernels(name)
    token = object()
    with _SWITCH:
        _blocks[token] = name
        _current = name
    try:
        yield name
    finally:
        with _SWITCH:
            del _blocks[token]
            _current = next(reversed(_blocks.values()), _base)
