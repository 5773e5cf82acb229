"""Variable-length float sequences: ragged lists and masks, padding that changes nothing, errors."""

import numpy as np
import pytest

from fastrnn import RNNClassifier, RNNRegressor, RNNSequenceRegressor, RNNSequenceTagger
from fastrnn.layers._packing import MaskedSequences
from fastrnn.training import ShuffledBatches, batch_rows, pack_batch
from fastrnn.utils.validation import check_sequences

FAST = dict(units=5, max_iter=2, batch_size=8, random_state=0, dtype="float64")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = [rng.normal(size=(int(n), 2)) for n in rng.integers(1, 11, size=30)]
    label = np.array([int(x[:, 0].sum() > 0) for x in X])
    steps = [(np.cumsum(x[:, 0]) > 0).astype(int) for x in X]
    return X, label, steps


def _padded(seqs, side, fill=np.nan):
    T = max(len(s) for s in seqs)
    out = np.full((len(seqs), T) + np.shape(seqs[0])[1:], fill, dtype=object if fill is None else float)
    mask = np.zeros((len(seqs), T), dtype=bool)
    for i, s in enumerate(seqs):
        cols = slice(0, len(s)) if side == "post" else slice(T - len(s), T)
        out[i, cols] = s
        mask[i, cols] = True
    return out, mask


def _outputs(model, X, mask=None):
    if isinstance(model, RNNClassifier):
        return model.predict_proba(X, mask=mask)
    if isinstance(model, RNNSequenceTagger):
        return model.predict_proba(X, mask=mask)
    return model.predict(X, mask=mask)


@pytest.mark.parametrize("cls", [RNNClassifier, RNNRegressor, RNNSequenceTagger,
                                 RNNSequenceRegressor])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_pre_post_ragged_and_alone_give_the_same_predictions(data, cls, bidirectional):
    X, label, steps = data
    y = steps if cls in (RNNSequenceTagger, RNNSequenceRegressor) else label
    model = cls(**FAST, bidirectional=bidirectional, cell="gru").fit(X, y)
    ragged = _outputs(model, X)
    per_step = isinstance(ragged, list)
    alone = [_outputs(model, [x])[0] for x in X]
    np.testing.assert_allclose(np.concatenate(alone) if per_step else np.array(alone),
                               np.concatenate(ragged) if per_step else ragged,
                               rtol=1e-6, atol=1e-9)
    for side in ("pre", "post"):
        padded, mask = _padded(X, side)
        out = _outputs(model, padded, mask)
        np.testing.assert_allclose(out[mask] if per_step else out,
                                   np.concatenate(ragged) if per_step else ragged,
                                   rtol=1e-6, atol=1e-9)
        if per_step:
            yp, _ = _padded(y, side, fill=0.0)
            assert model.score(padded, yp, mask=mask) == pytest.approx(model.score(X, y))
        else:
            assert model.score(padded, y, mask=mask) == pytest.approx(model.score(X, y))


def test_padding_anywhere_and_nan_at_padded_steps(data):
    X, label, _ = data
    model = RNNClassifier(**FAST).fit(X, label)
    rng = np.random.default_rng(0)
    T = 14
    padded = np.full((len(X), T, 2), np.nan)
    mask = np.zeros((len(X), T), dtype=bool)
    for i, x in enumerate(X):  # real steps scattered in order over the row
        cols = np.sort(rng.choice(T, size=len(x), replace=False))
        padded[i, cols], mask[i, cols] = x, True
    np.testing.assert_allclose(model.predict_proba(padded, mask=mask), model.predict_proba(X),
                               rtol=1e-6, atol=1e-9)


