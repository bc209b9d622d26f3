import csv
import re

import numpy as np
import pytest

import nnlite
from nnlite.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
    ReduceLROnPlateau,
)
from nnlite.layers import Dense


def _model(inputs=4, classes=3, optimizer="sgd"):
    model = nnlite.Sequential([Dense(8, activation="relu"),
                               Dense(classes, activation="softmax")], input_shape=(inputs,))
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _data(rng, n=24, inputs=4, classes=3):
    return rng.normal(size=(n, inputs)).astype(np.float32), rng.integers(0, classes, n)


class Script(Callback):
    """Overwrite ``logs[key]`` with a scripted value per epoch and keep each epoch's weights."""

    def __init__(self, values, key="val_loss"):
        super().__init__()
        self.values, self.key, self.weights = values, key, []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.weights.append(self.model.get_weights())


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")

    def on_batch_end(self, batch, logs=None):
        self.calls.append(f"batch_end {batch} {sorted(logs)}")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end {epoch}")

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


def _same(weights_a, weights_b):
    return all(np.array_equal(a, b) for a, b in zip(weights_a, weights_b, strict=True))


# ---- the protocol ---------------------------------------------------------------------------


def test_hooks_are_called_in_order(rng):
    x, y = _data(rng, n=10)
    recorder = Recorder()
    _model().fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[recorder])
    batch = "batch_end {} ['accuracy', 'loss']"
    assert recorder.calls == ["train_begin", "epoch_begin 0", batch.format(0), batch.format(1),
                              batch.format(2), "epoch_end 0", "epoch_begin 1", batch.format(0),
                              batch.format(1), batch.format(2), "epoch_end 1", "train_end"]


def test_stop_training_ends_fit_after_the_current_epoch(rng):
    class Stopper(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 1

    x, y = _data(rng)
    history = _model().fit(x, y, epochs=10, verbose=0, callbacks=[Stopper()])
    assert history.epoch == [0, 1]


# ---- EarlyStopping --------------------------------------------------------------------------


def test_early_stopping_restores_the_best_epochs_weights(rng):
    x, y = _data(rng)
    model = _model()
    script = Script([3.0, 1.0, 2.0, 2.5, 0.5, 0.1])
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=6, verbose=0, callbacks=[script, stopper])
    # Best at epoch 1; epochs 2 and 3 do not improve, so patience 2 stops after epoch 3.
    assert history.epoch == [0, 1, 2, 3] and stopper.stopped_epoch == 3
    assert stopper.best_epoch == 1 and stopper.best == 1.0
    assert _same(model.get_weights(), script.weights[1])
    assert not _same(model.get_weights(), script.weights[3])


def test_early_stopping_without_restore_keeps_the_last_weights(rng):
    x, y = _data(rng)
    model = _model()
    script = Script([3.0, 1.0, 2.0, 2.5])
    model.fit(x, y, epochs=4, verbose=0,
              callbacks=[script, EarlyStopping(patience=2, restore_best_weights=False)])
    assert _same(model.get_weights(), script.weights[3])
    assert not _same(model.get_weights(), script.weights[1])


def test_early_stopping_restores_weights_of_lowest_real_val_loss(rng):
    # Noise labels and a fast optimizer: the model overfits, so val_loss turns back up.
    x, y = _data(rng, n=40)
    x_val, y_val = _data(rng, n=40)
    model = _model(optimizer=nnlite.optimizers.Adam(learning_rate=0.05))
    keeper = Script([None] * 30, key="unused")
    stopper = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = model.fit(x, y, epochs=30, batch_size=8, validation_data=(x_val, y_val),
                        verbose=0, callbacks=[keeper, stopper])
    best = int(np.argmin(history.history["val_loss"]))
    assert best < len(history.epoch) - 1  # training went on past the best epoch
    assert _same(model.get_weights(), keeper.weights[best])
    np.testing.assert_allclose(model.evaluate(x_val, y_val)["loss"],
                               history.history["val_loss"][best], rtol=1e-5)


