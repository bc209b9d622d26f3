"""Recurrent layers: SimpleRNN, LSTM and GRU, with masking and vectorized backpropagation
through time.

The three share one frame, ``_Recurrent``: the input projection of every timestep is one GEMM
before the time loop, each step adds one GEMM with the recurrent kernel (two for GRU with
``reset_after=False``), and backward runs the same loop in reverse, then gets the kernel,
recurrent-kernel and input gradients from one GEMM each over all timesteps. A cell writes
only its step and the step's reverse, reading and writing the arrays of one pass, ``run``.
Arrays are time-major, ``(t, n, ...)``, so that a step's slice is contiguous, and each state
array has one extra leading slot for the initial state, ``h[0] = 0`` (and ``c[0] = 0``).

Masking follows Keras: where ``mask[i, s]`` is False, sample ``i`` keeps at step ``s`` the
states and output of step ``s - 1`` (zeros before its first real step), so a sequence padded
before or after its real steps ends in the same state.
"""

from types import SimpleNamespace

import numpy as np

from nnlite import activations, initializers
from nnlite._utils import positive_int
from nnlite.layers.base import Layer


def _sigmoid(z, out):
    """``out[...] = 1 / (1 + exp(-z))`` as ``0.5 + 0.5 tanh(z / 2)``.

    NumPy's tanh is vectorized, so this is several times faster than an exp-based sigmoid
    on a gate block (ten times scipy's expit on float32); the result is within a few ulps of
    1 of the exact value, as good as a gate needs.
    """
    np.multiply(z, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5


def _activate(act, z, out):
    """``out[...] = act(z)``, without temporaries for sigmoid and tanh."""
    kind = type(act)
    if kind is activations.Sigmoid:
        _sigmoid(z, out)
    elif kind is activations.Tanh:
        np.tanh(z, out=out)
    else:
        out[...] = act.forward(z)


def _derivative(act, z, y, grad):
    """Turn ``grad`` = d(loss)/dy into d(loss)/dz in place, given ``y = act(z)``.

    Sigmoid and tanh use only ``y``, with no temporaries of ``grad``'s size but one.
    """
    kind = type(act)
    if kind is activations.Sigmoid:        # y (1 - y) grad
        grad *= y
        grad -= y * grad
    elif kind is activations.Tanh:         # (1 - y^2) grad
        grad -= (y * y) * grad
    else:
        grad[...] = act.backward(z, y, grad)


class _Recurrent(Layer):
    """The time loop, masking, weight gradients, checks and config shared by the cells.

    A cell class sets ``_blocks`` (gate blocks of ``units`` columns in ``kernel``) and
    ``_state_count`` (``h`` first, then ``c`` for LSTM), and writes ``_step`` and
    ``_step_backward``; ``_start`` and ``_start_backward`` add its own arrays to the pass.
    """

    supports_masking = True
    skips_input_grad = True
    _blocks = 1
    _state_count = 1

    def __init__(self, units, activation="tanh", return_sequences=False, use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 **kwargs):
        super().__init__(**kwargs)
        self.units = positive_int(type(self).__name__, "units", units)
        self.activation = activations.get(activation)
        self.return_sequences, self.use_bias = bool(return_sequences), bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer
        self._inits = (initializers.get(kernel_initializer),
                       initializers.get(recurrent_initializer))

    def build(self, input_shape):
        super().build(input_shape)
        width = self._blocks * self.units
        self._add_param("kernel", (self.input_shape[-1], width), self._inits[0])
        self._add_param("recurrent_kernel", (self.units, width), self._inits[1])
        if self.use_bias:
            self._add_param("bias", self._bias_shape(), self._bias_initializer)

    def _bias_shape(self):
        return (self._blocks * self.units,)

    def _bias_initializer(self, shape, dtype, rng):
        return initializers.zeros(shape, dtype)

    def _input_bias(self):
        """The bias added to the input projection of every step."""
        return self.params["bias"]

    def __call__(self, x, training=False, mask=None):
        if mask is not None:     # checked first: a call that fails builds nothing
            self._check_mask(x, mask)
        return super().__call__(x, training=training, mask=mask)

    def forward(self, x, training=False, mask=None):
        n, t, features = x.shape
        pad = self._padding(mask, n, t)
        x = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=self.dtype)  # (t, n, in)
        z = x.reshape(t * n, features) @ self.params["kernel"]   # (t*n, in) @ (in, b*units)
        z = z.reshape(t, n, -1)                                  # (t, n, b*units)
        if self.use_bias:
            z += self._input_bias()
        states = tuple(np.empty((t + 1, n, self.units), dtype=self.dtype)
                       for _ in range(self._state_count))        # each (t+1, n, units)
        for state in states:
            state[0] = 0.0
        run = SimpleNamespace(z=z, states=states, recurrent=self.params["recurrent_kernel"])
        self._start(run)
        for s in range(1, t + 1):
            self._step(s, run)
            if pad is not None and pad[s - 1].size:
                rows = pad[s - 1]
                for state in states:              # padded samples keep their state
                    state[s][rows] = state[s - 1][rows]
        self._cache = (x, run, pad)
        h = states[0]
        if self.return_sequences:
            return h[1:].transpose(1, 0, 2)                      # -> (n, t, units) view
        return h[-1].copy()                                      # (n, units)

    def backward(self, grad_output, input_grad=True):
        x, run, pad = self._cached()
        t, n, features = x.shape
        grad_seq = grad_output.transpose(1, 0, 2) if self.return_sequences else None  # (t, n, u)
        # A copy: masking writes into it, and grad_output is the caller's.
        grad_states = [np.array(grad_seq[-1] if self.return_sequences else grad_output,
                                dtype=self.dtype)]
        grad_states += [np.zeros((n, self.units), dtype=self.dtype)
                        for _ in range(self._state_count - 1)]
        run.grad_z = np.empty_like(run.z)                        # (t, n, b*units)
        # A contiguous copy: a GEMM with a transposed view is slower at these sizes.
        run.recurrent_t = np.ascontiguousarray(self.params["recurrent_kernel"].T)  # (b*u, u)
        self._start_backward(run)
        for s in range(t, 0, -1):
            rows = None if pad is None or not pad[s - 1].size else pad[s - 1]
            if rows is not None:
                # A padded sample's state at s is its state at s - 1: its gradient goes
                # straight through, and the cell's step gets none.
                skipped = [g[rows] for g in grad_states]         # (padded, units) each
                for g in grad_states:
                    g[rows] = 0.0
            grad_states = self._step_backward(s, run, grad_states)
            if rows is not None and s > 1:
                for g, skip in zip(grad_states, skipped, strict=True):
                    g[rows] += skip
            if self.return_sequences and s > 1:
                grad_states[0] += grad_seq[s - 2]
        self._weight_gradients(x, run)
        if not input_grad:   # first layer of a model in training: its input is data
            return None
        grad_x = run.grad_z.reshape(t * n, -1) @ self.params["kernel"].T  # (t*n, b*u) @ (b*u, in)
        return grad_x.reshape(t, n, features).transpose(1, 0, 2)          # -> (n, t, in)

    def _start(self, run):
        """Add the cell's per-step buffers to the forward pass ``run``."""

    def _start_backward(self, run):
        """Prepare the backward pass: ``run.grad_hz`` receives d(loss)/d(h_{s-1} @
        recurrent_kernel), which is ``run.grad_z`` unless the recurrent product enters the
        cell differently (GRU)."""
        run.grad_hz = run.grad_z

    def _weight_gradients(self, x, run):
        t, n, features = x.shape
        grad_z2 = run.grad_z.reshape(t * n, -1)                  # (t*n, b*units)
        self.grads["kernel"] = x.reshape(t * n, features).T @ grad_z2  # (in, t*n) @ (t*n, b*u)
        # sum_s h_{s-1}.T @ grad_hz_s over s >= 2 (h_0 = 0 adds nothing), as one GEMM.
        h_prev = run.states[0][1:-1].reshape((t - 1) * n, self.units)   # ((t-1)*n, units)
        grad_hz2 = run.grad_hz[1:].reshape((t - 1) * n, grad_z2.shape[-1])  # ((t-1)*n, b*u)
        self.grads["recurrent_kernel"] = h_prev.T @ grad_hz2  # (u, (t-1)*n) @ ((t-1)*n, b*u)
        if self.use_bias:
            self.grads["bias"] = grad_z2.sum(axis=0)

    def _padding(self, mask, n, t):
        """Return None when no step is padded, else for each step the indices of the samples
        for which it is padding (row indices are cheaper than a boolean ``where`` here, and
        copy values exactly)."""
        if mask is None:
            return None
        padded = ~np.asarray(mask, dtype=bool)                   # (n, t)
        if not padded.any():
            return None
        return [np.flatnonzero(padded[:, s]) for s in range(t)]

    def _check_mask(self, x, mask):
        shape, expected = np.shape(mask), tuple(np.shape(x)[:2])
        if shape != expected:
            raise ValueError(f"{type(self).__name__} {self.name!r}: mask must have shape "
                             f"(batch, timesteps) = {expected} like its input, got shape "
                             f"{shape}.")

    def compute_mask(self, x, mask):
        """The mask goes on with the sequence (``return_sequences``), not with one state."""
        return mask if self.return_sequences else None

    def output_shape(self, input_shape):
        t = input_shape[0]
        return (t, self.units) if self.return_sequences else (self.units,)

    def _check_input(self, x):
        who = f"{type(self).__name__} {self.name!r}"
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


