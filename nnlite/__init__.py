"""nnlite: a small, exact neural-network framework in vectorized NumPy."""

from nnlite import (
    activations,
    callbacks,
    config,
    data,
    evaluation,
    initializers,
    layers,
    losses,
    optimizers,
    text,
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
    "data",
    "evaluation",
    "get_dtype",
    "gradcheck",
    "initializers",
    "layers",
    "load_model",
    "losses",
    "optimizers",
    "set_dtype",
    "set_seed",
    "text",
]
