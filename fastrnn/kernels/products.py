"""Weight-gradient products (Numba).  Contract: ``fastrnn._reference``.

A float32 product of C-contiguous operands that
:func:`~fastrnn.kernels._blas.takes_transposed_register_loop` accepts runs in
the register-blocked loop of :mod:`fastrnn.kernels._blas` on the CPUs that
have it (each output element one fused multiply-add per row, in row order);
anything else is NumPy's product.
"""

import numpy as np
from numba import njit

from .._config import NUMBA_CACHE
from ._blas import register_gemm_enabled, takes_transposed_register_loop, transposed_gemm_into
from ._compile import wide_vectors

_REGISTER_LOOP = register_gemm_enabled()


@njit(cache=NUMBA_CACHE, nogil=True, _nrt=False)
def _transposed_gemm(X, D, out, accumulate):
    wide_vectors()  # as every kernel (its loop is explicit 8-float vectors either way)
    transposed_gemm_into(X, D, out, accumulate)


def transposed_matmul(X, D, out, accumulate=False):
    """``out[...] = X.T @ D``, or ``out += X.T @ D`` when ``accumulate``: a weight gradient over many rows.

    Parameters
    ----------
    X : ndarray of shape (m, f)
    D : ndarray of shape (m, g)
    out : ndarray of shape (f, g)
        Of the dtype of ``X`` and ``D``; must not overlap them.
    accumulate : bool, default False
    """
    if (_REGISTER_LOOP and X.dtype == D.dtype == out.dtype == np.float32
            and takes_transposed_register_loop(*out.shape)
            and X.flags.c_contiguous and D.flags.c_contiguous and out.flags.c_contiguous):
        if X.shape[0] == 0 and not accumulate:
            out[...] = 0.0  # the loop leaves out as it is when there are no rows
        else:
            _transposed_gemm(X, D, out, bool(accumulate))
        return
    if accumulate:
        out += X.T @ D
    else:
        np.matmul(X.T, D, out=out)
