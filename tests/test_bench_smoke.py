"""The benchmark suite's quick subset runs end to end (speed itself is measured in bench/)."""

import subprocess
import sys
from pathlib import Path

import fastrnn
from conftest import default_backend_only

pytestmark = default_backend_only

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmarks_run_on_every_compiled_backend():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "bench/", "-m", "quick", "--benchmark-disable",
         "-o", "addopts=", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    compiled = [b for b in ("numba", "cython") if b in fastrnn.AVAILABLE_BACKENDS]
    assert f"{4 * len(compiled)} passed" in result.stdout, result.stdout[-2000:]
