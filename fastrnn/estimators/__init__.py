"""scikit-learn estimators."""

from .classifier import RNNClassifier
from .regressor import RNNRegressor

__all__ = ["RNNClassifier", "RNNRegressor"]
