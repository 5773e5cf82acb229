"""Learning curves with matplotlib (the optional ``plot`` extra)."""

from collections.abc import Mapping

_METRICS = ("accuracy", "r2")


def _as_history(obj):
    history = getattr(obj, "history_", obj)
    if not isinstance(history, Mapping) or "loss" not in history:
        raise TypeError("expected a fitted fastrnn estimator or a history dict with a 'loss' key, "
                        f"got {type(obj).__name__}")
    return history


def plot_history(history, path=None, title=None):
    """Draw loss and metric curves, training (solid) and validation (dashed), per epoch.

    Parameters
    ----------
    history : fitted estimator, dict, or mapping of name to either
        An estimator's ``history_`` (or the estimator itself); a mapping such
        as ``{"lstm": clf1, "gru": clf2}`` overlays several models.
    path : str or os.PathLike, optional
        Write the figure there (the format follows the extension, e.g. PNG).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Built without pyplot, so nothing opens a window or touches global state.

    Raises
    ------
    ImportError
        If matplotlib is not installed (``pip install "fastrnn[plot]"``).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('plot_history needs matplotlib: pip install "fastrnn[plot]" '
                          "(or pip install matplotlib)") from None
    if isinstance(history, Mapping) and "loss" not in history:
        runs = {str(name): _as_history(h) for name, h in history.items()}
        if not runs:
            raise ValueError("nothing to plot: the mapping is empty")
    else:
        runs = {"": _as_history(history)}
    metric = next((m for m in _METRICS if any(m in h for h in runs.values())), None)
    panels = ["loss"] + ([metric] if metric else [])
    fig = Figure(figsize=(5 * len(panels), 3.6), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, key in zip(axes, panels):
        for i, (name, h) in enumerate(runs.items()):
            color = f"C{i}"
            label = f"{name} " if name else ""
            if key in h:
                epochs = range(1, len(h[key]) + 1)
                ax.plot(epochs, h[key], color=color, label=f"{label}train")
            if "val_" + key in h:
                epochs = range(1, len(h["val_" + key]) + 1)
                ax.plot(epochs, h["val_" + key], color=color, linestyle="--",
                        label=f"{label}validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig
