"""BatchNormalization and LayerNormalization: contract, state, gradients (BatchNormalization
through its batch statistics), hand-worked examples, freezing, bad input."""

import numpy as np
import pytest

import nnlite
from nnlite.layers import BatchNormalization, Conv2D, Dense, Flatten, LayerNormalization
from nnlite.layers import normalization as normalization_module
from tests.helpers import check_layer_contract

NORMS = [BatchNormalization, LayerNormalization]

# ---- contract -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", NORMS)
@pytest.mark.parametrize("kwargs, input_shape", [
    ({}, (4, 3)),
    ({}, (2, 5, 3)),
    ({}, (2, 3, 4, 2)),
    ({"axis": 1}, (3, 2, 5)),
    ({"center": False}, (3, 4)),
    ({"scale": False, "epsilon": 1e-5}, (2, 2, 3)),
])
def test_contract(cls, kwargs, input_shape):
    layer = check_layer_contract(cls, kwargs, input_shape)
    features = input_shape[kwargs.get("axis", -1)]
    assert {k: v.shape for k, v in layer.params.items()} == {
        k: (features,) for k in ("gamma", "beta") if kwargs.get(
            {"gamma": "scale", "beta": "center"}[k], True)}


def test_layer_normalization_over_several_axes():
    layer = check_layer_contract(LayerNormalization, {"axis": [1, 2]}, (2, 3, 4, 2))
    assert layer.params["gamma"].shape == (3, 4)


def test_batch_normalization_state_is_not_a_param():
    layer = BatchNormalization(dtype="float32")
    layer.build((3, 4, 5))
    assert set(layer.params) == {"gamma", "beta"}
    assert set(layer.state) == {"moving_mean", "moving_variance"}
    np.testing.assert_array_equal(layer.state["moving_mean"], np.zeros(5))
    np.testing.assert_array_equal(layer.state["moving_variance"], np.ones(5))
    assert all(a.dtype == np.float32 for a in layer.state.values())
    assert not LayerNormalization().state


def test_repr():
    assert repr(BatchNormalization(momentum=0.9)) == (
        "BatchNormalization(axis=-1, epsilon=0.001, center=True, scale=True, momentum=0.9)")
    assert repr(LayerNormalization(axis=[1, 2])) == (
        "LayerNormalization(axis=[1, 2], epsilon=0.001, center=True, scale=True)")


# ---- hand-worked examples ------------------------------------------------------------------


def test_batch_normalization_hand_worked(float64):
    # epsilon 9/16 makes sqrt(var + eps) exact: feature 0 has mean 1, variance 1 -> 1.25;
    # feature 1 has mean 10, variance 4 -> sqrt(4.5625) = 2.136..., checked to rounding.
    layer = BatchNormalization(momentum=0.5, epsilon=0.5625)
    x = np.array([[0.0, 8.0], [0.0, 8.0], [2.0, 12.0], [2.0, 12.0]])
    layer.build((2,))
    layer.params["gamma"][...] = [2.0, 1.0]
    layer.params["beta"][...] = [1.0, 0.0]
    y = layer(x, training=True)
    # Feature 0: x_hat = (x - 1) / 1.25 = -0.8 or 0.8, y = 2 * x_hat + 1 = -0.6 or 2.6.
    np.testing.assert_allclose(y[:, 0], [-0.6, -0.6, 2.6, 2.6], rtol=1e-15)
    np.testing.assert_allclose(y[:, 1], np.array([-2, -2, 2, 2]) / np.sqrt(4.5625), rtol=1e-15)
    # moving = 0.5 * moving + 0.5 * batch: mean (0 -> 0.5, 0 -> 5), biased variance
    # (1 -> 1, 1 -> 2.5).
    np.testing.assert_array_equal(layer.state["moving_mean"], [0.5, 5.0])
    np.testing.assert_array_equal(layer.state["moving_variance"], [1.0, 2.5])
    # Inference uses the moving statistics: (2 - 0.5) / sqrt(1 + 0.5625) = 1.2, y = 3.4.
    np.testing.assert_allclose(layer(x[2:3], training=False)[0, 0], 3.4, rtol=1e-15)
    np.testing.assert_array_equal(layer.state["moving_mean"], [0.5, 5.0])   # unchanged


