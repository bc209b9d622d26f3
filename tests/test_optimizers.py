import math

import numpy as np
import pytest

from nnlite import optimizers
from nnlite.layers import Dense


def one_param_layer(value, grad, dtype="float64"):
    """A built Dense(1) with no bias whose single weight and gradient are given."""
    layer = Dense(1, use_bias=False, dtype=dtype)
    layer.build((1,))
    layer.params["kernel"][...] = value
    layer.grads["kernel"] = np.full((1, 1), grad, dtype=dtype)
    return layer


def weight(layer):
    return float(layer.params["kernel"][0, 0])


def test_sgd_plain_step():
    layer = one_param_layer(1.0, 2.0)
    optimizers.SGD(learning_rate=0.1).step([layer])
    assert weight(layer) == pytest.approx(1.0 - 0.1 * 2.0)  # 0.8


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
def test_sgd_update_matches_numpy_for_every_layout(dtype, layout):
    # The update is in place, into the layer's own array, whatever the gradient's layout.
    rng = np.random.default_rng(0)
    layer = Dense(5, dtype=dtype)
    layer.build((4,))
    kernel = layer.params["kernel"]
    kernel[...] = rng.standard_normal(kernel.shape)
    grad = {"contiguous": rng.standard_normal((4, 5)),
            "transposed": rng.standard_normal((5, 4)).T,
            "strided": rng.standard_normal((4, 10))[:, ::2]}[layout].astype(dtype)
    layer.grads = {"kernel": grad, "bias": np.ones(5, dtype=dtype)}
    expected = kernel - np.asarray(0.1, dtype) * grad
    optimizers.SGD(learning_rate=0.1).step([layer])
    assert layer.params["kernel"] is kernel
    np.testing.assert_allclose(kernel, expected, rtol=1e-6 if dtype == "float32" else 1e-14)
    np.testing.assert_allclose(layer.params["bias"], np.full(5, -0.1, dtype), rtol=1e-6)


def test_sgd_momentum_two_steps():
    layer = one_param_layer(1.0, 2.0)
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.9)
    opt.step([layer])  # v = 2;              p = 1 - 0.1 * 2 = 0.8
    opt.step([layer])  # v = 0.9 * 2 + 2 = 3.8; p = 0.8 - 0.38 = 0.42
    assert weight(layer) == pytest.approx(0.42)


def test_sgd_nesterov_two_steps():
    layer = one_param_layer(1.0, 2.0)
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    opt.step([layer])  # v = 2;   p = 1 - 0.1 * (2 + 0.9 * 2) = 0.62
    opt.step([layer])  # v = 3.8; p = 0.62 - 0.1 * (2 + 0.9 * 3.8) = 0.078
    assert weight(layer) == pytest.approx(0.078)


def test_sgd_weight_decay_adds_to_gradient():
    layer = one_param_layer(2.0, 1.0)
    optimizers.SGD(learning_rate=0.1, weight_decay=0.5).step([layer])
    assert weight(layer) == pytest.approx(2.0 - 0.1 * (1.0 + 0.5 * 2.0))  # 1.8


def test_adam_first_and_second_step():
    layer = one_param_layer(1.0, 2.0)
    opt = optimizers.Adam(learning_rate=0.1, epsilon=1e-7)
    opt.step([layer])
    # m_hat = g = 2, v_hat = g^2 = 4: p = 1 - 0.1 * 2 / (2 + 1e-7)
    assert weight(layer) == pytest.approx(1.0 - 0.1 * 2.0 / (2.0 + 1e-7), rel=1e-12)
    layer.grads["kernel"][...] = 1.0
    opt.step([layer])
    m = 0.9 * 0.1 * 2.0 + 0.1 * 1.0
    v = 0.999 * 0.001 * 4.0 + 0.001 * 1.0
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    expected = 1.0 - 0.1 * 2.0 / (2.0 + 1e-7) - 0.1 * m_hat / (math.sqrt(v_hat) + 1e-7)
    assert weight(layer) == pytest.approx(expected, rel=1e-12)


def test_rmsprop_step():
    layer = one_param_layer(1.0, 2.0)
    optimizers.RMSprop(learning_rate=0.01, rho=0.9, epsilon=1e-7).step([layer])
    v = 0.1 * 4.0
    assert weight(layer) == pytest.approx(1.0 - 0.01 * 2.0 / (math.sqrt(v) + 1e-7), rel=1e-12)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
def test_frozen_layers_are_not_updated(name):
    frozen = one_param_layer(1.0, 2.0)
    frozen.trainable = False
    live = one_param_layer(1.0, 2.0)
    optimizers.get(name).step([frozen, live])
    assert weight(frozen) == 1.0
    assert weight(live) != 1.0


@pytest.mark.parametrize("opt", [optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                                 optimizers.Adam(), optimizers.RMSprop()])
def test_float32_weights_stay_float32_and_are_updated_in_place(opt):
    layer = one_param_layer(1.0, 2.0, dtype="float32")
    kernel = layer.params["kernel"]
    opt.step([layer])
    assert layer.params["kernel"] is kernel
    assert kernel.dtype == np.float32
    assert all(s.dtype == np.float32 for slots in opt.state.values() for s in slots.values())


def test_names_give_defaults():
    assert optimizers.get("sgd").learning_rate == 0.01
    adam = optimizers.get("adam")
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (0.001, 0.9, 0.999,
                                                                             1e-7)
    rms = optimizers.get("rmsprop")
    assert (rms.learning_rate, rms.rho, rms.epsilon) == (0.001, 0.9, 1e-7)


def test_bad_learning_rate():
    with pytest.raises(ValueError, match=r"SGD: learning_rate must be a positive float, "
                       r"got -0\.1\."):
        optimizers.SGD(learning_rate=-0.1)


def test_nesterov_needs_momentum():
    with pytest.raises(ValueError, match="nesterov=True needs a momentum"):
        optimizers.SGD(nesterov=True)


def test_unknown_optimizer_name():
    with pytest.raises(ValueError, match=r"Unknown optimizer 'adamw'\. Known: adam, rmsprop, "
                       r"sgd\. Did you mean 'adam'\?"):
        optimizers.get("adamw")
