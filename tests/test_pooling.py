"""Pooling layers (MaxPool1D, average pooling, global pooling): contract, gradients,
hand-worked examples, plain-loop references, masks, bad input, saving.

MaxPool2D's own tests live in test_conv.py, next to the Conv2D they were written with.
"""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlite
from nnlite import activations
from nnlite.layers import (
    AveragePooling1D,
    AveragePooling2D,
    AvgPool1D,
    AvgPool2D,
    Conv1D,
    Dense,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    Layer,
    MaxPool1D,
    MaxPool2D,
    MaxPooling1D,
    _windows,
)
from tests.helpers import check_layer_contract, pool1d_reference, pool2d_reference

WINDOWED_1D = [MaxPool1D, AveragePooling1D]
WINDOWED_2D = [MaxPool2D, AveragePooling2D]
GLOBAL_1D = [GlobalAveragePooling1D, GlobalMaxPooling1D]
GLOBAL_2D = [GlobalAveragePooling2D, GlobalMaxPooling2D]

# ---- contract -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", WINDOWED_1D)
@pytest.mark.parametrize("kwargs, input_shape", [
    ({}, (2, 7, 3)),
    ({"pool_size": 3, "strides": 2, "padding": "same"}, (1, 6, 2)),
    ({"pool_size": (2,), "strides": 1}, (2, 4, 1)),
])
def test_windowed_1d_contract(cls, kwargs, input_shape):
    check_layer_contract(cls, kwargs, input_shape)


@pytest.mark.parametrize("kwargs, input_shape", [
    ({}, (2, 7, 6, 3)),
    ({"pool_size": 3, "strides": 2, "padding": "same"}, (1, 7, 7, 2)),
    ({"pool_size": (2, 3), "strides": 1}, (2, 5, 4, 1)),
])
def test_average_2d_contract(kwargs, input_shape):
    check_layer_contract(AveragePooling2D, kwargs, input_shape)


@pytest.mark.parametrize("cls, input_shape", [
    *[(cls, (3, 5, 2)) for cls in GLOBAL_1D], *[(cls, (2, 3, 4, 2)) for cls in GLOBAL_2D]])
def test_global_contract(cls, input_shape):
    check_layer_contract(cls, {}, input_shape)


def test_aliases_and_default_names():
    assert MaxPooling1D is MaxPool1D
    assert AvgPool1D is AveragePooling1D and AvgPool2D is AveragePooling2D
    assert MaxPool1D().name.startswith("max_pool1d")
    assert AveragePooling2D().name.startswith("average_pooling2d")
    assert GlobalAveragePooling1D().name.startswith("global_average_pooling1d")


def test_config_of_1d_pools_is_ints_and_survives_json():
    layer = AveragePooling1D((3,), padding="SAME")
    assert repr(layer) == "AveragePooling1D(pool_size=3, strides=3, padding='same')"
    assert MaxPool1D(2, strides=1).get_config()["strides"] == 1
    config = AveragePooling2D(2, strides=(1, 2)).get_config()
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()}
    assert AveragePooling2D(**config).strides == (1, 2)


def test_output_shapes():
    assert MaxPool1D(2).output_shape((7, 3)) == (3, 3)                 # the odd step dropped
    assert AveragePooling1D(2, padding="same").output_shape((7, 3)) == (4, 3)
    assert AveragePooling1D(3, strides=2).output_shape((8, 1)) == (3, 1)
    assert AveragePooling2D(3, strides=2, padding="same").output_shape((7, 8, 2)) == (4, 4, 2)
    assert GlobalMaxPooling2D().output_shape((5, 4, 6)) == (6,)


# ---- gradients (float64, central differences) ----------------------------------------------


@pytest.mark.parametrize("cls", WINDOWED_1D)
@pytest.mark.parametrize("pool, stride, padding, steps", [
    (2, None, "valid", 7),   # does not tile: the last step is in no window
    (3, 2, "valid", 8),      # overlapping windows
    (3, 2, "same", 7),       # odd padding, the extra step at the end
    (2, 1, "same", 5),
    (4, 3, "same", 1),       # one step: every window mostly padding
])
def test_windowed_1d_gradcheck(cls, pool, stride, padding, steps, float64, rng):
    layer = cls(pool, strides=stride, padding=padding)
    assert nnlite.gradcheck(layer, rng.standard_normal((2, steps, 3))) < 1e-6


