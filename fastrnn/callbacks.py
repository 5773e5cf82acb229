"""Training callbacks: no-op hooks the driver calls through :func:`notify`.

Output goes through ``sink`` (``print`` by default, to stderr for progress), so
it can be redirected or silenced.
"""

import sys
import time


class Callback:
    """Base class: every hook is a no-op.

    Hooks receive the estimator being fitted and keyword arguments:
    ``on_train_begin(model)``, ``on_epoch_begin(model, epoch)``,
    ``on_batch_end(model, epoch, batch, n_batches, loss)``,
    ``on_epoch_end(model, epoch, logs)`` and ``on_train_end(model, logs)``.
    Setting ``model.stop_training_ = True`` in a hook stops the fit after the epoch.
    """

    def on_train_begin(self, model, **kw):
        pass

    def on_epoch_begin(self, model, **kw):
        pass

    def on_batch_end(self, model, **kw):
        pass

    def on_epoch_end(self, model, **kw):
        pass

    def on_train_end(self, model, **kw):
        pass

    def get_params(self, deep=True):
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}


class ModelCheckpoint(Callback):
    """Save the model at every epoch that improves the monitored value.

    The monitored value is the one early stopping uses: the validation loss (or
    score, with ``monitor="val_score"``) when there is validation data, else the
    training loss.  Estimators add this callback themselves when
    ``checkpoint_path`` is set.

    The model is duck-typed: ``model._snapshot(n_epochs_done)`` returns a copy
    that looks fitted after that many epochs, and the copy's own ``save(path)``
    writes it (the estimators save with :func:`fastrnn.save`), so this module
    does not depend on persistence.

    Parameters
    ----------
    path : str or os.PathLike
    """

    def __init__(self, path):
        self.path = path

    def on_epoch_end(self, model, epoch, is_best=False, **kw):
        if is_best:
            if not (hasattr(model, "_snapshot") and hasattr(model, "save")):
                raise TypeError(f"ModelCheckpoint needs a model with _snapshot() and save() methods, "
                                f"got {type(model).__name__}")
            model._snapshot(epoch + 1).save(self.path)


def notify(callbacks, hook, model, **kw):
    """Call ``hook`` on every callback, in order."""
    for cb in callbacks:
        getattr(cb, hook)(model, **kw)


def _format_logs(logs):
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items() if k != "epoch")


class ProgressLogger(Callback):
    """Keras-like output: ``verbose=1`` a progress bar per epoch, ``verbose=2`` one line per epoch.

    Parameters
    ----------
    verbose : {1, 2}
    sink : callable, default print to stderr
    """

    def __init__(self, verbose=1, sink=None):
        self.verbose = verbose
        self.sink = sink

    def _emit(self, text, end="\n"):
        if self.sink is not None:
            self.sink(text)
        else:
            print(text, end=end, file=sys.stderr, flush=True)

    def on_train_begin(self, model, **kw):
        self._n_epochs = kw.get("n_epochs")

    def on_epoch_begin(self, model, epoch, **kw):
        self._t0 = time.perf_counter()
        if self.verbose == 1:
            self._emit(f"Epoch {epoch + 1}/{self._n_epochs}")

    def on_batch_end(self, model, batch, n_batches, loss, **kw):
        if self.verbose == 1 and self.sink is None:
            width = 30
            done = int(width * (batch + 1) / n_batches)
            bar = "=" * max(done - 1, 0) + (">" if done < width else "=") + "." * (width - done)
            self._emit(f"\r{batch + 1}/{n_batches} [{bar}] - loss: {loss:.4f}", end="")

    def on_epoch_end(self, model, epoch, logs, **kw):
        seconds = time.perf_counter() - self._t0
        if self.verbose == 1:
            if self.sink is None:
                self._emit("")
            self._emit(f"{seconds:.1f}s - {_format_logs(logs)}")
        elif self.verbose >= 2:
            self._emit(f"Epoch {epoch + 1}/{self._n_epochs} - {seconds:.1f}s - {_format_logs(logs)}")
