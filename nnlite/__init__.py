"""nnlite: a small, exact neural-network framework in vectorized NumPy."""

import importlib

from nnlite import activations, callbacks, config, initializers, layers, losses, optimizers
from nnlite.config import get_dtype, set_dtype, set_seed
from nnlite.gradcheck import gradcheck
from nnlite.model import Sequential
from nnlite.serialization import load_model

# The one place the version is written; pyproject.toml reads it from here.
__version__ = "0.1.0"

# Modules that pull in pandas, scikit-learn or matplotlib are imported on first use, so that
# `import nnlite` (and every `nnlite` command) starts fast.
_LAZY = ("data", "evaluation", "metrics", "plots", "sklearn", "text")

__all__ = [
    "Sequential",
    "activations",
    "callbacks",
    "config",
    "get_dtype",
    "gradcheck",
    "initializers",
    "layers",
    "load_model",
    "losses",
    "optimizers",
    "set_dtype",
    "set_seed",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"nnlite.{name}")
    raise AttributeError(f"module 'nnlite' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
