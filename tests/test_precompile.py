"""Compiling the Numba kernels ahead of a fit: ``fastrnn.precompile`` and ``fastrnn precompile``."""

import contextlib
import io
import os
import subprocess
import sys

import pytest

import fastrnn
from fastrnn._precompile import _split

from conftest import default_backend_only

needs_numba = pytest.mark.skipif("numba" not in fastrnn.AVAILABLE_BACKENDS,
                                 reason="Numba is not installed")

# A fit and a prediction of a small model in a fresh process, counting the kernels Numba compiles
# (loading one from the on-disk cache is not a compile).
COUNT_COMPILES = r"""
import sys
import numpy as np
from numba.core import event
from fastrnn import RNNClassifier

rng = np.random.default_rng(0)
X = rng.integers(1, 30, size=(40, 6))
y = rng.integers(0, 2, size=40)
counts = []
for activation in sys.argv[1:]:
    with event.install_recorder("numba:compile") as rec:
        model = RNNClassifier(cell="simple", units=8, dtype="float64", activation=activation,
                              max_iter=1, batch_size=16, n_threads=2).fit(X, y)
        model.predict(X)
    counts.append(sum(1 for _, e in rec.buffer if e.is_start))
print(*counts)
"""


def _env(cache_dir):
    return {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir), "FASTRNN_BACKEND": "numba"}


@default_backend_only
@needs_numba
def test_precompiled_kernels_serve_a_later_fit_without_compiling(tmp_path):
    out = subprocess.run([sys.executable, "-m", "fastrnn", "precompile", "--jobs", "2",
                          "--cells", "simple", "--units", "8"],
                         capture_output=True, text=True, env=_env(tmp_path), timeout=600)
    assert out.returncode == 0, out.stderr
    assert "float32: simple" in out.stdout and "float64: simple" in out.stdout
    # both dtypes reached the cache, one from each process
    cached = [p.name for p in tmp_path.rglob("*.nbi")]
    assert any("simple_rnn" in name for name in cached), cached
    # the default activation comes from the cache; relu (not precompiled) shows the count works
    fit = subprocess.run([sys.executable, "-c", COUNT_COMPILES, "tanh", "relu"],
                         capture_output=True, text=True, env=_env(tmp_path), timeout=600)
    assert fit.returncode == 0, fit.stderr
    tanh_compiles, relu_compiles = map(int, fit.stdout.split())
    assert tanh_compiles == 0
    assert relu_compiles > 0


@default_backend_only
@needs_numba
def test_a_failing_worker_process_is_reported(monkeypatch):
    monkeypatch.setenv("FASTRNN_BACKEND", "no-such-backend")  # the worker's import fails
    with pytest.raises(RuntimeError, match=r"(?s)compiling the float(32|64) kernels of simple "
                                           r"failed \(exit code 1\):\n.*no-such-backend"):
        fastrnn.precompile(cells="simple", dtypes=("float32", "float64"), n_jobs=2)


def test_work_is_split_by_dtype_then_by_cell():
    cells = ("simple", "lstm", "gru")
    assert _split(cells, ("float32", "float64"), 2) == [(cells, "float32"), (cells, "float64")]
    assert _split(cells, ("float32",), 2) == [(("simple",), "float32"), (("lstm",), "float32"),
                                             (("gru",), "float32")]
    assert _split(("lstm",), ("float32",), 4) == [(("lstm",), "float32")]


@pytest.mark.parametrize("kwargs, match", [
    (dict(cells=("rnn",)), "cells must be"),
    (dict(cells=()), "cells must be"),
    (dict(dtypes=("float16",)), "dtypes must be"),
    (dict(dtypes=("int8x",)), "dtypes must name"),
    (dict(units=(0,)), "units must be"),
    (dict(units=(8.5,)), "units must be"),
    (dict(n_jobs=0), "n_jobs must be"),
    (dict(n_jobs=True), "n_jobs must be"),
    (dict(cells=None), "cells must be"),
    (dict(cells=42), "cells must be"),
    (dict(dtypes=[None]), "dtypes must be"),
    (dict(units=2.5), "units must be"),
    (dict(units=None), "units must be"),
])
def test_bad_arguments_are_refused_before_any_work(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fastrnn.precompile(**kwargs)


@default_backend_only
def test_the_command_refuses_when_the_cache_is_off():
    out = subprocess.run([sys.executable, "-m", "fastrnn", "precompile", "--cells", "simple"],
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "FASTRNN_NUMBA_CACHE": "0"})
    assert out.returncode == 2
    assert out.stderr.startswith("fastrnn: error:") and "FASTRNN_NUMBA_CACHE=0" in out.stderr


def test_the_command_names_its_own_option():
    from fastrnn.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["precompile", "--jobs", "0"])
    assert code == 2 and "--jobs must be a positive integer" in err.getvalue()
