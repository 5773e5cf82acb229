"""scikit-learn estimators."""

from .classifier import RNNClassifier
from .language_model import RNNLanguageModel
from .regressor import RNNRegressor
from .tagger import RNNSequenceTagger

__all__ = ["RNNClassifier", "RNNLanguageModel", "RNNRegressor", "RNNSequenceTagger"]
