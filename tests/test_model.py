import os
import signal

import numpy as np
import pytest

import nnlite
from nnlite import losses, metrics, optimizers
from nnlite.callbacks import Callback
from nnlite.layers import Activation, Dense, Dropout

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float32)


def mlp(out=1, out_activation="sigmoid", hidden=8, inputs=2, **kwargs):
    return nnlite.Sequential([Dense(hidden, activation="tanh"),
                              Dense(out, activation=out_activation)],
                             input_shape=(inputs,), **kwargs)


@pytest.mark.parametrize(("optimizer", "epochs", "max_loss"), [
    (optimizers.SGD(learning_rate=0.5), 1500, 0.05),
    (optimizers.SGD(learning_rate=0.2, momentum=0.9), 500, 0.02),
    (optimizers.SGD(learning_rate=0.2, momentum=0.9, nesterov=True), 500, 0.02),
    (optimizers.Adam(learning_rate=0.05), 500, 0.02),
    (optimizers.RMSprop(learning_rate=0.02), 500, 0.05),
])
def test_learns_xor(optimizer, epochs, max_loss):
    model = mlp()
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(XOR_X, XOR_Y, epochs=epochs, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < max_loss < history.history["loss"][0]
    assert history.history["accuracy"][-1] == 1.0
    np.testing.assert_array_equal(model.predict(XOR_X) > 0.5, XOR_Y > 0.5)


@pytest.mark.parametrize(("optimizer", "max_loss"), [
    (optimizers.SGD(learning_rate=0.1, momentum=0.9), 0.01),
    (optimizers.Adam(learning_rate=0.01), 0.01),
])
def test_learns_a_regression(optimizer, max_loss, rng):
    x = rng.uniform(-1, 1, size=(256, 3)).astype(np.float32)
    y = (np.sin(2 * x[:, :1]) + x[:, 1:2] * x[:, 2:3]).astype(np.float32)
    model = nnlite.Sequential([Dense(32, activation="tanh"), Dense(1)], input_shape=(3,))
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=150, batch_size=32, verbose=0)
    # The target's variance is about 0.46: the model must explain nearly all of it.
    assert history.history["loss"][0] > 0.1
    assert history.history["loss"][-1] < max_loss
    assert model.evaluate(x, y)["mae"] < 0.08


MODEL_CASES = [
    ("mse", "linear", 2, lambda r, n: r.standard_normal((n, 2))),
    ("binary_crossentropy", "sigmoid", 1, lambda r, n: r.integers(0, 2, (n, 1))),
    ("categorical_crossentropy", "softmax", 3, lambda r, n: np.eye(3)[r.integers(0, 3, n)]),
    ("sparse_categorical_crossentropy", "softmax", 3, lambda r, n: r.integers(0, 3, n)),
    (losses.BinaryCrossentropy(from_logits=True), "linear", 1,
     lambda r, n: r.integers(0, 2, (n, 1))),
    (losses.SparseCategoricalCrossentropy(from_logits=True), "linear", 3,
     lambda r, n: r.integers(0, 3, n)),
]


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: str(c[0]))
@pytest.mark.parametrize("batch", [1, 5])
def test_three_layer_model_gradcheck(case, batch, float64, rng):
    loss, out_activation, units, make_y = case
    model = nnlite.Sequential([Dense(6, activation="tanh"), Dense(5, activation="elu"),
                               Dense(units, activation=out_activation)], input_shape=(4,))
    model.compile(optimizer="sgd", loss=loss)
    x = rng.standard_normal((batch, 4))
    assert nnlite.gradcheck(model, x, make_y(rng, batch)) < 1e-6


