"""Batches split across threads (nnlite/_parallel.py) and convolutions grouped by pooling
window: both must compute what the plain one-thread pass computes."""

import contextlib
import warnings

import numpy as np
import pytest
import threadpoolctl

import nnlite
from nnlite import _parallel as parallel
from nnlite.callbacks import Callback
from nnlite.layers import (
    LSTM,
    AveragePooling2D,
    Conv1D,
    Conv2D,
    Dense,
    Flatten,
    GlobalAveragePooling1D,
    MaxPool1D,
    MaxPool2D,
)


def _models():
    return {
        "cnn": lambda: nnlite.Sequential([
            Conv2D(4, 3, activation="relu"), MaxPool2D(),           # 9x9 -> 7x7 -> 3x3
            Conv2D(5, 2, activation="tanh", padding="same"), MaxPool2D(),
            Flatten(), Dense(3, activation="softmax")], input_shape=(9, 9, 2)),
        "strided": lambda: nnlite.Sequential([
            Conv2D(3, (3, 2), strides=2, activation="relu"), MaxPool2D((2, 1)),
            Flatten(), Dense(3, activation="softmax")], input_shape=(11, 8, 1)),
        "average": lambda: nnlite.Sequential([
            Conv2D(3, 3, activation="relu", padding="same"), AveragePooling2D(),
            Flatten(), Dense(3, activation="softmax")], input_shape=(6, 6, 3)),
        "conv1d": lambda: nnlite.Sequential([
            Conv1D(4, 3, activation="relu", padding="causal"), MaxPool1D(3),
            GlobalAveragePooling1D(), Dense(3, activation="softmax")], input_shape=(14, 2)),
    }


def _train(build, x, y, threads, monkeypatch):
    """Fit and predict with ``threads`` threads, every batch split as finely as it can be."""
    monkeypatch.setenv("NNLITE_NUM_THREADS", str(threads))
    monkeypatch.setattr(parallel, "MIN_SHARD", 1)
    nnlite.set_seed(7)
    model = build()
    model.compile(optimizer=nnlite.optimizers.SGD(0.05, momentum=0.9),
                  loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=2, batch_size=7, shuffle=False, verbose=0)
    return model.get_weights(), model.predict(x, batch_size=5), history.history["loss"]


