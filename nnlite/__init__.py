"""nnlite: a small, exact neural-network framework in vectorized NumPy."""

from nnlite import (
    activations,
    callbacks,
    config,
    initializers,
    layers,
    losses,
    optimizers,
)
from nnlite.config import get_dtype, set_dtype, set_seed
from nnlite.gradcheck import gradcheck
from nnlite.model import Sequential
from nnlite.serialization import load_model

__version__ = "0.1.0"

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
]
