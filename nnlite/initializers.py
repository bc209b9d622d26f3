"""Weight initializers: functions ``(shape, dtype, rng) -> array``, looked up by name.

Fan-in and fan-out follow Keras: for a kernel ``(kh, kw, in, out)`` they are
``kh * kw * in`` and ``kh * kw * out``; for ``(in, out)`` they are ``in`` and ``out``.
Values are drawn in float64 and then cast, so a seed gives the same weights in both dtypes.
"""

import math

import numpy as np

from nnlite._utils import LazyModule, lookup

stats = LazyModule("scipy.stats")

# Standard deviation of a unit normal truncated to [-2, 2]; dividing by it keeps the
# requested variance after truncation, as Keras' VarianceScaling does.
_TRUNC_STD = 0.87962566103423978


def _fans(shape) -> tuple[int, int]:
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(shape, std, rng):
    return stats.truncnorm.rvs(-2.0, 2.0, size=shape, random_state=rng) * (std / _TRUNC_STD)


def glorot_uniform(shape, dtype, rng):
    """Uniform on ``[-l, l]`` with ``l = sqrt(6 / (fan_in + fan_out))`` (Dense default)."""
    fan_in, fan_out = _fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def glorot_normal(shape, dtype, rng):
    """Truncated normal (2 std) with variance ``2 / (fan_in + fan_out)``."""
    fan_in, fan_out = _fans(shape)
    return _truncated_normal(shape, math.sqrt(2.0 / (fan_in + fan_out)), rng).astype(dtype)


def he_uniform(shape, dtype, rng):
    """Uniform on ``[-l, l]`` with ``l = sqrt(6 / fan_in)``, suited to ReLU networks."""
    fan_in, _ = _fans(shape)
    limit = math.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape, dtype, rng):
    """Truncated normal (2 std) with variance ``2 / fan_in``."""
    fan_in, _ = _fans(shape)
    return _truncated_normal(shape, math.sqrt(2.0 / fan_in), rng).astype(dtype)


def random_uniform(shape, dtype, rng):
    """Uniform on ``[-0.05, 0.05]`` (Keras' ``"uniform"``, the Embedding default)."""
    return rng.uniform(-0.05, 0.05, size=shape).astype(dtype)


def random_normal(shape, dtype, rng):
    """Normal with mean 0 and standard deviation 0.05 (Keras' ``"normal"``)."""
    return rng.normal(0.0, 0.05, size=shape).astype(dtype)


def zeros(shape, dtype, rng=None):
    """All zeros (the bias default)."""
    return np.zeros(shape, dtype=dtype)


def ones(shape, dtype, rng=None):
    """All ones."""
    return np.ones(shape, dtype=dtype)


def orthogonal(shape, dtype, rng):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal draw.

    Shapes with more than two axes are flattened to ``(prod(shape[:-1]), shape[-1])``.
    The signs of R's diagonal are folded into Q so the result is uniformly distributed.
    """
    rows = math.prod(shape[:-1]) if len(shape) > 1 else 1
    cols = shape[-1]
    a = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.reshape(shape).astype(dtype)


_REGISTRY = {
    fn.__name__: fn
    for fn in (
        glorot_uniform,
        glorot_normal,
        he_uniform,
        he_normal,
        random_uniform,
        random_normal,
        zeros,
        ones,
        orthogonal,
    )
}
_REGISTRY["uniform"] = random_uniform
_REGISTRY["normal"] = random_normal


def get(identifier):
    """Resolve an initializer from a name or pass a callable through.

    Raises:
        ValueError: for an unknown name (the message lists the known names).
        TypeError: for anything that is neither a string nor a callable.
    """
    if isinstance(identifier, str):
        return lookup(_REGISTRY, identifier, "initializer")
    if callable(identifier):
        return identifier
    raise TypeError(
        f"initializer must be a name or a callable (shape, dtype, rng), got {identifier!r}."
    )
