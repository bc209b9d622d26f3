"""NNClassifier / NNRegressor beside scikit-learn's MLPClassifier / MLPRegressor.

Both sides get the same settings: hidden layers, epochs (MLP's ``max_iter``), Adam with the
same learning rate, batch size, L2 ``alpha`` and stopping rule (``tol``,
``n_iter_no_change``), behind the same ``StandardScaler``. For each data set and seed the
data is split 75/25 (stratified for classification) and both models are fitted with that
seed; the table shows the mean and spread of the test score (accuracy or R2, in points out
of 100) and the mean fit time. Regression targets are standardised for both sides with
``TransformedTargetRegressor``.

Run: ``python -m benchmarks.baselines [--seeds 3] [--epochs 200]``.
"""

import argparse
import statistics
import time
from importlib import resources

import numpy as np
from sklearn import datasets
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks.common import save_json
from nnlite.sklearn import NNClassifier, NNRegressor

HIDDEN = (100,)
SHARED = {"learning_rate": 0.001, "alpha": 1e-4, "tol": 1e-4, "n_iter_no_change": 10}


def _penguins():
    """The shipped penguins table, or None (with the reason) when it is not there."""
    try:
        path = resources.files("nnlite") / "datasets" / "penguins.csv"
        if not path.is_file():
            return None, "nnlite/datasets/penguins.csv is not in this checkout"
        from nnlite.data import load_csv
    except ImportError as exc:
        return None, f"nnlite.data is not available ({exc})"
    with resources.as_file(path) as file:
        data = load_csv(file, target="species", scale=None)
    return (np.asarray(data.x), np.asarray(data.y)), None


def _datasets():
    yield "digits", "classification", datasets.load_digits(return_X_y=True), None
    yield "breast_cancer", "classification", datasets.load_breast_cancer(return_X_y=True), None
    yield "wine", "classification", datasets.load_wine(return_X_y=True), None
    yield "iris", "classification", datasets.load_iris(return_X_y=True), None
    data, note = _penguins()
    yield "penguins", "classification", data, note
    yield "diabetes", "regression", datasets.load_diabetes(return_X_y=True), None


def _models(task, seed, epochs, batch_size):
    common = {**SHARED, "random_state": seed}
    if task == "classification":
        ours = NNClassifier(hidden_layer_sizes=HIDDEN, epochs=epochs, batch_size=batch_size,
                            **common)
        theirs = MLPClassifier(hidden_layer_sizes=HIDDEN, max_iter=epochs, solver="adam",
                               learning_rate_init=SHARED["learning_rate"],
                               batch_size=batch_size,
                               **{k: v for k, v in common.items() if k != "learning_rate"})
        return make_pipeline(StandardScaler(), ours), make_pipeline(StandardScaler(), theirs)
    ours = NNRegressor(hidden_layer_sizes=HIDDEN, epochs=epochs, batch_size=batch_size,
                       **common)
    theirs = MLPRegressor(hidden_layer_sizes=HIDDEN, max_iter=epochs, solver="adam",
                          learning_rate_init=SHARED["learning_rate"], batch_size=batch_size,
                          **{k: v for k, v in common.items() if k != "learning_rate"})
    return tuple(TransformedTargetRegressor(make_pipeline(StandardScaler(), model),
                                            transformer=StandardScaler())
                 for model in (ours, theirs))


def run(seeds=3, epochs=200, batch_size=32):
    """Fit both sides on every data set and seed; return one row per data set."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    rows = []
    for name, task, data, note in _datasets():
        if data is None:
            rows.append({"dataset": name, "task": task, "skipped": note})
            continue
        X, y = data
        scores = {"nnlite": [], "sklearn": []}
        times = {"nnlite": [], "sklearn": []}
        for seed in range(seeds):
            split = train_test_split(X, y, test_size=0.25, random_state=seed,
                                     stratify=y if task == "classification" else None)
            X_train, X_test, y_train, y_test = split
            for side, model in zip(("nnlite", "sklearn"),
                                   _models(task, seed, epochs, batch_size), strict=True):
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    model.fit(X_train, y_train)
                times[side].append(time.perf_counter() - start)
                scores[side].append(100.0 * model.score(X_test, y_test))
        rows.append({"dataset": name, "task": task, "n_samples": len(X),
                     "n_features": X.shape[1], "scores": scores, "fit_seconds": times})
    return rows


def print_table(rows, seeds, epochs, batch_size):
    print(f"\n### Test score beside scikit-learn's MLP (hidden {HIDDEN}, Adam lr "
          f"{SHARED['learning_rate']}, batch {batch_size}, up to {epochs} epochs, "
          f"alpha {SHARED['alpha']}, {seeds} seeds)\n")
    print("| data set | metric | nnlite score | sklearn score | difference | nnlite fit s "
          "| sklearn fit s |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        if "skipped" in row:
            print(f"| {row['dataset']} | - | skipped: {row['skipped']} | | | | |")
            continue
        metric = "accuracy %" if row["task"] == "classification" else "R2 x 100"
        s, t = row["scores"], row["fit_seconds"]
        mean = {k: statistics.mean(v) for k, v in s.items()}
        spread = {k: statistics.pstdev(v) for k, v in s.items()}
        print(f"| {row['dataset']} | {metric} | {mean['nnlite']:.1f} ± {spread['nnlite']:.1f} "
              f"| {mean['sklearn']:.1f} ± {spread['sklearn']:.1f} "
              f"| {mean['nnlite'] - mean['sklearn']:+.1f} "
              f"| {statistics.mean(t['nnlite']):.2f} | {statistics.mean(t['sklearn']):.2f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    rows = run(args.seeds, args.epochs, args.batch_size)
    print_table(rows, args.seeds, args.epochs, args.batch_size)
    save_json("baselines", {"settings": {"hidden_layer_sizes": list(HIDDEN), **SHARED,
                                         "epochs": args.epochs, "batch_size": args.batch_size,
                                         "seeds": args.seeds},
                            "rows": rows})


if __name__ == "__main__":
    main()