def test_batches_put_rows_in_length_order_within_thread_slices():
    mask = np.arange(6)[None, :] < np.array([1, 6, 2, 5, 3, 4])[:, None]
    X = MaskedSequences(np.zeros((6, 6, 1)), mask)
    rows = batch_rows(X, np.arange(6), "dense", 2)
    lengths = mask.sum(axis=1)[rows]
    assert (np.diff(lengths[:3]) <= 0).all() and (np.diff(lengths[3:]) <= 0).all()
    packed = pack_batch(X[rows], "dense")
    assert packed.n_steps == 6 and sorted(6 - packed.start) == sorted(mask.sum(axis=1))
    batches = list(ShuffledBatches(X, np.zeros(6), np.ones(6), 4, input_kind="dense",
                                   n_threads=2).batches(np.random.default_rng(0)))
    assert sum(len(b.w) for b in batches) == 6


@pytest.mark.parametrize("n_rows", [3, 40])  # one batch, or several over the threads
def test_prediction_skipping_all_padding_columns_equals_the_full_forward(n_rows):
    from fastrnn.layers import Recurrent, SequenceModel, pack_dense
    from fastrnn.training import predict_outputs

    rng = np.random.default_rng(4)
    net = SequenceModel.build("dense", 2, None, [Recurrent("gru", 3)], True, "sequence", 2)
    params = net.init_params(rng, np.float64)
    mask = rng.random((n_rows, 9)) < 0.6
    mask[:, [0, 1, 4, 8]] = False  # padding in every row: leading, inner and trailing columns
    mask[:, 2] = True
    X = MaskedSequences(rng.normal(size=(n_rows, 9, 2)), mask)
    full, _ = net.forward(params, pack_dense(X.values, mask))
    np.testing.assert_allclose(predict_outputs(net, params, X, 16, 2), full, rtol=1e-12, atol=0)


def test_training_batches_drop_all_padding_columns_without_changing_loss_or_gradients():
    from fastrnn.layers import Recurrent, SequenceModel
    from fastrnn.losses import sequence_mean_squared_error

    rng = np.random.default_rng(6)
    n, T = 10, 12
    lengths = rng.integers(1, 5, size=n)
    lengths[0] = 4
    mask = np.arange(T)[None, :] < lengths[:, None]  # columns 4 to 11: padding in every row
    mask = np.roll(mask, 2, axis=1)  # and columns 0 and 1
    X = MaskedSequences(rng.normal(size=(n, T, 2)), mask)
    y = np.where(mask[:, :, None], rng.normal(size=(n, T, 1)), np.nan)
    net = SequenceModel.build("dense", 2, None, [Recurrent("lstm", 3)], True, "sequence", 1)
    params = net.init_params(rng, np.float64)

    def run(per_step):
        source = ShuffledBatches(X, y, np.ones(n), 5, input_kind="dense", per_step=per_step)
        steps = []
        for batch in source.batches(np.random.default_rng(0)):
            out, cache = net.forward(params, batch.packed, training=True)
            loss, d_out = sequence_mean_squared_error(out, batch.y, batch.w)
            steps.append((batch.y.shape[1], loss, net.weights(net.backward(params, cache, d_out))))
        return steps

    trimmed, full = run(True), run(False)
    assert all(t[0] <= 4 for t in trimmed) and all(f[0] == T for f in full)
    for (_, loss_t, grads_t), (_, loss_f, grads_f) in zip(trimmed, full):
        assert loss_t == pytest.approx(loss_f, rel=1e-12)
        for a, b in zip(grads_t, grads_f):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_validation_data_partial_fit_and_early_stopping_take_masks(data):
    X, label, _ = data
    padded, mask = _padded(X, "post")
    model = RNNRegressor(**FAST).fit(X[:20], label[:20],
                                     validation_data=(padded[20:], label[20:], mask[20:]))
    assert len(model.history_["val_r2"]) == 2
    model = RNNRegressor(**FAST).fit(X[:20], label[:20], validation_data=(X[20:], label[20:]))
    assert len(model.history_["val_loss"]) == 2
    model = RNNClassifier(**{**FAST, "early_stopping": True}).fit(padded, label, mask=mask)
    assert model.validation_scores_ is not None
    model = RNNClassifier(**FAST).partial_fit(padded, label, classes=[0, 1], mask=mask)
    model.partial_fit(X, label)
    assert model.n_iter_ == 2
    # fitted on several lengths: any length is valid later
    assert model.predict(np.zeros((2, 25, 2))).shape == (2,)


