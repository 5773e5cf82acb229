"""The training driver: one epoch loop over a batch source, with callbacks and safe stops.

Knows nothing about scikit-learn: :func:`train` receives a
:class:`~fastrnn.layers.SequenceModel`, parameters, an optimizer and a *batch
source*, and runs epochs until ``max_iter``, early stopping, a callback's
``stop_training_``, divergence (a non-finite loss, an epoch's loss over
:data:`DIVERGENCE_RATIO` times a reference loss, or above it with every output
saturated) or ``KeyboardInterrupt``.  The reference is the larger of the first
step's loss and ``TrainConfig.chance_loss``, the loss of an uninformed
prediction, which keeps an easy first batch (unshuffled or warm-started data,
a few large targets) from making an ordinary epoch look like divergence.  In
the last two cases it stops, warns, and leaves the best parameters seen in
place, so the model stays usable.  Callbacks (checkpoints among them), best-weight tracking
and restoring live in this one loop.

A batch source yields one :class:`Batch` per optimisation step (packed inputs,
targets, weights, initial recurrent states or None) and receives the step's
final states back through ``carry``.  Two sources exist:

:class:`ShuffledBatches`
    Independent sequences in shuffled mini-batches, each starting from zero
    states (classifier, regressor, tagger).
:class:`StreamWindows`
    Contiguous windows of parallel token streams, each window starting from the
    state the previous one ended in, reset at every epoch (language models:
    windowed truncated BPTT).

With either, ``TrainConfig.bptt_truncate = k`` means one thing: gradients flow
through at most the last ``k`` steps of what the network reads in one step (a
sequence, or a window).
"""

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from .callbacks import notify
from .layers import pack_dense, pack_tokens
from .layers._packing import MaskedSequences, balanced_order, pack_unpadded_rows
from .layers.encoders import EmbeddingNoise
from .runtime import parallel_queue

#: An epoch whose training loss exceeds this multiple of the reference loss (the first step's,
#: ``TrainConfig.chance_loss``, ``DIVERGENCE_FLOOR``: the largest) ends the fit as diverged.
DIVERGENCE_RATIO = 10.0
DIVERGENCE_FLOOR = 1e-3


def pack_batch(X, input_kind):
    """Kernel layout of a batch of encoded inputs (ids (B, T), floats (B, T, F) or
    :class:`~fastrnn.layers._packing.MaskedSequences`)."""
    if isinstance(X, MaskedSequences):
        return pack_dense(X.values, X.mask)
    return pack_dense(X) if input_kind == "dense" else pack_tokens(X)


def _real_lengths(X, rows):
    """Real steps of the rows ``rows`` of ids or masked floats (read from the ids or the mask)."""
    if isinstance(X, MaskedSequences):
        return X.mask[rows].sum(axis=1)
    return (X[rows] != 0).sum(axis=1)


def batch_rows(X, rows, input_kind, n_threads):
    """Reorder a batch's rows so padding costs nothing (see :func:`balanced_order`)."""
    if (input_kind == "dense" and not isinstance(X, MaskedSequences)) or len(rows) < 2:
        return rows
    return rows[balanced_order(_real_lengths(X, rows), n_threads)]


def dropout_masks(rng, net, B, dropout, recurrent_dropout, dtype, order=None):
    """One fixed mask per sequence, layer and direction (inverted dropout scaling).

    ``order`` (see :class:`Batch`): the masks are drawn for the rows as drawn,
    then put in the batch's order.

    Returns
    -------
    list or None
        ``masks[layer][direction] = (input_mask (B, n_in) or None, recurrent_mask (B, H) or None)``.
    """
    if not dropout and not recurrent_dropout:
        return None
    masks = []
    for layer, n_in in net.layer_inputs():
        per_dir = []
        for _ in range(net.n_dir):
            im = rm = None
            if dropout:
                im = ((rng.random((B, n_in)) >= dropout) / (1.0 - dropout)).astype(dtype)
            if recurrent_dropout:
                rm = ((rng.random((B, layer.units)) >= recurrent_dropout)
                      / (1.0 - recurrent_dropout)).astype(dtype)
            if order is not None:
                im, rm = (None if m is None else m[order] for m in (im, rm))
            per_dir.append((im, rm))
        masks.append(per_dir)
    return masks


