"""Dense: the fully connected layer."""

import numpy as np

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

    Shapes:
        x: (n, ..., in) -> (n, ..., units). Params: kernel (in, units), bias (units,).

    >>> import numpy as np
    >>> layer = Dense(2, activation="relu", dtype="float64")
    >>> layer(np.ones((3, 4))).shape
    (3, 2)
    """

    fusable = True
    skips_input_grad = True
    supports_masking = True   # each step is transformed alone, so a mask passes through
    threading = "either"

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", **kwargs):
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
        kernel, bias = self.params["kernel"], self.params.get("bias")
        z = np.empty((*x.shape[:-1], self.units), x.dtype)
        y = np.empty_like(z)

        def work(s):   # a shard of samples: the product, the bias, the activation
            np.matmul(x[s], kernel, out=z[s])                    # (n, in) @ (in, units)
            if bias is not None:
                z[s] += bias
            y[s] = self.activation.forward(z[s])

        parallel.run(work, parallel.shards(len(x), z[0].size))
        self._cache = (x, z, y)
        return y

    def backward(self, grad_output, fused=False, input_grad=True):
        x, z, y = self._cached()
        kernel = self.params["kernel"]
        grad_z = grad_output if fused else self.activation.backward(z, y, grad_output)
        x2 = x.reshape(-1, x.shape[-1])                          # (n, in)
        grad_z2 = grad_z.reshape(-1, self.units)                 # (n, units)
        grad_kernel = np.empty_like(kernel)

        def kernel_rows(r):   # a shard of input features: no partial sums to add
            np.matmul(x2[:, r].T, grad_z2, out=grad_kernel[r])   # (in, n) @ (n, units)

        parallel.run(kernel_rows, parallel.shards(len(kernel), grad_z2.size))
        self.grads["kernel"] = grad_kernel
        if self.use_bias:
            self.grads["bias"] = grad_z2.sum(axis=0)
        if not input_grad:
            return None
        grad_x = np.empty(x.shape, grad_z.dtype)

        def input_rows(s):
            np.matmul(grad_z[s], kernel.T, out=grad_x[s])        # (n, units) @ (units, in)

        parallel.run(input_rows, parallel.shards(len(x), x[0].size))
        return grad_x

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
