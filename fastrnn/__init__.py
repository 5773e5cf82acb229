"""fastrnn: recurrent networks with Numba/Cython time loops behind a scikit-learn API.

The estimators, persistence and text tools (which need scikit-learn) are
imported on first use, so ``import fastrnn`` and the kernels alone stay quick
to load (the worker processes of :func:`precompile` need only the kernels).
Subpackages such as ``fastrnn.datasets`` and ``fastrnn.text`` are imported on
first attribute access too.

This package root is the top layer of fastrnn's imports (see
``tests/test_layering.py``): it may import any module, and it installs the
resolver through which :mod:`fastrnn.persistence` finds the estimator classes
of a file loaded before any estimator was imported.
"""

import importlib as _importlib
from typing import TYPE_CHECKING

from . import _registry
from ._backend import AVAILABLE_BACKENDS, current_backend, get_kernels, use_backend
from ._precompile import precompile
from ._version import __version__

_LAZY = {
    "RNNClassifier": "estimators",
    "RNNForecaster": "estimators",
    "RNNLanguageModel": "estimators",
    "RNNRegressor": "estimators",
    "RNNSeq2Seq": "estimators",
    "RNNSequenceRegressor": "estimators",
    "RNNSequenceTagger": "estimators",
    "ModelFileError": "persistence",
    "load": "persistence",
    "save": "persistence",
    "plot_attention": "plotting",
    "plot_history": "plotting",
    "TextSequencer": "text",
    "pad_sequences": "text",
    "to_onnx": "export",
}

if TYPE_CHECKING:
    from .estimators import (RNNClassifier, RNNForecaster, RNNLanguageModel, RNNRegressor,
                             RNNSeq2Seq, RNNSequenceRegressor, RNNSequenceTagger)
    from .export import to_onnx
    from .persistence import ModelFileError, load, save
    from .plotting import plot_attention, plot_history
    from .text import TextSequencer, pad_sequences

__all__ = [
    "AVAILABLE_BACKENDS",
    "BACKEND",
    "ModelFileError",
    "RNNClassifier",
    "RNNForecaster",
    "RNNLanguageModel",
    "RNNRegressor",
    "RNNSeq2Seq",
    "RNNSequenceRegressor",
    "RNNSequenceTagger",
    "TextSequencer",
    "__version__",
    "current_backend",
    "get_kernels",
    "load",
    "pad_sequences",
    "plot_attention",
    "plot_history",
    "precompile",
    "save",
    "to_onnx",
    "use_backend",
]


def _import_model_classes():
    """Import the modules whose saveable classes register themselves in ``fastrnn._registry``."""
    from . import estimators, text  # noqa: F401


# persistence sits below the estimators, so the top layer tells it how to find them
_registry.set_model_resolver(_import_model_classes)

_submodules = None


def _public_submodules():
    """Names of the public modules and subpackages of fastrnn (those without a leading underscore)."""
    global _submodules
    if _submodules is None:
        import pkgutil

        _submodules = frozenset(info.name for info in pkgutil.iter_modules(__path__)
                                if not info.name.startswith("_"))
    return _submodules


def __getattr__(name):
    if name == "BACKEND":
        return current_backend()
    if name in _LAZY:
        value = getattr(_importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _public_submodules():
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'fastrnn' has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | _public_submodules())
