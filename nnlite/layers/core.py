"""Layers without weights: Flatten, Dropout and Activation."""

import math

import numpy as np

from nnlite import activations, config
from nnlite._utils import fraction
from nnlite.layers.base import Layer


class Flatten(Layer):
    """Flatten all axes but the batch axis, in channels-last (C) order as Keras does.

    Shapes:
        x: (n, d1, d2, ...) -> (n, d1 * d2 * ...).
    """

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


class Dropout(Layer):
    """Inverted dropout: in training, zero each value with probability ``rate`` and scale
    the rest by ``1 / (1 - rate)``; at inference it is the identity.

    Args:
        rate: fraction of values to drop, in [0, 1) (a Python or NumPy number).

    Raises:
        ValueError: for a rate outside [0, 1), NaN, or a bool.
    """

    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = fraction("Dropout", "rate", rate)

    def forward(self, x, training=False):
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

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def forward(self, x, training=False):
        y = self.activation.forward(x)
        self._cache = (x, y)
        return y

    def backward(self, grad_output, fused=False):
        x, y = self._cached()
        return grad_output if fused else self.activation.backward(x, y, grad_output)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
