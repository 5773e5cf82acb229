"""Layer behaviour on the backend in use: padding invariance, truncation memory, fused input."""

import tracemalloc

import numpy as np
import pytest

from _model import CELLS, Case, Problem, cell_id
from fastrnn.layers import DenseInput, Recurrent, TokenInput, pack_dense, pack_tokens


def _outputs_and_grads(layer, params, ids, E, d_last):
    packed = pack_tokens(ids)
    inp = TokenInput(packed.data, packed.start, E)
    h, _, _, cache = layer.forward(params, inp, training=True)
    grads, dE, _ = layer.backward(params, cache, d_last=d_last)
    return h, grads, dE


@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
def test_pre_post_and_unpadded_sequences_are_identical(cell, rng):
    layer = Recurrent(cell["cell"], 4, reset_after=cell.get("reset_after", True))
    params = layer.init_params(rng, 3, np.float64)
    E = rng.normal(size=(9, 3))
    seqs = [rng.integers(1, 9, size=L) for L in (5, 2, 4)]
    T = 10  # room for the longest sequence on every other step
    pre = np.zeros((3, T), int)
    post = np.zeros((3, T), int)
    interior = np.zeros((3, T), int)
    for b, s in enumerate(seqs):
        pre[b, T - len(s):] = s
        post[b, :len(s)] = s
        interior[b, 1::2][:len(s)] = s
    unpadded = [np.array(s)[None] for s in seqs]
    d_last = rng.normal(size=(3, 4))
    ref = _outputs_and_grads(layer, params, pre, E, d_last)
    for variant in (post, interior):
        got = _outputs_and_grads(layer, params, variant, E, d_last)
        np.testing.assert_array_equal(got[0], ref[0])
        for k in ref[1]:
            np.testing.assert_array_equal(got[1][k], ref[1][k])
        np.testing.assert_array_equal(got[2], ref[2])
    # one sequence at a time, without any padding, gives the same rows
    for b, s in enumerate(unpadded):
        h, _, _ = _outputs_and_grads(layer, params, s, E, d_last[b:b + 1])
        np.testing.assert_allclose(h[0], ref[0][b], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
def test_truncated_training_stores_only_the_window(cell, rng):
    layer = Recurrent(cell["cell"], 6, reset_after=cell.get("reset_after", True))
    params = layer.init_params(rng, 4)
    packed = pack_tokens(rng.integers(1, 50, size=(5, 200)))
    inp = TokenInput(packed.data, packed.start, rng.normal(size=(50, 4)).astype(np.float32))
    _, _, _, cache = layer.forward(params, inp, training=True, bptt_truncate=10)
    assert cache["H_seq"].shape == (10, 5, 6)
    for arr in cache["stored"]:
        assert arr.shape[0] == 10
    _, _, _, full = layer.forward(params, inp, training=True)
    assert full["H_seq"].shape == (200, 5, 6)
    # truncation only changes what is differentiated, not the forward result
    h_trunc, _, _, _ = layer.forward(params, inp, training=True, bptt_truncate=10)
    h_full, _, _, _ = layer.forward(params, inp)
    np.testing.assert_allclose(h_trunc, h_full, rtol=1e-6)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("one_pass_from", [0, 1 << 30], ids=["one-pass", "apart"])
def test_truncated_float_input_lstm_differentiates_its_window(masked, one_pass_from, monkeypatch, rng):
    # The weights' gradients of the last k steps (the kernels' dU skipped, then summed with the
    # input kernel's) equal those of the same steps run alone from the state before them.
    from fastrnn.utils import linalg

    monkeypatch.setattr(linalg, "ONE_PASS_MIN_BYTES", one_pass_from)
    B, T, F, H, k = 4, 9, 3, 5, 3
    layer = Recurrent("lstm", H)
    params = layer.init_params(rng, F, np.float64)
    params["bias"] = rng.normal(size=params["bias"].shape)
    X = rng.normal(size=(B, T, F))
    real = np.ones((B, T), bool)
    real[1, :7] = False  # pre-padding: row 1 starts inside the window
    rec_mask = rng.random((B, H)) + 0.5 if masked else None
    full = pack_dense(X, real)
    d_last = rng.normal(size=(B, H))
    _, _, _, cache = layer.forward(params, DenseInput(full.data, full.start), training=True,
                                   rec_mask=rec_mask, bptt_truncate=k)
    grads, dX, _ = layer.backward(params, cache, d_last=d_last)
    _, _, state, _ = layer.forward(params, DenseInput(full.data[:T - k], full.start), rec_mask=rec_mask)
    window = DenseInput(full.data[T - k:], np.maximum(full.start - (T - k), 0).astype(np.int32))
    _, _, _, alone = layer.forward(params, window, state, training=True, rec_mask=rec_mask)
    expected, dX_window, _ = layer.backward(params, alone, d_last=d_last)
    for key in grads:
        np.testing.assert_allclose(grads[key], expected[key], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dX[T - k:], dX_window, rtol=1e-10, atol=1e-12)
    assert not dX[:T - k].any()


@pytest.mark.parametrize("masked", [False, True])
def test_float_input_lstm_gradients_in_one_pass_equal_those_apart(masked, monkeypatch, rng):
    from fastrnn.utils import linalg

    B, T, F, H = 3, 7, 4, 5
    layer = Recurrent("lstm", H)
    params = layer.init_params(rng, F, np.float64)
    real = np.ones((B, T), bool)
    real[0, :3] = False
    packed = pack_dense(rng.normal(size=(B, T, F)), real)
    rec_mask = rng.random((B, H)) + 0.5 if masked else None
    results = []
    for one_pass_from in (0, 1 << 30):
        monkeypatch.setattr(linalg, "ONE_PASS_MIN_BYTES", one_pass_from)
        _, _, _, cache = layer.forward(params, DenseInput(packed.data, packed.start), training=True,
                                       rec_mask=rec_mask)
        results.append(layer.backward(params, cache, d_last=np.ones((B, H)))[:2])
    (one, dX_one), (apart, dX_apart) = results
    for key in apart:
        np.testing.assert_allclose(one[key], apart[key], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dX_one, dX_apart, rtol=1e-12, atol=1e-14)


def test_one_hot_input_never_builds_the_one_hot_tensor(rng):
    V, B, T, H = 200_000, 4, 50, 8
    layer = Recurrent("simple", H)
    params = layer.init_params(rng, V)
    packed = pack_tokens(rng.integers(1, 100, size=(B, T)))
    inp = TokenInput(packed.data, packed.start, None)
    tracemalloc.start()
    _, _, _, cache = layer.forward(params, inp, training=True)
    grads, _, _ = layer.backward(params, cache, d_last=np.ones((B, H), np.float32))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    one_hot_bytes = B * T * V * 4  # the (B, T, V) float32 tensor the tutorial builds
    kernel_grad_bytes = V * H * 4  # dW itself is (V, H)
    assert peak < kernel_grad_bytes * 3 < one_hot_bytes
    # the gradient reaches only the rows of the tokens that occur
    touched = np.flatnonzero(np.abs(grads["kernel"]).sum(axis=1))
    assert set(touched) <= set(np.unique(packed.data[packed.data > 0]))


def test_token_projection_table_has_one_row_per_distinct_token(rng):
    layer = Recurrent("lstm", 3)
    params = layer.init_params(rng, 2)
    ids = np.array([[0, 4, 4, 9], [4, 9, 9, 9]])
    packed = pack_tokens(ids)
    inp = TokenInput(packed.data, packed.start, rng.normal(size=(10, 2)).astype(np.float32))
    from fastrnn.layers.projection import project
    table, idx, _ = project(inp, params["kernel"], params["bias"])
    # tokens 4 and 9, plus the padding id 0 of row 0's empty first step (a row never read)
    assert table.shape == (3, 12)
    want = inp.embeddings @ params["kernel"] + params["bias"]
    for t, b in zip(*np.nonzero(packed.data)):
        np.testing.assert_allclose(table[idx[t, b]], want[packed.data[t, b]], rtol=1e-6)


@pytest.mark.parametrize("embedded", [True, False], ids=["embeddings", "onehot"])
@pytest.mark.parametrize("dropout", [False, True], ids=["", "dropout"])
def test_truncated_projection_gradient_uses_only_the_window_rows(embedded, dropout, rng):
    # A truncated window differentiates only the table rows it reads; the gradients must
    # be those of the whole table, whose other rows get zero.
    from fastrnn.layers.projection import project, project_backward

    V, D, B, T, G = 30, 3, 4, 12, 8
    ids = rng.integers(1, V, size=(B, T))
    ids[1, :5] = 0
    ids[2, :10] = 0  # starts inside the window
    ids[3, :] = 0
    ids[3, 2] = 5  # one token, before the window only
    packed = pack_tokens(ids)
    E = rng.normal(size=(V, D)) if embedded else None
    mask = (rng.random((B, D if embedded else V)) > 0.3) / 0.7 if dropout else None
    inp = TokenInput(packed.data, packed.start, E, mask)
    W = rng.normal(size=(D if embedded else V, G))
    _, idx, ctx = project(inp, W, np.zeros(G))
    T_packed = packed.data.shape[0]
    t0 = T_packed - 3
    start = np.clip(packed.start - t0, 0, None).astype(np.int32)
    real = np.arange(T_packed - t0)[:, None] >= start[None, :]  # the kernels' dA is 0 elsewhere
    dA = rng.normal(size=(T_packed - t0, B, G)) * real[:, :, None]
    idx_w = np.ascontiguousarray(idx[t0:])
    window = project_backward(inp, ctx, dA, idx_w, start, W, t0=t0)
    whole = project_backward(inp, ctx, dA, idx_w, start, W, t0=0)  # every row of the table
    assert len(np.unique(idx_w)) < len(ctx[1])  # the window reads fewer rows than the table has
    for got, want in zip(window, whole):
        if want is None:
            assert got is None
        else:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert np.any(window[0] != 0)


@pytest.mark.parametrize("embedded", [True, False], ids=["embeddings", "onehot"])
@pytest.mark.parametrize("truncated", [False, True], ids=["full", "truncated"])
def test_whole_vocabulary_table_equals_the_distinct_id_table(embedded, truncated, rng,
                                                            monkeypatch):
    # A batch with many cells per id projects every id and reads the table at the ids; the
    # outputs and every gradient must be those of the table of distinct ids.
    from fastrnn.layers import projection

    V, D, B, T, H = 7, 3, 5, 9, 4
    ids = rng.integers(1, V - 1, size=(B, T))  # id V - 1 never occurs
    ids[1, :4] = 0
    packed = pack_tokens(ids)
    E = rng.normal(size=(V, D)) if embedded else None
    inp = TokenInput(packed.data, packed.start, E)
    layer = Recurrent("lstm", H)
    params = layer.init_params(rng, D if embedded else V, np.float64)
    params["bias"] = rng.normal(size=params["bias"].shape)
    k = 3 if truncated else None
    results = {}
    for cells_per_id in (projection.CELLS_PER_ID, 10**9):
        monkeypatch.setattr(projection, "CELLS_PER_ID", cells_per_id)
        h, _, _, cache = layer.forward(params, inp, training=True, bptt_truncate=k)
        table, _, _ = projection.project(inp, params["kernel"], params["bias"])
        grads, d_input, _ = layer.backward(params, cache, d_last=np.ones((B, H)))
        results[cells_per_id] = (len(table), h, grads, d_input)
    (n_all, *whole), (n_distinct, *distinct) = results.values()
    assert n_all == V and n_distinct == V - 1  # the distinct ids: 1 .. V - 2 and padding's 0
    np.testing.assert_allclose(whole[0], distinct[0], rtol=1e-12, atol=1e-12)
    for key in whole[1]:
        np.testing.assert_allclose(whole[1][key], distinct[1][key], rtol=1e-12, atol=1e-12)
    if embedded:
        np.testing.assert_allclose(whole[2], distinct[2], rtol=1e-12, atol=1e-12)
        assert not whole[2][V - 1].any()  # an absent id gets no gradient
    else:
        assert whole[2] is None and not whole[1]["kernel"][V - 1].any()


@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
def test_dropout_masks_of_ones_change_nothing(cell):
    case = Case(dropout=False, return_sequences=True, **cell)
    plain = Problem(case)
    ones = Problem(case)
    ones.in_mask = np.ones((case.B, case.D))
    ones.rec_mask = np.ones((case.B, case.H))
    for a, b in zip(plain.analytic()[:3], ones.analytic()[:3]):
        if isinstance(a, dict):
            for k in a:
                np.testing.assert_allclose(a[k], b[k], rtol=1e-12, atol=1e-13)
        else:
            for x, y in zip(np.atleast_1d(a), np.atleast_1d(b)):
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-13)


