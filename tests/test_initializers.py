import math

import numpy as np
import pytest

from nnlite import initializers


@pytest.mark.parametrize(("name", "variance"), [
    ("glorot_uniform", 2.0 / (300 + 200)),
    ("glorot_normal", 2.0 / (300 + 200)),
    ("he_uniform", 2.0 / 300),
    ("he_normal", 2.0 / 300),
    ("random_uniform", 0.05**2 / 3),
    ("random_normal", 0.05**2),
])
def test_variance(name, variance):
    w = initializers.get(name)((300, 200), np.float32, np.random.default_rng(0))
    assert w.dtype == np.float32 and w.shape == (300, 200)
    assert w.var() == pytest.approx(variance, rel=0.03)
    assert abs(w.mean()) < 0.05 * math.sqrt(variance)


def test_truncated_normals_stay_within_two_deviations():
    w = initializers.he_normal((400, 100), np.float64, np.random.default_rng(0))
    assert np.abs(w).max() <= 2 * math.sqrt(2 / 400) / 0.87962566103423978 + 1e-12


def test_conv_fans():
    w = initializers.glorot_uniform((3, 3, 4, 8), np.float64, np.random.default_rng(0))
    limit = math.sqrt(6 / (9 * 4 + 9 * 8))
    assert np.abs(w).max() <= limit


@pytest.mark.parametrize("shape", [(5, 5), (3, 7), (7, 3)])
def test_orthogonal(shape):
    w = initializers.orthogonal(shape, np.float64, np.random.default_rng(0))
    small = min(shape)
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)


def test_zeros_ones():
    assert not initializers.get("zeros")((2, 3), np.float32, None).any()
    assert initializers.get("ones")((2,), np.float64, None).tolist() == [1.0, 1.0]


def test_same_seed_same_values_in_both_dtypes():
    a = initializers.glorot_uniform((4, 3), np.float32, np.random.default_rng(1))
    b = initializers.glorot_uniform((4, 3), np.float64, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b.astype(np.float32))


def test_unknown_initializer():
    with pytest.raises(ValueError, match=r"Unknown initializer 'glorot'.*Known: glorot_normal, "
                       r"glorot_uniform, he_normal"):
        initializers.get("glorot")
