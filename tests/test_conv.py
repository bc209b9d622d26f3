"""Conv2D and MaxPool2D: contract, gradients, hand-worked examples, plain-loop references,
bad input, and a CNN that learns scikit-learn's 8x8 digits."""

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import nnlite
from nnlite import activations
from nnlite.layers import Conv2D, Dense, Flatten, MaxPool2D, MaxPooling2D, _windows
from nnlite.layers import conv as conv_module
from tests.helpers import check_layer_contract, conv2d_reference, maxpool2d_reference

# ---- contract -----------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, input_shape", [
    ({"filters": 4, "kernel_size": 3, "activation": "relu"}, (2, 7, 6, 3)),
    ({"filters": 2, "kernel_size": (1, 2), "strides": 2, "padding": "same"}, (1, 5, 5, 1)),
    ({"filters": 3, "kernel_size": 5, "padding": "same", "use_bias": False}, (2, 4, 4, 2)),
])
def test_conv_contract(kwargs, input_shape):
    check_layer_contract(Conv2D, kwargs, input_shape)


@pytest.mark.parametrize("kwargs, input_shape", [
    ({}, (2, 7, 6, 3)),
    ({"pool_size": 3, "strides": 2}, (1, 7, 7, 2)),
    ({"pool_size": (2, 3), "strides": 1, "padding": "same"}, (2, 5, 4, 1)),
])
def test_pool_contract(kwargs, input_shape):
    check_layer_contract(MaxPool2D, kwargs, input_shape)


def test_alias_and_default_names():
    assert MaxPooling2D is MaxPool2D
    assert Conv2D(1, 1).name.startswith("conv2d")
    assert MaxPool2D().name.startswith("max_pool2d")


def test_repr_and_config_survive_json():
    layer = Conv2D(8, (3, 5), strides=2, padding="SAME", activation="relu")
    assert repr(layer) == ("Conv2D(filters=8, kernel_size=(3, 5), strides=(2, 2), "
                           "padding='same', activation='relu', use_bias=True, "
                           "kernel_initializer='glorot_uniform')")
    # JSON turns tuples into lists; the constructor takes them back.
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in layer.get_config().items()}
    assert Conv2D(**config).get_config() == layer.get_config()
    assert MaxPool2D(3).get_config()["strides"] == (3, 3)


# ---- gradients (float64, central differences) ----------------------------------------------


@pytest.mark.parametrize("kernel, stride, padding, size",
                         list(itertools.product([1, 3, 5], [1, 2], ["valid", "same"], [6, 7])))
def test_conv_gradcheck(kernel, stride, padding, size, float64, rng):
    # Batch 1, odd and even sizes, w != h, several channels in and out.
    layer = Conv2D(3, kernel, strides=stride, padding=padding, activation="tanh")
    x = rng.standard_normal((1, size, size - 1, 2))
    assert nnlite.gradcheck(layer, x, max_elements=120) < 1e-6


def test_conv_gradcheck_rectangular_kernel_and_strides(float64, rng):
    layer = Conv2D(2, (2, 3), strides=(1, 2), padding="same", use_bias=False)
    assert nnlite.gradcheck(layer, rng.standard_normal((2, 5, 6, 3))) < 1e-6


def test_conv_gradcheck_single_channel_input(float64, rng):
    # One input channel takes im2col's offset-by-offset copy.
    layer = Conv2D(2, (3, 2), strides=(2, 1), padding="same")
    assert nnlite.gradcheck(layer, rng.standard_normal((2, 6, 5, 1))) < 1e-6


@pytest.mark.parametrize("pool, stride, padding", [
    (2, None, "valid"), (3, 2, "valid"), (3, 2, "same"), (2, 1, "valid"), ((2, 3), 3, "same"),
])
def test_pool_gradcheck_odd_sizes(pool, stride, padding, float64, rng):
    # Distinct random values: no ties, so the max is differentiable at this point.
    layer = MaxPool2D(pool, strides=stride, padding=padding)
    assert nnlite.gradcheck(layer, rng.standard_normal((2, 7, 5, 2)), max_elements=150) < 1e-6


