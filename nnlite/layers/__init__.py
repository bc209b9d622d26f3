"""Layers: each file holds one family; all follow the contract in ``base.py``."""

from nnlite.layers.base import Layer, get_layer_class
from nnlite.layers.conv import Conv1D, Conv2D
from nnlite.layers.core import Activation, Dropout, Flatten, Reshape
from nnlite.layers.dense import Dense
from nnlite.layers.embedding import Embedding
from nnlite.layers.normalization import BatchNormalization, LayerNormalization
from nnlite.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AvgPool1D,
    AvgPool2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool1D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
)
from nnlite.layers.recurrent import GRU, LSTM, SimpleRNN

__all__ = [
    "Activation",
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "BatchNormalization",
    "Conv1D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GRU",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "LSTM",
    "Layer",
    "LayerNormalization",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "Reshape",
    "SimpleRNN",
    "get_layer_class",
]
