"""Optimizers: in-place updates of the layers' arrays, with lazily created state.

``Optimizer.step(layers)`` visits every trainable layer's params and calls ``_update`` once
per array. Hyperparameters are Python floats so that float32 weights stay float32 (NumPy
scalars are accepted and converted). ``get_state`` / ``set_state`` carry everything beyond
the config that the next step depends on, so a saved and reloaded run continues exactly.
"""

import math
import numbers

import numpy as np

from nnlite._utils import fraction, lookup, positive_number


class Optimizer:
    """Base class: subclasses write ``_update(key, param, grad)`` and update ``param`` in place.

    Args:
        learning_rate: step size; may be changed between steps (schedulers do).
    """

    name = "optimizer"
    #: Names of the per-parameter arrays ``_update`` keeps (momentum buffers, moments).
    slot_names: tuple[str, ...] = ()

    def __init__(self, learning_rate: float):
        self.learning_rate = positive_number(type(self).__name__, "learning_rate", learning_rate)
        self.iterations = 0
        self.state: dict[tuple[str, str], dict[str, np.ndarray]] = {}

    def step(self, layers) -> None:
        """Apply one update to every param of every trainable layer, using its ``grads``."""
        self.iterations += 1
        for layer in layers:
            if not layer.trainable:
                continue
            for key, param in layer.params.items():
                self._update((layer.name, key), param, layer.grads[key])

    def _slot(self, key, name, like):
        slots = self.state.setdefault(key, {})
        if name not in slots:
            slots[name] = np.zeros_like(like)
        return slots[name]

    def _update(self, key, param, grad) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"learning_rate": self.learning_rate}

    def get_state(self) -> dict:
        """Return what the next step depends on beyond ``get_config()``, as copies.

        Returns:
            ``{"iterations": int, "learning_rate": float, "slots": {(layer_name, param_key):
            {slot_name: array}}}``; the slots are the arrays named in ``slot_names`` (SGD's
            ``velocity``, Adam's ``m`` and ``v``, RMSprop's ``v``) created so far.
        """
        return {"iterations": self.iterations, "learning_rate": self.learning_rate,
                "slots": {key: {name: array.copy() for name, array in slots.items()}
                          for key, slots in self.state.items()}}

    def set_state(self, state: dict, layers=None) -> None:
        """Replace the step count, learning rate and slots with those of ``get_state()``.

        Args:
            state: a dict as returned by ``get_state`` (the arrays are copied).
            layers: when given, every slot must belong to a param of these layers, with
                its shape and dtype, so that a later ``step`` cannot broadcast a wrong one.

        Raises:
            ValueError: for a negative or non-integer ``iterations``, a learning rate that is
                not a positive number, an unknown slot name, a slot for a param that the
                layers do not have, or an array of the wrong shape or dtype, or non-finite.
            TypeError: when ``state`` is not a dict of that form.
        """
        owner = f"{type(self).__name__}.set_state"
        if not isinstance(state, dict) or not isinstance(state.get("slots"), dict):
            raise TypeError(f"{owner}: expected the dict get_state() returns, got "
                            f"{type(state).__name__}.")
        iterations = state.get("iterations")
        if (not isinstance(iterations, numbers.Integral) or isinstance(iterations, bool)
                or iterations < 0):
            raise ValueError(f"{owner}: iterations must be a non-negative int, got "
                             f"{iterations!r}.")
        learning_rate = positive_number(owner, "learning_rate", state.get("learning_rate"))
        params = None if layers is None else {
            (layer.name, key): p for layer in layers for key, p in layer.params.items()}
        slots = {}
        for key, named in state["slots"].items():
            if not isinstance(named, dict):
                raise TypeError(f"{owner}: the slots of {key!r} must be a dict, got "
                                f"{type(named).__name__}.")
            if params is not None and key not in params:
                raise ValueError(f"{owner}: a slot names param {key!r}, which the model "
                                 "does not have.")
            slots[key] = {}
            for name, array in named.items():
                if name not in self.slot_names:
                    raise ValueError(f"{owner}: unknown slot {name!r} for {key!r}; "
                                     f"{self!r} keeps {list(self.slot_names)}.")
                array = np.asarray(array)
                if params is not None and (array.shape != params[key].shape
                                           or array.dtype != params[key].dtype):
                    raise ValueError(f"{owner}: slot {name!r} of {key!r} must have shape "
                                     f"{params[key].shape} and dtype {params[key].dtype}, "
                                     f"got {array.shape} {array.dtype}.")
                if array.dtype.kind != "f" or not np.isfinite(array).all():
                    raise ValueError(f"{owner}: slot {name!r} of {key!r} must hold finite "
                                     f"floats, got dtype {array.dtype}.")
                slots[key][name] = np.array(array, order="C")  # a copy, never a view
        self.iterations = int(iterations)
        self.learning_rate = learning_rate
        self.state = slots

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay.

    The variant is PyTorch's: ``g += weight_decay * p``; ``v = momentum * v + g``; then
    ``p -= lr * v``, or with ``nesterov=True`` ``p -= lr * (g + momentum * v)``. Without
    momentum it is ``p -= lr * g``. (Keras folds the learning rate into ``v``; for a constant
    learning rate the two give the same trajectory.)
    """

    name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(learning_rate)
        self.momentum = fraction("SGD", "momentum", momentum)
        if nesterov and self.momentum == 0.0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0.")
        self.nesterov = bool(nesterov)
        self.weight_decay = positive_number("SGD", "weight_decay", weight_decay, allow_zero=True)

    @property
    def slot_names(self):
        # Plain SGD keeps nothing between steps.
        return ("velocity",) if self.momentum else ()

    def _update(self, key, param, grad):
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if not self.momentum:
            param -= self.learning_rate * grad
            return
        velocity = self._slot(key, "velocity", param)
        velocity *= self.momentum
        velocity += grad
        if self.nesterov:
            param -= self.learning_rate * (grad + self.momentum * velocity)
        else:
            param -= self.learning_rate * velocity

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}


class Adam(Optimizer):
    """Adam as in Kingma & Ba, Algorithm 1 (the PyTorch variant).

    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``p -= lr * m_hat / (sqrt(v_hat) + epsilon)`` with ``m_hat = m / (1 - b1^t)`` and
    ``v_hat = v / (1 - b2^t)``: epsilon is added after the bias correction. (Keras adds it to
    ``sqrt(v)`` before correcting, which differs in the first steps.)
    """

    name = "adam"
    slot_names = ("m", "v")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1 = fraction("Adam", "beta_1", beta_1)
        self.beta_2 = fraction("Adam", "beta_2", beta_2)
        self.epsilon = positive_number("Adam", "epsilon", epsilon)

    def _update(self, key, param, grad):
        m = self._slot(key, "m", param)
        v = self._slot(key, "v", param)
        m *= self.beta_1
        m += (1.0 - self.beta_1) * grad
        v *= self.beta_2
        v += (1.0 - self.beta_2) * (grad * grad)
        t = self.iterations
        correction_1 = 1.0 - self.beta_1**t
        correction_2 = 1.0 - self.beta_2**t
        denom = np.sqrt(v)
        denom *= 1.0 / math.sqrt(correction_2)
        denom += self.epsilon
        param -= (self.learning_rate / correction_1) * (m / denom)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """RMSprop, PyTorch's variant: ``v = rho v + (1 - rho) g^2``; ``p -= lr g / (sqrt(v) + eps)``.

    (Keras 3 adds epsilon inside the square root; the difference matters only when ``v`` is
    close to ``epsilon``.)
    """

    name = "rmsprop"
    slot_names = ("v",)

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        super().__init__(learning_rate)
        self.rho = fraction("RMSprop", "rho", rho)
        self.epsilon = positive_number("RMSprop", "epsilon", epsilon)

    def _update(self, key, param, grad):
        v = self._slot(key, "v", param)
        v *= self.rho
        v += (1.0 - self.rho) * (grad * grad)
        denom = np.sqrt(v)
        denom += self.epsilon
        param -= self.learning_rate * (grad / denom)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


_CLASSES = {cls.name: cls for cls in (SGD, Adam, RMSprop)}


def get(identifier) -> Optimizer:
    """Resolve an optimizer: a name gives a new one with default settings; objects pass.

    Raises:
        ValueError: for an unknown name (the message lists the known names).
        TypeError: for anything else.
    """
    if isinstance(identifier, str):
        return lookup(_CLASSES, identifier.lower(), "optimizer")()
    if isinstance(identifier, dict) and "name" in identifier:
        return lookup(_CLASSES, identifier["name"], "optimizer")(**identifier.get("config", {}))
    if isinstance(identifier, Optimizer):
        return identifier
    raise TypeError(f"optimizer must be a name or an Optimizer, got {identifier!r}.")


def serialize(optimizer: Optimizer) -> dict:
    """Return ``{"name", "config"}`` for a built-in optimizer."""
    if _CLASSES.get(optimizer.name) is not type(optimizer):
        raise ValueError(f"Optimizer {optimizer!r} is not built in, so it cannot be saved.")
    return {"name": optimizer.name, "config": optimizer.get_config()}
