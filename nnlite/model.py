"""Sequential: a stack of layers with Keras' compile / fit / evaluate / predict."""

import contextlib
import math
import warnings
from typing import NamedTuple

import numpy as np

from nnlite import _parallel as parallel
from nnlite import activations, config
from nnlite import losses as losses_module
from nnlite import metrics as metrics_module
from nnlite import optimizers as optimizers_module
from nnlite._inputs import (
    as_array,
    cast_finite,
    check_finite,
    sample_weights,
    split_validation,
)
from nnlite._training import InterruptFlag, RunningMeans, callback_list_for, end_training
from nnlite._utils import fraction, non_negative_int, positive_int, unique_name
from nnlite.layers.base import Layer, get_layer_class


class TrainingDivergedError(RuntimeError, FloatingPointError):
    """Raised by ``fit`` when a batch's loss is NaN or infinite."""


class _Step(NamedTuple):
    """How the model runs one layer in a pass, planned once from the layers' capabilities."""

    #: Keyword options of ``forward``: ``activate=False`` (the next layer applies the
    #: activation), ``activation=act`` (apply the previous layer's), ``pool_window=(ph, pw)``
    #: (group the output by the next layer's pooling windows), ``windows=True`` (pool such
    #: a grouped input).
    options: dict
    #: False when the input comes grouped by windows: its shape is the plan's, not one
    #: the layer could check.
    checks_input: bool = True


class _Run(NamedTuple):
    """One ``fit`` call's checked data and settings."""

    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray | None
    validation: tuple | None
    batch_size: int
    steps: int
    shuffle: bool


