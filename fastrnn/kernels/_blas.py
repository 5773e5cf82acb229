"""Low-level helpers of the Numba kernels: a lean BLAS ``gemm`` (no checks) and a row prefetch.

``np.dot(a, b, out)`` inside a jitted function brings Numba's general
implementation (layout dispatch, copies of non-contiguous operands, shape and
aliasing checks) into every kernel that uses it, which costs compile time at
each call site.  The kernels only ever multiply C-contiguous row blocks of the
right shapes, so :func:`gemm_into` calls the same BLAS routine Numba's
``np.dot`` ends in (``numba_xxgemm``, SciPy's BLAS) directly.

A time step's product is small and its right-hand matrix (a recurrent
kernel) large.  Above about a million multiply-adds, OpenBLAS copies ("packs")
both operands into its blocked layout on every call, the whole recurrent
kernel included; at most that many (``M * N * K <= 100**3``, no transposes), its
AVX-512 builds run a "small matrix" kernel that reads the operands where they
are.  :func:`gemm_into` therefore splits a larger product into column blocks
of at most :data:`SMALL_GEMM_MACS` multiply-adds.  Each output element is
still one dot product over the whole inner dimension.  On a BLAS without that kernel the blocks cost
one call each.  A product of many rows (prediction's batches of 256) is one call again once it
is large (:data:`PACKED_GEMM_MIN_ROWS`, :data:`PACKED_GEMM_MIN_MACS`): the copies are then paid
for by the rows, and the packed kernel beats small column blocks.

OpenBLAS's small-matrix kernel exists only in its AVX-512 builds.  Elsewhere every
call copies both operands into its blocked layout, which costs more than a small step product
itself, and more than it saves over a batch slice's few rows; on x86 CPUs with AVX2 and FMA
but without AVX-512, :func:`gemm_into` therefore computes a float32 product whose right-hand
operand is small or whose rows are few (:func:`takes_register_loop`) in its own loop, generated here:
blocks of 4 rows by 16 columns held in eight 8-float registers, each output element one
fused multiply-add per term in the order of the inner dimension, so a row's result does
not depend on the other rows of the call.  Widths not a multiple of 8, float64 and
other CPUs keep BLAS.

A token model's projection table (vocabulary x gates) is often larger than
the cache, and each step reads one random row of it per sequence:
:func:`prefetch_row` lets a kernel request those rows before the step's
product, so they arrive while the product runs.
"""

import functools

from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.core.codegen import get_host_cpu_features
from numba.extending import intrinsic
from numba.np.linalg import ensure_blas

from .._constants import (
    PACKED_GEMM_MIN_MACS,
    PACKED_GEMM_MIN_ROWS,
    REGISTER_GEMM_MAX_ELEMENTS,
    REGISTER_GEMM_MAX_ROWS,
    REGISTER_GEMM_ROWS_MAX_ELEMENTS,
    SMALL_GEMM_MACS,
    TRANSPOSED_CHUNK_ROWS,
)


_CHAR = ir.IntType(8)
_VOIDP = ir.IntType(8).as_pointer()


def _c_matrix(ty):
    return isinstance(ty, types.Array) and ty.ndim == 2 and ty.layout == "C"


#: Floats per vector register of :func:`gemm_into`'s own loop, and its block of rows.
_LANES, _BLOCK_ROWS = 8, 4


@functools.cache
def _compiled_features():
    """The CPU features Numba compiles for, as it reads them (read once per process)."""
    return config.CPU_FEATURES if config.CPU_FEATURES is not None else get_host_cpu_features()


def register_gemm_enabled(features=None):
    """Whether :func:`gemm_into` computes small float32 products in its own loop.

    True for the CPU features Numba compiles for (``features``: LLVM's
    ``+avx2,+fma,...`` string; by default Numba's: ``NUMBA_CPU_FEATURES``, or
    the host's less AVX under ``NUMBA_ENABLE_AVX=0``) when they include AVX2
    and FMA and exclude AVX-512, whose OpenBLAS builds run such products in
    place (see the module notes).
    """
    if features is None:
        features = _compiled_features()
    flags = set(features.split(","))
    return {"+avx2", "+fma"} <= flags and "+avx512f" not in flags


#: Floats from one row of ``B`` to the next at which every row of a column panel falls in the
#: same first-level cache set (4 KB apart): the rows rule leaves such widths to BLAS.
_ALIASING_WIDTH = 1024


