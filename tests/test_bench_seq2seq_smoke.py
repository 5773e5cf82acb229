"""bench/seq2seq_torch.py runs end to end at tiny sizes (its speed is measured by hand, not here)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import default_backend_only

pytestmark = default_backend_only
pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]


def test_tiny_run_reports_both_frameworks(tmp_path):
    out = tmp_path / "seq2seq.json"
    result = subprocess.run(
        [sys.executable, "bench/seq2seq_torch.py", "--tiny", "--rounds", "1", "--threads", "1",
         "--settle-ms", "0", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "training samples/s" in result.stdout and "beam 5 sources/s" in result.stdout
    report = json.loads(out.read_text())
    for key in ("train_samples_per_s", "greedy_sources_per_s"):
        assert report[key]["fastrnn"] > 0 and report[key]["torch"] > 0
    assert report["beam5_sources_per_s"]["fastrnn"] > 0
    # both frameworks decode the same weights, so their greedy outputs agree
    assert report["check"]["greedy_identical_share"] >= 0.9
