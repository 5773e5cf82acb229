"""Layers: configuration, parameter layout and kernel dispatch (no training logic)."""

from ._packing import Packed, pack_dense, pack_sequence_grad, pack_tokens, unpack_sequence
from .projection import DenseInput, TokenInput
from .recurrent import Recurrent

__all__ = [
    "DenseInput",
    "Packed",
    "Recurrent",
    "TokenInput",
    "pack_dense",
    "pack_sequence_grad",
    "pack_tokens",
    "unpack_sequence",
]