def takes_register_loop(m, k, n):
    """Whether :func:`gemm_into` runs ``(m, k) @ (k, n)`` in its own loop (where it has one).

    A width ``n`` that is a multiple of 8, and a right-hand operand of at
    most :data:`~fastrnn._constants.REGISTER_GEMM_MAX_ELEMENTS` elements, or
    of at most :data:`~fastrnn._constants.REGISTER_GEMM_ROWS_MAX_ELEMENTS`
    over at most :data:`~fastrnn._constants.REGISTER_GEMM_MAX_ROWS` rows with
    ``n`` not a multiple of 1024 (rows of ``B`` 4 KB apart share one cache set,
    and the loop then ran at half BLAS's speed).  The rule as the generated
    code computes it (:func:`register_loop_of`) and as the Cython kernels' ``gemm`` does.
    """
    kn = k * n
    return n % _LANES == 0 and (kn <= REGISTER_GEMM_MAX_ELEMENTS
                                or (m <= REGISTER_GEMM_MAX_ROWS and kn <= REGISTER_GEMM_ROWS_MAX_ELEMENTS
                                    and n % _ALIASING_WIDTH != 0))


def _takes_register_loop_ir(builder, m, k, n):
    """:func:`takes_register_loop` in LLVM IR (``intp`` operands)."""
    const = lambda v: ir.Constant(m.type, v)  # noqa: E731
    kn = builder.mul(k, n)
    few_rows = builder.and_(
        builder.and_(builder.icmp_signed("<=", m, const(REGISTER_GEMM_MAX_ROWS)),
                     builder.icmp_signed("<=", kn, const(REGISTER_GEMM_ROWS_MAX_ELEMENTS))),
        builder.icmp_signed("!=", builder.srem(n, const(_ALIASING_WIDTH)), const(0)))
    return builder.and_(builder.icmp_signed("==", builder.srem(n, const(_LANES)), const(0)),
                        builder.or_(builder.icmp_signed("<=", kn, const(REGISTER_GEMM_MAX_ELEMENTS)),
                                    few_rows))


def _register_block(builder, a_at, B, C, p_range, n, row, col, rows, vectors, load_c=None):
    """Emit ``C[row:row + rows, col:col + 8 vectors] = A[row:row + rows, p_lo:p_hi] @ B[p_lo:p_hi, col:...]``.

    One float32 accumulator vector per (row, 8 columns), kept in registers
    across the loop over the inner dimension (LLVM promotes the
    allocas to registers); each step loads ``vectors`` vectors of ``B``'s row and
    broadcasts one element of ``A`` per row.  ``a_at(r, p)`` is the address
    of ``A[row + r, p]`` (``A`` may be a transposed view); ``p_range`` is the
    pair ``(p_lo, p_hi)``.  The accumulators start from zero, or from ``C``'s
    block where the IR boolean ``load_c`` is true (the terms are then added to it).
    """
    intp = n.type
    f32 = ir.FloatType()
    vec = ir.VectorType(f32, _LANES)
    vec_ptr = vec.as_pointer()
    fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec, [vec, vec, vec]),
                                         f"llvm.fma.v{_LANES}f32")
    splat_mask = ir.Constant(ir.VectorType(ir.IntType(32), _LANES), [0] * _LANES)
    const = lambda v: ir.Constant(intp, v)  # noqa: E731
    zero = ir.Constant(vec, [ir.Constant(f32, 0.0)] * _LANES)

    def c_at(r, v):
        c_row = builder.add(builder.mul(builder.add(row, const(r)), n), col)
        return builder.bitcast(builder.gep(C, [builder.add(c_row, const(v * _LANES))]), vec_ptr)

    acc = [[cgutils.alloca_once_value(builder, zero) for _ in range(vectors)] for _ in range(rows)]
    if load_c is not None:
        with builder.if_then(load_c):
            for r in range(rows):
                for v in range(vectors):
                    builder.store(builder.load(c_at(r, v), align=4), acc[r][v])
    with cgutils.for_range_slice(builder, p_range[0], p_range[1], const(1), intp) as (p, _):
        b_row = builder.add(builder.mul(p, n), col)
        b_vecs = [builder.load(builder.bitcast(builder.gep(B, [builder.add(b_row, const(v * _LANES))]),
                                               vec_ptr), align=4)
                  for v in range(vectors)]
        for r in range(rows):
            a = builder.load(a_at(r, p))
            one = builder.insert_element(ir.Constant(vec, ir.Undefined), a, ir.Constant(ir.IntType(32), 0))
            a_vec = builder.shuffle_vector(one, ir.Constant(vec, ir.Undefined), splat_mask)
            for v in range(vectors):
                builder.store(builder.call(fma, [a_vec, b_vecs[v], builder.load(acc[r][v])]), acc[r][v])
    for r in range(rows):
        for v in range(vectors):
            builder.store(builder.load(acc[r][v]), c_at(r, v), align=4)