class Sequential:
    """A linear stack of layers trained by backpropagation.

    Args:
        layers: layers in order (more can be added with ``add``).
        input_shape: shape of one sample (no batch axis); when given the model is built at
            once, otherwise on the first call of ``fit``, ``predict`` or ``build``.
        name: the model's name, shown by ``summary``; by default ``"sequential"``, then
            ``"sequential_1"``, ... for later models, as in Keras.

    Attributes:
        preprocessing: None, or an object (such as ``nnlite.text.TextVectorizer``) that
            ``fit``, ``evaluate`` and ``predict`` apply to raw input (strings) first; saved
            with the model.

    >>> import numpy as np, nnlite
    >>> from nnlite.layers import Dense
    >>> nnlite.set_seed(0)
    >>> model = nnlite.Sequential([Dense(8, activation="relu"), Dense(1)], input_shape=(3,))
    >>> model.compile(loss="mse", optimizer="sgd")
    >>> history = model.fit(np.ones((4, 3)), np.ones(4), epochs=2, verbose=0)
    >>> model.predict(np.ones((2, 3))).shape
    (2, 1)
    """

    def __init__(self, layers=None, input_shape=None, name=None):
        self.name = unique_name("sequential") if name is None else str(name)
        self.layers: list[Layer] = []
        self.loss = self.optimizer = None
        self.metrics: list[str] = []
        self._metric_objects: list = []
        self.stop_training = False
        self.history = None
        self.metadata: dict = {}
        self.preprocessing = None
        self._input_shape = None
        self._plan: list[_Step] | None = None
        if layers is not None and not isinstance(layers, list | tuple):
            raise TypeError(f"Sequential: layers must be a list of Layer objects, got "
                            f"{type(layers).__name__}.")
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
        self._plan = None

    def build(self, input_shape) -> None:
        """Build every layer for samples of ``input_shape`` (batch axis excluded).

        Raises:
            ValueError: when a layer cannot take the shape it would get; no layer is left
                built by a failed call.
        """
        try:
            shape = tuple(int(d) for d in input_shape)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Sequential.build: input_shape must be a tuple of ints, got "
                             f"{input_shape!r}.") from exc
        self._build_layers(shape, first_input=None)

    def _build_layers(self, shape, first_input):
        """Check and build the layers in order for samples of ``shape``; return the layers
        built by this call (a failure unbuilds them and re-raises)."""
        built_now, start = [], shape
        try:
            for i, layer in enumerate(self.layers):
                if i == 0 and first_input is not None:
                    layer._check_input(first_input)
                else:
                    _check_shape(layer, shape)
                if not layer.built:
                    try:
                        layer.build_checked(shape)
                    except (IndexError, TypeError, ZeroDivisionError) as exc:
                        raise ValueError(f"{type(layer).__name__} {layer.name!r} cannot take "
                                         f"input of shape {(None, *shape)}: {exc}.") from exc
                    built_now.append(layer)
                elif layer.input_shape != shape:
                    raise ValueError(
                        f"{type(layer).__name__} {layer.name!r} was built for input shape "
                        f"{(None, *layer.input_shape)}, but the layer before it gives "
                        f"{(None, *shape)}.")
                shape = tuple(layer.output_shape(shape))
        except BaseException:
            _unbuild(built_now)
            raise
        self._input_shape = tuple(int(d) for d in start)
        self._plan = _plan(self.layers)
        return built_now

    @property
    def built(self) -> bool:
        return bool(self.layers) and all(layer.built for layer in self.layers)

    @property
    def dtype(self) -> np.dtype:
        return self.layers[0].dtype if self.layers else config.get_dtype()

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def output_shape(self) -> tuple | None:
        """The output shape of one sample (batch axis excluded), or None before building."""
        if not self.built or self._input_shape is None:
            return None
        shape = self._input_shape
        for layer in self.layers:
            shape = tuple(layer.output_shape(shape))
        return shape

    # ---- forward and backward ----------------------------------------------------------

    def forward(self, x, training=False):
        """Run ``x`` through every layer and return the output.

        The pass follows the plan made when the model was built (see ``_plan``): a layer that
        can hand its activation to a max-pool after it does so, which gives the same outputs
        and gradients on a quarter of the values.
        """
        return self._forward(x, training)[0]

    __call__ = forward

    def _threads(self):
        """A context in which the layers split each batch across threads (see
        ``nnlite._parallel`` and ``Layer.threading``)."""
        kinds = {layer.threading for layer in self.layers}
        if "split" in kinds and "blas" not in kinds:
            return parallel.split_batches()
        return contextlib.nullcontext()

    def _forward(self, x, training):
        """Return the output and the mask that reaches it (None without masking layers)."""
        # An unbuilt model's layers are built as the pass reaches them, from inputs they
        # check, so its plan groups no output by windows (see ``_plan``).
        plan = self._plan if self._plan is not None else _plan(self.layers, windows=False)
        mask = None
        for layer, step in zip(self.layers, plan, strict=True):
            if step.checks_input:
                layer.prepare(x)
            if layer.supports_masking:
                y = layer.forward(x, training=training, mask=mask, **step.options)
            else:
                y = layer.forward(x, training=training, **step.options)
            mask = layer.compute_mask(x, mask)
            x = y
        return x, mask

    def backward(self, grad_output, fused=False, input_grad=True):
        """Backpropagate ``grad_output`` through every layer, filling each layer's ``grads``.

        Args:
            grad_output: d(loss)/d(output), or d(loss)/d(pre-activation of the last layer)
                when ``fused`` is True.
            fused: the gradient is already taken through the last layer's activation.
            input_grad: also compute the gradient w.r.t. the model's input. Training does
                not need it, and a first layer that ``skips_input_grad`` then saves its
                largest product.

        Returns:
            The gradient w.r.t. the model's input, or None when it was not asked for or the
            first layer takes integer ids.
        """
        grad = grad_output
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            skip = i == 0 and not input_grad and self.layers[0].skips_input_grad
            grad = _backward_one(self.layers[i], grad, fused and i == last, skip)
            if grad is None:
                break
        return grad if input_grad else None

    def _loss_and_gradients(self, x, y, sample_weight=None, training=True, input_grad=False):
        """Forward, loss and backward on one batch.

        Returns:
            ``(loss, y_pred, input gradient, mask)``, the mask being the one that reached
            the output (None without masking layers).
        """
        y_pred, mask = self._forward(x, training)
        weight = _mask_weights(mask, y_pred, sample_weight)
        loss = self.loss(y, y_pred, weight)
        if not math.isfinite(loss):
            return loss, y_pred, None, mask
        if _fused_gradient_applies(self.layers[-1], self.loss):
            # The single place where the stable p - y gradient is used. Valid pairs, when the
            # last layer applies the activation itself and the loss takes probabilities:
            #   sigmoid + binary_crossentropy                 -> p - y
            #   softmax + categorical_crossentropy            -> sum(y) * p - y  (p - y one-hot)
            #   softmax + sparse_categorical_crossentropy     -> p - one_hot(y)
            targets = self.loss.one_hot_targets(y, y_pred)
            if isinstance(self.loss, losses_module.CategoricalCrossentropy):
                grad = y_pred * targets.sum(axis=-1, keepdims=True) - targets
            else:
                grad = y_pred - targets
            grad = self.loss.reduce_gradient(grad, weight)
            return loss, y_pred, self.backward(grad, fused=True, input_grad=input_grad), mask
        grad = self.loss.gradient(y, y_pred, weight)
        return loss, y_pred, self.backward(grad, input_grad=input_grad), mask

    def compute_loss(self, x, y, sample_weight=None) -> float:
        """Return the compiled loss of the model on ``(x, y)``, in inference mode."""
        self._require_compiled("compute_loss")
        y_pred, mask = self._forward(x, training=False)
        return self.loss(y, y_pred, _mask_weights(mask, y_pred, sample_weight))

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
            metrics: names from ``nnlite.metrics`` (``"accuracy"``, whose kind follows the
                loss, ``"mse"``, ``"mae"``) or Metric objects.
        """
        if loss is None:
            raise ValueError("compile() needs a loss, e.g. loss='mse' or "
                             "loss='sparse_categorical_crossentropy'.")
        if isinstance(metrics, str | metrics_module.Metric):
            metrics = [metrics]
        if metrics is not None and not isinstance(metrics, list | tuple):
            raise TypeError(f"compile: metrics must be a list of names, got {metrics!r}.")
        resolved = [metrics_module.get(m) for m in metrics or []]
        self.loss = losses_module.get(loss)
        self.optimizer = optimizers_module.get(optimizer)
        self.metrics = [m.name for m in resolved]
        self._metric_objects = resolved

    def train_on_batch(self, x, y, sample_weight=None) -> float:
        """Run one optimizer step on ``(x, y)`` and return the batch loss (before the step).

        A batch whose sample weights sum to 0 makes no update and returns 0.0.
        """
        self._require_compiled("train_on_batch")
        built_now = []
        try:
            x, y, built_now = self._check_xy(self._preprocess(x), y, "train_on_batch")
            weights = sample_weights(self, y, sample_weight, None, "train_on_batch",
                                     allow_all_zero=True)
        except BaseException:
            _unbuild(built_now)
            raise
        loss = self._train_step(x, y, weights)
        if loss is None:
            return 0.0
        if not math.isfinite(loss):
            raise TrainingDivergedError(f"train_on_batch: the loss is {loss}; "
                                        "weights were not updated.")
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
                ``sum(w * l) / sum(w)``; a batch whose weights sum to 0 is skipped.
            class_weight: dict from class index to weight, turned into per-sample weights.
            initial_epoch: epoch to start from (to resume a run).

        Returns:
            A History whose ``history`` dict holds one value per epoch for each log.

        Raises:
            RuntimeError: before ``compile``.
            ValueError: for mismatched lengths, non-finite values, bad targets or settings;
                nothing is built or changed then.
            TrainingDivergedError: when a batch's loss is NaN or infinite; the weights are
                those from before that batch.

        Every callback's ``on_train_end`` runs however ``fit`` ends: normally, stopped early,
        interrupted (Ctrl-C, or a KeyboardInterrupt raised in a callback: ``fit`` then
        returns the History so far) or on an error (which is raised after them).
        """
        self._require_compiled("fit")
        run, callback_list = self._prepare_fit(
            x, y, epochs, batch_size, validation_data, validation_split, shuffle, callbacks,
            verbose, sample_weight, class_weight, initial_epoch)
        history = callback_list[-1]
        self.history, self.stop_training = history, False
        params = {"epochs": int(epochs), "steps": run.steps, "verbose": verbose,
                  "batch_size": run.batch_size, "samples": len(run.x),
                  "do_validation": run.validation is not None,
                  "metrics": ["loss", *self.metrics]}
        for callback in callback_list:
            callback.set_model(self)
            callback.set_params(params)
        try:
            for callback in callback_list:
                callback.on_train_begin({})
            with InterruptFlag() as interrupt:
                for epoch in range(initial_epoch, epochs):
                    self._run_epoch(run, epoch, callback_list, interrupt)
                    if interrupt.flag or self.stop_training:
                        break
        except KeyboardInterrupt:
            warnings.warn("fit: interrupted; the weights of the last finished batch are kept.",
                          stacklevel=2)
        except BaseException:
            end_training(callback_list, raise_errors=False)
            raise
        end_training(callback_list, raise_errors=True)
        return history

    def _prepare_fit(self, x, y, epochs, batch_size, validation_data, validation_split,
                     shuffle, callbacks, verbose, sample_weight, class_weight, initial_epoch):
        """Check every argument of ``fit``; return the run and its callbacks (History last).

        The model is built here when it was not; if any check fails, it is unbuilt again.
        """
        epochs = positive_int("fit", "epochs", epochs)
        initial_epoch = non_negative_int("fit", "initial_epoch", initial_epoch)
        batch_size = positive_int("fit", "batch_size", batch_size)
        if verbose not in (0, 1, 2) or isinstance(verbose, bool):
            raise ValueError(f"fit: verbose must be 0, 1 or 2, got {verbose!r}.")
        if not isinstance(shuffle, bool | np.bool_):
            raise TypeError(f"fit: shuffle must be True or False, got {shuffle!r}.")
        callback_list = callback_list_for(callbacks, verbose)
        built_now = []
        try:
            x, y, built_now = self._check_xy(self._preprocess(x), y, "fit")
            weights = sample_weights(self, y, sample_weight, class_weight, "fit")
            if validation_data is not None:
                validation_data = self._check_validation(validation_data)
            elif validation_split:
                split = fraction("fit", "validation_split", validation_split, low_open=True)
                x, y, weights, validation_data = split_validation(self.loss, x, y, weights, split)
        except BaseException:
            _unbuild(built_now)
            raise
        steps = math.ceil(len(x) / batch_size)
        run = _Run(x, y, weights, validation_data, batch_size, steps, bool(shuffle))
        return run, callback_list

    def _run_epoch(self, run, epoch, callback_list, interrupt):
        """Train one epoch over ``run``; callbacks see its logs (``val_`` ones included)."""
        for callback in callback_list:
            callback.on_epoch_begin(epoch, {})
        n, batch_size = len(run.x), run.batch_size
        order = config.get_rng().permutation(n) if run.shuffle else None
        # Shuffled batches are gathered into one reused buffer instead of a new array each.
        buffer = None if order is None else np.empty((min(batch_size, n), *run.x.shape[1:]),
                                                     dtype=run.x.dtype)
        totals = RunningMeans()
        for step in range(run.steps):
            index = slice(step * batch_size, (step + 1) * batch_size)
            if order is None:
                x_batch = run.x[index]  # a view: no copy when visiting in order
            else:
                index = order[index]
                # mode="clip": the permutation's indices are all valid, and the default
                # "raise" with out= copies through an extra buffer.
                x_batch = np.take(run.x, index, axis=0, out=buffer[:len(index)], mode="clip")
            y_batch = run.y[index]
            w_batch = None if run.weights is None else run.weights[index]
            loss = self._train_step(x_batch, y_batch, w_batch, totals)
            if loss is not None and not math.isfinite(loss):
                raise TrainingDivergedError(
                    f"fit: the loss became {loss} at epoch {epoch + 1}, batch {step + 1}; "
                    "training stopped with the weights from before that batch. Try a smaller "
                    "learning_rate or scale the inputs.")
            logs = totals.means()
            for callback in callback_list:
                callback.on_batch_end(step, logs)
            if interrupt.flag:
                warnings.warn(f"fit: interrupted during epoch {epoch + 1}, after batch "
                              f"{step + 1}; the weights of that batch are kept.", stacklevel=4)
                return
        logs = totals.means()
        if run.validation is not None:
            x_val, y_val, w_val = run.validation
            val = self._evaluate_checked(x_val, y_val, w_val, 256)
            logs.update({f"val_{k}": v for k, v in val.items()})
        for callback in callback_list:
            callback.on_epoch_end(epoch, logs)

    def _train_step(self, x, y, weights, totals=None):
        """One forward, backward and optimizer step; returns the batch loss, NaN or inf
        without updating, or None for a batch whose weights sum to 0 (skipped)."""
        if weights is not None and not weights.sum() > 0:
            return None
        # A non-finite loss is reported below, with the epoch and batch: NumPy's warnings
        # about the inf or NaN on its way there would only say it first, less clearly.
        with self._threads(), np.errstate(over="ignore", invalid="ignore"):
            loss, y_pred, _, mask = self._loss_and_gradients(x, y, weights)
            if not math.isfinite(loss):
                return loss
            self.optimizer.step(self.layers)
        if totals is not None:
            totals.add("loss", loss, weights, len(y_pred))
            self._add_metrics(totals, y, y_pred, mask, weights)
        return loss

    def _add_metrics(self, totals, y, y_pred, mask, weights):
        """Add each metric's batch values to the running means; with a mask at the output
        every real step counts as one sample and padded steps not at all, as in the loss."""
        if mask is not None and y_pred.ndim >= 3 and mask.shape == y_pred.shape[:2]:
            step_w = mask if weights is None else mask * weights[:, None]
            y, y_pred, weights = np.asarray(y)[mask], y_pred[mask], step_w[mask]
        for metric in self._metric_objects:
            totals.add(metric.name, metric(y, y_pred, self.loss), weights)

    def evaluate(self, x, y, batch_size=256, sample_weight=None, verbose=0) -> dict:
        """Return ``{"loss": ..., metric: ...}`` over all of ``(x, y)`` in inference mode.

        Raw input (strings) first goes through the model's ``preprocessing``, if it has one.
        """
        self._require_compiled("evaluate")
        batch_size = positive_int("evaluate", "batch_size", batch_size)
        built_now = []
        try:
            x, y, built_now = self._check_xy(self._preprocess(x), y, "evaluate")
            weights = sample_weights(self, y, sample_weight, None, "evaluate")
        except BaseException:
            _unbuild(built_now)
            raise
        result = self._evaluate_checked(x, y, weights, batch_size)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in result.items()))
        return result

    def _evaluate_checked(self, x, y, weights, batch_size):
        totals = RunningMeans()
        for start in range(0, len(x), batch_size):
            index = slice(start, start + batch_size)
            batch_w = None if weights is None else weights[index]
            with self._threads():
                y_pred, mask = self._forward(x[index], training=False)
            loss_w = _mask_weights(mask, y_pred, batch_w)
            if loss_w is None or loss_w.sum() > 0:
                totals.add("loss", self.loss(y[index], y_pred, loss_w), batch_w, len(y_pred))
            self._add_metrics(totals, y[index], y_pred, mask, batch_w)
        return totals.means()

    def predict(self, x, batch_size=256, verbose=0) -> np.ndarray:
        """Return the model's output for ``x``, computed in batches in inference mode.

        Raw input (strings) first goes through the model's ``preprocessing``, if it has one.

        Args:
            x: inputs, shape ``(n, ...)``.
            batch_size: rows per forward pass (256, as Keras); it changes speed and
                memory, not the outputs. None takes the largest power of two from 32 to 4096
                for which the widest array of a pass (the input or a layer's output) holds
                at most 4 MiB, so that a batch's arrays stay in the processor's cache:
                1,024 rows for a 784-256-128-10 MLP, whose 60,000-row predict then takes
                0.8-0.9 of the time it takes with 256 rows.
            verbose: accepted for Keras compatibility; predict prints nothing.
        """
        if batch_size is not None:
            batch_size = positive_int("predict", "batch_size", batch_size)
        x, built_now = self._check_x(self._preprocess(x), "predict")
        if batch_size is None:
            batch_size = self._predict_batch_size(x.dtype.itemsize)
        outputs = None
        try:
            with self._threads():
                for start in range(0, len(x), batch_size):
                    out = self.forward(x[start:start + batch_size], training=False)
                    if outputs is None:
                        outputs = np.empty((len(x), *out.shape[1:]), dtype=out.dtype)
                    outputs[start:start + len(out)] = out
        except BaseException:
            _unbuild(built_now)
            raise
        return outputs

    def _predict_batch_size(self, itemsize, budget=1 << 22, smallest=32, largest=4096):
        """The power of two, from ``smallest`` to ``largest`` rows, for which the widest
        array of a forward pass holds at most ``budget`` bytes."""
        shape, widest = self._input_shape, math.prod(self._input_shape)
        for layer in self.layers:
            shape = tuple(layer.output_shape(shape))
            widest = max(widest, math.prod(shape))
        rows = budget // max(1, widest * max(itemsize, np.dtype(self.dtype).itemsize))
        return int(min(largest, max(smallest, 1 << max(0, int(rows).bit_length() - 1))))

    def _preprocess(self, x):
        if self.preprocessing is not None and (
                isinstance(x, str) or np.asarray(x).dtype.kind in "OUS"):
            out = self.preprocessing([x] if isinstance(x, str) else x)
            # A vectorizer asked for sparse output gives a SciPy matrix; layers take arrays.
            return self._fit_steps(out.toarray() if hasattr(out, "toarray") else out)
        return x

    def _fit_steps(self, ids):
        """Pad or cut token ids ``(n, L)`` to the steps the model was built for.

        A vectorizer without ``output_sequence_length`` pads each call to its longest text,
        so new texts come in other lengths than the training ones. Padding uses id 0 (what
        the vectorizer pads with) on the vectorizer's ``pad`` side; cutting drops tokens from
        that side too, and says so.
        """
        if (not self.built or ids.ndim != 2 or ids.dtype.kind not in "iu"
                or len(self._input_shape) != 1 or ids.shape[1] == self._input_shape[0]):
            return ids
        steps, pre = self._input_shape[0], getattr(self.preprocessing, "pad", "post") == "pre"
        if ids.shape[1] > steps:
            kept = ids[:, -steps:] if pre else ids[:, :steps]
            cut = int(np.count_nonzero(np.count_nonzero(ids, axis=1) >
                                       np.count_nonzero(kept, axis=1)))
            if cut:
                warnings.warn(f"{cut} text(s) have more tokens than the {steps} steps the "
                              f"model was built for; their {'first' if pre else 'last'} "
                              f"tokens were dropped.", stacklevel=4)
            return kept
        padded = np.zeros((len(ids), steps), dtype=ids.dtype)
        if pre:
            padded[:, steps - ids.shape[1]:] = ids
        else:
            padded[:, :ids.shape[1]] = ids
        return padded

    # ---- weights, summary, saving ------------------------------------------------------

    def get_weights(self) -> list[np.ndarray]:
        """Return copies of every layer's arrays, layer by layer: params, then state."""
        return [a.copy() for layer in self.layers for _, a in layer.weights()]

    def set_weights(self, weights) -> None:
        """Copy ``weights`` (as returned by ``get_weights``) into the layers' arrays in place.

        Raises:
            ValueError: when the number of arrays or a shape does not match; then no array
                is changed.
        """
        targets = [(layer, key, a) for layer in self.layers for key, a in layer.weights()]
        weights = [np.asarray(w) for w in weights]
        if len(weights) != len(targets):
            raise ValueError(f"set_weights: the model has {len(targets)} weight arrays, "
                             f"got {len(weights)}.")
        for (layer, key, array), value in zip(targets, weights, strict=True):
            if value.shape != array.shape:
                raise ValueError(f"set_weights: {layer.name!r}.{key} has shape {array.shape}, "
                                 f"got {value.shape}.")
        for (_, _, array), value in zip(targets, weights, strict=True):
            array[...] = value

    def summary(self, print_fn=print) -> None:
        """Print a table of layers with their output shapes and parameter counts.

        A "Trainable" column appears when some layer is frozen (``trainable = False``).
        State arrays (moving statistics) count as non-trainable parameters.
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
        trainable = sum(layer.count_trainable() for layer in self.layers)
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

    @classmethod
    def from_config(cls, config_: dict) -> "Sequential":
        """Rebuild a model from ``get_config()``: layers by registered class name, built when
        the config has an input shape, compiled when it has compile settings.

        Raises:
            ValueError: for an unknown layer class or settings the classes refuse.
        """
        if not isinstance(config_, dict) or not isinstance(config_.get("layers"), list):
            raise ValueError("Sequential.from_config: expected a dict with a 'layers' list.")
        layers = []
        for i, entry in enumerate(config_["layers"]):
            if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
                raise ValueError(f"Sequential.from_config: layer {i} must be a dict with "
                                 "'class_name' and 'config'.")
            layer_class = get_layer_class(entry.get("class_name"))
            try:
                layers.append(layer_class(**entry["config"]))
            except TypeError as exc:
                raise ValueError(f"Sequential.from_config: layer {i} "
                                 f"({entry['class_name']}): {exc}.") from exc
        model = cls(layers, name=str(config_.get("name", "sequential")))
        if config_.get("input_shape") is not None:
            model.build(config_["input_shape"])
        settings = config_.get("compile")
        if settings is not None:
            if not isinstance(settings, dict):
                raise ValueError("Sequential.from_config: 'compile' must be a dict.")
            try:
                model.compile(**settings)
            except TypeError as exc:
                raise ValueError(f"Sequential.from_config: bad compile settings: {exc}.") from exc
        return model

    def save(self, path, metadata=None, include_optimizer=True) -> None:
        """Write the model to one file (JSON config plus arrays, no pickle); see ``load_model``.

        The file is written next to ``path`` and moved into place only when complete, so a
        failed save leaves any previous file intact.

        Args:
            path: file path; ``.nnlite`` is the usual suffix.
            metadata: optional JSON-ready dict stored beside the model (``model.metadata``).
            include_optimizer: also store the optimizer's state, so that training resumes
                exactly where it stopped.
        """
        from nnlite.serialization import save_model

        save_model(self, path, metadata, include_optimizer=include_optimizer)

    # ---- input checks ------------------------------------------------------------------

    def _require_compiled(self, method):
        if self.loss is None or self.optimizer is None:
            raise RuntimeError(f"{method}() needs compile() first: call "
                               "model.compile(loss=..., optimizer=...).")
        if not self.layers:
            raise RuntimeError(f"{method}(): the model has no layers; add some first.")

    def _check_x(self, x, method):
        """Return ``x`` as an array of the model's dtype and the layers this call built."""
        if not self.layers:
            raise RuntimeError(f"{method}(): the model has no layers; add some first.")
        x = as_array(x, "x", method)
        if x.ndim < 1 or len(x) == 0:
            raise ValueError(f"{method}: x must hold at least one sample, got shape {x.shape}.")
        if 0 in x.shape[1:]:
            raise ValueError(f"{method}: every sample of x must hold at least one value, got "
                             f"shape {x.shape} (an empty axis).")
        if self.layers[0].integer_input and x.dtype.kind in "iu":
            pass
        elif x.dtype.kind in "fiub":
            x = cast_finite(x, self.dtype, "x", method)
        else:
            raise ValueError(f"{method}: x must be numeric, got dtype {x.dtype}.")
        built_now = []
        if not self.built or self._input_shape is None:
            built_now = self._build_layers(x.shape[1:], first_input=x)
        return x, built_now

    def _check_xy(self, x, y, method):
        x, built_now = self._check_x(x, method)
        try:
            y = as_array(y, "y", method)
            if y.ndim == 0 or len(y) != len(x):
                raise ValueError(f"{method}: x and y must have the same number of samples, "
                                 f"got {len(x)} and {y.shape[0] if y.ndim else 'a scalar'}.")
            if y.dtype.kind in "fc":
                check_finite(y, "y", method)
            elif y.dtype.kind not in "iub":
                raise ValueError(f"{method}: y must be numeric, got dtype {y.dtype}; encode "
                                 "string labels as integers first.")
            if self.loss is not None:
                # Checked once for the whole data set, so errors give the row in the user's y.
                y = self.loss.check_targets(y, (len(y), *self.output_shape()))
        except BaseException:
            _unbuild(built_now)
            raise
        return x, y, built_now

    def _check_validation(self, data):
        if not isinstance(data, tuple | list) or len(data) not in (2, 3):
            raise ValueError("fit: validation_data must be (x_val, y_val) or "
                             f"(x_val, y_val, sample_weight), got {type(data).__name__}.")
        x_val, y_val, _ = self._check_xy(self._preprocess(data[0]), data[1],
                                         "fit (validation_data)")
        w_val = None if len(data) == 2 else sample_weights(
            self, y_val, data[2], None, "fit (validation_data)")
        return x_val, y_val, w_val



