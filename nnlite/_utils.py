"""Small helpers shared by several modules: registries and name suggestions."""

import difflib


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