def test_equal_length_list_keeps_the_fixed_length_contract(data):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 4))
    model = RNNRegressor(**FAST).fit(X.tolist(), X.sum(axis=1))
    np.testing.assert_allclose(model.predict(X), model.predict(X.tolist()), rtol=1e-9)
    with pytest.raises(ValueError, match="X has 3 features, but RNNRegressor is expecting 4"):
        model.predict(X[:, :3])


@pytest.mark.parametrize("X, mask, message", [
    ([np.ones((3, 2)), np.ones((4, 3))], None, r"X\[1\] has 3 features per step but X\[0\] has 2"),
    ([np.ones((3, 2)), np.ones(4)], None, r"X\[1\] is 1-D but X\[0\] is 2-D"),
    ([np.ones(3), np.ones(0)], None, r"X\[1\] is empty"),
    ([np.ones(3), np.array([1.0, np.nan])], None, "X contains NaN or infinity"),
    ([np.ones(3), 2.0], None, r"X\[1\] is float, not a sequence"),
    ([np.ones(3), np.ones(4)], np.ones((2, 4), bool), "mask is for a padded float array X"),
    (np.ones((2, 4)), np.ones((2, 3), bool), r"mask has shape \(2, 3\).* must have shape \(2, 4\)"),
    (np.ones((2, 4)), np.full((2, 4), 0.5), "mask must be boolean"),
    (np.ones((2, 4)), np.array([[1, 1, 0, 0], [0, 0, 0, 0]], bool), "mask marks no real step in row 1"),
    (np.array([[1.0, np.nan]]), np.array([[True, True]]), "NaN or infinity at a real step"),
    (np.array([[1, 2], [3, 0]]), np.ones((2, 2), bool), "mask is for float sequences: X holds integer"),
])
def test_bad_input_names_the_argument(X, mask, message):
    with pytest.raises(ValueError, match=message):
        check_sequences(X, mask=mask)
    with pytest.raises(ValueError, match=message):
        RNNRegressor(**FAST).fit(X, np.zeros(len(X)), mask=mask)


def test_nan_only_at_padded_steps_is_accepted():
    X = np.array([[1.0, 2.0, np.nan], [np.nan, 3.0, 4.0]])
    mask = ~np.isnan(X)
    checked, kind = check_sequences(X, mask=mask)
    assert kind == "dense" and np.isfinite(checked.values).all()
    with pytest.raises(ValueError, match="X contains NaN"):
        check_sequences(X)


def test_ragged_float_input_never_reaches_numpy_inhomogeneous_error():
    X = [[0.5, 1.5, 2.5], [1.0], [0.0, 0.25]]
    checked, kind = check_sequences(X)
    assert kind == "dense" and checked.shape == (3, 3, 1) and checked.lengths().tolist() == [3, 1, 2]
    X = [np.ones((2, 3)), [[1.0, 2, 3]]]
    assert check_sequences(X)[0].lengths().tolist() == [2, 1]
    for X in ([[0.1, None], [0.2]], [0.5, [1.0, 2.0]]):
        with pytest.raises(ValueError, match="X is a list whose rows differ in length"):
            check_sequences(X)


def test_ragged_float32_sequences_stay_float32_and_others_become_float64():
    f32 = [np.ones((3, 2), np.float32), np.zeros((1, 2), np.float32)]
    assert check_sequences(f32)[0].dtype == np.float32
    for other in ([f32[0], np.zeros((1, 2), np.float64)], [np.ones((2, 2), np.float16), f32[1]]):
        assert check_sequences(other)[0].dtype == np.float64


def test_tagger_on_ragged_floats_returns_lists(data):
    X, _, steps = data
    tagger = RNNSequenceTagger(**FAST).fit(X, [np.where(s, "up", "down") for s in steps])
    pred = tagger.predict(X)
    assert isinstance(pred, list) and [p.shape for p in pred] == [(len(x),) for x in X]
    assert set(np.concatenate(pred)) <= {"up", "down"}
    with pytest.raises(ValueError, match=r"y\[0\] has"):
        tagger.score(X, [s[:-1] if len(s) > 1 else [0, 0, 0] for s in steps])


def test_per_step_outputs_at_padding_follow_keras_masking(data):
    """After the last real step a padded position repeats its output; before the first, the
    output comes from the zero initial state (Dense of zeros: the bias)."""
    X, _, steps = data
    tagger = RNNSequenceTagger(**FAST).fit(X, steps)
    x = X[0]
    padded = np.zeros((1, len(x) + 4, 2))
    padded[0, 2:2 + len(x)] = x
    mask = np.zeros((1, len(x) + 4), dtype=bool)
    mask[0, 2:2 + len(x)] = True
    proba = tagger.predict_proba(padded, mask=mask)[0]
    bias = tagger.get_weights()[-1]
    expected_before = np.exp(bias) / np.exp(bias).sum()
    np.testing.assert_allclose(proba[:2], [expected_before] * 2, rtol=1e-9)
    np.testing.assert_allclose(proba[-2:], [proba[1 + len(x)]] * 2, rtol=1e-12)


def test_onnx_export_of_a_model_fitted_on_ragged_floats_reads_unpadded_input(data):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    import fastrnn

    X, label, steps = data
    model = RNNRegressor(**FAST).fit(X, label.astype(float))
    runtime = ort.InferenceSession(fastrnn.to_onnx(model).SerializeToString())
    Z = np.random.default_rng(1).normal(size=(3, 6, 2))
    out = runtime.run(None, {runtime.get_inputs()[0].name: Z.astype(np.float32)})[0]
    np.testing.assert_allclose(out, model.predict(Z), rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="RNNSequenceRegressor"):
        fastrnn.to_onnx(RNNSequenceRegressor(**FAST).fit(X, steps))


def test_float32_input_is_read_without_a_float64_copy():
    X = np.random.default_rng(0).normal(size=(6, 5, 2)).astype(np.float32)
    checked, kind = check_sequences(X)
    assert kind == "dense" and checked.dtype == np.float32 and np.shares_memory(checked, X)
    assert check_sequences(X.astype(np.float16))[0].dtype == np.float64
    y = X.sum(axis=(1, 2))
    model = RNNRegressor(units=3, max_iter=2, random_state=0).fit(X, y)
    np.testing.assert_allclose(model.predict(X), model.predict(X.astype(np.float64)), rtol=1e-6,
                               atol=1e-7)


@pytest.mark.parametrize("n_threads", [2, 3])
def test_prediction_batches_taken_by_the_threads_in_turn_cover_every_row_once(n_threads):
    # the threads share one queue of batches (longest first); any split must give the outputs of
    # one thread, row for row
    from fastrnn.training import predict_outputs

    rng = np.random.default_rng(5)
    X = [rng.normal(size=(int(n), 2)) for n in rng.integers(1, 30, size=23)]
    y = [np.cumsum(x[:, 0]) for x in X]
    model = RNNSequenceRegressor(units=4, max_iter=1, batch_size=8, random_state=0).fit(X, y)
    Xv = model._validate_X(X, reset=False)
    one = predict_outputs(model._network(), model.params_, Xv, 3, 1)
    many = predict_outputs(model._network(), model.params_, Xv, 3, n_threads)
    np.testing.assert_array_equal(many, one)
    expected = np.stack([model.predict([x])[0][-1] for x in X])
    np.testing.assert_allclose(one[np.arange(len(X)), Xv.lengths() - 1, 0], expected, rtol=1e-5)
    # the estimator's own batches, which depend on the thread count: the same values
    single = model.set_params(n_threads=1).predict(X)
    for got, want in zip(model.set_params(n_threads=n_threads).predict(X), single):
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_unpacked_outputs_repeat_the_last_real_state_or_the_initial_one():
    from fastrnn.layers import pack_dense, unpack_sequence

    rng = np.random.default_rng(7)
    B, T, H = 6, 9, 3
    mask = np.zeros((B, T), bool)
    for b, (lo, hi) in enumerate([(0, 9), (3, 9), (0, 4), (2, 6), (8, 9), (0, 1)]):
        mask[b, lo:hi] = True
    packed = pack_dense(rng.normal(size=(B, T, 2)), mask)
    H_seq = rng.normal(size=(packed.data.shape[0], B, H))
    h0 = rng.normal(size=(B, H))
    out = unpack_sequence(packed, H_seq, h0)
    for b in range(B):
        real = np.flatnonzero(mask[b])
        states = H_seq[H_seq.shape[0] - len(real):, b]  # right-aligned: the last steps are real
        for t in range(T):
            seen = np.count_nonzero(real <= t)
            np.testing.assert_array_equal(out[b, t], states[seen - 1] if seen else h0[b])