@pytest.mark.parametrize("pool, stride, padding", [
    (2, None, "valid"), (3, 2, "valid"), (3, 2, "same"), (2, 1, "same"), ((2, 3), 3, "same"),
])
def test_average_2d_gradcheck(pool, stride, padding, float64, rng):
    layer = AveragePooling2D(pool, strides=stride, padding=padding)
    x = rng.standard_normal((1, 7, 5, 2))                          # batch of 1, odd sizes
    assert nnlite.gradcheck(layer, x, max_elements=150) < 1e-6


@pytest.mark.parametrize("cls, shape", [
    *[(cls, (2, 5, 3)) for cls in GLOBAL_1D], *[(cls, (1, 3, 4, 2)) for cls in GLOBAL_2D],
    (GlobalAveragePooling1D, (1, 1, 2)),                           # one step
])
def test_global_gradcheck(cls, shape, float64, rng):
    assert nnlite.gradcheck(cls(), rng.standard_normal(shape)) < 1e-6


@pytest.mark.parametrize("cls", [AveragePooling2D, MaxPool1D])
def test_gradcheck_catches_overlapping_windows_written_instead_of_added(cls, float64, rng,
                                                                        monkeypatch):
    layer = cls(3, strides=1)
    x = rng.standard_normal((1, 5, 5, 1) if cls is AveragePooling2D else (1, 6, 2))
    assert nnlite.gradcheck(layer, x) < 1e-6
    monkeypatch.setattr(_windows, "overlapping", lambda pool_size, strides: False)
    assert nnlite.gradcheck(layer, x) > 1e-2


def test_gradcheck_catches_an_average_that_divides_by_the_window_size(float64, rng,
                                                                      monkeypatch):
    # Backward dividing every window by the full pool area (forward keeps the real counts).
    layer = AveragePooling1D(3, strides=2, padding="same")
    x = rng.standard_normal((2, 6, 2))
    assert nnlite.gradcheck(layer, x) < 1e-6
    backward = type(layer).backward

    def backward_with_full_counts(self, grad_output, input_grad=True):
        x4_shape, pads, counts = self._cache
        self._cache = (x4_shape, pads, np.full_like(counts, 3.0))
        return backward(self, grad_output, input_grad)

    monkeypatch.setattr(type(layer), "backward", backward_with_full_counts)
    assert nnlite.gradcheck(layer, x) > 1e-2


def test_gradcheck_catches_a_global_max_that_picks_the_last_maximum_of_the_wrong_axis(
        float64, rng, monkeypatch):
    layer = GlobalMaxPooling2D()
    x = rng.standard_normal((2, 3, 4, 2))
    assert nnlite.gradcheck(layer, x) < 1e-6

    def backward_to_the_first_pixel(self, grad_output):
        x_shape, _ = self._cache
        grad_x = np.zeros(x_shape)
        grad_x[:, 0, 0, :] = grad_output                           # the bug: ignores argmax
        return grad_x

    monkeypatch.setattr(GlobalMaxPooling2D, "backward", backward_to_the_first_pixel)
    assert nnlite.gradcheck(layer, x) > 1e-2


# ---- masks: GlobalAveragePooling1D averages real steps only ---------------------------------


class _FixedMask(GlobalAveragePooling1D):
    """GlobalAveragePooling1D with one mask for every call, so gradcheck can run it."""

    def __init__(self, mask, **kwargs):
        super().__init__(**kwargs)
        self.fixed_mask = mask

    def forward(self, x, training=False, mask=None):
        return super().forward(x, training, mask=self.fixed_mask)


MASK = np.array([[True, True, False, False], [False, True, True, True],
                 [False, False, False, False]])


def test_masked_global_average_gradcheck(float64, rng):
    assert nnlite.gradcheck(_FixedMask(MASK), rng.standard_normal((3, 4, 2))) < 1e-6


def test_gradcheck_catches_a_masked_average_whose_backward_ignores_the_mask(float64, rng,
                                                                             monkeypatch):
    layer = _FixedMask(MASK)
    x = rng.standard_normal((3, 4, 2))
    forward = GlobalAveragePooling1D.forward

    def forward_forgetting_the_mask(self, x, training=False, mask=None):
        y = forward(self, x, training, mask)
        self._cache = (x.shape, None)                              # backward: 1 / t everywhere
        return y

    monkeypatch.setattr(GlobalAveragePooling1D, "forward", forward_forgetting_the_mask)
    assert nnlite.gradcheck(layer, x) > 1e-2


