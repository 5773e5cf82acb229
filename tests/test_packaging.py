"""The built wheel ships every subpackage (a source checkout on sys.path would hide a gap)."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import fastrnn

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source tree")
@pytest.mark.skipif(fastrnn.BACKEND != "numba", reason="backend-independent: runs in the numba pass")
def test_wheel_contains_every_subpackage(tmp_path):
    # an isolated build, as pip does for users (the build requirements need setuptools>=77)
    env = {**os.environ, "FASTRNN_NO_CYTHON": "1"}
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                          "-q", "-w", str(tmp_path), str(ROOT)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    (wheel,) = tmp_path.glob("fastrnn-*.whl")
    shipped = {os.path.dirname(n) for n in zipfile.ZipFile(wheel).namelist()
               if n.endswith("__init__.py")}
    source = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "fastrnn").rglob("__init__.py")}
    assert source and source <= shipped
