"""Engine-wide settings read once from the environment.

``FASTRNN_BACKEND``
    Force a backend: ``numba``, ``cython`` or ``numpy``.
``FASTRNN_FASTMATH``
    ``1`` lets Numba reassociate floating-point sums (off by default, so that
    results stay reproducible against the NumPy reference).  Without it the
    recurrent kernels may still fuse a multiply and an add into one rounding
    (as the Cython kernels do, compiled with GCC's default contraction); the
    optimizer steps never do.
``FASTRNN_NUMBA_CACHE``
    ``0`` turns off Numba's on-disk cache (useful when several processes share
    a read-only install).
``FASTRNN_FLUSH_DENORMALS``
    ``0`` keeps denormal floats in the compiled kernels (by default they are
    flushed to zero on x86, which avoids 10-100x slow-downs on long sequences).
``FASTRNN_SPIN_US``
    How long, in microseconds, an idle thread of the engine's pool polls for
    work before it sleeps (default 1000; ``0`` makes it sleep at once).
``FASTRNN_BLOCK_CACHE_MB``
    Most memory, in MiB, that training and prediction keep in freed large
    arrays for the next batch to reuse (default 512; ``0`` turns the reuse
    off; see :mod:`fastrnn.runtime.memory`).
"""

import os

from ._constants import ACT_HARD_SIGMOID, ACT_LINEAR, ACT_RELU, ACT_SIGMOID, ACT_TANH

#: Activation names and their kernel codes (:mod:`fastrnn._constants`).
ACTIVATIONS = {
    "tanh": ACT_TANH,
    "sigmoid": ACT_SIGMOID,
    "hard_sigmoid": ACT_HARD_SIGMOID,
    "relu": ACT_RELU,
    "linear": ACT_LINEAR,
    None: ACT_LINEAR,
}

BACKEND_NAMES = ("numba", "cython", "numpy")


def _env_flag(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


FASTMATH_FLAGS = {"nsz", "arcp", "contract", "afn"} if _env_flag("FASTRNN_FASTMATH", False) else {"contract"}
NUMBA_CACHE = _env_flag("FASTRNN_NUMBA_CACHE", True)
FLUSH_DENORMALS = _env_flag("FASTRNN_FLUSH_DENORMALS", True)


def _env_number(name, default):
    value = os.environ.get(name, "").strip()
    try:
        return float(value) if value else default
    except ValueError:
        raise ImportError(f"{name}={value!r} is not a number") from None


SPIN_US = _env_number("FASTRNN_SPIN_US", 1000.0)
BLOCK_CACHE_MB = max(_env_number("FASTRNN_BLOCK_CACHE_MB", 512.0), 0.0)


def requested_backend():
    """Return the backend forced by ``FASTRNN_BACKEND``, or ``None``."""
    value = os.environ.get("FASTRNN_BACKEND", "").strip().lower()
    if not value:
        return None
    if value not in BACKEND_NAMES:
        raise ImportError(
            f"FASTRNN_BACKEND={value!r} is not one of {', '.join(BACKEND_NAMES)}"
        )
    return value