class _MaskNonZero(Layer):
    """Identity whose mask marks the steps with a non-zero first feature as real."""

    def forward(self, x, training=False):
        return x

    def backward(self, grad_output):
        return grad_output

    def compute_mask(self, x, mask):
        return x[..., 0] != 0


def test_a_model_carries_the_mask_to_the_global_average(rng):
    real = rng.standard_normal((2, 3, 2)).astype(np.float32) + 5.0   # never 0
    pad = np.zeros((2, 2, 2), np.float32)
    model = nnlite.Sequential([_MaskNonZero(), GlobalAveragePooling1D(), Dense(2)],
                              input_shape=(5, 2))
    post = model.predict(np.concatenate([real, pad], axis=1))
    pre = model.predict(np.concatenate([pad, real], axis=1))
    np.testing.assert_allclose(post, pre, rtol=1e-6)
    np.testing.assert_allclose(post, model.layers[2](real.mean(axis=1)), rtol=1e-6)


def test_masked_global_average_hand_worked(float64):
    x = np.array([[[1.0, 10.0], [3.0, 30.0], [100.0, 100.0]],
                  [[7.0, 70.0], [8.0, 80.0], [9.0, 90.0]]])         # (2, 3, 2)
    mask = np.array([[True, True, False], [False, False, True]])
    layer = GlobalAveragePooling1D()
    # Sample 0: mean of steps 0 and 1 = (2, 20); sample 1: step 2 alone = (9, 90).
    np.testing.assert_array_equal(layer(x, mask=mask), [[2.0, 20.0], [9.0, 90.0]])
    grad_x = layer.backward(np.array([[2.0, 4.0], [1.0, 1.0]]))
    np.testing.assert_array_equal(grad_x, [[[1, 2], [1, 2], [0, 0]], [[0, 0], [0, 0], [1, 1]]])
    assert layer.compute_mask(x, mask) is None                     # no time axis any more
    # Without a mask every step counts.
    np.testing.assert_array_equal(layer(x), [[104 / 3, 140 / 3], [8.0, 80.0]])


def test_pre_and_post_padding_give_the_same_average(rng):
    real = rng.standard_normal((1, 3, 4)).astype(np.float32)
    pad = np.zeros((1, 2, 4), np.float32) + 5.0                    # padding values never count
    post, pre = np.concatenate([real, pad], axis=1), np.concatenate([pad, real], axis=1)
    layer = GlobalAveragePooling1D()
    y_post = layer(post, mask=np.array([[1, 1, 1, 0, 0]], bool))
    y_pre = layer(pre, mask=np.array([[0, 0, 1, 1, 1]], bool))
    np.testing.assert_allclose(y_post, y_pre, rtol=1e-6)
    np.testing.assert_allclose(y_post, real.mean(axis=1), rtol=1e-6)


def test_a_sequence_without_real_steps_averages_to_zero(float64):
    layer = GlobalAveragePooling1D()
    y = layer(np.ones((2, 3, 1)), mask=np.array([[0, 0, 0], [1, 0, 0]], bool))
    np.testing.assert_array_equal(y, [[0.0], [1.0]])


def test_mask_of_the_wrong_shape():
    layer = GlobalAveragePooling1D(name="gap")
    with pytest.raises(ValueError, match=r"GlobalAveragePooling1D 'gap' expects a mask of shape "
                       r"\(batch, steps\) = \(2, 3\), got shape \(2, 4\)\."):
        layer(np.zeros((2, 3, 1)), mask=np.ones((2, 4), bool))


# ---- hand-worked examples ------------------------------------------------------------------


def test_average_2d_same_padding_divides_by_real_pixels(float64):
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)             # [[1 2 3] [4 5 6] [7 8 9]]
    layer = AveragePooling2D(padding="same")
    # Pool 2 on size 3: one padding row and column after. Windows: {1,2,4,5} / 4 = 3,
    # {3,6} / 2 = 4.5, {7,8} / 2 = 7.5, {9} / 1 = 9.
    np.testing.assert_array_equal(layer(x)[0, :, :, 0], [[3.0, 4.5], [7.5, 9.0]])
    grad_x = layer.backward(np.full((1, 2, 2, 1), 4.0))
    # Each pixel gets 4 / (its window's count): 1 in the 2x2 window, 2 in the halves, 4 alone.
    np.testing.assert_array_equal(grad_x[0, :, :, 0], [[1, 1, 2], [1, 1, 2], [2, 2, 4]])


