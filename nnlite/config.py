"""Global defaults: the dtype new layers are built in and the random generator."""

import contextlib
import threading

import numpy as np

_DTYPE = np.dtype("float32")
_RNG = np.random.default_rng()
# A per-thread override of _RNG, so that estimators fitted in parallel threads (joblib's
# threading backend, Dask workers with processes=False) each draw from their own seeded
# generator without touching the global one.
_LOCAL = threading.local()


def get_dtype() -> np.dtype:
    """Return the default floating dtype for layers built from now on (float32 unless set)."""
    return _DTYPE


def set_dtype(dtype) -> None:
    """Set the default floating dtype (``"float32"`` or ``"float64"``) for layers built later.

    Raises:
        ValueError: if ``dtype`` is not a floating dtype NumPy's BLAS handles.
    """
    global _DTYPE
    try:
        new = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(f"set_dtype: expected 'float32' or 'float64', got {dtype!r}.") from exc
    if new not in (np.float32, np.float64):
        raise ValueError(f"set_dtype: expected 'float32' or 'float64', got {dtype!r}.")
    _DTYPE = new


def set_seed(seed: int) -> None:
    """Seed every random draw nnlite makes (initializers, shuffling, dropout, splits).

    Two runs of the same script after the same ``set_seed`` are bit-identical.
    """
    global _RNG
    _RNG = np.random.default_rng(seed)


def get_rng() -> np.random.Generator:
    """Return the generator that all of nnlite's randomness draws from."""
    override = getattr(_LOCAL, "rng", None)
    return _RNG if override is None else override


@contextlib.contextmanager
def rng_scope(generator: np.random.Generator):
    """Make ``get_rng()`` return ``generator`` in the current thread inside the block.

    The global generator (``set_seed``) is left untouched; other threads do not see the
    override. ``None`` means no override. Used by ``nnlite.sklearn`` to honour
    ``random_state``.
    """
    previous = getattr(_LOCAL, "rng", None)
    _LOCAL.rng = generator
    try:
        yield generator
    finally:
        _LOCAL.rng = previous


def resolve_dtype(dtype) -> np.dtype:
    """Return ``np.dtype(dtype)``, or the global default when ``dtype`` is None."""
    if dtype is None:
        return _DTYPE
    new = np.dtype(dtype)
    if new not in (np.float32, np.float64):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    return new
