"""Converters that let ``skl2onnx.to_onnx`` convert fastrnn's estimators and ``TextSequencer``.

:func:`register_skl2onnx` registers one converter per class, so a pipeline
that mixes fastrnn steps with scikit-learn ones converts through skl2onnx.
Each converter builds its part with the same code as :func:`fastrnn.to_onnx`
and copies the nodes into skl2onnx's graph under fresh names.  The estimators'
outputs are those of :func:`fastrnn.to_onnx` (``label`` and ``probabilities``
without a ZipMap, ``variable`` for regressors); ``TextSequencer`` outputs the
padded ids (N, maxlen) int64.
"""

import numpy as np

from ._graph import (
    GraphBuilder,
    check_exportable,
    _OTHER_DOMAINS,
    check_opset,
    estimator_outputs,
    import_onnx,
)
from .text import sequencer_ids

_SKL2ONNX_HINT = "converting with skl2onnx needs it installed: pip install skl2onnx"


def _target_opset(container):
    opset = container.target_opset
    if isinstance(opset, dict):
        opset = opset.get("", None)
    return opset


def _copy_into(b, scope, operator, container):
    """Copy the builder's graph into skl2onnx's, wiring its input ``X`` and outputs to the operator's."""
    onnx = b.onnx
    names = {"X": operator.inputs[0].full_name}
    for out, var in zip(b.outputs, operator.outputs):
        names[out.name] = var.full_name

    def rename(name):
        if name == "":
            return name
        if name not in names:
            names[name] = scope.get_unique_variable_name(f"fastrnn_{name}")
        return names[name]

    for tensor in b.initializers:
        if tensor.data_type == onnx.TensorProto.STRING:
            container.add_initializer(rename(tensor.name), tensor.data_type, list(tensor.dims),
                                      [v.decode("utf-8") for v in tensor.string_data])
        else:
            container.add_initializer(rename(tensor.name), tensor.data_type, list(tensor.dims), tensor)
    versions = {"": b.opset, **_OTHER_DOMAINS}
    for node in b.nodes:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        container.add_node(node.op_type, [rename(i) for i in node.input],
                           [rename(o) for o in node.output], op_domain=node.domain,
                           op_version=versions[node.domain],
                           name=scope.get_unique_operator_name(f"fastrnn_{node.op_type}"), **attrs)


def _builder(container):
    onnx = import_onnx()
    return GraphBuilder(onnx, check_opset(onnx, _target_opset(container)), np.float32)


def _convert_estimator(scope, operator, container):
    model = operator.raw_operator
    b = _builder(container)
    estimator_outputs(b, model, b.reserve("X"))
    _copy_into(b, scope, operator, container)


def _convert_sequencer(scope, operator, container):
    b = _builder(container)
    # skl2onnx feeds texts as (N,) or (N, 1)
    text = b.op("Reshape", [b.reserve("X"), b.const(np.array([-1], np.int64), "shape_flat")], base="texts")
    ids = sequencer_ids(b, operator.raw_operator, text)
    b.output(ids, "ids", b.onnx.TensorProto.INT64, ["N", "T"])
    _copy_into(b, scope, operator, container)


def _no_shapes(operator):
    """The parsers already typed every output."""


def register_skl2onnx():
    """Register skl2onnx converters for the fastrnn estimators and ``TextSequencer``.

    After this call ``skl2onnx.to_onnx`` converts them, alone or inside a
    scikit-learn pipeline, with the graphs of :func:`fastrnn.to_onnx`.

    Raises
    ------
    ImportError
        When skl2onnx (or onnx) is not installed.

    Examples
    --------
    >>> from fastrnn.export import register_skl2onnx                   # doctest: +SKIP
    >>> register_skl2onnx()                                            # doctest: +SKIP
    >>> from skl2onnx import to_onnx                                   # doctest: +SKIP
    >>> from skl2onnx.common.data_types import StringTensorType        # doctest: +SKIP
    >>> onx = to_onnx(pipe, initial_types=[("X", StringTensorType([None]))])  # doctest: +SKIP
    """
    import_onnx()
    try:
        from skl2onnx import update_registered_converter
        from skl2onnx.common.data_types import (
            BooleanTensorType,
            DoubleTensorType,
            FloatTensorType,
            Int64TensorType,
            StringTensorType,
        )
    except ImportError as exc:
        raise ImportError(_SKL2ONNX_HINT) from exc
    from ..estimators import RNNClassifier, RNNRegressor, RNNSequenceTagger
    from ..text import TextSequencer

    def label_type(classes, shape):
        kind = np.asarray(classes).dtype.kind
        if kind in "iu":
            return Int64TensorType(shape)
        if kind == "b":
            return BooleanTensorType(shape)
        if kind == "f":
            return DoubleTensorType(shape)
        return StringTensorType(shape)

    def outputs(model):
        # shapes as fastrnn.to_onnx declares them (onnx.checker requires one on every output)
        if isinstance(model, TextSequencer):
            return [("ids", Int64TensorType([None, model.maxlen]))]
        check_exportable(model)
        if isinstance(model, RNNRegressor):
            return [("variable", FloatTensorType([None] if model.y_ndim_ == 1
                                                 else [None, model.n_outputs_]))]
        rows = [None, None] if isinstance(model, RNNSequenceTagger) else [None]
        return [("label", label_type(model.classes_, rows)),
                ("probabilities", FloatTensorType(rows + [len(model.classes_)]))]

    def make_parser(alias):
        def parse(scope, model, inputs, custom_parsers=None):
            operator = scope.declare_local_operator(alias, model)
            operator.inputs = inputs
            for name, type_ in outputs(model):
                operator.outputs.append(scope.declare_local_variable(name, type_))
            return operator.outputs

        return parse

    for cls in (RNNClassifier, RNNRegressor, RNNSequenceTagger, TextSequencer):
        alias = f"Fastrnn{cls.__name__}"
        convert = _convert_sequencer if cls is TextSequencer else _convert_estimator
        update_registered_converter(cls, alias, _no_shapes, convert, parser=make_parser(alias))