def embedding_noise(rng, ids, width, embedding_dropout, spatial_dropout, dtype,
                    spatial_shared=False, order=None):
    """Embedding and spatial dropout of one batch, shared by both directions (inverted scaling).

    Drawn after :func:`dropout_masks`, and only for a positive rate, so the
    input and recurrent masks of a fit without them are drawn as before.

    Parameters
    ----------
    rng : numpy.random.Generator
    ids : ndarray of shape (T, B)
        The batch's packed ids.
    width : int
        Embedding width ``D``.
    embedding_dropout : float
        Probability that a token occurrence's embedding is zeroed (the others
        are scaled by ``1 / (1 - p)``), independently for every step of every
        sequence: Keras's ``Dropout(p, noise_shape=(batch, timesteps, 1))``
        after the ``Embedding``.
    spatial_dropout : float
        Probability that an embedding channel is zeroed for a whole sequence
        (the others scaled by ``1 / (1 - p)``): Keras's ``SpatialDropout1D``
        after the ``Embedding``.
    dtype : dtype
    spatial_shared : bool, default False
        Draw one spatial-dropout mask for the whole batch, shape (D,),
        instead of one per sequence (not Keras's semantics; it is folded into
        the first layer's kernel, so it costs about nothing).
    order : ndarray of shape (B,), optional
        As for :func:`dropout_masks`: the batch's columns as drawn.

    Returns
    -------
    EmbeddingNoise or None
        None when both rates are 0.
    """
    if not embedding_dropout and not spatial_dropout:
        return None
    T, B = ids.shape
    dropped = token_scale = channels = None
    if embedding_dropout:
        dropped = rng.random((T, B)) < embedding_dropout
        if order is not None:
            dropped = dropped[:, order]
        token_scale = 1.0 / (1.0 - embedding_dropout)
    if spatial_dropout:
        shape = (width,) if spatial_shared else (B, width)
        channels = ((rng.random(shape) >= spatial_dropout) / (1.0 - spatial_dropout)).astype(dtype)
        if order is not None and not spatial_shared:
            channels = channels[order]
    return EmbeddingNoise(dropped, token_scale, channels)


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

    loss_fn: object  # (outputs, y, w) -> (loss, d_outputs)
    metric_fn: object  # (outputs, y, w) -> float, e.g. accuracy or R^2; None for no metric
    metric_name: str  # the metric's key in the logs; None without a metric
    n_epochs: int
    bptt_truncate: int = None
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    embedding_dropout: float = 0.0
    spatial_dropout: float = 0.0
    spatial_dropout_shared: bool = False
    alpha: float = 0.0
    n_threads: int = 1
    early_stopping: bool = False
    monitor: str = "val_loss"
    n_iter_no_change: int = 3
    tol: float = 1e-4
    restore_best_weights: bool = True
    callbacks: list = field(default_factory=list)
    # (outputs) -> bool: whether a batch's outputs are saturated (e.g. every top probability
    # exactly 1); None where the head cannot saturate
    saturated_fn: object = None
    # the loss of an uninformed prediction (log(n_classes), the targets' variance), or None
    chance_loss: float = None
    # (epoch, history) -> the epoch's learning rate, set on the optimizer before the epoch and
    # logged as "lr"; None keeps the optimizer's rate
    lr_schedule: object = None


@dataclass
class TrainResult:
    params: dict
    n_epochs: int
    best_epoch: int
    best_loss: float
    # None, "early_stopping", "non_finite", "diverged", "interrupted", "callback" or "error"
    stopped: str = None
    # the exception that ended the run ("error"), for the caller to raise once it has recorded
    # the epochs done
    error: BaseException = None
    # whether the run ended holding its best epoch's weights (restores_best when it stopped)
    restored: bool = False


