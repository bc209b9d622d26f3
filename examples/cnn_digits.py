"""Train a small CNN on scikit-learn's 8x8 digits and report its test accuracy.

Run from the repository root: ``python examples/cnn_digits.py [--epochs 10] [--save cnn.nnlite]``.
It needs only nnlite and scikit-learn, and takes a few seconds.
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split

import nnlite
from nnlite.layers import Conv2D, Dense, Flatten, MaxPool2D


def load_images():
    """Return train/test splits of the digits as channels-last images in [0, 1]."""
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]     # (1797, 8, 8) -> (..., 1)
    return train_test_split(x, digits.target, test_size=0.25, stratify=digits.target,
                            random_state=0)


def build_cnn():
    model = nnlite.Sequential([
        Conv2D(8, 3, padding="same", activation="relu"),         # (8, 8, 8)
        MaxPool2D(),                                             # (4, 4, 8)
        Conv2D(16, 3, padding="same", activation="relu"),        # (4, 4, 16)
        MaxPool2D(),                                             # (2, 2, 16)
        Flatten(),                                               # (64,)
        Dense(10, activation="softmax"),
    ], input_shape=(8, 8, 1), name="digits_cnn")
    model.compile(optimizer=nnlite.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", help="write the trained model to this file")
    args = parser.parse_args(argv)

    nnlite.set_seed(args.seed)
    x_train, x_test, y_train, y_test = load_images()
    model = build_cnn()
    model.summary()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, validation_split=0.1,
              verbose=2)
    scores = model.evaluate(x_test, y_test)
    print(f"\ntest loss {scores['loss']:.4f}, test accuracy {scores['accuracy']:.3f}\n")
    print(classification_report(y_test, model.predict(x_test).argmax(axis=1), digits=3))
    if args.save:
        model.save(args.save)
        print(f"saved to {args.save}")
    return scores


if __name__ == "__main__":
    main()
