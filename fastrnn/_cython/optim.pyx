"""Optimizer steps (Cython): one fused elementwise loop.  Contract: ``fastrnn._reference``.

Built with ``-ffp-contract=off`` (see ``setup.py``): a fused multiply-add would
round differently from the reference.
"""

from cython cimport floating
from libc.math cimport sqrt


cdef void _adam(floating[::1] p, const floating[::1] g, floating[::1] m, floating[::1] v,
                floating lr, floating c1, floating c2, floating eps) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, mi, vi
    for i in range(p.shape[0]):
        gi = g[i]
        mi = m[i] + (gi - m[i]) * c1
        vi = v[i] + (gi * gi - v[i]) * c2
        m[i] = mi
        v[i] = vi
        p[i] -= mi / (<floating>sqrt(vi) + eps) * lr


cdef void _rmsprop(floating[::1] p, const floating[::1] g, floating[::1] a, floating lr,
                   floating rho, floating c, floating eps) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, ai
    for i in range(p.shape[0]):
        gi = g[i]
        ai = a[i] * rho + c * gi * gi
        a[i] = ai
        p[i] -= lr * gi / <floating>sqrt(ai + eps)


def adam_step(floating[::1] p, const floating[::1] g, floating[::1] m, floating[::1] v, lr,
              beta_1, beta_2, epsilon):
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
    cdef floating f_lr = lr, c1 = 1 - beta_1, c2 = 1 - beta_2, eps = epsilon
    with nogil:
        _adam(p, g, m, v, f_lr, c1, c2, eps)


def rmsprop_step(floating[::1] p, const floating[::1] g, floating[::1] a, lr, rho, epsilon):
    """One RMSprop step, in place: ``a`` and then ``p`` are updated.

    ``a = a rho + ((1 - rho) g) g``, ``p -= (lr g) / sqrt(a + epsilon)``, every scalar
    first rounded to the dtype of ``p``.

    Parameters
    ----------
    p, g, a : ndarray of shape (n,)
        Parameter, gradient and mean square; C-contiguous, one float dtype.
    lr, rho, epsilon : float
    """
    cdef floating f_lr = lr, f_rho = rho, c = 1 - rho, eps = epsilon
    with nogil:
        _rmsprop(p, g, a, f_lr, f_rho, c, eps)