def test_overlapping_average_gradient_adds_up(float64):
    layer = AveragePooling1D(2, strides=1)
    x = np.array([[[1.0], [2.0], [4.0]]])
    np.testing.assert_array_equal(layer(x)[0, :, 0], [1.5, 3.0])
    # The middle step is in both windows: 1/2 + 1/2.
    np.testing.assert_array_equal(layer.backward(np.ones((1, 2, 1)))[0, :, 0], [0.5, 1.0, 0.5])


def test_max_pool_1d_hand_worked_with_ties(float64):
    x = np.array([[[1.0], [3.0], [3.0], [0.0], [-1.0]]])
    layer = MaxPool1D(2, padding="same")
    # Windows {1, 3}, {3, 0}, {-1, pad}: the padding is -inf and never wins.
    np.testing.assert_array_equal(layer(x)[0, :, 0], [3.0, 3.0, -1.0])
    grad_x = layer.backward(np.array([[[10.0], [20.0], [30.0]]]))
    np.testing.assert_array_equal(grad_x[0, :, 0], [0, 10, 20, 0, 30])


def test_global_max_hand_worked_first_maximum_takes_the_gradient(float64):
    x = np.array([[[[1.0, 5.0], [4.0, 5.0]], [[4.0, 0.0], [2.0, -1.0]]]])   # (1, 2, 2, 2)
    layer = GlobalMaxPooling2D()
    np.testing.assert_array_equal(layer(x), [[4.0, 5.0]])
    grad_x = layer.backward(np.array([[1.0, 2.0]]))
    # Channel 0: 4 at (0, 1) and (1, 0), the first in row-major order wins; channel 1: 5 at
    # (0, 0) and (0, 1), (0, 0) wins.
    np.testing.assert_array_equal(grad_x[0, :, :, 0], [[0, 1], [0, 0]])
    np.testing.assert_array_equal(grad_x[0, :, :, 1], [[2, 0], [0, 0]])


def test_global_average_2d_hand_worked(float64):
    x = np.arange(8.0).reshape(1, 2, 2, 2)
    layer = GlobalAveragePooling2D()
    np.testing.assert_array_equal(layer(x), [[3.0, 4.0]])          # (0+2+4+6)/4, (1+3+5+7)/4
    np.testing.assert_array_equal(layer.backward(np.array([[4.0, 8.0]])),
                                  np.tile([1.0, 2.0], (1, 2, 2, 1)))


def test_a_model_hands_conv1d_relu_to_the_next_max_pool(float64, rng, monkeypatch):
    seen = []
    original = MaxPool1D.forward

    def spy(self, x, training=False, activation=None):
        seen.append(activation)
        return original(self, x, training=training, activation=activation)

    monkeypatch.setattr(MaxPool1D, "forward", spy)
    model = nnlite.Sequential([Conv1D(3, 3, padding="same", activation="relu"),
                               MaxPool1D(3, strides=2, padding="same"), GlobalMaxPooling1D(),
                               Dense(2, activation="softmax")], input_shape=(9, 2))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = rng.standard_normal((3, 9, 2)), np.array([0, 1, 1])
    assert nnlite.gradcheck(model, x, y) < 1e-6
    assert seen[0] is activations.get("relu")


def test_max_pool_1d_applies_a_handed_activation_after_pooling(float64, rng):
    # The activation hand-off a model uses for Conv1D(relu) -> MaxPool1D: the convolution
    # returns its pre-activation, the pool applies the ReLU after itself.
    assert Conv1D.defers_activation and MaxPool1D.absorbs_activation
    conv, pool = Conv1D(3, 2, activation="relu"), MaxPool1D(2)
    x = rng.integers(-2, 3, (2, 7, 2)).astype(np.float64)
    conv.build(x.shape[1:])
    conv.params["kernel"][...] = rng.integers(-1, 2, conv.params["kernel"].shape)
    plain = pool(conv(x))
    grad = rng.integers(1, 4, plain.shape).astype(np.float64)
    grad_plain = conv.backward(pool.backward(grad))
    kernel_grad = conv.grads["kernel"].copy()
    relu = activations.get("relu")
    handed = pool.forward(conv.forward(x, activate=False), activation=relu)
    np.testing.assert_array_equal(handed, plain)
    np.testing.assert_array_equal(conv.backward(pool.backward(grad)), grad_plain)
    np.testing.assert_array_equal(conv.grads["kernel"], kernel_grad)


