"""Cython backend: compiled kernels with the contract documented in ``fastrnn._reference``.

Importing this package raises ``ImportError`` when the extensions were not
built (no compiler or ``FASTRNN_NO_CYTHON=1`` at install time).
"""

from ..runtime import register_csr_access, register_spin_wait
from .embedding import scatter_rows
from .gru import gru_backward, gru_forward
from .lstm import lstm_backward, lstm_forward
from .optim import adam_step, rmsprop_step
from .products import transposed_matmul
from .simple_rnn import simple_rnn_backward, simple_rnn_forward
from .sync import announce_sleep, get_csr, set_csr, signal_then_spin, spin_until

# the runtime's GIL-free primitives (kept only if the Numba backend has not registered its own)
register_spin_wait(spin_until, signal_then_spin, announce_sleep)
register_csr_access(get_csr, set_csr)

__all__ = [
    "adam_step",
    "gru_backward",
    "gru_forward",
    "lstm_backward",
    "lstm_forward",
    "rmsprop_step",
    "scatter_rows",
    "simple_rnn_backward",
    "simple_rnn_forward",
    "transposed_matmul",
]