@pytest.mark.parametrize("name", sorted(_models()))
def test_a_split_pass_trains_and_predicts_as_one_thread_does(name, float64, rng,
                                                             monkeypatch):
    build = _models()[name]
    shape = build()._input_shape
    x = rng.standard_normal((23, *shape))
    y = rng.integers(0, 3, 23)
    one = _train(build, x, y, 1, monkeypatch)
    three = _train(build, x, y, 3, monkeypatch)   # uneven shards: 7 rows -> 2, 2, 3
    for a, b in zip(one[0], three[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(one[1], three[1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(one[2], three[2], rtol=1e-10)


def test_shards_cut_evenly_and_only_work_worth_a_thread(monkeypatch):
    assert parallel.shards(100) == [slice(0, 100)]   # outside split_batches: one shard
    monkeypatch.setenv("NNLITE_NUM_THREADS", "3")
    with parallel.split_batches():
        assert parallel.shards(10, parallel.MIN_SHARD) == [slice(0, 3), slice(3, 6),
                                                           slice(6, 10)]
        assert parallel.shards(2, parallel.MIN_SHARD) == [slice(0, 1), slice(1, 2)]
        assert parallel.shards(10, parallel.MIN_SHARD // 10) == [slice(0, 10)]
        assert parallel.shards(0, parallel.MIN_SHARD) == [slice(0, 0)]
    assert parallel.shards(10, parallel.MIN_SHARD) == [slice(0, 10)]


def test_run_waits_for_every_shard_and_raises_the_error(monkeypatch):
    monkeypatch.setenv("NNLITE_NUM_THREADS", "2")
    finished = []

    def work(part):
        if part.start == 0:
            raise ValueError("first shard failed")
        finished.append(part)

    with parallel.split_batches(), pytest.raises(ValueError, match="first shard failed"):
        parallel.run(work, [slice(0, 1), slice(1, 2)])
    assert finished == [slice(1, 2)]   # the helper's shard had finished before the raise


def test_helper_threads_follow_the_callers_errstate(monkeypatch):
    monkeypatch.setenv("NNLITE_NUM_THREADS", "2")

    def work(part):
        return np.float32(3e38) * np.float32(10)   # overflows

    with parallel.split_batches(), np.errstate(over="raise"), pytest.raises(
            FloatingPointError):
        parallel.run(work, [slice(0, 1), slice(1, 2)])
    with parallel.split_batches(), np.errstate(over="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert all(np.isinf(parallel.run(work, [slice(0, 1), slice(1, 2)])))


def test_blas_runs_one_thread_only_inside_a_step_and_callbacks_see_it_restored(rng,
                                                                                monkeypatch):
    monkeypatch.setenv("NNLITE_NUM_THREADS", "2")
    blas = threadpoolctl.ThreadpoolController().select(user_api="blas")
    before = [lib["num_threads"] for lib in blas.info()]
    seen = []

    class Look(Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append([lib["num_threads"] for lib in blas.info()])

    model = _models()["cnn"]()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(rng.standard_normal((8, 9, 9, 2)).astype(np.float32), rng.integers(0, 3, 8),
              batch_size=4, verbose=0, callbacks=[Look()])
    assert seen == [before, before]
    assert [lib["num_threads"] for lib in blas.info()] == before


def test_only_models_of_split_and_either_layers_split():
    cnn = _models()["cnn"]()
    rnn = nnlite.Sequential([Conv1D(4, 3), LSTM(3), Dense(2)], input_shape=(6, 2))
    mlp = nnlite.Sequential([Dense(4), Dense(2)], input_shape=(3,))
    assert not isinstance(cnn._threads(), contextlib.nullcontext)
    assert isinstance(rnn._threads(), contextlib.nullcontext)   # the LSTM wants BLAS threads
    assert isinstance(mlp._threads(), contextlib.nullcontext)   # no layer wants a split


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_a_bad_thread_count_is_refused_by_name(value, monkeypatch):
    monkeypatch.setenv("NNLITE_NUM_THREADS", value)
    with pytest.raises(ValueError, match="NNLITE_NUM_THREADS must be a positive integer"), \
            parallel.split_batches():
        pass


def test_a_convolution_before_a_tiling_max_pool_is_planned_to_group_by_window():
    cnn = _models()["cnn"]()
    assert [step.options.get("pool_window") for step in cnn._plan] == [
        (2, 2), None, (2, 2), None, None, None]
    assert [step.checks_input for step in cnn._plan] == [True, False, True, False, True, True]
    overlapping = nnlite.Sequential([Conv2D(2, 3), MaxPool2D(3, strides=2)],
                                    input_shape=(9, 9, 1))
    padded = nnlite.Sequential([Conv2D(2, 3), MaxPool2D(padding="same")], input_shape=(9, 9, 1))
    for model in (overlapping, padded):
        assert all("pool_window" not in step.options for step in model._plan)


@pytest.mark.parametrize("name", sorted(_models()))
def test_grouped_outputs_give_the_layer_by_layer_outputs_and_gradients(name, float64, rng):
    model = _models()[name]()
    x = rng.standard_normal((5, *model._input_shape))
    out = model.forward(x, training=True)
    grad = rng.standard_normal(out.shape)
    grad_x = model.backward(grad)
    grads = [dict(layer.grads) for layer in model.layers]
    step = x
    for layer in model.layers:   # each layer on its own: plain layouts, own activations
        step = layer(step, training=True)
    np.testing.assert_allclose(out, step, rtol=1e-12, atol=1e-12)
    g = grad
    for layer in reversed(model.layers):
        g = layer.backward(g)
    np.testing.assert_allclose(grad_x, g, rtol=1e-12, atol=1e-12)
    for layer, kept in zip(model.layers, grads, strict=True):
        for key in kept:
            np.testing.assert_allclose(kept[key], layer.grads[key], rtol=1e-12, atol=1e-12)


def test_run_with_more_parts_than_helpers_does_the_rest_itself(monkeypatch):
    monkeypatch.setenv("NNLITE_NUM_THREADS", "2")
    parts = [slice(i, i + 1) for i in range(5)]
    with parallel.split_batches():
        assert parallel.run(lambda part: part.start * 10, parts) == [0, 10, 20, 30, 40]
    assert parallel.run(lambda part: part.start, parts) == [0, 1, 2, 3, 4]   # no helpers


def test_threads_follow_blas_limits_and_cpu_quotas(monkeypatch, rng):
    monkeypatch.delenv("NNLITE_NUM_THREADS", raising=False)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert parallel.available_threads() == 1   # the user asked BLAS for one thread
        with parallel.split_batches():
            assert parallel.shards(64, parallel.MIN_SHARD) == [slice(0, 64)]
    assert parallel.quota_cores("200000 100000\n") == 2
    assert parallel.quota_cores("150000 100000") == 2
    assert parallel.quota_cores("50000 100000") == 1
    assert parallel.quota_cores("max 100000") is None
    assert parallel.quota_cores("-1\n 100000\n") is None