# ---- plain-loop references (exact: same additions in the same order) ------------------------


@settings(max_examples=25, deadline=None)
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 7), st.integers(1, 7),
                       st.integers(1, 2)),
       pool=st.tuples(st.integers(1, 3), st.integers(1, 3)), stride=st.none() | st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 2**16))
def test_average_2d_matches_plain_loops(shape, pool, stride, padding, seed):
    if padding == "valid":
        shape = (shape[0], max(shape[1], pool[0]), max(shape[2], pool[1]), shape[3])
    x = np.random.default_rng(seed).standard_normal(shape)
    strides = None if stride is None else (stride, stride)
    layer = AveragePooling2D(pool, strides=stride, padding=padding, dtype="float64")
    np.testing.assert_array_equal(layer(x), pool2d_reference(x, pool, strides, padding, "avg"))


@settings(max_examples=25, deadline=None)
@given(shape=st.tuples(st.integers(1, 2), st.integers(1, 9), st.integers(1, 2)),
       pool=st.integers(1, 4), stride=st.none() | st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), mode=st.sampled_from(["max", "avg"]),
       seed=st.integers(0, 2**16))
def test_1d_pools_match_plain_loops(shape, pool, stride, padding, mode, seed):
    if padding == "valid":
        shape = (shape[0], max(shape[1], pool), shape[2])
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, size=shape).astype(np.float64)         # small integers: ties
    if mode == "avg":
        x += rng.standard_normal(shape)
    cls = MaxPool1D if mode == "max" else AveragePooling1D
    layer = cls(pool, strides=stride, padding=padding, dtype="float64")
    y = layer(x)
    np.testing.assert_array_equal(y, pool1d_reference(x, pool, stride, padding, mode))
    if mode == "max":   # one maximum per window takes the gradient
        assert layer.backward(np.ones_like(y)).sum() == y.size


@pytest.mark.parametrize("cls, reduce", [
    (GlobalAveragePooling1D, np.mean), (GlobalMaxPooling1D, np.max),
    (GlobalAveragePooling2D, np.mean), (GlobalMaxPooling2D, np.max)])
def test_global_pools_match_a_loop_over_channels(cls, reduce, rng):
    x = rng.standard_normal((3, 4, 5, 2) if cls in GLOBAL_2D else (3, 6, 2))
    y = cls(dtype="float64")(x)
    for b in range(x.shape[0]):
        for ch in range(x.shape[-1]):
            np.testing.assert_allclose(y[b, ch], reduce(x[b, ..., ch]), rtol=1e-14)


# ---- reused buffers, dtype -----------------------------------------------------------------


@pytest.mark.parametrize("layer", [AveragePooling2D(3, strides=2, padding="same"),
                                   MaxPool1D(3, strides=2, padding="same"),
                                   AveragePooling1D(2, padding="same")])
def test_outputs_and_gradients_are_not_overwritten_by_the_next_batch(layer, rng):
    shape = (4, 7, 7, 2) if layer.rank == 2 else (4, 7, 2)
    x1, x2 = rng.standard_normal((2, *shape)).astype(np.float32)
    y1 = layer(x1)
    g1 = layer.backward(np.ones_like(y1))
    y1_copy, g1_copy = y1.copy(), g1.copy()
    layer.backward(np.ones_like(layer(x2)))
    np.testing.assert_array_equal(y1, y1_copy)
    np.testing.assert_array_equal(g1, g1_copy)
    np.testing.assert_array_equal(layer(x1), y1_copy)


@pytest.mark.parametrize("cls", WINDOWED_1D + WINDOWED_2D + GLOBAL_1D + GLOBAL_2D)
def test_float32_stays_float32(cls, rng):
    shape = (2, 5, 5, 3) if cls in WINDOWED_2D + GLOBAL_2D else (2, 5, 3)
    x = rng.standard_normal(shape).astype(np.float32)
    layer = cls(padding="same") if cls in WINDOWED_1D + WINDOWED_2D else cls()
    y = layer(x)
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


# ---- bad input: one test per message -------------------------------------------------------


@pytest.mark.parametrize("cls", WINDOWED_1D + GLOBAL_1D)
def test_1d_input_must_be_3d(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__} 'p' expects input of shape \(batch, "
                       r"steps, channels\), got shape \(4, 8, 8, 3\)\."):
        cls(name="p")(np.zeros((4, 8, 8, 3)))