def _register_panels(builder, m, n, block):
    """Emit ``block(row, col, rows, vectors)`` over an ``(m, n)`` output, ``n`` a multiple of 8.

    For each panel of 16 columns (then 8 when ``n`` is an odd multiple of
    8), blocks of :data:`_BLOCK_ROWS` rows and then the last ``m % 4`` rows
    one at a time: the panel of the right-hand operand stays in the core's
    first-level cache while every row of the left-hand one passes it.
    """
    intp = m.type
    const = lambda v: ir.Constant(intp, v)  # noqa: E731
    wide = 2 * _LANES
    m_blocks = builder.mul(builder.sdiv(m, const(_BLOCK_ROWS)), const(_BLOCK_ROWS))
    n_wide = builder.mul(builder.sdiv(n, const(wide)), const(wide))

    def panel(col, vectors):
        with cgutils.for_range_slice(builder, const(0), m_blocks, const(_BLOCK_ROWS), intp) as (row, _):
            block(row, col, _BLOCK_ROWS, vectors)
        with cgutils.for_range_slice(builder, m_blocks, m, const(1), intp) as (row, _):
            block(row, col, 1, vectors)

    with cgutils.for_range_slice(builder, const(0), n_wide, const(wide), intp) as (col, _):
        panel(col, 2)
    with builder.if_then(builder.icmp_signed("<", n_wide, n)):
        panel(n_wide, 1)


def _register_gemm(builder, A, B, C, m, k, n):
    """Emit ``C = A @ B`` (float32, C-contiguous, ``n`` a multiple of 8) as register blocks."""
    const = lambda v: ir.Constant(m.type, v)  # noqa: E731

    def block(row, col, rows, vectors):
        def a_at(r, p):
            return builder.gep(A, [builder.add(builder.mul(builder.add(row, const(r)), k), p)])

        _register_block(builder, a_at, B, C, (const(0), k), n, row, col, rows, vectors)

    _register_panels(builder, m, n, block)


def _register_transposed_gemm(builder, X, D, C, m, f, g, accumulate):
    """Emit ``C (+)= X.T @ D`` (float32, C-contiguous ``X (m, f)``, ``D (m, g)``, ``g`` a multiple of 8).

    The register blocks of :func:`_register_panels` over chunks of
    :data:`TRANSPOSED_CHUNK_ROWS` rows; from the second chunk on (from the
    first when ``accumulate``, an IR boolean) a block starts from ``C``, so
    every output element is still one fused multiply-add per row, in row order.
    """
    intp = m.type
    const = lambda v: ir.Constant(intp, v)  # noqa: E731
    chunk = const(TRANSPOSED_CHUNK_ROWS)
    with cgutils.for_range_slice(builder, const(0), m, chunk, intp) as (p_lo, _):
        end = builder.add(p_lo, chunk)
        p_hi = builder.select(builder.icmp_signed("<", end, m), end, m)
        load_c = builder.or_(accumulate, builder.icmp_signed(">", p_lo, const(0)))

        def block(row, col, rows, vectors):
            def a_at(r, p):
                return builder.gep(X, [builder.add(builder.mul(p, f), builder.add(row, const(r)))])

            _register_block(builder, a_at, D, C, (p_lo, p_hi), g, row, col, rows, vectors, load_c)

        _register_panels(builder, f, g, block)


