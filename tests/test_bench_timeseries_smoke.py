"""bench/timeseries_torch.py runs end to end at tiny sizes (its figures are measured by hand, not here)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import default_backend_only

pytestmark = default_backend_only
pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]


def test_tiny_run_reports_both_frameworks_and_the_forecasters_memory(tmp_path):
    out = tmp_path / "timeseries.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                    os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "bench/timeseries_torch.py", "--tiny", "--rounds", "1", "--threads", "1",
         "--settle-ms", "0", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "(a) LSTM" in result.stdout and "(b) GRU" in result.stdout and "peak RSS" in result.stdout
    report = json.loads(out.read_text())
    for part in ("weather", "panel"):
        for key in ("train_samples_per_s", "infer_samples_per_s"):
            assert report[part][key]["fastrnn"] > 0 and report[part][key]["torch"] > 0
    memory = report["forecaster_memory"]
    assert memory["peak_rss"] >= memory["rss_before_fit"] > 0 and memory["epochs"] == 1
