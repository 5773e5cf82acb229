"""The training driver: epochs, batches, dropout masks, truncated BPTT, clipping, callbacks.

Knows nothing about scikit-learn: it receives a :class:`~fastrnn.layers.stack.Network`,
parameters, encoded arrays and an optimizer, and runs epochs until ``max_iter``,
early stopping, a non-finite loss or ``KeyboardInterrupt``.  In the last two
cases it stops, warns, and leaves the best parameters seen in place, so the
model stays usable.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from .callbacks import notify
from .layers import pack_dense, pack_tokens
from .layers._packing import balanced_order
from .utils.threads import parallel_for


def pack_batch(X, input_kind):
    """Kernel layout of a batch of encoded inputs (ids (B, T) or floats (B, T, F))."""
    return pack_dense(X) if input_kind == "dense" else pack_tokens(X)


def batch_rows(X, rows, input_kind, n_threads):
    """Reorder a batch's rows so padding costs nothing (see :func:`balanced_order`)."""
    if input_kind == "dense" or len(rows) < 2:
        return rows
    return rows[balanced_order((X[rows] != 0).sum(axis=1), n_threads)]


def dropout_masks(rng, net, B, dropout, recurrent_dropout, dtype):
    """One fixed mask per sequence, layer and direction (inverted dropout scaling).

    Returns
    -------
    list or None
        ``masks[layer][direction] = (input_mask (B, n_in) or None, recurrent_mask (B, H) or None)``.
    """
    if not dropout and not recurrent_dropout:
        return None
    masks = []
    for layer, n_in in net._layer_inputs():
        per_dir = []
        for _ in range(net.n_dir):
            im = rm = None
            if dropout:
                im = ((rng.random((B, n_in)) >= dropout) / (1.0 - dropout)).astype(dtype)
            if recurrent_dropout:
                rm = ((rng.random((B, layer.units)) >= recurrent_dropout)
                      / (1.0 - recurrent_dropout)).astype(dtype)
            per_dir.append((im, rm))
        masks.append(per_dir)
    return masks


def l2_penalty(net, params, alpha):
    """``alpha * sum(W**2)`` over the kernels (not biases, not embeddings) and its gradient."""
    loss = 0.0
    grads = {}
    for i, directions in enumerate(params["rnn"]):
        for d, p in enumerate(directions):
            for key in ("kernel", "recurrent_kernel"):
                loss += alpha * float((p[key] ** 2).sum())
                grads[(i, d, key)] = 2 * alpha * p[key]
    loss += alpha * float((params["dense"]["kernel"] ** 2).sum())
    grads["dense"] = 2 * alpha * params["dense"]["kernel"]
    return loss, grads


def _add_l2(grads, l2_grads):
    for key, g in l2_grads.items():
        if key == "dense":
            grads["dense"]["kernel"] = grads["dense"]["kernel"] + g
        else:
            i, d, name = key
            grads["rnn"][i][d][name] = grads["rnn"][i][d][name] + g


def copy_params(params):
    """Deep copy of a parameter dict."""
    if isinstance(params, dict):
        return {k: copy_params(v) for k, v in params.items()}
    if isinstance(params, list):
        return [copy_params(v) for v in params]
    return params.copy()


@dataclass
class TrainConfig:
    """Everything the driver needs besides data and parameters."""

    loss_fn: object
    metric_fn: object  # (outputs, y, w) -> float, e.g. accuracy or R^2
    metric_name: str
    n_epochs: int
    batch_size: int
    shuffle: bool
    bptt_truncate: int = None
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    alpha: float = 0.0
    n_threads: int = 1
    early_stopping: bool = False
    monitor: str = "val_loss"
    n_iter_no_change: int = 3
    tol: float = 1e-4
    restore_best_weights: bool = True
    callbacks: list = field(default_factory=list)


@dataclass
class TrainResult:
    params: dict
    n_epochs: int
    best_epoch: int
    best_loss: float
    stopped: str = None  # None, "early_stopping", "non_finite", "interrupted", "callback"


def evaluate(net, params, X, y, w, cfg, batch_size=1024):
    """Loss and metric of ``params`` on a dataset (inference path, no dropout)."""
    outputs = predict_outputs(net, params, X, batch_size, cfg.n_threads)
    loss, _ = cfg.loss_fn(outputs, y, w)
    return loss, cfg.metric_fn(outputs, y, w), outputs