@pytest.mark.parametrize("cls", [AveragePooling2D, *GLOBAL_2D])
def test_2d_input_must_be_4d(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__} 'p' expects input of shape \(batch, "
                       r"height, width, channels\), got shape \(8, 3\)\."):
        cls(name="p")(np.zeros((8, 3)))


def test_model_build_with_a_flat_shape():
    with pytest.raises(ValueError, match=r"MaxPool1D 'p' expects input of shape \(batch, steps, "
                       r"channels\), got shape \(None, 64\)\."):
        nnlite.Sequential([MaxPool1D(name="p")], input_shape=(64,))


def test_pool_longer_than_valid_input():
    with pytest.raises(ValueError, match=r"AveragePooling1D 'p': pool_size 4 is larger than the "
                       r"input 3 with padding='valid'; use padding='same'"):
        AveragePooling1D(4, name="p")(np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match=r"AveragePooling2D 'q': pool_size \(3, 3\) is larger "
                       r"than the input \(2, 5\)"):
        AveragePooling2D(3, name="q")(np.zeros((1, 2, 5, 1)))


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True, (2, 2), None])
def test_bad_1d_pool_size(bad):
    with pytest.raises(ValueError, match="MaxPool1D: pool_size must be a positive int or a "
                       "1-tuple of one, got " + re.escape(f"{bad!r}.")):
        MaxPool1D(bad)


@pytest.mark.parametrize("cls", [AveragePooling1D, AveragePooling2D])
def test_bad_stride_and_padding(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: strides must be a positive int"):
        cls(2, strides=0)
    with pytest.raises(ValueError, match=rf"{cls.__name__}: padding must be 'valid' or 'same', "
                       r"got 'causal'\."):
        cls(padding="causal")


# ---- models: saving ------------------------------------------------------------------------


def test_save_load_round_trip_of_a_1d_pooling_model(tmp_path, rng):
    model = nnlite.Sequential([
        Conv1D(4, 3, padding="causal", activation="relu"), MaxPool1D(2, padding="same"),
        AveragePooling1D(2, strides=1), GlobalAveragePooling1D(), Dense(3, activation="softmax"),
    ], input_shape=(9, 2))
    other = nnlite.Sequential([MaxPool1D(2, strides=1), GlobalMaxPooling1D()], input_shape=(9, 2))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = rng.standard_normal((12, 9, 2)).astype(np.float32)
    model.fit(x, rng.integers(0, 3, 12), epochs=1, verbose=0)
    model.save(tmp_path / "m.nnlite")
    loaded = nnlite.load_model(tmp_path / "m.nnlite")
    assert [layer.get_config() for layer in loaded.layers] == [
        layer.get_config() for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    other.save(tmp_path / "o.nnlite")
    np.testing.assert_array_equal(nnlite.load_model(tmp_path / "o.nnlite").predict(x),
                                  other.predict(x))


def test_save_load_round_trip_of_a_2d_pooling_model(tmp_path, rng):
    model = nnlite.Sequential([
        AveragePooling2D(2, padding="same"), MaxPool2D(2, strides=1), GlobalMaxPooling2D(),
        Dense(2),
    ], input_shape=(5, 5, 3))
    model.compile(optimizer="sgd", loss="mse")
    other = nnlite.Sequential([AvgPool2D((2, 3), strides=1), GlobalAveragePooling2D()],
                              input_shape=(5, 5, 3))
    x = rng.standard_normal((4, 5, 5, 3)).astype(np.float32)
    for i, m in enumerate([model, other]):
        m.save(tmp_path / f"m{i}.nnlite")
        np.testing.assert_array_equal(nnlite.load_model(tmp_path / f"m{i}.nnlite").predict(x),
                                      m.predict(x))


@pytest.mark.parametrize("cls", WINDOWED_1D + WINDOWED_2D)
def test_windowed_pools_skip_the_input_gradient_when_asked(cls, rng):
    # What a model asks of its first layer in training; alone, the gradient is returned.
    layer = cls()
    x = rng.standard_normal((2, 4, 4, 1) if cls in WINDOWED_2D else (2, 4, 1))
    y = layer(x.astype(np.float32))
    assert cls.skips_input_grad and layer.backward(np.ones_like(y), input_grad=False) is None
    assert layer.backward(np.ones_like(y)).shape == x.shape
