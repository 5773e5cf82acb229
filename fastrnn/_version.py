"""The version of fastrnn, in the lowest layer so that any module (persistence first) can read it.

The package root re-exports it as ``fastrnn.__version__``; ``pyproject.toml``
holds the same string (a test keeps the two equal).
"""

__version__ = "0.1.0"
