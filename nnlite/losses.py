"""Losses: the value is the (sample-weighted) batch mean; ``gradient`` is its exact derivative.

Each loss computes a per-sample value ``l_i`` (a mean over the sample's non-class elements)
and reduces it as ``sum(w * l) / sum(w)`` (``w = 1`` by default, which is the plain mean).
Probabilities are clipped to ``[eps, 1 - eps]`` with the dtype's machine epsilon and never
renormalised; where the clip is active the derivative is 0, exactly as for the value.
"""

import functools

import numpy as np

from nnlite._utils import LazyModule, lookup

special = LazyModule("scipy.special")


@functools.cache
def _eps(dtype):
    """Machine epsilon of ``dtype`` (``np.finfo`` costs microseconds per call)."""
    return np.finfo(dtype).eps


class Loss:
    """Base class: subclasses write ``_elementwise`` and ``_elementwise_grad``.

    ``_elementwise(y_true, y_pred)`` returns the loss per element with the class axis
    already summed over where the loss has one; ``_elementwise_grad`` returns its derivative
    with respect to every element of ``y_pred``.
    """

    name = "loss"
    #: True when the last axis holds classes that the per-element loss sums over.
    sums_last_axis = False

    def __call__(self, y_true, y_pred, sample_weight=None) -> float:
        """Return ``sum(w * l_i) / sum(w)`` as a Python float.

        ``sample_weight`` is ``(n,)``, one weight per sample, or ``(n, t)``, one per
        position of a sequence output (a model gives padded steps weight 0).
        """
        y_true = self._check(y_true, y_pred)
        per_element = self._elementwise(y_true, y_pred)
        if sample_weight is None:
            # Every sample has as many elements, so the mean of the per-sample means is the
            # mean of all elements: one pass.
            return float(per_element.mean())
        weight = np.asarray(sample_weight, dtype=y_pred.dtype)
        per_unit = per_element.reshape(*weight.shape, -1).mean(axis=-1)
        return float((weight * per_unit).sum() / weight.sum())

    def gradient(self, y_true, y_pred, sample_weight=None) -> np.ndarray:
        """Return d(loss) / d(y_pred), shaped and typed like ``y_pred``."""
        y_true = self._check(y_true, y_pred)
        grad = self._elementwise_grad(y_true, y_pred)
        return self.reduce_gradient(grad, sample_weight)

    def reduce_gradient(self, grad, sample_weight=None):
        """Scale a per-element derivative into the derivative of the reduced batch loss."""
        lead = 1 if sample_weight is None else np.ndim(sample_weight)
        count = grad[(0,) * lead].size // (grad.shape[-1] if self.sums_last_axis else 1)
        if sample_weight is None:
            grad *= 1.0 / (len(grad) * count)
            return grad
        weight = np.asarray(sample_weight, dtype=grad.dtype)
        scale = weight / (weight.sum() * count)
        grad *= scale.reshape(weight.shape + (1,) * (grad.ndim - lead))
        return grad

    def one_hot_targets(self, y_true, y_pred):
        """Return targets shaped like ``y_pred`` (sparse losses expand labels to one-hot)."""
        return self._check(y_true, y_pred)

    def check_targets(self, y_true, pred_shape) -> np.ndarray:
        """Validate targets for predictions of ``pred_shape``; return them reshaped to fit.

        Raises:
            ValueError: when the targets cannot go with such predictions.
        """
        y_true = np.asarray(y_true)
        if y_true.shape != pred_shape:
            if y_true.shape == pred_shape[:-1] and pred_shape[-1] == 1:
                return y_true.reshape(pred_shape)
            raise ValueError(
                f"{self.name}: targets must have the shape of the predictions "
                f"{pred_shape}, got {y_true.shape}."
            )
        return y_true

    def _check(self, y_true, y_pred):
        return self.check_targets(y_true, y_pred.shape).astype(y_pred.dtype, copy=False)

    def get_config(self) -> dict:
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MeanSquaredError(Loss):
    """``l = mean((y_pred - y_true) ** 2)`` over each sample's elements."""

    name = "mse"

    def _elementwise(self, y_true, y_pred):
        diff = y_pred - y_true
        return diff * diff

    def _elementwise_grad(self, y_true, y_pred):
        return 2.0 * (y_pred - y_true)


