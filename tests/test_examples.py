"""Every tutorial example runs end to end on a tiny slice of an IMDB subset (``FASTRNN_IMDB_NPZ``)."""

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import default_backend_only, imdb_subset_path, requires_imdb_subset

pytestmark = default_backend_only

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py")
                  if p.name.startswith(("imdb_", "reuters_")))


@requires_imdb_subset
@pytest.mark.parametrize("script", EXAMPLES)
def test_example_runs_on_a_slice_of_imdb(script):
    out = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--encoded",
                          str(imdb_subset_path()), "--limit", "120", "--max-iter", "1"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    reports = [line for line in out.stdout.splitlines() if "| tutorial:" in line]
    assert reports, out.stdout
    for line in reports:
        accuracy = float(line.split("test acc ")[1].split(",")[0].split()[0])
        assert 0.0 <= accuracy <= 1.0


def test_examples_are_found():
    assert len(EXAMPLES) >= 6


def test_character_language_model_example(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("\n".join(["the cat sat on the mat."] * 40))
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "char_language_model.py"),
                          str(text), "--epochs", "3", "--units", "16", "--prompt", "the "],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "held-out perplexity" in out.stdout and "'the " in out.stdout
