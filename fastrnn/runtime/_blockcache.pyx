# A NumPy memory handler (NEP 49) that aligns blocks to cache lines and keeps large freed blocks for
# reuse; see fastrnn.runtime.memory.
cimport numpy as cnp

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #include "pythread.h"

    #define FR_SLOTS 128

    typedef struct { void *ptr; size_t size; unsigned long long stamp; } fr_slot;

    static fr_slot fr_slots[FR_SLOTS];       /* held blocks (ptr NULL: empty slot) */
    static size_t fr_held = 0;               /* bytes held */
    static size_t fr_limit = 0;              /* most bytes held */
    static size_t fr_min = 1;                /* smaller blocks are never held */
    static long fr_scopes = 0;               /* open scopes: only then are freed blocks held */
    static unsigned long long fr_clock = 0;  /* stamps held blocks, oldest first out */
    static unsigned long long fr_hits = 0, fr_misses = 0;
    static PyThread_type_lock fr_lock = NULL;
    static PyDataMemAllocator *fr_base = NULL;  /* NumPy's default allocator: new blocks, frees */

    /* Every block starts on a cache line (NumPy's allocator gives 16 bytes: two threads writing
       neighbouring row slices of one array then share a line at the seam).  A block is carved
       out of a larger one from NumPy's allocator; a header just before it records where that
       one starts and the block's size. */
    #define FR_ALIGN 64
    #define FR_HEAD 16
    #define FR_EXTRA (FR_HEAD + FR_ALIGN - 1)

    typedef struct { size_t offset; size_t size; } fr_header;

    static fr_header *fr_header_of(void *ptr) { return (fr_header *)((char *)ptr - FR_HEAD); }

    static void *fr_carve(char *raw, size_t size) {
        char *p;
        if (raw == NULL) return NULL;
        p = (char *)(((uintptr_t)raw + FR_HEAD + FR_ALIGN - 1) & ~(uintptr_t)(FR_ALIGN - 1));
        fr_header_of(p)->offset = (size_t)(p - raw);
        fr_header_of(p)->size = size;
        return p;
    }

    static void *fr_new(size_t size, int zeroed) {
        if (size > (size_t)-1 - FR_EXTRA) return NULL;
        return fr_carve(zeroed ? fr_base->calloc(fr_base->ctx, size + FR_EXTRA, 1)
                               : fr_base->malloc(fr_base->ctx, size + FR_EXTRA), size);
    }

    static void fr_delete(void *ptr) {
        fr_header *h = fr_header_of(ptr);
        fr_base->free(fr_base->ctx, (char *)ptr - h->offset, h->size + FR_EXTRA);
    }

    static void fr_release(fr_slot *out, int n) {
        for (int i = 0; i < n; i++) fr_delete(out[i].ptr);
    }

    /* A held block of exactly `size` bytes (the most recently held), or NULL. */
    static void *fr_reuse(size_t size) {
        void *p = NULL;
        int best = -1;
        if (size < fr_min) return NULL;
        PyThread_acquire_lock(fr_lock, WAIT_LOCK);
        for (int i = 0; i < FR_SLOTS; i++) {
            if (fr_slots[i].ptr != NULL && fr_slots[i].size == size
                    && (best < 0 || fr_slots[i].stamp > fr_slots[best].stamp)) best = i;
        }
        if (best >= 0) {
            p = fr_slots[best].ptr;
            fr_slots[best].ptr = NULL;
            fr_held -= size;
            fr_hits++;
        } else {
            fr_misses++;
        }
        PyThread_release_lock(fr_lock);
        return p;
    }

    static void *fr_malloc(void *ctx, size_t size) {
        void *p = fr_reuse(size);
        return p != NULL ? p : fr_new(size, 0);
    }

    static void *fr_calloc(void *ctx, size_t nelem, size_t elsize) {
        void *p;
        if (elsize != 0 && nelem > (size_t)-1 / elsize) return NULL;
        p = fr_reuse(nelem * elsize);
        if (p == NULL) return fr_new(nelem * elsize, 1);
        memset(p, 0, nelem * elsize);
        return p;
    }

    static void fr_free(void *ctx, void *ptr, size_t size);

    static void *fr_realloc(void *ctx, void *ptr, size_t new_size) {
        size_t old;
        void *p;
        if (ptr == NULL) return fr_malloc(ctx, new_size);
        old = fr_header_of(ptr)->size;
        p = fr_malloc(ctx, new_size);
        if (p == NULL) return NULL;
        memcpy(p, ptr, old < new_size ? old : new_size);
        fr_free(ctx, ptr, old);
        return p;
    }

    /* Inside a scope, hold the block, first giving back the oldest held ones if it does not
       fit; otherwise give it back to NumPy's allocator. */
    static void fr_free(void *ctx, void *ptr, size_t size) {
        fr_slot out[FR_SLOTS];
        int n = 0;
        if (ptr == NULL) return;
        size = fr_header_of(ptr)->size;  /* what was asked for (NumPy passes the same) */
        if (size >= fr_min) {
            PyThread_acquire_lock(fr_lock, WAIT_LOCK);
            if (fr_scopes > 0 && size <= fr_limit) {
                int slot = -1;
                for (;;) {
                    int oldest = -1;
                    slot = -1;
                    for (int i = 0; i < FR_SLOTS; i++) {
                        if (fr_slots[i].ptr == NULL) {
                            if (slot < 0) slot = i;
                        } else if (oldest < 0 || fr_slots[i].stamp < fr_slots[oldest].stamp) {
                            oldest = i;
                        }
                    }
                    if (slot >= 0 && fr_held + size <= fr_limit) break;
                    out[n++] = fr_slots[oldest];  /* oldest >= 0: something is held */
                    fr_held -= fr_slots[oldest].size;
                    fr_slots[oldest].ptr = NULL;
                }
                fr_slots[slot].ptr = ptr;
                fr_slots[slot].size = size;
                fr_slots[slot].stamp = ++fr_clock;
                fr_held += size;
                ptr = NULL;
            }
            PyThread_release_lock(fr_lock);
        }
        fr_release(out, n);
        if (ptr != NULL) fr_delete(ptr);
    }

    static PyDataMem_Handler fr_handler = {
        "fastrnn_block_cache",
        1,
        {NULL, fr_malloc, fr_calloc, fr_realloc, fr_free}
    };

    /* After import_array(): NumPy's default handler serves everything not held here, so new
       blocks get its treatment (huge pages for large ones on Linux). */
    static int fr_init(void) {
        PyDataMem_Handler *base;
        if (fr_lock == NULL) fr_lock = PyThread_allocate_lock();
        base = (PyDataMem_Handler *)PyCapsule_GetPointer(PyDataMem_DefaultHandler, "mem_handler");
        if (base == NULL) return 0;
        fr_base = &base->allocator;
        return fr_lock != NULL;
    }

    /* A forked child gets a new lock: another thread may have held the old one at the fork. */
    static void fr_after_fork(void) {
        fr_lock = PyThread_allocate_lock();
    }

    static void fr_scope(int delta) {
        PyThread_acquire_lock(fr_lock, WAIT_LOCK);
        fr_scopes += delta;
        PyThread_release_lock(fr_lock);
    }

    /* Give every held block back; then hold at most `limit` bytes, blocks of `min_size` up. */
    static void fr_configure(size_t limit, size_t min_size) {
        fr_slot out[FR_SLOTS];
        int n = 0;
        PyThread_acquire_lock(fr_lock, WAIT_LOCK);
        for (int i = 0; i < FR_SLOTS; i++) {
            if (fr_slots[i].ptr != NULL) {
                out[n++] = fr_slots[i];
                fr_slots[i].ptr = NULL;
            }
        }
        fr_held = 0;
        fr_limit = limit;
        fr_min = min_size > 0 ? min_size : 1;
        PyThread_release_lock(fr_lock);
        fr_release(out, n);
    }
    """
    ctypedef struct PyDataMem_Handler:
        pass
    PyDataMem_Handler fr_handler
    int fr_init()
    void fr_after_fork()
    void fr_scope(int delta)
    void fr_configure(size_t limit, size_t min_size)
    size_t fr_held
    size_t fr_limit
    size_t fr_min
    long fr_scopes
    unsigned long long fr_hits
    unsigned long long fr_misses

from cpython.pycapsule cimport PyCapsule_New

cnp.import_array()
if not fr_init():
    raise ImportError("fastrnn: the block cache could not set up its lock or find NumPy's allocator")

#: The handler, as the capsule NumPy expects.
HANDLER = PyCapsule_New(<void *>&fr_handler, "mem_handler", NULL)


def after_fork_in_child():
    """Give the child of a fork a fresh lock (registered with ``os.register_at_fork``)."""
    fr_after_fork()


def configure(size_t limit_bytes, size_t min_bytes):
    """Give back every held block; then hold at most ``limit_bytes``, in blocks of ``min_bytes`` or more."""
    fr_configure(limit_bytes, min_bytes)


def open_scope():
    """Install the handler in the current context; return the handler it replaces."""
    fr_scope(1)
    return cnp.PyDataMem_SetHandler(HANDLER)


def close_scope(previous):
    """Put back ``previous``, as :func:`open_scope` returned it (held blocks stay held)."""
    cnp.PyDataMem_SetHandler(previous)
    fr_scope(-1)


def stats():
    """The cache's counters and settings, for tests and diagnostics."""
    return {"held_bytes": fr_held, "limit_bytes": fr_limit, "min_bytes": fr_min,
            "open_scopes": fr_scopes, "hits": fr_hits, "misses": fr_misses}
