"""Shared test helpers: the layer contract check and plain-loop references."""

import numpy as np

import nnlite


def check_layer_contract(cls, kwargs, input_shape, *, integer_input=False, input_dim=None):
    """Check the Layer contract for ``cls(**kwargs)`` on a batch of ``input_shape``.

    Checks that the output shape matches ``output_shape()``; that ``grads`` has the keys,
    shapes and dtypes of ``params``; that float32 in gives float32 out (state included); that
    ``cls(**get_config())`` rebuilds an equal layer with the same params and state; and that
    ``backward`` returns an array of the input's shape (None for layers taking integer ids).
    """
    rng = np.random.default_rng(0)
    layer = cls(**kwargs, dtype="float32")
    if integer_input:
        x = rng.integers(0, input_dim, size=input_shape)
    else:
        x = rng.standard_normal(input_shape).astype(np.float32)
    y = layer(x, training=True)
    assert y.shape == (input_shape[0], *layer.output_shape(input_shape[1:]))
    assert y.dtype == np.float32
    grad_x = layer.backward(np.ones_like(y))
    assert set(layer.grads) == set(layer.params)
    for key, param in layer.params.items():
        assert param.dtype == np.float32, key
        assert layer.grads[key].shape == param.shape, key
        assert layer.grads[key].dtype == param.dtype, key
    if integer_input:
        assert grad_x is None
    else:
        assert grad_x.shape == x.shape
        assert grad_x.dtype == np.float32
    config = layer.get_config()
    clone = cls(**config)
    assert clone.get_config() == config
    clone.build(input_shape[1:])
    assert {k: v.shape for k, v in clone.params.items()} == {
        k: v.shape for k, v in layer.params.items()
    }
    assert {k: v.shape for k, v in clone.state.items()} == {
        k: v.shape for k, v in layer.state.items()
    }
    assert all(v.dtype == np.float32 for v in layer.state.values())
    return layer


def gradcheck_layer(layer, x, tol=1e-6):
    """Run ``nnlite.gradcheck`` on a float64 layer and return the worst error (asserting tol)."""
    error = nnlite.gradcheck(layer, x)
    assert error < tol, error
    return error


def _same_pads(size, window, stride):
    """TensorFlow's "same" padding for one axis: (before, after), the odd one after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def conv2d_reference(x, kernel, bias, strides=(1, 1), padding="valid"):
    """Plain-loop 2-D cross-correlation, channels-last, for checking Conv2D.

    Args:
        x: (n, h, w, c); kernel: (kh, kw, c, filters); bias: (filters,) or None.

    Returns:
        (n, oh, ow, filters), computed one output pixel at a time (slow on purpose).
    """
    n, h, w, c = x.shape
    kh, kw, _, filters = kernel.shape
    sh, sw = strides
    if padding == "same":
        (top, bottom), (left, right) = _same_pads(h, kh, sh), _same_pads(w, kw, sw)
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    oh = (x.shape[1] - kh) // sh + 1
    ow = (x.shape[2] - kw) // sw + 1
    out = np.zeros((n, oh, ow, filters), dtype=np.float64)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for f in range(filters):
                    total = 0.0
                    for di in range(kh):
                        for dj in range(kw):
                            for ch in range(c):
                                total += (x[b, i * sh + di, j * sw + dj, ch]
                                          * kernel[di, dj, ch, f])
                    out[b, i, j, f] = total + (0.0 if bias is None else bias[f])
    return out


def maxpool2d_reference(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Plain-loop max pooling, channels-last; "same" pads with -inf as Keras does.

    Returns:
        (n, oh, ow, c), one window at a time (slow on purpose).
    """
    n, h, w, c = x.shape
    ph, pw = pool_size
    sh, sw = strides or pool_size
    if padding == "same":
        (top, bottom), (left, right) = _same_pads(h, ph, sh), _same_pads(w, pw, sw)
        x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)),
                   constant_values=-np.inf)
    oh = (x.shape[1] - ph) // sh + 1
    ow = (x.shape[2] - pw) // sw + 1
    out = np.empty((n, oh, ow, c), dtype=x.dtype)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    out[b, i, j, ch] = x[b, i * sh:i * sh + ph, j * sw:j * sw + pw, ch].max()
    return out