class _CrossEntropy(Loss):
    def __init__(self, from_logits: bool = False):
        if not isinstance(from_logits, bool | np.bool_):
            raise TypeError(f"{self.name}: from_logits must be True or False, got "
                            f"{from_logits!r}.")
        self.from_logits = bool(from_logits)

    def get_config(self):
        return {"from_logits": self.from_logits}

    @staticmethod
    def _clip(p, with_mask=False):
        """Return ``p`` clipped to ``[eps, 1 - eps]``, where the logs stay finite, and with
        ``with_mask`` also where ``p`` was inside that range (the gradient is 0 outside)."""
        eps = _eps(p.dtype)
        clipped = np.minimum(np.maximum(p, eps), 1.0 - eps)
        if not with_mask:
            return clipped
        return clipped, (p > eps) & (p < 1.0 - eps)


class BinaryCrossentropy(_CrossEntropy):
    """``l = -(y log p + (1 - y) log(1 - p))``, averaged over each sample's outputs.

    With ``from_logits=True`` the predictions are logits ``z`` and the loss is computed as
    ``softplus(z) - y z``, which never overflows.
    """

    name = "binary_crossentropy"

    def check_targets(self, y_true, pred_shape):
        """Also refuse targets outside ``[0, 1]``: they are probabilities, and a 5 or a -1
        would give a negative loss that training would then push further down."""
        y_true = np.asarray(y_true)
        _check_range(self.name, y_true, 0.0, 1.0, "in [0, 1]")
        return super().check_targets(y_true, pred_shape)

    def _elementwise(self, y_true, y_pred):
        if self.from_logits:
            return np.logaddexp(0.0, y_pred) - y_true * y_pred
        p = self._clip(y_pred)
        return -(y_true * np.log(p) + (1.0 - y_true) * np.log1p(-p))

    def _elementwise_grad(self, y_true, y_pred):
        if self.from_logits:
            return special.expit(y_pred) - y_true
        p, inside = self._clip(y_pred, with_mask=True)
        return (p - y_true) / (p * (1.0 - p)) * inside


