"""Sphinx configuration for the fastrnn documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` (warnings are
errors; ``tests/test_docs.py`` runs the same build).
"""

import fastrnn

project = "fastrnn"
author = "fastrnn developers"
copyright = "fastrnn developers"
release = fastrnn.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
]

exclude_patterns = ["_build"]
root_doc = "index"
language = "en"

# autodoc: document what the API page names, in source order.  The estimators
# are listed with ``:inherited-members:`` so that the methods of fastrnn's own
# base class (``get_weights``, ``save``, ...) appear; members scikit-learn
# provides are skipped below (scikit-learn documents them).
autodoc_default_options = {
    "members": True,
    "member-order": "bysource",
    "undoc-members": False,
}
autodoc_typehints = "none"

# numpydoc: no autosummary tables of class members (the methods are documented
# in full below each class), and no cross-reference validation of the free-text
# types in "Parameters" sections ("int or None, default None").
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_title = f"fastrnn {release}"
html_static_path = []


def _skip_scikit_learn_members(app, what, name, obj, skip, options):
    """Leave out members defined by scikit-learn (``get_params``, ``set_output``,
    the generated ``set_*_request`` methods, ...): they are scikit-learn's API,
    documented there, and their docstrings refer to scikit-learn's glossary."""
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] == "sklearn" or (name.startswith("set_") and name.endswith("_request")):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_scikit_learn_members)
