"""Weight-gradient products (Cython).  Contract: ``fastrnn._reference``.

On x86 CPUs with AVX2 and FMA and without AVX-512 (the build's
``-march=native``), a float32 product of C-contiguous operands that
``fastrnn._constants.takes_transposed_register_loop`` accepts runs in the
register-blocked loop of ``_common.pxd`` (each output element one fused
multiply-add per row, in row order), without the GIL; anything else (other
shapes, dtypes or layouts, a read-only or overlapping ``out``) is the NumPy
reference's product.
"""

from fastrnn._reference import transposed_matmul as reference_product
from fastrnn.utils.linalg import register_loop_operands

from fastrnn._cython._common cimport REGISTER_GEMM, register_sgemm_tn
from fastrnn._cython._constants cimport TRANSPOSED_CHUNK_ROWS

#: Whether this build has the register-blocked loop.
REGISTER_LOOP = bool(REGISTER_GEMM)


cdef void _register_product(const float[:, ::1] X, const float[:, ::1] D, float[:, ::1] out,
                            bint accumulate) noexcept nogil:
    register_sgemm_tn(<int>X.shape[1], <int>D.shape[1], X.shape[0], &X[0, 0], X.shape[1],
                      &D[0, 0], D.shape[1], &out[0, 0], out.shape[1], accumulate,
                      TRANSPOSED_CHUNK_ROWS)


def takes_loop(X, D, out):
    """Whether :func:`transposed_matmul` runs ``X``, ``D``, ``out`` in its own loop here."""
    return REGISTER_LOOP and register_loop_operands(X, D, out)


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
    cdef const float[:, ::1] x
    cdef const float[:, ::1] d
    cdef float[:, ::1] o
    cdef bint acc = bool(accumulate)
    if takes_loop(X, D, out):
        x, d, o = X, D, out
        with nogil:
            _register_product(x, d, o, acc)
    else:
        reference_product(X, D, out, accumulate)
