"""Shared pieces of the Numba kernels: activations, row-range helpers, the chunk runner.

Each kernel is a single-threaded, GIL-free ``@njit`` function over a contiguous
range of batch rows (a *chunk*).  :func:`run_chunks` runs the chunks of a batch
on a small pool of Python threads; because the compiled code releases the GIL,
they run in parallel.  This gives the batch-slice parallelism of ``prange``, with
per-slice buffers reduced in a fixed order, at a fraction of the compile time of
Numba's ``parallel=True`` pipeline; the Cython kernels run their slices on the
same pool.
"""

import functools
import math
import platform
import sys

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from .._config import (
    ACT_HARD_SIGMOID,
    ACT_RELU,
    ACT_SIGMOID,
    ACT_TANH,
    FASTMATH_FLAGS,
    FLUSH_DENORMALS,
    NUMBA_CACHE,
)
from ..utils.threads import first_task_wake, parallel_for, split_bounds
from ._blas import gemm_into


def jit_chunk(func):
    """Compile ``func`` as a cached, GIL-free, single-threaded chunk kernel.

    The kernels allocate nothing, so they are compiled without Numba's
    reference-counted memory manager (``_nrt=False``): each row view such as
    ``z[b]`` otherwise costs an atomic increment and decrement.  This made
    SimpleRNN training 27-29% faster at 8 units and 10-13% at 32, LSTM training
    3-6% at 8 (one thread, 64 rows x 100 steps), and trims the generated code.
    Numba refuses to compile an allocation without it, so a kernel that needs
    one fails loudly.
    """
    return njit(cache=NUMBA_CACHE, nogil=True, fastmath=FASTMATH_FLAGS, error_model="numpy",
                no_cfunc_wrapper=True, _nrt=False)(func)


def per_activation(factory):
    """Memoise ``factory(*codes)``, which builds a chunk kernel for the given activation codes.

    The codes are closure constants of the kernel it returns, so Numba types
    them as literals and prunes the branches of :func:`activate_inplace` and
    :func:`activate_grad_into` that the model does not use; a kernel compiles
    only the activations it runs (the default tanh/sigmoid kernels of all
    cells compiled in about 15% less time).  Each code tuple is compiled once
    per process and, with ``cache=True``, stored on disk under its own key
    (Numba keys a closure's cache entry on the values it closes over).
    """
    return functools.cache(factory)


# Helpers called only from jitted code: inlined, no Python or C wrapper, no reference counting.
_INLINE = dict(forceinline=True, no_cpython_wrapper=True, no_cfunc_wrapper=True, _nrt=False)
_INNER = dict(_INLINE, cache=NUMBA_CACHE)

# Below this many units, elementwise work over a row's H values runs in one loop over all the rows
# of a chunk (a row's loop is then too short for LLVM's vector loop).  Tuned on AVX-512.
BY_CHUNK_BELOW = 16


# tanh(x) ~ x P(x^2) / Q(x^2) on [-9, 9] (clamped outside): a rational fit made for fastrnn
# (least squares reweighted toward the largest error); max abs error 2.1e-8 in float64.  Used for
# float32 data only, evaluated in float32 (max abs error 3.7e-7, about 3 float32 ulps; float32
# evaluation has twice the SIMD lanes of float64 and made the LSTM forward kernel 11-19% faster
# at H=8 and H=128), in branch-free loops that LLVM vectorises; float64 data keeps libm's
# tanh/exp and matches the NumPy reference to ~1e-15.
_P0, _P1, _P2, _P3, _P4 = (9.99999979e-01, 1.33807363e-01, 3.49524845e-03, 2.06036643e-05,
                           1.33475232e-08)
_Q1, _Q2, _Q3, _Q4 = (4.67140517e-01, 2.58756796e-02, 3.28508649e-04, 7.77355572e-07)
_F32 = np.float32
_P32 = tuple(_F32(c) for c in (_P0, _P1, _P2, _P3, _P4))
_Q32 = tuple(_F32(c) for c in (_Q1, _Q2, _Q3, _Q4))
_ONE32, _HALF32, _CLAMP32 = _F32(1.0), _F32(0.5), _F32(9.0)