def test_batch_normalization_hand_worked_gradients(float64):
    layer = BatchNormalization(epsilon=0.5625)
    x = np.array([[0.0], [0.0], [2.0], [2.0]])                     # x_hat = -0.8, -0.8, .8, .8
    layer(x, training=True)
    grad_x = layer.backward(np.array([[1.0], [1.0], [1.0], [1.0]]))
    # A constant gradient changes nothing once the mean is subtracted: 0 for x.
    np.testing.assert_allclose(grad_x, 0.0, atol=1e-15)
    np.testing.assert_allclose(layer.grads["beta"], [4.0])
    np.testing.assert_allclose(layer.grads["gamma"], [0.0], atol=1e-15)   # sum of x_hat
    grad_x = layer.backward(np.array([[0.0], [0.0], [0.0], [1.0]]))
    # g - mean(g) = (-.25, -.25, -.25, .75); mean(g * x_hat) = 0.2, times x_hat = -+0.16;
    # divided by 1.25: (-0.072, -0.072, -0.328, 0.472).
    np.testing.assert_allclose(grad_x[:, 0], [-0.072, -0.072, -0.328, 0.472], rtol=1e-13)
    np.testing.assert_allclose(layer.grads["gamma"], [0.8], rtol=1e-15)


def test_layer_normalization_hand_worked(float64):
    layer = LayerNormalization(epsilon=0.5625)
    x = np.array([[0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 5.0, 5.0]])
    layer.build((4,))
    layer.params["gamma"][...] = [1.0, 2.0, 1.0, 2.0]
    layer.params["beta"][...] = 1.0
    y = layer(x)
    # Row 0: mean 1, variance 1, x_hat = +-0.8; row 1: constant, x_hat = 0, y = beta.
    np.testing.assert_allclose(y, [[0.2, -0.6, 1.8, 2.6], [1.0, 1.0, 1.0, 1.0]], rtol=1e-15)
    np.testing.assert_array_equal(layer(x, training=True), y)      # no training mode


# ---- gradients (float64, central differences) ----------------------------------------------


@pytest.mark.parametrize("kwargs, shape", [
    ({}, (5, 3)),
    ({}, (3, 4, 2)),
    ({}, (2, 3, 3, 2)),
    ({"axis": 1}, (3, 2, 4)),
    ({}, (1, 3, 2, 2)),                 # batch of 1: statistics over the pixels
    ({"center": False, "scale": False}, (4, 2)),
])
def test_batch_normalization_gradcheck_with_batch_statistics(kwargs, shape, float64, rng):
    layer = BatchNormalization(**kwargs)
    layer.build(shape[1:])
    for key in layer.params:
        layer.params[key][...] = rng.standard_normal(layer.params[key].shape)
    x = rng.standard_normal(shape) * 2.0 + 1.0
    assert nnlite.gradcheck(layer, x, training=True) < 1e-6


def test_batch_normalization_gradcheck_with_moving_statistics(float64, rng):
    layer = BatchNormalization()
    layer.build((2, 3))
    layer.state["moving_mean"][...] = rng.standard_normal(3)
    layer.state["moving_variance"][...] = rng.random(3) + 0.5
    x = rng.standard_normal((4, 2, 3))
    assert nnlite.gradcheck(layer, x) < 1e-6
    layer.trainable = False                                        # frozen: the same map
    assert nnlite.gradcheck(layer, x, training=True) < 1e-6


@pytest.mark.parametrize("kwargs, shape", [
    ({}, (3, 5)), ({}, (2, 3, 4)), ({"axis": [1, 2]}, (2, 3, 2, 2)), ({"axis": 1}, (2, 3, 2)),
    ({}, (1, 1, 3)),
])
def test_layer_normalization_gradcheck(kwargs, shape, float64, rng):
    layer = LayerNormalization(**kwargs)
    layer.build(shape[1:])
    for key in layer.params:
        layer.params[key][...] = rng.standard_normal(layer.params[key].shape)
    assert nnlite.gradcheck(layer, rng.standard_normal(shape)) < 1e-6


@pytest.mark.parametrize("cls", NORMS)
def test_gradcheck_catches_a_backward_that_ignores_the_statistics(cls, float64, rng,
                                                                  monkeypatch):
    # The classic mistake: treating the mean and variance as constants in backward.
    layer = cls()
    x = rng.standard_normal((4, 3))
    assert nnlite.gradcheck(layer, x, training=True) < 1e-6
    monkeypatch.setattr(normalization_module._Normalization, "_input_gradient",
                        lambda self, grad, x_hat, factor, sum_g, sum_gx, share=None: grad * factor)
    assert nnlite.gradcheck(layer, x, training=True) > 1e-2


