"""scikit-learn estimators."""

from .._registry import register_model_class
from .classifier import RNNClassifier
from .forecaster import RNNForecaster
from .language_model import RNNLanguageModel
from .regressor import RNNRegressor
from .seq2seq import RNNSeq2Seq
from .sequence_regressor import RNNSequenceRegressor
from .tagger import RNNSequenceTagger

# persistence rebuilds saved models through this registry (it never imports the estimators)
for _cls in (RNNClassifier, RNNForecaster, RNNLanguageModel, RNNRegressor, RNNSeq2Seq,
             RNNSequenceRegressor, RNNSequenceTagger):
    register_model_class(_cls.__name__)(_cls)

__all__ = ["RNNClassifier", "RNNForecaster", "RNNLanguageModel", "RNNRegressor", "RNNSeq2Seq",
           "RNNSequenceRegressor", "RNNSequenceTagger"]
