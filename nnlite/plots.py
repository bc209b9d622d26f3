"""Pictures you can show: learning curves, confusion matrices, activations and kernels.

The plots use matplotlib (the ``plot`` extra: ``pip install "nnlite[plot]"``), imported when
a plot is first drawn. They draw on a ``matplotlib.figure.Figure`` without pyplot, so they
work headless and leave no global figure state behind. Each returns the Figure (a notebook
displays it) and saves a PNG when given ``path``.
"""

import functools
import io

import numpy as np

from nnlite.evaluation import predicted_labels

__all__ = ["plot_activations", "plot_confusion_matrix", "plot_kernels", "plot_learning_curves"]

_DPI = 100


def _figure(width, height):
    return _figure_class()(figsize=(width, height), dpi=_DPI, layout="constrained")


@functools.cache
def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("nnlite's plots need matplotlib, which is not installed: "
                          'pip install "nnlite[plot]" (or pip install matplotlib).') from exc

    class _Figure(Figure):
        """A Figure that a notebook shows as a PNG even when pyplot was never imported."""

        def _repr_png_(self):
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=_DPI)
            return buffer.getvalue()

    return _Figure


def _finish(fig, path):
    if path is not None:
        fig.savefig(path, dpi=_DPI)
    return fig


def plot_learning_curves(history, metrics=None, path=None):
    """Plot the loss and metrics per epoch, training beside validation.

    Args:
        history: a ``History`` (what ``fit`` returns) or its ``history`` dict.
        metrics: names to plot (default: every logged name without ``val_``, loss first).
        path: save a PNG there when given.

    Returns:
        A matplotlib Figure with one panel per metric.

    Raises:
        ValueError: when the history is empty or lacks a requested metric.
    """
    logs = getattr(history, "history", history)
    if not logs:
        raise ValueError("plot_learning_curves: the history is empty; train for at least "
                         "one epoch first.")
    if metrics is None:
        metrics = [k for k in logs if not k.startswith("val_") and k != "learning_rate"]
        metrics.sort(key=lambda k: k != "loss")
    for name in metrics:
        if name not in logs:
            raise ValueError(f"plot_learning_curves: no {name!r} in the history; it has "
                             f"{', '.join(sorted(logs))}.")
    fig = _figure(4.2 * len(metrics), 3.4)
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, name in zip(axes, metrics, strict=True):
        epochs = np.arange(1, len(logs[name]) + 1)
        ax.plot(epochs, logs[name], marker="o", markersize=3, label="training")
        if f"val_{name}" in logs:
            ax.plot(epochs, logs[f"val_{name}"], marker="o", markersize=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name.replace("_", " "))
        ax.grid(alpha=0.3)
        ax.legend()
        ax.xaxis.get_major_locator().set_params(integer=True)
    return _finish(fig, path)


def plot_confusion_matrix(y_true, y_pred, class_names=None, normalize=None, path=None):
    """Draw the confusion matrix with class names on both axes and the count in each cell.

    Args:
        y_true, y_pred: class ids (or scores, see ``predicted_labels``).
        class_names: names for ids ``0 .. k-1``.
        normalize: None (counts), ``"true"`` (rows sum to 1), ``"pred"`` or ``"all"``.
        path: save a PNG there when given.
    """
    _figure_class()   # a clear message when matplotlib is missing
    from sklearn.metrics import ConfusionMatrixDisplay

    if normalize not in (None, "true", "pred", "all"):
        raise ValueError("plot_confusion_matrix: normalize must be None, 'true', 'pred' or "
                         f"'all', got {normalize!r}.")
    y_true, y_pred = predicted_labels(y_true), predicted_labels(y_pred)
    labels = None if class_names is None else np.arange(len(class_names))
    k = len(class_names) if class_names is not None else len(np.union1d(y_true, y_pred))
    side = 2.0 + 0.7 * k
    fig = _figure(side + 1.0, side)
    ax = fig.subplots()
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=labels, display_labels=class_names, normalize=normalize,
        ax=ax, cmap="Blues", colorbar=True, values_format=".2f" if normalize else "d",
        xticks_rotation=30 if k > 4 else "horizontal")
    sums = {"true": "rows sum to 1", "pred": "columns sum to 1", "all": "cells sum to 1"}
    ax.set_title("Confusion matrix" + (f" ({sums[normalize]})" if normalize else ""))
    if k > 4:  # rotated names read best when they end under their column
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
            label.set_rotation_mode("anchor")
    return _finish(fig, path)