@pytest.mark.parametrize("padding", ["none", "pre", "post", "inner"])
def test_the_sequence_gradient_is_the_adjoint_of_unpacking(padding):
    from fastrnn.layers import pack_dense, pack_sequence_grad, unpack_sequence

    rng = np.random.default_rng(8)
    B, T, H = 5, 8, 3
    mask = np.ones((B, T), bool)
    if padding == "pre":
        mask[:, :3] = False
    elif padding == "post":
        mask[1:, 5:] = False
    elif padding == "inner":
        mask[:, 2:4] = False
        mask[0, 6:] = False
    packed = pack_dense(rng.normal(size=(B, T, 2)), mask)
    n = packed.data.shape[0]
    H_seq, h0, dY = rng.normal(size=(n, B, H)), rng.normal(size=(B, H)), rng.normal(size=(B, T, H))
    dH, dh0 = pack_sequence_grad(packed, dY, n)
    # <unpack(H_seq, h0), dY> = <H_seq, dH> + <h0, dh0> for every H_seq and h0
    np.testing.assert_allclose(np.sum(unpack_sequence(packed, H_seq, h0) * dY),
                               np.sum(H_seq * dH) + np.sum(h0 * dh0), rtol=1e-12)
    expected = np.zeros((n + 1, B, H))
    np.add.at(expected, (packed.positions, np.arange(B)[:, None]), dY)  # the definition
    np.testing.assert_array_equal(dH, expected[:-1])
    np.testing.assert_array_equal(dh0, expected[-1])


def test_data_far_from_unit_scale_is_announced_at_fit():
    """Sine windows times 1,000 trained to R^2 0.007 (0.999 at unit scale) without a word."""
    import warnings

    from fastrnn import RNNRegressor, RNNSequenceRegressor

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5, 2)), rng.normal(size=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # unit scale: nothing to say
        RNNRegressor(units=4, max_iter=1, random_state=0).fit(X, y)
    with pytest.warns(UserWarning, match=r"y is far from unit scale .*TransformedTargetRegressor"):
        RNNRegressor(units=4, max_iter=1, random_state=0).fit(X, 1000 * y)
    with pytest.warns(UserWarning, match=r"X's feature \d is far from unit scale \(mean 1e\+06"):
        RNNRegressor(units=4, max_iter=1, random_state=0).fit(X + 1e6, y)
    # one column in the hundreds among unit-scale ones: the mean over all of them (14.5, spread
    # 51) hid it, and the model trained to R^2 0.0 (0.89 standardised)
    raw = X.copy()
    raw[:, :, 1] = 15 * np.arange(5) + 100
    with pytest.warns(UserWarning, match=r"X's feature 1 is far from unit scale"):
        RNNRegressor(units=4, max_iter=1, random_state=0).fit(raw, y)
    with pytest.warns(UserWarning, match=r"y's output 1 is far from unit scale"):
        RNNRegressor(units=4, max_iter=1, random_state=0).fit(X, np.c_[y, 150 + 20 * y])
    with pytest.warns(UserWarning, match="y is far from unit scale"):
        RNNSequenceRegressor(units=4, max_iter=1, random_state=0).fit(X, 500 * X[:, :, 0])


def test_a_nullable_float_frame_with_missing_padding_reads_as_nan_under_a_mask():
    """pandas.NA in the padding of a Float64 frame was refused as a missing value even with
    mask=, although NaN is allowed there."""
    pd = pytest.importorskip("pandas")
    from fastrnn import RNNRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 8))
    mask = np.ones((30, 8), bool)
    mask[::2, 6:] = False
    X[~mask] = np.nan
    kwargs = dict(units=4, max_iter=1, random_state=0)
    plain = RNNRegressor(**kwargs).fit(pd.DataFrame(X), X[:, 0], mask=mask)
    nullable = RNNRegressor(**kwargs).fit(pd.DataFrame(X).astype("Float64"), X[:, 0], mask=mask)
    np.testing.assert_array_equal(plain.predict(pd.DataFrame(X), mask=mask),
                                  nullable.predict(pd.DataFrame(X).astype("Float64"), mask=mask))
    with pytest.raises(ValueError, match="NaN or infinity .*pass mask="):
        RNNRegressor(**kwargs).fit(pd.DataFrame(X).astype("Float64"), X[:, 0])


