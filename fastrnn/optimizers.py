"""Optimizers with Keras's update rules and defaults.

An optimizer holds only its hyper-parameters and slot arrays (moments); the
parameters are passed to :meth:`update` as a list of arrays and changed in place.
Each rule is elementwise, so a large array (an embedding matrix) is updated in
slices on parallel threads, with the same result as in one piece.  Adam and
RMSprop run as one fused loop per slice in the backend in use
(``adam_step``, ``rmsprop_step``); every backend rounds as the NumPy reference.

A parameter whose gradient is None is frozen: :meth:`Optimizer.update` leaves
it, and its slots, untouched (no step, no weight decay, no moments), as Keras
leaves a layer with ``trainable=False``.  The learning rate is a plain
attribute that a schedule may change between steps; the slots are kept.

Small parameters (below :data:`FUSED_BELOW` elements) are updated together:
their gradients and values are copied into one flat buffer, stepped by one
call, and copied back, and their slots are views of flat buffers kept for
that purpose.  A small model's update is then one kernel call instead of one
per array; each element goes through the same operations, so the result is
the same to the bit.  The first fused update replaces such a parameter's slot
arrays in the slot dicts by those views: read the slots from the dicts, not
from a reference kept from before.
"""

import weakref

import numpy as np

from . import _reference
from ._backend import get_kernels
from .runtime import n_parts, parallel_for, split_bounds

#: Arrays with fewer elements are updated on one thread (a thread hand-off costs more).
MIN_PARALLEL_SIZE = 1 << 18

#: Parameters with fewer elements are updated together, in one step over flat copies (a call per
#: array costs more than copying such arrays).
FUSED_BELOW = 1 << 14

# optimizer -> its _FusedGroup; outside the instance so that a saved or pickled optimizer holds
# only its rule's state
_fused_groups = weakref.WeakKeyDictionary()


class _FusedGroup:
    """Flat buffers for the small parameters ``indices`` of one optimizer.

    ``slots[k]`` holds slot ``k`` of every parameter of the group, and the
    optimizer's slot dicts hold views of it (``views[k][j]`` for parameter
    ``indices[j]``), so the group stays valid until someone replaces a slot.
    """

    def __init__(self, indices, params, stores):
        self.indices = indices
        self.shapes = [params[i].shape for i in indices]
        self.dtype = params[indices[0]].dtype
        ends = np.cumsum([params[i].size for i in indices]).tolist()
        self.bounds = list(zip([0] + ends[:-1], ends))
        n = ends[-1]
        self.values = np.empty(n, self.dtype)
        self.grads = np.empty(n, self.dtype)
        self.slots, self.views = [], []
        for store in stores:
            flat = np.zeros(n, self.dtype)  # a slot is created as zeros on first use
            views = []
            for i, shape, (lo, hi) in zip(indices, self.shapes, self.bounds):
                if i in store:
                    flat[lo:hi] = np.ravel(store[i])
                store[i] = flat[lo:hi].reshape(shape)
                views.append(store[i])
            self.slots.append(flat)
            self.views.append(views)

    def matches(self, indices, params, stores):
        """Whether this group still serves ``params[indices]`` with the slots in ``stores``."""
        return (indices == self.indices and len(stores) == len(self.views)
                and all(params[i].shape == shape and params[i].dtype == self.dtype
                        for i, shape in zip(indices, self.shapes))
                and all(store.get(i) is view for store, views in zip(stores, self.views)
                        for i, view in zip(indices, views)))


#: Elements per dot product in :func:`_sum_squares`, and the size from which it takes them.
NORM_BLOCK, MIN_BLOCKED_NORM = 1024, 1 << 16


def _sum_squares(g):
    """``(g * g).sum()``; from :data:`MIN_BLOCKED_NORM` elements on, without the temporary
    ``g * g``: one dot product per block of :data:`NORM_BLOCK` elements, the blocks' sums added
    pairwise (as accurate as NumPy's sum; a single BLAS dot over a whole embedding gradient
    accumulates a visible rounding error).  Smaller arrays: NumPy's sum, whose call costs less."""
    if g.size < MIN_BLOCKED_NORM:
        return (g * g).sum()
    flat = g.reshape(-1)
    n = flat.size - flat.size % NORM_BLOCK
    tail = flat[n:]
    total = np.dot(tail, tail)
    if n:
        blocks = flat[:n].reshape(-1, NORM_BLOCK)
        total = np.einsum("ij,ij->i", blocks, blocks).sum() + total
    return total