def plot_activations(names=None, x_range=(-4.0, 4.0), path=None):
    """Plot activation functions (solid) and their derivatives (dashed), one panel each.

    The derivative is what ``backward`` returns for an upstream gradient of ones, so the
    plot shows exactly what backpropagation uses.

    Args:
        names: registered activation names (default: every element-wise one).
        x_range: interval of the x axis.
        path: save a PNG there when given.

    Raises:
        ValueError: for an unknown name, or ``"softmax"``, which is not element-wise.
    """
    from nnlite import activations

    if names is None:
        names = [n for n in activations.names() if n != "softmax"]
    elif isinstance(names, str):
        names = [names]
    if "softmax" in names:
        raise ValueError("plot_activations: 'softmax' normalises across the last axis, so "
                         "it has no curve of one variable; plot 'sigmoid' instead.")
    functions = [activations.get(n) for n in names]
    cols = min(4, len(names))
    rows = -(-len(names) // cols)
    fig = _figure(3.0 * cols, 2.6 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    x = np.linspace(*x_range, 401)
    for ax, name, fn in zip(axes, names, functions, strict=False):
        y = fn.forward(x)
        grad = fn.backward(x, y, np.ones_like(x))
        ax.axhline(0, color="0.8", linewidth=0.8)
        ax.axvline(0, color="0.8", linewidth=0.8)
        ax.plot(x, y, label="f(x)")
        ax.plot(x, grad, linestyle="--", label="f'(x)")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    axes[0].legend(loc="upper left")
    return _finish(fig, path)


def plot_kernels(layer_or_kernel, channel=None, max_filters=64, path=None):
    """Show a Conv2D layer's kernels as a gallery of small images, one per filter.

    With 3 input channels each filter is shown in colour (scaled to [0, 1] per filter);
    otherwise one input channel is shown on a shared diverging scale centred on 0, with a
    colour bar, so the signs and sizes of weights compare across filters.

    Args:
        layer_or_kernel: a layer with ``params["kernel"]`` of shape
            ``(kh, kw, in_ch, filters)``, or such an array.
        channel: input channel to show (default: colour for 3 channels, else channel 0).
        max_filters: show at most this many filters.
        path: save a PNG there when given.

    Raises:
        ValueError: for a kernel that is not 4-D, or a channel out of range.
    """
    params = getattr(layer_or_kernel, "params", None)
    kernel = np.asarray(params["kernel"] if params is not None else layer_or_kernel)
    if kernel.ndim != 4:
        raise ValueError(f"plot_kernels: expected a Conv2D kernel of shape (kh, kw, in_ch, "
                         f"filters), got shape {kernel.shape}.")
    kh, kw, in_ch, filters = kernel.shape
    if channel is not None and not 0 <= channel < in_ch:
        raise ValueError(f"plot_kernels: channel must be in [0, {in_ch}), got {channel!r}.")
    count = min(filters, max_filters)
    cols = min(8, count)
    rows = -(-count // cols)
    colour = channel is None and in_ch == 3
    fig = _figure(1.1 * cols + (0.0 if colour else 0.9), 1.1 * rows + 0.5)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    if colour:
        low = kernel.min(axis=(0, 1, 2), keepdims=True)
        span = kernel.max(axis=(0, 1, 2), keepdims=True) - low
        tiles = (kernel - low) / np.where(span == 0, 1, span)              # (kh, kw, 3, f)
    else:
        tiles = kernel[:, :, channel or 0, :]                               # (kh, kw, f)
        limit = float(np.abs(tiles[..., :count]).max()) or 1.0
    for i, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= count:
            ax.set_visible(False)
            continue
        if colour:
            ax.imshow(tiles[:, :, :, i], interpolation="nearest")
        else:
            image = ax.imshow(tiles[:, :, i], cmap="RdBu_r", vmin=-limit, vmax=limit,
                              interpolation="nearest")
        ax.set_title(str(i), fontsize=8, pad=2)
    if not colour:
        fig.colorbar(image, ax=axes.tolist(), shrink=0.8, label="weight")
    what = "RGB" if colour else f"input channel {channel or 0}"
    fig.suptitle(f"{count} of {filters} kernels ({kh}x{kw}, {what})")
    return _finish(fig, path)
