"""An independent oracle: torch.nn.RNN / LSTM / GRU given the same weights (skipped without torch).

Gate orders map as Keras LSTM ``i, f, c, o`` = PyTorch ``i, f, g, o``; Keras
GRU ``z, r, h`` = PyTorch ``r, z, n`` reordered, and PyTorch's GRU is Keras's
``reset_after=True`` with the recurrent bias as ``b_hh``.
"""

import numpy as np
import pytest

from fastrnn.layers import DenseInput, Recurrent, pack_dense, pack_sequence_grad, unpack_sequence

torch = pytest.importorskip("torch")


def _torch_module(cell, F, H, params):
    G = params["kernel"].shape[1]
    W, U = params["kernel"], params["recurrent_kernel"]
    b_in = params["bias"][0] if cell == "gru" else params["bias"]
    b_rec = params["bias"][1] if cell == "gru" else np.zeros(G)
    if cell == "gru":  # keras z, r, h  ->  torch r, z, n
        order = np.r_[H:2 * H, 0:H, 2 * H:3 * H]
        W, U, b_in, b_rec = W[:, order], U[:, order], b_in[order], b_rec[order]
    mod = {"simple": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](
        F, H, batch_first=True).double()
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.from_numpy(W.T.copy()))
        mod.weight_hh_l0.copy_(torch.from_numpy(U.T.copy()))
        mod.bias_ih_l0.copy_(torch.from_numpy(b_in.copy()))
        mod.bias_hh_l0.copy_(torch.from_numpy(b_rec.copy()))
    return mod, order if cell == "gru" else np.arange(G)


@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_forward_and_gradients_equal_pytorch(cell, rng):
    B, T, F, H = 4, 7, 3, 5
    layer = Recurrent(cell, H)
    params = {k: v.astype(np.float64) + 0.2 * rng.normal(size=v.shape)
              for k, v in layer.init_params(rng, F).items()}
    X = rng.normal(size=(B, T, F))
    lengths = np.array([7, 3, 5, 1])
    mask = np.arange(T)[None, :] < lengths[:, None]  # post-padded, as torch packs them
    w_last = rng.normal(size=(B, H))
    w_seq = rng.normal(size=(B, T, H)) * mask[:, :, None]

    packed = pack_dense(X, mask)
    inp = DenseInput(packed.data, packed.start)
    h, seq, _, cache = layer.forward(params, inp, training=True, return_sequences=True)
    d_seq, _ = pack_sequence_grad(packed, w_seq, seq.shape[0])
    grads, dX, _ = layer.backward(params, cache, d_last=w_last, d_seq=d_seq)
    dX = dX[packed.positions, np.arange(B)[:, None]] * mask[:, :, None]
    out_seq = unpack_sequence(packed, seq, np.zeros((B, H)))

    mod, order = _torch_module(cell, F, H, params)
    x_t = torch.from_numpy(X).requires_grad_()
    pk = torch.nn.utils.rnn.pack_padded_sequence(x_t, torch.from_numpy(lengths), batch_first=True,
                                                 enforce_sorted=False)
    out, state = mod(pk)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    h_t = state[0][0] if cell == "lstm" else state[0]
    loss = (h_t * torch.from_numpy(w_last)).sum() + (out * torch.from_numpy(w_seq)).sum()
    loss.backward()

    np.testing.assert_allclose(h, h_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out_seq * mask[:, :, None], out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dX, x_t.grad.numpy(), rtol=1e-9, atol=1e-11)
    inv = np.argsort(order)
    np.testing.assert_allclose(grads["kernel"], mod.weight_ih_l0.grad.numpy().T[:, inv],
                               rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(grads["recurrent_kernel"], mod.weight_hh_l0.grad.numpy().T[:, inv],
                               rtol=1e-9, atol=1e-11)
    b_grad = grads["bias"][0] if cell == "gru" else grads["bias"]
    np.testing.assert_allclose(b_grad, mod.bias_ih_l0.grad.numpy()[inv], rtol=1e-9, atol=1e-11)
    if cell == "gru":
        np.testing.assert_allclose(grads["bias"][1], mod.bias_hh_l0.grad.numpy()[inv], rtol=1e-9,
                                   atol=1e-11)