def test_patience_zero_stops_at_the_first_epoch_without_improvement(rng):
    x, y = _data(rng)
    history = _model().fit(x, y, epochs=5, verbose=0,
                           callbacks=[Script([2.0, 1.0, 1.0, 0.5, 0.1]), EarlyStopping()])
    assert history.epoch == [0, 1, 2]


def test_mode_max_and_min_delta(rng):
    x, y = _data(rng)
    stopper = EarlyStopping(monitor="val_accuracy", patience=2, min_delta=0.05)
    assert stopper.mode == "max"
    history = _model().fit(x, y, epochs=4, verbose=0,
                           callbacks=[Script([0.5, 0.52, 0.54, 0.9], "val_accuracy"),
                                      stopper])
    # 0.52 and 0.54 are within min_delta of the best 0.5: two epochs without improvement.
    assert history.epoch == [0, 1, 2]


def test_monitored_value_missing_from_logs(rng):
    x, y = _data(rng)
    with pytest.raises(ValueError, match=r"EarlyStopping: monitored value 'val_loss' is not "
                                         r"in the logs; available: accuracy, loss"):
        _model().fit(x, y, epochs=2, verbose=0, callbacks=[EarlyStopping()])


@pytest.mark.parametrize("kwargs, message", [
    ({"patience": -1}, r"EarlyStopping: patience must be a non-negative int, got -1"),
    ({"mode": "up"}, r"EarlyStopping: mode must be 'auto', 'min' or 'max', got 'up'"),
])
def test_early_stopping_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EarlyStopping(**kwargs)


# ---- ModelCheckpoint ------------------------------------------------------------------------


def test_model_checkpoint_writes_loadable_models(tmp_path, rng):
    x, y = _data(rng)
    model = _model()
    path = tmp_path / "model-{epoch:02d}.nnlite"
    model.fit(x, y, epochs=3, verbose=0, callbacks=[ModelCheckpoint(path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model-01.nnlite", "model-02.nnlite", "model-03.nnlite"]
    loaded = nnlite.load_model(tmp_path / "model-03.nnlite")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.evaluate(x, y) == model.evaluate(x, y)


def test_model_checkpoint_save_best_only(tmp_path, rng):
    x, y = _data(rng)
    model = _model()
    script = Script([2.0, 3.0, 1.0, 1.5])
    path = tmp_path / "best.nnlite"
    model.fit(x, y, epochs=4, verbose=0,
              callbacks=[script, ModelCheckpoint(path, save_best_only=True)])
    assert _same(nnlite.load_model(path).get_weights(), script.weights[2])


# ---- learning-rate callbacks ----------------------------------------------------------------


def test_learning_rate_scheduler_sets_and_logs_the_rate(rng):
    x, y = _data(rng)
    model = _model()
    history = model.fit(x, y, epochs=3, verbose=0,
                        callbacks=[LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3])
    assert model.optimizer.learning_rate == pytest.approx(0.1 / 3)


def test_learning_rate_scheduler_rejects_a_bad_rate(rng):
    x, y = _data(rng)
    with pytest.raises(ValueError, match=r"LearningRateScheduler: schedule\(0, 0\.01\) must "
                                         r"return a positive float, got -1\.0"):
        _model().fit(x, y, epochs=1, verbose=0,
                     callbacks=[LearningRateScheduler(lambda epoch, lr: -1.0)])


def test_reduce_lr_on_plateau_with_cooldown_and_floor(rng):
    x, y = _data(rng)
    model = _model()  # SGD, learning_rate 0.01
    reducer = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_lr=0.003)
    history = model.fit(x, y, epochs=6, verbose=0,
                        callbacks=[Script([1.0] * 6), reducer])
    # Epoch 0 sets the best; 1 stalls -> 0.005; the cooldown counts down in 2 and 3 (as in
    # Keras, the epoch that reaches 0 counts again), so 3 stalls -> 0.0025, held at the floor.
    np.testing.assert_allclose(history.history["learning_rate"],
                               [0.01, 0.005, 0.005, 0.003, 0.003, 0.003])


def test_reduce_lr_on_plateau_bad_factor():
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau: factor must be in \(0, 1\), "
                                         r"got 2"):
        ReduceLROnPlateau(factor=2)


# ---- CSVLogger ------------------------------------------------------------------------------


def test_csv_logger_writes_one_row_per_epoch_and_appends(tmp_path, rng):
    x, y = _data(rng)
    path = tmp_path / "log.csv"
    model = _model()
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[CSVLogger(path)])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path, append=True)])
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["epoch", "accuracy", "loss"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "1"]   # epochs as people count them
    assert float(rows[2][2]) == history.history["loss"][1]