#: Why a run stops with an epoch half done or gone wrong: it keeps its best epoch's weights.
CUT_SHORT = ("non_finite", "diverged", "interrupted", "error")


def restores_best(stopped, restore_best_weights, early_stopping):
    """Whether a run that stopped for ``stopped`` ends holding its best epoch's weights."""
    return stopped in CUT_SHORT or (
        restore_best_weights and (early_stopping or stopped == "early_stopping"))


def log_epoch(history, logs):
    """Append one epoch's ``logs`` to ``history``, keeping every list one entry per epoch.

    An entry an epoch does not log (``val_loss`` in a run without validation
    data, ``lr`` without a schedule) is NaN for that epoch, also when the
    entry first appears after other epochs: ``history["k"][i]`` is always
    epoch ``i``'s, so ``best_epoch_`` indexes every list.
    """
    n = len(history.get("loss", []))  # epochs logged before this one
    for k in logs:
        history.setdefault(k, [])
    for k, values in history.items():
        if len(values) < n:  # (a file's history whose entry began in a later fit: NaN before)
            values[:0] = [math.nan] * (n - len(values))
        values.append(float(logs.get(k, math.nan)))


def evaluate(net, params, X, y, w, cfg, batch_size=1024):
    """Loss and metric (None without ``cfg.metric_fn``) of ``params`` on a dataset (inference
    path, no dropout).

    The loss includes the L2 penalty (``cfg.alpha``) as the training loss does, so the
    two compare (Keras's ``val_loss`` includes its regularisation losses too), except
    for a model without a metric (``cfg.metric_fn`` None), whose validation score is
    its data loss (a language model's mean log-likelihood).

    A model whose inputs are not one packed array (an encoder-decoder reads
    pairs) evaluates itself through its own ``evaluate`` method, which returns
    the same triple.
    """
    if hasattr(net, "evaluate"):
        return net.evaluate(params, X, y, w, cfg, batch_size)
    outputs = predict_outputs(net, params, X, batch_size, cfg.n_threads)
    loss, _ = cfg.loss_fn(outputs, y, w)
    if cfg.alpha and cfg.metric_fn is not None:
        loss += l2_penalty(net, params, cfg.alpha)[0]
    metric = None if cfg.metric_fn is None else cfg.metric_fn(outputs, y, w)
    return loss, metric, outputs


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
    shape = (len(X), X.shape[1], net.n_outputs) if net.per_step else (len(X), net.n_outputs)
    out = np.empty(shape, dtype=net.weights(params)[0].dtype)
    if len(X) <= batch_size and len(net.layers) * net.n_dir == 1:
        # packing and projection hold the GIL, so a batch per thread would serialise them (with
        # two layers the second hand-off costs more than this saves, hence one layer only)
        rows = batch_rows(X, np.arange(len(X)), net.input_kind, n_threads)
        out[rows] = _batch_outputs(net, params, X, rows, n_threads)
        return out
    tables = None if net.input_kind == "dense" else _prediction_token_tables(net, params, X, n_threads)
    n_threads = max(1, min(int(n_threads), len(X)))
    batch_size = max(1, min(batch_size, -(-len(X) // n_threads)))
    starts = range(0, len(X), batch_size)
    order = None
    if isinstance(X, MaskedSequences):
        # variable-length floats: batches of similar lengths, so a short row waits for no long
        # one, the longest first (below)
        order = np.argsort(X.lengths(), kind="stable")
        starts = starts[::-1]

    def run(lo):
        # in input order, a batch is a slice: a view of X, not a gathered copy
        rows = slice(lo, lo + batch_size) if order is None else order[lo:lo + batch_size]
        out[rows] = _batch_outputs(net, params, X, rows, 1, tables)

    # each thread takes the next batch when it finishes one, so the threads end together
    parallel_queue(run, starts, n_threads)
    return out


def _batch_outputs(net, params, X, rows, n_threads, tables=None):
    """Inference outputs of the rows ``rows`` of ``X``.

    A per-step network reading masked floats skips the batch's columns that
    are padding in every row: each such column's outputs repeat those of the
    nearest kept column before it (as a padded position repeats the last real
    step's), and one all-padding column is kept ahead of the first real one
    for the positions that come before any real step (the initial state's);
    a bidirectional network's are the head's output for zeros (its bias).
    """
    batch = X[rows]
    src = None
    if net.per_step and isinstance(batch, MaskedSequences):
        real = batch.mask.any(axis=0)
        if not real.all():
            keep = real.copy()
            first = int(np.argmax(real))
            keep[max(first - 1, 0)] = True
            cols = np.flatnonzero(keep)
            src = np.maximum(np.searchsorted(cols, np.arange(len(keep)), side="right") - 1, 0)
            batch = MaskedSequences(batch.values[:, cols], batch.mask[:, cols], batch.ragged)
    logits, _ = net.forward(params, pack_batch(batch, net.input_kind), n_threads=n_threads,
                            token_tables=tables)
    if src is None:
        return logits
    out = logits[:, src]
    if getattr(net.head, "zero_padding", False):  # bidirectional: zeros at padding, Dense(0)
        out[:, ~real] = params[net.head.key]["bias"]
    return out


#: A prediction projects the whole vocabulary, without first finding the ids its input holds,
#: when that costs at most this many multiply-adds per id of the input (the pass that finds
#: them took about 1.8 ns per id).
PROJECT_ALL_MACS_PER_ID = 32


def _prediction_token_tables(net, params, X, n_threads):
    """The first layer's projections of the ids in ``X``, made once for all of a prediction's batches.

    Each batch would otherwise project the distinct ids of its own rows (or the
    whole vocabulary).  A vocabulary that costs little to project
    (:data:`PROJECT_ALL_MACS_PER_ID`) is projected whole; otherwise the
    distinct ids of the whole input are, never more rows than the batches'
    own tables together and usually far fewer (1,024 rows of 200 random ids
    below 20,000, in 4 batches of about 18,500 distinct ids each: 74,000 rows
    against at most 20,000).  Id 0 (padding) always has a row: padded cells
    read one, though the kernels never use it.

    Returns
    -------
    list of (table, lookup)
        Per direction, for :meth:`fastrnn.layers.SequenceModel.forward`'s
        ``token_tables``.
    """
    layer = net.layers[0]
    width = net.encoder.width if net.encoder.key is not None else 1  # one-hot: rows of W, no product
    row_macs = width * layer.n_gates * layer.units * len(params["rnn"][0])
    if net.n_in * row_macs <= PROJECT_ALL_MACS_PER_ID * X.size:  # a small vocabulary: all of it
        return [(table, None) for table in net.token_tables(params, None, n_threads)]
    present = np.zeros(net.n_in, dtype=bool)
    present[X.reshape(-1)] = True  # a 1-D index: NumPy's 2-D fancy assignment is slower
    present[0] = True
    tokens, lookup = np.flatnonzero(present), None
    if len(tokens) == net.n_in:
        tokens = None  # every id, in order: no gather, no lookup
    else:
        lookup = np.zeros(net.n_in, dtype=np.int32)  # ids absent from X are never looked up
        lookup[tokens] = np.arange(len(tokens), dtype=np.int32)
    return [(table, lookup) for table in net.token_tables(params, tokens, n_threads)]


@dataclass
class Batch:
    """What one optimisation step reads, as a batch source yields it.

    Attributes
    ----------
    packed : Packed
        The inputs in kernel layout: ids (T, B) or floats (T, B, F).
    y : ndarray of shape (B,), (B, K) or (B, T)
        Encoded targets of the batch's rows, as ``TrainConfig.loss_fn`` reads them.
    w : ndarray of shape (B,)
        Weight of every row in the loss.
    states : list or None
        Initial recurrent state per layer and direction (``forward``'s
        ``states``); None starts from zeros.
    weight : float
        The batch's share of the epoch's mean loss and metric (its total
        sample weight, or its number of steps).
    order : ndarray of shape (B,) or None
        When the source reordered the rows (padding, see :func:`batch_rows`):
        row ``b`` of the batch is the ``order[b]``-th of the rows as drawn.
        Dropout masks are drawn for the rows as drawn and follow them, so a
        row gets the same masks whatever order the thread count gives.
    """

    packed: object
    y: np.ndarray
    w: np.ndarray
    states: list
    weight: float
    order: np.ndarray = None


def n_minibatches(n, batch_size):
    """Mini-batches in an epoch of ``n`` rows (one, possibly empty, when ``n`` is 0)."""
    return max(1, -(-n // batch_size))


def minibatch_rows(n, batch_size, rng, shuffle=True):
    """Yield the row indices of an epoch's mini-batches.

    Parameters
    ----------
    n, batch_size : int
    rng : numpy.random.Generator
        Draws the epoch's permutation (its only draw) when ``shuffle``.
    shuffle : bool, default True

    Yields
    ------
    ndarray of shape (<= batch_size,), int
    """
    order = rng.permutation(n) if shuffle else np.arange(n)
    for bi in range(n_minibatches(n, batch_size)):
        yield order[bi * batch_size:(bi + 1) * batch_size]


class ShuffledBatches:
    """Batch source: independent sequences in mini-batches, in a new random order every epoch.

    Every batch starts from zero states, so ``bptt_truncate = k`` limits the
    gradient to the last ``k`` steps of each sequence.

    Parameters
    ----------
    X : ndarray of shape (n, T) int or (n, T, F) float, or MaskedSequences
        Encoded inputs (0 = padding for ids, the mask for masked floats).
    y : ndarray of shape (n,), (n, K), (n, T) or (n, T, K)
        Encoded targets.
    w : ndarray of shape (n,)
        Sample weights.
    batch_size : int
    shuffle : bool, default True
        Draw a permutation from the loop's generator at every epoch (the
        generator's first draw of the epoch, before any dropout mask).
    input_kind : {"tokens", "onehot", "dense"}, default "tokens"
    n_threads : int, default 1
        Rows of a token or masked float batch are ordered so that every
        thread's slice has the same amount of real steps (see :func:`batch_rows`).
    per_step : bool, default False
        Whether ``y`` has a step axis aligned with ``X``'s (a per-step head).
        A masked float batch then drops the columns that are padding in every
        one of its rows, from ``X`` and ``y`` alike: their loss is 0, and the
        head's work follows the batch's longest sequence, not the data's.
    """

    def __init__(self, X, y, w, batch_size, *, shuffle=True, input_kind="tokens", n_threads=1,
                 per_step=False):
        self.X, self.y, self.w = X, y, w
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.input_kind = input_kind
        self.n_threads = n_threads
        self.per_step = per_step
        self._lengths = None  # every row's real length, read once (see _row_lengths)
        self._orders = {}  # batch size -> the row order of a batch of equal lengths

    @property
    def n_batches(self):
        return n_minibatches(len(self.X), self.batch_size)

    def _row_lengths(self):
        """Real length of every row of ``X``, or None when :func:`batch_rows` never reorders.

        Read once for the source instead of once per batch and epoch: the same
        lengths :func:`batch_rows` reads from each batch's rows.
        """
        if self.input_kind == "dense" and not isinstance(self.X, MaskedSequences):
            return None
        if self._lengths is None:
            X = self.X
            if not isinstance(X, MaskedSequences) and X.size and X.all():  # no padding: no count
                self._lengths = np.full(len(X), X.shape[1], dtype=np.intp)
            else:
                self._lengths = _real_lengths(X, slice(None))
        return self._lengths

    def _order(self, rows, lengths, uniform):
        """The permutation of ``rows`` into :func:`batch_rows`'s order, from the source's lengths."""
        if uniform:  # equal lengths: the order depends on the batch size alone
            order = self._orders.get(len(rows))
            if order is None:
                order = self._orders[len(rows)] = balanced_order(lengths[rows], self.n_threads)
            return order
        return balanced_order(lengths[rows], self.n_threads)

    def batches(self, rng):
        """Yield the epoch's batches.

        Parameters
        ----------
        rng : numpy.random.Generator

        Yields
        ------
        Batch
        """
        lengths = self._row_lengths()
        uniform = lengths is not None and len(lengths) > 0 and lengths.min() == lengths.max()
        # ids without any padding: each batch is a gather and a transpose (see pack_unpadded_rows)
        unpadded = (uniform and not isinstance(self.X, MaskedSequences)
                    and self.X.shape[1] > 0 and lengths[0] == self.X.shape[1])
        for rows in minibatch_rows(len(self.X), self.batch_size, rng, self.shuffle):
            order = None
            if lengths is not None and len(rows) >= 2:
                order = self._order(rows, lengths, uniform)
                rows = rows[order]
            w = self.w[rows]
            if unpadded and len(rows):
                yield Batch(pack_unpadded_rows(self.X, rows), self.y[rows], w, None, float(w.sum()),
                            order)
                continue
            X, y = self.X[rows], self.y[rows]
            if self.per_step and isinstance(X, MaskedSequences):
                real = X.mask.any(axis=0)
                if not real.all():
                    cols = np.flatnonzero(real)
                    X, y = MaskedSequences(X.values[:, cols], X.mask[:, cols], X.ragged), y[:, cols]
            yield Batch(pack_batch(X, self.input_kind), y, w, None, float(w.sum()), order)

    def carry(self, states):
        """Ignore a step's final states: the next batch holds other sequences."""


class StreamWindows:
    """Batch source: consecutive windows of parallel token streams, the state carried across.

    The ``B`` streams are cut into windows of ``window`` steps (the last may be
    shorter).  A window starts from the state the previous window ended in, so
    the network reads each stream as one long sequence while gradients stay
    within a window (windowed truncated BPTT, as min-char-rnn's ``hprev``); the
    state is reset to zeros at every epoch.  ``bptt_truncate = k`` further
    limits the gradient to the last ``k`` steps of each window.

    Parameters
    ----------
    inputs : ndarray of shape (B, L), int
        Token ids of ``B`` parallel streams (no padding).
    targets : ndarray of shape (B, L), int
        The token that follows each input token.
    window : int
        Steps per window.
    """

    def __init__(self, inputs, targets, window):
        self.inputs, self.targets = inputs, targets
        self.window = window
        self._w = np.ones(inputs.shape[0])
        self._states = None

    @property
    def n_batches(self):
        return -(-self.inputs.shape[1] // self.window)

    def batches(self, rng):
        """Yield the epoch's windows in stream order; ``rng`` is not drawn from.

        Yields
        ------
        Batch
            ``states`` is what :meth:`carry` received after the previous
            window (None for the first).
        """
        self._states = None
        for lo in range(0, self.inputs.shape[1], self.window):
            packed = pack_tokens(self.inputs[:, lo:lo + self.window])
            yield Batch(packed, self.targets[:, lo:lo + self.window], self._w, self._states,
                        float(packed.n_steps))

    def carry(self, states):
        """Keep a window's final states (detached: no gradient flows back) for the next window."""
        self._states = states


def train_step(net, params, flat_params, optimizer, batch, cfg, rng):
    """One optimisation step: dropout masks, forward, loss (+ L2), backward, update.

    Parameters
    ----------
    net : SequenceModel
    params : dict
    flat_params : list of ndarray
        ``net.weights(params)``, updated in place.
    optimizer : Optimizer
    batch : Batch
    cfg : TrainConfig
    rng : numpy.random.Generator
        Source of the dropout masks.

    Returns
    -------
    loss : float
        Non-finite if the step diverged; the parameters are then left untouched.
    outputs : ndarray
        The network's training-mode outputs.
    states : list
        Final recurrent states, for the batch source's ``carry``.
    """
    masks = dropout_masks(rng, net, batch.w.shape[0], cfg.dropout, cfg.recurrent_dropout,
                          flat_params[0].dtype, batch.order)
    noise = {}  # only models with an embedding input take embedding_noise
    if cfg.embedding_dropout or cfg.spatial_dropout:
        noise["embedding_noise"] = embedding_noise(rng, batch.packed.data, net.encoder.width,
                                                   cfg.embedding_dropout, cfg.spatial_dropout,
                                                   flat_params[0].dtype, cfg.spatial_dropout_shared,
                                                   batch.order)
    outputs, cache, states = net.forward(params, batch.packed, training=True, masks=masks,
                                         bptt_truncate=cfg.bptt_truncate, n_threads=cfg.n_threads,
                                         states=batch.states, return_states=True, **noise)
    loss, d_outputs = cfg.loss_fn(outputs, batch.y, batch.w)
    if cfg.alpha:
        l2, l2_grads = l2_penalty(net, params, cfg.alpha)
        loss += l2
    if not np.isfinite(loss):
        return loss, outputs, states
    grads = net.backward(params, cache, d_outputs)
    if cfg.alpha:
        _add_l2(grads, l2_grads)
    optimizer.update(flat_params, net.weights(grads), cfg.n_threads)
    return loss, outputs, states


def train(model, net, params, optimizer, source, cfg, rng, validation=None, history=None,
          epoch_offset=0):
    """Run the epochs over a batch source.

    Parameters
    ----------
    model : object
        Passed to the callbacks (the estimator); ``model.stop_training_`` is honoured.
    net : SequenceModel
    params : dict
        Updated in place.
    optimizer : Optimizer
    source : ShuffledBatches or StreamWindows
        Any object with ``n_batches``, ``batches(rng)`` yielding :class:`Batch`
        and ``carry(states)``, which receives every step's final states before
        the next batch is asked for.
    cfg : TrainConfig
    rng : numpy.random.Generator
        Drawn from in this order: whatever ``source.batches`` draws (the
        permutation), then each step's dropout masks.
    validation : tuple (X, y, w) or None
        Evaluated after every epoch with :func:`evaluate`.
    history : dict of lists, updated in place
    epoch_offset : int
        Epochs already run (warm start), for the logs.

    Returns
    -------
    TrainResult
    """
    history = {} if history is None else history
    flat_params = net.weights(params)
    maximize = cfg.monitor == "val_score" and cfg.metric_fn is not None
    best = {"value": np.inf, "params": copy_params(params), "opt": optimizer.snapshot(),
            "epoch": epoch_offset - 1, "loss": np.inf}
    stalls = 0
    stopped = error = None
    reference = None  # what divergence is measured against (see the module docstring)
    model.stop_training_ = False
    epoch = epoch_offset
    n_logged = 0  # epochs of this run whose logs reached the history
    # a diverging run is detected below and reported once; NumPy's own overflow
    # warnings on the way there would only be noise
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            notify(cfg.callbacks, "on_train_begin", model, n_epochs=epoch_offset + cfg.n_epochs)
            for epoch in range(epoch_offset, epoch_offset + cfg.n_epochs):
                if cfg.lr_schedule is not None:  # the optimizer's moments are kept
                    optimizer.learning_rate = float(cfg.lr_schedule(epoch, history))
                notify(cfg.callbacks, "on_epoch_begin", model, epoch=epoch)
                total_loss = total_metric = total_w = 0.0
                saturated = cfg.saturated_fn is not None
                for bi, batch in enumerate(source.batches(rng)):
                    if batch.weight == 0:  # no sample counts: the loss would be 0 / 0
                        continue
                    loss, outputs, states = train_step(net, params, flat_params, optimizer, batch,
                                                       cfg, rng)
                    if not np.isfinite(loss):
                        stopped = "non_finite"
                        break
                    if reference is None:
                        reference = max(float(loss), cfg.chance_loss or 0.0, DIVERGENCE_FLOOR)
                    source.carry(states)
                    total_loss += loss * batch.weight
                    if cfg.metric_fn is not None:
                        total_metric += cfg.metric_fn(outputs, batch.y, batch.w) * batch.weight
                    total_w += batch.weight
                    saturated = saturated and cfg.saturated_fn(outputs)
                    if cfg.callbacks:
                        notify(cfg.callbacks, "on_batch_end", model, epoch=epoch, batch=bi,
                               n_batches=source.n_batches, loss=total_loss / total_w)
                if stopped:
                    break
                if not all(np.isfinite(p).all() for p in flat_params):
                    stopped = "non_finite"
                    break
                logs = {"loss": total_loss / total_w}
                if cfg.metric_fn is not None:
                    logs[cfg.metric_name] = total_metric / total_w
                if cfg.lr_schedule is not None:
                    logs["lr"] = optimizer.learning_rate
                if logs["loss"] > DIVERGENCE_RATIO * reference or (
                        saturated and logs["loss"] > reference):
                    log_epoch(history, logs)
                    n_logged += 1
                    stopped = "diverged"
                    break
                if validation is not None:
                    v_loss, v_metric, _ = evaluate(net, params, *validation, cfg)
                    logs["val_loss"] = v_loss
                    if cfg.metric_fn is not None:
                        logs["val_" + cfg.metric_name] = v_metric
                log_epoch(history, logs)
                n_logged += 1
                # the monitored quantity: validation if there is any, else the training loss
                if validation is not None:
                    value = -logs["val_" + cfg.metric_name] if maximize else logs["val_loss"]
                else:
                    value = logs["loss"]
                if value < best["value"] - cfg.tol:
                    best.update(value=value, params=copy_params(params), opt=optimizer.snapshot(),
                                epoch=epoch, loss=logs["loss"])
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
        except BaseException as exc:  # a callback's or the engine's: raised by the caller
            stopped, error = "error", exc
    if stopped == "non_finite":
        warnings.warn(f"training diverged (non-finite loss) in epoch {epoch + 1}: stopped and "
                      "restored the best weights seen; try a lower learning_rate or clipnorm",
                      RuntimeWarning, stacklevel=3)
    elif stopped == "diverged":
        why = (f"over {DIVERGENCE_RATIO:g} times" if history["loss"][-1] > DIVERGENCE_RATIO * reference
               else "every output saturated (top probabilities exactly 1) and above")
        warnings.warn(f"training diverged in epoch {epoch + 1}: its loss {history['loss'][-1]:.4g} "
                      f"is {why} the loss at the start of training or of an uninformed "
                      f"prediction ({reference:.4g}); stopped and restored the best weights seen; "
                      "try a lower learning_rate or clipnorm", RuntimeWarning, stacklevel=3)
    cut_short = stopped in CUT_SHORT
    restored = restores_best(stopped, cfg.restore_best_weights, cfg.early_stopping)
    if restored:
        for dst, src in zip(flat_params, net.weights(best["params"])):
            dst[...] = src
    if cut_short:
        # the moments of the steps after the best epoch: non-finite ones would stop every later
        # fit at its first step (early stopping keeps them, as Keras does)
        optimizer.restore(best["opt"])
    if error is not None:  # (no on_train_end, as Keras after an exception)
        return TrainResult(params, n_logged, best["epoch"], best["loss"], stopped, error, restored)
    try:
        notify(cfg.callbacks, "on_train_end", model, logs=history)
    except KeyboardInterrupt:  # training is over: the model is whole, only the hook was cut short
        warnings.warn("fit interrupted by the user after its last epoch", RuntimeWarning,
                      stacklevel=3)
    except BaseException as exc:
        return TrainResult(params, n_logged, best["epoch"], best["loss"], "error", exc, restored)
    return TrainResult(params, n_logged, best["epoch"], best["loss"], stopped, restored=restored)
