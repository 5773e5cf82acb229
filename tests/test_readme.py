"""The README's Python examples run as written."""

import re
from pathlib import Path

import pytest

from conftest import default_backend_only

pytestmark = default_backend_only

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples write model files and plots
    exec(compile(code, str(README), "exec"), {})
    assert capsys.readouterr().out.strip()  # every example prints its result
