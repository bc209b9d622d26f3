"""SimpleRNN: the fully connected recurrent layer, with vectorized backpropagation through time."""

import numpy as np

from nnlite import activations, initializers
from nnlite._utils import positive_int
from nnlite.layers.base import Layer


class SimpleRNN(Layer):
    """Elman recurrence ``h_t = act(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``.

    The state starts at ``h_0 = 0``. The input projection of all timesteps is one GEMM
    before the loop; the loop over time adds only the recurrent GEMM. Backward runs the loop
    in reverse for the hidden-state gradients, then gets ``kernel``, ``recurrent_kernel`` and
    the input gradient from one GEMM each over all timesteps. States are stored time-major,
    ``(t, n, units)``, so that each step's slice is contiguous.

    Args:
        units: size of the hidden state.
        activation: name or object from ``nnlite.activations`` (tanh by default).
        return_sequences: return every ``h_t`` instead of only the last one.
        use_bias: add a learned bias.
        kernel_initializer: name or callable for ``kernel``.
        recurrent_initializer: name or callable for ``recurrent_kernel``.

    Shapes:
        x: (n, t, in) -> (n, units), or (n, t, units) with ``return_sequences``.
        Params: kernel (in, units), recurrent_kernel (units, units), bias (units,).
    """

    skips_input_grad = True

    def __init__(self, units, activation="tanh", return_sequences=False, use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 **kwargs):
        super().__init__(**kwargs)
        self.units = positive_int("SimpleRNN", "units", units)
        self.activation = activations.get(activation)
        self.return_sequences, self.use_bias = bool(return_sequences), bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self._inits = (initializers.get(kernel_initializer),
                       initializers.get(recurrent_initializer))

    def build(self, input_shape):
        super().build(input_shape)
        self._add_param("kernel", (self.input_shape[-1], self.units), self._inits[0])
        self._add_param("recurrent_kernel", (self.units, self.units), self._inits[1])
        if self.use_bias:
            self._add_param("bias", (self.units,), initializers.zeros)

    def forward(self, x, training=False):
        n, t, features = x.shape
        x = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=self.dtype)  # (t, n, in)
        z = x.reshape(t * n, features) @ self.params["kernel"]  # (t*n, in) @ (in, units)
        z = z.reshape(t, n, self.units)                          # (t*n, units) -> (t, n, units)
        if self.use_bias:
            z += self.params["bias"]
        h = np.empty_like(z)                                     # (t, n, units)
        h[0] = self.activation.forward(z[0])
        for s in range(1, t):
            z[s] += h[s - 1] @ self.params["recurrent_kernel"]   # (n, units) @ (units, units)
            h[s] = self.activation.forward(z[s])
        self._cache = (x, z, h)
        if self.return_sequences:
            return h.transpose(1, 0, 2)                          # -> (n, t, units) view
        return h[-1].copy()                                      # (n, units)

    def backward(self, grad_output, input_grad=True):
        x, z, h = self._cached()
        t, n, features = x.shape
        recurrent_t = self.params["recurrent_kernel"].T
        grad_seq = grad_output.transpose(1, 0, 2) if self.return_sequences else None  # (t, n, u)
        grad_h = grad_seq[-1] if self.return_sequences else grad_output   # (n, units)
        grad_z = np.empty_like(z)                                # (t, n, units)
        for s in range(t - 1, -1, -1):
            grad_z[s] = self.activation.backward(z[s], h[s], grad_h)
            if s:
                grad_h = grad_z[s] @ recurrent_t                 # (n, units) @ (units, units)
                if self.return_sequences:
                    grad_h += grad_seq[s - 1]
        grad_z2 = grad_z.reshape(t * n, self.units)              # (t*n, units)
        self.grads["kernel"] = x.reshape(t * n, features).T @ grad_z2  # (in, t*n) @ (t*n, units)
        # sum_s h_{s-1}.T @ grad_z_s for s >= 1 (h_0 = 0 adds nothing), as one GEMM.
        h_prev = h[:-1].reshape((t - 1) * n, self.units)         # ((t-1)*n, units)
        # (units, (t-1)*n) @ ((t-1)*n, units)
        self.grads["recurrent_kernel"] = h_prev.T @ grad_z2[n:]
        if self.use_bias:
            self.grads["bias"] = grad_z2.sum(axis=0)
        if not input_grad:   # the model's first layer in training: its input is data
            return None
        grad_x = grad_z2 @ self.params["kernel"].T               # (t*n, units) @ (units, in)
        return grad_x.reshape(t, n, features).transpose(1, 0, 2)  # -> (n, t, in)

    def output_shape(self, input_shape):
        t = input_shape[0]
        return (t, self.units) if self.return_sequences else (self.units,)

    def _check_input(self, x):
        who = f"SimpleRNN {self.name!r}"
        if getattr(x, "ndim", 0) != 3 or x.shape[1] == 0:
            raise ValueError(f"{who} expects input of shape (batch, timesteps, features) with "
                             f"at least one timestep, got shape "
                             f"{getattr(x, 'shape', type(x).__name__)}.")
        if self.built and x.shape[-1] != self.input_shape[-1]:
            raise ValueError(f"{who} was built for {self.input_shape[-1]} input features, "
                             f"got input of shape {x.shape}.")

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "return_sequences": self.return_sequences, "use_bias": self.use_bias,
                "kernel_initializer": self.kernel_initializer,
                "recurrent_initializer": self.recurrent_initializer}