def test_dense_input_without_mask_uses_every_step(rng):
    layer = Recurrent("gru", 3)
    params = layer.init_params(rng, 2, np.float64)
    X = rng.normal(size=(2, 5, 2))
    packed = pack_dense(X)
    h, _, _, _ = layer.forward(params, DenseInput(packed.data, packed.start))
    h_short, _, _, _ = layer.forward(params, DenseInput(packed.data[1:], packed.start))
    assert not np.allclose(h, h_short)


@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
@pytest.mark.parametrize("dropout", [False, True])
def test_raw_float_input_without_its_gradient_gives_the_same_parameter_gradients(cell, dropout, rng):
    layer = Recurrent(cell["cell"], 4, reset_after=cell.get("reset_after", True))
    params = layer.init_params(rng, 3, np.float64)
    mask = np.arange(6)[None, :] >= np.array([0, 2, 5])[:, None]
    packed = pack_dense(rng.normal(size=(3, 6, 3)), mask)
    in_mask = rng.integers(0, 2, size=(3, 3)) * 2.0 if dropout else None
    inp = DenseInput(packed.data, packed.start, in_mask)
    d_last, d_seq = rng.normal(size=(3, 4)), rng.normal(size=(packed.data.shape[0], 3, 4))
    runs = []
    for input_grad in (True, False):
        _, _, _, cache = layer.forward(params, inp, training=True, return_sequences=True)
        runs.append(layer.backward(params, cache, d_last=d_last, d_seq=d_seq, input_grad=input_grad))
    (g_all, d_in, d0_all), (g_params, no_input, d0) = runs
    assert d_in.shape == packed.data.shape and no_input is None
    for key in g_all:
        np.testing.assert_allclose(g_params[key], g_all[key], rtol=1e-12, atol=1e-14)
    for got, ref in zip(d0, d0_all):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)


