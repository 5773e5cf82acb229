"""Numba backend: jitted kernels with the contract documented in ``fastrnn._reference``."""

from ..runtime import register_csr_access, register_spin_wait
from ..runtime.cpus import X86
from . import _activations, _steps, _sync, embedding, gru, lstm, optim, products, simple_rnn
from ._compile import key_cache_on_sources
from ._sync import announce_sleep, get_mxcsr, set_mxcsr, signal_then_spin, spin_until
from .embedding import scatter_rows
from .gru import gru_backward, gru_forward
from .lstm import lstm_backward, lstm_forward
from .optim import adam_step, rmsprop_step
from .products import transposed_matmul
from .simple_rnn import simple_rnn_backward, simple_rnn_forward

# Every cached function of the package is keyed on the package's sources (see SourceKeyedCache);
# the kernels built later by the factories are keyed by jit_chunk.
key_cache_on_sources(vars(module)[name] for module in (_activations, _steps, _sync, embedding, gru,
                                                       lstm, optim, products, simple_rnn)
                     for name in dir(module))

if X86:  # the primitives are x86 instructions
    register_spin_wait(spin_until, signal_then_spin, announce_sleep)
    register_csr_access(get_mxcsr, set_mxcsr)

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
