"""bench/text_recipe.py runs every stage at tiny sizes (its figures are measured by hand)."""

import json
import subprocess
import sys
from pathlib import Path

from conftest import default_backend_only, imdb_subset_path, requires_imdb_subset

pytestmark = [default_backend_only, requires_imdb_subset]

ROOT = Path(__file__).resolve().parents[1]


def test_tiny_run_reports_the_baseline_the_search_and_the_seeds(tmp_path):
    out = tmp_path / "recipe.json"
    result = subprocess.run(
        [sys.executable, "bench/text_recipe.py", "--tiny", "--path", str(imdb_subset_path()),
         "--n-threads", "1", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "TF-IDF(1,2) + LogisticRegression" in result.stdout and "grid search" in result.stdout
    report = json.loads(out.read_text())
    assert 0.5 <= report["tfidf"] <= 1.0
    assert set(report["chosen"]) == {"embedding_dropout", "spatial_dropout"}
    assert len(report["test_accuracy"]) == 1 and 0.0 <= report["mean"] <= 1.0
    assert len(report["blend_accuracy"]) == 1 and 0.0 <= report["blend_mean"] <= 1.0
