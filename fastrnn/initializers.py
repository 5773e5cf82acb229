"""Keras's default initialisers, driven by an explicit ``np.random.Generator``."""

import numpy as np


def glorot_uniform(rng, shape, dtype=np.float32):
    """Uniform on ``[-l, l]`` with ``l = sqrt(6 / (fan_in + fan_out))``.

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : tuple of int
        ``(fan_in, fan_out)``.
    dtype : dtype, default float32

    Returns
    -------
    ndarray of shape ``shape``
    """
    fan_in, fan_out = shape[0], shape[-1]
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def orthogonal(rng, shape, dtype=np.float32, gain=1.0):
    """Matrix with orthonormal rows or columns (whichever are fewer), as Keras's ``Orthogonal``.

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : tuple of int
        ``(rows, cols)``, e.g. ``(units, n_gates * units)`` for a recurrent kernel.
    dtype : dtype, default float32
    gain : float, default 1.0

    Returns
    -------
    ndarray of shape ``shape``
    """
    rows, cols = shape
    a = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # make the decomposition unique
    if rows < cols:
        q = q.T
    return np.ascontiguousarray(gain * q[:rows, :cols], dtype=dtype)


def zeros(shape, dtype=np.float32):
    """All-zero array of ``shape``."""
    return np.zeros(shape, dtype=dtype)