def test_gradcheck_catches_a_col2im_that_overwrites(float64, rng, monkeypatch):
    def col2im_overwriting(grad_cols, grad_xp, kernel_size, strides, dilation, grid):
        n, _, _, c = grad_xp.shape
        (kh, kw), (oh, ow) = kernel_size, grid.size
        grad_xp[...] = 0
        patches = grad_cols.reshape(kh, kw, n, oh, ow, c)
        for i in range(kh):
            for j in range(kw):
                grad_xp[:, i:i + oh, j:j + ow, :] = patches[i, j]   # the bug: =, not +=

    layer = Conv2D(2, 3)
    x = rng.standard_normal((1, 5, 5, 2))
    assert nnlite.gradcheck(layer, x) < 1e-6
    monkeypatch.setattr(conv_module, "_col2im", col2im_overwriting)
    assert nnlite.gradcheck(layer, x) > 1e-2


def test_gradcheck_catches_a_pool_that_overwrites_overlapping_windows(float64, rng,
                                                                      monkeypatch):
    layer = MaxPool2D(3, strides=1)
    x = rng.standard_normal((1, 5, 5, 1))
    assert nnlite.gradcheck(layer, x) < 1e-6
    monkeypatch.setattr(_windows, "overlapping", lambda pool_size, strides: False)
    assert nnlite.gradcheck(layer, x) > 1e-2


def test_cnn_model_gradcheck_through_flatten(float64, rng):
    model = nnlite.Sequential([Conv2D(3, 3, padding="same", activation="tanh"), MaxPool2D(),
                               Conv2D(2, 2, strides=2), Flatten(),
                               Dense(3, activation="softmax")], input_shape=(7, 6, 2))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = rng.standard_normal((3, 7, 6, 2)), np.array([0, 2, 1])
    assert nnlite.gradcheck(model, x, y, max_elements=60) < 1e-6


def test_conv_as_last_layer_uses_the_fused_gradient(float64, rng):
    # Per-pixel classification: softmax over the filters, one label per pixel.
    model = nnlite.Sequential([Conv2D(3, 3, padding="same", activation="softmax")],
                              input_shape=(5, 4, 2))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = rng.standard_normal((2, 5, 4, 2)), rng.integers(0, 3, (2, 5, 4))
    assert nnlite.gradcheck(model, x, y) < 1e-6


# ---- Conv2D(relu) -> MaxPool2D runs with the ReLU after the pooling -------------------------


@pytest.fixture
def pool_activations(monkeypatch):
    """Record the ``activation`` each MaxPool2D.forward call is given by the model."""
    seen = []
    original = MaxPool2D.forward

    def spy(self, x, training=False, activation=None, **options):
        seen.append(activation)
        return original(self, x, training=training, activation=activation, **options)

    monkeypatch.setattr(MaxPool2D, "forward", spy)
    return seen


def _layer_by_layer(model, x, grad):
    """Forward and backward one layer at a time, as the layers define them on their own."""
    out = x
    for layer in model.layers:
        out = layer(out, training=True)
    g = grad
    for layer in reversed(model.layers):
        g = layer.backward(g)
    return out, g, [dict(layer.grads) for layer in model.layers]


@pytest.mark.parametrize("pool_kwargs", [{}, {"padding": "same"},
                                         {"pool_size": 3, "strides": 2, "padding": "same"}])
