"""ONNX export: a fitted estimator as one graph of standard ONNX operators.

The recurrent layers become ONNX's ``RNN``, ``LSTM`` and ``GRU`` operators.
Those count each row's real steps from step 0 (``sequence_lens``), while
fastrnn skips padding wherever it sits in a row; so the graph first moves
every row's real ids to the front, keeping their order (a scatter whose
per-row target index comes from a cumulative sum over ``ids != 0``), and
passes each row's length as ``sequence_lens``.  A pre-padded, post-padded or
unpadded id matrix then gives the same outputs as ``predict``.

Weights keep their values and change layout only: Keras stores a kernel as
``(inputs, gates * units)`` in gate order i,f,c,o (LSTM) or z,r,h (GRU), ONNX
as ``(gates * units, inputs)`` in order i,o,f,c or z,r,h; Keras's GRU
``reset_after=True`` is ONNX's ``linear_before_reset=1`` with the recurrent
bias as ONNX's ``Rb``.
"""

import numpy as np

from .._warnings import warn_at_caller

#: Opset used when ``opset`` is None.
DEFAULT_OPSET = 18
#: Oldest opset the graphs are written for (the recurrent operators' current versions).
MIN_OPSET = 14

#: Opsets of the other domains a pipeline uses (LabelEncoder-2; ONNX Runtime's Tokenizer).
_OTHER_DOMAINS = {"ai.onnx.ml": 2, "com.microsoft": 1}

_INSTALL_HINT = 'ONNX export needs the onnx package: pip install "fastrnn[onnx]"'

#: Keras gate blocks in the order of the ONNX operator's gates.
_GATE_ORDER = {"simple": (0,), "lstm": (0, 3, 1, 2), "gru": (0, 1, 2)}
_OPERATOR = {"simple": "RNN", "lstm": "LSTM", "gru": "GRU"}

#: fastrnn activation -> ONNX recurrent activation, with its (alpha, beta) when it takes them.
_ACTIVATIONS = {
    "tanh": ("Tanh", None),
    "sigmoid": ("Sigmoid", None),
    "hard_sigmoid": ("HardSigmoid", (1.0 / 6.0, 0.5)),  # Keras 3: clip(x / 6 + 0.5, 0, 1)
    "relu": ("Relu", None),
    "linear": ("Affine", (1.0, 0.0)),
    None: ("Affine", (1.0, 0.0)),
}


def import_onnx():
    """The ``onnx`` module, or an ImportError saying how to install it."""
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return onnx


def check_opset(onnx, opset):
    """The opset to write (``opset`` or :data:`DEFAULT_OPSET`), checked against the installed onnx."""
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an int or None, got {opset!r}")
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be between {MIN_OPSET} and {newest} (the installed onnx's "
                         f"newest), got {opset}")
    return int(opset)


