"""BatchNormalization and LayerNormalization: ``gamma * (x - mean) / sqrt(var + eps) + beta``."""

import numbers

import numpy as np

from nnlite import initializers
from nnlite.layers.base import Layer


class _Normalization(Layer):
    """What both normalisations share: ``axis`` (the feature axes ``gamma`` and ``beta`` run
    along), ``epsilon``, ``center``, ``scale``, and the affine step after normalising.

    ``self._stats_axes`` are the axes the mean and variance are taken over (batch
    normalisation: all but ``axis``; layer normalisation: ``axis``), ``self._shape`` the
    shape ``gamma`` broadcasts with (1 except along ``axis``).
    """

    threading = "either"
    #: Shown in the axis error: LayerNormalization also takes a list of axes.
    _axis_plural = ""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        axes = axis if isinstance(axis, tuple | list) else (axis,)
        if not axes or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                               for a in axes):
            raise ValueError(f"{owner}: axis must be an int{self._axis_plural}, got {axis!r}.")
        if not isinstance(epsilon, numbers.Real) or isinstance(epsilon, bool) or not (
                epsilon > 0 and np.isfinite(epsilon)):
            raise ValueError(f"{owner}: epsilon must be a positive float, got {epsilon!r}.")
        self.axis = int(axis) if not isinstance(axis, tuple | list) else [int(a) for a in axis]
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)

    def build(self, input_shape):
        ndim = len(input_shape) + 1                                # with the batch axis
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        resolved = [a % ndim if -ndim <= a < ndim else None for a in axes]
        if None in resolved or 0 in resolved or len(set(resolved)) != len(resolved):
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: axis {self.axis!r} is not a feature axis "
                f"of input shape {(None, *input_shape)}; use axes 1 to {ndim - 1} (or -1 for "
                f"the last), not the batch axis 0."
            )
        super().build(input_shape)
        feature = sorted(resolved)
        self._shape = tuple(d if i in feature else 1
                            for i, d in enumerate((1, *self.input_shape)))
        param_shape = tuple((1, *self.input_shape)[i] for i in feature)
        self._feature_axes = tuple(feature)
        self._stats_axes = self._statistics_axes(ndim, tuple(feature))
        if self.scale:
            self._add_param("gamma", param_shape, initializers.ones)
        if self.center:
            self._add_param("beta", param_shape, initializers.zeros)

    def _affine(self, x_hat):
        """``gamma * x_hat + beta``, reusing ``x_hat``'s memory when there is no ``gamma``
        (``x_hat`` is then kept for backward, so it is copied)."""
        y = x_hat * self.params["gamma"].reshape(self._shape) if self.scale else x_hat.copy()
        if self.center:
            y += self.params["beta"].reshape(self._shape)
        return y

    def _param_grads(self, grad_output, x_hat, axes):
        """Fill the grads of ``gamma`` and ``beta`` (sums over ``axes``, every axis but the
        feature ones); return those two sums, keepdims-shaped, for the input gradient."""
        sum_g = _sum(grad_output, axes)                            # d/d beta
        sum_gx = _sum(grad_output * x_hat, axes)                   # d/d gamma
        if self.center:
            self.grads["beta"] = sum_g.reshape(self.params["beta"].shape)
        if self.scale:
            self.grads["gamma"] = sum_gx.reshape(self.params["gamma"].shape)
        return sum_g, sum_gx

    def _normalize(self, x, share=None):
        """``(x_hat, mean, var, inv_std)`` with this batch's statistics over ``_stats_axes``.

        ``share`` weighs each value's part in the statistics (it sums to 1 over
        ``_stats_axes``); None gives every value ``1 / m``, the plain mean.
        """
        if share is None:
            count = _count(x.shape, self._stats_axes)
            mean = _sum(x, self._stats_axes) / count
        else:
            mean = _sum(x * share, self._stats_axes)
        x_hat = x - mean
        # Biased variance (divide by the count, not count - 1), as Keras and PyTorch do.
        if share is None:
            var = _sum(np.square(x_hat), self._stats_axes) / count
        else:
            var = _sum(np.square(x_hat) * share, self._stats_axes)
        inv_std = 1.0 / np.sqrt(var + self.epsilon)
        x_hat *= inv_std                                           # in place: x - mean is spent
        return x_hat, mean, var, inv_std

    def _input_gradient(self, grad, x_hat, factor, sum_g, sum_gx, share=None):
        """d(loss)/d(x) through statistics taken over ``_stats_axes``:
        ``factor * (g - share * sum(g) - share * x_hat * sum(g * x_hat))``, where ``g`` is
        ``grad``, the sums over ``_stats_axes`` are given, and ``share`` is each value's
        weight in the statistics (``1 / m`` for a plain mean over ``m`` values)."""
        if share is None:
            share = 1.0 / _count(x_hat.shape, self._stats_axes)
        grad_x = x_hat * (sum_gx * -share)
        grad_x += grad
        grad_x -= sum_g * share
        grad_x *= factor
        return grad_x

    def _check_input(self, x):
        if getattr(x, "ndim", 0) < 2:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} expects input of shape (batch, ..., "
                f"features), got shape {getattr(x, 'shape', type(x).__name__)}."
            )

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}