class SimpleRNN(_Recurrent):
    """Elman recurrence ``h_t = act(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``.

    The state starts at ``h_0 = 0``. The input projection of all timesteps is one GEMM
    before the loop; the loop over time adds only the recurrent GEMM. Backward runs the loop
    in reverse for the hidden-state gradients, then gets ``kernel``, ``recurrent_kernel`` and
    the input gradient from one GEMM each over all timesteps.

    Args:
        units: size of the hidden state.
        activation: name or object from ``nnlite.activations`` (tanh by default).
        return_sequences: return every ``h_t`` instead of only the last one.
        use_bias: add a learned bias.
        kernel_initializer: name or callable for ``kernel``.
        recurrent_initializer: name or callable for ``recurrent_kernel``.

    Masking: ``layer(x, mask=m)`` (or a model after ``Embedding(mask_zero=True)``) carries
    ``h`` unchanged over the steps where ``m`` is False; see the module docstring.

    Shapes:
        x: (n, t, in) -> (n, units), or (n, t, units) with ``return_sequences``.
        Params: kernel (in, units), recurrent_kernel (units, units), bias (units,).
    """

    def _step(self, s, run):
        h, zs = run.states[0], run.z[s - 1]                      # zs: (n, units)
        if s > 1:
            zs += h[s - 1] @ run.recurrent                       # (n, units) @ (units, units)
        _activate(self.activation, zs, h[s])

    def _step_backward(self, s, run, grad_states):
        grad = run.grad_z[s - 1]                                 # (n, units)
        np.copyto(grad, grad_states[0])
        _derivative(self.activation, run.z[s - 1], run.states[0][s], grad)
        if s == 1:
            return [None]
        return [grad @ run.recurrent_t]                          # (n, u) @ (u, u)


