"""The two-thread path of the convolution and pooling passes (``_windows.split_batch``): it
covers every row once, nests and fails safely, and gives the same bits as one thread."""

import numpy as np
import pytest

from nnlite import activations
from nnlite.gradcheck import gradcheck
from nnlite.layers import Conv1D, Conv2D, MaxPool1D, MaxPool2D, _windows


@pytest.fixture
def always_split(monkeypatch):
    """Split every pass, however small (the tests' arrays are below the usual threshold)."""
    monkeypatch.setattr(_windows, "SPLIT_MIN_ELEMENTS", 0)
    monkeypatch.setattr(_windows, "_CORES", 2)


def test_split_batch_covers_every_row_once_in_two_halves(always_split):
    calls = []
    _windows.split_batch(lambda start, stop: calls.append((start, stop)), 7, 100)
    assert sorted(calls) == [(0, 3), (3, 7)]


def test_small_passes_and_single_rows_stay_in_one_call(monkeypatch):
    monkeypatch.setattr(_windows, "_CORES", 2)
    calls = []
    _windows.split_batch(lambda start, stop: calls.append((start, stop)), 8, 10)
    _windows.split_batch(lambda start, stop: calls.append((start, stop)), 1, 1 << 30)
    assert calls == [(0, 8), (0, 1)]


def test_one_core_never_splits(monkeypatch):
    monkeypatch.setattr(_windows, "_CORES", 1)
    calls = []
    _windows.split_batch(lambda start, stop: calls.append((start, stop)), 8, 1 << 30)
    assert calls == [(0, 8)]


def test_a_split_inside_the_helper_runs_inline_instead_of_waiting_on_itself(always_split):
    calls = []

    def outer(start, stop):
        _windows.split_batch(lambda a, b: calls.append((start + a, start + b)), stop - start,
                             100)

    _windows.split_batch(outer, 8, 100)
    assert sorted(calls) == [(0, 2), (2, 4), (4, 8)]


def test_an_error_in_the_helper_reaches_the_caller(always_split):
    def work(start, stop):
        if start > 0:
            raise ValueError("second half failed")

    with pytest.raises(ValueError, match="second half failed"):
        _windows.split_batch(work, 4, 100)
    calls = []   # the helper is still usable afterwards
    _windows.split_batch(lambda start, stop: calls.append(start), 4, 100)
    assert sorted(calls) == [0, 2]


def test_a_forked_child_starts_its_own_helper(always_split):
    _windows.split_batch(lambda start, stop: None, 4, 100)
    _windows._forget_helper()   # what os.register_at_fork runs in a child
    assert _windows._helper["pool"] is None
    calls = []
    _windows.split_batch(lambda start, stop: calls.append(start), 4, 100)
    assert sorted(calls) == [0, 2]


def _pass(layer, x, grad_seed=1, activation=None):
    layer.prepare(x)
    kwargs = {} if activation is None else {"activation": activation}
    y = layer.forward(x, training=True, **kwargs)
    grad = np.random.default_rng(grad_seed).standard_normal(y.shape).astype(x.dtype)
    return y.copy(), layer.backward(grad).copy(), {k: g.copy() for k, g in layer.grads.items()}


LAYERS = [
    (Conv2D, {"filters": 4, "kernel_size": 3}, (6, 9, 8, 3)),
    (Conv2D, {"filters": 3, "kernel_size": (2, 3), "strides": 2, "padding": "same"},
     (5, 7, 8, 2)),
    (Conv2D, {"filters": 5, "kernel_size": 3}, (4, 7, 7, 1)),            # one channel
    (Conv1D, {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "causal"},
     (5, 12, 3)),
    (MaxPool2D, {}, (6, 8, 8, 3)),                                        # tiles exactly
    (MaxPool2D, {}, (5, 7, 9, 2)),                                        # odd: drops an edge
    (MaxPool2D, {"pool_size": 3, "strides": 2, "padding": "same"}, (4, 7, 7, 2)),  # overlap
    (MaxPool2D, {"pool_size": 2, "strides": 3}, (4, 8, 8, 2)),            # gaps
    (MaxPool1D, {"pool_size": 3}, (6, 10, 2)),
]


@pytest.mark.parametrize("cls, kwargs, shape", LAYERS)
def test_two_threads_give_the_same_bits_as_one(cls, kwargs, shape, monkeypatch):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    x[:, :2] = 0.5   # ties inside pooling windows
    layer = cls(**kwargs)
    monkeypatch.setattr(_windows, "SPLIT_MIN_ELEMENTS", 1 << 62)
    one = _pass(layer, x)
    monkeypatch.setattr(_windows, "SPLIT_MIN_ELEMENTS", 0)
    monkeypatch.setattr(_windows, "_CORES", 2)
    two = _pass(layer, x)
    for a, b in zip(one[:2], two[:2], strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    for key in one[2]:
        np.testing.assert_array_equal(one[2][key], two[2][key])


def test_max_pool_with_the_relu_handed_over_is_split_alike(monkeypatch):
    x = np.random.default_rng(3).standard_normal((6, 8, 8, 4)).astype(np.float32)
    relu = activations.get("relu")
    monkeypatch.setattr(_windows, "SPLIT_MIN_ELEMENTS", 1 << 62)
    one = _pass(MaxPool2D(), x, activation=relu)
    monkeypatch.setattr(_windows, "SPLIT_MIN_ELEMENTS", 0)
    monkeypatch.setattr(_windows, "_CORES", 2)
    two = _pass(MaxPool2D(), x, activation=relu)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])


@pytest.mark.parametrize("layer", [
    Conv2D(3, 3, padding="same", dtype="float64"),
    Conv2D(2, 2, strides=2, dtype="float64"),
    MaxPool2D(dtype="float64"),
    MaxPool2D(pool_size=3, strides=2, dtype="float64"),
], ids=["conv-same", "conv-stride2", "pool", "pool-overlap"])
def test_split_passes_pass_gradcheck(layer, always_split):
    x = np.random.default_rng(5).standard_normal((4, 7, 7, 2))
    assert gradcheck(layer, x) < 1e-6