def test_a_list_of_sequences_is_padded_once_in_the_model_dtype():
    """The list was padded in float64, checked for NaN over the whole padded block, then cast to
    the model's float32: three blocks of n x longest steps (566 MB against 304 MB now for
    3,999 rows of 5 steps and one of 4,000)."""
    from fastrnn.utils.validation import check_sequences

    rows = [np.ones((3, 2)), np.ones((5, 2))]
    X, _ = check_sequences(rows, dtype=np.float32)
    assert X.values.dtype == np.float32 and X.values.shape == (2, 5, 2)
    assert check_sequences(rows)[0].values.dtype == np.float64  # no model: as given
    with pytest.raises(ValueError, match=r"beyond the range of float32 \(\|x\| up to 1e\+39, in X\[1\]"):
        check_sequences([np.ones(3), np.array([1.0, 1e39])], dtype=np.float32)
    with pytest.raises(ValueError, match=r"NaN or infinity \(in X\[1\]\)"):
        check_sequences([np.ones(3), np.array([1.0, np.nan])], dtype=np.float32)


def test_a_frame_mixing_nullable_and_plain_float_columns_reads_na_as_nan():
    pd = pytest.importorskip("pandas")
    from fastrnn.utils.validation import check_sequences

    X = np.ones((3, 4))
    X[0, 3] = np.nan
    frame = pd.DataFrame(X).astype({3: "Float64"})
    mask = ~np.isnan(X)
    values = check_sequences(frame, mask=mask)[0]
    assert values.mask.tolist() == mask.tolist()


def test_a_model_of_float_sequences_reads_whole_numbers_as_floats():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=int(rng.integers(4, 8))) for _ in range(20)]
    Y = [np.cumsum(x) for x in X]
    m = RNNSequenceRegressor(units=4, max_iter=1, n_threads=1, random_state=0).fit(X, Y)
    ints = [np.array([1, 0, 3]), np.array([0.5, 1.5])]
    got = m.predict(ints)
    assert [p.shape for p in got] == [(3,), (2,)]  # the 0 is a value, not padding
    np.testing.assert_allclose(got[0], m.predict([np.array([1.0, 0.0, 3.0])])[0])
    r = RNNRegressor(units=4, max_iter=1, n_threads=1, random_state=0).fit(
        rng.normal(size=(20, 5, 1)), rng.normal(size=20))
    np.testing.assert_allclose(r.predict(np.array([[1, 0, 2, 0, 1]])),
                               r.predict(np.array([[1.0, 0, 2, 0, 1]])))
    # fitted on integers: token ids, and the error says how to pass values instead
    with pytest.raises(ValueError, match="pass them as floats"):
        RNNSequenceRegressor(units=4, max_iter=1, n_threads=1).fit(
            [np.array([3, 0, 2, 5]), np.array([0, 1, 4])], [np.ones(4), np.ones(3)])