def test_gradcheck_refuses_training_mode_for_a_model(float64):
    model = nnlite.Sequential([Dense(1)], input_shape=(2,))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"gradcheck: training=True applies to a single layer"):
        nnlite.gradcheck(model, np.ones((2, 2)), np.ones(2), training=True)


# ---- training, inference, freezing ---------------------------------------------------------


def test_moving_statistics_follow_the_keras_update(rng):
    layer = BatchNormalization(momentum=0.9, dtype="float64")
    x = rng.standard_normal((50, 4, 3)) * 3.0 + 2.0
    layer(x, training=True)
    mean, var = x.mean(axis=(0, 1)), x.var(axis=(0, 1))            # biased variance
    np.testing.assert_allclose(layer.state["moving_mean"], 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(layer.state["moving_variance"], 0.9 + 0.1 * var, rtol=1e-12)


def test_frozen_batch_normalization_uses_and_keeps_the_moving_statistics(rng):
    layer = BatchNormalization(dtype="float64")
    layer.build((3,))
    layer.state["moving_mean"][...] = [1.0, 2.0, 3.0]
    layer.state["moving_variance"][...] = [4.0, 4.0, 4.0]
    layer.trainable = False
    x = rng.standard_normal((6, 3))
    y = layer(x, training=True)
    np.testing.assert_allclose(y, (x - [1.0, 2.0, 3.0]) / np.sqrt(4.001), rtol=1e-14)
    np.testing.assert_array_equal(layer.state["moving_mean"], [1.0, 2.0, 3.0])


def test_state_arrays_are_updated_in_place(rng):
    layer = BatchNormalization()
    layer.build((2,))
    held = layer.state["moving_mean"]
    layer(rng.standard_normal((4, 2)).astype(np.float32) + 1.0, training=True)
    assert layer.state["moving_mean"] is held and held.any()
    assert held.dtype == np.float32


def test_batch_of_one_in_training_gives_beta(float64):
    # One value per feature: variance 0, x_hat 0 (PyTorch refuses this case, Keras does not).
    layer = BatchNormalization()
    layer.build((2,))
    layer.params["beta"][...] = [3.0, -1.0]
    np.testing.assert_array_equal(layer(np.array([[5.0, 7.0]]), training=True), [[3.0, -1.0]])


def test_a_model_trains_with_batch_statistics_and_predicts_with_moving_ones(rng):
    model = nnlite.Sequential([Dense(4), BatchNormalization(momentum=0.5), Dense(1)],
                              input_shape=(3,))
    model.compile(optimizer="sgd", loss="mse")
    x = rng.standard_normal((32, 3)).astype(np.float32)
    model.fit(x, rng.standard_normal(32), epochs=2, batch_size=8, verbose=0)
    bn = model.layers[1]
    assert bn.state["moving_mean"].any()
    np.testing.assert_allclose(model.predict(x), model.forward(x, training=False))
    assert not np.allclose(model.forward(x, training=True), model.forward(x, training=False))


def test_a_frozen_layer_keeps_its_params_and_state_through_fit(rng):
    model = nnlite.Sequential([Conv2D(2, 3, padding="same"), BatchNormalization(), Flatten(),
                               Dense(2, activation="softmax")], input_shape=(4, 4, 1))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    bn = model.layers[1]
    bn.trainable = False
    before = {k: v.copy() for k, v in [*bn.params.items(), *bn.state.items()]}
    x = rng.standard_normal((16, 4, 4, 1)).astype(np.float32)
    model.fit(x, rng.integers(0, 2, 16), epochs=2, batch_size=4, verbose=0)
    for key, value in [*bn.params.items(), *bn.state.items()]:
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize("cls", NORMS)
def test_float32_stays_float32(cls, rng):
    layer = cls()
    x = rng.standard_normal((4, 3, 2)).astype(np.float32)
    y = layer(x, training=True)
    assert y.dtype == np.float32 and layer.backward(np.ones_like(y)).dtype == np.float32


def test_layer_normalization_takes_a_mask_and_normalises_each_step_alone(rng):
    layer = LayerNormalization()
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    mask = np.array([[True, True, False], [False, True, True]])
    assert layer.supports_masking and layer.compute_mask(x, mask) is mask
    np.testing.assert_array_equal(layer(x, mask=mask), layer(x))


# ---- bad input: one test per message -------------------------------------------------------


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.9", True, None])
def test_bad_momentum(bad):
    with pytest.raises(ValueError, match=r"BatchNormalization: momentum must be a float in "
                       rf"\[0, 1\], got {bad!r}\."):
        BatchNormalization(momentum=bad)


@pytest.mark.parametrize("cls", NORMS)
@pytest.mark.parametrize("bad", [0.0, -1e-3, float("nan"), "1e-3"])
def test_bad_epsilon(cls, bad):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: epsilon must be a positive float"):
        cls(epsilon=bad)


def test_batch_normalization_axis_must_be_one_int():
    with pytest.raises(ValueError, match=r"BatchNormalization: axis must be an int, got \[1, 2\]"):
        BatchNormalization(axis=[1, 2])
    with pytest.raises(ValueError, match=r"LayerNormalization: axis must be an int or a list of "
                       r"ints, got 'last'\."):
        LayerNormalization(axis="last")


@pytest.mark.parametrize("cls, axis", [(BatchNormalization, 0), (BatchNormalization, 3),
                                       (LayerNormalization, -4), (LayerNormalization, [1, -2])])
def test_axis_outside_the_features(cls, axis):
    with pytest.raises(ValueError, match=rf"{cls.__name__} 'n': axis {axis!r}".replace("[", r"\[")
                       + r" is not a feature axis of input shape \(None, 4, 5\); use axes 1 to "
                       r"2 \(or -1 for the last\), not the batch axis 0\."):
        cls(axis=axis, name="n")(np.zeros((2, 4, 5)))


@pytest.mark.parametrize("cls", NORMS)
def test_input_needs_a_batch_axis(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__} 'n' expects input of shape \(batch, "
                       r"\.\.\., features\), got shape \(3,\)\."):
        cls(name="n")(np.zeros(3))


def test_a_failed_build_leaves_the_layer_unbuilt():
    layer = BatchNormalization(axis=5)
    with pytest.raises(ValueError):
        layer(np.zeros((2, 3)))
    assert not layer.built and not layer.params and not layer.state


# ---- models: weights order, summary, saving ------------------------------------------------


def bn_cnn():
    return nnlite.Sequential([Conv2D(3, 3, padding="same", use_bias=False, name="conv"),
                              BatchNormalization(momentum=0.5, name="bn"), Flatten(),
                              LayerNormalization(name="ln"), Dense(2, activation="softmax")],
                             input_shape=(4, 4, 2), name="bn_model")


def test_get_weights_lists_params_then_state():
    model = bn_cnn()
    bn = model.layers[1]
    weights = model.get_weights()
    # conv kernel; bn gamma, beta, moving_mean, moving_variance; ln gamma, beta; dense 2.
    assert [w.shape for w in weights[1:5]] == [(3,)] * 4
    np.testing.assert_array_equal(weights[3], bn.state["moving_mean"])
    np.testing.assert_array_equal(weights[4], bn.state["moving_variance"])
    weights[3][...] = 7.0
    model.set_weights(weights)
    np.testing.assert_array_equal(bn.state["moving_mean"], [7.0, 7.0, 7.0])


def test_summary_counts_the_moving_statistics_as_non_trainable():
    lines = []
    bn_cnn().summary(print_fn=lines.append)
    text = "\n".join(lines)
    # conv 3*3*2*3 = 54; bn 3 + 3 trainable, 6 state; ln 48 + 48; dense 48*2 + 2 = 98.
    assert "Total params: 260" in text
    assert "Trainable params: 254" in text and "Non-trainable params: 6" in text


def test_save_load_keeps_the_moving_statistics(tmp_path, rng):
    model = bn_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = rng.standard_normal((12, 4, 4, 2)).astype(np.float32) + 3.0
    model.fit(x, rng.integers(0, 2, 12), epochs=2, batch_size=4, verbose=0)
    bn = model.layers[1]
    assert bn.state["moving_mean"].any()                            # trained away from 0
    model.save(tmp_path / "bn.nnlite")
    loaded = nnlite.load_model(tmp_path / "bn.nnlite")
    for key, value in bn.state.items():
        np.testing.assert_array_equal(loaded.layers[1].state[key], value)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.parametrize("cls", NORMS)
def test_a_non_contiguous_input_gives_the_same_results(cls, rng):
    # Sums over the leading or trailing axes run as a matrix-vector product on contiguous
    # arrays; a strided view takes NumPy's reduction instead, with the same values.
    x = rng.standard_normal((3, 4, 5)).transpose(0, 2, 1)          # (3, 5, 4) view
    grad = rng.standard_normal(x.shape)
    strided, contiguous = cls(dtype="float64"), cls(dtype="float64")
    y = strided(x, training=True)
    np.testing.assert_allclose(y, contiguous(np.ascontiguousarray(x), training=True),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(strided.backward(grad), contiguous.backward(grad), rtol=1e-12,
                               atol=1e-12)


# ---- masks: BatchNormalization's training statistics skip padded steps ----------------------


class _FixedMaskBN(BatchNormalization):
    """BatchNormalization with one mask for every call, so gradcheck can run it."""

    def __init__(self, mask, **kwargs):
        super().__init__(**kwargs)
        self.fixed_mask = mask

    def forward(self, x, training=False, mask=None):
        return super().forward(x, training, mask=self.fixed_mask)


SEQ_MASK = np.array([[True, True, False, False], [False, True, True, True],
                     [True, False, True, False]])


def test_masked_batch_normalization_hand_worked(float64):
    layer = BatchNormalization(momentum=0.5, epsilon=0.5625)
    x = np.array([[[1.0], [3.0], [100.0]]])                        # (1, 3, 1), step 2 padding
    y = layer(x, training=True, mask=np.array([[True, True, False]]))
    # Real steps: mean 2, variance 1, sqrt(1 + 0.5625) = 1.25; the padded step is normalised
    # with the same statistics: (100 - 2) / 1.25 = 78.4.
    np.testing.assert_allclose(y[0, :, 0], [-0.8, 0.8, 78.4], rtol=1e-14)
    np.testing.assert_array_equal(layer.state["moving_mean"], [1.0])      # 0.5 * 0 + 0.5 * 2
    np.testing.assert_array_equal(layer.state["moving_variance"], [1.0])  # 0.5 * 1 + 0.5 * 1
    assert layer.compute_mask(x, np.array([[True, True, False]])).tolist() == [[True, True,
                                                                                False]]


def test_masked_batch_normalization_gradcheck(float64, rng):
    layer = _FixedMaskBN(SEQ_MASK)
    layer.build((4, 2))
    layer.params["gamma"][...] = rng.standard_normal(2)
    x = rng.standard_normal((3, 4, 2)) * 2.0
    assert nnlite.gradcheck(layer, x, training=True) < 1e-6


def test_gradcheck_catches_a_masked_backward_that_counts_every_step(float64, rng, monkeypatch):
    layer = _FixedMaskBN(SEQ_MASK)
    x = rng.standard_normal((3, 4, 2))
    input_gradient = normalization_module._Normalization._input_gradient

    def without_the_mask(self, grad, x_hat, factor, sum_g, sum_gx, share=None):
        return input_gradient(self, grad, x_hat, factor, sum_g, sum_gx)

    monkeypatch.setattr(normalization_module._Normalization, "_input_gradient",
                        without_the_mask)
    assert nnlite.gradcheck(layer, x, training=True) > 1e-2


def test_pre_and_post_padding_give_the_same_normalised_steps(rng):
    real = rng.standard_normal((2, 3, 4)) + 2.0
    pad = np.full((2, 2, 4), 9.0)
    mask_post = np.array([[1, 1, 1, 0, 0]] * 2, bool)
    post = BatchNormalization(dtype="float64")(np.concatenate([real, pad], axis=1),
                                               training=True, mask=mask_post)
    pre = BatchNormalization(dtype="float64")(np.concatenate([pad, real], axis=1),
                                              training=True, mask=mask_post[:, ::-1])
    np.testing.assert_allclose(post[:, :3], pre[:, 2:], rtol=1e-12)
    unpadded = BatchNormalization(dtype="float64")(real, training=True)
    np.testing.assert_allclose(post[:, :3], unpadded, rtol=1e-12)


def test_a_mask_for_another_shape_is_refused():
    layer = BatchNormalization(name="bn")
    with pytest.raises(ValueError, match=r"BatchNormalization 'bn' takes a mask of shape "
                       r"\(2, 3\) \(the input's without its last axis, which must be the "
                       r"feature axis\), got a mask of shape \(2, 4\)"):
        layer(np.zeros((2, 3, 5)), training=True, mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"and axis 1\."):
        BatchNormalization(axis=1)(np.zeros((2, 3, 5)), training=True,
                                   mask=np.ones((2, 3), bool))
