"""Learning curves with matplotlib (the optional ``plot`` extra)."""

from collections.abc import Mapping

import numpy as np

_METRICS = ("accuracy", "r2", "token_accuracy")


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
                values = np.asarray(h["val_" + key], dtype=float)
                epochs = range(1, len(values) + 1)
                # epochs without validation are NaN: markers show a value between two of them
                ax.plot(epochs, values, color=color, linestyle="--",
                        marker="o" if np.isnan(values).any() else None, markersize=3,
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


def plot_attention(model, x, *, path=None, y=None, title=None):
    """Heatmap of a sequence-to-sequence model's attention for one source.

    Rows are the output tokens (the model's own output, or the target ``y``
    under teacher forcing), columns the source tokens; cell ``(j, i)`` is the
    weight with which output token ``j`` was predicted from source token ``i``.

    Parameters
    ----------
    model : fitted RNNSeq2Seq
        Fitted with ``attention`` ("dot" or "general").
    x : str or sequence of int
        One source, as ``model`` reads it.
    path : str or os.PathLike, optional
        Write the figure there (the format follows the extension, e.g. PNG).
    y : str or sequence of int, optional
        A target to show instead of the model's output.
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
    view = getattr(model, "_attention_view", None)
    if view is None:
        raise TypeError(f"expected a fitted fastrnn.RNNSeq2Seq, got {type(model).__name__}")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('plot_attention needs matplotlib: pip install "fastrnn[plot]" '
                          "(or pip install matplotlib)") from None
    source, output, weights = view(x, y)
    # whitespace tokens stay visible: a space as an open box, others escaped
    shown = ["\u2423" if t == " " else repr(t)[1:-1] if t.isspace() else t for t in source]
    fig = Figure(figsize=(1.5 + 0.3 * len(source), 1.2 + 0.3 * max(len(output), 1)),
                 layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source)), shown, fontsize="small", rotation=90)
    ax.set_yticks(range(len(output)), output, fontsize="small")
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    fig.colorbar(image, ax=ax, shrink=0.8)
    if title:
        ax.set_title(title)
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig
