"""Reuse of large freed arrays from one batch, and one fit, to the next; cache-line alignment.

Every batch allocates the same large temporaries (stored gates, their
gradients, projection tables), tens of megabytes each for a 128-unit LSTM.
glibc's ``malloc`` returns such blocks to the operating system when they are
freed (directly, or by trimming the heap), so the next batch's arrays start
on fresh pages: a page fault, and the kernel's zeroing of the page, for each
of them, thousands per training batch of a large model.

While :func:`reuse_freed_blocks` is open, NumPy allocates through a small
handler (NEP 49; the compiled ``_blockcache`` extension) that holds freed
blocks of at least :data:`MIN_BLOCK_BYTES` and hands a held block out again
for a request of exactly its size.  Every other request is carved out of a
block from NumPy's own allocator so that it starts on a 64-byte cache line
(:data:`ALIGNMENT`): NumPy's blocks start 16 bytes into one, and two threads
writing neighbouring row slices of an array then share a cache line at the
seam, which slows both.  The handler is a context variable, so a scope
covers the calling thread's allocations only; arrays made inside it may
outlive it and are freed normally afterwards.

Held blocks stay held when the scope closes, so the next ``fit``,
``partial_fit`` or ``predict`` of the same shapes starts without faults, like
a caching allocator.  At most ``FASTRNN_BLOCK_CACHE_MB`` MiB are held (default
512; the oldest blocks are given back first; ``0`` turns the reuse off and
keeps the alignment), and :func:`release_freed_blocks` gives all of them back.
Without the compiled extension (``FASTRNN_NO_CYTHON=1``, or no C compiler at
install) the scope does nothing.
"""

import contextlib
import os

from .._config import BLOCK_CACHE_MB

try:
    from . import _blockcache
except ImportError:  # pragma: no cover - built without a C compiler
    _blockcache = None

#: Smallest block held for reuse: smaller ones are served well by glibc's heap.
MIN_BLOCK_BYTES = 256 * 1024

#: Every block allocated inside a scope starts at a multiple of this many bytes.
ALIGNMENT = 64

if _blockcache is not None:
    _blockcache.configure(int(BLOCK_CACHE_MB * 2**20), MIN_BLOCK_BYTES)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_blockcache.after_fork_in_child)


def block_cache_available():
    """Whether :func:`reuse_freed_blocks` has its compiled handler and a non-zero limit."""
    return _blockcache is not None and BLOCK_CACHE_MB > 0


def aligned_allocation_available():
    """Whether :func:`reuse_freed_blocks` aligns the blocks allocated inside it (the handler is built)."""
    return _blockcache is not None


@contextlib.contextmanager
def reuse_freed_blocks():
    """Within the block, NumPy reuses large freed blocks and aligns new ones (see the module notes).

    Results are unchanged: a reused block is overwritten or, for ``np.zeros``,
    zeroed, exactly as fresh memory would be.
    """
    if _blockcache is None:
        yield
        return
    previous = _blockcache.open_scope()
    try:
        yield
    finally:
        _blockcache.close_scope(previous)


def release_freed_blocks():
    """Give every held block back to NumPy's allocator (and so, for large ones, to the system)."""
    if _blockcache is not None:
        stats = _blockcache.stats()
        _blockcache.configure(stats["limit_bytes"], stats["min_bytes"])


def block_cache_stats():
    """The cache's counters and settings as a ``dict`` (empty without the extension).

    Keys: ``held_bytes``, ``limit_bytes``, ``min_bytes``, ``open_scopes``,
    ``hits`` and ``misses`` (requests for a held size, served or not).
    """
    return {} if _blockcache is None else _blockcache.stats()
