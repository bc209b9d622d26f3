import functools
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlite
from nnlite import activations
from nnlite.layers import GRU, LSTM, Dense, Embedding, SimpleRNN
from tests.helpers import check_layer_contract, gru_reference, lstm_reference, simple_rnn_reference

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "sequences.py"
LSTM_EXAMPLE = ROOT / "examples" / "lstm_sequences.py"


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


# ---- LSTM and GRU; masking for all three ------------------------------------------------

# Every recurrent layer variant, as (class, constructor arguments).
VARIANTS = [pytest.param(SimpleRNN, {}, id="SimpleRNN"), pytest.param(LSTM, {}, id="LSTM"),
            pytest.param(GRU, {}, id="GRU"),
            pytest.param(GRU, {"reset_after": False}, id="GRU-reset_before")]
GATED = VARIANTS[1:]
MASK = np.array([[True, True, False, False, True],      # a gap inside
                 [False, False, True, True, True],      # pre-padded
                 [True, True, True, False, False]])     # post-padded


def _with_mask(layer, mask):
    """Make every later call of ``layer`` use ``mask`` (gradcheck calls ``layer(x)``)."""
    forward = functools.partial(type(layer).forward, layer)
    layer.forward = lambda x, training=False, mask=None, fixed=mask: forward(x, training, fixed)
    return layer


@pytest.mark.parametrize("cls, kwargs", GATED)
def test_gated_contract(cls, kwargs):
    check_layer_contract(cls, {"units": 3, **kwargs}, (4, 5, 2))
    check_layer_contract(cls, {"units": 2, "return_sequences": True, **kwargs}, (1, 1, 3))
    check_layer_contract(cls, {"units": 2, "use_bias": False, **kwargs}, (2, 3, 1))


@pytest.mark.parametrize("shape", [(3, 5, 2), (1, 1, 3), (1, 4, 1)])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("cls, kwargs", GATED)
def test_gated_gradcheck(cls, kwargs, return_sequences, shape, float64, rng):
    layer = cls(3, return_sequences=return_sequences, **kwargs)
    assert nnlite.gradcheck(layer, rng.standard_normal(shape)) < 1e-6


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("cls, kwargs", VARIANTS)
def test_masked_gradcheck(cls, kwargs, return_sequences, float64, rng):
    layer = _with_mask(cls(3, return_sequences=return_sequences, **kwargs), MASK)
    x = rng.standard_normal((3, 5, 2))
    worst, details = nnlite.gradcheck(layer, x, return_details=True)
    assert worst < 1e-6, details
    assert not np.allclose(layer(x), type(layer).forward(layer, x))   # the mask was used


@pytest.mark.parametrize("cls, kwargs", GATED)
def test_gated_gradcheck_other_activations(cls, kwargs, float64, rng):
    layer = cls(3, activation="relu", recurrent_activation="softplus", return_sequences=True,
                **kwargs)
    assert nnlite.gradcheck(_with_mask(layer, MASK), rng.standard_normal((3, 5, 2))) < 1e-6


def test_gated_gradcheck_whole_masked_model(float64, rng):
    model = nnlite.Sequential([Embedding(9, 4, mask_zero=True), LSTM(5, return_sequences=True),
                               GRU(3), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    x = rng.integers(1, 9, size=(3, 6))
    x[0, :2] = 0
    x[1, 4:] = 0
    model.build(x.shape[1:])
    assert nnlite.gradcheck(model, x, rng.integers(0, 2, size=3)) < 1e-6


def _reference(cls, kwargs):
    if cls is LSTM:
        return lstm_reference
    return functools.partial(gru_reference, reset_after=kwargs.get("reset_after", True))


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 3), t=st.integers(1, 5), features=st.integers(1, 3),
       units=st.integers(1, 4), return_sequences=st.booleans(), masked=st.booleans(),
       variant=st.sampled_from([p.values for p in GATED]), seed=st.integers(0, 2**16))
