"""fastrnn: recurrent networks with Numba/Cython time loops behind a scikit-learn API.

The estimators, persistence and text tools (which need scikit-learn) are
imported on first use, so ``import fastrnn`` and the kernels alone stay quick
to load (the worker processes of :func:`precompile` need only the kernels).
"""

import importlib
from typing import TYPE_CHECKING

from ._backend import AVAILABLE_BACKENDS, current_backend, get_kernels, use_backend
from ._precompile import precompile

__version__ = "0.1.0"

_LAZY = {
    "RNNClassifier": "estimators",
    "RNNLanguageModel": "estimators",
    "RNNRegressor": "estimators",
    "RNNSequenceTagger": "estimators",
    "ModelFileError": "persistence",
    "load": "persistence",
    "save": "persistence",
    "plot_history": "plotting",
    "TextSequencer": "text",
    "pad_sequences": "text",
}

if TYPE_CHECKING:
    from .estimators import RNNClassifier, RNNLanguageModel, RNNRegressor, RNNSequenceTagger
    from .persistence import ModelFileError, load, save
    from .plotting import plot_history
    from .text import TextSequencer, pad_sequences

__all__ = [
    "AVAILABLE_BACKENDS",
    "BACKEND",
    "ModelFileError",
    "RNNClassifier",
    "RNNLanguageModel",
    "RNNRegressor",
    "RNNSequenceTagger",
    "TextSequencer",
    "__version__",
    "current_backend",
    "get_kernels",
    "load",
    "pad_sequences",
    "plot_history",
    "precompile",
    "save",
    "use_backend",
]


def __getattr__(name):
    if name == "BACKEND":
        return current_backend()
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fastrnn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