# ---- progress output ------------------------------------------------------------------------


def _bar_lines(text):
    """What a terminal shows: each line's last carriage-return segment."""
    return [line.split("\r")[-1] for line in text.split("\n") if line.strip("\r ")]


def test_verbose_1_draws_one_bar_per_epoch(capsys, rng):
    x, y = _data(rng, n=50)
    _model().fit(x, y, epochs=3, batch_size=8, validation_split=0.2, verbose=1)
    out, err = capsys.readouterr()
    assert out == ""
    lines = _bar_lines(err)
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        assert re.match(rf"Epoch {epoch}/3: 100%.*5/5 .*loss=\d\.\d{{4}}, accuracy=\d\.\d{{4}}, "
                        r"val_loss=\d\.\d{4}, val_accuracy=\d\.\d{4}\]$", line), line


def test_verbose_2_prints_one_line_per_epoch(capsys, rng):
    x, y = _data(rng)
    _model().fit(x, y, epochs=3, verbose=2)
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 3
    assert re.fullmatch(r"Epoch 3/3 - loss: \d\.\d{4} - accuracy: \d\.\d{4}", lines[2])


def test_verbose_0_prints_nothing(capsys, rng):
    x, y = _data(rng)
    _model().fit(x, y, epochs=2, verbose=0)
    assert capsys.readouterr() == ("", "")


def test_bad_verbose(rng):
    x, y = _data(rng)
    with pytest.raises(ValueError, match=r"verbose must be 0, 1 or 2, got 3"):
        _model().fit(x, y, epochs=1, verbose=3)
    assert ProgressBar(verbose=True).verbose == 1


_FIT_SCRIPT = """
import numpy as np, nnlite
from nnlite.layers import Dense
nnlite.set_seed(0)
rng = np.random.default_rng(0)
x, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
model = nnlite.Sequential([Dense(4, activation="relu"), Dense(2, activation="softmax")])
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=4, batch_size=8, verbose=1)
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs a pseudo-terminal")
def test_verbose_1_in_a_real_terminal_leaves_one_line_per_epoch():
    import os
    import subprocess
    import sys

    try:
        leader, follower = os.openpty()
    except OSError as exc:  # a sandbox without /dev/ptmx
        pytest.skip(f"no pseudo-terminal available: {exc}")
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    process = subprocess.Popen([sys.executable, "-c", _FIT_SCRIPT], stdin=follower,
                               stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 0
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", b"".join(chunks).decode())
    lines = _bar_lines(text.replace("\r\n", "\n"))
    assert len(lines) == 4, text
    for epoch, line in enumerate(lines, start=1):
        assert re.match(rf"Epoch {epoch}/4: 100%\|█+\| 5/5 .*loss=\d\.\d{{4}}, "
                        r"accuracy=\d\.\d{4}\]", line), line


def test_a_fit_that_raised_does_not_push_later_bars_down(capsys, rng):
    class Boom(Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 1:
                raise RuntimeError("boom")

    x, y = _data(rng, n=40)
    model = _model()
    with pytest.raises(RuntimeError, match="boom") as failure:  # keeps the bar referenced
        model.fit(x, y, epochs=2, batch_size=8, callbacks=[Boom()])
    # on_train_end ran although fit failed: the bar was closed where it stopped.
    assert "2/5" in _bar_lines(capsys.readouterr().err)[-1]
    model.fit(x, y, epochs=2, batch_size=8)
    err = capsys.readouterr().err
    assert failure.value is not None
    assert "\x1b[A" not in err  # no cursor movement: every bar is on its own line
    lines = _bar_lines(err)
    assert len(lines) == 2 and all("100%" in line for line in lines)
