"""A convolution of one input channel fills im2col transposed (one contiguous copy per kernel
offset); it must compute what the row layout of several channels computes."""

import numpy as np
import pytest

from nnlite.layers import Conv1D, Conv2D


def _pass(layer, x, grad):
    layer.prepare(x)
    y = layer.forward(x, training=True)
    return y, layer.backward(grad)


@pytest.mark.parametrize("cls, kwargs, shape", [
    (Conv2D, {"kernel_size": 3}, (3, 7, 6, 1)),
    (Conv2D, {"kernel_size": (2, 3), "strides": (2, 1), "padding": "same"}, (2, 7, 8, 1)),
    (Conv1D, {"kernel_size": 3, "dilation_rate": 2, "padding": "causal"}, (3, 11, 1)),
    (Conv1D, {"kernel_size": 2, "strides": 3}, (2, 10, 1)),
])
def test_one_channel_matches_the_row_layout_of_two(cls, kwargs, shape, rng):
    x = rng.standard_normal(shape)
    one = cls(4, dtype="float64", **kwargs)
    two = cls(4, dtype="float64", **kwargs)
    one.prepare(x)
    x2 = np.concatenate([x, rng.standard_normal(shape)], axis=-1)   # a second channel...
    two.prepare(x2)
    two.params["kernel"][..., 0, :] = one.params["kernel"][..., 0, :]
    two.params["kernel"][..., 1, :] = 0.0                              # ...that counts for 0
    one.params["bias"][:] = two.params["bias"][:] = rng.standard_normal(4)
    y1 = one.forward(x, training=True)
    assert one._cache[3].flags.f_contiguous            # the transposed layout was used
    grad = rng.standard_normal(y1.shape)
    y1, g1 = _pass(one, x, grad)
    y2, g2 = _pass(two, x2, grad)
    assert not two._cache[3].flags.f_contiguous
    np.testing.assert_allclose(y1, y2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g1[..., 0], g2[..., 0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(one.grads["kernel"][..., 0, :], two.grads["kernel"][..., 0, :],
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(one.grads["bias"], two.grads["bias"], rtol=1e-12, atol=1e-12)


def test_the_transposed_buffer_is_reused_and_outputs_are_not(rng):
    layer = Conv2D(3, 3)
    x = rng.standard_normal((2, 6, 6, 1)).astype(np.float32)
    first = layer(x, training=True)
    kept = first.copy()
    layer(rng.standard_normal((2, 6, 6, 1)).astype(np.float32), training=True)
    np.testing.assert_array_equal(first, kept)
    assert len([key for key in layer._scratch if key[0] == "cols_t"]) == 1
