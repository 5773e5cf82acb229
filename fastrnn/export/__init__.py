"""Export fitted models to other runtimes.

:func:`to_onnx` writes a fitted estimator (or a ``Pipeline(TextSequencer,
estimator)``) as an ONNX graph built from ONNX's standard ``RNN``, ``LSTM``
and ``GRU`` operators.  The ``onnx`` package is imported only when a model is
exported, so ``import fastrnn`` never needs it.  :func:`register_skl2onnx`
lets ``skl2onnx.to_onnx`` convert fastrnn's estimators and ``TextSequencer``
too, inside any scikit-learn pipeline.
"""

from .onnx import to_onnx
from .sklearn_onnx import register_skl2onnx

__all__ = ["register_skl2onnx", "to_onnx"]
