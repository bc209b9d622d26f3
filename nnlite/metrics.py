"""Metrics that ``fit`` and ``evaluate`` log beside the loss, with a registry by name.

A metric turns one batch into one value per sample, so that the model can average it with
the same sample weights as the loss. Which kind of accuracy applies (sparse labels, one-hot
rows or a binary threshold) is read from the compiled loss, as Keras does for "accuracy".

>>> from nnlite import metrics
>>> metrics.get("acc").name
'accuracy'
"""

import numpy as np

from nnlite import losses
from nnlite._utils import lookup


class Metric:
    """Base class: subclasses set ``name`` and write ``__call__``."""

    name = "metric"

    def __call__(self, y_true, y_pred, loss=None) -> np.ndarray:
        """Return one value per sample, shape ``(n,)``, for predictions ``(n, ...)``."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class Accuracy(Metric):
    """Share of correct predictions: argmax for class scores, ``> 0.5`` (or ``> 0`` for
    logits) for one binary output. Sequences count the share of correct steps per sample."""

    name = "accuracy"

    def __call__(self, y_true, y_pred, loss=None):
        y_true = np.asarray(y_true)
        if isinstance(loss, losses.SparseCategoricalCrossentropy):
            return _per_sample(y_pred.argmax(axis=-1) == y_true.reshape(y_pred.shape[:-1]))
        categorical = isinstance(loss, losses.CategoricalCrossentropy) or (
            not isinstance(loss, losses.BinaryCrossentropy) and y_pred.shape[-1] > 1)
        if categorical:
            return _per_sample(y_pred.argmax(axis=-1) == y_true.argmax(axis=-1))
        threshold = 0.0 if getattr(loss, "from_logits", False) else 0.5
        return _per_sample((y_pred > threshold) == (y_true.reshape(y_pred.shape) > 0.5))


class MeanSquaredError(Metric):
    """``mean((y_pred - y_true) ** 2)`` over each sample's outputs."""

    name = "mse"

    def __call__(self, y_true, y_pred, loss=None):
        diff = y_pred - np.asarray(y_true).reshape(y_pred.shape)
        return _per_sample(diff * diff)


class MeanAbsoluteError(Metric):
    """``mean(|y_pred - y_true|)`` over each sample's outputs."""

    name = "mae"

    def __call__(self, y_true, y_pred, loss=None):
        return _per_sample(np.abs(y_pred - np.asarray(y_true).reshape(y_pred.shape)))


def _per_sample(values):
    return values.reshape(len(values), -1).mean(axis=1)


_REGISTRY: dict[str, Metric] = {m.name: m for m in (Accuracy(), MeanSquaredError(),
                                                     MeanAbsoluteError())}
_ALIASES = {"acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae"}


def get(identifier) -> Metric:
    """Resolve a metric from its name (or a Keras alias such as ``"acc"``); objects pass.

    Raises:
        ValueError: for an unknown name (the message lists the known names).
        TypeError: for anything that is neither a string nor a Metric.
    """
    if isinstance(identifier, str):
        return lookup({**_REGISTRY, **{a: _REGISTRY[n] for a, n in _ALIASES.items()}},
                      identifier, "metric")
    if isinstance(identifier, Metric):
        return identifier
    raise TypeError(f"metric must be a name or a Metric, got {identifier!r}.")


def register(metric: Metric) -> None:
    """Add ``metric`` under ``metric.name`` so that ``compile(metrics=[name])`` finds it.

    Raises:
        ValueError: if the name is taken.
        TypeError: if ``metric`` is not a Metric.
    """
    if not isinstance(metric, Metric):
        raise TypeError(f"register: expected a Metric, got {metric!r}.")
    if metric.name in _REGISTRY or metric.name in _ALIASES:
        raise ValueError(f"register: metric name {metric.name!r} is already taken.")
    _REGISTRY[metric.name] = metric


def names() -> list[str]:
    """Return the sorted names of all registered metrics (aliases excluded)."""
    return sorted(_REGISTRY)