def test_relu_after_pool_gives_the_same_outputs_and_gradients(pool_kwargs, float64, rng,
                                                             pool_activations):
    # Small integers make many ties and many all-negative windows, the cases where moving
    # the ReLU could change which pixel gets the gradient.
    model = nnlite.Sequential([Conv2D(3, 2, activation="relu", padding="same"),
                               MaxPool2D(**pool_kwargs)], input_shape=(5, 7, 2))
    model.layers[0].params["kernel"][...] = rng.integers(-1, 2, (2, 2, 2, 3))
    x = rng.integers(-2, 3, (3, 5, 7, 2)).astype(np.float64)
    out_fused = model.forward(x, training=True)
    assert pool_activations == [activations.get("relu")]   # the model moved the ReLU
    grad = rng.integers(1, 4, out_fused.shape).astype(np.float64)
    grad_fused = model.backward(grad)
    grads_fused = [dict(layer.grads) for layer in model.layers]
    out, grad_x, grads = _layer_by_layer(model, x, grad)
    np.testing.assert_array_equal(out_fused, out)
    np.testing.assert_array_equal(grad_fused, grad_x)
    for fused, plain in zip(grads_fused, grads, strict=True):
        for name in plain:
            np.testing.assert_array_equal(fused[name], plain[name])


def test_relu_after_pool_gradcheck(float64, rng, pool_activations):
    model = nnlite.Sequential([Conv2D(3, 3, activation="relu"), MaxPool2D(),
                               Conv2D(2, 2, activation="relu", padding="same"),
                               MaxPool2D(3, strides=1), Flatten(),
                               Dense(3, activation="softmax")], input_shape=(9, 8, 2))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = rng.standard_normal((2, 9, 8, 2)), np.array([0, 2])
    assert nnlite.gradcheck(model, x, y, max_elements=80) < 1e-6
    assert pool_activations[:2] == [activations.get("relu")] * 2


def test_only_relu_convolutions_before_a_pool_are_run_fused(rng, pool_activations):
    layers = [Conv2D(2, 3, activation="leaky_relu"), MaxPool2D(), Conv2D(2, 3), MaxPool2D(),
              Conv2D(2, 3, activation="relu"), Flatten(), Dense(2, activation="relu")]
    model = nnlite.Sequential(layers, input_shape=(20, 20, 1))
    model.predict(rng.standard_normal((2, 20, 20, 1)))
    assert pool_activations == [None, None]


def test_first_layer_skips_the_input_gradient_only_when_asked(float64, rng):
    model = nnlite.Sequential([Conv2D(2, 3, activation="tanh"), MaxPool2D(), Flatten(),
                               Dense(2, activation="softmax")], input_shape=(6, 5, 1))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = rng.standard_normal((3, 6, 5, 1)), np.array([0, 1, 1])
    grad_p = model.loss.gradient(y, model.forward(x, training=True))
    assert model.backward(grad_p).shape == x.shape
    kernel_grad = model.layers[0].grads["kernel"].copy()
    assert model.backward(grad_p, input_grad=False) is None
    np.testing.assert_array_equal(model.layers[0].grads["kernel"], kernel_grad)
    assert model.compute_gradients(x, y).shape == x.shape   # gradcheck's path still has it
    pool = MaxPool2D()
    pool(x)
    assert pool.backward(np.ones((3, 3, 2, 1)), input_grad=False) is None
    assert pool.backward(np.ones((3, 3, 2, 1))).shape == x.shape


# ---- hand-worked examples ------------------------------------------------------------------


def test_conv_hand_worked(float64):
    layer = Conv2D(1, 2, activation="relu")
    layer.build((3, 3, 1))
    layer.params["kernel"][..., 0, 0] = [[1, 0], [0, -1]]   # top-left minus bottom-right
    layer.params["bias"][...] = [1]
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)             # [[1 2 3] [4 5 6] [7 8 9]]
    # Every 2x2 window gives top-left - bottom-right + 1 = 1 - 5 + 1 = -3 (then 2-6, 4-8,
    # 5-9, all -4 + 1): relu makes them all 0. Set bias 5: each output becomes 5 - 4 = 1.
    np.testing.assert_array_equal(layer(x)[..., 0], [[[0, 0], [0, 0]]])
    layer.params["bias"][...] = [5]
    np.testing.assert_array_equal(layer(x)[..., 0], [[[1, 1], [1, 1]]])
    grad_x = layer.backward(np.ones((1, 2, 2, 1)))
    # Each output adds +1 to its window's top-left pixel and -1 to its bottom-right one:
    # pixel (0,0) is top-left of one window, (1,1) is top-left of one and bottom-right of
    # another (net 0), (2,2) is bottom-right of one.
    np.testing.assert_array_equal(grad_x[0, :, :, 0], [[1, 1, 0], [1, 0, -1], [0, -1, -1]])
    # d/d kernel[di, dj] = sum over the 4 windows of x at that offset: 1+2+4+5=12, ...
    np.testing.assert_array_equal(layer.grads["kernel"][..., 0, 0], [[12, 16], [24, 28]])
    np.testing.assert_array_equal(layer.grads["bias"], [4])


