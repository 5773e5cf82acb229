"""One contract, three backends: names, signatures, docstrings, selection ladder."""

import inspect
import subprocess
import sys

import pytest

import fastrnn
from fastrnn import _reference

KERNELS = sorted(n for n in dir(_reference) if n.endswith(("_forward", "_backward", "_step"))
                 or n in ("scatter_rows", "transposed_matmul"))


def test_every_backend_exports_the_same_kernels():
    assert "numpy" in fastrnn.AVAILABLE_BACKENDS
    assert fastrnn.BACKEND in fastrnn.AVAILABLE_BACKENDS
    assert len(KERNELS) == 10
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


def test_use_backend_blocks_overlapping_in_two_threads():
    """One thread's exit restored the backend from before its block over another thread's
    still running block, and the last exit could leave the process on the slow reference."""
    import threading

    before = fastrnn.BACKEND
    second = next((b for b in fastrnn.AVAILABLE_BACKENDS if b != "numpy"), "numpy")
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with fastrnn.use_backend("numpy"):
            a_in.set()
            b_in.wait()
        a_out.set()

    def later():
        a_in.wait()
        with fastrnn.use_backend(second):
            b_in.set()
            a_out.wait()
            seen["after the first block exited"] = fastrnn.current_backend()

    threads = [threading.Thread(target=first), threading.Thread(target=later)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert seen == {"after the first block exited": second}
    assert fastrnn.BACKEND == before

    def enter_and_leave():
        with fastrnn.use_backend(second):
            pass

    with fastrnn.use_backend("numpy"):  # a block may wait on a thread that enters one
        worker = threading.Thread(target=enter_and_leave)
        worker.start()
        worker.join(timeout=30)
        assert not worker.is_alive()
    assert fastrnn.BACKEND == before


def test_float32_gru_update_of_a_state_that_stays_put_is_exact_on_every_backend():
    """The reference computed z*h + (1-z)*h~ in float32: a state equal to h~ moved by an ulp per
    step where the compiled kernels (float64, rounded once) kept it, and a max-pooling head's
    gradient then went to another step (weights 7e-3 apart)."""
    import numpy as np

    from fastrnn import RNNClassifier

    r = np.random.default_rng(92)
    X = r.integers(1, 7, size=(11, 5))
    for i, n in enumerate(r.integers(1, 6, size=11)):
        X[i, n:] = 0
    y = r.integers(0, 3, size=11)
    weights = {}
    for backend in fastrnn.AVAILABLE_BACKENDS:
        m = RNNClassifier(cell="gru", units=15, recurrent_activation="relu", head="max",
                          embedding_dim=3, spatial_dropout=0.25, bptt_truncate=1, batch_size=1,
                          optimizer="sgd", learning_rate=0.05, max_iter=1, random_state=92,
                          n_threads=1)
        with fastrnn.use_backend(backend):
            weights[backend] = m.fit(X, y).get_weights()
    for backend, w in weights.items():
        for a, b in zip(w, weights["numpy"]):
            np.testing.assert_allclose(a, b, atol=1e-6, err_msg=backend)
