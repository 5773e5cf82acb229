"""fastrnn's modules form layers: a module imports only its own layer or lower ones, and no cycle.

The layers, lowest first (``LAYERS`` below holds them as data):

1. ``constants``: ``_config``, ``_constants``, ``_version``, ``_registry``, ``_warnings`` (no
   fastrnn imports).
2. ``runtime``: ``runtime`` and the ``utils`` package with its threads and memory modules
   (the thread pool and the block cache the kernels call into).
3. ``kernels``: ``kernels``, ``_cython``, ``_reference``, ``utils.linalg`` (jitted helpers the
   kernels call) and ``_backend``, which imports the three kernel packages by name when it is
   imported, so it cannot sit below them.
4. ``data``: ``text`` and ``datasets``.  They import nothing above ``constants``, and
   ``utils.validation`` pads with ``text.pad_sequences``, so they sit below the layers.
5. ``layers``: ``layers``, ``initializers``, ``losses``, ``optimizers``, ``schedules``,
   ``utils.validation``.
6. ``training``: ``training``, ``callbacks`` (a checkpoint calls the model's own ``save``) and
   ``timeseries`` (a window batch source for the driver; its backtest only clones estimators).
7. ``persistence``: the file format; it finds classes through ``_registry``.
8. ``estimators``: they register in ``_registry`` and save by importing persistence downward.
9. ``top``: ``cli``, ``explain``, ``export``, ``plotting``, ``_precompile``, ``adapters`` (other
   libraries' interfaces around the estimators), ``__main__`` and the package root, which installs
   the resolver that lets persistence import the estimators on demand.

A module's layer is that of the longest entry equal to its name or a dotted prefix of it (the
root entry ``fastrnn`` matches only the package root, so a new module must be placed here).

What counts as an import: every ``import``/``from ... import`` statement of every ``.py`` file,
at module level, inside functions, and inside ``if TYPE_CHECKING:`` blocks alike (none is
excluded); the ``import``/``cimport`` lines of ``.pyx``/``.pxd`` files; and, in a module that
calls ``importlib.import_module`` or ``__import__``, every string constant that is the full name
of a fastrnn module.  Importing ``a.b.c`` also runs the ``__init__`` of ``a.b``: those parent
packages (all but the package root, which every import runs first) are checked for the layer
rule but left out of the cycle search, since a package's ``__init__`` importing its own
submodules is not a cycle.
"""

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = "fastrnn"
SOURCE = Path(__file__).resolve().parents[1] / PACKAGE

#: (layer name, module entries), lowest layer first.
LAYERS = [
    ("constants", ["fastrnn._config", "fastrnn._constants", "fastrnn._version", "fastrnn._registry",
                   "fastrnn._warnings"]),
    ("runtime", ["fastrnn.runtime", "fastrnn.utils"]),
    ("kernels", ["fastrnn.kernels", "fastrnn._cython", "fastrnn._reference", "fastrnn.utils.linalg",
                 "fastrnn._backend"]),
    ("data", ["fastrnn.text", "fastrnn.datasets"]),
    ("layers", ["fastrnn.layers", "fastrnn.initializers", "fastrnn.losses", "fastrnn.optimizers",
                "fastrnn.schedules", "fastrnn.utils.validation"]),
    ("training", ["fastrnn.training", "fastrnn.callbacks", "fastrnn.timeseries"]),
    ("persistence", ["fastrnn.persistence"]),
    ("estimators", ["fastrnn.estimators"]),
    ("top", ["fastrnn.cli", "fastrnn.explain", "fastrnn.export", "fastrnn.plotting", "fastrnn._precompile",
             "fastrnn.adapters", "fastrnn.__main__", "fastrnn"]),
]

HINT = ("A module may import only modules of its own layer or lower ones.  Move the code to the "
        "layer it needs, turn the dependency around (a registry or a hook that the higher module "
        "fills, duck typing), or, if the placement itself is wrong, change LAYERS in "
        "tests/test_layering.py and its docstring.")


# ---------------------------------------------------------------------- scanning
class Import:
    """One import found in a source file: ``src`` imports ``dst`` (a fastrnn module name)."""

    def __init__(self, src, dst, path, line, how):
        self.src, self.dst, self.path, self.line, self.how = src, dst, path, line, how

    def where(self):
        return f"{self.path}:{self.line}"

    def __repr__(self):
        return f"{self.where()}: {self.src} -> {self.dst} ({self.how})"


def module_files(root, package=PACKAGE):
    """Map every module name of the package under ``root`` to its source files and package flag."""
    files = defaultdict(list)
    is_package = {}
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".py", ".pyx", ".pxd") or "__pycache__" in path.parts:
            continue
        rel = path.relative_to(root).with_suffix("")
        parts = [package, *rel.parts]
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        files[name].append(path)
        is_package[name] = path.stem == "__init__"
    return dict(files), is_package