def test_same_padding_puts_the_odd_row_and_column_at_the_bottom_right(float64):
    layer = Conv2D(1, 2, padding="same", use_bias=False)
    layer.build((3, 3, 1))
    layer.params["kernel"][...] = 1.0
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    # Kernel 2 on size 3 needs one padding row/column in total; TensorFlow puts it after, so
    # output (i, j) sums x[i:i+2, j:j+2] with zeros past the bottom/right edge:
    # (0,0) 1+2+4+5=12, (0,1) 2+3+5+6=16, (0,2) 3+6=9, (2,0) 7+8=15, (2,2) 9.
    np.testing.assert_array_equal(layer(x)[0, :, :, 0],
                                  [[12, 16, 9], [24, 28, 15], [15, 17, 9]])


def test_same_padding_with_stride_two_gives_ceil_sizes():
    assert Conv2D(1, 3, strides=2, padding="same").output_shape((7, 8, 3)) == (4, 4, 1)
    assert Conv2D(1, 3, strides=2).output_shape((7, 8, 3)) == (3, 3, 1)
    assert MaxPool2D(2, padding="same").output_shape((7, 8, 3)) == (4, 4, 3)
    assert MaxPool2D(2).output_shape((7, 8, 3)) == (3, 4, 3)   # odd row dropped


def test_pool_hand_worked_with_ties(float64):
    x = np.array([[1, 3, 2, 0, 9],
                  [3, 0, 2, 2, 9],
                  [0, 0, 5, -1, 9]], dtype=float).reshape(1, 3, 5, 1)
    layer = MaxPool2D()
    # Windows rows 0-1, columns 0-1 and 2-3; row 2 and column 4 do not fill a window.
    np.testing.assert_array_equal(layer(x)[0, :, :, 0], [[3, 2]])
    grad_x = layer.backward(np.array([10.0, 20.0]).reshape(1, 1, 2, 1))
    # Both windows hold a tie: the first maximum in row-major order takes all the gradient.
    np.testing.assert_array_equal(grad_x[0, :, :, 0], [[0, 10, 20, 0, 0],
                                                       [0, 0, 0, 0, 0],
                                                       [0, 0, 0, 0, 0]])


def test_pool_same_padding_never_picks_the_padding(float64):
    x = -np.arange(1.0, 10.0).reshape(1, 3, 3, 1)             # all negative
    # Pool 2 on size 3: one -inf row/column after; the last window holds only x[2, 2] = -9.
    np.testing.assert_array_equal(MaxPool2D(padding="same")(x)[0, :, :, 0],
                                  [[-1, -3], [-7, -9]])


def test_overlapping_pool_gradient_adds_up(float64):
    x = np.zeros((1, 3, 3, 1))
    x[0, 1, 1, 0] = 1.0                                      # the centre wins every window
    layer = MaxPool2D(2, strides=1)
    layer(x)
    grad_x = layer.backward(np.ones((1, 2, 2, 1)))
    assert grad_x[0, 1, 1, 0] == 4.0 and grad_x.sum() == 4.0


# ---- plain-loop references over random shapes ----------------------------------------------

_shapes = st.tuples(st.integers(1, 2), st.integers(1, 7), st.integers(1, 7), st.integers(1, 3))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=_shapes, filters=st.integers(1, 3), kernel=st.integers(1, 4),
       stride=st.integers(1, 3), padding=st.sampled_from(["valid", "same"]),
       seed=st.integers(0, 2**16))