def test_gated_match_plain_loop_reference(n, t, features, units, return_sequences, masked,
                                          variant, seed):
    cls, kwargs = variant
    rng = np.random.default_rng(seed)
    layer = cls(units, return_sequences=return_sequences, dtype="float64", **kwargs)
    layer.build((t, features))
    for param in layer.params.values():          # away from the initial values' symmetries
        param[...] = rng.standard_normal(param.shape)
    x = rng.standard_normal((n, t, features))
    mask = rng.random((n, t)) < 0.6 if masked else None
    out = layer(x, mask=mask)
    grad_seq = rng.standard_normal((n, t, units))
    if not return_sequences:
        grad_seq[:, :-1] = 0.0
    grad_x = layer.backward(grad_seq if return_sequences else grad_seq[:, -1])
    p = layer.params
    h, grads, expected_grad_x = _reference(cls, kwargs)(
        x, p["kernel"], p["recurrent_kernel"], p["bias"], grad_seq, mask=mask)
    np.testing.assert_allclose(out, h if return_sequences else h[:, -1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_x, expected_grad_x, rtol=1e-10, atol=1e-12)
    for key in p:
        np.testing.assert_allclose(layer.grads[key], grads[key], rtol=1e-10, atol=1e-12)


@settings(max_examples=8, deadline=None)
@given(n=st.integers(1, 3), t=st.integers(1, 5), return_sequences=st.booleans(),
       seed=st.integers(0, 2**16))
def test_masked_simple_rnn_matches_plain_loop_reference(n, t, return_sequences, seed):
    rng = np.random.default_rng(seed)
    layer = SimpleRNN(3, return_sequences=return_sequences, dtype="float64")
    x = rng.standard_normal((n, t, 2))
    mask = rng.random((n, t)) < 0.6
    out = layer(x, mask=mask)
    grad_seq = rng.standard_normal((n, t, 3))
    if not return_sequences:
        grad_seq[:, :-1] = 0.0
    grad_x = layer.backward(grad_seq if return_sequences else grad_seq[:, -1])
    p = layer.params
    h, grads, expected_grad_x = simple_rnn_reference(
        x, p["kernel"], p["recurrent_kernel"], p["bias"], layer.activation, grad_seq, mask)
    np.testing.assert_allclose(out, h if return_sequences else h[:, -1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_x, expected_grad_x, rtol=1e-10, atol=1e-12)
    for key in p:
        np.testing.assert_allclose(layer.grads[key], grads[key], rtol=1e-10, atol=1e-12)


def _linear_cell(cls, kernel, recurrent_kernel, bias, **kwargs):
    """A one-unit cell with linear activations, so that the arithmetic is whole numbers."""
    layer = cls(1, activation="linear", recurrent_activation="linear", dtype="float64",
                **kwargs)
    layer.build((2, 1))
    layer.params["kernel"][...] = kernel
    layer.params["recurrent_kernel"][...] = recurrent_kernel
    layer.params["bias"][...] = bias
    return layer


def test_lstm_hand_worked_example():
    layer = _linear_cell(LSTM, [[1, 2, 3, 1]], [[1, 0, 1, 0]], [0, 0, 0, 1])
    x = np.array([[[1.0], [2.0]]])
    # Blocks (i, f, g, o); act(c) = c.
    # step 1: z = 1*[1,2,3,1] + [0,0,0,1] = [1,2,3,2]; c1 = 2*0 + 1*3 = 3; h1 = 2*3 = 6
    # step 2: z = 2*[1,2,3,1] + 6*[1,0,1,0] + [0,0,0,1] = [8,4,12,3];
    #         c2 = 4*3 + 8*12 = 108; h2 = 3*108 = 324
    np.testing.assert_array_equal(layer(x), [[324.0]])
    grad_x = layer.backward(np.array([[1.0]]))
    # step 2: do = c2 = 108; dc2 = o2 = 3; di = 3*12 = 36, df = 3*c1 = 9, dg = 3*8 = 24
    #         dz2 = [36, 9, 24, 108]; dh1 = 36 + 24 = 60; dc1 = 3*f2 + 60*o1 = 12 + 120 = 132
    # step 1: do = 60*c1 = 180; di = 132*3 = 396, df = 132*c0 = 0, dg = 132*1 = 132
    #         dz1 = [396, 0, 132, 180]
    # kernel = 1*dz1 + 2*dz2; recurrent = h0*dz1 + h1*dz2 = 6*dz2; bias = dz1 + dz2
    # grad_x = kernel . dz: 396 + 0 + 396 + 180 = 972 and 36 + 18 + 72 + 108 = 234
    np.testing.assert_array_equal(grad_x, [[[972.0], [234.0]]])
    np.testing.assert_array_equal(layer.grads["kernel"], [[468.0, 18.0, 180.0, 396.0]])
    np.testing.assert_array_equal(layer.grads["recurrent_kernel"],
                                  [[216.0, 54.0, 144.0, 648.0]])
    np.testing.assert_array_equal(layer.grads["bias"], [432.0, 9.0, 156.0, 288.0])


def test_gru_hand_worked_example():
    layer = _linear_cell(GRU, [[1, 1, 2]], [[1, 1, 1]], [[1, 0, 0], [0, 0, 1]])
    x = np.array([[[1.0], [2.0]]])
    # Blocks (z, r, h); bias rows: input, recurrent.
    # step 1: xz = [1,1,2] + [1,0,0] = [2,1,2]; hz = 0*[1,1,1] + [0,0,1] = [0,0,1]
    #         z = 2, r = 1, cand = 2 + 1*1 = 3; h1 = 2*0 + (1-2)*3 = -3
    # step 2: xz = [2,2,4] + [1,0,0] = [3,2,4]; hz = -3*[1,1,1] + [0,0,1] = [-3,-3,-2]
    #         z = 0, r = -1, cand = 4 + (-1)(-2) = 6; h2 = 0*(-3) + 1*6 = 6
    np.testing.assert_array_equal(layer(x), [[6.0]])
    grad_x = layer.backward(np.array([[1.0]]))
    # step 2: dz = h1 - cand = -9; dcand = 1 - z = 1; dr = dcand*hz_h = -2;
    #         d(hz) = [-9, -2, dcand*r = -1]; dh1 = z*1 + (-9 - 2 - 1) = -12
    # step 1: dz = -12*(0 - 3) = 36; dcand = -12*(1 - 2) = 12; dr = 12*1 = 12;
    #         d(hz) = [36, 12, 12*r = 12]
    # kernel = 1*[36,12,12] + 2*[-9,-2,1]; recurrent = h1*[-9,-2,-1]
    # bias = [sum of d(xz), sum of d(hz)]; grad_x = kernel . d(xz) = 72 and -9
    np.testing.assert_array_equal(grad_x, [[[72.0], [-9.0]]])
    np.testing.assert_array_equal(layer.grads["kernel"], [[18.0, 8.0, 14.0]])
    np.testing.assert_array_equal(layer.grads["recurrent_kernel"], [[27.0, 6.0, 3.0]])
    np.testing.assert_array_equal(layer.grads["bias"], [[27.0, 10.0, 13.0],
                                                       [27.0, 10.0, 11.0]])


def test_gru_without_reset_after_hand_worked_example():
    layer = _linear_cell(GRU, [[1, 1, 2]], [[1, 1, 1]], [1, 0, 0], reset_after=False)
    x = np.array([[[1.0], [2.0]]])
    # step 1: z = 2, r = 1, cand = 2 + (1*0)*1 = 2; h1 = (1-2)*2 = -2
    # step 2: z = 3 - 2 = 1, r = 2 - 2 = 0, cand = 4 + (0*(-2))*1 = 4; h2 = 1*(-2) + 0*4 = -2
    np.testing.assert_array_equal(layer(x), [[-2.0]])


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("cls, kwargs", VARIANTS)
def test_pre_and_post_padding_give_the_same_final_state(cls, kwargs, return_sequences, rng):
    real = rng.standard_normal((4, 3, 2)).astype(np.float32)
    pre, post = np.zeros((4, 7, 2), np.float32), np.zeros((4, 7, 2), np.float32)
    pre[:, 4:], post[:, :3] = real, real
    # Padding values are never read: fill them with noise to prove it.
    pre[:, :4] = rng.standard_normal((4, 4, 2))
    post[:, 3:] = rng.standard_normal((4, 4, 2))
    real_steps = np.zeros((4, 7), dtype=bool)
    real_steps[:, 4:] = True
    layer = cls(5, return_sequences=return_sequences, **kwargs)
    out_pre = layer(pre, mask=real_steps)
    out_post = layer(post, mask=real_steps[:, ::-1])
    unpadded = layer.forward(real)
    if return_sequences:
        np.testing.assert_array_equal(out_pre[:, :4], 0.0)       # nothing seen yet
        np.testing.assert_array_equal(out_post[:, 3:], out_post[:, 2:3].repeat(4, axis=1))
        np.testing.assert_array_equal(out_pre[:, 4:], unpadded)
        out_pre, out_post, unpadded = out_pre[:, -1], out_post[:, -1], unpadded[:, -1]
    np.testing.assert_array_equal(out_pre, out_post)
    np.testing.assert_array_equal(out_pre, unpadded)


@pytest.mark.parametrize("cls, kwargs", VARIANTS)
def test_masked_model_ignores_padding_in_training_too(cls, kwargs, rng):
    x = rng.integers(1, 20, size=(6, 4))
    pre, post = np.zeros((6, 9), dtype=int), np.zeros((6, 9), dtype=int)
    pre[:, 5:], post[:, :4] = x, x
    models = []
    for ids in (pre, post):
        nnlite.set_seed(3)
        model = nnlite.Sequential([Embedding(20, 4, mask_zero=True), cls(5, **kwargs),
                                   Dense(1, activation="sigmoid")], input_shape=(9,))
        model.compile(loss="binary_crossentropy", optimizer="adam")
        model.fit(ids, np.arange(6) % 2, epochs=2, batch_size=3, shuffle=False, verbose=0)
        models.append(model)
    for a, b in zip(models[0].get_weights(), models[1].get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(models[0].predict(pre), models[1].predict(post),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls, kwargs", VARIANTS)
def test_per_step_targets_at_padded_steps_do_not_count(cls, kwargs, float64, rng):
    # The mask goes on with return_sequences to the loss, which leaves padded positions
    # out: their targets may be anything. (Dense drops a mask, so the recurrent layer is
    # the output here.)
    model = nnlite.Sequential([Embedding(9, 3, mask_zero=True),
                               cls(2, return_sequences=True, **kwargs)])
    model.compile(loss="mse", optimizer="sgd")
    x = rng.integers(1, 9, size=(3, 6))
    x[0, 4:], x[1, :2] = 0, 0
    y = rng.standard_normal((3, 6, 2))
    model.build(x.shape[1:])
    # Small embeddings make the recurrent kernel's gradient small: a wider step keeps the
    # finite differences' round-off below the tolerance.
    assert nnlite.gradcheck(model, x, y, eps=1e-5) < 1e-6
    loss = model.compute_loss(x, y)
    model.compute_gradients(x, y)
    grads = [g.copy() for layer in model.layers for g in layer.grads.values()]
    y[x == 0] = 1e3
    assert model.compute_loss(x, y) == loss
    model.compute_gradients(x, y)
    for expected, layer_grad in zip(grads, [g for layer in model.layers
                                            for g in layer.grads.values()], strict=True):
        np.testing.assert_array_equal(layer_grad, expected)


def test_compute_mask_goes_on_only_with_sequences():
    mask = np.ones((2, 3), dtype=bool)
    assert LSTM(2, return_sequences=True).compute_mask(np.ones((2, 3, 1)), mask) is mask
    assert GRU(2).compute_mask(np.ones((2, 3, 1)), mask) is None
    assert SimpleRNN(2).compute_mask(np.ones((2, 3, 1)), None) is None


def test_all_padded_sample_stays_at_zero(rng):
    layer = LSTM(3, return_sequences=True)
    mask = np.array([[False] * 4, [True] * 4])
    out = layer(rng.standard_normal((2, 4, 2)).astype(np.float32), mask=mask)
    np.testing.assert_array_equal(out[0], 0.0)
    assert np.all(out[1] != 0.0)


@pytest.mark.parametrize("cls, kwargs", GATED)
def test_gated_skip_input_gradient(cls, kwargs, rng):
    layer = cls(3, **kwargs)
    assert layer.skips_input_grad and layer.supports_masking
    x = rng.standard_normal((2, 4, 2)).astype(np.float32)
    grad = np.ones((2, 3), dtype=np.float32)
    layer(x)
    assert layer.backward(grad).shape == x.shape
    expected = {key: g.copy() for key, g in layer.grads.items()}
    assert layer.backward(grad, input_grad=False) is None
    for key, g in expected.items():
        np.testing.assert_array_equal(layer.grads[key], g)


def test_gradcheck_catches_a_cell_state_that_forgets_its_past(float64, rng):
    class NoCellCarry(LSTM):
        # The cell state's gradient stops at each step (the c_{t-1} path is dropped), a
        # plausible slip when the output path h_t looks like the only recurrence.
        def _step_backward(self, s, *args):
            grads = super()._step_backward(s, *args)
            return grads if s == 1 else [grads[0], np.zeros_like(grads[1])]

    assert nnlite.gradcheck(NoCellCarry(3), rng.standard_normal((2, 1, 2))) < 1e-6
    assert nnlite.gradcheck(NoCellCarry(3), rng.standard_normal((2, 5, 2))) > 1e-3


def test_gradcheck_catches_a_backward_that_ignores_the_mask(float64, rng):
    class MaskOnlyForward(GRU):
        # Backward treats padded steps as real: their gates get gradients, and the state's
        # gradient does not jump over them.
        def forward(self, x, training=False, mask=None):
            out = super().forward(x, training, mask)
            self._cache = (*self._cache[:-1], None)
            return out

    x = rng.standard_normal((3, 5, 2))
    assert nnlite.gradcheck(MaskOnlyForward(3), x) < 1e-6
    assert nnlite.gradcheck(_with_mask(MaskOnlyForward(3), MASK), x) > 1e-3


def test_lstm_forget_bias_starts_at_one():
    layer = LSTM(3)
    layer.build((4, 2))
    np.testing.assert_array_equal(layer.params["bias"], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    plain = LSTM(3, unit_forget_bias=False)
    plain.build((4, 2))
    np.testing.assert_array_equal(plain.params["bias"], 0.0)


def test_gated_parameter_shapes():
    shapes = {}
    for name, layer in [("lstm", LSTM(4)), ("gru", GRU(4)), ("gru1", GRU(4, reset_after=False))]:
        layer.build((6, 3))
        shapes[name] = {k: v.shape for k, v in layer.params.items()}
    assert shapes["lstm"] == {"kernel": (3, 16), "recurrent_kernel": (4, 16), "bias": (16,)}
    assert shapes["gru"] == {"kernel": (3, 12), "recurrent_kernel": (4, 12), "bias": (2, 12)}
    assert shapes["gru1"]["bias"] == (12,)


def test_gated_repr_and_config():
    assert repr(LSTM(8)) == ("LSTM(units=8, activation='tanh', return_sequences=False, "
                             "use_bias=True, kernel_initializer='glorot_uniform', "
                             "recurrent_initializer='orthogonal', recurrent_activation="
                             "'sigmoid', unit_forget_bias=True)")
    assert repr(GRU(8, reset_after=False)) == (
        "GRU(units=8, activation='tanh', return_sequences=False, use_bias=True, "
        "kernel_initializer='glorot_uniform', recurrent_initializer='orthogonal', "
        "recurrent_activation='sigmoid', reset_after=False)")
    for layer in (LSTM(3, unit_forget_bias=False, return_sequences=True),
                  GRU(2, recurrent_activation="tanh", use_bias=False)):
        assert type(layer)(**layer.get_config()).get_config() == layer.get_config()


@pytest.mark.parametrize("cls, kwargs", GATED)
def test_gated_save_load_round_trip(cls, kwargs, tmp_path, rng):
    model = nnlite.Sequential([Embedding(30, 6, mask_zero=True),
                               cls(5, return_sequences=True, **kwargs), cls(4, **kwargs),
                               Dense(1, activation="sigmoid")], input_shape=(7,))
    model.compile(loss="binary_crossentropy", optimizer="adam")
    x = rng.integers(0, 30, size=(20, 7))
    model.fit(x, rng.integers(0, 2, size=20), epochs=1, verbose=0)
    model.save(tmp_path / "gated.nnlite")
    loaded = nnlite.load_model(tmp_path / "gated.nnlite")
    assert [layer.get_config() for layer in loaded.layers] == [
        layer.get_config() for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_gated_bad_units(cls):
    with pytest.raises(ValueError, match=f"{cls.__name__}: units must be a positive int, "
                                         "got -1"):
        cls(-1)


def test_gated_unknown_recurrent_activation():
    with pytest.raises(ValueError, match="Unknown activation 'sigmoud'.*Did you mean 'sigmoid'"):
        LSTM(2, recurrent_activation="sigmoud")


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_gated_input_not_3d(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__} 'cell' expects input of shape "
                                         r"\(batch, timesteps, features\).*got shape \(4,\)"):
        cls(2, name="cell")(np.ones(4))


def test_gated_feature_size_differs_from_build():
    layer = GRU(2, name="gru_a")
    layer(np.ones((1, 5, 3)))
    with pytest.raises(ValueError, match=r"GRU 'gru_a' was built for 3 input features, got "
                                         r"input of shape \(1, 5, 2\)"):
        layer(np.ones((1, 5, 2)))


def test_mask_of_the_wrong_shape():
    layer = LSTM(2, name="lstm_a")
    with pytest.raises(ValueError, match=r"LSTM 'lstm_a': mask must have shape \(batch, "
                                         r"timesteps\) = \(2, 5\).*got shape \(2, 4\)"):
        layer(np.ones((2, 5, 3)), mask=np.ones((2, 4), dtype=bool))
    assert not layer.built and not layer.params        # the failed call built nothing


def test_gated_backward_before_forward():
    with pytest.raises(RuntimeError, match=r"LSTM 'idle': backward\(\) called before"):
        LSTM(2, name="idle").backward(np.ones((1, 2)))


# ---- the LSTM example and the masking docs -----------------------------------------------

def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lstm_example_learns_the_marker_order():
    example = _load(LSTM_EXAMPLE, "lstm_sequences_example")
    # A small configuration of the example (its main() trains on longer sequences).
    _, post, pre = example.train("LSTM", n_train=1000, max_length=30, epochs=8, seed=0)
    assert post >= 0.95
    assert pre == post            # the mask makes the side of the padding irrelevant


def test_lstm_example_data_is_padded_on_the_asked_side():
    example = _load(LSTM_EXAMPLE, "lstm_sequences_example")
    post, y = example.make_data(50, min_length=3, max_length=8, seed=4)
    pre, y_pre = example.make_data(50, min_length=3, max_length=8, padding="pre", seed=4)
    np.testing.assert_array_equal(y, y_pre)
    for a, b, label in zip(post, pre, y, strict=True):
        length = np.count_nonzero(a)
        assert 3 <= length <= 8
        np.testing.assert_array_equal(a[:length], b[b.size - length:])  # same tokens
        assert not a[length:].any() and not b[:b.size - length].any()  # zeros: the padding
        assert (list(a).index(1) < list(a).index(2)) == label


def test_layers_doc_masking_example(capsys):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "layers.md").read_text(),
                        re.S)
    (block,) = [b for b in blocks if "mask_zero=True" in b]
    namespace = {}
    exec(block, namespace)
    model = namespace["model"]
    np.testing.assert_array_equal(model.predict(namespace["post"]),
                                  model.predict(namespace["pre"]))
    assert capsys.readouterr().out