@pytest.mark.parametrize("case", MODEL_CASES[1:4], ids=lambda c: str(c[0]))
def test_fused_gradient_equals_chained_gradient(case, float64, rng):
    loss, out_activation, units, make_y = case
    model = mlp(out=units, out_activation=out_activation, inputs=3)
    model.compile(optimizer="sgd", loss=loss)
    x, y = rng.standard_normal((6, 3)), make_y(rng, 6)
    weights = rng.uniform(0.5, 2, 6)
    model.compute_gradients(x, y, weights)
    fused = [g.copy() for layer in model.layers for g in layer.grads.values()]
    p = model.forward(x)
    model.backward(model.loss.gradient(y, p, weights))
    chained = [g for layer in model.layers for g in layer.grads.values()]
    for a, b in zip(fused, chained, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def _gradient_when_saturated_and_wrong(layers, loss, y):
    """Kernel gradient for one sample whose output activation saturates on the wrong answer.

    There the chained derivative (loss, then activation) is exactly 0, and only the fused
    ``p - y`` gradient still points the right way: a public sign of which path ran.
    """
    model = nnlite.Sequential(layers, input_shape=(1,))
    model.compile(optimizer="sgd", loss=loss)
    kernel = model.layers[0].params["kernel"]
    kernel[...] = np.linspace(-900.0, 900.0, kernel.size).reshape(kernel.shape)
    model.compute_gradients(np.ones((1, 1)), y)
    return np.abs(model.layers[0].grads["kernel"]).sum()


@pytest.mark.parametrize("layers, loss, y, fused", [
    (lambda: [Dense(1, activation="sigmoid")], "binary_crossentropy", [[1.0]], True),
    (lambda: [Dense(2, activation="softmax")], "sparse_categorical_crossentropy", [0], True),
    (lambda: [Dense(2, activation="softmax")], "categorical_crossentropy", [[1.0, 0.0]], True),
    (lambda: [Dense(2), Activation("softmax")], "sparse_categorical_crossentropy", [0], True),
    (lambda: [Dense(2, activation="softmax")], "binary_crossentropy", [[1.0, 0.0]], False),
    (lambda: [Dense(1, activation="sigmoid")], "mse", [[1.0]], False),
    (lambda: [Dense(1, activation="sigmoid")], losses.BinaryCrossentropy(from_logits=True),
     [[1.0]], False),
])
def test_fusion_applies_only_to_matching_pairs(layers, loss, y, fused, float64):
    assert bool(_gradient_when_saturated_and_wrong(layers(), loss, np.array(y)) > 0) is fused


def test_weight_two_equals_repeating_the_row(float64, rng):
    x, y = rng.standard_normal((4, 2)), rng.integers(0, 2, (4, 1))
    model = mlp()
    model.compile(loss="binary_crossentropy")
    model.compute_gradients(x, y, np.array([2.0, 1.0, 1.0, 1.0]))
    weighted = [g.copy() for layer in model.layers for g in layer.grads.values()]
    model.compute_gradients(np.vstack([x, x[:1]]), np.vstack([y, y[:1]]))
    repeated = [g for layer in model.layers for g in layer.grads.values()]
    for a, b in zip(weighted, repeated, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_class_weight_is_per_sample_weight(rng):
    x = rng.standard_normal((40, 2)).astype(np.float32)
    y = rng.integers(0, 2, 40)

    def run(**kwargs):
        nnlite.set_seed(3)
        model = nnlite.Sequential([Dense(2, activation="softmax")], input_shape=(2,))
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        return model.fit(x, y, epochs=2, verbose=0, **kwargs).history["loss"], model

    loss_a, model_a = run(class_weight={0: 1.0, 1: 3.0})
    loss_b, model_b = run(sample_weight=np.where(y == 1, 3.0, 1.0))
    assert loss_a == loss_b
    for a, b in zip(model_a.get_weights(), model_b.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses(rng):
    x = rng.standard_normal((10, 2)).astype(np.float32)
    y = rng.standard_normal((10, 1)).astype(np.float32)
    w = rng.uniform(0.5, 2.0, 10).astype(np.float32)
    nnlite.set_seed(0)
    model = nnlite.Sequential([Dense(1)], input_shape=(2,))
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()
    history = model.fit(x, y, epochs=1, batch_size=4, shuffle=False, sample_weight=w,
                        verbose=0)
    # Replay the same batches by hand.
    model.set_weights(before)
    model.optimizer = optimizers.SGD()
    expected_sum = 0.0
    for start in (0, 4, 8):
        part = slice(start, start + 4)
        expected_sum += model.train_on_batch(x[part], y[part], w[part]) * w[part].sum()
    assert history.history["loss"][0] == pytest.approx(expected_sum / w.sum(), rel=1e-6)


def test_shuffle_false_replays_train_on_batch(rng):
    x = rng.standard_normal((12, 3)).astype(np.float32)
    y = rng.integers(0, 3, 12)
    nnlite.set_seed(5)
    a = nnlite.Sequential([Dense(4, activation="relu"), Dense(3, activation="softmax")],
                          input_shape=(3,))
    a.compile(optimizer=optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
    start = a.get_weights()
    a.fit(x, y, epochs=2, batch_size=5, shuffle=False, verbose=0)
    b = nnlite.Sequential([Dense(4, activation="relu"), Dense(3, activation="softmax")],
                          input_shape=(3,))
    b.set_weights(start)
    b.compile(optimizer=optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
    for _ in range(2):
        for s in range(0, 12, 5):
            b.train_on_batch(x[s:s + 5], y[s:s + 5])
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


def _train_once(seed):
    nnlite.set_seed(seed)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    model = nnlite.Sequential([Dense(8, activation="relu"), Dropout(0.3),
                               Dense(3, activation="softmax")], input_shape=(4,))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    return history.history, model.get_weights(), model.predict(x)


def test_same_seed_gives_identical_runs():
    h1, w1, p1 = _train_once(11)
    h2, w2, p2 = _train_once(11)
    assert h1 == h2
    for a, b in zip(w1, w2, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(p1, p2)
    h3, _, _ = _train_once(12)
    assert h3 != h1


def test_history_has_validation_entries(rng):
    x = rng.standard_normal((30, 2)).astype(np.float32)
    y = rng.integers(0, 2, (30, 1))
    model = mlp()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "mse"])
    history = model.fit(x, y, epochs=3, validation_data=(x[:10], y[:10]), verbose=0)
    assert sorted(history.history) == ["accuracy", "loss", "mse", "val_accuracy", "val_loss",
                                       "val_mse"]
    assert all(len(v) == 3 for v in history.history.values())
    assert history.history["val_loss"][-1] == pytest.approx(
        model.evaluate(x[:10], y[:10])["loss"], rel=1e-6)


def test_validation_split_is_random_and_stratified():
    # The labels are sorted: a tail split would hold only class 2.
    y = np.repeat([0, 1, 2], 20)
    x = np.arange(60, dtype=np.float32).reshape(60, 1)
    model = nnlite.Sequential([Dense(3, activation="softmax")], input_shape=(1,))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    captured = {}

    class Spy(metrics.Metric):
        # Metrics see every batch's targets; the validation batch is the one of 15 rows.
        name = "spy"

        def __call__(self, y_true, y_pred, loss=None):
            captured[len(y_true)] = np.asarray(y_true).reshape(-1)
            return np.zeros(len(y_true))

    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=[Spy()])
    model.fit(x, y, epochs=1, batch_size=60, validation_split=0.25, verbose=0)
    assert np.bincount(captured[15]).tolist() == [5, 5, 5]


def test_ctrl_c_stops_after_the_current_batch(rng):
    x = rng.standard_normal((40, 2)).astype(np.float32)
    y = rng.standard_normal((40, 1)).astype(np.float32)
    snapshots = []

    class Interrupter(Callback):
        def on_batch_end(self, batch, logs=None):
            snapshots.append(self.model.get_weights())
            if len(snapshots) == 7:  # epoch 2 (5 batches an epoch), batch 2
                os.kill(os.getpid(), signal.SIGINT)

    model = nnlite.Sequential([Dense(1)], input_shape=(2,))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(UserWarning, match="interrupted during epoch 2, after batch 2"):
        history = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[Interrupter()])
    assert len(history.history["loss"]) == 1
    assert len(snapshots) == 7
    for a, b in zip(model.get_weights(), snapshots[-1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_nan_loss_stops_with_epoch_and_batch_and_keeps_weights(rng):
    x = rng.standard_normal((40, 2)).astype(np.float32)
    y = rng.standard_normal((40, 1)).astype(np.float32)
    kept = {}

    class Poison(Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 2 and "w" not in kept:
                self.model.layers[0].params["kernel"][0, 0] = np.inf
                kept["w"] = self.model.get_weights()

    model = nnlite.Sequential([Dense(1)], input_shape=(2,))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(FloatingPointError, match=r"loss became (nan|inf) at epoch 1, batch 4"):
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0, callbacks=[Poison()])
    for a, b in zip(model.get_weights(), kept["w"], strict=True):
        np.testing.assert_array_equal(a, b)


def test_predict_and_evaluate_shapes(rng):
    x = rng.standard_normal((600, 3)).astype(np.float32)
    model = mlp(out=2, out_activation="softmax", inputs=3)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    p = model.predict(x, batch_size=256)
    assert p.shape == (600, 2) and p.dtype == np.float32
    np.testing.assert_allclose(p, model.forward(x), rtol=1e-6)
    result = model.evaluate(x, rng.integers(0, 2, 600))
    assert set(result) == {"loss", "accuracy"}


def test_lazy_build_from_first_batch(rng):
    model = nnlite.Sequential([Dense(3, activation="relu"), Dense(1)])
    assert not model.built
    model.compile(optimizer="sgd", loss="mse")
    model.fit(rng.standard_normal((8, 5)), rng.standard_normal(8), epochs=1, verbose=0)
    assert model.built and model.layers[0].params["kernel"].shape == (5, 3)


def test_train_on_batch_returns_loss_before_step(rng):
    x = rng.standard_normal((8, 2)).astype(np.float32)
    y = rng.standard_normal((8, 1)).astype(np.float32)
    model = nnlite.Sequential([Dense(1)], input_shape=(2,))
    model.compile(optimizer="sgd", loss="mse")
    before = model.compute_loss(x, y)
    assert model.train_on_batch(x, y) == pytest.approx(before)
    assert model.compute_loss(x, y) < before


def test_frozen_layer_keeps_weights_and_summary_marks_it(rng):
    model = mlp(inputs=3)
    model.layers[0].trainable = False
    frozen = model.layers[0].params["kernel"].copy()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(rng.standard_normal((16, 3)), rng.integers(0, 2, (16, 1)), epochs=2, verbose=0)
    np.testing.assert_array_equal(model.layers[0].params["kernel"], frozen)
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert "N (frozen)" in text
    assert "Trainable params: 9" in text and "Non-trainable params: 32" in text


def test_summary_table():
    model = nnlite.Sequential([Dense(64, activation="relu", name="hidden"),
                               Dense(10, activation="softmax", name="out")],
                              input_shape=(784,), name="digits")
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert 'Model: "digits"' in text
    assert "hidden (Dense)" in text and "(None, 64)" in text and "50,240" in text
    assert "out (Dense)" in text and "(None, 10)" in text and "650" in text
    assert "Total params: 50,890" in text and "Trainable params: 50,890" in text


def test_get_and_set_weights_round_trip(rng):
    model = mlp()
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(2, 8), (8,), (8, 1), (1,)]
    model.set_weights([w + 1 for w in weights])
    np.testing.assert_array_equal(model.get_weights()[0], weights[0] + 1)
    with pytest.raises(ValueError, match=r"set_weights: the model has 4 weight arrays, got 3"):
        model.set_weights(weights[:3])
    with pytest.raises(ValueError, match=r"'dense_\d+'.kernel has shape \(2, 8\), got \(8, 2\)"):
        model.set_weights([weights[0].T] + weights[1:])


def test_duplicate_layer_names():
    with pytest.raises(ValueError, match="layer name 'a' is used twice"):
        nnlite.Sequential([Dense(2, name="a"), Dense(2, name="a")])


def test_accuracy_kind_follows_the_loss():
    p3 = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], dtype=np.float32)
    p1 = np.array([[0.8], [0.4]], dtype=np.float32)
    cases = [
        ("sparse_categorical_crossentropy", p3, np.array([0, 1]), 0.5),
        ("categorical_crossentropy", p3, np.eye(3)[[0, 2]], 1.0),
        ("binary_crossentropy", p1, np.array([[1], [1]]), 0.5),
        (losses.BinaryCrossentropy(from_logits=True), np.array([[0.5], [-0.5]]),
         np.array([[1], [0]]), 1.0),
    ]
    for loss, pred, y, expected in cases:
        model = nnlite.Sequential([Activation("linear")], input_shape=(pred.shape[1],))
        model.compile(loss=loss, metrics=["accuracy"])
        assert model.evaluate(pred, y)["accuracy"] == expected, loss


def test_mse_and_mae_metrics():
    model = nnlite.Sequential([Activation("linear")], input_shape=(1,))
    model.compile(loss="mse", metrics=["mse", "mae"])
    result = model.evaluate(np.array([[1.0], [3.0]]), np.array([[0.0], [0.0]]))
    assert result == {"loss": 5.0, "mse": 5.0, "mae": 2.0}


def test_skipping_the_input_gradient_leaves_weight_gradients_alone(float64, rng):
    model = mlp(inputs=3)
    model.compile(loss="binary_crossentropy")
    x, y = rng.standard_normal((5, 3)), rng.integers(0, 2, (5, 1))
    assert model.compute_gradients(x, y).shape == (5, 3)
    p = model.forward(x)
    assert model.backward(model.loss.gradient(y, p)).shape == (5, 3)
    full = [g.copy() for layer in model.layers for g in layer.grads.values()]
    assert model.backward(model.loss.gradient(y, p), input_grad=False) is None
    for a, b in zip(full, [g for la in model.layers for g in la.grads.values()], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_float32_training_never_upcasts(optimizer, rng):
    x = rng.standard_normal((20, 3))  # float64 data is cast once to the model's dtype
    y = rng.integers(0, 3, 20)
    model = nnlite.Sequential([Dense(4, activation="gelu"), Dropout(0.2),
                               Dense(3, activation="softmax")], input_shape=(3,))
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=8, sample_weight=np.ones(20), verbose=0)
    for layer in model.layers:
        for key in layer.params:
            assert layer.params[key].dtype == np.float32
            assert layer.grads[key].dtype == np.float32
    assert model.predict(x).dtype == np.float32
    assert all(s.dtype == np.float32 for v in model.optimizer.state.values() for s in v.values())


def test_keras_style_input_shape_on_the_first_layer():
    model = nnlite.Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(2)])
    assert model.built
    assert model.layers[0].params["kernel"].shape == (3, 4)
    assert "input_shape" not in model.layers[0].get_config()


def test_models_are_named_one_after_another_unless_named():
    first, second = nnlite.Sequential(), nnlite.Sequential()
    assert first.name != second.name
    assert second.name.startswith("sequential")
    assert nnlite.Sequential(name="encoder").name == "encoder"
