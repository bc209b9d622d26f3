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
