import numpy as np
import pytest

import nnlite


@pytest.fixture
def rng():
    """A seeded generator for test data (never the global np.random)."""
    return np.random.default_rng(0)


@pytest.fixture
def float64():
    """Build layers in float64 for the duration of a test, then restore the default."""
    previous = nnlite.get_dtype()
    nnlite.set_dtype("float64")
    yield
    nnlite.set_dtype(previous)


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same nnlite seed, so results do not depend on test order."""
    nnlite.set_seed(1234)