def check_dtype(dtype):
    """The float type of the graph's weights and outputs: float32 (default) or float64."""
    if dtype is None:
        return np.dtype(np.float32)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32, float64 or None, got {dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32, float64 or None, got {dtype!r}")
    return dt


class GraphBuilder:
    """Nodes and initializers of one ONNX graph, with unique names.

    Parameters
    ----------
    onnx : module
    opset : int
    dtype : numpy.dtype
        Float type of the weights and float outputs.
    """

    def __init__(self, onnx, opset, dtype):
        self.onnx = onnx
        self.helper = onnx.helper
        self.opset = opset
        self.dtype = np.dtype(dtype)
        self.elem = onnx.helper.np_dtype_to_tensor_dtype(self.dtype)
        self.nodes = []
        self.initializers = []
        self.inputs = []
        self.outputs = []
        self.value_infos = []
        self._used = set()
        self._consts = {}

    def name(self, base):
        """A name not used yet, from ``base``."""
        name, k = base, 0
        while name in self._used:
            k += 1
            name = f"{base}_{k}"
        self._used.add(name)
        return name

    def const(self, value, base="const", dtype=None):
        """An initializer holding ``value`` (cast to ``dtype``, the graph's float type for floats)."""
        arr = np.asarray(value)
        if dtype is not None:
            arr = arr.astype(dtype)
        elif arr.dtype.kind == "f":
            arr = arr.astype(self.dtype)
        key = None
        if arr.size <= 8 and arr.dtype.kind not in "UO":  # small constants are shared
            key = (base, arr.dtype.str, arr.shape, arr.tobytes())
            if key in self._consts:
                return self._consts[key]
        name = self.name(base)
        if key is not None:
            self._consts[key] = name
        if arr.dtype.kind in "UO":
            tensor = self.helper.make_tensor(name, self.onnx.TensorProto.STRING, arr.shape,
                                             [str(v).encode("utf-8") for v in arr.ravel()])
        else:
            tensor = self.onnx.numpy_helper.from_array(arr.copy(order="C"), name)  # keeps 0-d
        self.initializers.append(tensor)
        return name

    def op(self, op_type, inputs, n_outputs=1, base=None, domain=None, **attrs):
        """Add a node; its output name (a list of them when ``n_outputs > 1``)."""
        base = base or op_type.lower()
        outs = [self.name(f"{base}_out{j}" if n_outputs > 1 else base) for j in range(n_outputs)]
        kwargs = {"domain": domain} if domain else {}
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs, name=self.name(f"{base}_node"),
                                                **kwargs, **attrs))
        return outs if n_outputs > 1 else outs[0]

    def reduce(self, op_type, x, axes, keepdims, base=None):
        """``ReduceSum``/``ReduceMean``/``ReduceMax`` over ``axes`` in this opset's form."""
        if op_type == "ReduceSum" or self.opset >= 18:  # axes became an input (ReduceSum in 13)
            return self.op(op_type, [x, self.const(np.array(axes, np.int64), "axes")],
                           base=base, keepdims=keepdims)
        return self.op(op_type, [x], base=base, axes=list(axes), keepdims=keepdims)

    def reserve(self, name):
        """Keep ``name`` for a value made outside the builder (an input another graph wires)."""
        self._used.add(name)
        return name

    def input(self, name, elem, shape):
        self._used.add(name)
        self.inputs.append(self.helper.make_tensor_value_info(name, elem, shape))
        return name

    def typed(self, value, elem, shape):
        """Declare the type of the intermediate ``value``, for an operator whose schema does not
        give it (onnx's shape inference fails on an untyped input of the node that reads it)."""
        self.value_infos.append(self.helper.make_tensor_value_info(value, elem, shape))
        return value

    def output(self, value, name, elem, shape):
        """Expose ``value`` as the graph output ``name`` (through an Identity)."""
        self._used.add(name)
        self.nodes.append(self.helper.make_node("Identity", [value], [name],
                                                name=self.name(f"{name}_node")))
        self.outputs.append(self.helper.make_tensor_value_info(name, elem, shape))

    def model(self, graph_name, doc=""):
        """The finished ``ModelProto``."""
        from .._version import __version__

        graph = self.helper.make_graph(self.nodes, graph_name, self.inputs, self.outputs,
                                       self.initializers, doc_string=doc,
                                       value_info=self.value_infos)
        opsets = [self.helper.make_opsetid("", self.opset)]
        domains = {n.domain for n in self.nodes}
        for domain, version in _OTHER_DOMAINS.items():
            if domain in domains:
                opsets.append(self.helper.make_opsetid(domain, version))
        model = self.helper.make_model(graph, opset_imports=opsets, producer_name="fastrnn",
                                       producer_version=__version__)
        # the oldest IR version that holds this opset, so older runtimes load it
        model.ir_version = min(model.ir_version, _ir_version(self.onnx, self.opset))
        return model


def _ir_version(onnx, opset):
    for _release, ir, ai_onnx, *_ in onnx.helper.VERSION_TABLE:
        if ai_onnx >= opset:
            return ir
    return onnx.IR_VERSION


# --------------------------------------------------------------------------- layers
def _activation_attrs(names):
    """ONNX ``activations``/``activation_alpha``/``activation_beta`` of fastrnn activation names."""
    acts, alphas, betas = [], [], []
    for name in names:
        if name not in _ACTIVATIONS:
            raise ValueError(f"activation {name!r} has no ONNX recurrent activation; exportable "
                             f"activations are {sorted(k for k in _ACTIVATIONS if k)}")
        onnx_name, ab = _ACTIVATIONS[name]
        acts.append(onnx_name)
        if ab is not None:  # consumed in order by the activations that take them
            alphas.append(ab[0])
            betas.append(ab[1])
    return acts, alphas, betas


