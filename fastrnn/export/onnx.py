"""ONNX export: :func:`to_onnx`, a fitted estimator or text pipeline as one ONNX graph.

How the graph is built is described in :mod:`fastrnn.export._graph` (the
network) and :mod:`fastrnn.export.text` (the text pipeline).
"""

from ._graph import (
    GraphBuilder,
    check_exportable,
    check_dtype,
    check_opset,
    estimator_outputs,
    import_onnx,
    model_input,
)
from .text import pipeline_graph


def to_onnx(model, path=None, *, opset=None, dtype=None):
    """Export a fitted model to ONNX.

    Parameters
    ----------
    model : RNNClassifier, RNNRegressor, RNNSequenceTagger or Pipeline
        Fitted.  A ``Pipeline(TextSequencer, estimator)`` exports whole: the
        graph reads raw strings (``X`` of shape (N,)).
    path : str or path-like, optional
        Also write the model to this file.
    opset : int, optional
        ONNX opset of the default domain: 14 or newer, 18 by default (or the
        installed onnx's newest, if older).
    dtype : {None, "float32", "float64"}
        Float type of the weights, float inputs and outputs; None is float32.
        ONNX Runtime's CPU recurrent kernels run float32 only.

    Returns
    -------
    onnx.ModelProto
        Input ``X``: token ids (N, T) int64 (0 is padding, anywhere in a row)
        or floats (N, T, F); the flatten head fixes ``T``.  Outputs: ``label``
        and ``probabilities`` for classifiers (per position for the tagger),
        ``variable`` for regressors, equal to ``predict`` and ``predict_proba``.

    Raises
    ------
    ImportError
        When onnx is not installed.
    ValueError
        For a part of the model ONNX cannot express (e.g. a pipeline setting
        its string operators lack), naming it.

    Examples
    --------
    >>> onx = fastrnn.to_onnx(clf, "model.onnx")                     # doctest: +SKIP
    >>> import onnxruntime as ort                                    # doctest: +SKIP
    >>> sess = ort.InferenceSession("model.onnx")                    # doctest: +SKIP
    >>> labels, proba = sess.run(None, {"X": X.astype("int64")})     # doctest: +SKIP
    """
    onnx = import_onnx()
    opset = check_opset(onnx, opset)
    dt = check_dtype(dtype)
    b = GraphBuilder(onnx, opset, dt)
    if hasattr(model, "steps"):  # a scikit-learn Pipeline
        pipeline_graph(b, model)
        name = "fastrnn_pipeline"
    else:
        check_exportable(model)
        estimator_outputs(b, model, model_input(b, model))
        name = f"fastrnn_{type(model).__name__}"
    onx = b.model(name, doc=f"{type(model).__name__} exported by fastrnn")
    if path is not None:
        onnx.save_model(onx, str(path))
    return onx
