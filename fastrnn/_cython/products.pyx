"""Weight-gradient products (Cython).  Contract: ``fastrnn._reference``.

On x86 CPUs with AVX2 and FMA and without AVX-512 (the build's
``-march=native``), a float32 product of C-contiguous operands with ``X`` at
most REGISTER_TRANSPOSED_MAX_COLUMNS wide and ``D``'s width a multiple of 8
runs in the register-blocked loop of ``_common.pxd`` (the rule of
``takes_transposed_register_loop`` in fastrnn/kernels/_blas.py); anything
else is NumPy's product.
"""

import numpy as np

from fastrnn._cython._common cimport REGISTER_GEMM, register_sgemm_tn
from fastrnn._cython._constants cimport REGISTER_TRANSPOSED_MAX_COLUMNS, TRANSPOSED_CHUNK_ROWS

#: Whether this build has the register-blocked loop (for the tests).
REGISTER_LOOP = bool(REGISTER_GEMM)


cdef void _register_product(const float[:, ::1] X, const float[:, ::1] D, float[:, ::1] out,
                            bint accumulate) noexcept nogil:
    register_sgemm_tn(<int>X.shape[1], <int>D.shape[1], X.shape[0], &X[0, 0], <int>X.shape[1],
                      &D[0, 0], <int>D.shape[1], &out[0, 0], <int>out.shape[1], accumulate,
                      TRANSPOSED_CHUNK_ROWS)


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
    if (REGISTER_GEMM and X.dtype == D.dtype == out.dtype == np.float32
            and out.shape[1] % 8 == 0 and out.shape[0] <= REGISTER_TRANSPOSED_MAX_COLUMNS
            and X.flags.c_contiguous and D.flags.c_contiguous and out.flags.c_contiguous):
        if X.shape[0] == 0 or out.shape[0] == 0 or out.shape[1] == 0:
            if not accumulate:
                out[...] = 0.0
            return
        _register_product(X, D, out, accumulate)
        return
    if accumulate:
        out += X.T @ D
    else:
        np.matmul(X.T, D, out=out)
