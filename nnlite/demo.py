"""``python -m nnlite.demo``: train an MLP on scikit-learn's digits and compare with MLPClassifier.

The digits data set ships with scikit-learn, so the demo needs no download. Both models get
the same split, the same scaling (pixel values divided by 16) and the same hidden layer.
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import nnlite
from nnlite.layers import Dense

HIDDEN = 64
EPOCHS = 40


def main() -> int:
    nnlite.set_seed(0)
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, stratify=y, random_state=0)
    print(f"digits: {len(x_train)} training and {len(x_test)} test images of 8x8 pixels\n")

    model = nnlite.Sequential([Dense(HIDDEN, activation="relu"),
                               Dense(10, activation="softmax")], input_shape=(64,))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.summary()
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=EPOCHS, batch_size=32, validation_split=0.1,
              verbose=2)
    nnlite_time = time.perf_counter() - start
    nnlite_acc = model.evaluate(x_test, y_test)["accuracy"]

    baseline = MLPClassifier(hidden_layer_sizes=(HIDDEN,), max_iter=EPOCHS, batch_size=32,
                             random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        baseline.fit(x_train, y_train)
    sklearn_time = time.perf_counter() - start
    sklearn_acc = baseline.score(x_test, y_test)

    print(f"\nTest accuracy on {len(x_test)} held-out digits "
          f"(hidden layer of {HIDDEN}, {EPOCHS} epochs, Adam, batch 32):")
    print(f"  {'model':<32}{'accuracy':>10}{'fit time':>11}")
    print(f"  {'nnlite Sequential':<32}{nnlite_acc:>10.4f}{nnlite_time:>10.2f}s")
    print(f"  {'scikit-learn MLPClassifier':<32}{sklearn_acc:>10.4f}{sklearn_time:>10.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
