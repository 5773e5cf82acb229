"""Learning-rate schedules: the learning rate of every epoch, through one estimator parameter.

An estimator's ``lr_schedule`` is None (a constant ``learning_rate``), a
name ("plateau", "cosine": the default :class:`ReduceOnPlateau` and
:class:`CosineDecay`; "auto", the default, is a plateau schedule under
early stopping and a constant rate otherwise) or a schedule object.  Before every epoch the training
loop sets the optimizer's learning rate to
``schedule.learning_rate(learning_rate, epoch, max_iter, history)`` and
records it in ``history_["lr"]``; the optimizer's state (Adam's moments,
momentum) is kept, so a schedule that always returns ``learning_rate``
trains exactly as no schedule does.

A schedule object is an immutable description (a frozen dataclass of numbers
and strings), so it can be an estimator parameter: :func:`sklearn.base.clone`
copies it, ``get_params`` shows it, :func:`fastrnn.save` stores its fields.
It keeps no state: what a schedule depends on (the epochs run in the current
run, the losses so far) is passed in, so a plateau's patience is re-counted
from the history, and a model that is saved, loaded and trained further with
``partial_fit`` continues where it stopped.

What an epoch's position is:

- ``fit`` starts a run: epoch 0 is its first epoch, also with
  ``warm_start=True`` (a warm restart: the cosine starts again from
  ``learning_rate``, a plateau's reductions start again).
- ``partial_fit`` continues the current run (the last ``fit``, or the first
  ``partial_fit`` of a new model): each call is the run's next epoch, the
  cosine goes on decaying over ``max_iter`` epochs (then stays at its
  ``min_lr``), a plateau counts the epochs of every call.

Schedules are applied per epoch, as Keras's ``LearningRateScheduler`` and
``ReduceLROnPlateau`` callbacks do: an epoch is the unit ``max_iter``,
``partial_fit`` and early stopping count in, while its number of steps varies
with the data given to each call.
"""

import dataclasses
import math
import numbers
import warnings

__all__ = ["CosineDecay", "ReduceOnPlateau", "Schedule", "StepDecay", "make_schedule"]


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Base class: a learning rate per epoch, from the base rate and the run's history.

    Subclasses are frozen dataclasses whose fields are numbers or strings, and
    implement :meth:`learning_rate`.  Only fastrnn's own schedules can be saved
    by :func:`fastrnn.save`.
    """

    def learning_rate(self, base, epoch, n_epochs, history):
        """The learning rate of epoch ``epoch`` of the run.

        Parameters
        ----------
        base : float
            The estimator's ``learning_rate``.
        epoch : int
            Epochs of the run already done (0 for its first epoch).
        n_epochs : int
            The estimator's ``max_iter``.
        history : dict of str to list of float
            The run's per-epoch logs so far (``loss``, ``val_loss``, ...), each
            ``epoch`` long.

        Returns
        -------
        float
        """
        raise NotImplementedError

    def get_config(self):
        """The fields, as a dict (what :func:`fastrnn.save` stores).

        Returns
        -------
        dict of str to float, int or str
        """
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _check(name, value, lo=None, hi=None, integer=False, lo_open=False, hi_open=False):
    kind = numbers.Integral if integer else numbers.Real
    if not isinstance(value, kind) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name} must be a{'n int' if integer else ' finite number'}, "
                         f"got {value!r}")
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {value!r}")
    if hi is not None and (value > hi or (hi_open and value == hi)):
        raise ValueError(f"{name} must be {'<' if hi_open else '<='} {hi}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class ReduceOnPlateau(Schedule):
    """Multiply the learning rate by ``factor`` when the monitored loss stops improving.

    Keras's ``ReduceLROnPlateau``: after ``patience`` epochs without an
    improvement of more than ``min_delta``, the rate is multiplied by
    ``factor`` (not below ``min_lr``), then ``cooldown`` epochs pass before
    counting again.

    Parameters
    ----------
    factor : float, default 0.5
        In (0, 1).
    patience : int, default 2
        Epochs without improvement before a reduction.
    min_lr : float, default 1e-5
    monitor : str, default "val_loss"
        The ``history_`` entry watched: "val_loss", "loss", or a metric such
        as "val_accuracy" or "val_r2".  In a run without validation data (or
        with epochs that had none) a validation entry is replaced by the
        training loss.
    min_delta : float, default 1e-4
        The least change that counts as an improvement.
    cooldown : int, default 0
        Epochs after a reduction during which no epoch counts as stalled.
    mode : {"min", "max"}, default "min"
        Whether ``monitor`` improves by falling (a loss) or rising (a score).

    Examples
    --------
    >>> s = ReduceOnPlateau(factor=0.5, patience=1)
    >>> s.learning_rate(0.1, 3, 10, {"loss": [1.0, 0.5, 0.6]})
    0.05
    """

    factor: float = 0.5
    patience: int = 2
    min_lr: float = 1e-5
    monitor: str = "val_loss"
    min_delta: float = 1e-4
    cooldown: int = 0
    mode: str = "min"

    def __post_init__(self):
        _check("factor", self.factor, 0, 1, lo_open=True, hi_open=True)
        _check("patience", self.patience, 0, integer=True)
        _check("min_lr", self.min_lr, 0)
        _check("min_delta", self.min_delta, 0)
        _check("cooldown", self.cooldown, 0, integer=True)
        if not isinstance(self.monitor, str) or not self.monitor:
            raise ValueError(f'monitor must name a history_ entry such as "val_loss", '
                             f'got {self.monitor!r}')
        if self.mode not in ("min", "max"):
            raise ValueError(f'mode must be "min" or "max", got {self.mode!r}')

    def _values(self, epoch, history):
        """The run's values to watch, as losses (a score negated)."""
        values = history.get(self.monitor)
        if values is None and epoch and self.monitor not in ("val_loss", "loss"):
            warnings.warn(f"ReduceOnPlateau: monitor={self.monitor!r} is not in history_ (it "
                          f"holds {sorted(history)}); watching the training loss instead",
                          RuntimeWarning, stacklevel=2)
        if values is not None and len(values) >= epoch and all(
                math.isfinite(v) for v in values[:epoch]):
            return [-v for v in values[:epoch]] if self.mode == "max" else values[:epoch]
        # no validation in (part of) this run (those epochs are logged as NaN): the training loss
        return history.get("loss", [])[:epoch]

    def learning_rate(self, base, epoch, n_epochs, history):
        lr, best, wait, cooldown = float(base), math.inf, 0, 0
        for value in self._values(epoch, history):
            if cooldown > 0:
                cooldown -= 1
                wait = 0
            if value < best - self.min_delta:
                best, wait = value, 0
            elif cooldown == 0:
                wait += 1
                if wait >= self.patience and lr > self.min_lr:
                    lr = max(lr * self.factor, self.min_lr)
                    cooldown, wait = self.cooldown, 0
        return lr


