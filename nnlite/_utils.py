"""Small helpers shared by several modules: argument checks, registries, name suggestions."""

import difflib
import itertools
import math
import numbers
from collections import defaultdict

import numpy as np


def did_you_mean(name, known) -> str:
    """Return `` Did you mean 'x'?`` for the closest of ``known`` to ``name``, or ``""``."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def lookup(registry: dict, name: str, kind: str):
    """Return ``registry[name]`` or raise a ValueError listing the known names.

    Raises:
        ValueError: for an unknown name, with the sorted known names and a suggestion.
    """
    if name in registry:
        return registry[name]
    known = sorted(registry)
    raise ValueError(f"Unknown {kind} {name!r}. Known: {', '.join(known)}."
                     + did_you_mean(name, known))


def _is_real(value) -> bool:
    # numbers.Real covers Python and NumPy floats and ints; bool is a Real too but never
    # what a user means by a learning rate or a size.
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def positive_number(owner: str, name: str, value, allow_zero: bool = False) -> float:
    """Return ``value`` as a Python float, or raise ValueError naming ``owner`` and ``name``.

    Python and NumPy scalars are accepted; bools, NaN and infinities are not.
    """
    ok = _is_real(value) and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        kind = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{owner}: {name} must be {kind} float, got {value!r}.")
    return float(value)


def fraction(owner: str, name: str, value, low_open=False, high_open=True) -> float:
    """Return ``value`` as a float in [0, 1) (bounds open or closed as asked), or raise."""
    ok = _is_real(value) and math.isfinite(value)
    ok = ok and (value > 0 if low_open else value >= 0) and (value < 1 if high_open
                                                             else value <= 1)
    if not ok:
        interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
        raise ValueError(f"{owner}: {name} must be in {interval}, got {value!r}.")
    return float(value)


def positive_int(owner: str, name: str, value) -> int:
    """Return ``value`` as an int, or raise ValueError naming ``owner`` and ``name``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}.")
    return int(value)


def non_negative_int(owner: str, name: str, value) -> int:
    """Return ``value`` as an int >= 0, or raise ValueError naming ``owner`` and ``name``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{owner}: {name} must be a non-negative int, got {value!r}.")
    return int(value)


class LazyModule:
    """A module imported on first attribute access, so that ``import nnlite`` stays fast
    (SciPy's submodules cost a few tenths of a second to import). Each attribute is cached
    on first use, so later calls cost nothing extra."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        import importlib

        value = getattr(importlib.import_module(self._name), attr)
        setattr(self, attr, value)
        return value


_NAME_COUNTERS: dict[str, itertools.count] = defaultdict(itertools.count)


def unique_name(base: str) -> str:
    """``base`` the first time it is asked for, then ``base_1``, ``base_2``, ... (Keras's
    naming of layers and models)."""
    count = next(_NAME_COUNTERS[base])
    return base if count == 0 else f"{base}_{count}"
