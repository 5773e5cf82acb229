"""The encoder-decoder's parts: Luong attention and the seq2seq model, exact gradients and backends.

Every gradient is checked by central differences in float64 on the NumPy
reference backend; the compiled backends must give the reference's logits
and gradients.
"""

import numpy as np
import pytest

import fastrnn
from _model import make_ids, numeric_grad
from fastrnn.layers import Recurrent
from fastrnn.layers.attention import AttentionMemory, LuongAttention
from fastrnn.layers.seq2seq import Seq2SeqModel, pack_pairs
from fastrnn.losses import sequence_crossentropy


def _close(g, num):
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8 + 1e-6 * np.abs(num).max())


def _attention_problem(score, seed, B, Tq, Ts, W, units):
    """An attention layer, its float64 parameters, queries (B, Tq, W), memory (B, Ts, W) and the rng."""
    rng = np.random.default_rng(seed)
    att = LuongAttention(score, W, W, units)
    p = att.init_params(rng, np.float64)
    queries, memory = rng.normal(size=(B, Tq, W)), rng.normal(size=(B, Ts, W))
    return att, p, queries, memory, rng


@pytest.mark.parametrize("score", ["dot", "general"])
def test_attention_gradients_by_central_differences(score):
    B, Tq, Ts = 3, 4, 5
    att, p, queries, memory, rng = _attention_problem(score, 0, B, Tq, Ts, W=3, units=2)
    mask = np.ones((B, Ts), dtype=bool)
    mask[1, :2] = False  # pre-padded row
    mask[2, 3:] = False  # post-padded row
    memory[~mask] = np.nan  # padding never reaches the outputs nor the gradients
    w_out = rng.normal(size=(B, Tq, 2))

    def loss():
        return (att.forward(p, queries, memory, mask)[0] * w_out).sum()

    out, weights, cache = att.forward(p, queries, memory, mask)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0)
    assert np.all(weights[~np.broadcast_to(mask[:, None, :], weights.shape)] == 0)
    grads, d_q, d_m = att.backward(p, cache, w_out)
    assert np.all(d_m[~mask] == 0)
    for key in p:
        _close(grads[key], numeric_grad(loss, p[key]))
    _close(d_q, numeric_grad(loss, queries))
    memory[~mask] = 0.0
    _close(d_m, numeric_grad(loss, memory))


