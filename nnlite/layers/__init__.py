"""Layers: each file holds one family; all follow the contract in ``base.py``."""

from nnlite.layers.base import Layer, get_layer_class
from nnlite.layers.core import Activation, Dropout, Flatten
from nnlite.layers.dense import Dense
from nnlite.layers.embedding import Embedding
from nnlite.layers.recurrent import SimpleRNN

__all__ = ["Activation", "Dense", "Dropout", "Embedding", "Flatten", "Layer", "SimpleRNN",
           "get_layer_class"]