def _layer_weights(layer, directions, dtype):
    """ONNX ``W`` (dirs, G*H, in), ``R`` (dirs, G*H, H) and ``B`` (dirs, 2*G*H) of one layer."""
    H = layer.units
    order = _GATE_ORDER[layer.cell]
    G = len(order) * H

    def reorder(a):  # gate blocks on the last axis, Keras order -> ONNX order
        return np.concatenate([a[..., g * H:(g + 1) * H] for g in order], axis=-1)

    Ws, Rs, Bs = [], [], []
    for p in directions:
        Ws.append(reorder(np.asarray(p["kernel"], dtype)).T)
        Rs.append(reorder(np.asarray(p["recurrent_kernel"], dtype)).T)
        if "bias" not in p:
            Bs.append(np.zeros(2 * G, dtype))
            continue
        bias = np.asarray(p["bias"], dtype)
        if bias.ndim == 2:  # GRU reset_after: input bias, recurrent bias
            Bs.append(np.concatenate([reorder(bias[0]), reorder(bias[1])]))
        else:
            Bs.append(np.concatenate([reorder(bias), np.zeros(G, dtype)]))
    return np.stack(Ws), np.stack(Rs), np.stack(Bs)


def _recurrent_layer(b, layer, directions, x, seq_lens, first_table=False):
    """One layer as an ONNX RNN/LSTM/GRU node.

    Parameters
    ----------
    b : GraphBuilder
    layer : Recurrent
    directions : list of dict
        The layer's parameters per direction.
    x : str
        Input (T, N, F).
    seq_lens : str
        Lengths (N,) int32, or "" when every step is real.
    first_table : bool
        ``x`` already holds each direction's input projection (one-hot input),
        side by side in ONNX gate order: ``W`` selects a direction's block.

    Returns
    -------
    seq : str
        Outputs (T, N, dirs * H), the directions side by side.
    last : str
        Final outputs (N, dirs * H).
    """
    nd = len(directions)
    W, R, B = _layer_weights(layer, directions, b.dtype)
    if first_table:
        G = W.shape[1]
        W = np.zeros((nd, G, nd * G), b.dtype)
        for d in range(nd):
            W[d, :, d * G:(d + 1) * G] = np.eye(G, dtype=b.dtype)
    if layer.cell == "simple":
        names = [layer.activation]
    elif layer.cell == "gru":
        names = [layer.recurrent_activation, layer.activation]
    else:
        names = [layer.recurrent_activation, layer.activation, layer.activation]
    acts, alphas, betas = _activation_attrs(names)
    attrs = {"hidden_size": layer.units, "direction": "bidirectional" if nd == 2 else "forward",
             "activations": acts * nd}
    if alphas:
        attrs["activation_alpha"] = alphas * nd
        attrs["activation_beta"] = betas * nd
    if layer.cell == "gru":
        attrs["linear_before_reset"] = int(layer.reset_after)
    base = layer.cell
    inputs = [x, b.const(W, f"{base}_W"), b.const(R, f"{base}_R"), b.const(B, f"{base}_B")]
    if seq_lens:  # omitted, not named "", when every row is full length (as skl2onnx needs it)
        inputs.append(seq_lens)
    Y, Y_h = b.op(_OPERATOR[layer.cell], inputs, n_outputs=2, base=base, **attrs)
    # (T, dirs, N, H) -> (T, N, dirs * H): forward then backward, as fastrnn joins them
    shape_tn = b.const(np.array([0, 0, -1], np.int64), "shape_tn")
    seq = b.op("Reshape", [b.op("Transpose", [Y], perm=[0, 2, 1, 3]), shape_tn], base=f"{base}_seq")
    shape_n = b.const(np.array([0, -1], np.int64), "shape_n")
    last = b.op("Reshape", [b.op("Transpose", [Y_h], perm=[1, 0, 2]), shape_n], base=f"{base}_last")
    return seq, last


