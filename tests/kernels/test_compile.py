"""How the Numba kernels are compiled: kernels and helpers ask for wide vectors."""

import ast
import pathlib

import numpy as np
import pytest

numba = pytest.importorskip("numba")
llvm_binding = pytest.importorskip("llvmlite.binding")

from fastrnn.kernels._compile import wide_vectors  # noqa: E402

KERNELS = pathlib.Path(__file__).resolve().parents[2] / "fastrnn" / "kernels"
# Flags, spin-waits and the control register: no loops to vectorise.
WITHOUT_LOOPS = {"_sync.py"}
# Loops over one row's values, too short for 512-bit vectors (see the function).
NARROW = {"activate_inplace"}


def _compiled_functions(tree):
    """Functions of a module that Numba compiles: jitted ones and the implementations of overloads."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        decorators = [ast.unparse(d) for d in node.decorator_list]
        if any(d.startswith(("njit", "jit_chunk")) for d in decorators):
            yield node
        if any(d.startswith("overload") for d in decorators):
            yield from (n for stmt in node.body for n in ast.walk(stmt) if isinstance(n, ast.FunctionDef))


def _first_statement(fn):
    body = fn.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return ast.unparse(body[0])


def test_every_compiled_kernel_function_asks_for_wide_vectors_first():
    """A helper is vectorised when it is compiled, before it is inlined: each needs the mark."""
    checked, missing = [], []
    for path in sorted(KERNELS.glob("*.py")):
        if path.name in WITHOUT_LOOPS:
            continue
        for fn in _compiled_functions(ast.parse(path.read_text())):
            checked.append(fn.name)
            wide = _first_statement(fn) == "wide_vectors()"
            if wide == (fn.name in NARROW):
                missing.append(f"{path.name}:{fn.name}")
    assert not missing, f"not calling wide_vectors() first (or calling it in {NARROW}): {missing}"
    assert {"forward_rows", "backward_rows", "tanh_rational32", "_adam"} <= set(checked)


def test_wide_vectors_marks_the_function_and_its_loops_use_512_bit_registers():
    @numba.njit
    def scale(x, out):
        wide_vectors()
        for i in range(x.shape[0]):
            out[i] = 2.0 * x[i] + 1.0

    x = np.arange(64, dtype=np.float32)
    out = np.empty_like(x)
    scale(x, out)
    np.testing.assert_array_equal(out, 2 * x + 1)
    sig = scale.signatures[0]
    assert '"prefer-vector-width"="512"' in scale.inspect_llvm(sig)
    try:
        features = numba.config.CPU_FEATURES or llvm_binding.get_host_cpu_features().flatten()
    except RuntimeError:  # LLVM cannot tell this host's features
        features = ""
    if "+avx512f" in features.split(",") and numba.config.OPT >= 2:  # vectorised loops
        assert "zmm" in scale.inspect_asm(sig)


def test_every_cached_kernel_is_keyed_on_the_kernel_sources():
    """Numba checks only the defining file of a cached function; a kernel inlines helpers from
    the package's other files, so the cache key holds a digest of them all."""
    import importlib

    from numba.core.caching import FunctionCache
    from numba.core.dispatcher import Dispatcher
    from numba.core.registry import cpu_target

    from fastrnn._config import FASTMATH_FLAGS
    from fastrnn.kernels._compile import SourceKeyedCache, sources_digest
    from fastrnn.kernels.lstm import _forward_kernel

    cached = []
    for path in KERNELS.glob("*.py"):
        module = importlib.import_module(f"fastrnn.kernels.{path.stem}")
        cached += [f for f in vars(module).values()
                   if isinstance(f, Dispatcher) and isinstance(getattr(f, "_cache", None), FunctionCache)]
    kernel = _forward_kernel(0, 1, True)  # built by a factory after the import
    cached.append(kernel)
    assert len(cached) > 10
    assert all(isinstance(f._cache, SourceKeyedCache) for f in cached)
    key = kernel._cache._index_key((), cpu_target.target_context.codegen())
    assert key[-2:] == (sources_digest(), tuple(sorted(FASTMATH_FLAGS)))


def test_the_sources_digest_follows_every_kernel_file(tmp_path):
    import shutil

    from fastrnn.kernels._compile import sources_digest

    copy = tmp_path / "kernels"
    shutil.copytree(KERNELS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("_constants.py", "_config.py"):
        shutil.copy(KERNELS.parent / name, tmp_path / name)
    assert sources_digest(copy) == sources_digest()
    blas = copy / "_blas.py"
    blas.write_text(blas.read_text() + "\n# changed\n")
    assert sources_digest(copy) != sources_digest()
    blas.write_text(blas.read_text()[:-len("\n# changed\n")])
    constants = tmp_path / "_constants.py"
    constants.write_text(constants.read_text().replace("16_384", "16_385"))
    assert sources_digest(copy) != sources_digest()

    config = tmp_path / "_config.py"
    config.write_text(config.read_text() + "\n# changed\n")
    assert sources_digest(copy) != sources_digest()


def test_an_install_without_sources_gets_a_digest_of_its_version(tmp_path):
    import hashlib

    import fastrnn
    from fastrnn.kernels._compile import sources_digest

    expected = hashlib.sha256(f"fastrnn {fastrnn.__version__} without sources".encode()).hexdigest()
    assert sources_digest(tmp_path / "kernels") == expected != sources_digest()


_CACHED_RUN = """
import sys
import fastrnn.kernels._compile as compile_
if sys.argv[1] == "other-sources":
    compile_.cache_key_extra = lambda: ("other sources", ())
import probe
compile_.key_cache_on_sources([probe.twice])
probe.twice(1.0)
print(sum(probe.twice.stats.cache_hits.values()), sum(probe.twice.stats.cache_misses.values()))
"""


def test_a_cached_function_is_reloaded_only_under_the_same_sources_and_fastmath(tmp_path):
    """End to end, in fresh interpreters sharing one cache directory: compiled and stored, then
    loaded; compiled again under other sources or the other FASTRNN_FASTMATH setting."""
    import os
    import subprocess
    import sys

    (tmp_path / "probe.py").write_text("from numba import njit\n\n\n@njit(cache=True)\n"
                                       "def twice(x):\n    return 2 * x\n")
    (tmp_path / "run.py").write_text(_CACHED_RUN)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), FASTRNN_FASTMATH="0",
               PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))

    def run(mode="same", **extra):
        out = subprocess.run([sys.executable, str(tmp_path / "run.py"), mode], env={**env, **extra},
                             capture_output=True, text=True, check=True).stdout.split()
        return tuple(map(int, out))  # (hits, misses)

    assert run() == (0, 1)
    assert run() == (1, 0)
    assert run("other-sources") == (0, 1)
    assert run(FASTRNN_FASTMATH="1") == (0, 1)
    assert run() == (1, 0)
