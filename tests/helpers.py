"""Shared test helpers: the layer contract check and plain-loop references."""

import numpy as np

import nnlite


def check_layer_contract(cls, kwargs, input_shape, *, integer_input=False, input_dim=None):
    """Check the Layer contract for ``cls(**kwargs)`` on a batch of ``input_shape``.

    Checks that the output shape matches ``output_shape()``; that ``grads`` has the keys,
    shapes and dtypes of ``params``; that float32 in gives float32 out; that
    ``cls(**get_config())`` rebuilds an equal layer; and that ``backward`` returns an array of
    the input's shape (None for layers taking integer ids).
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
    return layer


def gradcheck_layer(layer, x, tol=1e-6):
    """Run ``nnlite.gradcheck`` on a float64 layer and return the worst error (asserting tol)."""
    error = nnlite.gradcheck(layer, x)
    assert error < tol, error
    return error


def simple_rnn_reference(x, kernel, recurrent_kernel, bias, activation, grad_seq):
    """SimpleRNN forward and backward with plain loops over samples and timesteps.

    Args:
        x: inputs ``(n, t, in)``.
        kernel, recurrent_kernel, bias: the layer's weights.
        activation: an object from ``nnlite.activations``, applied to one vector at a time.
        grad_seq: d(loss)/d(h_s) for every step, ``(n, t, units)``.

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
    for i in range(n):
        state = np.zeros(units)
        for s in range(t):
            z[i, s] = x[i, s] @ kernel + state @ recurrent_kernel + bias
            h[i, s] = activation.forward(z[i, s])
            state = h[i, s]
        carry = np.zeros(units)
        for s in reversed(range(t)):
            grad_z = activation.backward(z[i, s], h[i, s], grad_seq[i, s] + carry)
            previous = h[i, s - 1] if s > 0 else np.zeros(units)
            grads["kernel"] += np.outer(x[i, s], grad_z)
            grads["recurrent_kernel"] += np.outer(previous, grad_z)
            grads["bias"] += grad_z
            grad_x[i, s] = kernel @ grad_z
            carry = recurrent_kernel @ grad_z
    return h, grads, grad_x