def test_a_list_of_boolean_sequences_is_read_as_values_like_a_boolean_array():
    """On/off readings: False is a value, not the padding id 0 (a list of bool arrays was read
    as token ids, so every False step vanished)."""
    rng = np.random.default_rng(0)
    X = [rng.random(6) > 0.5 for _ in range(40)]
    y = np.array([x.sum() for x in X], float)
    as_list = RNNRegressor(**FAST).fit(X, y)
    as_array = RNNRegressor(**FAST).fit(np.array(X), y)
    assert as_list.input_kind_ == as_array.input_kind_ == "dense"
    np.testing.assert_allclose(as_list.predict(X), as_array.predict(np.array(X)), rtol=1e-10)
    short = [np.array([True, False, False, True]), np.array([True, True])]
    assert as_list.predict(short[:1])[0] != as_list.predict(short[1:])[0]
    assert np.isfinite(as_list.predict([np.zeros(6, bool)])).all()


def test_an_object_mask_of_booleans_is_read_and_a_missing_value_in_it_refused():
    X = np.arange(12.0).reshape(3, 4)
    mask = np.array([[True, True, True, False]] * 3)
    plain, _ = check_sequences(X, mask=mask)
    objects, _ = check_sequences(X, mask=mask.astype(object))  # pandas' nullable "boolean"
    np.testing.assert_array_equal(objects.mask, plain.mask)
    with_missing = mask.astype(object)
    with_missing[1, 3] = None
    with pytest.raises(ValueError, match=r"mask holds a missing value \(None or NA\)"):
        check_sequences(X, mask=with_missing)
    numbers, _ = check_sequences(X, mask=mask.astype(int).astype(object))  # nullable "Int64"
    np.testing.assert_array_equal(numbers.mask, plain.mask)


def test_non_finite_values_at_real_steps_are_located():
    X = np.ones((3, 5))
    X[2, 3] = np.nan
    mask = np.ones((3, 5), bool)
    with pytest.raises(ValueError, match=r"real step \(row 2, step 3; 1 step\(s\) in all\)"):
        check_sequences(X, mask=mask)
    y = np.zeros((3, 5))
    y[1, 4] = np.nan  # y post-padded while X's mask is pre-padded: not where X's padding is
    with pytest.raises(ValueError, match=r"row 1, its real step 4.*where X's padding is"):
        RNNSequenceRegressor(**FAST).fit(np.ones((3, 5)), y, mask=mask)
    ids = [[5, 6, 7], [8, 9], [3, 4, 5, 6]]  # token lists, pre-padded inside
    targets = [np.zeros(3), np.array([np.nan, 1.0]), np.zeros(4)]
    with pytest.raises(ValueError, match=r"row 1, its real step 0"):
        RNNSequenceRegressor(**FAST).fit(ids, targets)
    with pytest.raises(ValueError, match=r"y contains NaN or infinity \(in y\[1\]\); if y holds "
                                         "a target per step, use RNNSequenceRegressor"):
        RNNRegressor(**FAST).fit(np.ones((3, 5)), y, mask=mask)


def test_a_model_of_sequences_of_several_lengths_predicts_frames_of_any_width():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 6))
    mask = np.ones((20, 6), bool)
    mask[::2, 4:] = False
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(6)])  # named steps
    model = RNNRegressor(**FAST).fit(frame, X[:, 0], mask=mask)
    wide = np.concatenate([X, np.zeros((20, 2))], axis=1)
    wide_mask = np.concatenate([mask, np.zeros((20, 2), bool)], axis=1)
    wide_frame = pd.DataFrame(wide, columns=[f"t{i}" for i in range(8)])
    np.testing.assert_allclose(model.predict(wide_frame, mask=wide_mask),
                               model.predict(X, mask=mask), rtol=1e-10)
    reversed_steps = frame[frame.columns[::-1]]
    with pytest.raises(ValueError, match="step column 0 is 't5', fitted as 't0'"):
        model.predict(reversed_steps, mask=mask)
