"""The benchmark suite's quick subset runs end to end (speed itself is measured in bench/)."""

import subprocess
import sys
from pathlib import Path

import pytest

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


def _bench_module(name):
    import importlib

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "bench"))


def test_useful_flops_counts_the_products_fastrnn_computes():
    import numpy as np

    ct = _bench_module("compare_torch")
    # LSTM(3) + LSTM(2) over embeddings of width 4, 2 classes, B = 2 rows of T = 5
    cfg = ("lstm", 100, 4, (3, 2), 5, 2, 2)
    X = np.array([[0, 0, 7, 7, 9], [1, 2, 3, 4, 5]])  # 3 + 5 real cells, ids {7, 9, 1..5}: 7 rows
    cells, rows = 8, 7
    forward = (2 * rows * 4 * 12 + 2 * cells * 3 * 12            # layer 1: token table, recurrence
               + 2 * cells * 3 * 8 + 2 * cells * 2 * 8           # layer 2: input, recurrence
               + 2 * 2 * 2 * 1)                                  # output layer
    assert ct.useful_flops(cfg, X) == (3 * forward, forward)
    # a batch with at least CELLS_PER_ID real cells per id projects the whole vocabulary
    small_vocab = ("simple", 2, 1, (1,), 5, 2, 2)
    assert ct.useful_flops(small_vocab, np.ones((2, 5), int))[1] == 2 * 2 + 2 * 10 + 2 * 2


def test_plot_draws_the_speedup_chart(tmp_path):
    pytest.importorskip("matplotlib")
    import json

    plot = _bench_module("plot")
    rates = {"fastrnn_train": 30.0, "torch_train": 10.0, "fastrnn_infer": 5.0, "torch_infer": 10.0}
    payload = {"environment": {"fastrnn": "0", "torch": "0", "cpu": "cpu"}, "options": {"threads": 2},
               "results": [{"config": c, "flush_denormal": False, "samples_per_s": rates}
                           for c in ("C2", "C3")]}
    (tmp_path / "a.json").write_text(json.dumps(payload))
    assert plot.ratios(payload) == [("C2", 3.0, 0.5), ("C3", 3.0, 0.5)]
    out = plot.plot([tmp_path / "a.json"] * 2, tmp_path / "s.png", labels=["old", "new"])
    assert (tmp_path / "s.png").stat().st_size > 0 and out == tmp_path / "s.png"


def test_compare_torch_runs_and_reports_its_environment(tmp_path):
    pytest.importorskip("torch")
    import importlib.util
    import json

    # --no-reexec: the test leaves OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE as the environment has them
    result = subprocess.run(
        [sys.executable, "bench/compare_torch.py", "--configs", "C2", "--rounds", "1", "--n-batches", "1",
         "--settle-ms", "0", "--peak-n", "128", "--no-reexec", "--json", str(tmp_path / "r.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for word in ("CPU:", "BLAS:", "Numba", "PyTorch", "ONNX Runtime", "GEMM peak", "C2 "):
        assert word in result.stdout, result.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    (row,) = data["results"]
    assert row["config"] == "C2" and row["flops"]["train"] == 3 * row["flops"]["infer"] > 0
    assert data["environment"]["torch"].startswith(__import__("torch").__version__.split("+")[0])
    has_ort = importlib.util.find_spec("onnxruntime") is not None
    assert (row["samples_per_s"]["onnx_infer"] is not None) == (has_ort and data["onnx_exporter"] is not None)
    if not has_ort:
        assert "ONNX Runtime column left out" in result.stdout
