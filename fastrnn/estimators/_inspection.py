"""What a fitted many-to-one estimator computes inside: pooled features, attention, attributions.

:class:`PooledInspectionMixin` gives :class:`~fastrnn.RNNClassifier` and
:class:`~fastrnn.RNNRegressor` (through ``BasePooledRNN``):

- ``transform``: the pooled features the output layer reads, so a fitted
  network can feed another estimator (a ``Pipeline`` step, a
  ``StackingClassifier`` base estimator);
- ``attention_weights``: the ``head="attention"`` weights per input position;
- ``explain``: per-position attributions by integrated gradients
  (Sundararajan et al., 2017), through the network's own backward pass.

Integrated gradients of an output ``F`` at input ``x`` against a baseline
``x'`` are ``(x - x') * mean_k dF/dx(x' + a_k (x - x'))`` with the midpoint
rule ``a_k = (k + 1/2) / n_steps``, summed over the features of each step.
For token input ``x`` is the sequence of the tokens' embeddings: the network
is run as a float-input network (a :class:`~fastrnn.layers.DenseEncoder` in
front of the same stack and head) on interpolated embeddings, with the
token sequence's padding as its step mask.
"""

import numbers

import numpy as np
from sklearn.base import TransformerMixin, is_classifier
from sklearn.utils.validation import check_is_fitted

from ..layers import DenseEncoder, SequenceModel, pack_dense, reverse_packed
from ..layers._packing import MaskedSequences, real_positions
from ..losses import sigmoid, softmax
from ..runtime import engine_scope
from ..training import pack_batch, predict_outputs

#: Rows times integration steps run as one batch by ``explain``.
_IG_BATCH = 512


def _in_batches(n, batch_size, fn):
    """``fn(rows)`` over consecutive row ranges of ``range(n)``, stacked on the first axis."""
    return np.concatenate([fn(np.arange(lo, min(lo + batch_size, n)))
                           for lo in range(0, n, batch_size)], axis=0)


def _values_and_mask(X, rows):
    """Float values (B, T, F) and step mask (B, T) of some rows of validated float input."""
    if isinstance(X, MaskedSequences):
        return X.values[rows], X.mask[rows]
    values = X[rows]
    return values, np.ones(values.shape[:2], dtype=bool)


def _at_inputs(packed, per_step):
    """Per packed step values (T, B, ...) at the input positions (B, T_in, ...), 0 at padding."""
    B = per_step.shape[1]
    steps = np.maximum(packed.positions, 0)
    out = per_step[steps, np.arange(B)[:, None]]
    real = real_positions(packed)
    return np.where(real.reshape(real.shape + (1,) * (out.ndim - 2)), out, 0)


