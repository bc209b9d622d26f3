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


@pytest.mark.parametrize("make", [
    lambda: optimizers.Adam(learning_rate=np.float32(0.1), beta_1=np.float64(0.8),
                            beta_2=np.float32(0.99), epsilon=np.float64(1e-6)),
    lambda: optimizers.SGD(learning_rate=np.float16(0.5), momentum=np.float32(0.5),
                           weight_decay=np.int64(0)),
    lambda: optimizers.RMSprop(learning_rate=np.int32(1), rho=np.float32(0.5)),
])
def test_numpy_scalars_are_accepted_and_stored_as_python_floats(make):
    opt = make()
    assert all(type(v) is float for k, v in opt.get_config().items() if k != "nesterov")
    layer = one_param_layer(1.0, 2.0, dtype="float32")
    opt.step([layer])
    assert layer.params["kernel"].dtype == np.float32


@pytest.mark.parametrize(("make", "message"), [
    (lambda: optimizers.SGD(learning_rate=True), r"SGD: learning_rate .* got True"),
    (lambda: optimizers.Adam(beta_1=False), r"Adam: beta_1 must be in \[0, 1\)"),
    (lambda: optimizers.Adam(learning_rate=np.float32("nan")), "learning_rate .* got"),
    (lambda: optimizers.RMSprop(epsilon=float("inf")), "epsilon must be a positive float"),
    (lambda: optimizers.RMSprop(rho=1.0), r"rho must be in \[0, 1\), got 1\.0"),
    (lambda: optimizers.SGD(momentum=np.float64(-0.5)), r"momentum must be in \[0, 1\)"),
    (lambda: optimizers.SGD(weight_decay=-1), "weight_decay must be a non-negative float"),
])
def test_bools_and_non_finite_hyperparameters_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def two_param_layers(rng):
    layer = Dense(3, dtype="float32", name="d")
    layer.build((4,))
    twin = Dense(3, dtype="float32", name="d")
    twin.build((4,))
    for key, value in layer.params.items():
        value[...] = rng.standard_normal(value.shape)
        twin.params[key][...] = value
    return layer, twin


def set_grads(layers, rng):
    grads = {k: rng.standard_normal(p.shape).astype(np.float32)
             for k, p in layers[0].params.items()}
    for layer in layers:
        layer.grads = {k: g.copy() for k, g in grads.items()}


@pytest.mark.parametrize("make", [lambda: optimizers.SGD(0.1, momentum=0.9),
                                  lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                                  lambda: optimizers.Adam(0.01), lambda: optimizers.RMSprop()])
def test_set_state_continues_exactly_where_get_state_left(make, rng):
    layer, twin = two_param_layers(rng)
    first = make()
    for _ in range(3):
        set_grads([layer], rng)
        first.step([layer])
    for key, value in layer.params.items():
        twin.params[key][...] = value
    second = make()
    second.set_state(first.get_state(), layers=[twin])
    assert second.iterations == 3
    for _ in range(3):
        set_grads([layer, twin], rng)
        first.step([layer])
        second.step([twin])
    for key in layer.params:
        np.testing.assert_array_equal(twin.params[key], layer.params[key])


def test_get_state_lists_the_slots_and_returns_copies(rng):
    layer, _ = two_param_layers(rng)
    opt = optimizers.Adam()
    set_grads([layer], rng)
    opt.step([layer])
    state = opt.get_state()
    assert state["iterations"] == 1 and state["learning_rate"] == 0.001
    assert set(state["slots"]) == {("d", "kernel"), ("d", "bias")}
    assert set(state["slots"][("d", "kernel")]) == {"m", "v"}
    state["slots"][("d", "kernel")]["m"][...] = 99.0
    assert not np.any(opt.state[("d", "kernel")]["m"] == 99.0)


def test_slot_names():
    assert optimizers.SGD().slot_names == ()
    assert optimizers.SGD(momentum=0.5).slot_names == ("velocity",)
    assert optimizers.Adam.slot_names == ("m", "v")
    assert optimizers.RMSprop.slot_names == ("v",)


def _state(slots, iterations=1, learning_rate=0.1):
    return {"iterations": iterations, "learning_rate": learning_rate, "slots": slots}


@pytest.mark.parametrize(("state", "error", "message"), [
    (_state({}, iterations=-1), ValueError, "iterations must be a non-negative int, got -1"),
    (_state({}, iterations=True), ValueError, "iterations must be a non-negative int"),
    (_state({}, learning_rate=0.0), ValueError, "learning_rate must be a positive float"),
    (_state({("d", "kernel"): {"w": np.zeros((4, 3), np.float32)}}), ValueError,
     r"unknown slot 'w'.*keeps \['m', 'v'\]"),
    (_state({("e", "kernel"): {"m": np.zeros((4, 3), np.float32)}}), ValueError,
     r"names param \('e', 'kernel'\), which the model does not have"),
    (_state({("d", "kernel"): {"m": np.zeros((3, 4), np.float32)}}), ValueError,
     r"must have shape \(4, 3\) and dtype float32, got \(3, 4\) float32"),
    (_state({("d", "kernel"): {"m": np.zeros((4, 3), np.float64)}}), ValueError,
     "got .* float64"),
    (_state({("d", "kernel"): {"m": np.full((4, 3), np.nan, np.float32)}}), ValueError,
     "must hold finite floats"),
    (_state({("d", "kernel"): [1, 2]}), TypeError, "must be a dict, got list"),
    ([], TypeError, "expected the dict get_state"),
])
def test_set_state_refuses_what_does_not_fit(state, error, message, rng):
    layer, _ = two_param_layers(rng)
    opt = optimizers.Adam()
    with pytest.raises(error, match=message):
        opt.set_state(state, layers=[layer])
    assert opt.iterations == 0 and opt.state == {}