@njit(**_INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def tanh_rational32(x):
    """Branch-free tanh of a float32 scalar in float32 arithmetic, accurate to 3.7e-7."""
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


def _is_f32(x):
    return isinstance(x, types.Float) and x.bitwidth == 32


@overload(fast_tanh, jit_options=_INLINE)
def _fast_tanh(x):
    if _is_f32(x):
        return lambda x: tanh_rational32(x)
    return lambda x: math.tanh(x)


@overload(fast_sigmoid, jit_options=_INLINE)
def _fast_sigmoid(x):
    if _is_f32(x):
        return lambda x: _HALF32 + _HALF32 * tanh_rational32(_HALF32 * x)
    return lambda x: 1.0 / (1.0 + math.exp(-x))


def tanh_form_scale(G, lo, hi, dtype):
    """Per-gate scale ``s`` of the one-tanh form ``gate = (1 - s) + s * tanh(s * x)``.

    ``s`` is 1 on the tanh gates ``[lo, hi)`` (``gate = tanh(x)``) and 0.5
    elsewhere (``gate = 0.5 + 0.5 tanh(0.5 x)``, which is how
    :func:`fast_sigmoid` computes a float32 sigmoid, to the bit).  One loop over
    all of a row's gates then replaces one short loop per gate; LLVM's vector
    loop takes 32 floats per pass on an AVX2 CPU (64 with AVX-512) and shorter
    loops run in its epilogue or scalar, so at H=8 this made the LSTM forward
    kernel 10-35% faster (5-30% at H=32).  Built in NumPy by the caller and
    passed in: allocating it inside a kernel compiled NumPy's ``full`` into
    every kernel that did (about 0.7 s of a cold compile).

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


@njit(**_INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def activate_inplace(v, code):
    """Apply activation ``code`` to the 1-D array ``v`` in place, one tight loop per code."""
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


@njit(**_INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def lstm_gates(zb, xb, act, rec_act):
    """``zb = activated gates of zb + xb`` for an LSTM row (``i, f, c~, o``), one loop per gate."""
    H = zb.shape[0] // 4
    for k in range(4 * H):
        zb[k] += xb[k]
    activate_inplace(zb[:2 * H], rec_act)  # i, f
    activate_inplace(zb[2 * H:3 * H], act)  # c~
    activate_inplace(zb[3 * H:], rec_act)  # o


def lstm_gates_tanh_sigmoid(zb, xb, scale, offset):
    """``zb = activated gates of zb + xb`` for an LSTM row with tanh/sigmoid (jitted code only).

    Float32: one loop over all ``4H`` gates in the one-tanh form of
    :func:`tanh_form_scale` (``scale``, ``offset`` from it).  Float64: one loop
    per gate, libm's sigmoid and tanh (``scale`` and ``offset`` unused).
    """
    raise NotImplementedError


@overload(lstm_gates_tanh_sigmoid, jit_options=_INLINE)
def _lstm_gates_tanh_sigmoid(zb, xb, scale, offset):
    if _is_f32(zb.dtype):
        def one_loop(zb, xb, scale, offset):
            for k in range(zb.shape[0]):
                zb[k] = offset[k] + scale[k] * tanh_rational32(scale[k] * (zb[k] + xb[k]))
        return one_loop

    def per_gate(zb, xb, scale, offset):
        lstm_gates(zb, xb, ACT_TANH, ACT_SIGMOID)
    return per_gate


@njit(**_INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def activate_rows_into(src, dst, code):
    """``dst = act(src)`` for C-contiguous ``(rows, H)`` blocks in one loop over all their values.

    A row's loop of H values is too short for LLVM's vector loop at small H
    (see :data:`BY_CHUNK_BELOW`).
    """
    n = src.shape[0] * src.shape[1]
    s = src.reshape(n)
    d = dst.reshape(n)
    for i in range(n):
        d[i] = s[i]
    activate_inplace(d, code)


@njit(**_INNER)
def store_gates_row(zb, gates, t, b):
    """``gates[t, b] = zb`` when the gates are stored (``gates`` not empty)."""
    if gates.shape[0] > 0:
        gb = gates[t, b]
        for k in range(zb.shape[0]):
            gb[k] = zb[k]


@njit(**_INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def lstm_output_row(zb, tc, hb, gates, t, b):
    """``hb = o * tc`` for an LSTM row (``tc``: its ``act(c)``); ``gates[t, b] = zb`` when stored."""
    H = hb.shape[0]
    for k in range(H):
        hb[k] = zb[3 * H + k] * tc[k]
    store_gates_row(zb, gates, t, b)


@njit(**_INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def activate_grad_into(y, out, code):
    """``out[i]``: derivative of activation ``code`` at the point whose output is ``y[i]``.

    One branch-free loop per code, so it vectorises.

    The SimpleRNN and LSTM kernels pass a float64 ``out`` whatever the data
    type, so that the products they form from it round exactly as the scalar
    formula's would (a float32 ``out`` made the LSTM backward 20% slower at 8
    units); the GRU kernel passes one of the data type, which made its float32
    training 6-17% faster at 32 units and 1-13% at 128.
    """
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


@njit(**_INNER)
def active_end(start, lo, hi, t):
    """One past the last row of ``[lo, hi)`` that is real at step ``t`` (``lo`` if none)."""
    end = lo
    for b in range(lo, hi):
        if start[b] <= t:
            end = b + 1
    return end


@njit(**_INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def recurrent_forward_step(U, rec_mask, h, hm, z, lo, end):
    """``z = (h * mask) @ U`` for rows ``[lo, end)`` (SimpleRNN, LSTM); ``hm`` holds ``h * mask``."""
    if rec_mask.shape[0] > 0:
        for b in range(lo, end):
            for k in range(h.shape[1]):
                hm[b, k] = h[b, k] * rec_mask[b, k]
        gemm_into(hm[lo:end], U, z[lo:end])
    else:
        gemm_into(h[lo:end], U, z[lo:end])


@njit(**_INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def input_recurrent_forward_step(X, t, U, rec_mask, h, xh, z, lo, end):
    """``z = [x_t, h * mask] @ U`` for rows ``[lo, end)`` (LSTM); ``xh`` holds ``[x_t, h * mask]``.

    ``U`` stacks the input kernel over the recurrent one, so the step's input
    projection is part of its recurrent product and no ``(T, B, 4H)`` table of
    projections is made.  ``X`` of width 0 is no input: :func:`recurrent_forward_step`.
    """
    F = X.shape[2]
    if F == 0:
        recurrent_forward_step(U, rec_mask, h, xh, z, lo, end)
        return
    H = h.shape[1]
    use_mask = rec_mask.shape[0] > 0
    for b in range(lo, end):
        for k in range(F):
            xh[b, k] = X[t, b, k]
        for k in range(H):
            xh[b, F + k] = h[b, k] * rec_mask[b, k] if use_mask else h[b, k]
    gemm_into(xh[lo:end], U, z[lo:end])


@njit(**_INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def recurrent_backward_step(start, UT, rec_mask, dA, dh, dhm, t, lo, end):
    """Backward through ``h_{t-1} @ U`` for rows ``[lo, end)`` at step ``t`` (SimpleRNN, LSTM).

    Sets, for the real rows, ``dh = (dA[t] @ U.T) * mask``, the gradient carried
    to step ``t - 1``.  The gradient on ``U`` is one product after the time loop
    (:func:`fastrnn.utils.linalg.step_outer_sum`).
    """
    H = dh.shape[1]
    use_mask = rec_mask.shape[0] > 0
    gemm_into(dA[t, lo:end], UT, dhm[lo:end])
    for b in range(lo, end):
        if start[b] <= t:
            if use_mask:
                for k in range(H):
                    dh[b, k] = dhm[b, k] * rec_mask[b, k]
            else:
                for k in range(H):
                    dh[b, k] = dhm[b, k]


@njit(**_INNER, fastmath=FASTMATH_FLAGS, error_model="numpy")
def input_recurrent_backward_step(start, UT, rec_mask, dA, dh, dxh, dX, t, lo, end):
    """Backward through ``[x_t, h_{t-1} * mask] @ U`` for rows ``[lo, end)`` at step ``t`` (LSTM).

    Sets, for the real rows, ``dX[t]`` and ``dh`` from ``dxh = dA[t] @ U.T``
    (``UT`` contiguous); the caller zeroes ``dX[t]`` on the other rows.  ``dX``
    of width 0 is no input: :func:`recurrent_backward_step`.
    """
    F = dX.shape[2]
    if F == 0:
        recurrent_backward_step(start, UT, rec_mask, dA, dh, dxh, t, lo, end)
        return
    H = dh.shape[1]
    use_mask = rec_mask.shape[0] > 0
    gemm_into(dA[t, lo:end], UT, dxh[lo:end])
    for b in range(lo, end):
        if start[b] <= t:
            for k in range(F):
                dX[t, b, k] = dxh[b, k]
            for k in range(H):
                dh[b, k] = dxh[b, F + k] * rec_mask[b, k] if use_mask else dxh[b, F + k]


# ------------------------------------------------------------ denormal flushing
# Gradients that shrink over long sequences become denormal floats, which x86 CPUs process
# up to 100x slower (one GEMM measured 4 ms -> 158 ms).  The kernels run with the SSE
# control register's flush-to-zero and denormals-are-zero bits set, on every thread that
# runs a chunk, and restore the caller's setting afterwards.
_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
_FTZ_DAZ = 0x8040  # MXCSR bits 15 (flush to zero) and 6 (denormals are zero)


@intrinsic
def _read_mxcsr(typingctx):
    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        fnty = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer()])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse.stmxcsr")
        builder.call(fn, [builder.bitcast(slot, ir.IntType(8).as_pointer())])
        return builder.load(slot)

    return types.uint32(), codegen


@intrinsic
def _write_mxcsr(typingctx, value):
    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once_value(builder, args[0])
        fnty = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer()])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse.ldmxcsr")
        builder.call(fn, [builder.bitcast(slot, ir.IntType(8).as_pointer())])
        return context.get_dummy_value()

    return types.void(types.uint32), codegen


@njit(cache=NUMBA_CACHE, nogil=True)
def get_mxcsr():
    """The calling thread's SSE control/status register (x86 only)."""
    return _read_mxcsr()


