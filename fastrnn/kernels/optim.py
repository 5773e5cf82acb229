"""Optimizer steps (Numba): one fused elementwise loop.  Contract: ``fastrnn._reference``."""

import numpy as np
from numba import njit

from .._config import NUMBA_CACHE
from ._compile import wide_vectors


# No fastmath: a contracted multiply-add would round differently from the reference.  No
# reference counting: the steps allocate nothing (see ``_compile.jit_chunk``).
@njit(cache=NUMBA_CACHE, nogil=True, error_model="numpy", _nrt=False)
def _adam(p, g, m, v, lr, c1, c2, eps):
    wide_vectors()
    for i in range(p.shape[0]):
        gi = g[i]
        mi = m[i] + (gi - m[i]) * c1
        vi = v[i] + (gi * gi - v[i]) * c2
        m[i] = mi
        v[i] = vi
        p[i] -= mi / (np.sqrt(vi) + eps) * lr


@njit(cache=NUMBA_CACHE, nogil=True, error_model="numpy", _nrt=False)
def _rmsprop(p, g, a, lr, rho, c, eps):
    wide_vectors()
    for i in range(p.shape[0]):
        gi = g[i]
        ai = a[i] * rho + c * gi * gi
        a[i] = ai
        p[i] -= lr * gi / np.sqrt(ai + eps)


def adam_step(p, g, m, v, lr, beta_1, beta_2, epsilon):
    """One Adam step, in place: ``m``, ``v`` and then ``p`` are updated.

    ``m += (g - m) (1 - beta_1)``, ``v += (g g - v) (1 - beta_2)``,
    ``p -= lr m / (sqrt(v) + epsilon)``, every scalar first rounded to the dtype of ``p``.

    Parameters
    ----------
    p, g, m, v : ndarray of shape (n,)
        Parameter, gradient, first and second moments; C-contiguous, one float dtype.
    lr : float
        Step size with the bias correction folded in.
    beta_1, beta_2, epsilon : float
    """
    dt = p.dtype.type
    _adam(p, g, m, v, dt(lr), dt(1 - beta_1), dt(1 - beta_2), dt(epsilon))


def rmsprop_step(p, g, a, lr, rho, epsilon):
    """One RMSprop step, in place: ``a`` and then ``p`` are updated.

    ``a = a rho + ((1 - rho) g) g``, ``p -= (lr g) / sqrt(a + epsilon)``, every scalar
    first rounded to the dtype of ``p``.

    Parameters
    ----------
    p, g, a : ndarray of shape (n,)
        Parameter, gradient and mean square; C-contiguous, one float dtype.
    lr, rho, epsilon : float
    """
    dt = p.dtype.type
    _rmsprop(p, g, a, dt(lr), dt(rho), dt(1 - rho), dt(epsilon))
