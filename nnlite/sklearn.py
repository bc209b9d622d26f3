"""scikit-learn estimators: NNClassifier and NNRegressor, in the spirit of MLPClassifier.

They build an nnlite ``Sequential`` (Dense layers from ``hidden_layer_sizes``, or your own
``layers`` / ``build_fn``), compile it with the loss that fits the target and train it with
``Sequential.fit``. They follow scikit-learn's estimator rules, so they work in ``Pipeline``,
``GridSearchCV``, ``RandomizedSearchCV``, ``cross_val_score`` and joblib's parallel
backends (processes, Dask), and they pass ``sklearn.utils.estimator_checks.check_estimator``.

>>> from sklearn.datasets import load_iris
>>> from nnlite.sklearn import NNClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = NNClassifier(hidden_layer_sizes=(16,), epochs=5, random_state=0).fit(X, y)
>>> clf.predict_proba(X[:2]).shape
(2, 3)
"""

import copy
import numbers

import numpy as np
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from nnlite import config, optimizers
from nnlite.callbacks import Callback
from nnlite.layers import Dense, Layer
from nnlite.model import Sequential

try:
    from sklearn.utils.validation import validate_data
except ImportError as exc:  # scikit-learn < 1.6 has neither validate_data nor tags objects
    raise ImportError(f"nnlite.sklearn needs scikit-learn >= 1.6, found {sklearn.__version__}; "
                      "upgrade it with `pip install -U scikit-learn`.") from exc

__all__ = ["NNClassifier", "NNRegressor"]

_FORMAT = "nnlite.sklearn"


