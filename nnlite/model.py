"""Sequential: a stack of layers with Keras' compile / fit / evaluate / predict."""

import math
import signal
import threading
import warnings

import numpy as np

from nnlite import activations, config
from nnlite import losses as losses_module
from nnlite import optimizers as optimizers_module
from nnlite.callbacks import Callback, History, ProgressBar
from nnlite.layers.base import Layer
from nnlite.layers.conv import Conv2D, MaxPool2D


class TrainingDivergedError(RuntimeError, FloatingPointError):
    """Raised by ``fit`` when a batch's loss is NaN or infinite."""


def _relu_before_pool(layers):
    """Indices of the Conv2D layers with ReLU whose next layer is a MaxPool2D."""
    return {i for i, (layer, after) in enumerate(zip(layers[:-1], layers[1:], strict=True))
            if isinstance(layer, Conv2D) and type(layer.activation) is activations.ReLU
            and isinstance(after, MaxPool2D)}


class Sequential:
    """A linear stack of layers trained by backpropagation.

    Args:
        layers: layers in order (more can be added with ``add``).
        input_shape: shape of one sample (no batch axis); when given the model is built at
            once, otherwise on the first call of ``fit``, ``predict`` or ``build``.
        name: the model's name, shown by ``summary``.

    >>> import numpy as np, nnlite
    >>> from nnlite.layers import Dense
    >>> nnlite.set_seed(0)
    >>> model = nnlite.Sequential([Dense(8, activation="relu"), Dense(1)], input_shape=(3,))
    >>> model.compile(loss="mse", optimizer="sgd")
    >>> history = model.fit(np.ones((4, 3)), np.ones(4), epochs=2, verbose=0)
    >>> model.predict(np.ones((2, 3))).shape
    (2, 1)
    """

    def __init__(self, layers=None, input_shape=None, name="sequential"):
        self.name = name
        self.layers: list[Layer] = []
        self.loss = self.optimizer = None
        self.metrics: list[str] = []
        self.stop_training = False
        self.history = None
        self.metadata: dict = {}
        self._input_shape = None
        for layer in layers or []:
            self.add(layer)
        if input_shape is None and self.layers:
            input_shape = self.layers[0].declared_input_shape
        if input_shape is not None:
            self.build(input_shape)

    # ---- structure ---------------------------------------------------------------------

    def add(self, layer: Layer) -> None:
        """Append a layer.

        Raises:
            TypeError: if ``layer`` is not a Layer.
            ValueError: if its name is already used in this model.
        """
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer, got {type(layer).__name__}.")
        if any(existing.name == layer.name for existing in self.layers):
            raise ValueError(f"Sequential: layer name {layer.name!r} is used twice; "
                             "give each layer a unique name.")
        self.layers.append(layer)

    def build(self, input_shape) -> None:
        """Build every layer for samples of ``input_shape`` (batch axis excluded)."""
        shape = tuple(int(d) for d in input_shape)
        self._input_shape = shape
        for layer in self.layers:
            if not layer.built:
                layer.build(shape)
            elif layer.input_shape != shape:
                raise ValueError(
                    f"{type(layer).__name__} {layer.name!r} was built for input shape "
                    f"{(None, *layer.input_shape)}, but the layer before it gives "
                    f"{(None, *shape)}."
                )
            shape = tuple(layer.output_shape(shape))

    @property
    def built(self) -> bool:
        return bool(self.layers) and all(layer.built for layer in self.layers)

    @property
    def dtype(self) -> np.dtype:
        return self.layers[0].dtype if self.layers else config.get_dtype()

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    # ---- forward and backward ----------------------------------------------------------

    def forward(self, x, training=False):
        """Run ``x`` through every layer and return the output.

        A Conv2D with ReLU followed by MaxPool2D runs as one step: the ReLU is applied after
        the pooling, on a quarter of the values. The outputs and gradients are the same as
        layer by layer (ReLU is monotone, and its gradient is 0 where the maximum is not
        positive either way); each layer's ``backward`` knows from its cache which it did.
        """
        moved = _relu_before_pool(self.layers)
        for i, layer in enumerate(self.layers):
            if i in moved:
                x = layer(x, training=training, activate=False)
            elif i - 1 in moved:
                x = layer(x, training=training, activation=self.layers[i - 1].activation)
            else:
                x = layer(x, training=training)
        return x

    __call__ = forward

    def backward(self, grad_output, fused=False, input_grad=True):
        """Backpropagate ``grad_output`` through every layer, filling each layer's ``grads``.

        Args:
            grad_output: d(loss)/d(output), or d(loss)/d(pre-activation of the last layer)
                when ``fused`` is True.
            input_grad: also compute the gradient w.r.t. the model's input. Training does
                not need it, and skipping it saves the first layer's largest product.

        Returns:
            The gradient w.r.t. the model's input, or None when it was not asked for or the
            first layer takes integer ids.
        """
        self.layers[0].needs_input_grad = input_grad
        grad = grad_output
        for i, layer in enumerate(reversed(self.layers)):
            grad = layer.backward(grad, fused=True) if (fused and i == 0) else layer.backward(grad)
            if grad is None:
                break
        return grad

    def _uses_fused_gradient(self) -> bool:
        # The single place where the stable p - y gradient is chosen. Valid pairs, when the
        # last layer applies the activation itself and the loss takes probabilities:
        #   sigmoid + binary_crossentropy                 -> p - y
        #   softmax + categorical_crossentropy            -> sum(y) * p - y  (p - y for one-hot)
        #   softmax + sparse_categorical_crossentropy     -> p - one_hot(y)
        last = self.layers[-1]
        if not last.fusable or getattr(self.loss, "from_logits", True):
            return False
        act = type(last.activation)
        if isinstance(self.loss, losses_module.BinaryCrossentropy):
            return act is activations.Sigmoid
        if isinstance(self.loss, losses_module.CategoricalCrossentropy):
            return act is activations.Softmax
        return False

    def _loss_and_gradients(self, x, y, sample_weight=None, training=True, input_grad=False):
        """Forward, loss and backward on one batch; returns (loss, y_pred, input gradient)."""
        y_pred = self.forward(x, training=training)
        loss = self.loss(y, y_pred, sample_weight)
        if not math.isfinite(loss):
            return loss, y_pred, None
        if self._uses_fused_gradient():
            targets = self.loss.one_hot_targets(y, y_pred)
            if isinstance(self.loss, losses_module.CategoricalCrossentropy):
                grad = y_pred * targets.sum(axis=-1, keepdims=True) - targets
            else:
                grad = y_pred - targets
            grad = self.loss.reduce_gradient(grad, sample_weight)
            return loss, y_pred, self.backward(grad, fused=True, input_grad=input_grad)
        grad = self.loss.gradient(y, y_pred, sample_weight)
        return loss, y_pred, self.backward(grad, input_grad=input_grad)

    def compute_loss(self, x, y, sample_weight=None) -> float:
        """Return the compiled loss of the model on ``(x, y)``, in inference mode."""
        self._require_compiled("compute_loss")
        return self.loss(y, self.forward(x, training=False), sample_weight)

    def compute_gradients(self, x, y, sample_weight=None, training=True):
        """Fill every layer's ``grads`` with d(loss)/d(param) on one batch, without updating.

        Returns:
            The gradient w.r.t. ``x`` (None when the first layer takes integer ids).
        """
        self._require_compiled("compute_gradients")
        return self._loss_and_gradients(x, y, sample_weight, training, input_grad=True)[2]

    # ---- training ----------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None) -> None:
        """Choose the optimizer, loss and metrics used by ``fit`` and ``evaluate``.

        Args:
            optimizer: name (``"sgd"``, ``"adam"``, ``"rmsprop"``) or Optimizer object.
            loss: name (``"mse"``, ``"binary_crossentropy"``, ``"categorical_crossentropy"``,
                ``"sparse_categorical_crossentropy"``) or Loss object.
            metrics: list of ``"accuracy"`` (kind chosen from the loss), ``"mse"``, ``"mae"``.
        """
        if loss is None:
            raise ValueError("compile() needs a loss, e.g. loss='mse' or "
                             "loss='sparse_categorical_crossentropy'.")
        self.loss = losses_module.get(loss)
        self.optimizer = optimizers_module.get(optimizer)
        if isinstance(metrics, str):
            metrics = [metrics]
        for metric in metrics or []:
            if metric not in _METRICS:
                from nnlite._utils import lookup

                lookup(dict.fromkeys(_METRICS), metric, "metric")
        self.metrics = [_CANONICAL.get(m, m) for m in metrics or []]

    def train_on_batch(self, x, y, sample_weight=None) -> float:
        """Run one optimizer step on ``(x, y)`` and return the batch loss (before the step)."""
        self._require_compiled("train_on_batch")
        x, y = self._check_xy(x, y, "train_on_batch")
        loss, _, _ = self._loss_and_gradients(x, y, sample_weight)
        if not math.isfinite(loss):
            raise TrainingDivergedError(f"train_on_batch: the loss is {loss}; "
                                        "weights were not updated.")
        self.optimizer.step(self.layers)
        return loss

    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, validation_split=0.0,
            shuffle=True, callbacks=None, verbose=1, sample_weight=None, class_weight=None,
            initial_epoch=0):
        """Train for ``epochs`` passes over ``(x, y)`` in minibatches.

        Args:
            x: inputs, shape ``(n, ...)``.
            y: targets, shape ``(n, ...)`` (integer labels for the sparse loss).
            epochs: index of the last epoch (training runs from ``initial_epoch``).
            batch_size: samples per gradient step.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, w_val)`` scored each epoch.
            validation_split: fraction of ``(x, y)`` held out for validation, chosen at
                random with nnlite's seed (stratified for classification losses).
            shuffle: visit samples in a new random order each epoch; False keeps the order.
            callbacks: list of Callback objects.
            verbose: 0 silent, 1 one progress bar per epoch, 2 one line per epoch.
            sample_weight: per-sample weights ``(n,)``; a batch's loss is
                ``sum(w * l) / sum(w)``.
            class_weight: dict from class index to weight, turned into per-sample weights.

        Returns:
            A History whose ``history`` dict holds one value per epoch for each log.

        Raises:
            RuntimeError: before ``compile``.
            ValueError: for mismatched lengths, non-finite values or bad targets.
            TrainingDivergedError: when a batch's loss is NaN or infinite; the weights are
                those from before that batch.
        """
        self._require_compiled("fit")
        x, y = self._check_xy(x, y, "fit")
        weights = self._sample_weights(y, len(x), sample_weight, class_weight)
        if validation_data is None and validation_split:
            x, y, weights, validation_data = self._split_validation(x, y, weights,
                                                                    validation_split)
        if validation_data is not None:
            validation_data = self._check_validation(validation_data)
        if not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise ValueError(f"fit: batch_size must be a positive int, got {batch_size!r}.")

        n = len(x)
        steps = math.ceil(n / batch_size)
        history = History()
        callback_list = [ProgressBar(verbose)] if verbose else []
        for callback in callbacks or []:
            if not isinstance(callback, Callback):
                raise TypeError(f"fit: callbacks must be Callback objects, got {callback!r}.")
            callback_list.append(callback)
        # History goes last so that it records what other callbacks add to an epoch's logs
        # (the learning_rate of the schedulers).
        callback_list.append(history)
        self.history = history
        self.stop_training = False
        self._fit_state = {"epochs": epochs, "steps": steps}
        for callback in callback_list:
            callback.set_model(self)
            callback.on_train_begin({})

        rng = config.get_rng()
        # Shuffled batches are gathered into one reused buffer instead of a new array each.
        buffer = np.empty((min(batch_size, n), *x.shape[1:]), dtype=x.dtype) if shuffle else None
        interrupted = _InterruptFlag()
        with interrupted:
            for epoch in range(initial_epoch, epochs):
                for callback in callback_list:
                    callback.on_epoch_begin(epoch, {})
                order = rng.permutation(n) if shuffle else None
                totals = _RunningMeans()
                for step in range(steps):
                    index = slice(step * batch_size, (step + 1) * batch_size)
                    if order is None:
                        x_batch = x[index]  # a view: no copy when visiting in order
                    else:
                        index = order[index]
                        # mode="clip": the permutation's indices are all valid, and the
                        # default "raise" with out= copies through an extra buffer.
                        x_batch = np.take(x, index, axis=0, out=buffer[:len(index)],
                                          mode="clip")
                    batch_w = None if weights is None else weights[index]
                    loss, y_pred, _ = self._loss_and_gradients(x_batch, y[index], batch_w)
                    if not math.isfinite(loss):
                        raise TrainingDivergedError(
                            f"fit: the loss became {loss} at epoch {epoch + 1}, batch "
                            f"{step + 1}; training stopped with the weights from before that "
                            "batch. Try a smaller learning_rate or scale the inputs."
                        )
                    self.optimizer.step(self.layers)
                    totals.add("loss", loss, batch_w, len(y_pred))
                    for name in self.metrics:
                        values = _METRICS[name](self.loss, y[index], y_pred)
                        totals.add(name, values, batch_w)
                    logs = totals.means()
                    for callback in callback_list:
                        callback.on_batch_end(step, logs)
                    if interrupted.flag:
                        break
                if interrupted.flag:
                    warnings.warn(f"fit: interrupted during epoch {epoch + 1}, after batch "
                                  f"{step + 1}; the weights of that batch are kept.",
                                  stacklevel=2)
                    break
                logs = totals.means()
                if validation_data is not None:
                    val = self.evaluate(*validation_data[:2], sample_weight=validation_data[2])
                    logs.update({f"val_{k}": v for k, v in val.items()})
                for callback in callback_list:
                    callback.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        for callback in callback_list:
            callback.on_train_end({})
        return history

    def evaluate(self, x, y, batch_size=256, sample_weight=None, verbose=0) -> dict:
        """Return ``{"loss": ..., metric: ...}`` over all of ``(x, y)`` in inference mode."""
        self._require_compiled("evaluate")
        x, y = self._check_xy(x, y, "evaluate")
        weights = self._sample_weights(y, len(x), sample_weight, None)
        totals = _RunningMeans()
        for start in range(0, len(x), batch_size):
            index = slice(start, start + batch_size)
            batch_w = None if weights is None else weights[index]
            y_pred = self.forward(x[index], training=False)
            totals.add("loss", self.loss(y[index], y_pred, batch_w), batch_w, len(y_pred))
            for name in self.metrics:
                totals.add(name, _METRICS[name](self.loss, y[index], y_pred), batch_w)
        result = totals.means()
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in result.items()))
        return result

    def predict(self, x, batch_size=256, verbose=0) -> np.ndarray:
        """Return the model's output for ``x``, computed in batches in inference mode."""
        x = self._check_x(x, "predict")
        outputs = None
        for start in range(0, len(x), batch_size):
            out = self.forward(x[start:start + batch_size], training=False)
            if outputs is None:
                outputs = np.empty((len(x), *out.shape[1:]), dtype=out.dtype)
            outputs[start:start + len(out)] = out
        return outputs

    # ---- weights, summary, saving ------------------------------------------------------

    def get_weights(self) -> list[np.ndarray]:
        """Return copies of every layer's params, layer by layer, in each layer's key order."""
        return [p.copy() for layer in self.layers for p in layer.params.values()]

    def set_weights(self, weights) -> None:
        """Copy ``weights`` (as returned by ``get_weights``) into the layers' arrays in place.

        Raises:
            ValueError: when the number of arrays or a shape does not match.
        """
        targets = [(layer, key, p) for layer in self.layers for key, p in layer.params.items()]
        weights = list(weights)
        if len(weights) != len(targets):
            raise ValueError(f"set_weights: the model has {len(targets)} weight arrays, "
                             f"got {len(weights)}.")
        for (layer, key, param), value in zip(targets, weights, strict=True):
            value = np.asarray(value)
            if value.shape != param.shape:
                raise ValueError(f"set_weights: {layer.name!r}.{key} has shape {param.shape}, "
                                 f"got {value.shape}.")
            param[...] = value

    def summary(self, print_fn=print) -> None:
        """Print a table of layers with their output shapes and parameter counts.

        A "Trainable" column appears when some layer is frozen (``trainable = False``).
        """
        frozen_any = any(not layer.trainable for layer in self.layers)
        rows = [("Layer (type)", "Output Shape", "Param #", "Trainable")]
        shape = self._input_shape
        for layer in self.layers:
            if shape is not None and layer.built:
                shape = tuple(layer.output_shape(shape))
                shown = str((None, *shape)).replace(",)", ")")
            else:
                shape, shown = None, "? (not built)"
            rows.append((f"{layer.name} ({type(layer).__name__})", shown,
                         f"{layer.count_params():,}", "Y" if layer.trainable else "N (frozen)"))
        widths = [max(len(r[i]) for r in rows) + 3 for i in range(4)]
        columns = 4 if frozen_any else 3

        def line(cells):
            text = cells[0].ljust(widths[0]) + cells[1].ljust(widths[1])
            text += cells[2].rjust(widths[2] - 3)
            if columns == 4:
                text += "   " + cells[3]
            return " " + text

        rule = sum(widths[:columns]) + 1
        lines = [f'Model: "{self.name}"', "_" * rule, line(rows[0]), "=" * rule]
        lines += [line(r) for r in rows[1:]] + ["=" * rule]
        total = self.count_params()
        trainable = sum(layer.count_params() for layer in self.layers if layer.trainable)
        lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}", "_" * rule]
        print_fn("\n".join(lines))

    def get_config(self) -> dict:
        """Return a JSON-ready description of the architecture and compile settings."""
        config_ = {
            "name": self.name,
            "input_shape": list(self._input_shape) if self._input_shape is not None else None,
            "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                       for layer in self.layers],
        }
        if self.loss is not None:
            config_["compile"] = {"loss": losses_module.serialize(self.loss),
                                  "optimizer": optimizers_module.serialize(self.optimizer),
                                  "metrics": list(self.metrics)}
        return config_

    def save(self, path, metadata=None) -> None:
        """Write the model to one file (JSON config plus arrays, no pickle); see ``load_model``.

        Args:
            path: file path; ``.nnlite`` is the usual suffix.
            metadata: optional JSON-ready dict stored beside the model (``model.metadata``).
        """
        from nnlite.serialization import save_model

        save_model(self, path, metadata)

    # ---- input checks ------------------------------------------------------------------

    def _require_compiled(self, method):
        if self.loss is None or self.optimizer is None:
            raise RuntimeError(f"{method}() needs compile() first: call "
                               "model.compile(loss=..., optimizer=...).")
        if not self.layers:
            raise RuntimeError(f"{method}(): the model has no layers; add some first.")

    def _check_x(self, x, method):
        if not self.layers:
            raise RuntimeError(f"{method}(): the model has no layers; add some first.")
        x = np.asarray(x)
        if x.ndim < 1 or len(x) == 0:
            raise ValueError(f"{method}: x must hold at least one sample, got shape {x.shape}.")
        if getattr(self.layers[0], "integer_input", False) and x.dtype.kind in "iu":
            pass
        elif x.dtype.kind in "fiub":
            x = x.astype(self.dtype, copy=False)
            _check_finite(x, "x", method)
        else:
            raise ValueError(f"{method}: x must be numeric, got dtype {x.dtype}.")
        if not self.built or self._input_shape is None:
            self.build(x.shape[1:])
        return x

    def _check_xy(self, x, y, method):
        x = self._check_x(x, method)
        y = np.asarray(y)
        if y.ndim == 0 or len(y) != len(x):
            raise ValueError(f"{method}: x and y must have the same number of samples, got "
                             f"{len(x)} and {y.shape[0] if y.ndim else 'a scalar'}.")
        if y.dtype.kind in "fc":
            _check_finite(y, "y", method)
        elif y.dtype.kind not in "iub":
            raise ValueError(f"{method}: y must be numeric, got dtype {y.dtype}; encode "
                             "string labels as integers first.")
        if self.loss is not None:
            shape = self._input_shape
            for layer in self.layers:
                shape = tuple(layer.output_shape(shape))
            # Checked once for the whole data set, so errors give the row in the user's y.
            y = self.loss.check_targets(y, (len(y), *shape))
        return x, y

    def _check_validation(self, data):
        if not isinstance(data, tuple | list) or len(data) not in (2, 3):
            raise ValueError("fit: validation_data must be (x_val, y_val) or "
                             f"(x_val, y_val, sample_weight), got {type(data).__name__}.")
        x_val, y_val = self._check_xy(data[0], data[1], "fit (validation_data)")
        return x_val, y_val, (data[2] if len(data) == 3 else None)

    def _class_labels(self, y):
        """Integer class of each sample for classification losses, else None."""
        if isinstance(self.loss, losses_module.SparseCategoricalCrossentropy):
            return np.asarray(y).reshape(len(y), -1)[:, 0].astype(np.intp)
        if isinstance(self.loss, losses_module.CategoricalCrossentropy):
            return np.asarray(y).reshape(len(y), -1).argmax(axis=1)
        if isinstance(self.loss, losses_module.BinaryCrossentropy):
            flat = np.asarray(y).reshape(len(y), -1)
            return flat[:, 0].round().astype(np.intp) if flat.shape[1] == 1 else None
        return None

    def _sample_weights(self, y, n, sample_weight, class_weight):
        weights = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=self.dtype).reshape(-1)
            if len(weights) != n:
                raise ValueError(f"sample_weight must have one weight per sample ({n}), got "
                                 f"shape {np.shape(sample_weight)}.")
            if not np.all(np.isfinite(weights)) or np.any(weights < 0):
                raise ValueError("sample_weight must be finite and non-negative.")
        if class_weight:
            labels = self._class_labels(y)
            if labels is None:
                raise ValueError("class_weight needs a classification loss "
                                 f"({self.loss.name} was compiled).")
            missing = set(np.unique(labels).tolist()) - set(class_weight)
            if missing:
                raise ValueError(f"class_weight has no weight for classes {sorted(missing)}.")
            lookup_table = np.zeros(max(max(class_weight), labels.max()) + 1, dtype=self.dtype)
            for cls, w in class_weight.items():
                lookup_table[cls] = w
            per_class = lookup_table[labels]
            weights = per_class if weights is None else weights * per_class
        return weights

    def _split_validation(self, x, y, weights, fraction):
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"fit: validation_split must be in (0, 1), got {fraction!r}.")
        from sklearn.model_selection import train_test_split

        index = np.arange(len(x))
        seed = int(config.get_rng().integers(2**31 - 1))
        labels = self._class_labels(y)
        try:
            train, val = train_test_split(index, test_size=fraction, random_state=seed,
                                          stratify=labels)
        except ValueError:
            # Too few samples of some class to stratify: fall back to a plain random split.
            train, val = train_test_split(index, test_size=fraction, random_state=seed)
        train.sort()
        w_train = None if weights is None else weights[train]
        w_val = None if weights is None else weights[val]
        return x[train], y[train], w_train, (x[val], y[val], w_val)


