"""The model core: parts with forward/backward over packed batches (no training logic).

- encoders (:mod:`.encoders`): how a batch enters the first recurrent layer;
- recurrent layers (:mod:`.recurrent`) and stacks of them (:mod:`.stack`);
- heads (:mod:`.heads`): pooling and the output layer;
- models (:mod:`.model`): parts wired together, owning the parameter dict;
- attention (:mod:`.attention`) and the encoder-decoder (:mod:`.seq2seq`).
"""

from ._packing import Packed, pack_dense, pack_sequence_grad, pack_tokens, unpack_sequence
from .attention import LuongAttention
from .encoders import DenseEncoder, OneHotEncoder, TokenEncoder, make_encoder
from .heads import POOLINGS, SEQUENCE, AttentionHead, DenseHead, make_head
from .model import SequenceModel
from .projection import DenseInput, TokenInput
from .recurrent import Recurrent
from .seq2seq import Seq2SeqBatch, Seq2SeqModel, pack_pairs
from .stack import RecurrentStack, reverse_packed

__all__ = [
    "POOLINGS",
    "SEQUENCE",
    "AttentionHead",
    "DenseEncoder",
    "DenseHead",
    "DenseInput",
    "LuongAttention",
    "OneHotEncoder",
    "Packed",
    "Recurrent",
    "RecurrentStack",
    "Seq2SeqBatch",
    "Seq2SeqModel",
    "SequenceModel",
    "TokenEncoder",
    "TokenInput",
    "make_encoder",
    "make_head",
    "pack_dense",
    "pack_pairs",
    "pack_sequence_grad",
    "pack_tokens",
    "reverse_packed",
    "unpack_sequence",
]
