"""Layers: each file holds one family; all follow the contract in ``base.py``."""

from nnlite.layers.base import Layer, get_layer_class
from nnlite.layers.conv import Conv2D, MaxPool2D, MaxPooling2D
from nnlite.layers.core import Activation, Dropout, Flatten
from nnlite.layers.dense import Dense
from nnlite.layers.embedding import Embedding
from nnlite.layers.recurrent import GRU, LSTM, SimpleRNN

__all__ = [
    "Activation",
    "Conv2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GRU",
    "LSTM",
    "Layer",
    "MaxPool2D",
    "MaxPooling2D",
    "SimpleRNN",
    "get_layer_class",
]
