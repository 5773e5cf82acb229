"""Training callbacks: no-op hooks the driver calls through :func:`notify`.

Output goes through ``sink`` (``print`` by default, to stderr for progress), so
it can be redirected or silenced.
"""

import copy
import sys
import time
import warnings


class Callback:
    """Base class: every hook is a no-op.

    Hooks receive the estimator being fitted and keyword arguments:
    ``on_train_begin(model)``, ``on_epoch_begin(model, epoch)``,
    ``on_batch_end(model, epoch, batch, n_batches, loss)``,
    ``on_epoch_end(model, epoch, logs)`` and ``on_train_end(model, logs)``.
    Setting ``model.stop_training_ = True`` in a hook stops the fit after the epoch.

    :func:`sklearn.base.clone` (hence every search and ``cross_validate``)
    deep-copies a callback, whatever state it keeps, instead of rebuilding it
    from :meth:`get_params` as it would an estimator; a callback that cannot
    be copied (it holds an open file or a lock) is shared by the clones.
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
        """The callback's public attributes, for display."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def __sklearn_clone__(self):
        # a callback's public attributes need not be constructor arguments (e.g. a list of
        # losses set in __init__), so it cannot be rebuilt from get_params as an estimator is
        try:
            return copy.deepcopy(self)
        except (TypeError, copy.Error):  # an open file, a lock: one object the clones share
            return self


class ModelCheckpoint(Callback):
    """Save the model at every epoch that improves the monitored value.

    The monitored value is the one early stopping uses: the validation loss (or
    score, with ``monitor="val_score"``) when there is validation data, else the
    training loss.  Estimators add this callback themselves when
    ``checkpoint_path`` is set, ahead of their other callbacks.  The file holds
    ``callbacks=None`` (callbacks are never saved), without a warning.

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
            with warnings.catch_warnings():  # the documented rule, not news at every epoch
                warnings.filterwarnings("ignore", "callbacks are not saved", UserWarning)
                model._snapshot(epoch + 1).save(self.path)


def notify(callbacks, hook, model, **kw):
    """Call ``hook`` on every callback, in order."""
    for cb in callbacks:
        getattr(cb, hook)(model, **kw)


def _format_logs(logs):
    return " - ".join(f"{k}: {v:.4g}" if k == "lr" else f"{k}: {v:.4f}"
                      for k, v in logs.items() if k != "epoch")


def _stderr_is_terminal():
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _in_notebook():
    """Whether this runs in a Jupyter kernel (IPython's ZMQ shell)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def _tqdm_auto():
    """``tqdm.auto.tqdm``, or None without tqdm (an optional dependency)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class ProgressLogger(Callback):
    """Keras-like output: ``verbose=1`` a progress bar per epoch, ``verbose=2`` one line per epoch.

    With ``verbose=1`` the bar adapts to where the output goes (as Keras's
    ``verbose="auto"``): on a terminal it is redrawn in place after every
    batch; in a Jupyter notebook it is a ``tqdm.auto`` bar when tqdm is
    installed; anywhere else (a log file, a CI log) it is one line per epoch,
    so lines are never glued together by carriage returns.

    Parameters
    ----------
    verbose : {1, 2}
    sink : callable, default print to stderr
        Receives every line (one per epoch, and the epoch's header with
        ``verbose=1``); no bar is drawn.
    """

    def __init__(self, verbose=1, sink=None):
        self.verbose = verbose
        self.sink = sink

    def _emit(self, text, end="\n"):
        if self.sink is not None:
            self.sink(text)
        else:
            print(text, end=end, file=sys.stderr, flush=True)

    def _choose_mode(self):
        """The display: ``bar`` (redrawn in place), ``tqdm``, ``lines`` (to ``sink``) or ``epoch``."""
        if self.verbose != 1:
            return "epoch"
        if self.sink is not None:
            return "lines"
        if _stderr_is_terminal():
            return "bar"
        if _in_notebook() and _tqdm_auto() is not None:
            return "tqdm"
        return "epoch"

    def on_train_begin(self, model, **kw):
        self._n_epochs = kw.get("n_epochs")
        self._mode = self._choose_mode()
        self._bar = None

    def on_epoch_begin(self, model, epoch, **kw):
        self._t0 = time.perf_counter()
        if self._mode in ("bar", "lines"):
            self._emit(f"Epoch {epoch + 1}/{self._n_epochs}")

    def on_batch_end(self, model, epoch, batch, n_batches, loss, **kw):
        if self._mode == "bar":
            width = 30
            done = int(width * (batch + 1) / n_batches)
            bar = "=" * max(done - 1, 0) + (">" if done < width else "=") + "." * (width - done)
            self._emit(f"\r{batch + 1}/{n_batches} [{bar}] - loss: {loss:.4f}", end="")
        elif self._mode == "tqdm":
            if self._bar is None:
                self._bar = _tqdm_auto()(total=n_batches, desc=f"Epoch {epoch + 1}/{self._n_epochs}",
                                         leave=True)
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def on_epoch_end(self, model, epoch, logs, **kw):
        seconds = time.perf_counter() - self._t0
        if self._mode == "bar":
            self._emit("")
            self._emit(f"{seconds:.1f}s - {_format_logs(logs)}")
        elif self._mode == "lines":
            self._emit(f"{seconds:.1f}s - {_format_logs(logs)}")
        elif self._mode == "tqdm":
            if self._bar is not None:
                self._bar.set_postfix_str(_format_logs(logs))
                self._bar.close()
                self._bar = None
        else:
            self._emit(f"Epoch {epoch + 1}/{self._n_epochs} - {seconds:.1f}s - {_format_logs(logs)}")

    def on_train_end(self, model, **kw):
        if getattr(self, "_bar", None) is not None:  # an interrupted epoch
            self._bar.close()
            self._bar = None
