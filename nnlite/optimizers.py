"""Optimizers: in-place updates of the layers' arrays, with lazily created state.

``Optimizer.step(layers)`` visits every trainable layer's params and calls ``_update`` once
per array. Hyperparameters are Python floats so that float32 weights stay float32.
"""

import math

import numpy as np

from nnlite._utils import lookup


def _positive(owner, name, value, allow_zero=False):
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        kind = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{owner}: {name} must be {kind} float, got {value!r}.")
    return float(value)


class Optimizer:
    """Base class: subclasses write ``_update(key, param, grad)`` and update ``param`` in place.

    Args:
        learning_rate: step size; may be changed between steps (schedulers do).
    """

    name = "optimizer"

    def __init__(self, learning_rate: float):
        self.learning_rate = _positive(type(self).__name__, "learning_rate", learning_rate)
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
        self.momentum = _positive("SGD", "momentum", momentum, allow_zero=True)
        if self.momentum >= 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}.")
        if nesterov and self.momentum == 0.0:
            raise ValueError("SGD: nesterov=True needs a momentum > 0.")
        self.nesterov = bool(nesterov)
        self.weight_decay = _positive("SGD", "weight_decay", weight_decay, allow_zero=True)

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

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        for arg, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not isinstance(value, int | float) or not 0.0 <= value < 1.0:
                raise ValueError(f"Adam: {arg} must be in [0, 1), got {value!r}.")
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = _positive("Adam", "epsilon", epsilon)

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

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        super().__init__(learning_rate)
        if not isinstance(rho, int | float) or not 0.0 <= rho < 1.0:
            raise ValueError(f"RMSprop: rho must be in [0, 1), got {rho!r}.")
        self.rho = float(rho)
        self.epsilon = _positive("RMSprop", "epsilon", epsilon)

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