def test_packing_input_without_steps_gives_one_empty_step():
    for ids in (np.zeros((2, 0), int), np.zeros((0, 0), int)):
        packed = pack_tokens(ids)
        assert packed.data.shape == (1, len(ids))
        np.testing.assert_array_equal(packed.start, np.ones(len(ids)))


def test_window_steps_fit_the_window_bytes_per_thread():
    from fastrnn.layers.recurrent import MIN_WINDOW_STEPS, WINDOW_TABLE_BYTES, window_steps

    W = np.zeros((4, 192), np.float32)  # a GRU(64)'s input kernel: 768 bytes a row
    step_bytes = 256 * 768
    long = DenseInput(np.zeros((500, 256, 4), np.float32), np.zeros(256, np.int32))
    one = max(MIN_WINDOW_STEPS, WINDOW_TABLE_BYTES // step_bytes)
    assert window_steps(long, W) == one
    assert window_steps(long, W, n_threads=4) == max(MIN_WINDOW_STEPS, 4 * WINDOW_TABLE_BYTES // step_bytes)
    short = DenseInput(np.zeros((one, 256, 4), np.float32), np.zeros(256, np.int32))
    assert window_steps(short, W) == 0  # one window would hold it all
    dropped = long._replace(dropout_mask=np.ones((256, 4), np.float32))
    assert window_steps(dropped, W) == 0
    tokens = TokenInput(np.zeros((500, 256), np.int32), np.zeros(256, np.int32), None)
    assert window_steps(tokens, W) == 0


@pytest.mark.parametrize("padding", ["pre", "post", "interior"])
@pytest.mark.parametrize("n_features", [None, 3])
def test_packing_by_row_slices_equals_packing_by_cells(padding, n_features, rng, monkeypatch):
    from fastrnn.layers import _packing

    lengths = np.array([7, 0, 3, 12, 1])
    cols = np.arange(12)[None, :]
    real = {"pre": cols >= 12 - lengths[:, None], "post": cols < lengths[:, None],
            "interior": (cols % 2 == 1) & (cols < 2 * lengths[:, None])}[padding]
    if padding != "interior":
        real[0] = (cols[0] >= 2) & (cols[0] < 9)  # padded on both sides: still one run
    shape = (5, 12) if n_features is None else (5, 12, n_features)
    values = rng.normal(size=shape).astype(np.float32)
    fill = () if n_features is None else (n_features,)
    packed = {}
    for name, least in (("slices", 0), ("cells", 10**9)):
        monkeypatch.setattr(_packing, "SLICED_PACK_MIN_VALUES", least)
        packed[name] = _packing._pack(values, real, fill, values.dtype)
    for a, b in zip(packed["slices"], packed["cells"]):
        np.testing.assert_array_equal(a, b)
    if padding != "interior":  # the real values, in order, end at the last packed step
        for b, n in enumerate(real.sum(axis=1)):
            np.testing.assert_array_equal(packed["slices"].data[len(packed["slices"].data) - n:, b],
                                          values[b][real[b]])


@pytest.mark.parametrize("cell", CELLS, ids=cell_id)
@pytest.mark.parametrize("window", [1, 3, 4])
@pytest.mark.parametrize("n_threads, masked", [(1, False), (2, True)])
def test_float_input_projected_by_windows_of_steps_gives_one_pass_outputs(cell, window, n_threads, masked,
                                                                          rng, monkeypatch):
    from fastrnn.layers import recurrent

    layer = Recurrent(cell["cell"], 4, reset_after=cell.get("reset_after", True))
    params = layer.init_params(rng, 3, np.float64)
    lengths = (9, 2, 6, 0, 4)  # rows starting in different windows, one all padding
    mask = np.arange(10)[None, :] >= 10 - np.array(lengths)[:, None]
    packed = pack_dense(rng.normal(size=(5, 10, 3)), mask)
    inp = DenseInput(packed.data, packed.start)
    state = tuple(rng.normal(size=(5, 4)) for _ in range(2 if cell["cell"] == "lstm" else 1))
    run_kw = dict(return_sequences=True, n_threads=n_threads,
                  rec_mask=rng.integers(0, 2, size=(5, 4)) * 2.0 if masked else None)
    whole = layer.forward(params, inp, state, **run_kw)
    monkeypatch.setattr(recurrent, "WINDOW_TABLE_BYTES", 0)
    monkeypatch.setattr(recurrent, "MIN_WINDOW_STEPS", window)
    calls = []
    run = layer._run
    monkeypatch.setattr(layer, "_run", lambda *a, **k: calls.append(1) or run(*a, **k))
    windows = layer.forward(params, inp, state, **run_kw)
    np.testing.assert_allclose(windows[0], whole[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(windows[1], whole[1], rtol=1e-12, atol=1e-14)
    for got, ref in zip(windows[2], whole[2]):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-14)
    # an LSTM reads float input in its step product, with no table to split
    assert len(calls) == (1 if cell["cell"] == "lstm" else -(-packed.data.shape[0] // window))


@pytest.mark.parametrize("dropout", [False, True], ids=["plain", "input_dropout"])
def test_an_lstm_reads_dense_input_in_its_step_product_as_a_table_would_give_it(dropout, rng):
    # An LSTM over float input multiplies [x_t, h] by [W; U] at each step (its table holds only the
    # bias); the kernels' table form gathers x_t @ W + b instead.  Same states and gradients.
    from fastrnn._backend import get_kernels

    B, T, F, H = 3, 6, 4, 5
    layer = Recurrent("lstm", H)
    params = {k: v + 0.3 * rng.normal(size=v.shape) for k, v in layer.init_params(rng, F, np.float64).items()}
    W, U, b = params["kernel"], params["recurrent_kernel"], params["bias"]
    X = rng.normal(size=(B, T, F))
    packed = pack_dense(X, np.arange(T)[None, :] >= np.array([[0], [2], [5]]))  # pre-padded rows
    in_mask = ((rng.random((B, F)) > 0.3) / 0.7) if dropout else None
    h, _, _, cache = layer.forward(params, DenseInput(packed.data, packed.start, in_mask), training=True)
    assert cache["U"].shape == (F + H, 4 * H)  # [W; U]
    d_last = rng.normal(size=(B, H))
    grads, dX, _ = layer.backward(params, cache, d_last=d_last)

    K = get_kernels()
    Xm = packed.data if in_mask is None else packed.data * in_mask[None]
    table = Xm.reshape(T * B, F) @ W + b
    idx = np.arange(T * B, dtype=np.int32).reshape(T, B)
    zeros, none = np.zeros((B, H)), np.empty((T, B, 0))
    H_seq, C_seq, gates = np.empty((T, B, H)), np.empty((T, B, H)), np.empty((T, B, 4 * H))
    h_tab, c_tab = np.empty((B, H)), np.empty((B, H))
    K.lstm_forward(table, idx, none, packed.start, zeros, zeros, U, np.empty((0, H)), layer.act,
                   layer.rec_act, 1, H_seq, C_seq, gates, h_tab, c_tab)
    np.testing.assert_allclose(h, h_tab, rtol=1e-12, atol=1e-13)
    dA, dU = np.empty((T, B, 4 * H)), np.empty((H, 4 * H))
    K.lstm_backward(packed.start, zeros, zeros, U, np.empty((0, H)), layer.act, layer.rec_act, 1, H_seq,
                    C_seq, gates, np.empty((0, B, H)), d_last, zeros, dA, none, dU, np.empty((B, H)),
                    np.empty((B, H)))
    dA2 = dA.reshape(T * B, 4 * H)
    dX_tab = (dA2 @ W.T).reshape(T, B, F)
    if in_mask is not None:
        dX_tab *= in_mask[None]
    assert np.abs(dX_tab).max() > 0 and np.all(dX_tab[:2, 2] == 0)  # row 2's padded steps
    tol = dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dX, dX_tab, **tol)
    np.testing.assert_allclose(grads["kernel"], Xm.reshape(T * B, F).T @ dA2, **tol)
    np.testing.assert_allclose(grads["bias"], dA2.sum(axis=0), **tol)
    np.testing.assert_allclose(grads["recurrent_kernel"], dU, **tol)


def test_parameter_shapes_and_counts_follow_keras():
    # REFERENCE.md section 2
    assert Recurrent("simple", 32).count_params(32) == 2080
    assert Recurrent("simple", 32).count_params(100) == 4256
    assert Recurrent("simple", 8).count_params(32) == 328
    assert Recurrent("lstm", 32).count_params(2) == 4480
    assert Recurrent("lstm", 8).count_params(16) == 800
    assert Recurrent("gru", 8).count_params(16) == 624
    assert Recurrent("gru", 256).count_params(256) == 394752
    assert Recurrent("gru", 128).count_params(256) == 148224
    assert Recurrent("lstm", 4).count_params(8) == 208
    assert Recurrent("gru", 8, reset_after=False).count_params(16) == 3 * (16 * 8 + 8 * 8 + 8)
    assert Recurrent("gru", 8).param_shapes(16)["bias"] == (2, 24)


def test_keras_initialisation(rng):
    layer = Recurrent("lstm", 5)
    p = layer.init_params(rng, 3)
    assert p["kernel"].dtype == np.float32
    np.testing.assert_allclose(p["recurrent_kernel"] @ p["recurrent_kernel"].T, np.eye(5), atol=1e-5)
    np.testing.assert_array_equal(p["bias"][5:10], 1.0)
    np.testing.assert_array_equal(np.delete(p["bias"], np.s_[5:10]), 0.0)
    limit = np.sqrt(6 / (3 + 20))
    assert np.abs(p["kernel"]).max() <= limit
    with pytest.raises(ValueError, match="activation"):
        Recurrent("lstm", 3, activation="swish")
    with pytest.raises(ValueError, match="cell"):
        Recurrent("transformer", 3)


def test_fast_paths_equal_the_general_ones(rng):
    """Pre-padded packing, the mask-based unique and equal-slice ordering are shortcuts only."""
    from fastrnn.layers._packing import _pack, balanced_order
    from fastrnn.layers.projection import unique_inverse

    ids = rng.integers(1, 50, size=(9, 12))
    for b, n in enumerate(rng.integers(0, 13, size=9)):
        ids[b, :12 - n] = 0
    fast, slow = pack_tokens(ids), _pack(ids, ids != 0, (), np.int32)
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    for n_keys in (50, 10**9):  # dense key space, then the sorting fallback
        keys = rng.integers(0, 50, size=200)
        for got, want in zip(unique_inverse(keys, n_keys), np.unique(keys, return_inverse=True)):
            np.testing.assert_array_equal(got, want)
    lengths = rng.integers(0, 30, size=12)

    def dealt(lengths, n):  # the general dealing loop, written out
        size = -(-len(lengths) // n)
        slices = [[] for _ in range(n)]
        j = 0
        for row in np.argsort(-lengths, kind="stable"):
            while len(slices[j]) >= min(size, len(lengths) - j * size):
                j = (j + 1) % n
            slices[j].append(row)
            j = (j + 1) % n
        return [r for s in slices for r in s]

    for n in (1, 2, 3, 4, 5):
        assert balanced_order(lengths, n).tolist() == dealt(lengths, n)


@pytest.mark.parametrize("stacked", [False, True], ids=["one_layer", "stacked_bidirectional"])
@pytest.mark.parametrize("head", ["last", "sequence"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_prediction_is_the_same_in_one_batch_or_many(cell, head, stacked, rng):
    """One batch split inside the kernels, batches per thread, and row by row agree."""
    from fastrnn.layers import SequenceModel
    from fastrnn.training import predict_outputs

    layers = [Recurrent(cell, 5), Recurrent(cell, 3)] if stacked else [Recurrent(cell, 5)]
    net = SequenceModel.build("tokens", 12, 4, layers, stacked, head, 2, n_timesteps=9)
    params = net.init_params(rng)
    X = rng.integers(1, 12, size=(11, 9))
    for b, n in enumerate(rng.integers(0, 9, size=11)):  # pre- and post-padding, one empty row
        if b % 2:
            X[b, :n] = 0
        else:
            X[b, 9 - n:] = 0
    X[3] = 0
    one_batch = predict_outputs(net, params, X, batch_size=64, n_threads=2)
    per_thread = predict_outputs(net, params, X, batch_size=3, n_threads=2)
    per_row = np.concatenate([predict_outputs(net, params, X[i:i + 1], 1, 1) for i in range(11)])
    assert one_batch.shape == per_row.shape == ((11, 2) if head == "last" else (11, 9, 2))
    np.testing.assert_allclose(one_batch, per_row, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(per_thread, per_row, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("project_all", [False, True])
@pytest.mark.parametrize("input_kind, all_ids", [("tokens", False), ("tokens", True), ("onehot", False)])
def test_a_prediction_projects_its_ids_once_for_all_batches(input_kind, all_ids, project_all, rng,
                                                           monkeypatch):
    """The tables made once per prediction give each batch what its own projection would.

    ``project_all``: the vocabulary is cheap enough to project whole, without
    finding the ids the input holds first.
    """
    from fastrnn import training
    from fastrnn.layers import pack_tokens, recurrent
    from fastrnn.layers import SequenceModel
    from fastrnn.training import _prediction_token_tables, predict_outputs

    monkeypatch.setattr(training, "PROJECT_ALL_MACS_PER_ID", 10**9 if project_all else 0)

    V = 15
    net = SequenceModel.build(input_kind, V, 4, [Recurrent("lstm", 5), Recurrent("gru", 3)], True, "last", 2)
    params = net.init_params(rng, np.float64)
    X = rng.integers(1, V if all_ids else 9, size=(40, 7))  # ids 9..14 absent unless all_ids
    X[::3, :2] = 0
    if all_ids:
        X[0, 2:] = np.arange(V - 5, V)
    tables = _prediction_token_tables(net, params, X, n_threads=2)
    assert len(tables) == 2  # one per direction
    table, lookup = tables[0]
    assert (lookup is None) == (all_ids or project_all)
    assert len(table) == (V if all_ids or project_all else 9)  # the ids that occur, and 0 (padding)
    packed = pack_tokens(X[5:17])
    with_tables, _ = net.forward(params, packed, token_tables=tables)
    own, _ = net.forward(params, packed)
    np.testing.assert_allclose(with_tables, own, rtol=1e-12, atol=1e-12)
    token_inputs = []
    real_project = recurrent.project

    def spy(inp, *args):
        if isinstance(inp, TokenInput):
            token_inputs.append(inp.projected is not None)
        return real_project(inp, *args)

    with monkeypatch.context() as patch:
        patch.setattr(recurrent, "project", spy)
        batched = predict_outputs(net, params, X, batch_size=6, n_threads=2)  # 7 batches, tables once
    assert token_inputs == [True] * 14  # 7 batches, 2 directions
    per_batch = np.concatenate([net.forward(params, pack_tokens(X[i:i + 6]))[0] for i in range(0, 40, 6)])
    np.testing.assert_allclose(batched, per_batch, rtol=1e-12, atol=1e-12)


def test_a_precomputed_token_table_is_gathered_and_has_no_gradient(rng):
    from fastrnn.layers import pack_tokens
    from fastrnn.layers.projection import project, project_backward

    ids = pack_tokens(np.array([[0, 3, 7], [7, 7, 3]]))
    table = rng.normal(size=(3, 4))
    lookup = np.array([0, 0, 0, 1, 0, 0, 0, 2], dtype=np.int32)  # ids 0, 3, 7 -> rows 0, 1, 2
    got, idx, ctx = project(TokenInput(ids.data, ids.start, projected=(table, lookup)), None, None)
    assert got is table
    np.testing.assert_array_equal(idx, lookup[ids.data])
    with pytest.raises(ValueError, match="inference only"):
        project_backward(None, ctx, np.zeros((3, 2, 4)), idx, ids.start, None)
    with pytest.raises(ValueError, match="inference only"):
        project(TokenInput(ids.data, ids.start, None, np.ones((2, 8)), (table, lookup)), None, None)


def test_token_tables_are_refused_in_training(rng):
    from fastrnn.layers import pack_tokens
    from fastrnn.layers import SequenceModel

    net = SequenceModel.build("tokens", 6, 3, [Recurrent("simple", 2)], False, "last", 1)
    params = net.init_params(rng)
    X = rng.integers(1, 6, size=(3, 4))
    with pytest.raises(ValueError, match="inference only"):
        net.forward(params, pack_tokens(X), training=True,
                    token_tables=[(t, None) for t in net.token_tables(params, np.arange(6))])


def test_a_prediction_projects_a_small_vocabulary_whole_and_looks_up_the_ids_of_a_large_one(rng):
    from fastrnn.layers import SequenceModel
    from fastrnn.training import PROJECT_ALL_MACS_PER_ID, _prediction_token_tables

    for V, n_rows, whole in ((50, 200, True), (5000, 4, False)):
        net = SequenceModel.build("tokens", V, 8, [Recurrent("lstm", 4)], False, "last", 1)
        params = net.init_params(rng, np.float32)
        X = rng.integers(1, 40, size=(n_rows, 10))
        assert (V * 8 * 16 <= PROJECT_ALL_MACS_PER_ID * X.size) == whole
        (table, lookup), = _prediction_token_tables(net, params, X, n_threads=1)
        assert (lookup is None) == whole
        assert len(table) == (V if whole else len(np.unique(X)) + 1)  # with 0 (padding)
