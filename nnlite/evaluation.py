"""Scores you can trust: metrics reports, confusion matrices and scikit-learn baselines.

Metrics are computed by ``sklearn.metrics``; ``compare_with_baselines`` puts an nnlite model
beside scikit-learn's usual baselines. Pictures of the same things are in ``nnlite.plots``.
"""

import time
import warnings

import numpy as np

__all__ = [
    "classification_metrics",
    "classification_report",
    "compare_with_baselines",
    "confusion_matrix",
    "predicted_labels",
    "regression_metrics",
]

# ---- metrics ---------------------------------------------------------------------------------


def predicted_labels(y_pred) -> np.ndarray:
    """Turn model outputs into class ids.

    ``(n, k)`` scores with ``k > 1`` give their argmax; ``(n, 1)`` probabilities give
    ``p > 0.5``; a 1-D array is taken as labels already.
    """
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2 and y_pred.shape[1] > 1:
        return y_pred.argmax(axis=1)
    if y_pred.ndim == 2:
        return (y_pred[:, 0] > 0.5).astype(np.intp)
    return y_pred


def classification_metrics(y_true, y_pred) -> dict:
    """Accuracy and macro / weighted precision, recall and F1.

    Args:
        y_true: class ids ``(n,)`` (or one-hot ``(n, k)``).
        y_pred: class ids, or scores as accepted by ``predicted_labels``.

    Returns:
        ``{"accuracy", "precision_macro", "recall_macro", "f1_macro", "precision_weighted",
        "recall_weighted", "f1_weighted"}`` as Python floats.
    """
    from sklearn import metrics as skm

    y_true, y_pred = predicted_labels(y_true), predicted_labels(y_pred)
    result = {"accuracy": float(skm.accuracy_score(y_true, y_pred))}
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y_true, y_pred, average=average,
                                                         zero_division=0)
        result.update({f"precision_{average}": float(p), f"recall_{average}": float(r),
                       f"f1_{average}": float(f)})
    return result


def regression_metrics(y_true, y_pred) -> dict:
    """MSE, RMSE, MAE and R2 of predictions ``(n,)`` or ``(n, 1)`` against ``y_true``."""
    from sklearn import metrics as skm

    y_true = np.asarray(y_true, dtype=float).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype=float).reshape(len(y_pred), -1)
    mse = float(skm.mean_squared_error(y_true, y_pred))
    return {"mse": mse, "rmse": mse ** 0.5, "mae": float(skm.mean_absolute_error(y_true, y_pred)),
            "r2": float(skm.r2_score(y_true, y_pred))}