def predict_outputs(net, params, X, batch_size, n_threads):
    """Raw network outputs (logits) for every row of ``X``: (n, n_outputs), or (n, T, n_outputs)
    for a per-step head.

    The input is cut into batches spread over ``n_threads`` threads, each batch
    running single-threaded (one thread hand-off per call instead of one per
    layer, direction and batch); ``batch_size`` shrinks so that every thread
    gets a batch.  A network with one kernel call per batch (one layer, one
    direction) predicts an input of at most ``batch_size`` rows as one batch
    whose rows the kernels split over the threads (ordered as in training, so
    the slices have equal work): the same single hand-off, but one packing and
    projection instead of one per thread.  Otherwise the first layer's
    projections of the input's ids are made once, before the batches (see
    :func:`_prediction_token_tables`).
    """
    shape = (len(X), X.shape[1], net.n_outputs) if net.head == "sequence" else (len(X), net.n_outputs)
    out = np.empty(shape, dtype=net.weights(params)[0].dtype)
    if len(X) <= batch_size and len(net.layers) * net.n_dir == 1:
        # packing and projection hold the GIL, so a batch per thread serialises them; measured
        # 13-28% faster on 64-256 rows of C2/C3 back to back (no change after another framework
        # ran; slower with two layers, whose second hand-off then costs more than it saves)
        rows = batch_rows(X, np.arange(len(X)), net.input_kind, n_threads)
        logits, _ = net.forward(params, pack_batch(X[rows], net.input_kind), n_threads=n_threads)
        out[rows] = logits
        return out
    tables = None if net.input_kind == "dense" else _prediction_token_tables(net, params, X, n_threads)
    n_threads = max(1, min(int(n_threads), len(X)))
    batch_size = max(1, min(batch_size, -(-len(X) // n_threads)))
    starts = range(0, len(X), batch_size)

    def run(j):
        for lo in starts[j::n_threads]:
            rows = np.arange(lo, min(lo + batch_size, len(X)))
            logits, _ = net.forward(params, pack_batch(X[rows], net.input_kind), n_threads=1,
                                    token_tables=tables)
            out[rows] = logits

    parallel_for(run, n_threads)
    return out


def _prediction_token_tables(net, params, X, n_threads):
    """The first layer's projections of the ids in ``X``, made once for all of a prediction's batches.

    Each batch would otherwise project the distinct ids of its own rows (or the
    whole vocabulary); the distinct ids of the whole input are never more rows
    than the batches' tables together, and usually far fewer (C7's 1,024 rows
    of 200 random ids below 20,000, in 4 batches, projected about 18,500 ids
    per batch, 74,000 rows in all, against 20,000 at most now).  Id 0
    (padding) always has a row: padded cells read one, though the kernels never
    use it.

    Returns
    -------
    list of (table, lookup)
        Per direction, for :meth:`fastrnn.layers.stack.Network.forward`'s
        ``token_tables``.
    """
    present = np.zeros(net.n_in, dtype=bool)
    present[X] = True
    present[0] = True
    tokens, lookup = np.flatnonzero(present), None
    if len(tokens) == net.n_in:
        tokens = None  # every id, in order: no gather, no lookup
    else:
        lookup = np.zeros(net.n_in, dtype=np.int32)  # ids absent from X are never looked up
        lookup[tokens] = np.arange(len(tokens), dtype=np.int32)
    return [(table, lookup) for table in net.token_tables(params, tokens, n_threads)]


def train(model, net, params, optimizer, X, y, w, cfg, rng, validation=None, history=None,
          epoch_offset=0):
    """Run the epochs.

    Parameters
    ----------
    model : object
        Passed to the callbacks (the estimator); ``model.stop_training_`` is honoured.
    net : Network
    params : dict
        Updated in place.
    optimizer : Optimizer
    X : ndarray of shape (n, T) int or (n, T, F) float
    y : ndarray of shape (n,) or (n, K)
        Encoded targets.
    w : ndarray of shape (n,)
        Sample weights (class weights folded in).
    cfg : TrainConfig
    rng : numpy.random.Generator
    validation : tuple (Xv, yv, wv) or None
    history : dict of lists, updated in place
    epoch_offset : int
        Epochs already run (warm start), for the logs.

    Returns
    -------
    TrainResult
    """
    history = {} if history is None else history
    n = len(X)
    dtype = net.weights(params)[0].dtype
    flat_params = net.weights(params)
    maximize = cfg.monitor == "val_score"
    best = {"value": np.inf, "params": copy_params(params), "epoch": epoch_offset - 1, "loss": np.inf}
    stalls = 0
    stopped = None
    model.stop_training_ = False
    notify(cfg.callbacks, "on_train_begin", model, n_epochs=epoch_offset + cfg.n_epochs)
    epoch = epoch_offset
    # a diverging run is detected below and reported once; NumPy's own overflow
    # warnings on the way there would only be noise
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            for epoch in range(epoch_offset, epoch_offset + cfg.n_epochs):
                notify(cfg.callbacks, "on_epoch_begin", model, epoch=epoch)
                order = rng.permutation(n) if cfg.shuffle else np.arange(n)
                n_batches = max(1, -(-n // cfg.batch_size))
                total_loss = total_metric = total_w = 0.0
                for bi in range(n_batches):
                    rows = batch_rows(X, order[bi * cfg.batch_size:(bi + 1) * cfg.batch_size],
                                      net.input_kind, cfg.n_threads)
                    packed = pack_batch(X[rows], net.input_kind)
                    masks = dropout_masks(rng, net, len(rows), cfg.dropout, cfg.recurrent_dropout, dtype)
                    logits, cache = net.forward(params, packed, training=True, masks=masks,
                                                bptt_truncate=cfg.bptt_truncate, n_threads=cfg.n_threads)
                    loss, d_logits = cfg.loss_fn(logits, y[rows], w[rows])
                    grads = net.backward(params, cache, d_logits)
                    if cfg.alpha:
                        l2, l2_grads = l2_penalty(net, params, cfg.alpha)
                        loss += l2
                        _add_l2(grads, l2_grads)
                    if not np.isfinite(loss):
                        stopped = "non_finite"
                        break
                    optimizer.update(flat_params, net.weights(grads), cfg.n_threads)
                    bw = float(w[rows].sum())
                    total_loss += loss * bw
                    total_metric += cfg.metric_fn(logits, y[rows], w[rows]) * bw
                    total_w += bw
                    notify(cfg.callbacks, "on_batch_end", model, epoch=epoch, batch=bi,
                           n_batches=n_batches, loss=total_loss / total_w)
                if stopped:
                    break
                if not all(np.isfinite(p).all() for p in flat_params):
                    stopped = "non_finite"
                    break
                logs = {"loss": total_loss / total_w, cfg.metric_name: total_metric / total_w}
                if validation is not None:
                    v_loss, v_metric, _ = evaluate(net, params, *validation, cfg)
                    logs["val_loss"] = v_loss
                    logs["val_" + cfg.metric_name] = v_metric
                for k, v in logs.items():
                    history.setdefault(k, []).append(float(v))
                # the monitored quantity: validation if there is any, else the training loss
                if validation is not None:
                    value = -logs["val_" + cfg.metric_name] if maximize else logs["val_loss"]
                else:
                    value = logs["loss"]
                if value < best["value"] - cfg.tol:
                    best.update(value=value, params=copy_params(params), epoch=epoch, loss=logs["loss"])
                    stalls = 0
                else:
                    stalls += 1
                notify(cfg.callbacks, "on_epoch_end", model, epoch=epoch, logs=logs,
                       is_best=best["epoch"] == epoch, params=params)
                if model.stop_training_:
                    stopped = "callback"
                    break
                if cfg.early_stopping and stalls >= cfg.n_iter_no_change:
                    stopped = "early_stopping"
                    break
        except KeyboardInterrupt:
            stopped = "interrupted"
            warnings.warn("fit interrupted by the user: keeping the best weights seen so far",
                          RuntimeWarning, stacklevel=3)
    if stopped == "non_finite":
        warnings.warn(f"training diverged (non-finite loss) in epoch {epoch + 1}: stopped and "
                      "restored the best weights seen; try a lower learning_rate or clipnorm",
                      RuntimeWarning, stacklevel=3)
    restore = stopped in ("non_finite", "interrupted") or (
        cfg.restore_best_weights and (cfg.early_stopping or stopped == "early_stopping"))
    if restore:
        for dst, src in zip(flat_params, net.weights(best["params"])):
            dst[...] = src
    n_run = epoch - epoch_offset + (0 if stopped in ("non_finite", "interrupted") else 1)
    notify(cfg.callbacks, "on_train_end", model, logs=history)
    return TrainResult(params, max(n_run, 0), best["epoch"], best["loss"], stopped)


def train_stream(model, net, params, optimizer, inputs, targets, window, n_epochs, n_threads,
                 history, epoch_offset=0, callbacks=()):
    """Windowed truncated BPTT over parallel token streams (language models).

    The streams are cut into consecutive windows of ``window`` steps; the state
    at the end of a window starts the next one (reset at every epoch), and
    gradients flow only within a window.  Stops on a non-finite loss or
    ``KeyboardInterrupt``, restoring the parameters of the last complete epoch.

    Parameters
    ----------
    model : estimator
        Passed to the callbacks.
    net : Network
        With the "sequence" head.
    params : dict
        Changed in place.
    optimizer : Optimizer
    inputs, targets : ndarray of shape (B, L), int
        Token ids of ``B`` parallel streams, and the next token of each.
    window : int
    n_epochs : int
    n_threads : int
    history : dict
        Gains one ``loss`` value (mean cross-entropy per token) per epoch.
    epoch_offset : int
    callbacks : list of Callback

    Returns
    -------
    TrainResult
    """
    from .losses import sequence_crossentropy

    B, L = inputs.shape
    flat_params = net.weights(params)
    weights = np.ones(B)
    last_good = copy_params(params)
    stopped = None
    n_run = 0
    model.stop_training_ = False
    notify(callbacks, "on_train_begin", model, n_epochs=epoch_offset + n_epochs)
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            for epoch in range(epoch_offset, epoch_offset + n_epochs):
                notify(callbacks, "on_epoch_begin", model, epoch=epoch)
                states, total, n_windows = None, 0.0, -(-L // window)
                for wi, lo in enumerate(range(0, L, window)):
                    packed = pack_tokens(inputs[:, lo:lo + window])
                    logits, cache, states = net.forward(params, packed, training=True,
                                                        states=states, return_states=True,
                                                        n_threads=n_threads)
                    loss, d_logits = sequence_crossentropy(logits, targets[:, lo:lo + window],
                                                           weights)
                    if not np.isfinite(loss):
                        stopped = "non_finite"
                        break
                    optimizer.update(flat_params, net.weights(net.backward(params, cache, d_logits)),
                                     n_threads)
                    total += loss * packed.n_steps
                    notify(callbacks, "on_batch_end", model, epoch=epoch, batch=wi,
                           n_batches=n_windows, loss=total / min(lo + window, L))
                if stopped or not all(np.isfinite(p).all() for p in flat_params):
                    stopped = "non_finite"
                    break
                logs = {"loss": total / L}
                history.setdefault("loss", []).append(float(logs["loss"]))
                last_good = copy_params(params)
                n_run += 1
                notify(callbacks, "on_epoch_end", model, epoch=epoch, logs=logs, is_best=True,
                       params=params)
                if model.stop_training_:
                    stopped = "callback"
                    break
        except KeyboardInterrupt:
            stopped = "interrupted"
            warnings.warn("fit interrupted by the user: keeping the weights of the last complete "
                          "epoch", RuntimeWarning, stacklevel=3)
    if stopped == "non_finite":
        warnings.warn("training diverged (non-finite loss): stopped and restored the last "
                      "complete epoch's weights; try a lower learning_rate", RuntimeWarning,
                      stacklevel=3)
    if stopped in ("non_finite", "interrupted"):
        for dst, src in zip(flat_params, net.weights(last_good)):
            dst[...] = src
    notify(callbacks, "on_train_end", model, logs=history)
    losses = history.get("loss") or [np.inf]
    return TrainResult(params, n_run, int(np.argmin(losses)), float(np.min(losses)), stopped)
