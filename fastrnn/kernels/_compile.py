"""How the Numba kernels are compiled: the options of the chunk kernels and of the helpers they inline."""

import functools
import hashlib
import pathlib

from numba import njit, types
from numba.core.caching import FunctionCache
from numba.core.dispatcher import Dispatcher
from numba.extending import intrinsic

from .._config import FASTMATH_FLAGS, NUMBA_CACHE


def sources_digest(root=None):
    """SHA-256 of the kernel package's ``.py`` files, ``fastrnn/_constants.py`` and ``_config.py``.

    Parameters
    ----------
    root : path-like, optional
        The kernel package's directory (by default this module's).

    Returns
    -------
    str
        Without those files (an install of compiled modules only), a digest of
        fastrnn's version instead.
    """
    root = pathlib.Path(__file__).parent if root is None else pathlib.Path(root)
    digest = hashlib.sha256()
    try:
        for path in sorted(root.glob("*.py")) + [root.parent / "_constants.py", root.parent / "_config.py"]:
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    except OSError:
        from .._version import __version__

        return hashlib.sha256(f"fastrnn {__version__} without sources".encode()).hexdigest()
    return digest.hexdigest()


@functools.cache
def cache_key_extra():
    """What every cached kernel's key holds beyond Numba's: the sources and the fastmath flags.

    Numba's key leaves out compile options, so a kernel compiled under the
    other ``FASTRNN_FASTMATH`` setting would otherwise be loaded.  Computed on
    the first compilation, not at import.
    """
    return sources_digest(), tuple(sorted(FASTMATH_FLAGS))


class SourceKeyedCache(FunctionCache):
    """Numba's on-disk cache, with :func:`cache_key_extra` in every entry's key.

    Numba drops a cached function only when the file defining it changes,
    while a kernel inlines helpers from the package's other files (the BLAS
    product, the activations, the constants); a kernel cached before one of
    those changed would otherwise be loaded after it (an updated checkout, an
    editable install).
    """

    def _index_key(self, *args, **kwargs):
        key = super()._index_key(*args, **kwargs)
        return (*key, *cache_key_extra()) if isinstance(key, tuple) else (key, *cache_key_extra())


def key_cache_on_sources(functions):
    """Give every cached Numba dispatcher among ``functions`` a :class:`SourceKeyedCache`.

    Parameters
    ----------
    functions : iterable
        Any objects; the dispatchers compiled with ``cache=True`` are changed
        in place, before their first compilation.
    """
    for f in functions:
        cache = getattr(f, "_cache", None) if isinstance(f, Dispatcher) else None
        if isinstance(cache, FunctionCache) and not isinstance(cache, SourceKeyedCache):
            f._cache = SourceKeyedCache(f.py_func)


def jit_chunk(func):
    """Compile ``func`` as a cached, GIL-free, single-threaded chunk kernel.

    The kernels allocate nothing, so they are compiled without Numba's
    reference-counted memory manager (``_nrt=False``): each row view such as
    ``z[b]`` otherwise costs an atomic increment and decrement, which small
    models feel, and the generated code is shorter.  Numba refuses to compile
    an allocation without it, so a kernel that needs one fails loudly.
    """
    kernel = njit(cache=NUMBA_CACHE, nogil=True, fastmath=FASTMATH_FLAGS, error_model="numpy",
                  no_cfunc_wrapper=True, _nrt=False)(func)
    key_cache_on_sources([kernel])
    return kernel


def per_activation(factory):
    """Memoise ``factory(*codes)``, which builds a chunk kernel for the given activation codes.

    The codes are closure constants of the kernel it returns, so Numba types
    them as literals and prunes the branches of :func:`activate_inplace` and
    :func:`activate_grad_into` that the model does not use; a kernel compiles
    only the activations it runs, which shortens the cold compile.  Each code tuple is compiled once
    per process and, with ``cache=True``, stored on disk under its own key
    (Numba keys a closure's cache entry on the values it closes over).
    """
    return functools.cache(factory)


# Helpers called only from jitted code: inlined, no Python or C wrapper, no reference counting.
INLINE = dict(forceinline=True, no_cpython_wrapper=True, no_cfunc_wrapper=True, _nrt=False)
INNER = dict(INLINE, cache=NUMBA_CACHE)


def is_f32(x):
    """Whether the Numba type ``x`` is float32 (for an ``@overload`` choosing its implementation)."""
    return isinstance(x, types.Float) and x.bitwidth == 32


#: LLVM's function attribute for the widest vectors its loop vectoriser may use.
_WIDE_VECTORS = '"prefer-vector-width"="512"'


@intrinsic
def wide_vectors(typingctx):
    """Let LLVM vectorise the calling function's loops with 512-bit registers (jitted code only).

    On AVX-512 CPUs LLVM otherwise uses 256-bit vectors (older Xeons lowered
    their clock for 512-bit instructions), which takes twice the instructions
    for a row of gates.  It marks the LLVM function being compiled, so the
    kernels and the helpers they inline call it first (a helper is vectorised
    when it is compiled, before it is inlined), except helpers whose loops run
    over one row's few values, which a 512-bit loop can leave scalar.  Results
    do not change (the loops hold no reduction that could be reordered); CPUs
    without AVX-512 keep their own width.
    """
    def codegen(context, builder, signature, args):
        attributes = builder.function.attributes
        # FunctionAttributes.add accepts only LLVM's enum attributes; a string one goes into the
        # set as is (a later llvmlite that stores them otherwise gets no hint, and LLVM's width).
        if isinstance(attributes, set):
            set.add(attributes, _WIDE_VECTORS)
        return context.get_dummy_value()

    return types.void(), codegen