# --------------------------------------------------------------------------- network
class _Steps:
    """How the input reaches the recurrent stack: left-aligned steps and lengths."""

    def __init__(self, steps, seq_lens, lengths=None, rank=None, n_cols=None, ids=None):
        self.steps = steps          # (T, N) ids or (T, N, F) floats, real steps first
        self.seq_lens = seq_lens    # (N,) int32, or "" when every step is real
        self.lengths = lengths      # (N, 1) int64 or None
        self.rank = rank            # (N, T) int64: each column's real-step index (-1 before any)
        self.n_cols = n_cols        # scalar int64: T
        self.ids = ids              # (N, T) int64: the input ids (0 = padding)


def left_align(b, ids):
    """Each row's real ids (``!= 0``) moved to the front, in order, padding after them.

    Returns
    -------
    left : str
        Ids (N, T) int64.
    lengths : str
        Real ids per row (N, 1) int64.
    rank : str
        Index of each column among its row's real ids, (N, T) int64 (-1
        before the first real id).
    """
    i64 = b.onnx.TensorProto.INT64
    zero = b.const(np.array(0, np.int64), "zero")
    one = b.const(np.array(1, np.int64), "one")
    axis1 = b.const(np.array(1, np.int64), "axis1")
    real = b.op("Not", [b.op("Equal", [ids, zero])], base="real")
    real_i = b.op("Cast", [real], base="real_i", to=i64)
    rank = b.op("Sub", [b.op("CumSum", [real_i, axis1]), one], base="rank")
    pad_rank = b.op("Sub", [b.op("CumSum", [b.op("Sub", [one, real_i]), axis1]), one], base="pad_rank")
    lengths = b.reduce("ReduceSum", real_i, [1], keepdims=1, base="lengths")
    # real steps go to 0..len-1, padded ones after them: a permutation of each row
    dest = b.op("Where", [real, rank, b.op("Add", [lengths, pad_rank])], base="dest")
    left = b.op("ScatterElements", [ids, dest, ids], base="left_ids", axis=1)
    return left, lengths, rank


def _token_steps(b, ids):
    """Real ids first, time-major, and the lengths for ``sequence_lens``."""
    one = b.const(np.array(1, np.int64), "one")
    left, lengths, rank = left_align(b, ids)
    steps = b.op("Transpose", [left], base="steps", perm=[1, 0])
    seq_lens = b.op("Cast", [b.op("Squeeze", [lengths, axes1(b)])], base="seq_lens",
                    to=b.onnx.TensorProto.INT32)
    n_cols = b.op("Gather", [b.op("Shape", [ids]), one], base="n_cols", axis=0)
    return _Steps(steps, seq_lens, lengths, rank, n_cols, ids)


def axes1(b):
    """The constant ``[1]`` (an ``axes`` input)."""
    return b.const(np.array([1], np.int64), "axes1")


