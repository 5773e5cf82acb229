"""The model core's parts composed in new ways: state hand-off between stacks, masked float input.

An encoder-decoder is wired here from the parts alone (no change to the
kernels, the layers or the training loop) and proven by central differences,
which shows that a stack's final states can feed another stack and that the
gradient on them flows back.
"""

import numpy as np
import pytest

import fastrnn
from _model import make_ids, numeric_grad
from fastrnn.layers import (
    DenseEncoder,
    DenseHead,
    Recurrent,
    RecurrentStack,
    SequenceModel,
    TokenEncoder,
    pack_dense,
    pack_tokens,
    reverse_packed,
)
from fastrnn.losses import sequence_crossentropy


class EncoderDecoder:
    """A source stack whose final states start a target model (teacher forcing)."""

    def __init__(self, cell, units, V_src, V_tgt):
        self.src_encoder = TokenEncoder(V_src, 4)
        self.src_stack = RecurrentStack([Recurrent(cell, u) for u in units])
        self.decoder = SequenceModel(TokenEncoder(V_tgt, 4),
                                     RecurrentStack([Recurrent(cell, u) for u in units]),
                                     DenseHead("sequence", units[-1], V_tgt))

    def init_params(self, rng):
        return {"embeddings": self.src_encoder.init_params(rng, np.float64),
                "rnn": self.src_stack.init_params(rng, 4, np.float64),
                "decoder": self.decoder.init_params(rng, np.float64)}

    def weights(self, params):
        return (self.src_encoder.weights(params["embeddings"]) + self.src_stack.weights(params["rnn"])
                + self.decoder.weights(params["decoder"]))

    def loss(self, params, src, tgt_in, tgt_out, training=False):
        packed = pack_tokens(src)
        first = [self.src_encoder.layer_input(params["embeddings"], packed.data, packed.start)]
        _, _, finals, src_cache = self.src_stack.forward(params["rnn"], first, packed.start,
                                                          training=training)
        logits, dec_cache = self.decoder.forward(params["decoder"], pack_tokens(tgt_in),
                                                 states=finals, training=training)
        loss, d_logits = sequence_crossentropy(logits, tgt_out, np.ones(len(src)))
        return loss, d_logits, (packed, src_cache, dec_cache)

    def gradients(self, params, src, tgt_in, tgt_out):
        _, d_logits, (packed, src_cache, dec_cache) = self.loss(params, src, tgt_in, tgt_out, True)
        g_dec, d_states0 = self.decoder.backward(params["decoder"], dec_cache, d_logits,
                                                 return_state_grads=True)
        g_rnn, d_inputs, _ = self.src_stack.backward(params["rnn"], src_cache, packed.start,
                                                     d_finals=d_states0)
        return {"embeddings": self.src_encoder.backward(params["embeddings"], d_inputs),
                "rnn": g_rnn, "decoder": g_dec}


@pytest.mark.parametrize("units", [(3,), (3, 2)], ids=["one", "stacked"])
@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_an_encoder_decoder_wired_from_the_parts_has_exact_gradients(cell, units):
    rng = np.random.default_rng(11)
    B, T_src, T_tgt, V_src, V_tgt = 3, 5, 4, 7, 6
    model = EncoderDecoder(cell, units, V_src, V_tgt)
    params = model.init_params(rng)
    for w in model.weights(params):
        w += 0.3 * rng.normal(size=w.shape)
    src = make_ids(rng, B, T_src, V_src, "pre")
    tgt_in = make_ids(rng, B, T_tgt, V_tgt, "post")
    # the loss covers the target's real steps only: its own mask, not the source's
    tgt_out = np.where(tgt_in > 0, rng.integers(1, V_tgt, size=(B, T_tgt)), -1)

    with fastrnn.use_backend("numpy"):
        grads = model.gradients(params, src, tgt_in, tgt_out)
        for g, w in zip(model.weights(grads), model.weights(params)):
            num = numeric_grad(lambda: model.loss(params, src, tgt_in, tgt_out)[0], w)
            np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8 + 1e-6 * np.abs(num).max())
    # the decoder depends on the source only through the handed-over states
    assert np.abs(model.weights(grads)[0]).max() > 0


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_a_stack_returns_the_gradient_on_its_initial_states(cell, bidirectional):
    rng = np.random.default_rng(5)
    B, T, F = 3, 4, 2
    stack = RecurrentStack([Recurrent(cell, 3), Recurrent(cell, 2)], bidirectional)
    params = stack.init_params(rng, F, np.float64)
    states = [[tuple(rng.normal(size=(B, layer.units)) for _ in s) for s in layer_states]
              for layer, layer_states in zip(stack.layers, stack.zero_states(B, np.float64))]
    packed = pack_dense(rng.normal(size=(B, T, F)))
    w_last = rng.normal(size=(B, stack.width))
    w_final = rng.normal(size=(B, 3))  # a weight on the bottom layer's final h, forward direction

    def inputs():
        return [DenseEncoder.layer_input(None, packed.data if d == 0
                                         else reverse_packed(packed.data, packed.start), packed.start)
                for d in range(stack.n_dir)]

    def loss(training=False):
        h_last, _, finals, cache = stack.forward(params, inputs(), packed.start, states=states,
                                                 training=training)
        return (h_last * w_last).sum() + (finals[0][0][0] * w_final).sum(), finals, cache

    with fastrnn.use_backend("numpy"):
        _, finals, cache = loss(training=True)
        d_finals = [None] * len(stack.layers)  # no gradient on the top layer's final states
        d_finals[0] = [tuple(np.zeros_like(s) for s in f) for f in finals[0]]
        d_finals[0][0] = (w_final,) + d_finals[0][0][1:]
        _, _, d_states0 = stack.backward(params, cache, packed.start, d_last=w_last,
                                         d_finals=d_finals)
        for layer_states, layer_grads in zip(states, d_states0):
            for state, grad in zip(layer_states, layer_grads):
                for s, g in zip(state, grad):
                    num = numeric_grad(lambda: loss()[0], s)
                    np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("head", ["last", "mean", "max", "sequence"])