# ---- the plan of a pass ------------------------------------------------------------------

def _plan(layers, windows=True) -> list[_Step]:
    """Decide once, from the layers' declared capabilities, how each runs in a pass.

    A layer that ``defers_activation`` and whose activation ``commutes_with_max`` hands it to
    the next layer when that one ``absorbs_activation`` (a Conv2D's ReLU moves after a
    max-pool, onto a quarter of the values; outputs and gradients stay the same). A layer
    that ``groups_windows`` before one that ``takes_windows`` (and whose ``pool_window()``
    allows it) writes its output grouped by window offset, which the pool then reduces in
    contiguous blocks; pixels in no window are not computed at all.
    """
    options = [{} for _ in layers]
    checks = [True for _ in layers]
    for i, (layer, after) in enumerate(zip(layers[:-1], layers[1:], strict=True)):
        activation = getattr(layer, "activation", None)
        if (layer.defers_activation and after.absorbs_activation and "activation" not in
                options[i] and getattr(activation, "commutes_with_max", False)):
            options[i]["activate"] = False
            options[i + 1]["activation"] = activation
        window = after.pool_window() if windows and after.takes_windows else None
        if layer.groups_windows and window is not None:
            options[i]["pool_window"] = window
            options[i + 1]["windows"] = True
            checks[i + 1] = False
    return [_Step(o, c) for o, c in zip(options, checks, strict=True)]