class CategoricalCrossentropy(_CrossEntropy):
    """``l = -sum_k y_k log p_k`` over the last axis, for one-hot (or soft) targets.

    With ``from_logits=True``, ``l = sum(y) * logsumexp(z) - sum_k y_k z_k``.
    """

    name = "categorical_crossentropy"
    sums_last_axis = True

    def _elementwise(self, y_true, y_pred):
        if self.from_logits:
            lse = special.logsumexp(y_pred, axis=-1)
            return y_true.sum(axis=-1) * lse - (y_true * y_pred).sum(axis=-1)
        p = self._clip(y_pred)
        return -(y_true * np.log(p)).sum(axis=-1)

    def _elementwise_grad(self, y_true, y_pred):
        if self.from_logits:
            shifted = np.exp(y_pred - y_pred.max(axis=-1, keepdims=True))
            softmax = shifted / shifted.sum(axis=-1, keepdims=True)
            return y_true.sum(axis=-1, keepdims=True) * softmax - y_true
        p, inside = self._clip(y_pred, with_mask=True)
        return -y_true / p * inside

    def check_targets(self, y_true, pred_shape):
        """Targets are one-hot (or soft) class weights: the right shape, finite and
        non-negative (a negative entry would reward a wrong class)."""
        y_true = np.asarray(y_true)
        if y_true.shape != pred_shape:
            raise ValueError(
                f"{self.name}: one-hot targets must have shape {pred_shape} "
                f"({pred_shape[-1]} classes), got {y_true.shape}. For integer labels use "
                "'sparse_categorical_crossentropy'."
            )
        _check_range(self.name, y_true, 0.0, np.inf, "finite and non-negative")
        return y_true


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical cross-entropy with integer labels in ``[0, classes)`` as targets."""

    name = "sparse_categorical_crossentropy"

    def check_targets(self, y_true, pred_shape):
        labels = np.asarray(y_true)
        if labels.shape == pred_shape[:-1] + (1,):
            labels = labels.reshape(pred_shape[:-1])
        if labels.shape != pred_shape[:-1]:
            raise ValueError(
                f"{self.name}: labels must have shape {pred_shape[:-1]} for predictions of "
                f"shape {pred_shape}, got {labels.shape}."
            )
        classes = pred_shape[-1]
        if labels.dtype.kind == "f":
            if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
                raise ValueError(f"{self.name}: labels must be integers, got {labels.dtype} "
                                 "values with a fractional part.")
        elif labels.dtype.kind not in "iub":
            raise ValueError(f"{self.name}: labels must be integers, got dtype {labels.dtype}.")
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            bad = np.flatnonzero((labels < 0) | (labels >= classes))
            raise ValueError(
                f"{self.name}: labels must be in [0, {classes}), got "
                f"{labels.reshape(-1)[bad[0]].item()!r} at index {int(bad[0])}."
            )
        return labels

    # Labels stay labels through the loss: it reads one prediction per position (the true
    # class's) instead of multiplying all of them by a one-hot matrix.

    def _check(self, y_true, y_pred):
        return self.check_targets(y_true, y_pred.shape).astype(np.intp, copy=False)

    def _elementwise(self, labels, y_pred):
        rows = y_pred.reshape(-1, y_pred.shape[-1])                  # (positions, classes)
        picked = rows[np.arange(len(rows)), labels.reshape(-1)].reshape(labels.shape)
        if self.from_logits:
            return special.logsumexp(y_pred, axis=-1) - picked
        return -np.log(self._clip(picked))

    def _elementwise_grad(self, labels, y_pred):
        return super()._elementwise_grad(self._one_hot(labels, y_pred), y_pred)

    def one_hot_targets(self, y_true, y_pred):
        return self._one_hot(self._check(y_true, y_pred), y_pred)

    @staticmethod
    def _one_hot(labels, y_pred):
        one_hot = np.zeros(y_pred.shape, dtype=y_pred.dtype)
        rows = one_hot.reshape(-1, y_pred.shape[-1])                  # a view: C-contiguous
        rows[np.arange(len(rows)), labels.reshape(-1)] = 1.0
        return one_hot


def _check_range(name, values, low, high, allowed):
    """Raise ValueError naming the loss, the first value outside ``[low, high]`` (NaN and
    infinities included) and its index."""
    if values.dtype.kind not in "fiub" or values.size == 0:
        return  # other kinds fail when cast to the predictions' dtype
    if values.dtype.kind in "iub":
        ok = values.min() >= low and values.max() <= high
    else:
        # min and max propagate NaN, and an infinity is outside any finite range.
        low_seen, high_seen = values.min(), values.max()
        ok = low_seen >= low and high_seen <= high and np.isfinite(high_seen)
    if ok:
        return
    bad = ~((values >= low) & (values <= high) & np.isfinite(values))
    index = np.unravel_index(int(np.argmax(bad)), values.shape)
    where = index[0] if values.ndim == 1 else tuple(int(i) for i in index)
    raise ValueError(f"{name}: targets must be {allowed}, got {values[index].item()!r} at "
                     f"index {where}.")


_CLASSES = {cls.name: cls for cls in (MeanSquaredError, BinaryCrossentropy,
                                      CategoricalCrossentropy, SparseCategoricalCrossentropy)}
_ALIASES = {"mean_squared_error": "mse", "bce": "binary_crossentropy",
            "cce": "categorical_crossentropy", "scce": "sparse_categorical_crossentropy"}


def get(identifier) -> Loss:
    """Resolve a loss from a name, a ``{"name", "config"}`` dict, or pass a Loss through.

    Raises:
        ValueError: for an unknown name (the message lists the known names).
        TypeError: for anything else.
    """
    if isinstance(identifier, str):
        return lookup(_CLASSES, _ALIASES.get(identifier, identifier), "loss")()
    if isinstance(identifier, dict) and "name" in identifier:
        return lookup(_CLASSES, identifier["name"], "loss")(**identifier.get("config", {}))
    if isinstance(identifier, Loss):
        return identifier
    raise TypeError(f"loss must be a name or a Loss object, got {identifier!r}.")


def serialize(loss: Loss) -> dict:
    """Return ``{"name", "config"}`` for a built-in loss."""
    if _CLASSES.get(loss.name) is not type(loss):
        raise ValueError(f"Loss {loss!r} is not a built-in loss, so it cannot be saved.")
    return {"name": loss.name, "config": loss.get_config()}
