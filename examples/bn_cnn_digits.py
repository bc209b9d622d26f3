"""The same small CNN on scikit-learn's 8x8 digits, with and without BatchNormalization.

Both networks start from the same seed and train with the same optimizer and batches; the
BatchNormalization one normalises each convolution's output over the batch before its ReLU.
The script prints the test accuracy after every epoch and how many epochs each network needed
to reach the best accuracy of the plain one.

Run from the repository root: ``python examples/bn_cnn_digits.py [--epochs 12]``.
It needs only nnlite and scikit-learn.
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import nnlite
from nnlite.layers import Activation, BatchNormalization, Conv2D, Dense, Flatten, MaxPool2D


def load_images():
    """Return train/test splits of the digits as channels-last images in [0, 1]."""
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]     # (1797, 8, 8) -> (..., 1)
    return train_test_split(x, digits.target, test_size=0.25, stratify=digits.target,
                            random_state=0)


def build_cnn(batch_norm, filters=(8, 16), learning_rate=0.05):
    """Conv -> [BatchNormalization] -> ReLU -> MaxPool, twice, then a softmax layer.

    With ``batch_norm`` the convolutions have no bias: BatchNormalization's ``beta`` takes
    its place (a bias before it would be subtracted again with the batch mean).
    """
    layers = []
    for i, f in enumerate(filters):
        layers.append(Conv2D(f, 3, padding="same", use_bias=not batch_norm, name=f"conv{i}"))
        if batch_norm:
            layers.append(BatchNormalization(name=f"bn{i}"))
        layers += [Activation("relu", name=f"relu{i}"), MaxPool2D(name=f"pool{i}")]
    layers += [Flatten(name="flat"), Dense(10, activation="softmax", name="out")]
    model = nnlite.Sequential(layers, input_shape=(8, 8, 1),
                              name="bn_cnn" if batch_norm else "plain_cnn")
    model.compile(optimizer=nnlite.optimizers.SGD(learning_rate=learning_rate, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def epochs_to_reach(accuracies, target):
    """The first epoch (1-based) whose accuracy is at least ``target``, or None."""
    return next((i + 1 for i, a in enumerate(accuracies) if a >= target), None)


def compare(epochs=12, seed=0, filters=(8, 16), batch_size=32, learning_rate=0.05,
            n_train=None):
    """Train both networks; return ``{"plain": [...], "batch_norm": [...]}``, the test
    accuracy after each epoch."""
    x_train, x_test, y_train, y_test = load_images()
    if n_train is not None:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    curves = {}
    for key, batch_norm in (("plain", False), ("batch_norm", True)):
        nnlite.set_seed(seed)   # same initial kernels and the same batches for both
        model = build_cnn(batch_norm, filters, learning_rate)
        history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                            validation_data=(x_test, y_test), verbose=0)
        curves[key] = [float(a) for a in history.history["val_accuracy"]]
    return curves


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--n-train", type=int, help="train on the first N training images")
    args = parser.parse_args(argv)

    curves = compare(args.epochs, args.seed, learning_rate=args.learning_rate,
                     n_train=args.n_train)
    print("epoch  plain  batch_norm   (test accuracy)")
    for epoch, (plain, bn) in enumerate(zip(curves["plain"], curves["batch_norm"],
                                            strict=True), start=1):
        print(f"{epoch:5d}  {plain:.3f}  {bn:.3f}")
    target = max(curves["plain"])
    print(f"\nbest plain accuracy {target:.3f}: reached at epoch "
          f"{epochs_to_reach(curves['plain'], target)} without BatchNormalization, at epoch "
          f"{epochs_to_reach(curves['batch_norm'], target)} with it "
          f"(best with it: {max(curves['batch_norm']):.3f}).")
    return curves


if __name__ == "__main__":
    main()
