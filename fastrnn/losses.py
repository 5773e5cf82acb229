"""Losses on the network's logits, as weighted means over the batch.

Each function takes ``logits`` of shape (B, K), targets and per-sample weights
``w`` of shape (B,), and returns the mean loss (the sum of weight times loss
over the sum of the weights, as scikit-learn's ``MLPClassifier``; Keras divides
by the number of rows instead, the same without weights) and its gradient with
respect to the logits.
"""

import numpy as np

_EPS = 1e-7  # Keras's backend epsilon: probabilities are clipped to [eps, 1 - eps]


def sigmoid(x):
    """Numerically stable logistic function."""
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def softmax(x):
    """Row-wise softmax."""
    z = np.exp(x - x.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def binary_crossentropy(logits, y, w):
    """Sigmoid + binary cross-entropy.

    Parameters
    ----------
    logits : ndarray of shape (B, 1)
    y : ndarray of shape (B,), values in {0, 1}
    w : ndarray of shape (B,)

    Returns
    -------
    loss : float
    d_logits : ndarray of shape (B, 1)
    """
    z = logits[:, 0]
    # log(1 + exp(-|z|)) form: exact and overflow-free; exp(-|z|) also gives the sigmoid
    e = np.exp(np.copysign(z, -1.0))  # exp(-|z|), -|z| in one pass
    per = np.maximum(z, 0) - z * y + np.log1p(e)
    total = np.add.reduce(w)  # w.sum() without the method's Python layer: a small batch feels it
    # the sigmoid: 1 / (1 + e) for z >= 0, e / (1 + e) below; exp(min(z, 0)) is that numerator
    sig = np.exp(np.minimum(z, 0))
    np.divide(sig, 1.0 + e, out=sig)
    grad = (sig - y) * w / total
    return float(np.add.reduce(per * w) / total), grad[:, None].astype(logits.dtype)


def categorical_crossentropy(logits, y, w):
    """Softmax + sparse categorical cross-entropy.

    Parameters
    ----------
    logits : ndarray of shape (B, K)
    y : ndarray of shape (B,), int class indices
    w : ndarray of shape (B,)

    Returns
    -------
    loss : float
    d_logits : ndarray of shape (B, K)
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(y))
    total = w.sum()
    loss = -(log_p[rows, y] * w).sum() / total
    grad = np.exp(log_p)
    grad[rows, y] -= 1.0
    grad *= (w / total)[:, None]
    return float(loss), grad.astype(logits.dtype)


def mean_squared_error(outputs, y, w):
    """Mean squared error averaged over outputs, then (weighted) over samples.

    Parameters
    ----------
    outputs : ndarray of shape (B, K)
    y : ndarray of shape (B, K)
    w : ndarray of shape (B,)

    Returns
    -------
    loss : float
    d_outputs : ndarray of shape (B, K)
    """
    diff = outputs - y
    K = outputs.shape[1]
    total = w.sum()
    loss = ((diff ** 2).mean(axis=1) * w).sum() / total
    grad = 2.0 * diff / K * (w / total)[:, None]
    return float(loss), grad.astype(outputs.dtype)


def pinball_loss(outputs, y, w, quantiles):
    """Pinball (quantile) loss, averaged over targets and quantiles, then (weighted) over samples.

    For a quantile ``q``, a target ``y`` and a prediction ``o``, the loss is
    ``q * (y - o)`` when ``y >= o`` and ``(1 - q) * (o - y)`` otherwise; its
    minimiser over a distribution of ``y`` is that distribution's ``q``-quantile.
    Where ``y == o`` exactly the gradient taken is that of the ``y >= o`` side.

    Parameters
    ----------
    outputs : ndarray of shape (B, K * Q)
        For every target ``k``, its ``Q`` quantiles side by side:
        ``outputs.reshape(B, K, Q)[:, k, j]`` predicts quantile ``quantiles[j]`` of ``y[:, k]``.
    y : ndarray of shape (B, K)
    w : ndarray of shape (B,)
    quantiles : sequence of float, length Q
        Each in (0, 1).

    Returns
    -------
    loss : float
    d_outputs : ndarray of shape (B, K * Q)
    """
    q = np.asarray(quantiles, dtype=np.float64)
    B, K = y.shape
    o = outputs.reshape(B, K, len(q)).astype(np.float64)
    diff = y[:, :, None] - o
    above = diff >= 0
    per = np.where(above, q * diff, (q - 1.0) * diff).mean(axis=(1, 2))
    total = w.sum()
    grad = np.where(above, -q, 1.0 - q) / (K * len(q)) * (w / total)[:, None, None]
    return float((per * w).sum() / total), grad.reshape(outputs.shape).astype(outputs.dtype)


LOSS_FUNCTIONS = {
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "mean_squared_error": mean_squared_error,
}


def sequence_crossentropy(logits, y, w):
    """Softmax cross-entropy at every step, ignoring steps labelled -1 (padding).

    Each sequence's weight applies to each of its labelled steps, and the loss
    is the weighted mean over labelled steps (Keras's masked loss).

    Parameters
    ----------
    logits : ndarray of shape (B, T, K)
    y : ndarray of shape (B, T), int class indices, -1 where ignored
    w : ndarray of shape (B,)

    Returns
    -------
    loss : float
    d_logits : ndarray of shape (B, T, K)
    """
    B, T, K = logits.shape
    flat_y = y.reshape(-1)
    keep = flat_y >= 0
    step_w = (np.broadcast_to(w[:, None], (B, T)).reshape(-1) * keep).astype(np.float64)
    total = step_w.sum()
    if total == 0:
        return 0.0, np.zeros_like(logits)
    loss, grad = categorical_crossentropy(logits.reshape(-1, K), np.where(keep, flat_y, 0),
                                          step_w)
    return loss, grad.reshape(B, T, K)


def sequence_accuracy(logits, y, w):
    """Weighted share of labelled steps (``y >= 0``) whose arg-max logit is the label."""
    keep = y >= 0
    step_w = np.broadcast_to(w[:, None], y.shape) * keep
    total = step_w.sum()
    if total == 0:
        return 0.0
    return float(((logits.argmax(axis=2) == y) * step_w).sum() / total)


def sequence_mean_squared_error(outputs, y, w):
    """Mean squared error at every step, ignoring steps whose target is NaN (padding).

    Each sequence's weight applies to each of its real steps, and the loss is
    the weighted mean over real steps of the squared error averaged over
    outputs (Keras's masked loss); padded steps get no gradient.

    Parameters
    ----------
    outputs : ndarray of shape (B, T, K)
    y : ndarray of shape (B, T, K), NaN at padded steps
    w : ndarray of shape (B,)

    Returns
    -------
    loss : float
    d_outputs : ndarray of shape (B, T, K)
    """
    B, T, K = outputs.shape
    keep = ~np.isnan(y[:, :, 0])
    step_w = np.broadcast_to(w[:, None], (B, T))[keep]
    grad = np.zeros_like(outputs)
    if step_w.sum() == 0:
        return 0.0, grad
    loss, grad[keep] = mean_squared_error(outputs[keep], y[keep], step_w)
    return loss, grad


def r2(outputs, y, w=None):
    """R^2 of ``outputs`` against ``y`` per output, averaged over outputs: scikit-learn's ``r2_score``.

    Parameters
    ----------
    outputs, y : ndarray of shape (n_samples, n_outputs)
    w : ndarray of shape (n_samples,), optional
        Sample weights (``r2_score``'s ``sample_weight``).

    Returns
    -------
    float
        An output whose targets are constant scores 1 if predicted exactly,
        else 0 (``r2_score`` with ``force_finite=True``).  0.0 when the
        weights sum to 0.
    """
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    outputs = np.asarray(outputs, dtype=np.float64).reshape(y.shape)
    if w is not None and np.sum(w) == 0:
        return 0.0
    weight = 1.0 if w is None else np.asarray(w, dtype=np.float64)[:, None]
    ss_res = (weight * (y - outputs) ** 2).sum(axis=0)
    ss_tot = (weight * (y - np.average(y, axis=0, weights=w)) ** 2).sum(axis=0)
    # exact comparisons with 0, as r2_score's, so the two agree on every input
    scores = np.ones(y.shape[1])
    valid = (ss_res != 0) & (ss_tot != 0)
    scores[valid] = 1 - ss_res[valid] / ss_tot[valid]
    scores[(ss_res != 0) & (ss_tot == 0)] = 0.0
    return float(scores.mean())


def sequence_r2(outputs, y, w):
    """R^2 over the real steps (``y`` not NaN), weighted per sequence, averaged over outputs.

    Parameters
    ----------
    outputs, y : ndarray of shape (B, T, K)
    w : ndarray of shape (B,)

    Returns
    -------
    float
        :func:`r2` of the real steps, each weighted by its sequence's weight;
        0.0 without any real step.
    """
    keep = ~np.isnan(y[:, :, 0])
    if not keep.any():  # a batch of padding only (a validation batch may be one)
        return 0.0
    return r2(outputs[keep], y[keep], np.broadcast_to(w[:, None], keep.shape)[keep])
