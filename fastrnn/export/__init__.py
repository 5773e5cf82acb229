"""Export fitted models to other runtimes.

:func:`to_onnx` writes a fitted estimator (or a ``Pipeline(TextSequencer,
estimator)``) as an ONNX graph built from ONNX's standard ``RNN``, ``LSTM``
and ``GRU`` operators.  The ``onnx`` package is imported only when a model is
exported, so ``import fastrnn`` never needs it.
"""

from .onnx import to_onnx

__all__ = ["to_onnx"]
