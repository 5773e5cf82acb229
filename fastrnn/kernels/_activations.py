"""Activations of the Numba kernels: scalar tanh and sigmoid, and loops over rows of values."""

import math

import numpy as np
from numba import njit
from numba.extending import overload

from .._config import FASTMATH_FLAGS
from .._constants import (
    ACT_HARD_SIGMOID,
    ACT_RELU,
    ACT_SIGMOID,
    ACT_TANH,
    TANH32_P,
    TANH32_Q,
)
from ._compile import INLINE, INNER, is_f32, wide_vectors


# tanh(x) ~ x P(x^2) / Q(x^2) on [-9, 9] (clamped outside; coefficients in fastrnn._constants):
# max abs error 2.1e-8 in float64.  Used for float32 data only, evaluated in float32 (max abs
# error 3.7e-7, about 3 float32 ulps; float32 evaluation has twice the SIMD lanes of float64),
# in branch-free loops that LLVM vectorises; float64 data keeps libm's tanh/exp and matches the
# NumPy reference to ~1e-15.
_F32 = np.float32
_P32 = tuple(_F32(c) for c in TANH32_P)
_Q32 = tuple(_F32(c) for c in TANH32_Q)
_ONE32, _HALF32, _CLAMP32 = _F32(1.0), _F32(0.5), _F32(9.0)


@njit(**INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def tanh_rational32(x):
    """Branch-free tanh of a float32 scalar in float32 arithmetic, accurate to 3.7e-7."""
    wide_vectors()
    p0, p1, p2, p3, p4 = _P32
    q1, q2, q3, q4 = _Q32
    x = min(max(x, -_CLAMP32), _CLAMP32)
    u = x * x
    p = p0 + u * (p1 + u * (p2 + u * (p3 + u * p4)))
    q = _ONE32 + u * (q1 + u * (q2 + u * (q3 + u * q4)))
    return min(max(x * p / q, -_ONE32), _ONE32)  # float32 rounding can overshoot 1 by an ulp


def fast_tanh(x):
    """tanh for kernels: rational for float32, libm for float64 (jitted code only)."""
    raise NotImplementedError


def fast_sigmoid(x):
    """Logistic function for kernels: rational for float32, libm for float64 (jitted code only)."""
    raise NotImplementedError


@overload(fast_tanh, jit_options=INLINE)
def _fast_tanh(x):
    if is_f32(x):
        def rational(x):
            wide_vectors()
            return tanh_rational32(x)
        return rational

    def libm(x):
        wide_vectors()
        return math.tanh(x)
    return libm


@overload(fast_sigmoid, jit_options=INLINE)
def _fast_sigmoid(x):
    if is_f32(x):
        def rational(x):
            wide_vectors()
            return _HALF32 + _HALF32 * tanh_rational32(_HALF32 * x)
        return rational

    def libm(x):
        wide_vectors()
        return 1.0 / (1.0 + math.exp(-x))
    return libm


def tanh_form_scale(G, lo, hi, dtype):
    """Per-gate scale ``s`` of the one-tanh form ``gate = (1 - s) + s * tanh(s * x)``.

    ``s`` is 1 on the tanh gates ``[lo, hi)`` (``gate = tanh(x)``) and 0.5
    elsewhere (``gate = 0.5 + 0.5 tanh(0.5 x)``, which is how
    :func:`fast_sigmoid` computes a float32 sigmoid, to the bit).  One loop over
    all of a row's gates then replaces one short loop per gate; LLVM's vector
    loop takes 32 floats per pass on an AVX2 CPU (64 with AVX-512) and shorter
    loops run in its epilogue or scalar, which small models feel most.  Built
    in NumPy by the caller and passed in: allocating it inside a kernel
    compiled NumPy's ``full`` into every kernel that did, at a cost in cold
    compile time.

    Parameters
    ----------
    G : int
        Number of gate columns.
    lo, hi : int
        The tanh gates' columns.
    dtype : numpy dtype

    Returns
    -------
    scale, offset : ndarray of shape (G,)
        ``s`` and ``1 - s``.
    """
    scale = np.full(G, 0.5, dtype)
    offset = np.full(G, 0.5, dtype)
    scale[lo:hi] = 1.0
    offset[lo:hi] = 0.0
    return scale, offset


@njit(**INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def activate_inplace(v, code):
    """Apply activation ``code`` to the 1-D array ``v`` in place, one tight loop per code."""
    # No wide_vectors(): mostly called on one row's values, which a 512-bit loop left scalar
    # at 32 of them.
    n = v.shape[0]
    if code == ACT_TANH:
        for i in range(n):
            v[i] = fast_tanh(v[i])
    elif code == ACT_SIGMOID:
        for i in range(n):
            v[i] = fast_sigmoid(v[i])
    elif code == ACT_HARD_SIGMOID:
        for i in range(n):
            v[i] = min(max(v[i] / 6.0 + 0.5, 0.0), 1.0)
    elif code == ACT_RELU:
        for i in range(n):
            v[i] = max(v[i], 0.0)


@njit(**INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def activate_rows_into(src, dst, code):
    """``dst = act(src)`` for C-contiguous ``(rows, H)`` blocks in one loop over all their values.

    A row's loop of H values is too short for LLVM's vector loop at small H
    (see :data:`BY_CHUNK_BELOW`).
    """
    wide_vectors()
    n = src.shape[0] * src.shape[1]
    s = src.reshape(n)
    d = dst.reshape(n)
    for i in range(n):
        d[i] = s[i]
    activate_inplace(d, code)


@njit(**INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def activate_grad_into(y, out, code):
    """``out[i]``: derivative of activation ``code`` at the point whose output is ``y[i]``.

    One branch-free loop per code, so it vectorises.

    The SimpleRNN and LSTM kernels pass a float64 ``out`` whatever the data
    type, so that the products they form from it round exactly as the scalar
    formula's would (a float32 ``out`` was slower there); the GRU kernel
    passes one of the data type, which is faster for its float32 training.
    """
    wide_vectors()
    n = y.shape[0]
    if code == ACT_TANH:
        for i in range(n):
            out[i] = 1.0 - y[i] * y[i]
    elif code == ACT_SIGMOID:
        for i in range(n):
            out[i] = y[i] * (1.0 - y[i])
    elif code == ACT_HARD_SIGMOID:
        for i in range(n):
            out[i] = 1.0 / 6.0 if 0.0 < y[i] < 1.0 else 0.0
    elif code == ACT_RELU:
        for i in range(n):
            out[i] = 1.0 if y[i] > 0.0 else 0.0
    else:
        for i in range(n):
            out[i] = 1.0
