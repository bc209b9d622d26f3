"""Callbacks: hooks that ``Sequential.fit`` calls around epochs and batches.

The protocol: ``fit`` calls ``set_model(model)`` and ``set_params(params)`` once, then
``on_train_begin(logs)``, and for each epoch ``on_epoch_begin(epoch, logs)``,
``on_batch_end(batch, logs)`` after every batch, ``on_epoch_end(epoch, logs)``, and finally
``on_train_end(logs)``, which runs however training ends (also on an error or Ctrl-C), so a
callback can always clean up there. ``params`` describes the run: ``epochs``, ``steps`` (batches
per epoch), ``batch_size``, ``samples``, ``verbose``, ``do_validation`` and ``metrics`` (the
names logged, ``loss`` first). ``epoch`` and ``batch`` arguments count from 0, as in Keras;
what callbacks show or write for people (progress, file names, CSV rows) counts from 1.
``logs`` is a dict: for a batch, the running ``loss`` and metrics of the epoch so far; for
an epoch, the epoch's ``loss``, metrics and ``val_`` entries. Setting
``model.stop_training = True`` ends ``fit`` after the current epoch.
"""

import math
import os
import sys
import weakref

import numpy as np

from nnlite._utils import non_negative_int


class Callback:
    """Base class with empty hooks; override the ones you need."""

    def __init__(self):
        self.model = None
        self.params: dict = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params: dict):
        """Receive the run's settings (see the module docstring) before training starts."""
        self.params = dict(params)

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass


class History(Callback):
    """Record each epoch's logs: ``history["loss"][e]`` is epoch ``e``'s loss.

    Attributes:
        history: dict from log name to a list with one value per completed epoch.
        epoch: list of completed epoch indices.
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


def _format_logs(logs):
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())


class ProgressBar(Callback):
    """Show training progress.

    Args:
        verbose: 1 draws one tqdm bar per epoch (a widget in a notebook, text in a terminal)
            with the running loss and metrics; 2 prints one line per epoch.
        file: stream for the output (standard error for the bar, standard output for lines).
    """

    def __init__(self, verbose=1, file=None):
        super().__init__()
        if verbose not in (0, 1, 2):
            raise ValueError(f"ProgressBar: verbose must be 0, 1 or 2, got {verbose!r}.")
        self.verbose = int(verbose)
        self.file = file
        self._bar = None

    #: Bars still open; a fit that raised never closed its bar, and tqdm would draw every
    #: later bar one line lower with cursor movements. Each new fit closes the leftovers.
    _open_bars: "weakref.WeakSet" = weakref.WeakSet()

    def on_train_begin(self, logs=None):
        self.epochs = self.params.get("epochs")
        self.steps = self.params.get("steps")
        for bar in list(ProgressBar._open_bars):
            bar.close()
        ProgressBar._open_bars.clear()

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose == 1:
            from tqdm.auto import tqdm

            width = {"dynamic_ncols": True}
            if not tqdm.__module__.startswith("tqdm.notebook") and _zero_width_terminal(
                    self.file or sys.stderr):
                # tqdm draws an empty line on a terminal that reports a size of 0 (a fresh
                # pseudo-terminal, some CI runners): give it a size instead.
                width = {"ncols": 100, "nrows": 24}
            self._bar = tqdm(total=self.steps, desc=f"Epoch {epoch + 1}/{self.epochs}",
                             unit="batch", file=self.file, leave=True, mininterval=0.1,
                             **width)
            ProgressBar._open_bars.add(self._bar)

    def on_batch_end(self, batch, logs=None):
        if self._bar is not None:
            # Set the postfix first so that the redraw triggered by update() shows this batch.
            self._bar.set_postfix({k: f"{v:.4f}" for k, v in (logs or {}).items()},
                                  refresh=False)
            self._bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        if self._bar is not None:
            self._bar.set_postfix({k: f"{v:.4f}" for k, v in (logs or {}).items()},
                                  refresh=False)
            self._bar.close()
            self._bar = None
        elif self.verbose == 2:
            print(f"Epoch {epoch + 1}/{self.epochs} - {_format_logs(logs or {})}",
                  file=self.file or sys.stdout, flush=True)

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class _Monitor(Callback):
    """Shared logic of callbacks that watch one logged value for improvement."""

    def __init__(self, monitor="val_loss", mode="auto", min_delta=0.0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{type(self).__name__}: mode must be 'auto', 'min' or 'max', "
                             f"got {mode!r}.")
        self.monitor = monitor
        if mode == "auto":
            mode = "max" if ("acc" in monitor or monitor.endswith("r2")) else "min"
        self.mode = mode
        self.min_delta = abs(float(min_delta))
        self.best = math.inf if mode == "min" else -math.inf

    def _current(self, logs):
        if self.monitor not in (logs or {}):
            raise ValueError(
                f"{type(self).__name__}: monitored value {self.monitor!r} is not in the logs; "
                f"available: {', '.join(sorted(logs or {}))}. (val_ entries need "
                "validation_data or validation_split.)"
            )
        return float(logs[self.monitor])

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: log name to watch, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        patience: stop after this many epochs in a row without improvement (0 stops at
            the first epoch that does not improve), as Keras does.
        min_delta: smallest change that counts as an improvement.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracy-like names).
        restore_best_weights: when training ends (stopped early or not), put back the
            weights of the best epoch.

    Raises:
        ValueError: for a negative ``patience`` or an unknown ``mode``; during ``fit``, when
            ``monitor`` is not in the epoch's logs.
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto",
                 restore_best_weights=False):
        super().__init__(monitor, mode, min_delta)
        self.patience = non_negative_int("EarlyStopping", "patience", patience)
        self.restore_best_weights = bool(restore_best_weights)
        self.wait = 0
        self.best_epoch = None
        self.best_weights = None
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait, self.best_epoch, self.best_weights, self.stopped_epoch = 0, None, None, None

    def on_epoch_end(self, epoch, logs=None):
        value = self._current(logs)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Save the model after each epoch, or only when ``monitor`` improves.

    Each file is written atomically (``nnlite.serialization.atomic_write``): a crash or a
    full disk during a save leaves the previous checkpoint as it was.

    Args:
        filepath: target file; may contain format fields such as ``{epoch:02d}``
            (1-based), ``{learning_rate}``, ``{loss}``, a compiled metric, or with validation
            data their ``val_`` versions, e.g. ``"model-{epoch:02d}-{val_loss:.3f}.nnlite"``.
        monitor: log name that decides what "best" means.
        save_best_only: save only when ``monitor`` improves.
        mode: ``"min"``, ``"max"`` or ``"auto"``.

    Raises:
        ValueError: when ``fit`` starts, before the first epoch, if the folder does not exist
            or cannot be written, or ``filepath`` has a format field that no epoch's logs
            will hold (a ``{val_...}`` field without validation data) or that cannot be
            formatted.
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto"):
        super().__init__(monitor, mode)
        self.filepath = str(filepath)
        self.save_best_only = save_best_only

    def on_train_begin(self, logs=None):
        names, validates = self._log_names()
        self._check_fields(names, validates)
        example = self._format(0, dict.fromkeys(names, 0.0))
        folder = os.path.dirname(os.path.abspath(example))
        if not os.path.isdir(folder):
            raise ValueError(f"ModelCheckpoint: the folder {folder!r} of {self.filepath!r} does "
                             "not exist; create it before fit.")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ValueError(f"ModelCheckpoint: the folder {folder!r} of {self.filepath!r} is "
                             "not writable.")
        if os.path.isdir(example):
            raise ValueError(f"ModelCheckpoint: {self.filepath!r} names a folder, not a file.")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = self._current(logs)
            if not self._improved(value):
                return
            self.best = value
        # The learning rate is always known, whether or not a scheduler logged it.
        values = {"learning_rate": self.model.optimizer.learning_rate, **logs}
        self.model.save(self._format(epoch, values))

    def _log_names(self):
        """The log names every epoch will have, and whether ``fit`` validates (None when
        ``fit`` did not say: then the ``val_`` version of every known name passes)."""
        params = getattr(self, "params", None) or {}
        names = {"loss", *(getattr(self.model, "metrics", None) or []),
                 *(name for name in params.get("metrics") or [] if isinstance(name, str))}
        validation = params.get("do_validation")
        if validation is None or validation:
            names |= {f"val_{name}" for name in names if not name.startswith("val_")}
        else:
            names = {name for name in names if not name.startswith("val_")}
        return names | {"learning_rate"}, validation

    def _check_fields(self, names, validates):
        import string

        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(self.filepath)
                      if f is not None]
        except ValueError as exc:
            raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} is not a valid "
                             f"format string: {exc}.") from exc
        for field in fields:
            key = field.split(".")[0].split("[")[0]
            if key == "epoch" or key in names:
                continue
            if key.startswith("val_") and key[4:] in names and validates is False:
                hint = " needs validation data (validation_data or validation_split)"
            else:
                hint = (" is not a value the logs will hold; use epoch or one of "
                        f"{', '.join(sorted(names))}")
            raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} field "
                             f"{{{field}}}{hint}.")

    def _format(self, epoch, values):
        try:
            return self.filepath.format(epoch=epoch + 1, **values)
        except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
            raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} cannot be formatted "
                             f"with the logs: {type(exc).__name__}: {exc}.") from exc


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of every epoch.

    Args:
        schedule: function ``(epoch, lr) -> new_lr`` (epoch counts from 0).
    """

    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        new = self.schedule(epoch, optimizer.learning_rate)
        if (not isinstance(new, int | float | np.floating) or isinstance(new, bool)
                or not math.isfinite(new) or new <= 0):
            raise ValueError(f"LearningRateScheduler: schedule({epoch}, "
                             f"{optimizer.learning_rate!r}) must return a positive float, "
                             f"got {new!r}.")
        optimizer.learning_rate = float(new)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs.

    Args:
        monitor: log name to watch.
        factor: multiplier in (0, 1).
        patience: epochs without improvement before reducing.
        min_delta: smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: lower bound of the learning rate.
        mode: ``"min"``, ``"max"`` or ``"auto"``.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, min_delta=1e-4,
                 cooldown=0, min_lr=0.0, mode="auto"):
        super().__init__(monitor, mode, min_delta)
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor!r}.")
        self.factor = float(factor)
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)
        self.patience = non_negative_int("ReduceLROnPlateau", "patience", patience)
        self.wait = self.cooldown_left = 0

    def on_train_begin(self, logs=None):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = self.cooldown_left = 0

    def on_epoch_end(self, epoch, logs=None):
        value = self._current(logs)
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self._improved(value):
            self.best, self.wait = value, 0
        elif self.cooldown_left == 0:
            self.wait += 1
            if self.wait >= self.patience:
                optimizer = self.model.optimizer
                optimizer.learning_rate = max(optimizer.learning_rate * self.factor,
                                              self.min_lr)
                self.cooldown_left, self.wait = self.cooldown, 0
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


class CSVLogger(Callback):
    """Write one CSV row per epoch (epoch number, from 1, and every log value) to ``filename``.

    The file is flushed after every row and closed when training ends, however it ends.

    Args:
        filename: path of the CSV file.
        append: add to an existing file instead of replacing it.
    """

    def __init__(self, filename, append=False):
        super().__init__()
        self.filename, self.append = str(filename), append
        self._file = self._keys = None

    def on_train_begin(self, logs=None):
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._keys = None

    def on_epoch_end(self, epoch, logs=None):
        import csv

        logs = dict(logs or {})
        if self._keys is None:
            self._keys = sorted(logs)
            if self._file.tell() == 0:
                csv.writer(self._file).writerow(["epoch", *self._keys])
        csv.writer(self._file).writerow([epoch + 1, *(logs.get(k, "") for k in self._keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None



def _zero_width_terminal(stream):
    try:
        return stream.isatty() and 0 in os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
