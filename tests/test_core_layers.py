import numpy as np
import pytest

import nnlite
from nnlite.layers import Activation, Conv1D, Dense, Dropout, Flatten, Reshape
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


# ---- Reshape -------------------------------------------------------------------------------


@pytest.mark.parametrize("target, input_shape", [
    ((4, 3), (2, 12)), ((-1, 2), (1, 3, 4)), ((2, 3, 2), (2, 4, 3)), ([12], (2, 3, 2, 2))])
def test_reshape_contract(target, input_shape):
    check_layer_contract(Reshape, {"target_shape": target}, input_shape)


def test_reshape_is_c_order_and_infers_one_axis():
    x = np.arange(24.0).reshape(2, 12)
    layer = Reshape((3, -1))
    y = layer(x)
    assert y.shape == (2, 3, 4) and layer.output_shape((12,)) == (3, 4)
    np.testing.assert_array_equal(y[1, 2], [20, 21, 22, 23])        # row-major, as Keras
    np.testing.assert_array_equal(layer.backward(y), x)
    assert layer.get_config()["target_shape"] == (3, -1)            # the -1 is kept


def test_reshape_gradcheck(float64, rng):
    assert nnlite.gradcheck(Reshape((2, -1)), rng.standard_normal((1, 3, 4))) < 1e-6


def test_gradcheck_catches_a_reshape_that_transposes_back(float64, rng, monkeypatch):
    layer = Reshape((3, 2))
    x = rng.standard_normal((2, 2, 3))
    monkeypatch.setattr(Reshape, "backward",
                        lambda self, g: g.reshape(g.shape[0], 3, 2).transpose(0, 2, 1))
    assert nnlite.gradcheck(layer, x) > 1e-2


def test_reshape_between_dense_and_conv1d_in_a_saved_model(tmp_path, rng):
    model = nnlite.Sequential([Dense(12), Reshape((4, 3)), Conv1D(2, 2), Flatten(), Dense(1)],
                              input_shape=(5,))
    model.compile(optimizer="sgd", loss="mse")
    x = rng.standard_normal((3, 5)).astype(np.float32)
    model.save(tmp_path / "r.nnlite")
    loaded = nnlite.load_model(tmp_path / "r.nnlite")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.parametrize("bad", [(0, 3), (-1, -1), (2, -2), 12, (2.0, 3), (True,), None])
def test_reshape_bad_target(bad):
    with pytest.raises(ValueError, match=r"Reshape: target_shape must be a tuple of positive "
                       r"ints with at most one -1, got "):
        Reshape(bad)


@pytest.mark.parametrize("target", [(5,), (5, -1)])
def test_reshape_size_mismatch(target):
    with pytest.raises(ValueError, match=r"Reshape 'r': cannot reshape input of shape "
                       r"\(None, 3, 4\) \(12 values per sample\) to \(None, 5"):
        Reshape(target, name="r")(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"Reshape 'r2': cannot reshape"):
        nnlite.Sequential([Reshape(target, name="r2")], input_shape=(3, 4))


def test_reshape_needs_a_batch_axis():
    with pytest.raises(ValueError, match=r"Reshape 'r' expects input with a batch axis, got "
                       r"shape \(6,\)\."):
        Reshape((2, 3), name="r")(np.zeros(6))