class BatchNormalization(_Normalization):
    """Normalise each feature with the statistics of the batch (training) or with running
    averages of them (inference): ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    In training the mean and the biased variance (divided by the count) are taken over every
    axis but ``axis``, and the moving statistics follow
    ``moving = momentum * moving + (1 - momentum) * batch_statistic``, with the biased
    variance, as Keras does (PyTorch keeps the unbiased one). At inference, and whenever the
    layer is frozen (``trainable=False``, Keras 3 semantics, which fine-tuning needs), the
    moving statistics are used and left unchanged.

    The moving statistics live in ``layer.state``: saved with the model, counted as
    non-trainable, never touched by an optimizer.

    A mask (padded sequences, from ``Embedding(mask_zero=True)``) keeps padded steps out of
    the training statistics, as in Keras 3; every step is still normalised, and the mask
    passes on to the next layer.

    Args:
        axis: the feature axis (channels-last: -1).
        momentum: weight of the old moving statistics in each update, in [0, 1].
        epsilon: added to the variance before the square root.
        center: learn the offset ``beta``.
        scale: learn the factor ``gamma``.

    Raises:
        ValueError: for a momentum outside [0, 1], a non-positive epsilon, (when built) an
            axis that is the batch axis or outside the input, and (in training) a mask whose
            shape is not the input's without its last axis.

    Shapes:
        x: (n, ..., c) -> same shape; mask: (n, t) for x (n, t, c). Params: gamma (c,),
        beta (c,). State: moving_mean (c,), moving_variance (c,), with ``c`` the size of
        ``axis``.
    """

    supports_masking = True

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 **kwargs):
        if isinstance(axis, tuple | list):
            raise ValueError(f"BatchNormalization: axis must be an int, got {axis!r}.")
        if not isinstance(momentum, numbers.Real) or isinstance(momentum, bool) or not (
                0.0 <= momentum <= 1.0):
            raise ValueError(f"BatchNormalization: momentum must be a float in [0, 1], got "
                             f"{momentum!r}.")
        super().__init__(axis=axis, epsilon=epsilon, center=center, scale=scale, **kwargs)
        self.momentum = float(momentum)

    def build(self, input_shape):
        super().build(input_shape)
        (channels,) = (self.input_shape[a - 1] for a in self._feature_axes)
        self._add_state("moving_mean", (channels,), initializers.zeros)
        self._add_state("moving_variance", (channels,), initializers.ones)

    @staticmethod
    def _statistics_axes(ndim, feature_axes):
        return tuple(i for i in range(ndim) if i not in feature_axes)

    def forward(self, x, training=False, mask=None):
        share = None
        if training and self.trainable:
            if mask is not None:
                share = self._mask_share(x, mask)
            x_hat, mean, var, inv_std = self._normalize(x, share)
            # In place: the arrays in ``state`` stay the ones a caller may hold.
            for key, batch_value in (("moving_mean", mean), ("moving_variance", var)):
                moving = self.state[key]
                moving *= self.momentum
                moving += (1.0 - self.momentum) * batch_value.reshape(moving.shape)
            batch_statistics = True
        else:   # a mask changes nothing here: every position is normalised on its own
            inv_std = 1.0 / np.sqrt(self.state["moving_variance"].reshape(self._shape)
                                    + self.epsilon)
            x_hat = (x - self.state["moving_mean"].reshape(self._shape)) * inv_std
            batch_statistics = False
        self._cache = (x_hat, inv_std, batch_statistics, share)
        return self._affine(x_hat)

    def _mask_share(self, x, mask):
        """Each position's weight in masked statistics: 1 / (number of real positions) for a
        real one, 0 for padding; ``(n, t, 1)``. A batch without real positions gives zeros
        (mean 0, variance 0, as Keras)."""
        mask = np.asarray(mask)
        if mask.shape != x.shape[:-1] or self._feature_axes != (x.ndim - 1,):
            raise ValueError(
                f"BatchNormalization {self.name!r} takes a mask of shape {x.shape[:-1]} (the "
                f"input's without its last axis, which must be the feature axis), got a mask "
                f"of shape {mask.shape} for input of shape {x.shape} and axis {self.axis!r}."
            )
        real = mask.astype(bool).astype(x.dtype)[..., None]       # (n, t, 1)
        return real / max(float(real.sum()), 1.0)

    def backward(self, grad_output):
        x_hat, inv_std, batch_statistics, share = self._cached()
        # The feature axis is the only one not reduced, so the statistics' axes are also the
        # axes of the param gradients: their two sums serve both.
        sum_g, sum_gx = self._param_grads(grad_output, x_hat, self._stats_axes)
        factor = inv_std * self.params["gamma"].reshape(self._shape) if self.scale else inv_std
        if batch_statistics:   # the mean and variance depend on every x of the batch
            return self._input_gradient(grad_output, x_hat, factor, sum_g, sum_gx, share)
        return grad_output * factor   # fixed statistics: a per-feature affine map

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


