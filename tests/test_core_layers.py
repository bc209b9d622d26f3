import numpy as np
import pytest

import nnlite
from nnlite.layers import Activation, Dropout, Flatten
from tests.helpers import check_layer_contract


def test_contracts():
    check_layer_contract(Flatten, {}, (2, 3, 4, 5))
    check_layer_contract(Dropout, {"rate": 0.5}, (3, 4))
    check_layer_contract(Activation, {"activation": "tanh"}, (3, 4))


def test_flatten_is_channels_last_order():
    x = np.arange(2 * 2 * 2 * 3, dtype=np.float32).reshape(2, 2, 2, 3)
    layer = Flatten()
    out = layer(x)
    np.testing.assert_array_equal(out[0], np.arange(12))
    np.testing.assert_array_equal(layer.backward(out), x)
    assert layer.output_shape((2, 2, 3)) == (12,)


def test_flatten_gradcheck(float64, rng):
    assert nnlite.gradcheck(Flatten(), rng.standard_normal((1, 3, 2, 2))) < 1e-6


def test_dropout_is_identity_at_inference(rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    layer = Dropout(0.5)
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)


def test_dropout_drops_the_rate_and_rescales(rng):
    x = np.ones((200, 100), dtype=np.float32)
    layer = Dropout(0.3)
    y = layer(x, training=True)
    kept = y != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert y.dtype == np.float32
    # Backward routes gradient through the same mask with the same scale.
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), y)


def test_dropout_bad_rate():
    with pytest.raises(ValueError, match=r"Dropout: rate must be in \[0, 1\), got 1.0"):
        Dropout(1.0)


def test_activation_layer_gradcheck(float64, rng):
    for name in ["softmax", "elu", "sigmoid"]:
        assert nnlite.gradcheck(Activation(name), rng.standard_normal((2, 3))) < 1e-6


def test_activation_layer_rejects_unknown_name():
    with pytest.raises(ValueError, match="Unknown activation 'tanhh'"):
        Activation("tanhh")


def test_dropout_accepts_numpy_scalar_rates():
    layer = Dropout(np.float32(0.5))
    assert layer.rate == 0.5 and type(layer.rate) is float
    assert Dropout(np.float64(0.0)).rate == 0.0


@pytest.mark.parametrize("rate", [True, False, float("nan"), np.float32("inf"), -0.1, "0.5"])
def test_dropout_refuses_bools_and_non_finite_rates(rate):
    with pytest.raises(ValueError, match=r"Dropout: rate must be in \[0, 1\), got"):
        Dropout(rate)
