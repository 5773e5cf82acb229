"""scikit-learn estimators."""

from .classifier import RNNClassifier
from .regressor import RNNRegressor
from .tagger import RNNSequenceTagger

__all__ = ["RNNClassifier", "RNNRegressor", "RNNSequenceTagger"]
