import numpy as np
import pytest

import nnlite
from nnlite.layers import Dense


def test_returns_small_error_for_a_correct_layer(float64, rng):
    worst = nnlite.gradcheck(Dense(3, activation="tanh"), rng.standard_normal((2, 4)))
    assert 0.0 <= worst < 1e-8


def test_details_name_every_tensor(float64, rng):
    layer = Dense(3, name="probe")
    _, details = nnlite.gradcheck(layer, rng.standard_normal((2, 4)), return_details=True)
    assert sorted(details) == ["input", "probe.bias", "probe.kernel"]


def test_fails_for_a_wrong_input_gradient(float64, rng):
    class Wrong(Dense):
        def backward(self, grad_output, fused=False):
            return 1.1 * super().backward(grad_output, fused)

    assert nnlite.gradcheck(Wrong(3), rng.standard_normal((2, 4))) > 1e-2


def test_large_tensors_are_sampled(float64, rng):
    layer = Dense(50)
    worst = nnlite.gradcheck(layer, rng.standard_normal((2, 60)), max_elements=30)
    assert worst < 1e-6


def test_needs_float64_weights(rng):
    with pytest.raises(ValueError, match=r"gradcheck needs float64 weights, but 'f32'.kernel "
                       r"is float32"):
        nnlite.gradcheck(Dense(2, name="f32"), rng.standard_normal((2, 3)))


def test_model_needs_targets(float64):
    model = nnlite.Sequential([Dense(1)], input_shape=(2,))
    model.compile(loss="mse")
    with pytest.raises(ValueError, match="needs targets y"):
        nnlite.gradcheck(model, np.zeros((1, 2)))


def test_a_float_input_without_gradient_fails_loudly(float64, rng):
    class NoInputGrad(Dense):
        def backward(self, grad_output, fused=False, input_grad=True):
            super().backward(grad_output, fused=fused)
            return None

    with pytest.raises(RuntimeError, match=r"no_input_grad.*no gradient for its float input"):
        nnlite.gradcheck(NoInputGrad(2, name="no_input_grad"), rng.standard_normal((3, 4)))
