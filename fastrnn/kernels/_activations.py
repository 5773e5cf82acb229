"""Scalar activations and their derivatives (through the output) for Numba kernels."""

import math
import types

from numba import njit

from .._config import ACT_HARD_SIGMOID, ACT_RELU, ACT_SIGMOID, ACT_TANH, FASTMATH_FLAGS, NUMBA_CACHE


def jit_serial(func):
    """Compile ``func`` as a cached single-threaded kernel."""
    return njit(cache=NUMBA_CACHE, fastmath=FASTMATH_FLAGS, error_model="numpy")(func)


def jit_parallel(func):
    """Compile ``func`` as a parallel (``prange``) kernel.

    Numba keys its on-disk cache by the function's qualified name and line, not
    by the ``parallel`` flag, so the parallel twin is compiled from a renamed
    copy of the function; otherwise it would load the serial twin's cache.
    """
    twin = types.FunctionType(func.__code__, func.__globals__, func.__name__ + "_parallel",
                              func.__defaults__, func.__closure__)
    twin.__qualname__ = func.__qualname__ + "_parallel"
    twin.__module__ = func.__module__
    return njit(parallel=True, cache=NUMBA_CACHE, fastmath=FASTMATH_FLAGS, error_model="numpy")(twin)


@njit(inline="always", cache=NUMBA_CACHE, fastmath=FASTMATH_FLAGS, error_model="numpy")
def activate(x, code):
    """Activation ``code`` of the scalar ``x``."""
    if code == ACT_TANH:
        return math.tanh(x)
    if code == ACT_SIGMOID:
        return 1.0 / (1.0 + math.exp(-x))
    if code == ACT_HARD_SIGMOID:
        return min(max(x / 6.0 + 0.5, 0.0), 1.0)
    if code == ACT_RELU:
        return max(x, 0.0)
    return x


@njit(inline="always", cache=NUMBA_CACHE, fastmath=FASTMATH_FLAGS, error_model="numpy")
def activate_grad(y, code):
    """Derivative of activation ``code`` at the point whose output is ``y``."""
    if code == ACT_TANH:
        return 1.0 - y * y
    if code == ACT_SIGMOID:
        return y * (1.0 - y)
    if code == ACT_HARD_SIGMOID:
        return 1.0 / 6.0 if 0.0 < y < 1.0 else 0.0
    if code == ACT_RELU:
        return 1.0 if y > 0.0 else 0.0
    return 1.0


@njit(inline="always", cache=NUMBA_CACHE)
def chunk_bounds(B, n_chunks, j):
    """Rows ``[lo, hi)`` of batch slice ``j`` out of ``n_chunks``."""
    size = (B + n_chunks - 1) // n_chunks
    lo = min(j * size, B)
    return lo, min(lo + size, B)


@njit(inline="always", cache=NUMBA_CACHE)
def active_end(start, lo, hi, t):
    """One past the last row of ``[lo, hi)`` that is real at step ``t`` (``lo`` if none)."""
    end = lo
    for b in range(lo, hi):
        if start[b] <= t:
            end = b + 1
    return end
