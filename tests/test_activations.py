import math

import numpy as np
import pytest
from scipy import special

import nnlite
from nnlite import activations
from nnlite.layers import Activation

NAMES = activations.names()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(1, 4), (3, 5)])
def test_gradcheck_every_activation(name, shape, float64, rng):
    x = rng.standard_normal(shape) * 2.0
    assert nnlite.gradcheck(Activation(name), x) < 1e-6


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_inputs_are_finite_and_silent(name, dtype):
    x = np.array([[-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]], dtype=dtype)
    act = activations.get(name)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        y = act.forward(x)
        grad = act.backward(x, y, np.ones_like(y))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(grad))
    assert y.dtype == dtype and grad.dtype == dtype


def test_reference_values():
    x = np.array([-2.0, -0.5, 0.0, 1.0, 3.0])
    get = activations.get
    np.testing.assert_allclose(get("sigmoid").forward(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(get("relu").forward(x), [0, 0, 0, 1, 3])
    # PyTorch's default slope 0.01 for negative inputs.
    np.testing.assert_allclose(get("leaky_relu").forward(x), [-0.02, -0.005, 0, 1, 3])
    np.testing.assert_allclose(get("elu").forward(x), np.where(x > 0, x, np.expm1(x)))
    # Exact GELU at 1 is Phi(1) = 0.8413447460685429.
    assert get("gelu").forward(np.array([1.0]))[0] == pytest.approx(0.8413447460685429)
    np.testing.assert_allclose(get("softplus").forward(x), np.log1p(np.exp(x)))
    np.testing.assert_allclose(get("swish").forward(x), x * special.expit(x))
    np.testing.assert_allclose(get("tanh").forward(x), np.tanh(x))


def test_softmax_rows_sum_to_one_on_last_axis(rng):
    x = rng.standard_normal((2, 3, 4)) * 50
    y = activations.get("softmax").forward(x)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0)
    np.testing.assert_allclose(y, special.softmax(x, axis=-1))


def test_get_none_string_object_and_dict():
    assert activations.get(None).name == "linear"
    relu = activations.get("relu")
    assert activations.get(relu) is relu
    custom = activations.LeakyReLU(alpha=0.2)
    assert activations.serialize(custom) == {"name": "leaky_relu", "config": {"alpha": 0.2}}
    assert activations.get(activations.serialize(custom)).alpha == 0.2
    assert activations.serialize(activations.get("relu")) == "relu"


def test_unknown_name_lists_known_and_suggests():
    with pytest.raises(ValueError, match=r"Unknown activation 'relux'\. Known: elu, gelu, "
                       r"leaky_relu, linear, relu, sigmoid, softmax, softplus, swish, tanh\. "
                       r"Did you mean 'relu'\?"):
        activations.get("relux")


def test_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="activation must be"):
        activations.get(3)


class _Cube(activations.Activation):
    def forward(self, x):
        return x**3

    def backward(self, x, y, grad_y):
        return 3.0 * x * x * grad_y


def test_register_a_custom_activation_and_use_it_by_name(float64, rng):
    activations.register("cube_test", _Cube())
    try:
        layer = nnlite.layers.Dense(3, activation="cube_test")
        x = rng.standard_normal((2, 4))
        assert nnlite.gradcheck(layer, x) < 1e-6
        assert layer.get_config()["activation"] == "cube_test"
    finally:
        del activations._REGISTRY["cube_test"]


def test_register_refuses_duplicates_and_incomplete_objects():
    with pytest.raises(ValueError, match="'relu' is already taken"):
        activations.register("relu", _Cube())

    class NoBackward:
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="needs a backward"):
        activations.register("no_backward", NoBackward())


def test_unregistered_activation_cannot_be_serialized():
    with pytest.raises(ValueError, match="not registered"):
        activations.serialize(_Cube())


def test_backward_uses_forward_output_for_sigmoid():
    x = np.array([0.3])
    sig = activations.get("sigmoid")
    y = sig.forward(x)
    expected = y * (1 - y)
    assert sig.backward(x, y, np.ones(1))[0] == pytest.approx(expected[0])
    assert math.isclose(sig.backward(x, y, np.ones(1))[0], 0.24445831169074586, rel_tol=1e-12)


def test_relu_zeros_buffer_serves_every_shape_and_dtype(monkeypatch):
    relu = activations.get("relu")
    for dtype in (np.float32, np.float64, np.float32):
        for shape in ((3,), (2, 5), (4, 1, 3), ()):
            x = np.linspace(-1.0, 1.0, int(np.prod(shape))).astype(dtype).reshape(shape)
            y = relu.forward(x)
            assert y.dtype == dtype and y.shape == shape
            np.testing.assert_array_equal(y, np.where(x > 0, x, 0))
    monkeypatch.setattr(activations, "_ZEROS_MAX", 4)   # large inputs: the scalar path
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=np.float32)
    np.testing.assert_array_equal(relu.forward(x), [0.0, 0.0, 0.0, 0.5, 2.0])
    assert np.isnan(relu.forward(np.array([np.nan, 1.0]))[0])   # NaN propagates, as in PyTorch
