"""The training loop's promises: reused layers learn, callbacks always clean up, and the
model plans passes from the layers' declared capabilities, never from their classes."""

import ast
import csv
from pathlib import Path

import numpy as np
import pytest

import nnlite
from nnlite import losses
from nnlite.callbacks import Callback, CSVLogger, EarlyStopping
from nnlite.layers import Dense


def _data(rng, n=64):
    x = rng.standard_normal((n, 8)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return x, y


def test_a_layer_reused_from_a_trained_model_still_learns(rng):
    x, y = _data(rng)
    base = nnlite.Sequential([Dense(16, activation="relu"), Dense(2, activation="softmax")],
                             input_shape=(8,))
    base.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    base.fit(x, y, epochs=1, verbose=0)
    reused = base.layers[0]
    new = nnlite.Sequential([Dense(8, activation="relu"), reused,
                             Dense(2, activation="softmax")], input_shape=(8,))
    new.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    first, second = (layer.params["kernel"].copy() for layer in new.layers[:2])
    new.fit(x, y, epochs=3, verbose=0)
    assert not np.array_equal(new.layers[0].params["kernel"], first)
    assert not np.array_equal(new.layers[1].params["kernel"], second)


def test_a_reused_layer_gives_the_same_input_gradient_as_a_fresh_copy(float64, rng):
    x, y = rng.standard_normal((5, 8)), rng.integers(0, 2, 5)
    base = nnlite.Sequential([Dense(6, activation="tanh"), Dense(2, activation="softmax")],
                             input_shape=(8,))
    base.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    base.fit(x, y, epochs=1, verbose=0)          # the layer was first in a model that trained
    reused = base.layers[0]
    fresh = Dense(6, activation="tanh")
    fresh.build((8,))
    for key in reused.params:
        fresh.params[key][...] = reused.params[key]
    grad = rng.standard_normal((5, 6))
    reused(x, training=True)
    fresh(x, training=True)
    np.testing.assert_array_equal(reused.backward(grad), fresh.backward(grad))
    assert nnlite.gradcheck(reused, x) < 1e-6


class _Raises(Callback):
    def __init__(self, error, at_epoch):
        super().__init__()
        self.error, self.at_epoch = error, at_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise self.error


class _ScriptedLoss(Callback):
    """Logs a made-up val_loss per epoch so that the best epoch is known in advance."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def _fit_until(error, tmp_path, rng):
    x, y = _data(rng)
    model = nnlite.Sequential([Dense(4, activation="relu"), Dense(2, activation="softmax")],
                              input_shape=(8,))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights())

    log = CSVLogger(tmp_path / "log.csv")
    stopper = EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    callbacks = [_ScriptedLoss([3.0, 1.0, 2.0, 2.5]), Snapshot(), stopper, log,
                 _Raises(error, at_epoch=2)]
    return model, callbacks, snapshots, log, x, y


def test_on_train_end_runs_when_a_callback_raises(tmp_path, rng):
    model, callbacks, snapshots, log, x, y = _fit_until(RuntimeError("boom"), tmp_path, rng)
    with pytest.raises(RuntimeError, match="boom"):
        model.fit(x, y, epochs=4, verbose=0, callbacks=callbacks)
    assert log._file is None                       # closed
    with open(tmp_path / "log.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"]  # every epoch that ended
    for restored, best in zip(model.get_weights(), snapshots[1], strict=True):
        np.testing.assert_array_equal(restored, best)   # epoch 2 had the best val_loss


def test_keyboard_interrupt_in_a_callback_counts_as_ctrl_c(tmp_path, rng):
    model, callbacks, snapshots, log, x, y = _fit_until(KeyboardInterrupt(), tmp_path, rng)
    with pytest.warns(UserWarning, match="interrupted"):
        history = model.fit(x, y, epochs=4, verbose=0, callbacks=callbacks)
    assert len(history.history["loss"]) == 2
    assert log._file is None
    for restored, best in zip(model.get_weights(), snapshots[1], strict=True):
        np.testing.assert_array_equal(restored, best)


def test_callbacks_receive_the_runs_parameters(rng):
    x, y = _data(rng)
    seen = {}

    class Record(Callback):
        def on_train_begin(self, logs=None):
            seen.update(self.params)

    model = nnlite.Sequential([Dense(2, activation="softmax")], input_shape=(8,))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["acc"])
    model.fit(x, y, epochs=3, batch_size=10, validation_split=0.25, verbose=0,
              callbacks=[Record()])
    assert seen == {"epochs": 3, "steps": 5, "verbose": 0, "batch_size": 10, "samples": 48,
                    "do_validation": True, "metrics": ["loss", "accuracy"]}


def test_model_module_imports_no_concrete_layer_class():
    source = Path(nnlite.__file__).with_name("model.py").read_text()
    imported = {alias.name for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.ImportFrom) and "layers" in (node.module or "")
                for alias in node.names}
    assert imported <= {"Layer", "get_layer_class"}


class _Watched(Dense):
    """A Dense that records every attribute set on it from nnlite/model.py."""

    writes_from_model: list = []

    def __setattr__(self, name, value):
        import inspect

        caller = inspect.stack()[1].filename
        if caller.endswith("model.py"):
            _Watched.writes_from_model.append(name)
        super().__setattr__(name, value)


def test_the_model_writes_no_layer_attribute_during_fit(rng):
    x, y = _data(rng)
    layers = [_Watched(4, activation="relu", name="w1"), _Watched(2, name="w2")]
    model = nnlite.Sequential(layers, input_shape=(8,))
    model.compile(optimizer="adam", loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    _Watched.writes_from_model.clear()
    model.fit(x, y, epochs=2, verbose=0)
    model.predict(x)
    assert _Watched.writes_from_model == []


def test_a_user_class_cannot_replace_a_built_in_layer_when_loading():
    from nnlite.layers import get_layer_class

    class Dense(nnlite.layers.Layer):
        pass

    assert get_layer_class("Dense") is nnlite.layers.Dense


def test_import_nnlite_loads_no_heavy_dependency():
    import subprocess
    import sys

    code = ("import sys, nnlite; print(','.join(m for m in ('pandas', 'sklearn', 'scipy', "
            "'matplotlib', 'tqdm') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == ""


def test_a_mask_reaches_the_loss_through_dense_and_padded_steps_are_ignored(rng):
    from nnlite.layers import LSTM, Dropout, Embedding

    ids = rng.integers(1, 9, (6, 5))
    ids[:3, 3:] = 0                                   # post-padding on half the rows
    targets = rng.integers(0, 3, (6, 5))
    other = targets.copy()
    other[ids == 0] = (other[ids == 0] + 1) % 3       # change only the padded steps' targets
    model = nnlite.Sequential([Embedding(9, 4, mask_zero=True),
                               LSTM(5, return_sequences=True), Dropout(0.2),
                               Dense(3, activation="softmax")], input_shape=(5,))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert model.compute_loss(ids, targets) == model.compute_loss(ids, other)
    real = targets.copy()
    real[ids != 0] = (real[ids != 0] + 1) % 3         # a real step's target does count
    assert model.compute_loss(ids, targets) != model.compute_loss(ids, real)


def test_metrics_count_real_steps_only(rng):
    from nnlite.layers import LSTM, Embedding

    ids = rng.integers(1, 9, (8, 6))
    ids[:4, 2:] = 0
    model = nnlite.Sequential([Embedding(9, 4, mask_zero=True), LSTM(5, return_sequences=True),
                               Dense(3, activation="softmax")], input_shape=(6,))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    predicted = model.predict(ids).argmax(axis=-1)
    right = predicted.copy()
    right[ids == 0] = (right[ids == 0] + 1) % 3      # every padded step's target is wrong
    assert model.evaluate(ids, right)["accuracy"] == 1.0
    history = model.fit(ids, right, epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert 0.0 <= history.history["accuracy"][0] <= 1.0