@dataclasses.dataclass(frozen=True)
class CosineDecay(Schedule):
    """Linear warm-up, then a half cosine from ``learning_rate`` down to ``min_lr`` over ``max_iter``.

    Epoch ``e < warmup_epochs`` has ``learning_rate * (e + 1) / (warmup_epochs + 1)``;
    then ``p = (e - warmup_epochs) / (max_iter - warmup_epochs)`` and the rate
    is ``min_lr + (learning_rate - min_lr) * (1 + cos(pi * min(p, 1))) / 2``
    (PyTorch's ``CosineAnnealingLR`` with ``T_max = max_iter``): the last
    epoch of a ``fit`` is just above ``min_lr``, and further ``partial_fit``
    epochs stay at ``min_lr``.

    Parameters
    ----------
    warmup_epochs : int, default 0
    min_lr : float, default 0.0

    Examples
    --------
    >>> [round(CosineDecay().learning_rate(1.0, e, 4, {}), 3) for e in range(5)]
    [1.0, 0.854, 0.5, 0.146, 0.0]
    """

    warmup_epochs: int = 0
    min_lr: float = 0.0

    def __post_init__(self):
        _check("warmup_epochs", self.warmup_epochs, 0, integer=True)
        _check("min_lr", self.min_lr, 0)

    def learning_rate(self, base, epoch, n_epochs, history):
        w = self.warmup_epochs
        if epoch < w:
            return base * (epoch + 1) / (w + 1)
        progress = min((epoch - w) / max(n_epochs - w, 1), 1.0)
        return self.min_lr + (base - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclasses.dataclass(frozen=True)
class StepDecay(Schedule):
    """Multiply the learning rate by ``factor`` every ``step_size`` epochs (PyTorch's ``StepLR``).

    Parameters
    ----------
    step_size : int, default 10
    factor : float, default 0.5
        In (0, 1]; 1 keeps the rate constant.

    Examples
    --------
    >>> [StepDecay(step_size=2, factor=0.5).learning_rate(1.0, e, 10, {}) for e in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    step_size: int = 10
    factor: float = 0.5

    def __post_init__(self):
        _check("step_size", self.step_size, 1, integer=True)
        _check("factor", self.factor, 0, 1, lo_open=True)

    def learning_rate(self, base, epoch, n_epochs, history):
        return base * self.factor ** (epoch // self.step_size)


#: The schedules :func:`fastrnn.save` stores and :func:`fastrnn.load` rebuilds, by class name.
SCHEDULES = {cls.__name__: cls for cls in (ReduceOnPlateau, CosineDecay, StepDecay)}

_NAMED = {"plateau": ReduceOnPlateau, "cosine": CosineDecay}


def make_schedule(value):
    """The schedule an ``lr_schedule`` parameter names.

    Parameters
    ----------
    value : None, {"plateau", "cosine"} or Schedule

    Returns
    -------
    Schedule or None
    """
    if value is None or isinstance(value, Schedule):
        return value
    if isinstance(value, str) and value in _NAMED:
        return _NAMED[value]()
    raise ValueError(f'lr_schedule must be None, "plateau", "cosine" or a '
                     f"fastrnn.schedules.Schedule, got {value!r}")
