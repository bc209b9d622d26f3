"""The Layer contract every nnlite layer follows."""

import itertools
from collections import defaultdict

import numpy as np

from nnlite import config

_NAME_COUNTERS: dict[str, itertools.count] = defaultdict(itertools.count)
_LAYER_CLASSES: dict[str, type] = {}


def _snake_case(name: str) -> str:
    out = [name[0].lower()]
    for prev, ch in itertools.pairwise(name):
        if ch.isupper() and prev.islower():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


class Layer:
    """Base class of all layers.

    A layer holds its weights in ``params`` and the gradients of the last ``backward`` in
    ``grads`` (same keys, shapes and dtypes). Calling a layer builds it on first use from the
    input's shape, checks every later input against that shape, then runs ``forward``:
    subclasses keep ``forward`` and ``backward`` to the math and put input checks in
    ``_check_input``.

    Args:
        name: unique name within a model; defaults to the snake-cased class name plus a counter.
        trainable: False freezes the layer: the optimizer skips its params, but ``backward``
            still fills ``grads`` and returns the input gradient.
        dtype: ``"float32"`` or ``"float64"``; defaults to ``nnlite.get_dtype()`` at construction.
        input_shape: optional shape of one sample (no batch axis), Keras-style on the first
            layer of a Sequential, which is then built at once.
    """

    #: True for layers whose ``backward`` accepts ``fused=True`` (gradient w.r.t. the
    #: pre-activation given directly), which the model uses for its stable ``p - y`` path.
    fusable = False
    #: True for layers that take integer ids (Embedding): the model does not cast their input.
    integer_input = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _LAYER_CLASSES[cls.__name__] = cls

    def __init__(self, name: str | None = None, trainable: bool = True, dtype=None,
                 input_shape=None):
        if name is None:
            base = _snake_case(type(self).__name__)
            count = next(_NAME_COUNTERS[base])
            name = base if count == 0 else f"{base}_{count}"
        self.name = name
        self.trainable = bool(trainable)
        self.dtype = config.resolve_dtype(dtype)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        #: Arrays saved with the model but never trained (BatchNormalization's moving stats).
        self.state: dict[str, np.ndarray] = {}
        self.input_shape: tuple | None = None
        self.built = False
        self._cache = None
        #: False lets ``backward`` skip the input gradient and return None. Only a model sets
        #: it, on its first layer, whose input is data: that saves the largest GEMM of many
        #: networks. A layer used on its own always returns its input gradient.
        self.needs_input_grad = True
        self.declared_input_shape = None if input_shape is None else tuple(input_shape)

    def __call__(self, x: np.ndarray, training: bool = False, **options) -> np.ndarray:
        """Build on first use, check ``x`` against the built shape, then ``forward``
        (``options`` are passed on to it)."""
        self._check_input(x)
        if not self.built:
            self.build(x.shape[1:])
        elif x.shape[1:] != self.input_shape:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} was built for input shape "
                f"{(None, *self.input_shape)}, got input of shape {x.shape}."
            )
        return self.forward(x, training=training, **options)

    def build(self, input_shape) -> None:
        """Create ``params`` for inputs of ``input_shape`` (batch axis excluded)."""
        self.input_shape = tuple(int(d) for d in input_shape)
        self.built = True

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        """Fill ``grads``; return d(loss)/d(input) (may be None if ``needs_input_grad`` is off)."""
        raise NotImplementedError

    def output_shape(self, input_shape) -> tuple:
        """Return the output shape (batch axis excluded) for ``input_shape``."""
        return tuple(input_shape)

    def _check_input(self, x: np.ndarray) -> None:
        """Raise ValueError when ``x`` cannot be this layer's input; layers override this."""

    def _cached(self):
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__} {self.name!r}: backward() called before forward()."
            )
        return self._cache

    def _add_param(self, key: str, shape, initializer) -> None:
        value = initializer(tuple(shape), self.dtype, config.get_rng())
        self.params[key] = np.ascontiguousarray(value, dtype=self.dtype)
        self.grads[key] = np.zeros_like(self.params[key])

    def _add_state(self, key: str, shape, initializer) -> None:
        value = initializer(tuple(shape), self.dtype, config.get_rng())
        self.state[key] = np.ascontiguousarray(value, dtype=self.dtype)

    def count_params(self) -> int:
        """Return the number of weights (0 before the layer is built)."""
        return int(sum(p.size for p in self.params.values()))

    def get_config(self) -> dict:
        """Return the constructor arguments as a JSON-ready dict; ``cls(**config)`` rebuilds."""
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype.name}

    def __repr__(self):
        skip = {"name", "trainable", "dtype"}
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k not in skip)
        return f"{type(self).__name__}({args})"


def get_layer_class(class_name: str) -> type:
    """Return the Layer subclass called ``class_name`` (used when loading a saved model).

    Raises:
        ValueError: for a name that is not a known layer class.
    """
    from nnlite._utils import lookup

    return lookup(_LAYER_CLASSES, class_name, "layer class")
