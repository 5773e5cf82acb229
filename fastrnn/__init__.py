"""fastrnn: recurrent networks with Numba/Cython time loops behind a scikit-learn API."""

from ._backend import AVAILABLE_BACKENDS, current_backend, get_kernels, use_backend
from .estimators import RNNClassifier, RNNLanguageModel, RNNRegressor, RNNSequenceTagger
from .persistence import ModelFileError, load, save
from .plotting import plot_history
from .text import TextSequencer, pad_sequences

__version__ = "0.1.0"

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
    "save",
    "use_backend",
]


def __getattr__(name):
    if name == "BACKEND":
        return current_backend()
    raise AttributeError(f"module 'fastrnn' has no attribute {name!r}")
