"""Small helpers shared by several modules: registries and name suggestions."""

import difflib

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
