"""A lean matrix product for the Numba kernels: one BLAS ``gemm`` call, no checks.

``np.dot(a, b, out)`` inside a jitted function brings Numba's general
implementation (layout dispatch, copies of non-contiguous operands, shape and
aliasing checks) into every kernel that uses it; each call site cost about
0.4 s of compile time.  The kernels only ever multiply C-contiguous row blocks
of the right shapes, so :func:`gemm_into` calls the same BLAS routine Numba's
``np.dot`` ends in (``numba_xxgemm``, SciPy's BLAS) directly.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.linalg import ensure_blas

_CHAR = ir.IntType(8)
_VOIDP = ir.IntType(8).as_pointer()


def _c_matrix(ty):
    return isinstance(ty, types.Array) and ty.ndim == 2 and ty.layout == "C"


@intrinsic
def gemm_into(typingctx, a, b, out):
    """``out[...] = a @ b`` for C-contiguous 2-D float arrays of one dtype (jitted code only).

    Parameters
    ----------
    a : ndarray of shape (m, k)
    b : ndarray of shape (k, n)
    out : ndarray of shape (m, n)
        Overwritten; must not overlap ``a`` or ``b``.  Shapes are not checked:
        the caller guarantees them.
    """
    if not (_c_matrix(a) and _c_matrix(b) and _c_matrix(out)):
        return None
    if not (a.dtype == b.dtype == out.dtype and a.dtype in (types.float32, types.float64)):
        return None
    ensure_blas()
    dtype = a.dtype
    kind = "s" if dtype == types.float32 else "d"

    def codegen(context, builder, sig, args):
        A, Bm, C = (context.make_array(t)(context, builder, v) for t, v in zip(sig.args, args))
        m, k = cgutils.unpack_tuple(builder, A.shape, 2)
        n = cgutils.unpack_tuple(builder, Bm.shape, 2)[1]
        intp = context.get_value_type(types.intp)
        one = ir.Constant(intp, 1)

        def at_least_one(v):
            return builder.select(builder.icmp_signed(">", v, one), v, one)

        fnty = ir.FunctionType(ir.IntType(32), [_CHAR, _CHAR, _CHAR, intp, intp, intp, _VOIDP,
                                                _VOIDP, intp, _VOIDP, intp, _VOIDP, _VOIDP, intp])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")
        alpha = cgutils.alloca_once_value(builder, context.get_constant(dtype, 1.0))
        beta = cgutils.alloca_once_value(builder, context.get_constant(dtype, 0.0))
        empty = builder.or_(builder.icmp_signed("==", m, ir.Constant(intp, 0)),
                            builder.icmp_signed("==", n, ir.Constant(intp, 0)))
        with builder.if_then(builder.not_(empty), likely=True):
            # Row-major out = a @ b is column-major out.T = b.T @ a.T.
            notrans = ir.Constant(_CHAR, ord("n"))
            res = builder.call(fn, (ir.Constant(_CHAR, ord(kind)), notrans, notrans, n, m, k,
                                    builder.bitcast(alpha, _VOIDP),
                                    builder.bitcast(Bm.data, _VOIDP), at_least_one(n),
                                    builder.bitcast(A.data, _VOIDP), at_least_one(k),
                                    builder.bitcast(beta, _VOIDP),
                                    builder.bitcast(C.data, _VOIDP), at_least_one(n)))
            with builder.if_then(cgutils.is_not_null(builder, res), likely=False):
                pyapi = context.get_python_api(builder)
                pyapi.gil_ensure()
                pyapi.fatal_error("BLAS gemm returned an error")
        return context.get_dummy_value()

    return types.none(a, b, out), codegen