def _package_of(module, is_package):
    return module if is_package.get(module) else module.rpartition(".")[0]


def _resolve(module, is_package, level, target):
    """The absolute name of ``from <level dots><target> import`` written in ``module``."""
    if level == 0:
        return target
    base = _package_of(module, is_package).split(".")
    if level - 1 >= len(base):
        raise ValueError(f"relative import beyond the top of the package in {module}")
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _in_package(name, package):
    return name == package or name.startswith(package + ".")


def _python_imports(module, path, source, modules, is_package, package):
    tree = ast.parse(source, filename=str(path))
    found = []
    by_name = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, node.lineno, "import"))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:  # ``from pkg import submodule``
                    found.append((sub, node.lineno, "from-import of a submodule"))
                else:
                    found.append((base, node.lineno, "from-import"))
        elif isinstance(node, (ast.Name, ast.Attribute)):
            if getattr(node, "id", None) == "__import__" or getattr(node, "attr", None) == "import_module":
                by_name = True
    if by_name:
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and node.value in modules and node.value != package):
                found.append((node.value, node.lineno, "import by name (importlib)"))
    return found


_CYTHON_FROM = re.compile(r"^\s*from\s+(\.*)([\w.]*)\s+c?import\b")
_CYTHON_IMPORT = re.compile(r"^\s*c?import\s+([\w.]+(?:\s*,\s*[\w.]+)*)")


def _cython_imports(module, source, is_package):
    found = []
    for lineno, line in enumerate(source.splitlines(), 1):
        if m := _CYTHON_FROM.match(line):
            found.append((_resolve(module, is_package, len(m.group(1)), m.group(2)), lineno,
                          "cython from-import"))
        elif m := _CYTHON_IMPORT.match(line):
            for name in m.group(1).split(","):
                found.append((name.strip(), lineno, "cython import"))
    return found


def scan(root=SOURCE, package=PACKAGE):
    """Return (modules, imports, unresolved) for the package whose sources are under ``root``."""
    files, is_package = module_files(root, package)
    modules = set(files)
    imports, unresolved, seen = [], [], set()
    for module, paths in files.items():
        for path in paths:
            source = path.read_text(encoding="utf-8")
            shown = f"{package}/{path.relative_to(root).as_posix()}"
            if path.suffix == ".py":
                found = _python_imports(module, path, source, modules, is_package, package)
            else:
                found = _cython_imports(module, source, is_package)
            for dst, line, how in found:
                if not _in_package(dst, package) or (shown, line, dst) in seen:
                    continue
                seen.add((shown, line, dst))
                if dst not in modules:
                    unresolved.append(Import(module, dst, shown, line, how))
                    continue
                imports.append(Import(module, dst, shown, line, how))
    return modules, imports, unresolved


def with_parents(imports, package=PACKAGE):
    """The imports plus the parent packages each one runs (all but the package root)."""
    out = list(imports)
    for imp in imports:
        parent = imp.dst.rpartition(".")[0]
        while parent and parent != package:
            if parent != imp.src:
                out.append(Import(imp.src, parent, imp.path, imp.line,
                                  f"parent package of {imp.dst}"))
            parent = parent.rpartition(".")[0]
    return out


# ---------------------------------------------------------------------- layers and cycles
def layer_of(module, layers=LAYERS, package=PACKAGE):
    """Index into ``layers`` of ``module``, or ``None`` when no entry covers it."""
    best, best_len = None, -1
    for index, (_, entries) in enumerate(layers):
        for entry in entries:
            if entry == package:
                matches = module == package
            else:
                matches = module == entry or module.startswith(entry + ".")
            if matches and len(entry) > best_len:
                best, best_len = index, len(entry)
    return best


def upward_imports(imports, layers=LAYERS, package=PACKAGE):
    """Messages for every import of a module of a higher layer than the importer's."""
    problems = []
    for imp in with_parents(imports, package):
        src, dst = layer_of(imp.src, layers, package), layer_of(imp.dst, layers, package)
        if src is not None and dst is not None and dst > src:
            problems.append(f"{imp.where()}: {imp.src} (layer {layers[src][0]!r}) imports "
                            f"{imp.dst} (layer {layers[dst][0]!r}, higher) [{imp.how}]")
    return sorted(set(problems))