class LayerNormalization(_Normalization):
    """Normalise each sample over its feature axes:
    ``y = gamma * (x - mean) / sqrt(var + epsilon) + beta``, with the mean and the biased
    variance of that sample's values along ``axis``, the same in training and inference.

    A mask passes through unchanged (Keras); with the default ``axis=-1`` every step is
    normalised on its own, so padded steps do not affect real ones.

    Args:
        axis: the axis, or list of axes, to normalise over (not the batch axis 0).
        epsilon: added to the variance before the square root.
        center: learn the offset ``beta``.
        scale: learn the factor ``gamma``.

    Raises:
        ValueError: for a non-positive epsilon, and (when built) an axis that is the batch
            axis, repeated, or outside the input.

    Shapes:
        x: (n, ..., c) -> same shape. Params: gamma and beta shaped like the input along
        ``axis`` ((c,) for the default).
    """

    supports_masking = True
    _axis_plural = " or a list of ints"

    @staticmethod
    def _statistics_axes(ndim, feature_axes):
        return feature_axes

    def forward(self, x, training=False, mask=None):
        x_hat, _, _, inv_std = self._normalize(x)
        self._cache = (x_hat, inv_std)
        return self._affine(x_hat)

    def backward(self, grad_output):
        x_hat, inv_std = self._cached()
        others = tuple(i for i in range(x_hat.ndim) if i not in self._feature_axes)
        self._param_grads(grad_output, x_hat, others)
        grad_x_hat = (grad_output * self.params["gamma"].reshape(self._shape) if self.scale
                      else grad_output)
        return self._input_gradient(grad_x_hat, x_hat, inv_std,
                                    _sum(grad_x_hat, self._stats_axes),
                                    _sum(grad_x_hat * x_hat, self._stats_axes))


def _count(shape, axes):
    """How many values each statistic over ``axes`` is taken from."""
    return int(np.prod([shape[i] for i in axes], dtype=np.int64))


def _sum(a, axes):
    """``a.sum(axis=axes, keepdims=True)``, as one matrix-vector product when ``axes`` are
    the leading or the trailing axes of a C-ordered array (channels-last batch statistics,
    or layer statistics over the last axis): BLAS does that several times faster than
    NumPy's reduction over a non-contiguous set of axes."""
    axes = tuple(sorted(axes))
    k, nd = len(axes), a.ndim
    if a.flags.c_contiguous and axes == tuple(range(k)):
        rows = a.reshape(-1, int(np.prod(a.shape[k:], dtype=np.int64)))   # (m, features)
        return (np.ones(len(rows), a.dtype) @ rows).reshape((1,) * k + a.shape[k:])
    if a.flags.c_contiguous and axes == tuple(range(nd - k, nd)):
        cols = a.reshape(-1, int(np.prod(a.shape[nd - k:], dtype=np.int64)))  # (rows, m)
        return (cols @ np.ones(cols.shape[1], a.dtype)).reshape(a.shape[:nd - k] + (1,) * k)
    return a.sum(axis=axes, keepdims=True)