def test_conv_matches_plain_loops(shape, filters, kernel, stride, padding, seed):
    assume(padding == "same" or kernel <= min(shape[1:3]))
    rng = np.random.default_rng(seed)
    layer = Conv2D(filters, kernel, strides=stride, padding=padding, dtype="float64")
    layer.build(shape[1:])
    layer.params["bias"][...] = rng.standard_normal(filters)
    x = rng.standard_normal(shape)
    expected = conv2d_reference(x, layer.params["kernel"], layer.params["bias"],
                                (stride, stride), padding)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(shape=_shapes, pool=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.none() | st.integers(1, 3), padding=st.sampled_from(["valid", "same"]),
       seed=st.integers(0, 2**16))
def test_pool_matches_plain_loops(shape, pool, stride, padding, seed):
    assume(padding == "same" or (pool[0] <= shape[1] and pool[1] <= shape[2]))
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, size=shape).astype(np.float32)   # small integers: many ties
    strides = None if stride is None else (stride, stride)
    layer = MaxPool2D(pool, strides=stride, padding=padding)
    y = layer(x)
    np.testing.assert_array_equal(y, maxpool2d_reference(x, pool, strides, padding))
    # One maximum per window takes the gradient, so every window passes on exactly its own.
    grad_x = layer.backward(np.ones_like(y))
    assert grad_x.sum() == y.size


# ---- reused buffers never leak into results -------------------------------------------------


def test_outputs_and_gradients_are_not_overwritten_by_the_next_batch(rng):
    for layer in [Conv2D(3, 3, padding="same"), MaxPool2D(3, strides=2, padding="same")]:
        x1, x2 = rng.standard_normal((2, 4, 7, 7, 2)).astype(np.float32)
        y1 = layer(x1)
        g1 = layer.backward(np.ones_like(y1))
        y1_copy, g1_copy = y1.copy(), g1.copy()
        layer.backward(np.ones_like(layer(x2)))
        np.testing.assert_array_equal(y1, y1_copy)
        np.testing.assert_array_equal(g1, g1_copy)
        np.testing.assert_array_equal(layer(x1), y1_copy)   # same shape: buffers reused


def test_float32_stays_float32(rng):
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    for layer in [Conv2D(2, 3, padding="same", activation="relu"), MaxPool2D(padding="same")]:
        y = layer(x)
        assert y.dtype == np.float32
        assert layer.backward(np.ones_like(y)).dtype == np.float32


# ---- bad input: one test per message -------------------------------------------------------


@pytest.mark.parametrize("cls, name", [(Conv2D, "Conv2D"), (MaxPool2D, "MaxPool2D")])
def test_input_must_be_4d(cls, name):
    layer = cls(2, name="img") if cls is MaxPool2D else cls(2, 3, name="img")
    with pytest.raises(ValueError, match=rf"{name} 'img' expects input of shape \(batch, "
                       r"height, width, channels\), got shape \(8, 8, 3\)\."):
        layer(np.zeros((8, 8, 3)))


def test_model_build_with_a_non_image_shape():
    with pytest.raises(ValueError, match=r"Conv2D 'c' expects input of shape \(batch, height, "
                       r"width, channels\), got shape \(None, 64\)\."):
        nnlite.Sequential([Conv2D(2, 3, name="c")], input_shape=(64,))


def test_channel_count_differs_from_build():
    layer = Conv2D(4, 3, name="c1")
    layer(np.zeros((1, 5, 5, 3)))
    with pytest.raises(ValueError, match=r"Conv2D 'c1' was built for 3 input channels, got "
                       r"input of shape \(2, 5, 5, 1\)\."):
        layer(np.zeros((2, 5, 5, 1)))


def test_kernel_larger_than_valid_input():
    with pytest.raises(ValueError, match=r"Conv2D 'c2': kernel_size \(5, 5\) is larger than the "
                       r"input \(4, 6\) with padding='valid'; use padding='same'"):
        Conv2D(1, 5, name="c2")(np.zeros((1, 4, 6, 1)))


