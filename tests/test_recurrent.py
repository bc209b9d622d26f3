import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlite
from nnlite import activations
from nnlite.layers import Dense, Embedding, SimpleRNN
from tests.helpers import check_layer_contract, simple_rnn_reference

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "sequences.py"


def test_contract():
    check_layer_contract(SimpleRNN, {"units": 3}, (4, 5, 2))
    check_layer_contract(SimpleRNN, {"units": 2, "return_sequences": True}, (1, 1, 3))
    check_layer_contract(SimpleRNN, {"units": 4, "activation": "relu", "use_bias": False},
                         (2, 3, 1))


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("timesteps", [1, 7])
def test_gradcheck_batch_of_one(return_sequences, activation, timesteps, float64, rng):
    layer = SimpleRNN(4, activation=activation, return_sequences=return_sequences)
    assert nnlite.gradcheck(layer, rng.standard_normal((1, timesteps, 3))) < 1e-6


@pytest.mark.parametrize("name", activations.names())
def test_gradcheck_every_activation(name, float64, rng):
    layer = SimpleRNN(3, activation=name, return_sequences=True)
    assert nnlite.gradcheck(layer, rng.standard_normal((3, 5, 2))) < 1e-6


def test_gradcheck_without_bias(float64, rng):
    assert nnlite.gradcheck(SimpleRNN(5, use_bias=False), rng.standard_normal((2, 4, 3))) < 1e-6


def test_gradcheck_catches_truncated_backpropagation(float64, rng):
    class OneStepBPTT(SimpleRNN):
        # A zero recurrent kernel during backward stops the gradient from flowing to
        # earlier steps: truncated backpropagation through time, a plausible bug.
        def backward(self, grad_output):
            saved = self.params["recurrent_kernel"]
            self.params["recurrent_kernel"] = np.zeros_like(saved)
            try:
                return super().backward(grad_output)
            finally:
                self.params["recurrent_kernel"] = saved

    assert nnlite.gradcheck(OneStepBPTT(4), rng.standard_normal((2, 1, 3))) < 1e-6
    assert nnlite.gradcheck(OneStepBPTT(4), rng.standard_normal((2, 7, 3))) > 1e-2