def simple_rnn_reference(x, kernel, recurrent_kernel, bias, activation, grad_seq, mask=None):
    """SimpleRNN forward and backward with plain loops over samples and timesteps; a step
    whose mask is False carries the state over.

    Args:
        x: inputs ``(n, t, in)``.
        kernel, recurrent_kernel, bias: the layer's weights.
        activation: an object from ``nnlite.activations``, applied to one vector at a time.
        grad_seq: d(loss)/d(h_s) for every step, ``(n, t, units)``.
        mask: ``(n, t)`` bools (True = real step), or None.

    Returns:
        ``(h, grads, grad_x)``: all hidden states ``(n, t, units)``, a dict of weight
        gradients keyed like the layer's params, and d(loss)/d(x).
    """
    n, t, _ = x.shape
    units = kernel.shape[1]
    h = np.zeros((n, t, units))
    z = np.zeros((n, t, units))
    grads = {"kernel": np.zeros(kernel.shape), "bias": np.zeros(units),
             "recurrent_kernel": np.zeros(recurrent_kernel.shape)}
    grad_x = np.zeros(x.shape)
    mask = np.ones((n, t), dtype=bool) if mask is None else mask
    for i in range(n):
        state = np.zeros(units)
        previous = []
        for s in range(t):
            previous.append(state)
            if mask[i, s]:
                z[i, s] = x[i, s] @ kernel + state @ recurrent_kernel + bias
                state = activation.forward(z[i, s])
            h[i, s] = state
        carry = np.zeros(units)
        for s in reversed(range(t)):
            if not mask[i, s]:
                carry = carry + grad_seq[i, s]
                continue
            grad_z = activation.backward(z[i, s], h[i, s], grad_seq[i, s] + carry)
            grads["kernel"] += np.outer(x[i, s], grad_z)
            grads["recurrent_kernel"] += np.outer(previous[s], grad_z)
            grads["bias"] += grad_z
            grad_x[i, s] = kernel @ grad_z
            carry = recurrent_kernel @ grad_z
    return h, grads, grad_x


def conv1d_reference(x, kernel, bias, stride=1, padding="valid", dilation=1):
    """Plain-loop 1-D cross-correlation over ``(n, steps, c)``, for checking Conv1D.

    Args:
        x: (n, steps, c); kernel: (k, c, filters); bias: (filters,) or None.
        padding: "valid", "same" (TensorFlow's, the odd step at the end) or "causal"
            (``(k - 1) * dilation`` zeros before the first step).

    Returns:
        (n, out_steps, filters), one output value at a time (slow on purpose).
    """
    n, steps, c = x.shape
    k, _, filters = kernel.shape
    span = (k - 1) * dilation + 1
    if padding == "same":
        x = np.pad(x, ((0, 0), _same_pads(steps, span, stride), (0, 0)))
    elif padding == "causal":
        x = np.pad(x, ((0, 0), (span - 1, 0), (0, 0)))
    out_steps = (x.shape[1] - span) // stride + 1
    out = np.zeros((n, out_steps, filters), dtype=np.float64)
    for b in range(n):
        for t in range(out_steps):
            for f in range(filters):
                total = 0.0
                for j in range(k):
                    for ch in range(c):
                        total += x[b, t * stride + j * dilation, ch] * kernel[j, ch, f]
                out[b, t, f] = total + (0.0 if bias is None else bias[f])
    return out


