import os

import numpy as np
import pytest
from hypothesis import settings

import nnlite

# NNLITE_HYPOTHESIS_PROFILE=long gives the property-based tests of test_reliability.py many
# more examples than the few dozen they run in `make test`.
settings.register_profile("long", max_examples=3000, deadline=None)
if os.environ.get("NNLITE_HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["NNLITE_HYPOTHESIS_PROFILE"])


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
