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


def test_version_is_read_from_one_low_module():
    from fastrnn import _version

    assert fastrnn.__version__ == _version.__version__
    pyproject = ROOT / "pyproject.toml"
    if pyproject.exists():
        tomllib = pytest.importorskip("tomllib")
        assert tomllib.loads(pyproject.read_text())["project"]["version"] == _version.__version__


def test_subpackages_are_attributes_and_import_stays_light():
    """``import fastrnn`` leaves scikit-learn out; subpackages load on first attribute access."""
    code = ("import sys, fastrnn\n"
            "light = 'sklearn' not in sys.modules and 'fastrnn.datasets' not in sys.modules\n"
            "load_imdb = fastrnn.datasets.load_imdb\n"
            "seq = fastrnn.text.TextSequencer\n"
            "print(light, load_imdb.__module__, seq.__module__, fastrnn.persistence.FORMAT)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "fastrnn.datasets._corpora", "fastrnn.text", "fastrnn-model"]


def test_dir_lists_the_public_names_and_each_resolves():
    names = dir(fastrnn)
    assert set(fastrnn.__all__) <= set(names)
    assert {"datasets", "text", "estimators", "persistence", "callbacks"} <= set(names)
    assert not [n for n in names if n.startswith("_") and n != "__version__"]
    assert "importlib" not in names and "TYPE_CHECKING" not in names
    for name in names:
        assert getattr(fastrnn, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        fastrnn.nonexistent
