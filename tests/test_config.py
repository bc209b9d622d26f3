import numpy as np
import pytest

import nnlite
from nnlite.layers import Dense


def test_default_dtype_is_float32():
    assert nnlite.get_dtype() == np.float32
    assert Dense(2).dtype == np.float32


def test_set_dtype_applies_to_layers_built_later(float64):
    assert Dense(2).dtype == np.float64
    assert Dense(2, dtype="float32").dtype == np.float32


def test_set_dtype_rejects_other_types():
    with pytest.raises(ValueError, match=r"set_dtype: expected 'float32' or 'float64', got "
                       r"'int32'"):
        nnlite.set_dtype("int32")


def test_same_seed_same_weights():
    nnlite.set_seed(7)
    a = Dense(3)
    a.build((4,))
    nnlite.set_seed(7)
    b = Dense(3)
    b.build((4,))
    np.testing.assert_array_equal(a.params["kernel"], b.params["kernel"])
    nnlite.set_seed(8)
    c = Dense(3)
    c.build((4,))
    assert not np.array_equal(a.params["kernel"], c.params["kernel"])