class _BaseNN(BaseEstimator):
    """Shared machinery of NNClassifier and NNRegressor; see their docstrings."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", optimizer="adam",
                 learning_rate=0.001, batch_size=32, epochs=200, alpha=0.0,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, tol=1e-4,
                 random_state=None, verbose=0, warm_start=False, layers=None, build_fn=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.layers = layers
        self.build_fn = build_fn

    # ---- the public methods ------------------------------------------------------------

    def fit(self, X, y):
        """Train on ``(X, y)`` for up to ``epochs`` epochs (fewer when training stalls).

        Without ``warm_start`` (or on the first call) the network is built afresh with
        new weights; with it, training continues from the current weights.

        Args:
            X: array-like or DataFrame of shape ``(n_samples, n_features)``.
            y: targets of shape ``(n_samples,)`` (or ``(n_samples, n_outputs)`` for
                regression).

        Returns:
            self.

        Raises:
            ValueError: for invalid hyperparameters or data (NaN, wrong shapes, too few
                classes).
        """
        return self._fit(X, y, incremental=False)

    def _fit(self, X, y, incremental, classes=None):
        self._check_params()
        first = not (hasattr(self, "model_") and (incremental or self.warm_start))
        X, y = validate_data(self, X, y, reset=first, dtype=config.get_dtype().type,
                             **self._y_validation())
        targets = self._encode_targets(y, first, classes)
        if first:
            self._rng = self._make_rng()
            self.model_ = self._build_model(X.shape[1])
            self.n_iter_, self.loss_curve_, self.history_ = 0, [], {}
        batch_size = self._batch_size(len(X))
        model, plain_optimizer = self.model_, self.model_.optimizer
        epochs, callbacks, split = 1, [], 0.0
        if not incremental:
            epochs = self.epochs
            callbacks = [self._stopping_rule()]
            split = self.validation_fraction if self.early_stopping else 0.0
        if self.alpha:
            model.optimizer = _L2Step(plain_optimizer, self.alpha / batch_size)
        try:
            with config.rng_scope(self._rng):
                history = model.fit(X, targets, epochs=epochs, batch_size=batch_size,
                                    validation_split=split, callbacks=callbacks,
                                    verbose=2 if self.verbose is True else int(self.verbose))
        finally:
            model.optimizer = plain_optimizer
        self.n_iter_ += len(history.epoch)
        self.loss_curve_ += history.history.get("loss", [])
        for key, values in history.history.items():
            self.history_.setdefault(key, []).extend(values)
        return self

    def _partial_fit(self, X, y, classes=None):
        return self._fit(X, y, incremental=True, classes=classes)

    def _output(self, X):
        """The network's output for ``X`` after the usual checks."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=self.model_.dtype.type)
        return self.model_.predict(X)

    # ---- saving ------------------------------------------------------------------------

    def save(self, path):
        """Write the fitted estimator to one nnlite model file (no pickle).

        The file holds the network and, in its ``metadata``, the estimator's parameters
        and fitted attributes. A ``build_fn`` is code and is not stored: pass it again with
        ``set_params`` before refitting a loaded estimator.

        Raises:
            sklearn.exceptions.NotFittedError: before ``fit``.
        """
        check_is_fitted(self)
        params = self.get_params(deep=False)
        params["build_fn"] = None
        if isinstance(params["optimizer"], optimizers.Optimizer):
            params["optimizer"] = {"optimizer": optimizers.serialize(params["optimizer"])}
        if params["layers"] is not None:
            params["layers"] = [{"class_name": type(layer).__name__,
                                 "config": layer.get_config()} for layer in params["layers"]]
        if not isinstance(params["random_state"], numbers.Integral | type(None)):
            params["random_state"] = None  # a RandomState object cannot be written as JSON
        fitted = {"n_features_in_": self.n_features_in_, "n_iter_": self.n_iter_,
                  "loss_curve_": self.loss_curve_, "history_": self.history_,
                  **self._fitted_metadata()}
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = self.feature_names_in_.tolist()
        metadata = {"format": _FORMAT, "estimator": type(self).__name__,
                    "params": _json_ready(params), "fitted": _json_ready(fitted)}
        self.model_.save(path, metadata={**self.model_.metadata, "sklearn": metadata})

    @classmethod
    def load(cls, path):
        """Read an estimator written by ``save``.

        Raises:
            ValueError: when the file holds a plain model, another kind of estimator, or
                estimator data that was altered.
        """
        from nnlite.serialization import load_model

        model = load_model(path)
        meta = model.metadata.get("sklearn")
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ValueError(f"{cls.__name__}.load: {str(path)!r} holds a model without "
                             "estimator data; open it with nnlite.load_model instead.")
        if meta.get("estimator") != cls.__name__:
            raise ValueError(f"{cls.__name__}.load: {str(path)!r} holds a "
                             f"{meta.get('estimator')!r}, not a {cls.__name__}.")
        try:
            estimator = cls._from_metadata(meta)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{cls.__name__}.load: {str(path)!r} has altered estimator data "
                             f"({type(exc).__name__}: {exc}).") from exc
        estimator.model_ = model
        estimator._rng = estimator._make_rng()
        return estimator

    @classmethod
    def _from_metadata(cls, meta):
        from nnlite.layers import get_layer_class

        params = dict(meta["params"])
        sizes = params["hidden_layer_sizes"]
        params["hidden_layer_sizes"] = tuple(sizes) if isinstance(sizes, list) else sizes
        if isinstance(params["optimizer"], dict):
            params["optimizer"] = optimizers.get(params["optimizer"]["optimizer"])
        if params["layers"] is not None:
            params["layers"] = [get_layer_class(entry["class_name"])(**entry["config"])
                                for entry in params["layers"]]
        estimator = cls(**params)
        fitted = dict(meta["fitted"])
        if "feature_names_in_" in fitted:
            fitted["feature_names_in_"] = np.asarray(fitted["feature_names_in_"], dtype=object)
        estimator._restore_fitted(fitted)
        return estimator

    # ---- pieces ------------------------------------------------------------------------

    def _check_params(self):
        name = type(self).__name__
        if self.layers is not None and self.build_fn is not None:
            raise ValueError(f"{name}: give either layers or build_fn, not both.")
        if self.layers is None and self.build_fn is None:
            sizes = self.hidden_layer_sizes
            sizes = (sizes,) if isinstance(sizes, numbers.Integral) else sizes
            if not all(isinstance(s, numbers.Integral) and s > 0 for s in np.ravel(sizes)):
                raise ValueError(f"{name}: hidden_layer_sizes must be a tuple of positive "
                                 f"ints, got {self.hidden_layer_sizes!r}.")
        if self.layers is not None and not all(isinstance(x, Layer) for x in self.layers):
            raise TypeError(f"{name}: layers must be a list of nnlite layers, got "
                            f"{self.layers!r}.")
        if self.build_fn is not None and not callable(self.build_fn):
            raise TypeError(f"{name}: build_fn must be callable, got {self.build_fn!r}.")
        _number(name, "learning_rate", self.learning_rate, low=0.0, open_low=True)
        _number(name, "alpha", self.alpha, low=0.0)
        _number(name, "tol", self.tol, low=0.0)
        _number(name, "validation_fraction", self.validation_fraction, low=0.0, high=1.0,
                open_low=True)
        for arg in ("epochs", "n_iter_no_change"):
            value = getattr(self, arg)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: {arg} must be a positive int, got {value!r}.")
        size = self.batch_size
        if size != "auto" and (not isinstance(size, numbers.Integral) or size < 1):
            raise ValueError(f"{name}: batch_size must be a positive int or 'auto', "
                             f"got {size!r}.")

    def _batch_size(self, n_samples):
        # "auto" is scikit-learn MLP's rule: min(200, n_samples).
        return min(200, n_samples) if self.batch_size == "auto" else int(self.batch_size)

    def _make_rng(self):
        """The generator this estimator's fits draw from (weights, shuffling, splits).

        None means no override: draw from nnlite's global generator at each use, so that
        ``nnlite.set_seed`` governs estimators as it governs ``Sequential``.
        """
        state = self.random_state
        if state is None:
            return None
        if isinstance(state, np.random.Generator):
            return state
        if isinstance(state, numbers.Integral):
            return np.random.default_rng(int(state))
        if isinstance(state, np.random.RandomState):
            return np.random.default_rng(state.randint(np.iinfo(np.int32).max))
        raise ValueError(f"{type(self).__name__}: random_state must be None, an int, a "
                         f"RandomState or a Generator, got {state!r}.")

    def _build_model(self, n_features):
        """A fresh compiled Sequential: hidden part, then the output layer."""
        n_out = self._n_network_outputs()
        with config.rng_scope(self._rng):
            if self.build_fn is not None:
                hidden = self.build_fn(n_features, n_out)
                hidden = hidden.layers if isinstance(hidden, Sequential) else list(hidden)
            elif self.layers is not None:
                # Rebuild from each layer's config, so the estimator's own param is never
                # trained and every fit starts from weights drawn with random_state.
                hidden = [type(layer)(**layer.get_config()) for layer in self.layers]
            else:
                sizes = self.hidden_layer_sizes
                sizes = (sizes,) if isinstance(sizes, numbers.Integral) else sizes
                hidden = [Dense(int(units), activation=self.activation) for units in sizes]
            model = Sequential([*hidden, Dense(n_out, activation=self._output_activation(),
                                               name="output")], name=type(self).__name__)
            model.build((n_features,))
        model.compile(optimizer=self._make_optimizer(), loss=self._loss())
        return model

    def _make_optimizer(self):
        if isinstance(self.optimizer, optimizers.Optimizer):
            return copy.deepcopy(self.optimizer)  # never share state with the param
        if not isinstance(self.optimizer, str):
            raise TypeError(f"{type(self).__name__}: optimizer must be a name ('adam', 'sgd', "
                            f"'rmsprop') or an Optimizer, got {self.optimizer!r}.")
        return optimizers.get({"name": self.optimizer.lower(),
                               "config": {"learning_rate": float(self.learning_rate)}})

    def _stopping_rule(self):
        if self.early_stopping:
            return _StallStop("val_loss", self.n_iter_no_change, self.tol, keep_best=True)
        return _StallStop("loss", self.n_iter_no_change, self.tol, keep_best=False)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")