def strongly_connected(nodes, edges):
    """Tarjan's algorithm (iterative): the strongly connected components of the graph."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = 0
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(edges.get(succ, ())))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def import_cycles(modules, imports):
    """Messages for every cycle among modules: one concrete cycle per strongly connected component."""
    edges = defaultdict(set)
    where = {}
    for imp in imports:
        if imp.src != imp.dst:  # a package's ``from . import name`` reads its own namespace
            edges[imp.src].add(imp.dst)
            where.setdefault((imp.src, imp.dst), imp)
    problems = []
    for component in strongly_connected(modules, edges):
        members = set(component)
        if len(component) == 1 and component[0] not in edges.get(component[0], ()):
            continue
        # walk from the first member back to itself inside the component (BFS for a short cycle)
        first = component[0]
        previous = {first: None}
        queue = [first]
        end = None
        while queue and end is None:
            node = queue.pop(0)
            for succ in sorted(edges[node] & members):
                if succ == first:
                    end = node
                    break
                if succ not in previous:
                    previous[succ] = node
                    queue.append(succ)
        path = [end]
        while path[-1] != first:
            path.append(previous[path[-1]])
        path.reverse()
        steps = [where[(a, b)] for a, b in zip(path, path[1:] + [first])]
        others = sorted((where[(a, b)] for a in component for b in edges[a] & members
                         if where[(a, b)] not in steps), key=Import.where)
        text = f"cycle among {component}:\n" + "\n".join(f"    {s.where()}: {s.src} imports {s.dst} "
                                                          f"[{s.how}]" for s in steps)
        if others:
            text += "\n  other imports inside this group:\n" + "\n".join(
                f"    {s.where()}: {s.src} imports {s.dst} [{s.how}]" for s in others)
        problems.append(text)
    return problems


# ---------------------------------------------------------------------- the tests
@pytest.fixture(scope="module")
def scanned():
    return scan()


def test_every_module_has_a_layer(scanned):
    modules, _, _ = scanned
    missing = sorted(m for m in modules if layer_of(m) is None)
    assert not missing, (f"modules without a layer: {missing}; add each to LAYERS in "
                         "tests/test_layering.py (or move it into a package that has one)")


def test_fastrnn_imports_name_existing_modules(scanned):
    _, _, unresolved = scanned
    assert not unresolved, ("imports of fastrnn modules that do not exist (moved or removed?):\n"
                            + "\n".join(map(repr, unresolved)))


def test_no_module_imports_a_higher_layer(scanned):
    _, imports, _ = scanned
    problems = upward_imports(imports)
    assert not problems, "upward imports:\n" + "\n".join(problems) + "\n" + HINT


def test_no_import_cycle(scanned):
    modules, imports, _ = scanned
    problems = import_cycles(modules, imports)
    assert not problems, ("import cycles (imports inside functions count):\n" + "\n".join(problems)
                          + "\nBreak each by moving the shared code to a lower module, or by "
                            "having the higher module register itself or pass a callable down.")


def test_persistence_and_checkpoints_do_not_import_upward(scanned):
    """The edges that once closed the cycle stay cut, whatever LAYERS says."""
    _, imports, _ = scanned
    forbidden = {("fastrnn.persistence", "fastrnn.estimators"), ("fastrnn.persistence", "fastrnn"),
                 ("fastrnn.callbacks", "fastrnn.persistence"), ("fastrnn.callbacks", "fastrnn.estimators")}
    bad = [imp for imp in imports
           if any(imp.src == src and (imp.dst == dst if dst == PACKAGE else _in_package(imp.dst, dst))
                  for src, dst in forbidden)]
    assert not bad, "\n".join(map(repr, bad))


def test_the_checker_reports_upward_imports_and_cycles(tmp_path):
    """The scanner on a small package: a function-level upward import and a cycle are both found."""
    pkg = tmp_path / "toy"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from . import high\n")
    (pkg / "low.py").write_text("def f():\n    from .sub.mid import g\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "mid.py").write_text("from ..low import f\nfrom .. import high\n")
    (pkg / "high.py").write_text("import toy.low\n")
    (pkg / "ext.pyx").write_text("from toy.sub.mid cimport thing\ncimport numpy\n")
    layers = [("bottom", ["toy.low", "toy.ext"]), ("middle", ["toy.sub"]), ("top", ["toy.high", "toy"])]
    modules, imports, unresolved = scan(pkg, "toy")
    assert modules == {"toy", "toy.low", "toy.sub", "toy.sub.mid", "toy.high", "toy.ext"}
    assert not unresolved
    problems = upward_imports(imports, layers, "toy")
    assert any("toy/low.py:2: toy.low (layer 'bottom') imports toy.sub.mid" in p for p in problems)
    assert any("toy/low.py:2: toy.low (layer 'bottom') imports toy.sub (" in p
               and "parent package" in p for p in problems)
    assert any("toy/sub/mid.py:2: toy.sub.mid (layer 'middle') imports toy.high" in p for p in problems)
    assert any("toy/ext.pyx:1: toy.ext (layer 'bottom') imports toy.sub.mid" in p for p in problems)
    cycles = import_cycles(modules, imports)
    assert len(cycles) == 1 and "['toy.high', 'toy.low', 'toy.sub.mid']" in cycles[0]
    assert layer_of("toy.other", layers, "toy") is None  # the root entry does not cover new modules