@pytest.mark.parametrize("score", ["dot", "general"])
def test_attention_over_row_blocks_on_threads_equals_one_block(score, monkeypatch):
    """Forward and backward split into blocks of rows give what one block gives, bit for bit."""
    from fastrnn.utils import linalg

    B, Tq, Ts = 7, 3, 5
    att, p, queries, memory, rng = _attention_problem(score, 4, B, Tq, Ts, W=4, units=3)
    mask = rng.random((B, Ts)) < 0.7
    mask[2] = False
    d_out = rng.normal(size=(B, Tq, 3))
    results = []
    for n_threads in (1, 2, 3):
        monkeypatch.setattr(linalg, "MIN_PARALLEL_MACS", 0 if n_threads > 1 else 1 << 60)
        out, weights, cache = att.forward(p, queries, memory, mask, n_threads=n_threads)
        grads, d_q, d_m = att.backward(p, cache, d_out)
        results.append([out, weights, d_q, d_m, *grads.values()])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("score", ["dot", "general"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_attention_step_gives_the_forward_pass(score, n_threads):
    """Decoding's attention (memory made once, k queries per row) is the teacher-forced one."""
    B, k, Ts = 4, 3, 5
    att, p, queries, memory, _ = _attention_problem(score, 1, B, k, Ts, W=3, units=2)
    mask = np.ones((B, Ts), dtype=bool)
    mask[1, :2] = False
    mask[2, 3:] = False
    mask[3] = False  # no real step: zero weights, zero context
    memory[~mask] = 0.0
    out, weights, _ = att.forward(p, queries, memory, mask, n_threads=n_threads)
    mem = AttentionMemory.make(memory, mask)
    step_out, step_weights = att.step(p, queries, mem)
    np.testing.assert_allclose(step_out, out, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(step_weights, weights, rtol=1e-12, atol=1e-14)
    assert np.all(step_weights[3] == 0)
    rows = np.array([3, 0])
    part_out, _ = att.step(p, queries[rows], mem.take(rows))
    np.testing.assert_allclose(part_out, out[rows], rtol=1e-12, atol=1e-14)


def _model(cell, units, bidirectional, attention, V_src=6, V_tgt=7):
    n_dir = 2 if bidirectional else 1
    return Seq2SeqModel(V_src, V_tgt, 3, [Recurrent(cell, u) for u in units],
                        [Recurrent(cell, u * n_dir) for u in units], bidirectional, attention)


def _problem(seed=3, B=3, Ts=5, Td=4, V_src=6, V_tgt=7):
    rng = np.random.default_rng(seed)
    src = make_ids(rng, B, Ts, V_src, "post")
    lengths = np.array([Td, 2, 3])[:B]
    dec_in = np.zeros((B, Td), dtype=np.int64)
    target = np.full((B, Td), -1)
    for b, n in enumerate(lengths):
        dec_in[b, Td - n:] = rng.integers(1, V_tgt, size=n)
        target[b, Td - n:] = rng.integers(1, V_tgt, size=n)
    return pack_pairs(src, dec_in), target, rng


CASES = [("lstm", (3, 2), True, "dot"), ("gru", (3,), False, "general"),
         ("simple", (2,), True, None), ("lstm", (3, 2), False, None),
         ("gru", (2,), True, "dot"), ("simple", (3, 2), False, "general"),
         ("lstm", (2,), True, "general"), ("gru", (2, 3), False, None)]


@pytest.mark.parametrize("cell,units,bidirectional,attention", CASES,
                         ids=["-".join(map(str, c)) for c in CASES])
def test_seq2seq_gradients_by_central_differences(cell, units, bidirectional, attention):
    batch, target, rng = _problem()
    model = _model(cell, units, bidirectional, attention)
    params = model.init_params(rng, np.float64)
    for w in model.weights(params):
        w += 0.3 * rng.normal(size=w.shape)
    w_rows = np.array([1.0, 0.5, 2.0])

    def loss():
        return sequence_crossentropy(model.forward(params, batch)[0], target, w_rows)[0]

    with fastrnn.use_backend("numpy"):
        logits, cache = model.forward(params, batch, training=True)
        _, d_logits = sequence_crossentropy(logits, target, w_rows)
        grads = model.backward(params, cache, d_logits)
        for g, w in zip(model.weights(grads), model.weights(params)):
            _close(g, numeric_grad(loss, w))
    # the source reaches the loss only through the handed-over states (and attention)
    assert np.abs(grads["source_embeddings"]).max() > 0


def test_dropout_masks_split_between_encoder_and_decoder():
    from fastrnn.training import dropout_masks

    batch, target, rng = _problem()
    model = _model("gru", (3, 2), True, "dot")
    params = model.init_params(rng, np.float64)
    masks = dropout_masks(rng, model, 3, 0.3, 0.3, np.float64)
    assert len(masks) == 4  # two encoder layers, two decoder layers
    w_rows = np.ones(3)

    def loss():
        return sequence_crossentropy(model.forward(params, batch, masks=masks)[0], target, w_rows)[0]

    with fastrnn.use_backend("numpy"):
        logits, cache = model.forward(params, batch, training=True, masks=masks)
        grads = model.backward(params, cache, sequence_crossentropy(logits, target, w_rows)[1])
        for g, w in zip(model.weights(grads), model.weights(params)):
            _close(g, numeric_grad(loss, w))
    assert not np.allclose(logits, model.forward(params, batch)[0])


@pytest.mark.parametrize("backend", ["numba", "cython"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_backends_agree_with_the_reference(backend, cell):
    if backend not in fastrnn.AVAILABLE_BACKENDS:
        pytest.skip(f"{backend} backend not available")
    batch, target, rng = _problem(seed=8)
    model = _model(cell, (3, 2), True, "general")
    params = model.init_params(rng, np.float64)
    w_rows = np.ones(3)
    results = {}
    for name in ("numpy", backend):
        with fastrnn.use_backend(name):
            logits, cache = model.forward(params, batch, training=True)
            grads = model.backward(params, cache, sequence_crossentropy(logits, target, w_rows)[1])
            results[name] = [logits] + model.weights(grads)
    for a, b in zip(results["numpy"], results[backend]):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)


def test_one_step_decoding_matches_the_teacher_forced_pass():
    """Stepping the decoder from the encoder's states gives the teacher-forced logits."""
    batch, _, rng = _problem(seed=4)
    model = _model("lstm", (3,), True, "dot")
    params = model.init_params(rng, np.float64)
    logits, _, weights = model.forward(params, batch, return_attention=True)
    memory, mask, states = model.encode(params, batch.source)
    table = model.target_table(params)
    data, start = batch.target.data, batch.target.start
    b = 0  # the full-length row: every step is real
    states = [[tuple(s[b:b + 1] for s in st[0])] for st in states]
    for t in range(data.shape[0]):
        step_logits, states, step_w = model.step(params, data[t, b:b + 1], states,
                                                 memory[b:b + 1], mask[b:b + 1], table=table)
        np.testing.assert_allclose(step_logits[0], logits[b, t], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(step_w[0], weights[b, t], rtol=1e-10, atol=1e-12)
    assert start[b] == 0


def test_parts_refuse_what_they_cannot_do():
    with pytest.raises(ValueError, match="score"):
        LuongAttention("additive", 2, 2, 2)
    with pytest.raises(ValueError, match="same width"):
        LuongAttention("dot", 2, 3, 2)
    with pytest.raises(ValueError, match="decoder layer 0"):
        Seq2SeqModel(5, 5, 2, [Recurrent("gru", 2)], [Recurrent("gru", 2)], True, None)
    with pytest.raises(ValueError, match="layers"):
        Seq2SeqModel(5, 5, 2, [Recurrent("gru", 2)], [Recurrent("gru", 2)] * 2)
    with pytest.raises(ValueError, match="attention"):
        Seq2SeqModel(5, 5, 2, [Recurrent("gru", 2)], [Recurrent("gru", 2)], False, "bahdanau")
    batch, _, rng = _problem()
    model = _model("gru", (2,), False, None)
    with pytest.raises(ValueError, match="states"):
        model.forward(model.init_params(rng), batch, states=[])


def test_greedy_decoding_follows_the_argmax_step_by_step():
    batch, _, rng = _problem(seed=6)
    model = _model("gru", (3,), True, "general")
    params = model.init_params(rng, np.float64)
    for w in model.weights(params):
        w += 0.5 * rng.normal(size=w.shape)
    banned = (0, 1)
    out, scores = model.decode(params, batch.source, start_id=1, end_id=2, max_length=6,
                               banned_ids=banned)
    memory, mask, states = model.encode(params, batch.source)
    for b in range(len(out)):
        st = [[tuple(s[b:b + 1] for s in layer[0])] for layer in states]
        token, path, total = 1, [], 0.0
        for t in range(7):
            logits, st, _ = model.step(params, [token], st, memory[b:b + 1], mask[b:b + 1])
            z = logits[0] - logits[0].max()
            logp = z - np.log(np.exp(z).sum())
            logp[list(banned)] = -np.inf
            if t == 6:
                logp[np.arange(len(logp)) != 2] = -np.inf
            token = int(np.argmax(logp))
            total += logp[token]
            if token == 2:
                break
            path.append(token)
        assert out[b] == path
        np.testing.assert_allclose(scores[b], total / (len(path) + 1))
    # by the largest logit, without the log-softmax: the same tokens
    assert model.decode(params, batch.source, start_id=1, end_id=2, max_length=6,
                        banned_ids=banned, return_scores=False) == (out, None)
    # a NaN or +inf logit, even at a banned id, fails the row with or without scores
    for bad in (np.nan, np.inf):
        broken = {**params, "dense": dict(params["dense"])}
        broken["dense"]["bias"] = params["dense"]["bias"].copy()
        broken["dense"]["bias"][0] = bad
        for return_scores in (True, False):
            with np.errstate(invalid="ignore"):  # the log-softmax of such a row is NaN
                ids, _ = model.decode(broken, batch.source, start_id=1, end_id=2, max_length=6,
                                      banned_ids=banned, return_scores=return_scores)
            assert ids == [[]] * len(out)
