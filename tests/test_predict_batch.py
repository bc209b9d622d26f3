"""predict's default batch size: chosen from the layers' sizes, never changing the outputs."""

import numpy as np
import pytest

import nnlite
from nnlite.layers import Conv2D, Dense, Embedding, Flatten, GlobalAveragePooling1D, MaxPool2D


def _mlp(width=784):
    nnlite.set_seed(0)
    return nnlite.Sequential([Dense(256, activation="relu"), Dense(128, activation="relu"),
                              Dense(10, activation="softmax")], input_shape=(width,))


def test_the_default_batch_keeps_the_widest_array_within_4_mib():
    # 784 float32 inputs are the widest array: 4 MiB / 3,136 bytes = 1,337 rows -> 1,024.
    assert _mlp()._predict_batch_size(4) == 1024
    # A layer wider than the input decides: 26x26x32 conv outputs, 86,528 bytes a row.
    cnn = nnlite.Sequential([Conv2D(32, 3, activation="relu"), MaxPool2D(), Flatten(),
                             Dense(10)], input_shape=(28, 28, 1))
    assert cnn._predict_batch_size(4) == 32      # 48 rows fit; the lower bound is 32 anyway
    assert _mlp(4)._predict_batch_size(4) == 4096   # 1 KiB rows: the upper bound


def test_the_default_batch_gives_the_same_outputs_as_explicit_ones(rng):
    model = _mlp(20)
    x = rng.standard_normal((2500, 20)).astype(np.float32)
    default = model.predict(x, batch_size=None)
    assert default.shape == (2500, 10) and default.dtype == np.float32
    for batch_size in (7, 256, 4096):
        np.testing.assert_allclose(model.predict(x, batch_size=batch_size), default,
                                   rtol=1e-5, atol=1e-7)


def test_integer_ids_use_the_size_of_their_own_dtype(rng):
    model = nnlite.Sequential([Embedding(50, 8), GlobalAveragePooling1D(), Dense(2)],
                              input_shape=(300,))
    # The widest array is the embedded sequence, 300 x 8 = 2,400 values, counted at the 8
    # bytes of the int64 ids: 4 MiB / 19,200 bytes = 218 rows -> 128.
    assert model._predict_batch_size(8) == 128
    ids = rng.integers(0, 50, (300, 300))
    np.testing.assert_allclose(model.predict(ids), model.predict(ids, batch_size=16),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "64"])
def test_an_explicit_batch_size_is_still_checked(bad, rng):
    with pytest.raises((ValueError, TypeError), match="batch_size"):
        _mlp(3).predict(rng.standard_normal((4, 3)), batch_size=bad)
