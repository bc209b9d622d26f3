"""The bad-input catalogue of DESIGN.md: one test per message."""

import numpy as np
import pytest

import nnlite
from nnlite.layers import Dense


def compiled(loss="sparse_categorical_crossentropy", units=3, inputs=4):
    model = nnlite.Sequential([Dense(units, activation="softmax", name="dense_1")],
                              input_shape=(inputs,))
    model.compile(optimizer="sgd", loss=loss)
    return model


def test_wrong_feature_count_names_layer_and_sizes():
    model = compiled()
    with pytest.raises(ValueError, match=r"Dense 'dense_1' was built for 4 input features, "
                       r"got input of shape \(32, 5\)\."):
        model.predict(np.zeros((32, 5)))


def test_wrong_rank_for_dense():
    with pytest.raises(ValueError, match=r"Dense 'd' expects input of shape \(batch, \.\.\., "
                       r"features\), got shape \(4,\)"):
        Dense(2, name="d")(np.zeros(4))


def test_x_and_y_of_different_lengths():
    with pytest.raises(ValueError, match="x and y must have the same number of samples, got "
                       "10 and 9"):
        compiled().fit(np.zeros((10, 4)), np.zeros(9, dtype=int), verbose=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_x(bad):
    x = np.zeros((10, 4))
    x[3, 2] = bad
    with pytest.raises(ValueError, match=r"fit: x contains NaN or inf \(first at index "
                       r"\(3, 2\)\)"):
        compiled().fit(x, np.zeros(10, dtype=int), verbose=0)


def test_nan_in_y():
    y = np.zeros((10, 3))
    y[7, 1] = np.nan
    with pytest.raises(ValueError, match=r"fit: y contains NaN or inf \(first at index \(7, 1\)"):
        compiled("categorical_crossentropy").fit(np.zeros((10, 4)), y, verbose=0)


def test_sparse_labels_outside_range():
    y = np.zeros(20, dtype=int)
    y[17] = 3
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\), got 3 at index 17"):
        compiled().fit(np.zeros((20, 4)), y, verbose=0)


def test_negative_sparse_label():
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\), got -1 at index 0"):
        compiled().evaluate(np.zeros((2, 4)), np.array([-1, 0]))


def test_one_hot_targets_of_wrong_width():
    with pytest.raises(ValueError, match=r"one-hot targets must have shape \(5, 3\) "
                       r"\(3 classes\), got \(5, 4\)"):
        compiled("categorical_crossentropy").fit(np.zeros((5, 4)), np.zeros((5, 4)), verbose=0)


@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch"])
def test_training_before_compile(method):
    model = nnlite.Sequential([Dense(2)], input_shape=(3,))
    with pytest.raises(RuntimeError, match=rf"{method}\(\) needs compile\(\) first: call "
                       r"model.compile\(loss=\.\.\., optimizer=\.\.\.\)\."):
        getattr(model, method)(np.zeros((4, 3)), np.zeros((4, 2)))


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown activation 'relux'\. Known: .*relu.*"
                       r"Did you mean 'relu'\?"):
        Dense(3, activation="relux")
    with pytest.raises(ValueError, match=r"Unknown loss 'crossentropy'\. Known: "):
        nnlite.Sequential([Dense(1)]).compile(loss="crossentropy")
    with pytest.raises(ValueError, match=r"Unknown optimizer 'sgdm'\. Known: adam, rmsprop, "
                       r"sgd\. Did you mean 'sgd'\?"):
        nnlite.Sequential([Dense(1)]).compile(optimizer="sgdm", loss="mse")
    with pytest.raises(ValueError, match=r"Unknown initializer 'he'\. Known: "):
        Dense(3, kernel_initializer="he")
    with pytest.raises(ValueError, match=r"Unknown metric 'acuracy'\. Known: .*Did you mean "
                       r"'accuracy'\?"):
        nnlite.Sequential([Dense(1)]).compile(loss="mse", metrics=["acuracy"])


def test_compile_needs_a_loss():
    with pytest.raises(ValueError, match=r"compile\(\) needs a loss"):
        nnlite.Sequential([Dense(1)]).compile(optimizer="sgd")


def test_non_numeric_x_and_y():
    model = compiled()
    with pytest.raises(ValueError, match="x must be numeric, got dtype <U1"):
        model.predict(np.array([["a"] * 4]))
    with pytest.raises(ValueError, match="y must be numeric.*encode string labels"):
        model.fit(np.zeros((2, 4)), np.array(["cat", "dog"]), verbose=0)


def test_empty_input():
    with pytest.raises(ValueError, match=r"predict: x must hold at least one sample, got "
                       r"shape \(0, 4\)"):
        compiled().predict(np.zeros((0, 4)))


def test_bad_batch_size():
    with pytest.raises(ValueError, match="fit: batch_size must be a positive int, got 0"):
        compiled().fit(np.zeros((4, 4)), np.zeros(4, dtype=int), batch_size=0, verbose=0)


def test_bad_sample_weight_length():
    with pytest.raises(ValueError, match=r"sample_weight must have one weight per sample "
                       r"\(4\), got shape \(3,\)"):
        compiled().fit(np.zeros((4, 4)), np.zeros(4, dtype=int), sample_weight=np.ones(3),
                       verbose=0)


def test_class_weight_missing_a_class():
    with pytest.raises(ValueError, match=r"class_weight has no weight for classes \[2\]"):
        compiled().fit(np.zeros((3, 4)), np.array([0, 1, 2]), class_weight={0: 1, 1: 2},
                       verbose=0)


def test_validation_split_out_of_range():
    with pytest.raises(ValueError, match=r"validation_split must be in \(0, 1\), got 1.5"):
        compiled().fit(np.zeros((4, 4)), np.zeros(4, dtype=int), validation_split=1.5,
                       verbose=0)


def test_nan_loss_names_epoch_and_batch():
    model = compiled("mse", units=1)
    model.layers[0].params["kernel"][...] = np.nan
    with pytest.raises(FloatingPointError, match=r"fit: the loss became nan at epoch 1, "
                       r"batch 1; training stopped with the weights from before that batch"):
        model.fit(np.ones((4, 4)), np.ones(4), verbose=0)


def test_non_layer_added():
    with pytest.raises(TypeError, match="Sequential.add expects a Layer, got str"):
        nnlite.Sequential(["dense"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_finiteness_check_finds_the_first_bad_value_and_not_overflowing_sums(dtype):
    from nnlite._inputs import _first_non_finite

    big = np.finfo(dtype).max / 2
    x = np.zeros((20_000, 3, 4), dtype)
    x[5] = big                     # finite, but the row sums to inf: must not be reported
    assert _first_non_finite(x) is None
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[17_000, 2, 1] = bad      # in the third chunk
        y[17_001, 0, 0] = bad
        assert _first_non_finite(y) == (17_000, 2, 1)
        assert _first_non_finite(np.asfortranarray(y)) == (17_000, 2, 1)  # no fast path
    assert _first_non_finite(np.zeros((0, 4), dtype)) is None
