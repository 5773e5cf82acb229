"""bench/dropout_cost.py runs end to end at tiny sizes (its figures are measured by hand, not here)."""

import json
import subprocess
import sys
from pathlib import Path

import fastrnn
from conftest import default_backend_only

pytestmark = default_backend_only

ROOT = Path(__file__).resolve().parents[1]


def test_tiny_run_reports_every_kind_per_backend(tmp_path):
    out = tmp_path / "dropout.json"
    result = subprocess.run(
        [sys.executable, "bench/dropout_cost.py", "--tiny", "--settle-ms", "0", "--no-reexec",
         "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for word in ("CPU:", "BLAS:", "spatial s (ratio)"):
        assert word in result.stdout, result.stdout
    report = json.loads(out.read_text())
    compiled = [b for b in ("numba", "cython") if b in fastrnn.AVAILABLE_BACKENDS]
    assert [r["backend"] for r in report["results"]] == compiled
    for row in report["results"]:
        assert set(row["ratio"]) == {"none", "dropout", "embedding_dropout", "spatial_dropout",
                                     "spatial_shared"}
        assert row["ratio"]["none"] == 1.0 and all(t > 0 for t in row["median_s"].values())
