"""Layers without weights: Flatten, Reshape, Dropout and Activation."""

import math
import numbers

import numpy as np

from nnlite import activations, config
from nnlite._utils import fraction
from nnlite.layers.base import Layer


class Flatten(Layer):
    """Flatten all axes but the batch axis, in channels-last (C) order as Keras does.

    Shapes:
        x: (n, d1, d2, ...) -> (n, d1 * d2 * ...).
    """

    threading = "either"

    def forward(self, x, training=False):
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)                         # (n, h, w, c) -> (n, h*w*c)

    def backward(self, grad_output):
        return grad_output.reshape(self._cached())               # (n, h*w*c) -> (n, h, w, c)

    def output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def _check_input(self, x):
        if getattr(x, "ndim", 0) < 2:
            raise ValueError(
                f"Flatten {self.name!r} expects input with a batch axis, got shape "
                f"{getattr(x, 'shape', None)}."
            )


class Reshape(Layer):
    """Give each sample a new shape with the same number of values, in C order (Keras).

    Args:
        target_shape: the shape of one sample (batch axis excluded); one entry may be -1,
            worked out from the input's size.

    Raises:
        ValueError: for a target shape that is not a tuple of positive ints with at most one
            -1, and (when built) an input whose size does not fit it.

    Shapes:
        x: (n, d1, d2, ...) -> (n, *target_shape).
    """

    threading = "either"

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        shape = tuple(target_shape) if isinstance(target_shape, tuple | list) else None
        ok = shape is not None and all(
            isinstance(d, numbers.Integral) and not isinstance(d, bool) and (d >= 1 or d == -1)
            for d in shape) and list(shape).count(-1) <= 1
        if not ok:
            raise ValueError(f"Reshape: target_shape must be a tuple of positive ints with at "
                             f"most one -1, got {target_shape!r}.")
        self.target_shape = tuple(int(d) for d in shape)

    def build(self, input_shape):
        self._resolve(input_shape)   # refuse a size that does not fit before building
        super().build(input_shape)

    def _resolve(self, input_shape):
        """The target shape with its -1 worked out for samples of ``input_shape``."""
        size = math.prod(input_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        fits = size % known == 0 if -1 in self.target_shape else size == known
        if not fits:
            raise ValueError(
                f"Reshape {self.name!r}: cannot reshape input of shape {(None, *input_shape)} "
                f"({size} values per sample) to {(None, *self.target_shape)}; the target must "
                f"hold the same number of values."
            )
        return tuple(size // known if d == -1 else d for d in self.target_shape)

    def forward(self, x, training=False):
        self._cache = x.shape
        return x.reshape(x.shape[0], *self._resolve(x.shape[1:]))  # (n, ...) -> (n, *target)

    def backward(self, grad_output):
        return grad_output.reshape(self._cached())               # (n, *target) -> (n, ...)

    def output_shape(self, input_shape):
        return self._resolve(input_shape)

    def _check_input(self, x):
        if getattr(x, "ndim", 0) < 2:
            raise ValueError(
                f"Reshape {self.name!r} expects input with a batch axis, got shape "
                f"{getattr(x, 'shape', type(x).__name__)}."
            )

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Dropout(Layer):
    """Inverted dropout: in training, zero each value with probability ``rate`` and scale
    the rest by ``1 / (1 - rate)``; at inference it is the identity.

    Args:
        rate: fraction of values to drop, in [0, 1) (a Python or NumPy number).

    Raises:
        ValueError: for a rate outside [0, 1), NaN, or a bool.
    """

    supports_masking = True
    threading = "either"

    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = fraction("Dropout", "rate", rate)

    def forward(self, x, training=False, mask=None):
        if not training or self.rate == 0.0:
            self._cache = None
            return x
        keep = config.get_rng().random(x.shape, dtype=x.dtype) >= self.rate
        mask = keep * np.asarray(1.0 / (1.0 - self.rate), dtype=x.dtype)
        self._cache = mask
        return x * mask

    def backward(self, grad_output):
        # A None cache means the last forward ran in inference mode, where dropout is identity.
        return grad_output if self._cache is None else grad_output * self._cache

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class Activation(Layer):
    """Apply an activation function as a layer of its own.

    Args:
        activation: a name from ``nnlite.activations`` or an activation object.
    """

    fusable = True
    supports_masking = True
    threading = "either"

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def forward(self, x, training=False, mask=None):
        y = self.activation.forward(x)
        self._cache = (x, y)
        return y

    def backward(self, grad_output, fused=False):
        x, y = self._cached()
        return grad_output if fused else self.activation.backward(x, y, grad_output)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