def test_pool_larger_than_valid_input():
    with pytest.raises(ValueError, match=r"MaxPool2D 'p': pool_size \(3, 3\) is larger than the "
                       r"input \(2, 2\) with padding='valid'"):
        MaxPool2D(3, name="p")(np.zeros((1, 2, 2, 1)))


@pytest.mark.parametrize("bad", [0, -1, (3, 0), (1, 2, 3), 1.5, "3", True])
def test_bad_kernel_size(bad):
    with pytest.raises(ValueError, match="Conv2D: kernel_size must be a positive int or a pair "
                       "of positive ints, got " + re.escape(f"{bad!r}.")):
        Conv2D(1, bad)


@pytest.mark.parametrize("cls, args", [(Conv2D, (1, 3)), (MaxPool2D, (2,))])
def test_non_positive_stride(cls, args):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: strides must be a positive int or a "
                       r"pair of positive ints, got 0\."):
        cls(*args, strides=0)


def test_non_positive_pool_size():
    with pytest.raises(ValueError, match=r"MaxPool2D: pool_size must be a positive int or a pair "
                       r"of positive ints, got \(2, -2\)\."):
        MaxPool2D((2, -2))


@pytest.mark.parametrize("cls, args", [(Conv2D, (1, 3)), (MaxPool2D, ())])
def test_unknown_padding(cls, args):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: padding must be 'valid' or 'same', "
                       r"got 'full'\."):
        cls(*args, padding="full")


def test_non_positive_filters():
    with pytest.raises(ValueError, match=r"Conv2D: filters must be a positive int, got 0\."):
        Conv2D(0, 3)


# ---- models: summary, saving, learning digits ----------------------------------------------


def small_cnn(filters=(8, 16)):
    return nnlite.Sequential([
        Conv2D(filters[0], 3, padding="same", activation="relu", name="conv_a"),
        MaxPool2D(name="pool_a"),
        Conv2D(filters[1], 3, padding="same", activation="relu", name="conv_b"),
        MaxPool2D(name="pool_b"),
        Flatten(name="flat"),
        Dense(10, activation="softmax", name="out"),
    ], input_shape=(8, 8, 1), name="cnn")


def test_summary_of_a_cnn():
    lines = []
    small_cnn().summary(print_fn=lines.append)
    text = lines[0]
    # conv_a: 3*3*1*8 + 8 = 80; conv_b: 3*3*8*16 + 16 = 1,168; out: 2*2*16*10 + 10 = 650.
    assert "conv_a (Conv2D)" in text and "(None, 8, 8, 8)" in text and " 80" in text
    assert "pool_a (MaxPool2D)" in text and "(None, 4, 4, 8)" in text
    assert "conv_b (Conv2D)" in text and "(None, 4, 4, 16)" in text and "1,168" in text
    assert "(None, 2, 2, 16)" in text and "flat (Flatten)" in text and "(None, 64)" in text
    assert "Total params: 1,898" in text


def test_save_load_round_trip_is_bit_identical(tmp_path, rng):
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = rng.random((20, 8, 8, 1)).astype(np.float32)
    model.fit(x, rng.integers(0, 10, 20), epochs=1, verbose=0)
    model.save(tmp_path / "cnn.nnlite")
    loaded = nnlite.load_model(tmp_path / "cnn.nnlite")
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_the_documented_cnn_learns_digits(capsys):
    # Runs the example of docs/cnn.md as written (fixed seed, 10 epochs of Adam on the 8x8
    # digits), so the documentation cannot rot, and checks the accuracy it promises.
    text = (Path(__file__).resolve().parent.parent / "docs" / "cnn.md").read_text()
    namespace = {}
    exec(re.findall(r"```python\n(.*?)```", text, re.S)[0], namespace)
    model, x_test, y_test = namespace["model"], namespace["x_test"], namespace["y_test"]
    assert [type(layer) for layer in model.layers] == [type(layer) for layer in small_cnn().layers]
    assert model.evaluate(x_test, y_test)["accuracy"] >= 0.95