class LSTM(_Recurrent):
    """Long short-term memory, Keras' layout (gate blocks i, f, c, o) and PyTorch's math.

    With ``z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias`` split into four blocks of
    ``units`` columns, ``i = rec(z_i)``, ``f = rec(z_f)``, ``g = act(z_c)``, ``o = rec(z_o)``,
    then ``c_t = f * c_{t-1} + i * g`` and ``h_t = o * act(c_t)``, from ``h_0 = c_0 = 0``
    (``rec`` is ``recurrent_activation``, ``act`` is ``activation``). The four gates are
    computed on one fused ``(n, 4 units)`` block per step.

    With the default activations (tanh, sigmoid) each step runs one tanh over the whole gate
    block (``sigmoid(v) = 0.5 + 0.5 tanh(v / 2)``; the halving is folded into the input
    projection and a scaled copy of ``recurrent_kernel``), and backward takes the four
    gates' derivatives in one pass over the block too.

    Args:
        units: size of the hidden and cell states.
        activation: for the candidate ``g`` and the output ``act(c_t)`` (tanh by default).
        recurrent_activation: for the gates i, f, o (sigmoid by default).
        return_sequences: return every ``h_t`` instead of only the last one.
        use_bias: add a learned bias.
        unit_forget_bias: start the forget-gate bias at 1 (the rest at 0), as Keras does.
        kernel_initializer: name or callable for ``kernel``.
        recurrent_initializer: name or callable for ``recurrent_kernel``.

    Masking: ``h`` and ``c`` carry over unchanged where the mask is False (module docstring).

    Shapes:
        x: (n, t, in) -> (n, units), or (n, t, units) with ``return_sequences``.
        Params: kernel (in, 4 units), recurrent_kernel (units, 4 units), bias (4 units,).

    >>> import numpy as np
    >>> LSTM(8, return_sequences=True)(np.ones((2, 5, 3), dtype="float32")).shape
    (2, 5, 8)
    """

    _blocks = 4
    _state_count = 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 return_sequences=False, use_bias=True, unit_forget_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 **kwargs):
        super().__init__(units, activation, return_sequences, use_bias, kernel_initializer,
                         recurrent_initializer, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self._fused = (type(self.activation) is activations.Tanh
                       and type(self.recurrent_activation) is activations.Sigmoid)

    def _bias_initializer(self, shape, dtype, rng):
        bias = np.zeros(shape, dtype=dtype)
        if self.unit_forget_bias:
            bias[self.units:2 * self.units] = 1.0
        return bias

    def _start(self, run):
        t, n, _ = run.z.shape
        # gates: i, f, g, o after their activations; tanh_c: act(c_t), which h_t and its
        # gradient both use.
        run.gates = np.empty((t, n, 4 * self.units), dtype=self.dtype)  # (t, n, 4u)
        run.tanh_c = np.empty((t, n, self.units), dtype=self.dtype)     # (t, n, u)
        # Scratch space reused by every step: the recurrent product and one (n, u) product.
        run.product = np.empty((n, 4 * self.units), dtype=self.dtype)   # (n, 4u)
        run.scratch = np.empty((n, self.units), dtype=self.dtype)       # (n, u)
        if self._fused:
            # a = scale * tanh(scale * z) + offset is sigmoid on i, f, o and tanh on g.
            sigmoid = np.repeat(np.array([1, 1, 0, 1], dtype=self.dtype), self.units)  # (4u,)
            run.sigmoid, run.tanh_columns = sigmoid, 1.0 - sigmoid
            run.scale, run.offset = 1.0 - 0.5 * sigmoid, 0.5 * sigmoid
            run.z *= run.scale                                   # scale * (x W + b)
            run.recurrent = run.recurrent * run.scale            # scale * U: (u, 4u)

    def _step(self, s, run):
        u, (h, c) = self.units, run.states
        zs, a = run.z[s - 1], run.gates[s - 1]                   # (n, 4u) each
        if s > 1:
            zs += np.matmul(h[s - 1], run.recurrent, out=run.product)   # (n, u) @ (u, 4u)
        if self._fused:
            np.tanh(zs, out=a)
            a *= run.scale
            a += run.offset
        else:
            _activate(self.recurrent_activation, zs[:, :2 * u], a[:, :2 * u])   # i, f
            _activate(self.activation, zs[:, 2 * u:3 * u], a[:, 2 * u:3 * u])   # g
            _activate(self.recurrent_activation, zs[:, 3 * u:], a[:, 3 * u:])   # o
        i, f, g, o = a[:, :u], a[:, u:2 * u], a[:, 2 * u:3 * u], a[:, 3 * u:]
        np.multiply(f, c[s - 1], out=c[s])
        c[s] += np.multiply(i, g, out=run.scratch)
        _activate(self.activation, c[s], run.tanh_c[s - 1])
        np.multiply(o, run.tanh_c[s - 1], out=h[s])

    def _step_backward(self, s, run, grad_states):
        u, c, a, tanh_c = self.units, run.states[1], run.gates[s - 1], run.tanh_c[s - 1]
        grad_h, grad_c = grad_states                             # (n, u) each
        gz = run.grad_z[s - 1]                                   # (n, 4u)
        i, f, g, o = a[:, :u], a[:, u:2 * u], a[:, 2 * u:3 * u], a[:, 3 * u:]
        # h = o * act(c): the output gate's share, then c's, to which the next step's adds;
        # then each gate's, through its activation.
        np.multiply(grad_h, tanh_c, out=gz[:, 3 * u:])           # d/do
        grad_tanh_c = np.multiply(grad_h, o, out=run.scratch)
        _derivative(self.activation, c[s], tanh_c, grad_tanh_c)
        grad_c += grad_tanh_c                                    # all of d/dc_t now
        np.multiply(grad_c, g, out=gz[:, :u])                    # d/di
        np.multiply(grad_c, c[s - 1], out=gz[:, u:2 * u])        # d/df
        np.multiply(grad_c, i, out=gz[:, 2 * u:3 * u])           # d/dg
        if self._fused:       # gz *= a (1 - a) on the sigmoid gates' columns, 1 - a^2 on g's
            slope = np.subtract(run.sigmoid, a, out=run.product)
            slope *= a
            slope += run.tanh_columns
            gz *= slope
        else:
            zs = run.z[s - 1]
            _derivative(self.recurrent_activation, zs[:, :2 * u], a[:, :2 * u], gz[:, :2 * u])
            _derivative(self.activation, zs[:, 2 * u:3 * u], g, gz[:, 2 * u:3 * u])
            _derivative(self.recurrent_activation, zs[:, 3 * u:], o, gz[:, 3 * u:])
        if s == 1:
            return [None, None]
        grad_c *= f                                              # c_t = f * c_{t-1} + ...
        return [gz @ run.recurrent_t, grad_c]                    # (n, 4u) @ (4u, u)

    def get_config(self):
        config = super().get_config()
        return {**config, "recurrent_activation":
                activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class GRU(_Recurrent):
    """Gated recurrent unit, Keras' layout (gate blocks z, r, h) and PyTorch's math.

    With ``x_t @ kernel + b_x`` and ``h_{t-1} @ recurrent_kernel + b_h`` each split into
    blocks z, r, h of ``units`` columns (``b_x, b_h = bias``):
    ``z = rec(x_z + h_z)``, ``r = rec(x_r + h_r)``, candidate ``n = act(x_h + r * h_h)``
    (``reset_after=True``: the reset gate multiplies the recurrent product, as in PyTorch's
    ``nn.GRU`` and Keras' default), and ``h_t = z * h_{t-1} + (1 - z) * n``, from ``h_0 = 0``.
    Keras and PyTorch use this same convention (PyTorch writes ``h' = (1 - z) * n + z * h``):
    the update gate ``z`` is the share of the old state that is kept.

    With ``reset_after=False`` (Cho et al., 2014, Keras' former default) the candidate is
    ``act(x_h + (r * h_{t-1}) @ recurrent_kernel_h)``, one more GEMM per step, and ``bias``
    is one vector ``(3 units,)`` added to the input projection.

    Args:
        units: size of the hidden state.
        activation: for the candidate (tanh by default).
        recurrent_activation: for the gates z and r (sigmoid by default).
        return_sequences: return every ``h_t`` instead of only the last one.
        reset_after: apply the reset gate after the recurrent product (True) or before it.
        use_bias: add learned biases.
        kernel_initializer: name or callable for ``kernel``.
        recurrent_initializer: name or callable for ``recurrent_kernel``.

    Masking: ``h`` carries over unchanged where the mask is False (module docstring).

    Shapes:
        x: (n, t, in) -> (n, units), or (n, t, units) with ``return_sequences``.
        Params: kernel (in, 3 units), recurrent_kernel (units, 3 units), bias (2, 3 units)
        (input bias, recurrent bias), or (3 units,) with ``reset_after=False``.
    """

    _blocks = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 return_sequences=False, reset_after=True, use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 **kwargs):
        super().__init__(units, activation, return_sequences, use_bias, kernel_initializer,
                         recurrent_initializer, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        return self.params["bias"][0] if self.reset_after else self.params["bias"]

    def _start(self, run):
        t, n, _ = run.z.shape
        # gates: z, r and the candidate after their activations. hz (reset_after): the
        # recurrent product plus its bias, whose h block the reset gate scales; rh
        # (reset_after=False): r * h_{t-1}, the left operand of the candidate's product.
        run.gates = np.empty((t, n, 3 * self.units), dtype=self.dtype)      # (t, n, 3u)
        if self.reset_after:
            run.hz = np.empty((t, n, 3 * self.units), dtype=self.dtype)     # (t, n, 3u)
        else:
            run.rh = np.empty((t, n, self.units), dtype=self.dtype)         # (t, n, u)

    def _step(self, s, run):
        u, h, kernel = self.units, run.states[0], run.recurrent
        zs, a = run.z[s - 1], run.gates[s - 1]                   # (n, 3u) each
        if self.reset_after:
            hz = run.hz[s - 1]                                   # (n, 3u)
            if s > 1:
                np.matmul(h[s - 1], kernel, out=hz)              # (n, u) @ (u, 3u)
            else:
                hz[...] = 0.0
            if self.use_bias:
                hz += self.params["bias"][1]
            zs[:, :2 * u] += hz[:, :2 * u]
            _activate(self.recurrent_activation, zs[:, :2 * u], a[:, :2 * u])  # z, r
            zs[:, 2 * u:] += a[:, u:2 * u] * hz[:, 2 * u:]       # + r * (h W_h + b_h)
        else:
            if s > 1:
                zs[:, :2 * u] += h[s - 1] @ kernel[:, :2 * u]    # (n, u) @ (u, 2u)
            _activate(self.recurrent_activation, zs[:, :2 * u], a[:, :2 * u])  # z, r
            rh = run.rh[s - 1]                                   # (n, u)
            np.multiply(a[:, u:2 * u], h[s - 1], out=rh)
            if s > 1:
                zs[:, 2 * u:] += rh @ kernel[:, 2 * u:]          # (n, u) @ (u, u)
        _activate(self.activation, zs[:, 2 * u:], a[:, 2 * u:])  # candidate
        update, candidate = a[:, :u], a[:, 2 * u:]
        # h = z * h_prev + (1 - z) * candidate, as candidate + z * (h_prev - candidate)
        np.subtract(h[s - 1], candidate, out=h[s])
        h[s] *= update
        h[s] += candidate

    def _start_backward(self, run):
        run.grad_hz = np.empty_like(run.grad_z) if self.reset_after else run.grad_z

    def _step_backward(self, s, run, grad_states):
        u, h, recurrent_t = self.units, run.states[0], run.recurrent_t
        grad_h = grad_states[0]                                  # (n, u)
        zs, a, gz = run.z[s - 1], run.gates[s - 1], run.grad_z[s - 1]   # (n, 3u) each
        update, reset, candidate = a[:, :u], a[:, u:2 * u], a[:, 2 * u:]
        np.multiply(grad_h, h[s - 1] - candidate, out=gz[:, :u])   # d/dz
        np.multiply(grad_h, 1.0 - update, out=gz[:, 2 * u:])      # d/dcandidate
        grad_zr, grad_cand = gz[:, :2 * u], gz[:, 2 * u:]
        _derivative(self.activation, zs[:, 2 * u:], candidate, grad_cand)
        grad_prev = grad_h * update                               # h_t = z * h_{t-1} + ...
        if self.reset_after:
            hz, ghz = run.hz[s - 1], run.grad_hz[s - 1]          # (n, 3u) each
            np.multiply(grad_cand, hz[:, 2 * u:], out=gz[:, u:2 * u])  # d/dr
            _derivative(self.recurrent_activation, zs[:, :2 * u], a[:, :2 * u], grad_zr)
            ghz[:, :2 * u] = grad_zr
            np.multiply(grad_cand, reset, out=ghz[:, 2 * u:])
            if s > 1:
                grad_prev += ghz @ recurrent_t                   # (n, 3u) @ (3u, u)
        else:
            grad_rh = grad_cand @ recurrent_t[2 * u:]            # (n, u) @ (u, u)
            np.multiply(grad_rh, h[s - 1], out=gz[:, u:2 * u])   # d/dr
            _derivative(self.recurrent_activation, zs[:, :2 * u], a[:, :2 * u], grad_zr)
            grad_prev += grad_rh * reset
            if s > 1:
                grad_prev += grad_zr @ recurrent_t[:2 * u]       # (n, 2u) @ (2u, u)
        return [grad_prev if s > 1 else None]

    def _weight_gradients(self, x, run):
        super()._weight_gradients(x, run)
        t, n = x.shape[:2]
        u = self.units
        if self.reset_after:
            if self.use_bias:
                self.grads["bias"] = np.stack([run.grad_z.reshape(t * n, -1).sum(axis=0),
                                               run.grad_hz.reshape(t * n, -1).sum(axis=0)])
            return
        # The candidate's block multiplies r * h_{t-1}, not h_{t-1}: redo that block.
        rh_prev = run.rh[1:].reshape((t - 1) * n, u)                   # ((t-1)*n, u)
        grad_cand = run.grad_z[1:, :, 2 * u:].reshape((t - 1) * n, u)  # ((t-1)*n, u)
        self.grads["recurrent_kernel"][:, 2 * u:] = rh_prev.T @ grad_cand  # (u, .) @ (., u)

    def get_config(self):
        config = super().get_config()
        return {**config, "recurrent_activation":
                activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}