@njit(cache=NUMBA_CACHE, nogil=True)
def set_mxcsr(value):
    """Set the calling thread's SSE control/status register (x86 only)."""
    _write_mxcsr(np.uint32(value))


# ------------------------------------------------------------ spin-waiting for the thread pool
# Waking a sleeping thread costs 0.1-0.4 ms on a virtual machine, more than a small model's
# whole time loop; the pool's threads therefore spin a little (GIL-free) before they sleep.


@intrinsic
def _load_acquire(typingctx, flag):
    """``flag[0]`` read with acquire ordering (never hoisted out of a loop)."""
    if not (isinstance(flag, types.Array) and flag.dtype == types.int64 and flag.ndim == 1):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.load_atomic(ary.data, "acquire", 8)

    return types.int64(flag), codegen


@intrinsic
def _cpu_relax(typingctx):
    """The x86 ``pause`` instruction: a polite spin-loop hint."""
    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.VoidType(), [])
        builder.call(cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse2.pause"), [])
        return context.get_dummy_value()

    return types.void(), codegen


# A spinning thread gives its CPU away now and then (``sched_yield``): the scheduler of a small
# virtual machine was seen putting a just-woken pool thread on the caller's CPU, where its spin
# held the caller up (or the caller's wait held the pool thread up) until the time slice ended.
# Yielding every 256 polls (about 7 us here) took C2's 4-batch fit after a 50 ms pause from 21
# to 17 ms and changed nothing back to back.  ``sched_yield`` returns at once when no other
# thread is waiting for the CPU.  POSIX only; on Windows the spin only pauses.
_YIELD_EVERY = 256
_HAS_SCHED_YIELD = not sys.platform.startswith("win")


@intrinsic
def _sched_yield(typingctx):
    """``sched_yield()``: let another thread that is ready to run on this CPU have it."""
    def codegen(context, builder, signature, args):
        if _HAS_SCHED_YIELD:
            fnty = ir.FunctionType(ir.IntType(32), [])
            builder.call(cgutils.get_or_insert_function(builder.module, fnty, "sched_yield"), [])
        return context.get_dummy_value()

    return types.void(), codegen


@intrinsic
def _store_seq_cst(typingctx, flag, value):
    """``flag[0] = value``, sequentially consistent (a full barrier on x86)."""
    if not (isinstance(flag, types.Array) and flag.dtype == types.int64 and flag.ndim == 1
            and isinstance(value, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        v = context.cast(builder, args[1], signature.args[1], types.int64)
        builder.store_atomic(v, ary.data, "seq_cst", 8)
        return context.get_dummy_value()

    return types.void(flag, value), codegen


@njit(**_INNER)
def raise_flag(flag, value):
    """``flag[0] = value`` unless ``flag`` is empty: a kernel starting a pool thread (:func:`run_chunks`)."""
    if flag.shape[0] > 0:
        _store_seq_cst(flag, value)


@njit(cache=NUMBA_CACHE, nogil=True)
def spin_until(flag, value, spins):
    """Spin, GIL-free, until ``flag[0] >= value``, at most ``spins`` times (x86 only).

    Every 256 polls the thread yields its CPU to any other thread ready to run on it.

    Parameters
    ----------
    flag : ndarray of shape (1,), int64
        Written by another thread.
    value : int
    spins : int
        Most polls; each is one ``pause`` (about 30 ns on a current x86 CPU).

    Returns
    -------
    bool
        Whether the flag reached ``value``.
    """
    for i in range(spins):
        if _load_acquire(flag) >= value:
            return True
        _cpu_relax()
        if i % _YIELD_EVERY == _YIELD_EVERY - 1:
            _sched_yield()
    return _load_acquire(flag) >= value


@njit(cache=NUMBA_CACHE, nogil=True)
def signal_then_spin(flag, value, sleepers, other, other_value, spins):
    """Set ``flag[0] = value``, then spin until ``other[0] >= other_value``, GIL-free (x86 only).

    A pool thread reports a finished job this way: the GIL is already free
    when the waiting thread sees the flag, so it never waits for this thread
    to let the GIL go, and this thread goes on polling for its next job.

    Parameters
    ----------
    flag : ndarray of shape (1,), int64
    value : int
    sleepers : ndarray of shape (1,), int64
        Non-zero while a thread sleeps waiting for ``flag`` (see :func:`announce_sleep`).
    other : ndarray of shape (1,), int64
    other_value : int
    spins : int
        Most polls of ``other``.

    Returns
    -------
    int
        0: ``other`` got there; 1: the spins ran out; 2: a thread sleeps on
        ``flag`` and must be woken (nothing polled).
    """
    _store_seq_cst(flag, value)
    if _load_acquire(sleepers) != 0:
        return 2
    return 0 if spin_until(other, other_value, spins) else 1


@njit(cache=NUMBA_CACHE, nogil=True)
def announce_sleep(sleepers, flag, value):
    """Set ``sleepers[0] = 1``, then return whether ``flag[0] >= value`` (a full barrier between).

    With :func:`signal_then_spin` this is a Dekker handshake: a thread about to
    sleep and a thread raising the flag cannot both miss each other.
    """
    _store_seq_cst(sleepers, 1)
    return _load_acquire(flag) >= value


def _call_flushing(kernel, args):
    """Run ``kernel(*args)`` with denormals flushed to zero on this thread."""
    if not (_X86 and FLUSH_DENORMALS):
        kernel(*args)
        return
    old = get_mxcsr()
    set_mxcsr(old | _FTZ_DAZ)
    try:
        kernel(*args)
    finally:
        set_mxcsr(old)


def n_chunks(B, n_threads):
    """Number of batch slices for ``B`` rows and ``n_threads`` threads."""
    return max(1, min(int(n_threads), B))


def run_chunks(kernel, B, n_threads, *args):
    """Call ``kernel(*args, j, lo, hi, wake, wake_to)`` for every batch slice ``j`` = rows ``[lo, hi)``.

    Slice sizes are ``ceil(B / n)`` (the last one shorter), the same split as
    the Cython backend.  Slice 0 runs on the calling thread, the others on the
    pool (or on the caller, when a pool thread is late; see
    :func:`fastrnn.utils.threads.parallel_for`); every slice writes its own rows
    and its own ``[j]`` buffers, so the thread does not change the result.  A
    kernel's first statement is ``raise_flag(wake, wake_to)``: slice 0's call
    starts the pool thread of slice 1 from GIL-free code (see
    :func:`fastrnn.utils.threads.first_task_wake`); the others get an empty
    ``wake``.  Denormal
    floats are flushed to zero while the kernels run (``FASTRNN_FLUSH_DENORMALS=0``
    turns this off).
    """
    n = n_chunks(B, n_threads)
    bounds = split_bounds(B, n)

    def chunk(j):  # only slice 0, on the caller, gets a flag to raise
        _call_flushing(kernel, (*args, j, *bounds[j], *first_task_wake()))

    parallel_for(chunk, n, wake_from_task=True)