class NNClassifier(ClassifierMixin, _BaseNN):
    """A neural-network classifier: nnlite Dense layers trained with cross-entropy.

    Binary problems use one sigmoid output and binary cross-entropy; multiclass problems a
    softmax output and sparse categorical cross-entropy. Labels can be of any type (ints,
    strings, bools); ``classes_`` holds them sorted.

    Args:
        hidden_layer_sizes: units of each hidden Dense layer.
        activation: activation of the hidden layers (a name from ``nnlite.activations``).
        optimizer: ``"adam"``, ``"sgd"``, ``"rmsprop"`` or an nnlite Optimizer (copied; its
            own learning rate is used).
        learning_rate: step size of the named optimizer.
        batch_size: samples per step, or ``"auto"`` for ``min(200, n_samples)``.
        epochs: most passes over the data in ``fit``.
        alpha: L2 penalty on the kernels, scaled as in scikit-learn's MLP: each step adds
            ``alpha * kernel / batch_size`` to the kernel gradients (biases are not
            penalised). ``loss_curve_`` reports the data loss without this term.
        early_stopping: hold out ``validation_fraction`` of the data (stratified), stop
            when its loss has not improved by ``tol`` for ``n_iter_no_change`` epochs and
            keep the best weights. When False, the same rule watches the training loss.
        validation_fraction: share of the data held out with ``early_stopping``.
        n_iter_no_change: epochs without improvement before stopping.
        tol: smallest decrease of the loss that counts as an improvement.
        random_state: None (draw from nnlite's global generator, see ``nnlite.set_seed``),
            an int, a RandomState or a Generator. The same int gives identical fits.
        verbose: 0 silent, 1 progress bars, 2 (or True) one line per epoch.
        warm_start: when True, ``fit`` continues from the previous weights.
        layers: nnlite layers for the hidden part instead of ``hidden_layer_sizes``; they
            are rebuilt from their configs at each fit, so the list itself is not trained.
        build_fn: callable ``(n_features_in, n_outputs) -> list of layers or Sequential``
            giving the hidden part, e.g. layers that reshape the features into images.
            The output layer is appended by the estimator.

    Attributes:
        model_: the trained ``nnlite.Sequential``.
        classes_: the class labels.
        history_: dict of per-epoch logs over all fits (``"loss"``, ``"val_loss"``, ...).
        loss_curve_: training loss of each epoch.
        n_iter_: number of epochs run.
        n_features_in_: number of features seen in ``fit``.
        feature_names_in_: column names, when fitted on a DataFrame with string columns.
    """

    def _y_validation(self):
        return {}

    def _encode_targets(self, y, first, classes):
        check_classification_targets(y)
        if first:
            labels = np.unique(y) if classes is None else np.asarray(classes)
            if classes is not None and not np.isin(np.unique(y), labels).all():
                raise ValueError(f"NNClassifier.partial_fit: y holds labels outside classes="
                                 f"{labels.tolist()!r}.")
            if len(labels) < 2:
                raise ValueError("NNClassifier: y holds only 1 class "
                                 f"({labels.tolist()!r}); a classifier needs at least 2.")
            self._encoder = LabelEncoder().fit(labels)
            self.classes_ = self._encoder.classes_
        unseen = ~np.isin(y, self.classes_)
        if unseen.any():
            example = y[unseen][:1].tolist()[0]
            raise ValueError(f"NNClassifier: y holds labels not seen in the first fit, e.g. "
                             f"{example!r}; known classes: {self.classes_.tolist()!r}.")
        codes = self._encoder.transform(y)
        if len(self.classes_) == 2:
            return codes.astype(config.get_dtype())  # targets of the sigmoid output
        return codes

    def _n_network_outputs(self):
        return 1 if len(self.classes_) == 2 else len(self.classes_)

    def _output_activation(self):
        return "sigmoid" if len(self.classes_) == 2 else "softmax"

    def _loss(self):
        if len(self.classes_) == 2:
            return "binary_crossentropy"
        return "sparse_categorical_crossentropy"

    def partial_fit(self, X, y, classes=None):
        """Run one epoch over ``(X, y)``, building the network on the first call.

        Args:
            X: features of this chunk.
            y: labels of this chunk.
            classes: every label the estimator will see; required on the first call.

        Returns:
            self.

        Raises:
            ValueError: on the first call without ``classes``.
        """
        if not hasattr(self, "model_") and classes is None:
            raise ValueError("NNClassifier.partial_fit: the first call needs classes=, the "
                             "list of every label (e.g. classes=np.unique(y_all)).")
        return self._partial_fit(X, y, classes)

    def predict_proba(self, X):
        """Return class probabilities, shape ``(n_samples, n_classes)``, in ``classes_`` order."""
        p = self._output(X)
        if p.shape[1] == 1:  # the sigmoid gives P(classes_[1])
            return np.hstack([1.0 - p, p])
        return p

    def predict(self, X):
        """Return the most probable label of each sample."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def _fitted_metadata(self):
        return {"classes_": {"values": self.classes_.tolist(), "dtype": self.classes_.dtype.str}}

    def _restore_fitted(self, fitted):
        classes = fitted.pop("classes_")
        self.classes_ = np.asarray(classes["values"], dtype=np.dtype(classes["dtype"]))
        self._encoder = LabelEncoder().fit(self.classes_)
        for key, value in fitted.items():
            setattr(self, key, value)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class NNRegressor(RegressorMixin, _BaseNN):
    """A neural-network regressor: nnlite Dense layers with a linear output, trained on MSE.

    Takes the same arguments as ``NNClassifier``. Several targets (``y`` of shape
    ``(n_samples, n_outputs)``) are predicted by one network with ``n_outputs`` outputs.
    Targets are used as given: scale them (e.g. ``TransformedTargetRegressor`` with a
    ``StandardScaler``) when they are far from unit size.

    Attributes:
        model_: the trained ``nnlite.Sequential``.
        n_outputs_: number of targets.
        history_, loss_curve_, n_iter_, n_features_in_, feature_names_in_: as in
            ``NNClassifier``.
    """

    def _y_validation(self):
        return {"multi_output": True, "y_numeric": True}

    def _encode_targets(self, y, first, classes):
        y = np.asarray(y, dtype=config.get_dtype())
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if first:
            self.n_outputs_, self._y_ndim = n_outputs, y.ndim
        elif n_outputs != self.n_outputs_:
            raise ValueError(f"NNRegressor: y has {n_outputs} outputs, but the estimator was "
                             f"fitted with {self.n_outputs_}.")
        return y.reshape(len(y), -1)

    def _n_network_outputs(self):
        return self.n_outputs_

    def _output_activation(self):
        return None

    def _loss(self):
        return "mse"

    def partial_fit(self, X, y):
        """Run one epoch over ``(X, y)``, building the network on the first call.

        Returns:
            self.
        """
        return self._partial_fit(X, y)

    def predict(self, X):
        """Return predictions, ``(n_samples,)`` for one target or ``(n_samples, n_outputs)``."""
        # float64 out, as scikit-learn's regressors return (check_estimator requires it);
        # the network itself runs in its own dtype.
        y = self._output(X).astype(np.float64)
        return y.ravel() if self._y_ndim == 1 else y

    def _fitted_metadata(self):
        return {"n_outputs_": self.n_outputs_, "_y_ndim": self._y_ndim}

    def _restore_fitted(self, fitted):
        for key, value in fitted.items():
            setattr(self, key, value)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class _L2Step:
    """Stand-in optimizer during ``fit``: adds ``scale * kernel`` to each kernel gradient,
    then lets the real optimizer step.

    This is the gradient of ``scale / 2 * sum(kernel ** 2)``, the L2 term of scikit-learn's
    MLP (``scale = alpha / batch_size``). Only ``kernel`` arrays are penalised, as there.
    """

    def __init__(self, optimizer, scale):
        self.optimizer, self.scale = optimizer, float(scale)

    @property
    def learning_rate(self):  # read by learning-rate callbacks
        return self.optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.optimizer.learning_rate = value

    def step(self, layers):
        for layer in layers:
            if layer.trainable and "kernel" in layer.params:
                layer.grads["kernel"] += self.scale * layer.params["kernel"]
        self.optimizer.step(layers)


class _StallStop(Callback):
    """scikit-learn MLP's stopping rule, epoch by epoch.

    An epoch whose ``monitor`` value is not below the best so far by more than ``tol`` adds
    one to a counter (a better one resets it); training stops once the counter exceeds
    ``n_iter_no_change``. With ``keep_best`` the weights of the best epoch are put back at
    the end, as MLP's ``early_stopping`` does.
    """

    def __init__(self, monitor, n_iter_no_change, tol, keep_best):
        super().__init__()
        self.monitor, self.n_iter_no_change, self.tol = monitor, n_iter_no_change, tol
        self.keep_best = keep_best

    def on_train_begin(self, logs=None):
        self.best, self.count, self.best_weights = np.inf, 0, None

    def on_epoch_end(self, epoch, logs=None):
        value = logs[self.monitor]
        self.count = self.count + 1 if value > self.best - self.tol else 0
        if value < self.best:
            self.best = value
            if self.keep_best:
                self.best_weights = self.model.get_weights()
        if self.count > self.n_iter_no_change:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def _json_ready(value):
    """``value`` with NumPy scalars as Python numbers and tuples as lists (search tools
    such as ``RandomizedSearchCV`` hand out NumPy scalars)."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _number(owner, name, value, low=None, high=None, open_low=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok and low is not None:
        ok = value > low if open_low else value >= low
    if ok and high is not None:
        ok = value < high
    if not ok:
        bound = f"{'>' if open_low else '>='} {low}" if high is None else f"in ({low}, {high})"
        raise ValueError(f"{owner}: {name} must be a number {bound}, got {value!r}.")