def _norm(g):
    """The Euclidean norm of ``g``, also where its squares overflow the dtype (finite ``g``)."""
    with np.errstate(over="ignore"):  # handled below
        norm = float(np.sqrt(_sum_squares(g)))
    if norm == np.inf and np.isfinite(g).all():
        # squares beyond float32's range: the norm of g / max|g|, scaled back, in float64
        big = float(np.abs(g).max())
        norm = big * float(np.sqrt(_sum_squares(g.astype(np.float64) / big)))
    return norm


def _clip_norm(g, clipnorm):
    """``g`` scaled to norm at most ``clipnorm``; ``g`` itself (no copy) when it is within."""
    scale = min(1.0, clipnorm / max(_norm(g), 1e-12))
    return g if scale == 1.0 else g * scale  # g * 1.0 equals g, NaN included


class Optimizer:
    """Base class: gradient clipping and L2 shared by every rule."""

    def __init__(self, learning_rate, clipnorm=None, clipvalue=None):
        self.learning_rate = learning_rate
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.iterations = 0

    def _prepare(self, grads):
        if self.clipvalue is not None:
            grads = [None if g is None else np.clip(g, -self.clipvalue, self.clipvalue)
                     for g in grads]
        if self.clipnorm is not None:
            # Keras clipnorm: each gradient clipped to the norm on its own
            grads = [None if g is None else _clip_norm(g, self.clipnorm) for g in grads]
        return grads

    def update(self, params, grads, n_threads=1):
        """Apply one step to ``params`` (list of arrays, changed in place).

        Parameters
        ----------
        params : list of ndarray
        grads : list of ndarray or None
            Same shapes as ``params``; None for a frozen parameter, which is
            left as it is.
        n_threads : int, default 1
            Threads for arrays of at least ``MIN_PARALLEL_SIZE`` elements.
        """
        grads = self._prepare(grads)
        self.iterations += 1
        kernels = get_kernels()
        fused = set(self._update_small(kernels, params, grads))
        for i, (p, g) in enumerate(zip(params, grads)):
            if g is None or i in fused:
                continue
            # g is only read: a contiguous copy of a strided one keeps the compiled step
            g = np.ascontiguousarray(g, dtype=p.dtype)
            slots = self._slots(i, p)
            if not (p.flags.c_contiguous and all(s.flags.c_contiguous for s in slots)):
                # The compiled steps take 1-D contiguous slices; the NumPy reference is
                # elementwise, so it also takes arrays of any shape and layout.
                self._step(_reference, p, g, *slots)
                continue
            flat = [p.reshape(-1), g.reshape(-1)] + [s.reshape(-1) for s in slots]  # views
            if n_threads <= 1 or p.size < MIN_PARALLEL_SIZE:  # one part (see n_parts)
                self._step(kernels, *flat)
                continue
            parts = n_parts(n_threads, p.size, MIN_PARALLEL_SIZE, p.size)
            bounds = split_bounds(p.size, parts)
            parallel_for(lambda j: self._step(kernels, *(a[slice(*bounds[j])] for a in flat)),
                         parts)

    def _update_small(self, kernels, params, grads):
        """Step the small C-contiguous parameters of the first one's dtype in one call.

        Returns
        -------
        indices : sequence of int
            The parameters updated here (empty when fewer than two qualify).
        """
        indices = [i for i, (p, g) in enumerate(zip(params, grads))
                   if g is not None and p.size < FUSED_BELOW and p.flags.c_contiguous]
        if indices:
            dtype = params[indices[0]].dtype
            indices = [i for i in indices if params[i].dtype == dtype]
        if len(indices) < 2:
            return ()
        stores = self._slot_stores()
        group = _fused_groups.get(self)
        if group is None or not group.matches(indices, params, stores):
            group = _fused_groups[self] = _FusedGroup(indices, params, stores)
        # the same cast as the per-array path's ascontiguousarray(g, dtype=p.dtype)
        np.concatenate([grads[i].reshape(-1) for i in indices], out=group.grads, casting="unsafe")
        np.concatenate([params[i].reshape(-1) for i in indices], out=group.values)
        self._step(kernels, group.values, group.grads, *group.slots)
        for i, (lo, hi) in zip(indices, group.bounds):
            params[i].reshape(-1)[...] = group.values[lo:hi]
        return indices

    def _slot_stores(self):
        """The dicts holding the rule's state arrays, one per slot (parameter index -> array)."""
        return ()

    def snapshot(self):
        """A copy of the rule's state (step count and slot arrays), for :meth:`restore`."""
        return self.iterations, [{i: a.copy() for i, a in store.items()}
                                 for store in self._slot_stores()]

    def restore(self, snapshot):
        """Put back the state of :meth:`snapshot`, in place (slots made since then become zeros).

        Used with the weights of the same moment when a fit stops on non-finite values or
        divergence, whose moments would otherwise poison every later step.
        """
        self.iterations, saved_stores = snapshot
        for store, saved in zip(self._slot_stores(), saved_stores):
            for i, a in store.items():
                a[...] = saved[i] if i in saved else 0

    def _slots(self, i, p):
        """The state arrays of parameter ``i`` (created as zeros on first use)."""
        return tuple(self._slot(store, i, p) for store in self._slot_stores())

    @staticmethod
    def _slot(store, i, p):
        """``store[i]``, created as zeros shaped like ``p`` on first use (and only then)."""
        if i not in store:
            store[i] = np.zeros_like(p)
        return store[i]

    def _step(self, kernels, p, g, *slots):
        """Update ``p`` (and the slots) in place from ``g``, elementwise, with ``kernels``."""
        raise NotImplementedError