def _head(b, net, params, seq, last, st, dense_input):
    """Pooling and the Dense layer: logits (N, n_outputs) or (N, T, n_outputs)."""
    pooling = net.head.pooling
    if pooling == "last":
        feats = last
    elif pooling == "attention":
        feats = _attention_pooling(b, params[net.head.key], seq, None if dense_input else st)
    elif pooling in ("mean", "max") and dense_input:
        feats = b.reduce("ReduceMean" if pooling == "mean" else "ReduceMax", seq, [0], keepdims=0,
                         base=pooling)
    elif pooling in ("mean", "max"):
        steps_range = b.op("Range", [b.const(np.array(0, np.int64), "zero"), st.n_cols,
                                     b.const(np.array(1, np.int64), "one")], base="step_index")
        col = b.op("Unsqueeze", [steps_range, axes1(b)], base="step_col")          # (T, 1)
        valid = b.op("Less", [col, b.op("Transpose", [st.lengths], perm=[1, 0])], base="valid")  # (T, N)
        valid3 = b.op("Unsqueeze", [valid, b.const(np.array([2], np.int64), "axes2")], base="valid3")
        if pooling == "mean":
            total = b.reduce("ReduceSum", b.op("Mul", [seq, b.op("Cast", [valid3], to=b.elem)]), [0],
                             keepdims=0, base="step_sum")
            count = b.op("Max", [b.op("Cast", [st.lengths], to=b.elem), b.const(np.array(1.0), "one_f")])
            feats = b.op("Div", [total, count], base="mean")
        else:
            masked = b.op("Where", [valid3, seq, b.const(np.array(-np.inf), "neg_inf")])
            top = b.reduce("ReduceMax", masked, [0], keepdims=0, base="step_max")
            has_steps = b.op("Greater", [st.lengths, b.const(np.array(0, np.int64), "zero")])
            feats = b.op("Where", [has_steps, top, b.const(np.array(0.0), "zero_f")], base="max")
    else:  # flatten, sequence: each input position sees the output after its last real step
        by_row = b.op("Transpose", [seq], base="seq_by_row", perm=[1, 0, 2])             # (N, T, W)
        if dense_input:
            per_pos = by_row
        else:
            # a zero row at index T for positions before any real step (output = initial state)
            padded = b.op("Pad", [by_row, b.const(np.array([0, 0, 0, 0, 1, 0], np.int64), "pads")])
            if net.head.zero_padding:  # bidirectional: every padded position reads the zero row
                before = b.op("Equal", [st.ids, b.const(np.array(0, np.int64), "zero")],
                              base="padded")
            else:
                before = b.op("Less", [st.rank, b.const(np.array(0, np.int64), "zero")])
            idx = b.op("Where", [before, st.n_cols, st.rank], base="position_step")
            idx = b.op("Unsqueeze", [idx, b.const(np.array([2], np.int64), "axes2")])
            per_pos = b.op("GatherND", [padded, idx], base="per_position", batch_dims=1)  # (N, T, W)
        if pooling == "flatten":
            feats = b.op("Reshape", [per_pos, b.const(np.array([0, -1], np.int64), "shape_n")],
                         base="flatten")
        else:
            feats = per_pos
    dense = params[net.head.key]
    logits = b.op("MatMul", [feats, b.const(dense["kernel"], "dense_kernel")])
    return b.op("Add", [logits, b.const(dense["bias"], "dense_bias")], base="logits")


def _attention_pooling(b, p, seq, st):
    """The attention head's weighted sum of the steps ``seq`` (T, N, W): (N, W).

    ``st`` (token input) gives each row's real steps, which the graph has moved
    to the front; None (float input) makes every step real.
    """
    u = b.op("Tanh", [b.op("Add", [b.op("MatMul", [seq, b.const(p["attention_kernel"], "att_kernel")]),
                                   b.const(p["attention_bias"], "att_bias")])], base="att_hidden")
    scores = b.op("MatMul", [u, b.const(p["attention_vector"][:, None], "att_vector")],
                  base="att_scores")                                                   # (T, N, 1)
    if st is not None:
        steps_range = b.op("Range", [b.const(np.array(0, np.int64), "zero"), st.n_cols,
                                     b.const(np.array(1, np.int64), "one")], base="step_index")
        col = b.op("Unsqueeze", [steps_range, axes1(b)], base="step_col")          # (T, 1)
        valid = b.op("Less", [col, b.op("Transpose", [st.lengths], perm=[1, 0])], base="valid")
        valid3 = b.op("Unsqueeze", [valid, b.const(np.array([2], np.int64), "axes2")], base="valid3")
        # a large finite score, not -inf: a row without real steps must not give NaN
        scores = b.op("Where", [valid3, scores, b.const(np.array(-1e9), "att_neg")], base="att_masked")
    weights = b.op("Softmax", [scores], base="att_weights", axis=0)
    if st is not None:  # exactly 0 at padding, and all 0 in a row without real steps
        weights = b.op("Mul", [weights, b.op("Cast", [valid3], to=b.elem)], base="att_real")
    return b.reduce("ReduceSum", b.op("Mul", [weights, seq]), [0], keepdims=0, base="att_pooled")


