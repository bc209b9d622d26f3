"""The Layer contract every nnlite layer follows."""

import itertools

import numpy as np

from nnlite import config
from nnlite._utils import unique_name

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

    # Capabilities: class attributes a model reads when it plans a pass. Each one that is True
    # promises a keyword argument of ``forward`` or ``backward``; the model passes those
    # keywords per call, so no flag is ever left on a layer and a layer taken from one model
    # behaves in the next exactly like a fresh one.

    #: ``backward(grad_output, fused=True)`` takes d(loss)/d(pre-activation) directly: the
    #: model's stable ``p - y`` path for a sigmoid or softmax output.
    fusable = False
    #: ``backward(grad_output, input_grad=False)`` fills ``grads`` and returns None, skipping
    #: the input gradient (the model asks this of its first layer, whose input is data).
    skips_input_grad = False
    #: ``forward(x, training, activate=False)`` returns the pre-activation and leaves the
    #: activation to the next layer (see ``absorbs_activation``).
    defers_activation = False
    #: ``forward(x, training, activation=act)`` applies ``act`` after the layer's own work;
    #: offered for activations with ``commutes_with_max`` (max-pooling).
    absorbs_activation = False
    #: ``forward(x, training, pool_window=(ph, pw))`` returns the output grouped by the
    #: offsets of the next layer's pooling windows, ``(n, ph*pw, oh // ph, ow // pw, c)``
    #: (see ``takes_windows``); ``backward`` takes the gradient in that layout.
    groups_windows = False
    #: ``forward(x, training, windows=True)`` pools such a grouped input, and ``backward``
    #: returns its gradient in that layout; ``pool_window()`` says when it can.
    takes_windows = False
    #: ``forward(x, training, mask=mask)`` takes a boolean ``(n, t)`` mask of real steps.
    supports_masking = False
    #: The layer takes integer ids (Embedding): the model does not cast its input.
    integer_input = False
    #: How the layer uses the cores (see ``nnlite._parallel``): ``"split"``, it shares its
    #: element-wise work (most of its time) out over shards of the batch on threads itself,
    #: and wants BLAS on one thread meanwhile; ``"either"``, it runs well both ways (little
    #: work, or products it shares out when they are large); ``"blas"``, it relies on
    #: BLAS's own threads. A model splits its batches when a layer says ``"split"`` and none
    #: says ``"blas"``.
    threading = "blas"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A built-in keeps its name: a user's class called "Dense" must not silently replace
        # the class that saved model files mean by "Dense" (it can still be used directly).
        if cls.__name__.startswith("_") and _is_builtin(cls):
            return   # nnlite's private bases (_Conv, _Pooling, ...) are not layers to load
        previous = _LAYER_CLASSES.get(cls.__name__)
        if previous is None or not _is_builtin(previous) or _is_builtin(cls):
            _LAYER_CLASSES[cls.__name__] = cls

    def __init__(self, name: str | None = None, trainable: bool = True, dtype=None,
                 input_shape=None):
        if name is None:
            name = unique_name(_snake_case(type(self).__name__))
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
        self.declared_input_shape = None if input_shape is None else tuple(input_shape)

    def __call__(self, x: np.ndarray, training: bool = False, mask=None) -> np.ndarray:
        """Check ``x`` (building the layer on first use), then ``forward``.

        ``mask`` reaches ``forward`` only when the layer ``supports_masking``.
        """
        self.prepare(x)
        if self.supports_masking:
            return self.forward(x, training=training, mask=mask)
        return self.forward(x, training=training)

    def prepare(self, x: np.ndarray) -> None:
        """Check ``x`` as this layer's input, building the layer for it if not built yet.

        A failed check leaves the layer as it was (an unbuilt layer stays unbuilt).

        Raises:
            ValueError: when ``x`` cannot be this layer's input.
        """
        self._check_input(x)
        if not self.built:
            self.build_checked(x.shape[1:])
        elif x.shape[1:] != self.input_shape:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} was built for input shape "
                f"{(None, *self.input_shape)}, got input of shape {x.shape}."
            )

    def build_checked(self, input_shape) -> None:
        """``build``, undone if it raises, so that a bad shape never half-builds the layer."""
        try:
            self.build(input_shape)
        except BaseException:
            self.params, self.grads, self.state = {}, {}, {}
            self.input_shape, self.built = None, False
            raise

    def build(self, input_shape) -> None:
        """Create ``params`` for inputs of ``input_shape`` (batch axis excluded)."""
        self.input_shape = tuple(int(d) for d in input_shape)
        self.built = True

    def compute_mask(self, x, mask):
        """Return the mask for the next layer: passed on by masking layers, else dropped."""
        return mask if self.supports_masking else None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        """Fill ``grads``; return d(loss)/d(input) (None for integer inputs)."""
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

    def weights(self) -> list[tuple[str, np.ndarray]]:
        """Every saved array as ``(key, array)``: params, then state (Keras' order)."""
        return [*self.params.items(), *self.state.items()]

    def count_params(self) -> int:
        """Return the number of weights, state included (0 before the layer is built)."""
        return int(sum(a.size for _, a in self.weights()))

    def count_trainable(self) -> int:
        """Return the number of weights an optimizer may change (0 when frozen)."""
        return int(sum(p.size for p in self.params.values())) if self.trainable else 0

    def get_config(self) -> dict:
        """Return the constructor arguments as a JSON-ready dict; ``cls(**config)`` rebuilds."""
        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype.name}

    def __repr__(self):
        skip = {"name", "trainable", "dtype"}
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k not in skip)
        return f"{type(self).__name__}({args})"


def _is_builtin(cls) -> bool:
    return cls.__module__.startswith("nnlite.layers.")


def get_layer_class(class_name: str) -> type:
    """Return the Layer subclass called ``class_name`` (used when loading a saved model).

    Raises:
        ValueError: for a name that is not a known layer class.
    """
    from nnlite._utils import lookup

    if not isinstance(class_name, str):
        raise ValueError(f"layer class name must be a string, got {class_name!r}.")
    return lookup(_LAYER_CLASSES, class_name, "layer class")
