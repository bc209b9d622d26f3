"""Conv1D: contract, gradients (strides, dilation, causal), hand-worked examples, plain-loop
reference, bad input, saving."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlite
from nnlite.layers import Conv1D, Dense, Flatten
from nnlite.layers import conv as conv_module
from tests.helpers import check_layer_contract, conv1d_reference

# ---- contract -----------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, input_shape", [
    ({"filters": 4, "kernel_size": 3, "activation": "relu"}, (2, 7, 3)),
    ({"filters": 2, "kernel_size": (2,), "strides": 2, "padding": "same"}, (1, 5, 1)),
    ({"filters": 3, "kernel_size": 3, "padding": "causal", "dilation_rate": 2,
      "use_bias": False}, (2, 6, 2)),
])
def test_contract(kwargs, input_shape):
    layer = check_layer_contract(Conv1D, kwargs, input_shape)
    assert layer.params["kernel"].shape == (layer.kernel_size, input_shape[-1], layer.filters)


def test_repr_and_default_name():
    layer = Conv1D(8, (5,), strides=2, padding="CAUSAL", activation="tanh")
    assert repr(layer) == ("Conv1D(filters=8, kernel_size=5, strides=2, padding='causal', "
                           "dilation_rate=1, activation='tanh', use_bias=True, "
                           "kernel_initializer='glorot_uniform')")
    assert layer.name.startswith("conv1d")


@pytest.mark.parametrize("kwargs, steps, expected", [
    ({"kernel_size": 3}, 10, 8),
    ({"kernel_size": 3, "strides": 2}, 10, 4),
    ({"kernel_size": 3, "padding": "same", "strides": 2}, 9, 5),       # ceil(9 / 2)
    ({"kernel_size": 3, "padding": "causal"}, 7, 7),
    ({"kernel_size": 3, "padding": "causal", "strides": 3}, 7, 3),
    ({"kernel_size": 3, "dilation_rate": 2}, 10, 6),                   # spans 5 steps
    ({"kernel_size": 2, "dilation_rate": 3, "padding": "same"}, 5, 5),
])
def test_output_shape(kwargs, steps, expected):
    assert Conv1D(2, **kwargs).output_shape((steps, 3)) == (expected, 2)


# ---- gradients (float64, central differences) ----------------------------------------------


@pytest.mark.parametrize("kernel, stride, dilation, padding, steps", [
    (1, 1, 1, "valid", 1),      # one step, one tap
    (3, 2, 1, "valid", 8),      # stride 2, last step unused
    (3, 2, 1, "same", 7),       # odd padding
    (4, 1, 1, "same", 5),       # even kernel: the extra padding after
    (3, 1, 2, "valid", 7),      # dilation
    (2, 1, 3, "same", 6),
    (3, 1, 2, "causal", 5),
    (3, 3, 1, "causal", 7),
    (5, 1, 1, "same", 2),       # kernel longer than the input
])
def test_gradcheck(kernel, stride, dilation, padding, steps, float64, rng):
    layer = Conv1D(3, kernel, strides=stride, dilation_rate=dilation, padding=padding,
                   activation="tanh")
    assert nnlite.gradcheck(layer, rng.standard_normal((2, steps, 2))) < 1e-6


def test_gradcheck_batch_of_one_single_channel_without_bias(float64, rng):
    layer = Conv1D(2, 3, padding="causal", dilation_rate=2, use_bias=False)
    assert nnlite.gradcheck(layer, rng.standard_normal((1, 6, 1))) < 1e-6


def test_gradcheck_catches_a_col2im_that_forgets_the_dilation(float64, rng, monkeypatch):
    layer = Conv1D(2, 3, dilation_rate=2, padding="same")
    x = rng.standard_normal((2, 7, 2))
    assert nnlite.gradcheck(layer, x) < 1e-6
    col2im = conv_module._col2im

    def col2im_without_dilation(grad_cols, grad_xp, kernel_size, strides, dilation, grid):
        col2im(grad_cols, grad_xp, kernel_size, strides, (1, 1), grid)

    monkeypatch.setattr(conv_module, "_col2im", col2im_without_dilation)
    assert nnlite.gradcheck(layer, x) > 1e-2


def test_model_gradcheck(float64, rng):
    model = nnlite.Sequential([Conv1D(3, 3, padding="causal", activation="relu"),
                               Conv1D(2, 2, strides=2), Flatten(),
                               Dense(3, activation="softmax")], input_shape=(7, 2))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = rng.standard_normal((3, 7, 2)), np.array([0, 2, 1])
    assert nnlite.gradcheck(model, x, y) < 1e-6


# ---- hand-worked examples ------------------------------------------------------------------


def test_hand_worked_causal_dilated(float64):
    layer = Conv1D(1, 2, padding="causal", dilation_rate=2)
    layer.build((5, 1))
    layer.params["kernel"][:, 0, 0] = [1.0, 10.0]     # y[t] = x[t - 2] + 10 * x[t] + bias
    layer.params["bias"][...] = [0.5]
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0]).reshape(1, 5, 1)
    # Two zeros before the first step: y = [0+10, 0+20, 1+30, 2+40, 3+50] + 0.5.
    np.testing.assert_array_equal(layer(x)[0, :, 0], [10.5, 20.5, 31.5, 42.5, 53.5])
    grad_x = layer.backward(np.ones((1, 5, 1)))
    # Each x[s] feeds y[s] (weight 10) and y[s + 2] (weight 1) when that output exists.
    np.testing.assert_array_equal(grad_x[0, :, 0], [11, 11, 11, 10, 10])
    # d/d kernel[0] = sum of the x[t - 2] seen (0+0+1+2+3), d/d kernel[1] = sum of x = 15.
    np.testing.assert_array_equal(layer.grads["kernel"][:, 0, 0], [6, 15])
    np.testing.assert_array_equal(layer.grads["bias"], [5])


def test_hand_worked_same_with_stride_and_channels(float64):
    layer = Conv1D(1, 2, strides=2, padding="same", use_bias=False)
    layer.build((3, 2))
    layer.params["kernel"][:, :, 0] = [[1.0, -1.0], [2.0, 0.0]]   # taps x (channels)
    x = np.array([[[1.0, 5.0], [2.0, 6.0], [3.0, 7.0]]])           # (1, 3, 2)
    # ceil(3 / 2) = 2 outputs; kernel 2 needs one padding step, put after (TensorFlow):
    # y0 = (1 - 5) + 2*2 = 0, y1 = (3 - 7) + 2*0 (padding) = -4.
    np.testing.assert_array_equal(layer(x)[0, :, 0], [0.0, -4.0])


# ---- plain-loop reference (small integers: every sum is exact) ------------------------------


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 2), steps=st.integers(1, 9), channels=st.integers(1, 3),
       filters=st.integers(1, 3), kernel=st.integers(1, 4), stride=st.integers(1, 3),
       dilation=st.integers(1, 3), padding=st.sampled_from(["valid", "same", "causal"]),
       seed=st.integers(0, 2**16))
def test_matches_plain_loops(n, steps, channels, filters, kernel, stride, dilation, padding,
                             seed):
    if stride > 1:
        dilation = 1
    if padding == "valid":
        steps = max(steps, (kernel - 1) * dilation + 1)
    rng = np.random.default_rng(seed)
    layer = Conv1D(filters, kernel, strides=stride, dilation_rate=dilation, padding=padding,
                   dtype="float64")
    layer.build((steps, channels))
    layer.params["kernel"][...] = rng.integers(-3, 4, layer.params["kernel"].shape)
    layer.params["bias"][...] = rng.integers(-3, 4, filters)
    x = rng.integers(-4, 5, (n, steps, channels)).astype(np.float64)
    expected = conv1d_reference(x, layer.params["kernel"], layer.params["bias"], stride,
                                padding, dilation)
    np.testing.assert_array_equal(layer(x), expected)


def test_outputs_and_gradients_are_not_overwritten_by_the_next_batch(rng):
    layer = Conv1D(3, 3, padding="causal", dilation_rate=2)
    x1, x2 = rng.standard_normal((2, 4, 9, 2)).astype(np.float32)
    y1 = layer(x1)
    g1 = layer.backward(np.ones_like(y1))
    y1_copy, g1_copy = y1.copy(), g1.copy()
    layer.backward(np.ones_like(layer(x2)))
    np.testing.assert_array_equal(y1, y1_copy)
    np.testing.assert_array_equal(g1, g1_copy)


def test_skips_the_input_gradient_when_asked(float64, rng):
    layer = Conv1D(2, 3)
    layer(rng.standard_normal((2, 5, 2)))
    assert layer.backward(np.ones((2, 3, 2)), input_grad=False) is None
    assert layer.grads["kernel"].any()


# ---- bad input: one test per message -------------------------------------------------------


def test_input_must_be_3d():
    with pytest.raises(ValueError, match=r"Conv1D 'c' expects input of shape \(batch, steps, "
                       r"channels\), got shape \(2, 8, 8, 1\)\."):
        Conv1D(2, 3, name="c")(np.zeros((2, 8, 8, 1)))


def test_channel_count_differs_from_build():
    layer = Conv1D(4, 3, name="c1")
    layer(np.zeros((1, 5, 3)))
    with pytest.raises(ValueError, match=r"Conv1D 'c1' was built for 3 input channels, got "
                       r"input of shape \(2, 5, 1\)\."):
        layer(np.zeros((2, 5, 1)))


def test_kernel_longer_than_valid_input():
    with pytest.raises(ValueError, match=r"Conv1D 'c2': kernel_size 5 is larger than the input 4 "
                       r"with padding='valid'; use padding='same'"):
        Conv1D(1, 5, name="c2")(np.zeros((1, 4, 1)))
    with pytest.raises(ValueError, match=r"Conv1D 'c3': kernel_size 3 with dilation_rate 2 "
                       r"\(spanning 5\) is larger than the input 4"):
        Conv1D(1, 3, dilation_rate=2, name="c3")(np.zeros((1, 4, 1)))


def test_strides_and_dilation_together_are_refused():
    with pytest.raises(ValueError, match=r"Conv1D: strides > 1 cannot be combined with "
                       r"dilation_rate > 1 \(got strides=2, dilation_rate=3\)"):
        Conv1D(1, 3, strides=2, dilation_rate=3)


@pytest.mark.parametrize("arg", ["kernel_size", "strides", "dilation_rate"])
@pytest.mark.parametrize("bad", [0, -1, 1.5, (2, 2), (0,), "3", True])
def test_bad_sizes(arg, bad):
    kwargs = {"filters": 1, "kernel_size": 3, arg: bad}
    with pytest.raises(ValueError, match=rf"Conv1D: {arg} must be a positive int or a 1-tuple "
                       r"of one, got " + re.escape(f"{bad!r}.")):
        Conv1D(**kwargs)


def test_unknown_padding_lists_causal():
    with pytest.raises(ValueError, match=r"Conv1D: padding must be 'valid', 'same' or 'causal', "
                       r"got 'full'\."):
        Conv1D(1, 3, padding="full")


def test_non_positive_filters():
    with pytest.raises(ValueError, match=r"Conv1D: filters must be a positive int, got -2\."):
        Conv1D(-2, 3)


# ---- saving --------------------------------------------------------------------------------


def test_save_load_round_trip_is_bit_identical(tmp_path, rng):
    model = nnlite.Sequential([Conv1D(4, 3, dilation_rate=2, padding="causal", activation="relu"),
                               Conv1D(2, 2, strides=2, padding="same"), Flatten(), Dense(1)],
                              input_shape=(8, 3))
    model.compile(optimizer="adam", loss="mse")
    x = rng.standard_normal((10, 8, 3)).astype(np.float32)
    model.fit(x, rng.standard_normal(10), epochs=1, verbose=0)
    model.save(tmp_path / "c.nnlite")
    loaded = nnlite.load_model(tmp_path / "c.nnlite")
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