def check_network(net):
    """Raise ValueError naming the first part of ``net`` that has no ONNX form here."""
    from ..layers import POOLINGS, SEQUENCE

    pooling = getattr(net.head, "pooling", None)
    if pooling not in POOLINGS + (SEQUENCE,):
        raise ValueError(f"the {type(net.head).__name__} head has no ONNX export; exportable heads "
                         f"are {', '.join(POOLINGS + (SEQUENCE,))}")
    for i, layer in enumerate(net.layers):
        for name in {layer.activation, layer.recurrent_activation}:
            if name not in _ACTIVATIONS:
                raise ValueError(f"layer {i}: activation {name!r} has no ONNX recurrent activation")


def map_unknown_ids(b, ids, vocab_size, oov):
    """Ids ``>= vocab_size`` replaced by ``oov`` (the estimator's ``unknown_ids``)."""
    unknown = b.op("GreaterOrEqual", [ids, b.const(np.array(vocab_size, np.int64), "vocab_size")])
    return b.op("Where", [unknown, b.const(np.array(oov, np.int64), "oov_id"), ids], base="known_ids")


def network_graph(b, net, params, x):
    """Add the network (encoder, stack, head) reading input ``x``; the name of its logits.

    Parameters
    ----------
    b : GraphBuilder
    net : SequenceModel
    params : dict
    x : str
        Ids (N, T) int64 or floats (N, T, F).

    Returns
    -------
    str
        Logits (N, n_outputs), or (N, T, n_outputs) for a per-step head.
    """
    kind = net.input_kind
    dense_input = kind == "dense"
    if dense_input:
        st = _Steps(b.op("Transpose", [x], base="steps", perm=[1, 0, 2]), "")
        inp = st.steps
    else:
        st = _token_steps(b, x)
        first = net.layers[0]
        if kind == "tokens":
            table = np.asarray(params[net.encoder.key], b.dtype)
        else:  # one-hot: the first layer's projection of id v is row v of its kernel
            G_blocks = []
            for p in params["rnn"][0]:
                k = np.asarray(p["kernel"], b.dtype)
                H = first.units
                G_blocks.append(np.concatenate(
                    [k[:, g * H:(g + 1) * H] for g in _GATE_ORDER[first.cell]], axis=1))
            table = np.concatenate(G_blocks, axis=1)
        inp = b.op("Gather", [b.const(table, "embeddings" if kind == "tokens" else "input_table"),
                              st.steps], base="embedded", axis=0)
    seq = last = None
    for i, layer in enumerate(net.layers):
        seq, last = _recurrent_layer(b, layer, params["rnn"][i], inp, st.seq_lens,
                                     first_table=(i == 0 and kind == "onehot"))
        inp = seq
    return _head(b, net, params, seq, last, st, dense_input)


# --------------------------------------------------------------------------- estimators
def _class_tensor(b, classes):
    """``classes_`` as an initializer and its ONNX element type (int64, double, bool or string)."""
    tp = b.onnx.TensorProto
    classes = np.asarray(classes)
    if classes.dtype == object:
        classes = np.array(classes.tolist())
    kind = classes.dtype.kind
    if kind in "iu":
        return b.const(classes.astype(np.int64), "classes"), tp.INT64
    if kind == "b":
        return b.const(classes, "classes"), tp.BOOL
    if kind == "f":
        return b.const(classes, "classes", dtype=np.float64), tp.DOUBLE
    return b.const(classes.astype(str), "classes"), tp.STRING


def _at_least_one_row(b, x, elem):
    """``x`` with a row of zeros appended when it has no row, and its row count ``(1,)``.

    ONNX Runtime's LSTM and GRU kernels crash the process on a batch of 0
    rows; on other batches the appended part is empty.
    """
    shape = b.op("Shape", [x], base="input_shape")
    n = b.op("Slice", [shape, b.const(np.array([0], np.int64), "zero_i"),
                       b.const(np.array([1], np.int64), "one_i")], base="n_rows")
    missing = b.op("Max", [b.op("Sub", [b.const(np.array([1], np.int64), "one_i"), n]),
                           b.const(np.array([0], np.int64), "zero_i")], base="missing_rows")
    rest = b.op("Slice", [shape, b.const(np.array([1], np.int64), "one_i"),
                          b.const(np.array([np.iinfo(np.int64).max], np.int64), "to_end")])
    zero = b.helper.make_tensor("zero", elem, [1], [0])
    pad = b.op("ConstantOfShape", [b.op("Concat", [missing, rest], axis=0)], base="empty_pad",
               value=zero)
    return b.op("Concat", [x, pad], base="rows", axis=0), n