def _backward_one(layer, grad, fused, skip_input):
    """Call ``layer.backward`` with the options this pass planned for it."""
    if fused and skip_input:
        return layer.backward(grad, fused=True, input_grad=False)
    if fused:
        return layer.backward(grad, fused=True)
    if skip_input:
        return layer.backward(grad, input_grad=False)
    return layer.backward(grad)


def _fused_gradient_applies(last, loss) -> bool:
    """True when the last layer's activation and the loss give the stable ``p - y``."""
    if not last.fusable or getattr(loss, "from_logits", True):
        return False
    activation = type(getattr(last, "activation", None))
    if isinstance(loss, losses_module.BinaryCrossentropy):
        return activation is activations.Sigmoid
    if isinstance(loss, losses_module.CategoricalCrossentropy):
        return activation is activations.Softmax
    return False


def _mask_weights(mask, y_pred, sample_weight):
    """Loss weights: per sample, or per position ``(n, t)`` when a mask reaches the output
    (padded steps get weight 0, so the loss never sees them)."""
    if mask is None or y_pred.ndim < 3 or mask.shape != y_pred.shape[:2]:
        return sample_weight
    weight = mask.astype(y_pred.dtype)
    if sample_weight is not None:
        weight *= np.asarray(sample_weight, dtype=y_pred.dtype)[:, None]
    return weight


def _check_shape(layer, shape):
    """Run the layer's input check on an empty batch of samples of ``shape``."""
    probe = np.empty((0, *shape), dtype=np.int64 if layer.integer_input else layer.dtype)
    try:
        layer._check_input(probe)
    except ValueError as exc:
        # The probe's batch of 0 stands for any batch: say so as Keras does, with None.
        raise ValueError(str(exc).replace(str(probe.shape), str((None, *shape)))) from None


def _unbuild(layers):
    """Return ``layers`` to their unbuilt state (a failed call must not leave them built)."""
    for layer in layers:
        layer.params, layer.grads, layer.state = {}, {}, {}
        layer.input_shape, layer.built, layer._cache = None, False, None