def gemm_block_width(m, k, n):
    """Columns per BLAS call of :func:`gemm_into` for ``(m, k) @ (k, n)``.

    All ``n`` when the product has at most :data:`SMALL_GEMM_MACS`
    multiply-adds (or none), or when it is large enough for OpenBLAS's packed
    path: at least :data:`PACKED_GEMM_MIN_ROWS` rows and
    :data:`PACKED_GEMM_MIN_MACS` multiply-adds.  Else as few calls as the widest multiple of 8
    columns within that limit needs, their columns shared as evenly as
    multiples of 8 allow: a last block of a few columns costs a call for
    little work (128 columns as 120 + 8 ran slower than as 64 + 64).  All
    ``n`` again when not even 8 columns stay within the limit.  (The rule as
    :func:`gemm_into` computes it in its generated code, and as the Cython
    kernels' ``gemm`` does.)
    """
    mk = m * k
    if mk == 0 or mk * n <= SMALL_GEMM_MACS:
        return n
    if m >= PACKED_GEMM_MIN_ROWS and mk * n >= PACKED_GEMM_MIN_MACS:
        return n
    widest = SMALL_GEMM_MACS // mk // 8 * 8
    if widest < 8:
        return n
    blocks = -(-n // widest)
    per_block = -(-n // blocks)
    return (per_block + 7) // 8 * 8


def _block_width_ir(builder, m, k, n):
    """:func:`gemm_block_width` in LLVM IR (``intp`` operands)."""
    ty = m.type
    const = lambda v: ir.Constant(ty, v)  # noqa: E731
    mk = builder.mul(m, k)
    limit = const(SMALL_GEMM_MACS)
    macs = builder.mul(mk, n)
    packed = builder.and_(builder.icmp_signed(">=", m, const(PACKED_GEMM_MIN_ROWS)),
                          builder.icmp_signed(">=", macs, const(PACKED_GEMM_MIN_MACS)))
    whole = builder.or_(builder.or_(builder.icmp_signed("==", mk, const(0)),
                                    builder.icmp_signed("<=", macs, limit)), packed)
    safe_mk = builder.select(whole, const(1), mk)  # no division by zero on the unused branch
    widest = builder.mul(builder.sdiv(builder.sdiv(limit, safe_mk), const(8)), const(8))
    too_narrow = builder.icmp_signed("<", widest, const(8))
    safe_widest = builder.select(too_narrow, const(8), widest)

    def ceil_div(a, b):
        return builder.sdiv(builder.add(a, builder.sub(b, const(1))), b)

    per_block = ceil_div(n, ceil_div(n, safe_widest))
    width = builder.mul(ceil_div(per_block, const(8)), const(8))
    return builder.select(builder.or_(whole, too_narrow), n, width)


def _shape_rule(rule_ir, result, doc):
    """An intrinsic ``f(m, k, n)`` returning ``rule_ir``'s value (of Numba type ``result``), for tests."""
    def of(typingctx, m, k, n):
        if not all(isinstance(v, types.Integer) for v in (m, k, n)):
            return None

        def lower(context, builder, sig, args):
            m, k, n = (context.cast(builder, v, t, types.intp) for v, t in zip(args, sig.args))
            return rule_ir(builder, m, k, n)

        return result(m, k, n), lower

    of.__doc__ = doc
    return intrinsic(of)


block_width_of = _shape_rule(
    _block_width_ir, types.intp,
    "The width :func:`gemm_into`'s generated code uses for ``(m, k) @ (k, n)`` (jitted code only).")
register_loop_of = _shape_rule(
    _takes_register_loop_ir, types.boolean,
    ":func:`takes_register_loop` as :func:`gemm_into`'s generated code computes it (jitted code only).")


@intrinsic
def gemm_into(typingctx, a, b, out):
    """``out[...] = a @ b`` for C-contiguous 2-D float arrays of one dtype (jitted code only).

    One BLAS call per column block of :func:`gemm_block_width` columns.  The
    loop over the blocks is generated here, not compiled from Python: a jitted
    wrapper would add compile time to every kernel signature.

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
        # decided where the call is compiled (Numba keeps the typing of a signature for the process)
        if not (dtype == types.float32 and register_gemm_enabled()):
            _blas_calls(context, builder, A, Bm, C, m, k, n, intp)
            return context.get_dummy_value()
        with builder.if_else(_takes_register_loop_ir(builder, m, k, n), likely=True) as (then, otherwise):
            with then:
                _register_gemm(builder, A.data, Bm.data, C.data, m, k, n)
            with otherwise:
                _blas_calls(context, builder, A, Bm, C, m, k, n, intp)
        return context.get_dummy_value()

    def _blas_calls(context, builder, A, Bm, C, m, k, n, intp):
        one = ir.Constant(intp, 1)

        def at_least_one(v):
            return builder.select(builder.icmp_signed(">", v, one), v, one)

        fnty = ir.FunctionType(ir.IntType(32), [_CHAR, _CHAR, _CHAR, intp, intp, intp, _VOIDP,
                                                _VOIDP, intp, _VOIDP, intp, _VOIDP, _VOIDP, intp])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")
        alpha = cgutils.alloca_once_value(builder, context.get_constant(dtype, 1.0))
        beta = cgutils.alloca_once_value(builder, context.get_constant(dtype, 0.0))
        notrans = ir.Constant(_CHAR, ord("n"))
        width = _block_width_ir(builder, m, k, n)
        with builder.if_then(builder.icmp_signed("!=", m, ir.Constant(intp, 0)), likely=True):
            with cgutils.for_range_slice(builder, ir.Constant(intp, 0), n, width, intp) as (c0, _):
                remaining = builder.sub(n, c0)
                cols = builder.select(builder.icmp_signed("<", remaining, width), remaining, width)
                # Row-major out[:, c0:c0 + cols] = a @ b[:, c0:c0 + cols] is column-major
                # out.T[c0:c0 + cols] = b.T[c0:c0 + cols] @ a.T, leading dimension n.
                res = builder.call(fn, (ir.Constant(_CHAR, ord(kind)), notrans, notrans, cols, m, k,
                                        builder.bitcast(alpha, _VOIDP),
                                        builder.bitcast(builder.gep(Bm.data, [c0]), _VOIDP),
                                        at_least_one(n),
                                        builder.bitcast(A.data, _VOIDP), at_least_one(k),
                                        builder.bitcast(beta, _VOIDP),
                                        builder.bitcast(builder.gep(C.data, [c0]), _VOIDP),
                                        at_least_one(n)))
                with builder.if_then(cgutils.is_not_null(builder, res), likely=False):
                    pyapi = context.get_python_api(builder)
                    pyapi.gil_ensure()
                    pyapi.fatal_error("BLAS gemm returned an error")

    return types.none(a, b, out), codegen


@intrinsic
def transposed_gemm_into(typingctx, x, d, out, accumulate):
    """``out[...] = x.T @ d``, or ``out += x.T @ d`` when ``accumulate`` (jitted code only).

    The register-blocked loop of :func:`gemm_into` for a weight gradient: float32
    C-contiguous ``x (m, f)``, ``d (m, g)`` and ``out (f, g)``, ``g`` a multiple of
    8, each output element one fused multiply-add per row in row order, over
    passes of :data:`~fastrnn._constants.TRANSPOSED_CHUNK_ROWS` rows.  Only
    for the CPUs of :func:`register_gemm_enabled`; the caller checks that and
    the shapes (:func:`fastrnn.kernels.products.transposed_matmul`).  With no
    rows, ``out`` is left as it is.
    """
    if not all(_c_matrix(v) and v.dtype == types.float32 for v in (x, d, out)):
        return None
    if not isinstance(accumulate, types.Boolean):
        return None

    def codegen(context, builder, sig, args):
        X, D, C = (context.make_array(t)(context, builder, v) for t, v in zip(sig.args[:3], args[:3]))
        m, f = cgutils.unpack_tuple(builder, X.shape, 2)
        g = cgutils.unpack_tuple(builder, D.shape, 2)[1]
        _register_transposed_gemm(builder, X.data, D.data, C.data, m, f, g, args[3])
        return context.get_dummy_value()

    return types.none(x, d, out, accumulate), codegen


#: Bytes per cache line, the stride of :func:`prefetch_row`.
CACHE_LINE_BYTES = 64


@intrinsic
def prefetch_row(typingctx, table, row):
    """Ask the CPU to start loading ``table[row]`` into its caches (jitted code only).

    One ``llvm.prefetch`` (read, keep in every level) per cache line that
    the row of the C-contiguous 2-D ``table`` touches; no effect on results.  A kernel
    issues it for the rows it will read a few microseconds later, so a table
    larger than the cache is read while a product runs, not at its use.
    """
    if not (_c_matrix(table) and isinstance(row, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        arr = context.make_array(sig.args[0])(context, builder, args[0])
        intp = context.get_value_type(types.intp)
        width = cgutils.unpack_tuple(builder, arr.shape, 2)[1]
        row = context.cast(builder, args[1], sig.args[1], types.intp)
        item = context.get_abi_sizeof(context.get_data_type(sig.args[0].dtype))
        first = builder.ptrtoint(builder.gep(arr.data, [builder.mul(row, width)]), intp)
        end = builder.add(first, builder.mul(width, ir.Constant(intp, item)))
        # from the line holding the row's first byte: a row need not start on a line
        line = ir.Constant(intp, CACHE_LINE_BYTES)
        aligned = builder.and_(first, ir.Constant(intp, -CACHE_LINE_BYTES))
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [_VOIDP, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        with cgutils.for_range_slice(builder, aligned, end, line, intp) as (address, _):
            builder.call(fn, (builder.inttoptr(address, _VOIDP), ir.Constant(i32, 0), ir.Constant(i32, 3),
                              ir.Constant(i32, 1)))
        return context.get_dummy_value()

    return types.none(table, row), codegen
