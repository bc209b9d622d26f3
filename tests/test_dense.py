import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import nnlite
from nnlite import activations
from nnlite.layers import Dense
from tests.helpers import check_layer_contract


def test_contract():
    check_layer_contract(Dense, {"units": 3, "activation": "relu"}, (4, 5))
    check_layer_contract(Dense, {"units": 2, "use_bias": False}, (1, 3))
    check_layer_contract(Dense, {"units": 2}, (2, 3, 4))


@pytest.mark.parametrize("name", activations.names())
@pytest.mark.parametrize("batch", [1, 4])
def test_gradcheck_every_activation(name, batch, float64, rng):
    layer = Dense(3, activation=name)
    assert nnlite.gradcheck(layer, rng.standard_normal((batch, 5))) < 1e-6


def test_gradcheck_without_bias_and_on_sequences(float64, rng):
    assert nnlite.gradcheck(Dense(2, use_bias=False), rng.standard_normal((3, 4))) < 1e-6
    assert nnlite.gradcheck(Dense(2, activation="tanh"), rng.standard_normal((2, 3, 4))) < 1e-6


def test_gradcheck_catches_a_wrong_backward(float64, rng):
    class WrongDense(Dense):
        def backward(self, grad_output, fused=False):
            grad_x = super().backward(grad_output, fused)
            self.grads["kernel"] = self.grads["kernel"] * 1.01
            return grad_x

    assert nnlite.gradcheck(WrongDense(3), rng.standard_normal((2, 4))) > 1e-3


def test_hand_worked_example(float64):
    layer = Dense(2, activation="relu")
    layer.build((3,))
    layer.params["kernel"][...] = [[1, -1], [2, 0], [0, 3]]
    layer.params["bias"][...] = [1, -10]
    x = np.array([[1.0, 2.0, 3.0]])
    # z = [1*1 + 2*2 + 3*0 + 1, 1*-1 + 2*0 + 3*3 - 10] = [6, -2]; relu -> [6, 0]
    np.testing.assert_array_equal(layer(x), [[6.0, 0.0]])
    grad_x = layer.backward(np.array([[1.0, 1.0]]))
    # Only unit 0 is active: grad_z = [1, 0]; grad_x = grad_z @ kernel.T = [1, 2, 0]
    np.testing.assert_array_equal(grad_x, [[1.0, 2.0, 0.0]])
    np.testing.assert_array_equal(layer.grads["kernel"], [[1, 0], [2, 0], [3, 0]])
    np.testing.assert_array_equal(layer.grads["bias"], [1, 0])


def test_same_predictions_as_scikit_learn_with_copied_weights(float64, rng):
    x = rng.standard_normal((20, 4))
    y = rng.integers(0, 3, size=20)
    reference = MLPClassifier(hidden_layer_sizes=(5,), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(x, y)
    model = nnlite.Sequential([Dense(5, activation="relu"), Dense(3, activation="softmax")],
                              input_shape=(4,))
    model.set_weights([reference.coefs_[0], reference.intercepts_[0],
                       reference.coefs_[1], reference.intercepts_[1]])
    np.testing.assert_array_equal(model.predict(x), reference.predict_proba(x))


def test_float32_stays_float32(rng):
    layer = Dense(3, activation="gelu")
    y = layer(rng.standard_normal((2, 4)).astype(np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_repr_and_config():
    layer = Dense(64, activation="relu")
    assert repr(layer) == ("Dense(units=64, activation='relu', use_bias=True, "
                           "kernel_initializer='glorot_uniform')")
    assert Dense(**layer.get_config()).get_config() == layer.get_config()


def test_backward_before_forward():
    layer = Dense(2, name="lonely")
    with pytest.raises(RuntimeError, match="Dense 'lonely': backward\\(\\) called before"):
        layer.backward(np.ones((1, 2)))


def test_bad_units():
    with pytest.raises(ValueError, match="Dense: units must be a positive int, got 0"):
        Dense(0)


@settings(max_examples=15, deadline=None)
@given(batch=st.integers(1, 4), features=st.integers(1, 5), units=st.integers(1, 4),
       activation=st.sampled_from(activations.names()))
def test_gradcheck_random_shapes(batch, features, units, activation):
    nnlite.set_dtype("float64")
    try:
        x = np.random.default_rng(batch * 100 + features).standard_normal((batch, features))
        assert nnlite.gradcheck(Dense(units, activation=activation), x) < 1e-6
    finally:
        nnlite.set_dtype("float32")