def confusion_matrix(y_true, y_pred, num_classes=None) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of class ``i`` predicted as ``j`` (rows: true class)."""
    from sklearn import metrics as skm

    y_true, y_pred = predicted_labels(y_true), predicted_labels(y_pred)
    labels = None if num_classes is None else np.arange(num_classes)
    return skm.confusion_matrix(y_true, y_pred, labels=labels)


def classification_report(y_true, y_pred, class_names=None) -> str:
    """A printable table of precision, recall, F1 and support per class, with averages."""
    from sklearn import metrics as skm

    y_true, y_pred = predicted_labels(y_true), predicted_labels(y_pred)
    labels = None if class_names is None else np.arange(len(class_names))
    names = None if class_names is None else [str(c) for c in class_names]
    return skm.classification_report(y_true, y_pred, labels=labels, target_names=names,
                                     digits=4, zero_division=0)


# ---- baselines -------------------------------------------------------------------------------


def compare_with_baselines(model_or_builder, X_train, y_train, X_test, y_test, task="auto",
                           fit_kwargs=None, inverse_target=None, random_state=0,
                           trained=False):
    """Fit an nnlite model and scikit-learn baselines on the same split; score each on test.

    The baselines are the Dummy model (most frequent class / mean), LogisticRegression or
    Ridge, an MLP with the nnlite model's hidden Dense sizes and activation, trained for at
    most as many epochs with the same batch size, and a RandomForest.

    Args:
        model_or_builder: a function that returns a compiled ``Sequential``, or a compiled
            ``Sequential`` whose architecture and compile settings are copied: the copy
            starts from fresh weights, so the model you pass is never trained further.
            The trained model is ``table.attrs["model"]``.
        X_train, y_train, X_test, y_test: the split; classification targets are class ids
            (sparse) or one-hot rows.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (from the model's loss).
        fit_kwargs: passed to ``model.fit`` (default ``epochs=50, batch_size=32,
            verbose=0``).
        inverse_target: for regression, a function mapping targets and predictions back to
            the original units before scoring (when the target was scaled).
        random_state: seed of the scikit-learn models.
        trained: ``model_or_builder`` is a Sequential trained already (on ``X_train``, or
            part of it): score it as it is, without training it or a copy (its
            ``fit_time_s`` is NaN); ``fit_kwargs`` still sets the MLP's epochs and batch.

    Returns:
        A DataFrame, one row per model (nnlite first): ``model``, then ``accuracy`` and
        ``f1_macro`` (classification) or ``rmse`` and ``r2`` (regression), and
        ``fit_time_s``; ``attrs["model"]`` is the nnlite model trained here.

    Raises:
        TypeError: when ``model_or_builder`` gives no Sequential.
        ValueError: for an unknown ``task``.
    """
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    model = model_or_builder() if callable(model_or_builder) and not hasattr(
        model_or_builder, "fit") else model_or_builder
    if not hasattr(model, "fit") or not hasattr(model, "layers"):
        raise TypeError("compare_with_baselines: expected a compiled Sequential or a function "
                        f"returning one, got {type(model).__name__}.")
    if trained and model is not model_or_builder:
        raise TypeError("compare_with_baselines: trained=True needs the trained Sequential "
                        "itself, not a function that builds one.")
    if model is model_or_builder and not trained:
        # Train a copy with fresh weights: the caller's model (maybe trained already) stays
        # as it is, and the comparison is between models trained for the same budget.
        from nnlite.model import Sequential

        # (an uncompiled model stays uncompiled, and fit says so)
        model = Sequential.from_config(model.get_config())
    fit_kwargs = {"epochs": 50, "batch_size": 32, "verbose": 0, **(fit_kwargs or {})}
    if task == "auto":
        task = "regression" if getattr(model.loss, "name", "") == "mse" else "classification"
    if task not in ("classification", "regression"):
        raise ValueError(f"compare_with_baselines: task must be 'auto', 'classification' or "
                         f"'regression', got {task!r}.")
    classify = task == "classification"

    start = time.perf_counter()
    if not trained:
        model.fit(X_train, y_train, **fit_kwargs)
    rows = [("nnlite " + _describe(model), model.predict(X_test),
             float("nan") if trained else time.perf_counter() - start)]

    sizes, activation = _hidden_layers(model)
    mlp_kwargs = {"hidden_layer_sizes": sizes, "activation": activation,
                  "max_iter": fit_kwargs["epochs"], "batch_size": fit_kwargs["batch_size"],
                  "random_state": random_state}
    if classify:
        y_fit = predicted_labels(y_train)
        baselines = [("Dummy (most frequent)", DummyClassifier(strategy="most_frequent")),
                     ("LogisticRegression", LogisticRegression(max_iter=2000)),
                     (f"MLPClassifier {sizes}", MLPClassifier(**mlp_kwargs)),
                     ("RandomForest", RandomForestClassifier(random_state=random_state))]
    else:
        y_fit = np.asarray(y_train, dtype=float).reshape(len(y_train), -1)
        y_fit = y_fit[:, 0] if y_fit.shape[1] == 1 else y_fit
        baselines = [("Dummy (mean)", DummyRegressor()), ("Ridge", Ridge()),
                     (f"MLPRegressor {sizes}", MLPRegressor(**mlp_kwargs)),
                     ("RandomForest", RandomForestRegressor(random_state=random_state))]
    for name, estimator in baselines:
        start = time.perf_counter()
        with warnings.catch_warnings():
            # An MLP stopped at the same epoch count as nnlite may not have converged.
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X_train, y_fit)
        rows.append((name, estimator.predict(X_test), time.perf_counter() - start))

    table = []
    for name, y_pred, seconds in rows:
        if classify:
            scores = classification_metrics(y_test, y_pred)
            scores = {"accuracy": scores["accuracy"], "f1_macro": scores["f1_macro"]}
        else:
            truth, guess = np.asarray(y_test, dtype=float), np.asarray(y_pred, dtype=float)
            guess = guess.reshape(truth.shape)
            if inverse_target is not None:
                truth, guess = inverse_target(truth), inverse_target(guess)
            scores = regression_metrics(truth, guess)
            scores = {"rmse": scores["rmse"], "r2": scores["r2"]}
        table.append({"model": name, **scores, "fit_time_s": seconds})
    import pandas as pd

    table = pd.DataFrame(table)
    table.attrs["model"] = model
    return table


def _hidden_layers(model):
    """Hidden Dense sizes and an activation scikit-learn's MLP knows (relu by default)."""
    dense = [layer for layer in model.layers if hasattr(layer, "units")]
    sizes = tuple(layer.units for layer in dense[:-1])
    names = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic", "linear": "identity"}
    first = getattr(dense[0].activation, "name", "relu") if len(dense) > 1 else "relu"
    return sizes, names.get(first, "relu")


def _describe(model):
    sizes, _ = _hidden_layers(model)
    return f"Sequential {sizes}" if sizes else "Sequential"