def estimator_outputs(b, model, x):
    """Add ``model``'s network reading ``x`` and its outputs, named as skl2onnx names them.

    Classifiers give ``label`` (N,) and ``probabilities`` (N, n_classes); the
    tagger ``label`` (N, T) and ``probabilities`` (N, T, n_classes);
    regressors ``variable`` (N,) or (N, n_outputs), as ``predict`` shapes it.
    """
    from ..estimators import RNNClassifier, RNNRegressor, RNNSequenceTagger

    net = model._fitted_network()
    check_network(net)
    oov = model._unknown_id() if hasattr(model, "_unknown_id") else None
    if oov is not None and net.input_kind != "dense":
        x = map_unknown_ids(b, x, net.n_in, oov)
    x, n_rows = _at_least_one_row(b, x, b.elem if net.input_kind == "dense" else
                                  b.onnx.TensorProto.INT64)
    logits = network_graph(b, net, model.params_, x)
    logits = b.op("Slice", [logits, b.const(np.array([0], np.int64), "zero_i"), n_rows,
                            b.const(np.array([0], np.int64), "zero_i")], base="logits_rows")
    per_row = "T" if net.per_step else None
    if isinstance(model, RNNRegressor):
        if model.y_ndim_ == 1:
            out = b.op("Squeeze", [logits, b.const(np.array([1], np.int64), "axes1")], base="squeezed")
            b.output(out, "variable", b.elem, ["N"])
        else:
            b.output(logits, "variable", b.elem, ["N", net.n_outputs])
        return
    if not isinstance(model, (RNNClassifier, RNNSequenceTagger)):
        raise TypeError(f"cannot export {type(model).__name__}")
    axis = 2 if net.per_step else 1
    if net.n_outputs == 1:  # binary classifier: one logit
        p = b.op("Sigmoid", [logits])
        proba = b.op("Concat", [b.op("Sub", [b.const(np.array(1.0), "one_f"), p]), p], base="proba",
                     axis=1)
    else:
        proba = b.op("Softmax", [logits], base="proba", axis=axis)
    classes, elem = _class_tensor(b, model.classes_)
    best = b.op("ArgMax", [proba], base="best", axis=axis, keepdims=0)
    label = b.op("Gather", [classes, best], base="label_values", axis=0)
    n_classes = len(model.classes_)
    b.output(label, "label", elem, ["N", per_row] if per_row else ["N"])
    b.output(proba, "probabilities", b.elem,
             ["N", per_row, n_classes] if per_row else ["N", n_classes])


def check_exportable(model):
    from sklearn.utils.validation import check_is_fitted

    from ..estimators import RNNClassifier, RNNRegressor, RNNSequenceTagger

    if not isinstance(model, (RNNClassifier, RNNRegressor, RNNSequenceTagger)):
        raise TypeError("model must be a fitted RNNClassifier, RNNRegressor or RNNSequenceTagger, "
                        f"or a Pipeline(TextSequencer, one of them); got {type(model).__name__}")
    check_is_fitted(model, "params_")
    if getattr(model, "variable_length_", False):
        warn_at_caller(f"{type(model).__name__} was fitted on float sequences of several lengths "
                       "(a mask), which the ONNX graph has no input for: it reads every step of X "
                       "as real, so give it unpadded rows (one sequence, or sequences of one "
                       "length, per call); padded rows are read as if the padding were data",
                       UserWarning)


def model_input(b, model, name="X"):
    """Declare the graph input of an estimator: ids (N, T) int64 or floats (N, T, F)."""
    tp = b.onnx.TensorProto
    net = model._fitted_network()
    n_cols = model.n_timesteps_ if net.head.pooling == "flatten" else "T"
    if net.input_kind == "dense":
        return b.input(name, b.elem, ["N", n_cols, net.n_in])
    return b.input(name, tp.INT64, ["N", n_cols])
