"""Weight-gradient products (Numba).  Contract: ``fastrnn._reference``.

A float32 product of C-contiguous operands that
:func:`fastrnn._constants.takes_transposed_register_loop` accepts runs in the
register-blocked loop of :mod:`fastrnn.kernels._blas` on the CPUs that have it
(each output element one fused multiply-add per row, in row order); anything
else (other shapes, dtypes or layouts, a read-only or overlapping ``out``) is
the NumPy reference's product.
"""

from numba import njit

from .._reference import transposed_matmul as reference_product
from .._config import NUMBA_CACHE
from ..utils.linalg import register_loop_operands
from ._blas import register_gemm_enabled, transposed_gemm_into
from ._compile import wide_vectors

_REGISTER_LOOP = register_gemm_enabled()


@njit(cache=NUMBA_CACHE, nogil=True, _nrt=False)
def _transposed_gemm(X, D, out, accumulate):
    wide_vectors()  # as every kernel (its loop is explicit 8-float vectors either way)
    transposed_gemm_into(X, D, out, accumulate)


def takes_loop(X, D, out):
    """Whether :func:`transposed_matmul` runs ``X``, ``D``, ``out`` in its own loop here."""
    return _REGISTER_LOOP and register_loop_operands(X, D, out)


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
    if takes_loop(X, D, out):
        _transposed_gemm(X, D, out, bool(accumulate))
    else:
        reference_product(X, D, out, accumulate)
