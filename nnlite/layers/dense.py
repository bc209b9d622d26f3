"""Dense: the fully connected layer."""

from nnlite import _parallel as parallel
from nnlite import activations, initializers
from nnlite._utils import positive_int
from nnlite.layers.base import Layer


class Dense(Layer):
    """Fully connected layer ``y = act(x @ kernel + bias)`` over the last axis.

    Args:
        units: number of outputs.
        activation: name or object from ``nnlite.activations`` (None is linear).
        use_bias: add a learned bias.
        kernel_initializer: name or callable for the kernel (bias starts at zero).

    Shapes: x (n, ..., in) -> (n, ..., units); kernel (in, units), bias (units,).

    >>> import numpy as np
    >>> Dense(2, activation="relu", dtype="float64")(np.ones((3, 4))).shape
    (3, 2)
    """

    fusable = True
    skips_input_grad = True
    supports_masking = True   # each step is transformed alone, so a mask passes through
    threading = "either"

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 **kwargs):
        super().__init__(**kwargs)
        self.units = positive_int("Dense", "units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self._init = initializers.get(kernel_initializer)

    def build(self, input_shape):
        super().build(input_shape)
        self._add_param("kernel", (self.input_shape[-1], self.units), self._init)
        if self.use_bias:
            self._add_param("bias", (self.units,), initializers.zeros)

    def forward(self, x, training=False, mask=None):
        z = parallel.matmul(x, self.params["kernel"])            # (n, in) @ (in, units)
        if self.use_bias:
            z += self.params["bias"]
        y = self.activation.forward(z)
        self._cache = (x, z, y)
        return y

    def backward(self, grad_output, fused=False, input_grad=True):
        x, z, y = self._cached()
        grad_z = grad_output if fused else self.activation.backward(z, y, grad_output)
        x2 = x.reshape(-1, x.shape[-1])                          # (n, in)
        grad_z2 = grad_z.reshape(-1, self.units)                 # (n, units)
        self.grads["kernel"] = parallel.matmul(x2.T, grad_z2)    # (in, n) @ (n, units)
        if self.use_bias:
            self.grads["bias"] = grad_z2.sum(axis=0)
        if not input_grad:
            return None
        return parallel.matmul(grad_z, self.params["kernel"].T)  # (n, units) @ (units, in)

    def output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.units)

    def _check_input(self, x):
        if getattr(x, "ndim", 0) < 2:
            raise ValueError(f"Dense {self.name!r} expects input of shape (batch, ..., "
                             f"features), got shape {getattr(x, 'shape', type(x).__name__)}.")
        if self.built and x.shape[-1] != self.input_shape[-1]:
            raise ValueError(f"Dense {self.name!r} was built for {self.input_shape[-1]} input "
                             f"features, got input of shape {x.shape}.")

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "kernel_initializer": self.kernel_initializer}
