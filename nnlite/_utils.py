"""Small helpers shared by several modules: registries, name suggestions, number checks."""

import difflib
import math
import numbers

import numpy as np


def lookup(registry: dict, name: str, kind: str):
    """Return ``registry[name]`` or raise a ValueError listing the known names.

    Raises:
        ValueError: for an unknown name, with the sorted known names and a suggestion.
    """
    if name in registry:
        return registry[name]
    known = sorted(registry)
    message = f"Unknown {kind} {name!r}. Known: {', '.join(known)}."
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        message += f" Did you mean {close[0]!r}?"
    raise ValueError(message)


def positive_int(owner: str, name: str, value) -> int:
    """Return ``value`` as an int, or raise ValueError naming ``owner`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}.")
    return int(value)


def _real(value) -> bool:
    """True for Python and NumPy real numbers; bools are refused (True is not a rate of 1)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def positive_number(owner: str, name: str, value, allow_zero: bool = False) -> float:
    """Return ``value`` as a Python float, or raise ValueError naming ``owner`` and ``name``.

    Python and NumPy numbers are accepted; bools, NaN and infinities are not.
    """
    ok = _real(value) and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        kind = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{owner}: {name} must be {kind} float, got {value!r}.")
    return float(value)


def unit_fraction(owner: str, name: str, value) -> float:
    """Return ``value`` as a Python float in ``[0, 1)`` (a rate or a decay), or raise
    ValueError naming ``owner`` and ``name``. Python and NumPy numbers are accepted."""
    if not (_real(value) and 0.0 <= value < 1.0):
        raise ValueError(f"{owner}: {name} must be a float in [0, 1), got {value!r}.")
    return float(value)