def test_gradcheck_whole_model(float64, rng):
    model = nnlite.Sequential([Embedding(9, 4), SimpleRNN(5), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    x = rng.integers(0, 9, size=(3, 6))
    model.build(x.shape[1:])
    assert nnlite.gradcheck(model, x, rng.integers(0, 2, size=3)) < 1e-6


def test_gradcheck_stacked_model(float64, rng):
    model = nnlite.Sequential([Embedding(7, 3), SimpleRNN(4, return_sequences=True),
                               SimpleRNN(3, activation="relu"), Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    x = rng.integers(0, 7, size=(2, 5))
    model.build(x.shape[1:])
    assert nnlite.gradcheck(model, x, rng.integers(0, 2, size=2)) < 1e-6


def _one_unit_linear_rnn(return_sequences):
    layer = SimpleRNN(1, activation="linear", return_sequences=return_sequences,
                      dtype="float64")
    layer.build((3, 1))
    layer.params["kernel"][...] = 2
    layer.params["recurrent_kernel"][...] = 3
    layer.params["bias"][...] = 1
    return layer


def test_hand_worked_example():
    layer = _one_unit_linear_rnn(return_sequences=False)
    x = np.array([[[1.0], [2.0], [0.0]]])
    # h1 = 2*1 + 3*0 + 1 = 3; h2 = 2*2 + 3*3 + 1 = 14; h3 = 2*0 + 3*14 + 1 = 43
    np.testing.assert_array_equal(layer(x), [[43.0]])
    grad_x = layer.backward(np.array([[1.0]]))
    # grad_z3 = 1; grad_z2 = 3 * grad_z3 = 3; grad_z1 = 3 * grad_z2 = 9
    # kernel: 1*9 + 2*3 + 0*1 = 15; recurrent: h0*9 + h1*3 + h2*1 = 0 + 9 + 14 = 23
    # bias: 9 + 3 + 1 = 13; grad_x = 2 * grad_z = [18, 6, 2]
    np.testing.assert_array_equal(grad_x, [[[18.0], [6.0], [2.0]]])
    np.testing.assert_array_equal(layer.grads["kernel"], [[15.0]])
    np.testing.assert_array_equal(layer.grads["recurrent_kernel"], [[23.0]])
    np.testing.assert_array_equal(layer.grads["bias"], [13.0])


def test_hand_worked_example_with_sequences():
    layer = _one_unit_linear_rnn(return_sequences=True)
    x = np.array([[[1.0], [2.0], [0.0]]])
    np.testing.assert_array_equal(layer(x), [[[3.0], [14.0], [43.0]]])
    layer.backward(np.array([[[1.0], [0.0], [1.0]]]))
    # grad_z3 = 1; grad_z2 = 0 + 3*1 = 3; grad_z1 = 1 + 3*3 = 10
    # kernel: 1*10 + 2*3 + 0*1 = 16; recurrent: 0*10 + 3*3 + 14*1 = 23; bias: 14
    np.testing.assert_array_equal(layer.grads["kernel"], [[16.0]])
    np.testing.assert_array_equal(layer.grads["recurrent_kernel"], [[23.0]])
    np.testing.assert_array_equal(layer.grads["bias"], [14.0])


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 3), t=st.integers(1, 5), features=st.integers(1, 3),
       units=st.integers(1, 4), return_sequences=st.booleans(),
       activation=st.sampled_from(["tanh", "relu", "sigmoid"]), seed=st.integers(0, 2**16))
def test_matches_plain_loop_reference(n, t, features, units, return_sequences, activation,
                                      seed):
    rng = np.random.default_rng(seed)
    layer = SimpleRNN(units, activation=activation, return_sequences=return_sequences,
                      dtype="float64")
    x = rng.standard_normal((n, t, features))
    out = layer(x)
    grad_seq = rng.standard_normal((n, t, units))
    if not return_sequences:
        grad_seq[:, :-1] = 0.0
    grad_x = layer.backward(grad_seq if return_sequences else grad_seq[:, -1])
    p = layer.params
    h, grads, expected_grad_x = simple_rnn_reference(
        x, p["kernel"], p["recurrent_kernel"], p["bias"], layer.activation, grad_seq)
    np.testing.assert_allclose(out, h if return_sequences else h[:, -1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_x, expected_grad_x, rtol=1e-10, atol=1e-12)
    for key in p:
        np.testing.assert_allclose(layer.grads[key], grads[key], rtol=1e-10, atol=1e-12)


def test_skips_input_gradient_when_the_model_does_not_need_it(rng):
    layer = SimpleRNN(3)
    x = rng.standard_normal((2, 4, 2)).astype(np.float32)
    grad = np.ones((2, 3), dtype=np.float32)
    layer(x)
    assert layer.backward(grad).shape == x.shape
    expected = {key: g.copy() for key, g in layer.grads.items()}
    assert layer.backward(grad, input_grad=False) is None
    for key, g in expected.items():
        np.testing.assert_array_equal(layer.grads[key], g)


def test_outputs_survive_later_calls(rng):
    layer = SimpleRNN(3, return_sequences=True)
    x = rng.standard_normal((2, 4, 2)).astype(np.float32)
    first = layer(x)
    kept = first.copy()
    layer(rng.standard_normal((2, 4, 2)).astype(np.float32))
    np.testing.assert_array_equal(first, kept)


def test_repr_and_config():
    layer = SimpleRNN(8, return_sequences=True)
    assert repr(layer) == ("SimpleRNN(units=8, activation='tanh', return_sequences=True, "
                           "use_bias=True, kernel_initializer='glorot_uniform', "
                           "recurrent_initializer='orthogonal')")
    assert SimpleRNN(**layer.get_config()).get_config() == layer.get_config()


def _sequence_model(return_sequences=False):
    return nnlite.Sequential([Embedding(50, 8), SimpleRNN(16, return_sequences=return_sequences),
                              Dense(1, activation="sigmoid")], input_shape=(12,))


def _summary_row(model, class_name):
    lines = []
    model.summary(print_fn=lines.append)
    row = next(line for line in lines[0].splitlines() if f"({class_name})" in line)
    return " ".join(row.split()[1:])        # drop the generated layer name


def test_summary_shapes_and_parameter_counts():
    model = _sequence_model()
    # Embedding 50*8 = 400; SimpleRNN 8*16 + 16*16 + 16 = 400; Dense 16 + 1 = 17.
    assert _summary_row(model, "Embedding") == "(Embedding) (None, 12, 8) 400"
    assert _summary_row(model, "SimpleRNN") == "(SimpleRNN) (None, 16) 400"
    assert _summary_row(model, "Dense") == "(Dense) (None, 1) 17"
    lines = []
    model.summary(print_fn=lines.append)
    assert "Total params: 817" in lines[0]


def test_summary_with_sequences():
    model = _sequence_model(return_sequences=True)
    assert _summary_row(model, "SimpleRNN") == "(SimpleRNN) (None, 12, 16) 400"
    assert _summary_row(model, "Dense") == "(Dense) (None, 12, 1) 17"


def test_save_load_round_trip_is_bit_identical(tmp_path, rng):
    model = _sequence_model()
    model.compile(loss="binary_crossentropy", optimizer="adam")
    x = rng.integers(0, 50, size=(40, 12))
    model.fit(x, rng.integers(0, 2, size=40), epochs=1, verbose=0)
    model.save(tmp_path / "seq.nnlite")
    loaded = nnlite.load_model(tmp_path / "seq.nnlite")
    assert [type(layer).__name__ for layer in loaded.layers] == ["Embedding", "SimpleRNN",
                                                                 "Dense"]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


# ---- the examples train -----------------------------------------------------------------

@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("sequences_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_token_order_classifier_learns(example):
    _, accuracy = example.train_order_classifier(seed=0)
    assert accuracy >= 0.95


def test_noisy_sine_regressor_learns(example):
    _, mse, variance = example.train_sine_regressor(seed=0)
    assert mse < 0.05 * variance


def test_docs_examples_run_and_learn(capsys):
    text = (ROOT / "docs" / "sequences.md").read_text()
    classifier, regressor = re.findall(r"```python\n(.*?)```", text, re.S)
    namespace = {}
    exec(classifier, namespace)
    assert namespace["model"].evaluate(namespace["x"][2000:], namespace["y"][2000:])[
        "accuracy"] >= 0.95
    exec(regressor, namespace)
    y = namespace["y"]
    assert namespace["model"].evaluate(namespace["x"][2000:], y[2000:])["loss"] < 0.05 * y.var()


# ---- errors: one test per message --------------------------------------------------------

def test_input_not_3d():
    with pytest.raises(ValueError, match=r"SimpleRNN 'rnn' expects input of shape \(batch, "
                                         r"timesteps, features\).*got shape \(4, 3\)"):
        SimpleRNN(2, name="rnn")(np.ones((4, 3)))


def test_input_without_timesteps():
    with pytest.raises(ValueError, match=r"'rnn' expects .*at least one timestep, got shape "
                                         r"\(4, 0, 3\)"):
        SimpleRNN(2, name="rnn")(np.ones((4, 0, 3)))


def test_feature_size_differs_from_build():
    layer = SimpleRNN(2, name="rnn")
    layer(np.ones((1, 5, 3)))
    with pytest.raises(ValueError, match=r"SimpleRNN 'rnn' was built for 3 input features, "
                                         r"got input of shape \(1, 5, 4\)"):
        layer(np.ones((1, 5, 4)))


def test_bad_units():
    with pytest.raises(ValueError, match="SimpleRNN: units must be a positive int, got 0"):
        SimpleRNN(0)


def test_unknown_activation():
    with pytest.raises(ValueError, match="Unknown activation 'tanhh'.*Did you mean 'tanh'"):
        SimpleRNN(2, activation="tanhh")


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="SimpleRNN 'lonely': backward\\(\\) called before"):
        SimpleRNN(2, name="lonely").backward(np.ones((1, 2)))