class SGD(Optimizer):
    """``v = momentum * v - lr * g``; ``p += v`` (Nesterov: ``p += momentum * v - lr * g``)."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kw):
        super().__init__(learning_rate, **kw)
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocity = {}

    def _slot_stores(self):
        return () if self.momentum == 0 else (self.velocity,)

    def _step(self, kernels, p, g, v=None):
        if v is None:
            p -= (self.learning_rate * g).astype(p.dtype)
            return
        v *= self.momentum
        v -= self.learning_rate * g
        if self.nesterov:
            p += self.momentum * v - self.learning_rate * g
        else:
            p += v


class RMSprop(Optimizer):
    """``a = rho a + (1 - rho) g^2``; ``p -= lr g / sqrt(a + eps)`` (Keras 3: rho 0.9, eps 1e-7)."""

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, **kw):
        super().__init__(learning_rate, **kw)
        self.rho = rho
        self.epsilon = epsilon
        self.acc = {}

    def _slot_stores(self):
        return (self.acc,)

    def _step(self, kernels, p, g, a):
        kernels.rmsprop_step(p, g, a, self.learning_rate, self.rho, self.epsilon)


class Adam(Optimizer):
    """Adam with Keras's bias correction folded into the step size; AdamW when ``weight_decay``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=0.0, **kw):
        super().__init__(learning_rate, **kw)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.weight_decay = weight_decay
        self.m = {}
        self.v = {}

    def _slot_stores(self):
        return self.m, self.v

    def _step(self, kernels, p, g, m, v):
        t = self.iterations
        if self.weight_decay:
            p -= self.learning_rate * self.weight_decay * p  # decoupled decay (AdamW)
        lr = self.learning_rate * np.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        kernels.adam_step(p, g, m, v, lr, self.beta_1, self.beta_2, self.epsilon)


def make_optimizer(name, learning_rate, *, momentum=0.0, nesterov=False, weight_decay=0.0,
                   clipnorm=None, clipvalue=None):
    """Build the optimizer called ``name`` (sgd, rmsprop, adam, adamw)."""
    clip = {"clipnorm": clipnorm, "clipvalue": clipvalue}
    if name == "sgd":
        return SGD(learning_rate, momentum=momentum, nesterov=nesterov, **clip)
    if name == "rmsprop":
        return RMSprop(learning_rate, **clip)
    if name == "adam":
        return Adam(learning_rate, **clip)
    if name == "adamw":
        return Adam(learning_rate, weight_decay=weight_decay, **clip)
    raise ValueError(f"unknown optimizer {name!r}")
