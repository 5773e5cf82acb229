"""One contract, three backends: names, signatures, docstrings, selection ladder."""

import inspect
import subprocess
import sys

import pytest

import fastrnn
from fastrnn import _reference

KERNELS = sorted(n for n in dir(_reference)
                 if n.endswith(("_forward", "_backward", "_step")) or n == "scatter_rows")


def test_every_backend_exports_the_same_kernels():
    assert "numpy" in fastrnn.AVAILABLE_BACKENDS
    assert fastrnn.BACKEND in fastrnn.AVAILABLE_BACKENDS
    assert len(KERNELS) == 9
    for name in fastrnn.AVAILABLE_BACKENDS:
        module = fastrnn.get_kernels(name)
        assert sorted(module.__all__) == KERNELS, name


@pytest.mark.parametrize("kernel", KERNELS)
def test_signatures_and_docstrings_are_identical_across_backends(kernel):
    ref = getattr(_reference, kernel)
    for name in fastrnn.AVAILABLE_BACKENDS:
        fn = getattr(fastrnn.get_kernels(name), kernel)
        assert inspect.signature(fn) == inspect.signature(ref), name
        assert inspect.getdoc(fn) == inspect.getdoc(ref), name
        assert "Parameters" in inspect.getdoc(fn)


def test_use_backend_switches_and_restores():
    before = fastrnn.BACKEND
    with fastrnn.use_backend("numpy") as name:
        assert name == "numpy" == fastrnn.BACKEND
        assert fastrnn.get_kernels() is _reference
    assert fastrnn.BACKEND == before
    with pytest.raises(ValueError, match="not available"):
        with fastrnn.use_backend("fortran"):
            pass
    assert fastrnn.BACKEND == before


def _python(code, **env):
    import os

    full_env = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env)


def test_environment_variable_forces_a_backend():
    out = _python("import fastrnn; print(fastrnn.BACKEND)", FASTRNN_BACKEND="numpy")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "numpy"
    bad = _python("import fastrnn", FASTRNN_BACKEND="fortran")
    assert bad.returncode != 0
    assert "FASTRNN_BACKEND='fortran'" in bad.stderr


def test_falls_back_to_numpy_with_a_warning_when_nothing_compiled_is_available():
    code = (
        "import sys, warnings\n"
        "sys.modules['numba'] = None\n"
        "sys.modules['fastrnn._cython'] = None\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    import fastrnn\n"
        "warned = any('NumPy reference' in str(x.message) for x in w)\n"
        "print(fastrnn.BACKEND, fastrnn.AVAILABLE_BACKENDS, warned)\n"
    )
    out = _python(code, FASTRNN_BACKEND="")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "numpy ['numpy'] True"