@pytest.mark.parametrize("cell", ["simple", "lstm", "gru"])
def test_masked_float_steps_cost_nothing_and_change_nothing(cell, head):
    """A padded, masked batch predicts what each sequence predicts alone, pre- or post-padded."""
    rng = np.random.default_rng(2)
    F, T = 3, 6
    model = SequenceModel.build("dense", F, None, [Recurrent(cell, 4)], True, head, 2)
    params = model.init_params(rng, np.float64)
    lengths = [6, 2, 4]
    seqs = [rng.normal(size=(n, F)) for n in lengths]
    X = np.zeros((len(seqs), T, F))
    mask = np.zeros((len(seqs), T), dtype=bool)
    for b, s in enumerate(seqs):
        at = slice(T - len(s), T) if b % 2 else slice(0, len(s))  # pre- and post-padding
        X[b, at], mask[b, at] = s, True
    batch, _ = model.forward(params, model.pack(X, mask))
    for b, s in enumerate(seqs):
        alone, _ = model.forward(params, model.pack(s[None]))
        if head == "sequence":
            np.testing.assert_allclose(batch[b][mask[b]], alone[0], rtol=1e-12, atol=1e-12)
        else:
            np.testing.assert_allclose(batch[b], alone[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("head, n_outputs", [("last", 3), ("mean", 3), ("max", 3), ("sequence", 3),
                                             ("sequence", 8), ("attention", 3)])
@pytest.mark.parametrize("input_kind", ["tokens", "dense"])
def test_inference_outputs_are_the_training_pass_outputs(head, n_outputs, input_kind):
    """Inference (a per-step head's Dense layer on the packed steps) gives the training outputs."""
    rng = np.random.default_rng(3)
    n_in = 9 if input_kind == "tokens" else 3
    model = SequenceModel.build(input_kind, n_in, 4 if input_kind == "tokens" else None,
                                [Recurrent("gru", 5)], False, head, n_outputs)  # 8 > width 5
    params = model.init_params(rng, np.float64)
    head_params = params[model.head.key]
    head_params["bias"] = rng.normal(size=head_params["bias"].shape)  # zeros would hide the h0 rows
    if input_kind == "tokens":
        X = rng.integers(1, n_in, size=(4, 7))
        X[0, :3] = 0  # pre-padding: positions before any real step
        X[1, 5:] = 0  # post-padding: positions after the last one
        X[2, 2:4] = 0
        packed = model.pack(X)
    else:
        X = rng.normal(size=(4, 7, 3))
        mask = np.ones((4, 7), dtype=bool)
        mask[0, :3], mask[1, 5:], mask[2, 2:4] = False, False, False
        packed = model.pack(X, mask)
    inferred, _ = model.forward(params, packed)
    trained, _ = model.forward(params, packed, training=True)
    np.testing.assert_allclose(inferred, trained, rtol=1e-12, atol=1e-13)


def test_parts_refuse_what_they_cannot_do():
    with pytest.raises(ValueError, match="input_kind"):
        SequenceModel.build("images", 3, None, [Recurrent("gru", 2)], False, "last", 1)
    with pytest.raises(ValueError, match="pooling"):
        DenseHead("median", 3, 1)
    with pytest.raises(ValueError, match="n_timesteps"):
        DenseHead("flatten", 3, 1)
    with pytest.raises(ValueError, match="at least one layer"):
        RecurrentStack([])
    model = SequenceModel.build("dense", 3, None, [Recurrent("gru", 2)], False, "last", 1)
    with pytest.raises(ValueError, match="token input"):
        model.token_tables(model.init_params(np.random.default_rng(0)), None)


@pytest.mark.parametrize("input_kind", ["tokens", "onehot", "dense"])
@pytest.mark.parametrize("head", ["last", "flatten", "sequence"])
@pytest.mark.parametrize("cell,use_bias,reset_after", [("simple", True, True), ("lstm", False, True),
                                                       ("gru", True, True), ("gru", True, False)])
def test_weight_shapes_are_the_shapes_of_the_initial_weights(input_kind, head, cell, use_bias,
                                                             reset_after):
    """A loaded file's weights are checked against ``weight_shapes`` without making any."""
    layers = [Recurrent(cell, 3, use_bias=use_bias, reset_after=reset_after), Recurrent(cell, 2)]
    model = SequenceModel.build(input_kind, 7, 4, layers, True, head, 3, n_timesteps=5)
    made = [w.shape for w in model.weights(model.init_params(np.random.default_rng(0)))]
    assert model.weight_shapes() == made


@pytest.mark.parametrize("attention", [None, "dot", "general"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_seq2seq_weight_shapes_are_the_shapes_of_the_initial_weights(attention, bidirectional):
    from fastrnn.layers.seq2seq import Seq2SeqModel

    n_dir = 2 if bidirectional else 1
    model = Seq2SeqModel(6, 7, 3, [Recurrent("lstm", 4), Recurrent("lstm", 2)],
                         [Recurrent("lstm", 4 * n_dir), Recurrent("lstm", 2 * n_dir)],
                         bidirectional, attention)
    made = [w.shape for w in model.weights(model.init_params(np.random.default_rng(0)))]
    assert model.weight_shapes() == made