def pool2d_reference(x, pool_size=(2, 2), strides=None, padding="valid", mode="max"):
    """Plain-loop max or average pooling over ``(n, h, w, c)``; "same" pads as TensorFlow and
    an average divides by the number of real (unpadded) values in its window.

    Returns:
        (n, oh, ow, c), one window at a time (slow on purpose).
    """
    if mode == "max":
        return maxpool2d_reference(x, pool_size, strides, padding)
    n, h, w, c = x.shape
    ph, pw = pool_size
    sh, sw = strides or pool_size
    (top, _), (left, _) = ((0, 0), (0, 0))
    if padding == "same":
        (top, _), (left, _) = _same_pads(h, ph, sh), _same_pads(w, pw, sw)
        oh, ow = -(-h // sh), -(-w // sw)
    else:
        oh, ow = (h - ph) // sh + 1, (w - pw) // sw + 1
    out = np.empty((n, oh, ow, c), dtype=x.dtype)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    total, count = 0.0, 0
                    for di in range(ph):
                        for dj in range(pw):
                            row, col = i * sh + di - top, j * sw + dj - left
                            if 0 <= row < h and 0 <= col < w:
                                total += x[b, row, col, ch]
                                count += 1
                    out[b, i, j, ch] = total / count
    return out


def pool1d_reference(x, pool_size=2, stride=None, padding="valid", mode="max"):
    """Plain-loop max or average pooling over ``(n, steps, c)``, with the padding rules of
    ``pool2d_reference``.

    Returns:
        (n, out_steps, c), one window at a time (slow on purpose).
    """
    n, steps, c = x.shape
    stride = stride or pool_size
    before = 0
    if padding == "same":
        before = _same_pads(steps, pool_size, stride)[0]
        out_steps = -(-steps // stride)
    else:
        out_steps = (steps - pool_size) // stride + 1
    out = np.empty((n, out_steps, c), dtype=x.dtype)
    for b in range(n):
        for t in range(out_steps):
            for ch in range(c):
                real = [x[b, s, ch] for s in range(t * stride - before,
                                                   t * stride - before + pool_size)
                        if 0 <= s < steps]
                if mode == "max":
                    out[b, t, ch] = max(real)
                else:
                    total = 0.0
                    for value in real:
                        total += value
                    out[b, t, ch] = total / len(real)
    return out


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def lstm_reference(x, kernel, recurrent_kernel, bias, grad_seq, mask=None):
    """LSTM (tanh, sigmoid; Keras gate order i, f, c, o) forward and backward with plain
    loops over samples and timesteps; a step whose mask is False carries h and c over.

    Args:
        x: inputs ``(n, t, in)``; kernel, recurrent_kernel, bias: the layer's weights.
        grad_seq: d(loss)/d(h_s) for every step, ``(n, t, units)``.
        mask: ``(n, t)`` bools (True = real step), or None.

    Returns:
        ``(h, grads, grad_x)`` as ``simple_rnn_reference``.
    """
    n, t, _ = x.shape
    u = recurrent_kernel.shape[0]
    mask = np.ones((n, t), dtype=bool) if mask is None else mask
    h = np.zeros((n, t, u))
    grads = {"kernel": np.zeros(kernel.shape), "bias": np.zeros(bias.shape),
             "recurrent_kernel": np.zeros(recurrent_kernel.shape)}
    grad_x = np.zeros(x.shape)
    for i in range(n):
        state, cell, steps = np.zeros(u), np.zeros(u), []
        for s in range(t):
            if mask[i, s]:
                z = x[i, s] @ kernel + state @ recurrent_kernel + bias
                gate_i, gate_f = _sigmoid(z[:u]), _sigmoid(z[u:2 * u])
                cand, gate_o = np.tanh(z[2 * u:3 * u]), _sigmoid(z[3 * u:])
                steps.append((state, cell, gate_i, gate_f, cand, gate_o))
                cell = gate_f * cell + gate_i * cand
                state = gate_o * np.tanh(cell)
            else:
                steps.append(None)
            h[i, s] = state
        grad_h, grad_c = np.zeros(u), np.zeros(u)
        for s in reversed(range(t)):
            grad_h = grad_h + grad_seq[i, s]
            if steps[s] is None:
                continue
            prev_h, prev_c, gate_i, gate_f, cand, gate_o = steps[s]
            new_c = gate_f * prev_c + gate_i * cand
            grad_o = grad_h * np.tanh(new_c)
            grad_c = grad_c + grad_h * gate_o * (1.0 - np.tanh(new_c) ** 2)
            grad_z = np.concatenate([
                grad_c * cand * gate_i * (1.0 - gate_i),
                grad_c * prev_c * gate_f * (1.0 - gate_f),
                grad_c * gate_i * (1.0 - cand ** 2),
                grad_o * gate_o * (1.0 - gate_o)])
            grads["kernel"] += np.outer(x[i, s], grad_z)
            grads["recurrent_kernel"] += np.outer(prev_h, grad_z)
            grads["bias"] += grad_z
            grad_x[i, s] = kernel @ grad_z
            grad_h = recurrent_kernel @ grad_z
            grad_c = grad_c * gate_f
    return h, grads, grad_x


def gru_reference(x, kernel, recurrent_kernel, bias, grad_seq, mask=None, reset_after=True):
    """GRU (tanh, sigmoid; Keras gate order z, r, h) forward and backward with plain loops
    over samples and timesteps; a step whose mask is False carries h over.

    ``h_s = z * h_{s-1} + (1 - z) * cand``; with ``reset_after`` the candidate is
    ``tanh(x W_h + b_x + r * (h W_rh + b_h))`` and ``bias`` is ``(2, 3u)``, otherwise
    ``tanh(x W_h + (r * h) W_rh + b)`` with ``bias`` ``(3u,)``.

    Returns:
        ``(h, grads, grad_x)`` as ``simple_rnn_reference``.
    """
    n, t, _ = x.shape
    u = recurrent_kernel.shape[0]
    mask = np.ones((n, t), dtype=bool) if mask is None else mask
    bias_x, bias_h = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * u))
    h = np.zeros((n, t, u))
    grads = {"kernel": np.zeros(kernel.shape), "bias": np.zeros(bias.shape),
             "recurrent_kernel": np.zeros(recurrent_kernel.shape)}
    grad_x = np.zeros(x.shape)
    for i in range(n):
        state, steps = np.zeros(u), []
        for s in range(t):
            if not mask[i, s]:
                steps.append(None)
                h[i, s] = state
                continue
            xz = x[i, s] @ kernel + bias_x
            if reset_after:
                hz = state @ recurrent_kernel + bias_h
                update = _sigmoid(xz[:u] + hz[:u])
                reset = _sigmoid(xz[u:2 * u] + hz[u:2 * u])
                cand = np.tanh(xz[2 * u:] + reset * hz[2 * u:])
            else:
                hz = state @ recurrent_kernel[:, :2 * u]
                update = _sigmoid(xz[:u] + hz[:u])
                reset = _sigmoid(xz[u:2 * u] + hz[u:2 * u])
                hz = np.concatenate([hz, (reset * state) @ recurrent_kernel[:, 2 * u:]])
                cand = np.tanh(xz[2 * u:] + hz[2 * u:])
            steps.append((state, hz, update, reset, cand))
            state = update * state + (1.0 - update) * cand
            h[i, s] = state
        grad_h = np.zeros(u)
        for s in reversed(range(t)):
            grad_h = grad_h + grad_seq[i, s]
            if steps[s] is None:
                continue
            prev, hz, update, reset, cand = steps[s]
            grad_update = grad_h * (prev - cand) * update * (1.0 - update)
            grad_cand = grad_h * (1.0 - update) * (1.0 - cand ** 2)
            grad_prev = grad_h * update
            if reset_after:
                grad_reset = grad_cand * hz[2 * u:] * reset * (1.0 - reset)
                grad_hz = np.concatenate([grad_update, grad_reset, grad_cand * reset])
                grads["recurrent_kernel"] += np.outer(prev, grad_hz)
                grads["bias"][1] += grad_hz
                grad_prev = grad_prev + recurrent_kernel @ grad_hz
            else:
                grad_rh = recurrent_kernel[:, 2 * u:] @ grad_cand
                grad_reset = grad_rh * prev * reset * (1.0 - reset)
                grads["recurrent_kernel"][:, :2 * u] += np.outer(
                    prev, np.concatenate([grad_update, grad_reset]))
                grads["recurrent_kernel"][:, 2 * u:] += np.outer(reset * prev, grad_cand)
                grad_prev = (grad_prev + grad_rh * reset
                             + recurrent_kernel[:, :2 * u] @ np.concatenate(
                                 [grad_update, grad_reset]))
            grad_xz = np.concatenate([grad_update, grad_reset, grad_cand])
            grads["kernel"] += np.outer(x[i, s], grad_xz)
            if reset_after:
                grads["bias"][0] += grad_xz
            else:
                grads["bias"] += grad_xz
            grad_x[i, s] = kernel @ grad_xz
            grad_h = grad_prev
    return h, grads, grad_x