def integrated_gradients(net, params, X, target_index, value_and_grad, baseline="zeros",
                         n_steps=32, n_threads=1):
    """Integrated-gradients attributions of one output per row, per input position.

    Parameters
    ----------
    net : SequenceModel
        With token ("tokens") or float ("dense") input.
    params : dict
    X : ndarray of shape (n, T_in) int, (n, T_in, F) float, or MaskedSequences
        Validated input.
    target_index : ndarray of shape (n,), int
        For each row, which output to attribute (passed to ``value_and_grad``).
    value_and_grad : callable
        ``(outputs (B, n_outputs), index (B,)) -> (values (B,), d_outputs (B, n_outputs))``:
        the attributed value of each row and its gradient on the outputs.
    baseline : "zeros", int or array-like of shape (D,), default "zeros"
        The path's start at every real step: zeros, the embedding of a token
        id (token input), or one vector of the step width ``D`` (the embedding
        width, or the features per step of float input).  Padding stays
        padding all along the path.
    n_steps : int, default 32
        Midpoints of the Riemann sum; its error shrinks as ``1 / n_steps**2``.
    n_threads : int, default 1

    Returns
    -------
    attributions : ndarray of shape (n, T_in), float64
        Exactly 0 at padded positions.
    at_input : ndarray of shape (n,)
        The attributed value at ``X``.
    at_baseline : ndarray of shape (n,)
        The attributed value at the baseline; by completeness,
        ``attributions.sum(axis=1) ~= at_input - at_baseline``.
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive int, got {n_steps!r}")
    tokens = net.input_kind == "tokens"
    if net.input_kind == "onehot":
        raise ValueError("explain needs input_encoding='embedding' or float input: one-hot input "
                         "has no embedding to interpolate")
    if tokens:
        table = params[net.encoder.key]
        width = table.shape[1]
        dense_net = SequenceModel(DenseEncoder(width), net.stack, net.head, net.n_timesteps)
        dense_params = {k: v for k, v in params.items() if k != net.encoder.key}
    else:
        width = net.encoder.width
        dense_net, dense_params = net, params
    dtype = net.weights(params)[0].dtype
    base = _baseline_vector(baseline, width, table if tokens else None, dtype)
    alphas = ((np.arange(n_steps) + 0.5) / n_steps).astype(dtype)
    n = len(X)
    attributions = np.zeros((n, X.shape[1]))
    at_input, at_baseline = np.zeros(n), np.zeros(n)
    rows_per_batch = max(1, _IG_BATCH // (n_steps + 2))
    for lo in range(0, n, rows_per_batch):
        rows = np.arange(lo, min(lo + rows_per_batch, n))
        if tokens:
            ids = X[rows]
            values, mask = table[ids], ids != 0
        else:
            values, mask = _values_and_mask(X, rows)
            values = values.astype(dtype, copy=False)
        B = len(rows)
        delta = values - base
        # the path's points, then the input and the baseline themselves, as one batch
        coeff = np.concatenate([alphas, np.array([1.0, 0.0], dtype)])
        path = base + coeff[:, None, None, None] * delta[None]
        path_mask = np.broadcast_to(mask, (len(coeff),) + mask.shape)
        packed = pack_dense(path.reshape((-1,) + path.shape[2:]), path_mask.reshape(-1, mask.shape[1]))
        index = np.tile(target_index[rows], len(coeff))
        outputs, cache = dense_net.forward(dense_params, packed, training=True, n_threads=n_threads)
        values_out, d_out = value_and_grad(outputs.astype(np.float64), index)
        d_x = _input_gradient(dense_net, dense_params, cache, d_out.astype(dtype))
        grads = _at_inputs(packed, d_x).reshape((len(coeff), B) + values.shape[1:])
        mean_grad = grads[:n_steps].astype(np.float64).mean(axis=0)
        attributions[rows] = (delta * mean_grad).sum(axis=2) * mask
        values_out = values_out.reshape(len(coeff), B)
        at_input[rows], at_baseline[rows] = values_out[n_steps], values_out[n_steps + 1]
    return attributions, at_input, at_baseline


def _baseline_vector(baseline, width, table, dtype):
    if isinstance(baseline, str):
        if baseline != "zeros":
            raise ValueError(f"baseline must be 'zeros', a token id or a vector, got {baseline!r}")
        return np.zeros(width, dtype)
    if isinstance(baseline, numbers.Integral) and not isinstance(baseline, bool):
        if table is None:
            raise ValueError("baseline=<token id> needs token input; pass 'zeros' or a vector of "
                             "the features per step")
        if not 0 <= baseline < len(table):
            raise ValueError(f"baseline token id {baseline} is outside the vocabulary "
                             f"(0..{len(table) - 1})")
        return table[baseline].astype(dtype)
    vec = np.asarray(baseline, dtype=np.float64)
    if vec.shape != (width,) or not np.isfinite(vec).all():
        raise ValueError(f"baseline must be 'zeros', a token id or a finite vector of shape "
                         f"({width},), got shape {vec.shape}")
    return vec.astype(dtype)


def _input_gradient(net, params, cache, d_out):
    """Gradient on the first layer's float input per packed step, (T, B, F), directions summed."""
    _, d_last, d_seq = net.head.backward(params[net.head.key], cache["head"], d_out)
    _, d_inputs, _ = net.stack.backward(params["rnn"], cache["stack"], cache["start"],
                                        d_last=d_last, d_seq=d_seq)
    total = d_inputs[0]
    if len(d_inputs) == 2:  # the backward direction's steps run reversed
        total = total + reverse_packed(d_inputs[1], cache["start"])
    return total


