"""The bookkeeping of a training run: its callbacks, Ctrl-C, and running means of the logs."""

import signal
import threading

import numpy as np

from nnlite.callbacks import Callback, History, ProgressBar


def callback_list_for(callbacks, verbose):
    if callbacks is None:
        callbacks = []
    elif isinstance(callbacks, Callback) or not isinstance(callbacks, list | tuple):
        raise TypeError(f"fit: callbacks must be a list of Callback objects, got "
                        f"{type(callbacks).__name__}; wrap a single one as [callback].")
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"fit: callbacks must be Callback objects, got {callback!r}.")
    # History goes last so that it records what other callbacks add to an epoch's logs
    # (the learning_rate of the schedulers).
    return [*([ProgressBar(verbose)] if verbose else []), *callbacks, History()]


def end_training(callback_list, raise_errors):
    """Run every callback's ``on_train_end``, even when one of them fails."""
    first_error = None
    for callback in callback_list:
        try:
            callback.on_train_end({})
        except Exception as exc:  # the other callbacks must still clean up
            first_error = first_error or exc
    if raise_errors and first_error is not None:
        raise first_error


class InterruptFlag:
    """Turn Ctrl-C into a flag checked after each batch, so a batch is never cut in half."""

    def __init__(self):
        self.flag = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.flag:  # a second Ctrl-C aborts at once
            raise KeyboardInterrupt
        self.flag = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class RunningMeans:
    """Sample-weighted running means of batch values (losses and metrics)."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.weights: dict[str, float] = {}

    def add(self, name, values, weight=None, count=None):
        if np.ndim(values) == 0:  # a batch mean: weigh it by the batch's total weight
            total_w = float(count) if weight is None else float(np.sum(weight))
            total = float(values) * total_w
        else:
            total_w = float(len(values)) if weight is None else float(np.sum(weight))
            total = float(np.sum(values if weight is None else values * weight))
        self.sums[name] = self.sums.get(name, 0.0) + total
        self.weights[name] = self.weights.get(name, 0.0) + total_w

    def means(self):
        return {k: self.sums[k] / self.weights[k] if self.weights[k] else float("nan")
                for k in self.sums}


