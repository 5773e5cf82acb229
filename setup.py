"""Build script: compiles the optional Cython kernels.

The Cython extensions are built when Cython, NumPy and SciPy's BLAS
declarations are importable at build time (``pyproject.toml`` declares them
as build requirements) and a C compiler works.  Set ``FASTRNN_NO_CYTHON=1``
to skip them; the package then installs as pure Python and runs on the Numba
backend.  Compiler directives are set once, here.

The kernels are compiled for the building machine's CPU (``-march=native``, as
Numba compiles for the machine it runs on) and with ``-fno-trapping-math``, which
lets GCC vectorise the activation loops (floating-point exceptions are never
inspected; NaN still propagates), and ``-fno-wrapv``: Python's own compiler
flags add ``-fwrapv``, under which an index such as ``2 * H + k`` may wrap
around, so GCC left the loops over a row's gate blocks scalar (the Cython GRU
layer was 8-20% faster without it; the kernels index nothing near the int range).
Set ``FASTRNN_PORTABLE_BUILD=1`` when building a wheel for other machines.

The constants the Cython kernels share with the Numba ones are defined once, in
``fastrnn/_constants.py``; before compiling, this script writes them into
``fastrnn/_cython/_constants.pxd`` (a generated file, not kept in git).
"""

import os
import runpy
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext

CELLS = ("simple_rnn", "lstm", "gru")
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "binding": True,  # introspectable signatures (inspect.signature) without a docstring header
}


class OptionalBuildExt(build_ext):
    """Build the extensions, but let the install succeed without them."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # no compiler, missing headers, ...
            self._skip(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._skip(exc)

    @staticmethod
    def _skip(exc):
        sys.stderr.write(
            f"fastrnn: Cython kernels not built ({exc}); the Numba backend will be used.\n"
        )


HERE = os.path.dirname(os.path.abspath(__file__))
CONSTANTS_PXD = os.path.join(HERE, "fastrnn", "_cython", "_constants.pxd")


def write_constants_pxd():
    """Write ``fastrnn/_cython/_constants.pxd`` from ``fastrnn/_constants.py`` (left alone when unchanged)."""
    # run as a file: importing the package would import its dependencies, absent at build time
    text = runpy.run_path(os.path.join(HERE, "fastrnn", "_constants.py"))["cython_declarations"]()
    try:
        with open(CONSTANTS_PXD) as f:
            if f.read() == text:
                return  # an unchanged file keeps its time stamp: no needless recompilation
    except OSError:
        pass
    with open(CONSTANTS_PXD, "w") as f:
        f.write(text)


def cython_extensions():
    if os.environ.get("FASTRNN_NO_CYTHON", "") not in ("", "0"):
        return []
    try:
        import numpy
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError:
        return []
    write_constants_pxd()
    flags = ["-O3", "-fno-trapping-math", "-fno-wrapv"]
    if os.environ.get("FASTRNN_PORTABLE_BUILD", "") in ("", "0"):
        flags.append("-march=native")
    # The optimizer steps must round exactly as the NumPy reference: no fused multiply-add.
    extra = {"optim": ["-ffp-contract=off", "-fno-math-errno"]}
    exts = [
        Extension(
            f"fastrnn._cython.{name}",
            [f"fastrnn/_cython/{name}.pyx"],
            include_dirs=[numpy.get_include()],
            extra_compile_args=flags + extra.get(name, []),
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        for name in CELLS + ("embedding", "optim", "products", "sync")
    ]
    # NumPy's memory-handler API (NEP 49) is declared from its 1.22 API on.
    exts.append(Extension(
        "fastrnn.runtime._blockcache",
        ["fastrnn/runtime/_blockcache.pyx"],
        include_dirs=[numpy.get_include()],
        extra_compile_args=["-O2"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
                       ("NPY_TARGET_VERSION", "NPY_1_22_API_VERSION")],
    ))
    try:
        return cythonize(exts, compiler_directives=DIRECTIVES, quiet=True)
    except Exception as exc:
        sys.stderr.write(f"fastrnn: cythonize failed ({exc}); building without Cython.\n")
        return []


setup(ext_modules=cython_extensions(), cmdclass={"build_ext": OptionalBuildExt})
