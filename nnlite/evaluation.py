"""Scores you can trust and pictures you can show.

Metrics are computed by ``sklearn.metrics``; ``compare_with_baselines`` puts an nnlite model
beside scikit-learn's usual baselines. The plots use matplotlib (the ``plot`` extra), which
is imported inside each function; they draw on a ``matplotlib.figure.Figure`` without
pyplot, so they work headless and leave no global figure state behind. Each returns the
Figure (a notebook displays it) and saves a PNG when given ``path``.
"""

import functools
import io
import time
import warnings

import numpy as np
import pandas as pd

__all__ = [
    "classification_metrics",
    "classification_report",
    "compare_with_baselines",
    "confusion_matrix",
    "plot_activations",
    "plot_confusion_matrix",
    "plot_kernels",
    "plot_learning_curves",
    "predicted_labels",
    "regression_metrics",
]

_DPI = 100


# ---- metrics ---------------------------------------------------------------------------------


def predicted_labels(y_pred) -> np.ndarray:
    """Turn model outputs into class ids.

    ``(n, k)`` scores with ``k > 1`` give their argmax; ``(n, 1)`` probabilities give
    ``p > 0.5``; a 1-D array is taken as labels already.
    """
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2 and y_pred.shape[1] > 1:
        return y_pred.argmax(axis=1)
    if y_pred.ndim == 2:
        return (y_pred[:, 0] > 0.5).astype(np.intp)
    return y_pred


def classification_metrics(y_true, y_pred) -> dict:
    """Accuracy and macro / weighted precision, recall and F1.

    Args:
        y_true: class ids ``(n,)`` (or one-hot ``(n, k)``).
        y_pred: class ids, or scores as accepted by ``predicted_labels``.

    Returns:
        ``{"accuracy", "precision_macro", "recall_macro", "f1_macro", "precision_weighted",
        "recall_weighted", "f1_weighted"}`` as Python floats.
    """
    from sklearn import metrics as skm

    y_true, y_pred = predicted_labels(y_true), predicted_labels(y_pred)
    result = {"accuracy": float(skm.accuracy_score(y_true, y_pred))}
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y_true, y_pred, average=average,
                                                         zero_division=0)
        result.update({f"precision_{average}": float(p), f"recall_{average}": float(r),
                       f"f1_{average}": float(f)})
    return result


def regression_metrics(y_true, y_pred) -> dict:
    """MSE, RMSE, MAE and R2 of predictions ``(n,)`` or ``(n, 1)`` against ``y_true``."""
    from sklearn import metrics as skm

    y_true = np.asarray(y_true, dtype=float).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype=float).reshape(len(y_pred), -1)
    mse = float(skm.mean_squared_error(y_true, y_pred))
    return {"mse": mse, "rmse": mse ** 0.5, "mae": float(skm.mean_absolute_error(y_true, y_pred)),
            "r2": float(skm.r2_score(y_true, y_pred))}


