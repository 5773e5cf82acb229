"""GIL-free primitives of the engine's runtime, compiled by Numba (x86 only).

The SSE control register (MXCSR), read and written around the kernels to flush
denormal floats (see :mod:`fastrnn.runtime.denormals`), and the atomic flags
and spin-waits of the thread pool (see :mod:`fastrnn.runtime.threads`).  The
kernel package registers them with the runtime when it is imported; the
kernels themselves call only :func:`raise_flag`.
"""

import sys

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from .._config import NUMBA_CACHE
from .._constants import YIELD_EVERY
from ._compile import INNER


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
# Waking a sleeping thread can cost more than a small model's whole time loop; the pool's
# threads therefore spin a little (GIL-free) before they sleep.


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
# ``sched_yield`` returns at once when no other thread is waiting for the CPU.  POSIX only; on
# Windows the spin only pauses.
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


@njit(**INNER)
def raise_flag(flag, value):
    """``flag[0] = value`` unless ``flag`` is empty: a kernel starting a pool thread (:func:`run_chunks`)."""
    if flag.shape[0] > 0:
        _store_seq_cst(flag, value)


@njit(cache=NUMBA_CACHE, nogil=True)
def spin_until(flag, value, spins):
    """Spin, GIL-free, until ``flag[0] >= value``, at most ``spins`` times (x86 only).

    Every ``YIELD_EVERY`` polls the thread yields its CPU to any other thread ready to run on it.

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
        if i % YIELD_EVERY == YIELD_EVERY - 1:
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