def _check_finite(a, name, method, chunk=8192):
    if a.dtype.kind != "f":
        return
    # In chunks, so the check never needs a mask the size of the whole data set.
    for start in range(0, len(a), chunk):
        part = a[start:start + chunk]
        if not np.isfinite(part).all():
            bad = np.argwhere(~np.isfinite(part))[0]
            bad[0] += start
            raise ValueError(f"{method}: {name} contains NaN or inf (first at index "
                             f"{tuple(int(i) for i in bad)}); clean or impute the data first.")


class _InterruptFlag:
    """Turn Ctrl-C into a flag checked after each batch, so a batch is never cut in half."""

    def __init__(self):
        self.flag = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.flag:  # a second Ctrl-C aborts at once
            raise KeyboardInterrupt
        self.flag = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class _RunningMeans:
    """Sample-weighted running means of batch values (losses and metrics)."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.weights: dict[str, float] = {}

    def add(self, name, values, weight=None, count=None):
        if np.ndim(values) == 0:  # a batch mean: weigh it by the batch's total weight
            total_w = float(count) if weight is None else float(np.sum(weight))
            total = float(values) * total_w
        else:
            total_w = float(len(values)) if weight is None else float(np.sum(weight))
            total = float(np.sum(values if weight is None else values * weight))
        self.sums[name] = self.sums.get(name, 0.0) + total
        self.weights[name] = self.weights.get(name, 0.0) + total_w

    def means(self):
        return {k: self.sums[k] / self.weights[k] if self.weights[k] else float("nan")
                for k in self.sums}


def _per_sample(values):
    return values.reshape(len(values), -1).mean(axis=1)


def _accuracy(loss, y_true, y_pred):
    if isinstance(loss, losses_module.SparseCategoricalCrossentropy):
        labels = np.asarray(y_true).reshape(y_pred.shape[:-1])
        return _per_sample(y_pred.argmax(axis=-1) == labels)
    categorical = isinstance(loss, losses_module.CategoricalCrossentropy) or (
        not isinstance(loss, losses_module.BinaryCrossentropy) and y_pred.shape[-1] > 1)
    if categorical:
        return _per_sample(y_pred.argmax(axis=-1) == np.asarray(y_true).argmax(axis=-1))
    threshold = 0.0 if getattr(loss, "from_logits", False) else 0.5
    return _per_sample((y_pred > threshold) == (np.asarray(y_true).reshape(y_pred.shape) > 0.5))


def _mse(loss, y_true, y_pred):
    return _per_sample((y_pred - np.asarray(y_true).reshape(y_pred.shape)) ** 2)


def _mae(loss, y_true, y_pred):
    return _per_sample(np.abs(y_pred - np.asarray(y_true).reshape(y_pred.shape)))


_METRICS = {"accuracy": _accuracy, "mse": _mse, "mae": _mae}
_CANONICAL = {"acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae"}
_METRICS.update({alias: _METRICS[name] for alias, name in _CANONICAL.items()})