def _class_probability_and_grad(outputs, index):
    """The probability of class ``index`` per row and its gradient on the logits."""
    if outputs.shape[1] == 1:
        p1 = sigmoid(outputs[:, 0])
        sign = np.where(index == 1, 1.0, -1.0)
        value = np.where(index == 1, p1, 1.0 - p1)
        return value, (sign * p1 * (1.0 - p1))[:, None]
    proba = softmax(outputs)
    rows = np.arange(len(index))
    value = proba[rows, index]
    d = -value[:, None] * proba
    d[rows, index] += value
    return value, d


def _output_and_grad(outputs, index):
    """Regression output ``index`` per row and its gradient on the outputs."""
    rows = np.arange(len(index))
    d = np.zeros_like(outputs)
    d[rows, index] = 1.0
    return outputs[rows, index], d


class PooledInspectionMixin(TransformerMixin):
    """``transform``, ``attention_weights`` and ``explain`` of a many-to-one estimator."""

    #: Rows per batch of ``transform`` and ``attention_weights``.
    _INSPECT_BATCH = 256

    def _inspect_input(self, X, mask):
        check_is_fitted(self, "params_")
        return self._validate_X(X, reset=False, **({} if mask is None else {"mask": mask}))

    def transform(self, X, mask=None):
        """The pooled features that the output layer reads, one row per sequence.

        The last state, the flattened steps, or the mean, max or attention
        pooling of the top recurrent layer's outputs (as ``head`` says), e.g.
        to feed a fitted network's representation to another estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features)
        mask : array-like of shape (n_samples, n_timesteps), bool, optional
            Real steps of padded float sequences (as in ``predict``).

        Returns
        -------
        ndarray of shape (n_samples, n_features_out)
            ``n_features_out`` is the top layer's units (times 2 when
            bidirectional; times ``n_timesteps`` for ``head="flatten"``).
        """
        X = self._inspect_input(X, mask)
        net = self._fitted_network()
        with engine_scope():
            return _in_batches(len(X), self._INSPECT_BATCH, lambda rows: net.features(
                self.params_, pack_batch(X[rows], net.input_kind),
                self._resolved_threads()).astype(np.float64))

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then :meth:`transform` the same ``X``, with the ``mask`` given to ``fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        **fit_params
            Passed to ``fit`` (``sample_weight``, ``validation_data``, ``mask``).

        Returns
        -------
        ndarray of shape (n_samples, n_features_out)
        """
        return self.fit(X, y, **fit_params).transform(X, mask=fit_params.get("mask"))

    @property
    def _n_features_out(self):
        return self._fitted_network().head.in_width

    def get_feature_names_out(self, input_features=None):
        """Names of :meth:`transform`'s columns: the class name in lower case and an index.

        As scikit-learn's transformers name theirs (``rnnclassifier0``,
        ``rnnclassifier1``, ...), for ``set_output(transform="pandas")``.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "params_")
        prefix = type(self).__name__.lower()
        return np.array([f"{prefix}{i}" for i in range(self._n_features_out)], dtype=object)

    def attention_weights(self, X, mask=None):
        """The attention head's weight of every input position.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features)
        mask : array-like of shape (n_samples, n_timesteps), bool, optional

        Returns
        -------
        ndarray of shape (n_samples, n_timesteps)
            Aligned with ``X``'s columns: 0 at padding, and each row's weights
            sum to 1 over its real steps (a row without real steps is all 0).

        Raises
        ------
        ValueError
            Unless the model was fitted with ``head="attention"``.
        """
        check_is_fitted(self, "params_")
        if self.head != "attention":
            raise ValueError(f"attention_weights needs a model fitted with head='attention'; this "
                             f"one has head={self.head!r}")
        X = self._inspect_input(X, mask)
        net = self._fitted_network()
        with engine_scope():
            return _in_batches(len(X), self._INSPECT_BATCH, lambda rows: net.attention(
                self.params_, pack_batch(X[rows], net.input_kind),
                self._resolved_threads()).astype(np.float64))

    def explain(self, X, target=None, *, baseline="zeros", n_steps=32, mask=None):
        """Per-token attributions by integrated gradients.

        Each position's share of the change of the explained output between a
        baseline input and ``X``: the shares of a row sum to that change, up
        to the Riemann sum's error (completeness).  Classifiers explain a
        class's probability (``predict_proba``), regressors an output value.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps) or (n_samples, n_timesteps, n_features)
            Token ids (``input_encoding="embedding"``) or float sequences;
            one-hot input is refused.
        target : label, array-like of shape (n_samples,), int or None, default None
            Classifiers: the class (a label of ``classes_``, one for all rows
            or one per row); None explains each row's predicted class (also
            as one row's entry).
            Regressors: the output's index; None for a single output.
        baseline : "zeros", int or array-like of shape (n_dims,), default "zeros"
            Where the path starts at every real step: the zero vector
            (default), the embedding of a token id (e.g. 1, the
            out-of-vocabulary id), or a vector as wide as the embedding (or
            the features per step of float input).  Padding stays padding.
        n_steps : int, default 32
            Points of the midpoint Riemann sum; the completeness error shrinks
            as ``1 / n_steps**2``.  Cost: about ``n_steps`` forward and backward
            passes.
        mask : array-like of shape (n_samples, n_timesteps), bool, optional
            Real steps of padded float sequences.

        Returns
        -------
        ndarray of shape (n_samples, n_timesteps)
            Aligned with ``X``'s columns; exactly 0 at padding.  Positive values
            raise the explained output.
        """
        X = self._inspect_input(X, mask)
        index = self._explained_index(target, X)
        value_and_grad = _class_probability_and_grad if is_classifier(self) else _output_and_grad
        with engine_scope():
            attributions, _, _ = integrated_gradients(
                self._fitted_network(), self.params_, X, index, value_and_grad, baseline=baseline,
                n_steps=n_steps, n_threads=self._resolved_threads())
        return attributions

    def _explained_index(self, target, X):
        """For each row of validated ``X``, which output ``explain`` attributes."""
        n = len(X)
        if not is_classifier(self):
            if target is None:
                if self.n_outputs_ != 1:
                    raise ValueError(f"the model has {self.n_outputs_} outputs: pass target=<output "
                                     "index> to choose the one to explain")
                return np.zeros(n, dtype=np.intp)
            if (isinstance(target, bool) or not isinstance(target, numbers.Integral)
                    or not 0 <= target < self.n_outputs_):
                raise ValueError(f"target must be an output index in 0..{self.n_outputs_ - 1}, "
                                 f"got {target!r}")
            return np.full(n, int(target), dtype=np.intp)
        if hasattr(target, "to_numpy"):  # a pandas Series
            target = target.to_numpy()
        if isinstance(target, np.ndarray) and target.ndim == 0:
            target = target.item()
        rows = None
        if not isinstance(target, (str, bytes, dict)) and np.ndim(target) >= 1:
            if np.ndim(target) > 1:
                raise ValueError(f"target must be one label or one per row ({n}), got shape "
                                 f"{np.shape(target)}")
            rows = list(target)
        if rows is not None and len(rows) != n:
            raise ValueError(f"target must be one label or one per row ({n}), got "
                             f"{len(rows)} labels")
        rows = [target] * n if rows is None else rows
        if any(t is None for t in rows):  # None: the row's predicted class
            with engine_scope():
                logits = predict_outputs(self._fitted_network(), self.params_, X,
                                         max(self.batch_size, 256), self._resolved_threads())
            predicted = ((logits[:, 0] > 0) if logits.shape[1] == 1 else logits.argmax(axis=1))
        lookup = {c: i for i, c in enumerate(self.classes_.tolist())}
        index, unknown = np.empty(n, dtype=np.intp), []
        for i, t in enumerate(rows):
            if t is None:
                index[i] = predicted[i]
                continue
            try:
                index[i] = lookup[t.item() if isinstance(t, np.generic) else t]
            except (KeyError, TypeError):  # (TypeError: an unhashable value is no label)
                index[i] = -1
                if t not in unknown:
                    unknown.append(t)
        if unknown:
            raise ValueError(f"target holds labels not in classes_: {unknown[:10]!r}; classes are "
                             f"{self.classes_.tolist()}")
        return index