def confusion_matrix(y_true, y_pred, num_classes=None) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of class ``i`` predicted as ``j`` (rows: true class)."""
    from sklearn import metrics as skm

    y_true, y_pred = predicted_labels(y_true), predicted_labels(y_pred)
    labels = None if num_classes is None else np.arange(num_classes)
    return skm.confusion_matrix(y_true, y_pred, labels=labels)


def classification_report(y_true, y_pred, class_names=None) -> str:
    """A printable table of precision, recall, F1 and support per class, with averages."""
    from sklearn import metrics as skm

    y_true, y_pred = predicted_labels(y_true), predicted_labels(y_pred)
    labels = None if class_names is None else np.arange(len(class_names))
    names = None if class_names is None else [str(c) for c in class_names]
    return skm.classification_report(y_true, y_pred, labels=labels, target_names=names,
                                     digits=4, zero_division=0)


# ---- baselines -------------------------------------------------------------------------------


def compare_with_baselines(model_or_builder, X_train, y_train, X_test, y_test, task="auto",
                           fit_kwargs=None, inverse_target=None, random_state=0):
    """Fit an nnlite model and scikit-learn baselines on the same split; score each on test.

    The baselines are the Dummy model (most frequent class / mean), LogisticRegression or
    Ridge, an MLP with the nnlite model's hidden Dense sizes and activation, trained for at
    most as many epochs with the same batch size, and a RandomForest.

    Args:
        model_or_builder: a function that returns a compiled ``Sequential``, or a compiled
            ``Sequential`` whose architecture and compile settings are copied: the copy
            starts from fresh weights, so the model you pass is never trained further.
            The trained model is ``table.attrs["model"]``.
        X_train, y_train, X_test, y_test: the split; classification targets are class ids
            (sparse) or one-hot rows.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (from the model's loss).
        fit_kwargs: passed to ``model.fit`` (default ``epochs=50, batch_size=32,
            verbose=0``).
        inverse_target: for regression, a function mapping targets and predictions back to
            the original units before scoring (when the target was scaled).
        random_state: seed of the scikit-learn models.

    Returns:
        A DataFrame, one row per model (nnlite first): ``model``, then ``accuracy`` and
        ``f1_macro`` (classification) or ``rmse`` and ``r2`` (regression), and
        ``fit_time_s``; ``attrs["model"]`` is the nnlite model trained here.

    Raises:
        TypeError: when ``model_or_builder`` gives no Sequential.
        ValueError: for an unknown ``task``.
    """
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    model = model_or_builder() if callable(model_or_builder) and not hasattr(
        model_or_builder, "fit") else model_or_builder
    if not hasattr(model, "fit") or not hasattr(model, "layers"):
        raise TypeError("compare_with_baselines: expected a compiled Sequential or a function "
                        f"returning one, got {type(model).__name__}.")
    if model is model_or_builder:
        # Train a copy with fresh weights: the caller's model (maybe trained already) stays
        # as it is, and the comparison is between models trained for the same budget.
        from nnlite.model import Sequential

        spec = model.get_config()
        if "compile" not in spec:
            raise RuntimeError("compare_with_baselines: the model needs compile() first.")
        model = Sequential.from_config(spec)
    fit_kwargs = {"epochs": 50, "batch_size": 32, "verbose": 0, **(fit_kwargs or {})}
    if task == "auto":
        task = "regression" if getattr(model.loss, "name", "") == "mse" else "classification"
    if task not in ("classification", "regression"):
        raise ValueError(f"compare_with_baselines: task must be 'auto', 'classification' or "
                         f"'regression', got {task!r}.")
    classify = task == "classification"

    start = time.perf_counter()
    model.fit(X_train, y_train, **fit_kwargs)
    rows = [("nnlite " + _describe(model), model.predict(X_test),
             time.perf_counter() - start)]

    sizes, activation = _hidden_layers(model)
    mlp_kwargs = {"hidden_layer_sizes": sizes, "activation": activation,
                  "max_iter": fit_kwargs["epochs"], "batch_size": fit_kwargs["batch_size"],
                  "random_state": random_state}
    if classify:
        y_fit = predicted_labels(y_train)
        baselines = [("Dummy (most frequent)", DummyClassifier(strategy="most_frequent")),
                     ("LogisticRegression", LogisticRegression(max_iter=2000)),
                     (f"MLPClassifier {sizes}", MLPClassifier(**mlp_kwargs)),
                     ("RandomForest", RandomForestClassifier(random_state=random_state))]
    else:
        y_fit = np.asarray(y_train, dtype=float).reshape(len(y_train), -1)
        y_fit = y_fit[:, 0] if y_fit.shape[1] == 1 else y_fit
        baselines = [("Dummy (mean)", DummyRegressor()), ("Ridge", Ridge()),
                     (f"MLPRegressor {sizes}", MLPRegressor(**mlp_kwargs)),
                     ("RandomForest", RandomForestRegressor(random_state=random_state))]
    for name, estimator in baselines:
        start = time.perf_counter()
        with warnings.catch_warnings():
            # An MLP stopped at the same epoch count as nnlite may not have converged.
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X_train, y_fit)
        rows.append((name, estimator.predict(X_test), time.perf_counter() - start))

    table = []
    for name, y_pred, seconds in rows:
        if classify:
            scores = classification_metrics(y_test, y_pred)
            scores = {"accuracy": scores["accuracy"], "f1_macro": scores["f1_macro"]}
        else:
            truth, guess = np.asarray(y_test, dtype=float), np.asarray(y_pred, dtype=float)
            guess = guess.reshape(truth.shape)
            if inverse_target is not None:
                truth, guess = inverse_target(truth), inverse_target(guess)
            scores = regression_metrics(truth, guess)
            scores = {"rmse": scores["rmse"], "r2": scores["r2"]}
        table.append({"model": name, **scores, "fit_time_s": seconds})
    table = pd.DataFrame(table)
    table.attrs["model"] = model
    return table


def _hidden_layers(model):
    """Hidden Dense sizes and an activation scikit-learn's MLP knows (relu by default)."""
    dense = [layer for layer in model.layers if hasattr(layer, "units")]
    sizes = tuple(layer.units for layer in dense[:-1])
    names = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic", "linear": "identity"}
    first = getattr(dense[0].activation, "name", "relu") if len(dense) > 1 else "relu"
    return sizes, names.get(first, "relu")


def _describe(model):
    sizes, _ = _hidden_layers(model)
    return f"Sequential {sizes}" if sizes else "Sequential"


# ---- plots -----------------------------------------------------------------------------------


def _figure(width, height):
    return _figure_class()(figsize=(width, height), dpi=_DPI, layout="constrained")


@functools.cache
def _figure_class():
    from matplotlib.figure import Figure

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
