"""The Sphinx site in docs/: it builds without warnings, documents every public name, and its
Python examples run.

Which examples run: on every page, the ``.. code-block:: python`` blocks run in order, in one
namespace per page, in a temporary working directory.  Literal ``::`` blocks, blocks in other
languages (``bash``, ``text``) and Python blocks with the option ``:class: no-run`` are shown
only; use ``no-run`` for a snippet that needs files, a network or a long computation.
"""

import importlib
import importlib.util
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import fastrnn
from conftest import default_backend_only

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API = DOCS / "api.rst"
PAGES = sorted(DOCS.rglob("*.rst"))

#: Public modules whose ``__all__`` (or, without one, public classes and functions) the API page
#: must cover; a module missing from the installed package is left out.
PUBLIC_MODULES = ("fastrnn", "fastrnn.text", "fastrnn.datasets", "fastrnn.callbacks", "fastrnn.explain",
                  "fastrnn.timeseries", "fastrnn.schedules")


def code_blocks(text):
    """``(first line number, code, runs)`` of every ``.. code-block:: python`` block of an rst page."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = re.match(r"^(\s*)\.\. code-block::\s*python3?\s*$", lines[i])
        if not match:
            i += 1
            continue
        indent = len(match.group(1))
        i += 1
        options = []
        while i < len(lines) and re.match(r"^\s+:[\w-]+:", lines[i]):
            options.append(lines[i].strip())
            i += 1
        start = i
        body = []
        while i < len(lines) and (not lines[i].strip()
                                  or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i])
            i += 1
        runs = not any(re.match(r":class:.*\bno-run\b", opt) for opt in options)
        leading = len(body) - len("\n".join(body).lstrip("\n").split("\n"))
        blocks.append((start + leading + 1, textwrap.dedent("\n".join(body)).strip("\n") + "\n", runs))
    return blocks


def public_names(module_name):
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return []
        raise
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items()
                 if not n.startswith("_") and callable(v)
                 and getattr(v, "__module__", None) == module_name]
    return [f"{module_name}.{n}" for n in names]


def documented_names(text):
    """Fully qualified names that the API page documents (autodoc directives and ``.. data::``)."""
    names = set()
    current = None
    for line in text.splitlines():
        if m := re.match(r"^\.\. (?:py:)?currentmodule::\s*(\S+)", line):
            current = m.group(1)
        elif m := re.match(r"^\.\. (?:auto)?(?:class|function|exception|data|module|attribute)"
                           r"::\s*(\S+)", line):
            name = m.group(1)
            names.add(name if name.startswith("fastrnn") or current is None else f"{current}.{name}")
    return names


def test_every_public_name_is_in_the_api_reference():
    documented = documented_names(API.read_text())
    expected = [name for module in PUBLIC_MODULES for name in public_names(module)]
    assert [f"fastrnn.{n}" for n in fastrnn.__all__] == expected[:len(fastrnn.__all__)]
    # a re-exported object may be documented under either name (fastrnn.TextSequencer)
    same_objects = {id(obj) for obj in map(_resolve, documented) if obj is not None}
    missing = [name for name in expected
               if name not in documented and id(_resolve(name)) not in same_objects]
    assert not missing, f"add these to docs/api.rst: {missing}"


def _resolve(dotted):
    """The class or function a dotted name refers to, or None (modules, data, unknown names)."""
    module_name, _, attr = dotted.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError):
        return None
    return obj if callable(obj) else None


def test_code_block_parser_sees_options_and_indentation():
    page = textwrap.dedent("""\
        Text.

        .. code-block:: python

           x = 1
           if x:
               print(x)

        .. code-block:: python
           :class: no-run

           import missing_module

        .. code-block:: bash

           echo not python
        """)
    (line1, first, runs1), (_, second, runs2) = code_blocks(page)
    assert page.splitlines()[line1 - 1] == "   x = 1"
    assert first == "x = 1\nif x:\n    print(x)\n" and runs1
    assert second == "import missing_module\n" and not runs2


@default_backend_only
def test_docs_build_without_warnings(tmp_path):
    if importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("numpydoc") is None:
        pytest.skip("sphinx and numpydoc are not installed (pip install '.[docs]')")
    out = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-b", "html", str(DOCS), str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    html = (tmp_path / "api.html").read_text()
    missing = [n for n in fastrnn.__all__ if f'id="fastrnn.{n}"' not in html]
    assert not missing, f"not rendered in the API page: {missing}"


RUNNABLE = [page for page in PAGES if any(runs for _, _, runs in code_blocks(page.read_text()))]


@default_backend_only
@pytest.mark.parametrize("page", RUNNABLE, ids=[str(p.relative_to(DOCS)) for p in RUNNABLE])
def test_docs_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples write model files and plots
    namespace = {"__name__": "__docs__"}
    for line, code, runs in code_blocks(page.read_text()):
        if runs:
            # pad with blank lines so that tracebacks point at the page's own line numbers
            exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)
