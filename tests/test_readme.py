"""The README: its first code block is CI's contract, and its Python examples run as written."""

import re
from pathlib import Path

import pytest

from conftest import default_backend_only

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TEXT = README.read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, re.S)


def test_first_code_block_holds_the_demo_and_the_test_command():
    # .ci/run executes the second line of the README's first fenced block
    first = re.search(r"```[^\n]*\n(.*?)```", TEXT, re.S).group(1)
    demo, tests = first.strip("\n").split("\n")
    assert demo.startswith("pip install ") and "python -m fastrnn demo" in demo
    assert tests.startswith('pip install -e ".[test]"') and "pytest" in tests
    assert all(f"{b}" in tests for b in ("numba", "cython", "numpy")) and "FASTRNN_BACKEND" in tests


def test_readme_stays_short_and_links_existing_docs():
    assert len(TEXT.splitlines()) <= 250
    links = re.findall(r"\]\((docs/[^)]+)\)", TEXT)
    assert links and all((ROOT / link).is_file() for link in links), links


def test_project_text_does_not_refer_to_how_it_was_developed():
    # the two words are split so that this file does not match itself
    word = re.compile(r"\b" + "sess" + r"ions?\b", re.I)
    fixture_scope = re.compile(r"""scope=["']""" + "sess" + """ion["']""")
    shared_path = re.compile(r"\.\./" + "shared" + "/")
    files = [README, *(p for d in ("docs", "examples", "bench", "tests")
                       for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".rst", ".md", ".txt"))]
    hits = []
    for path in files:
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if word.search(fixture_scope.sub("", line)) or shared_path.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)


@default_backend_only
@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples write model files and plots
    exec(compile(code, str(README), "exec"), {})
    assert capsys.readouterr().out.strip()  # every example prints its result
