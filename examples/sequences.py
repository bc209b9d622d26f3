"""Two small sequence tasks trained with Embedding and SimpleRNN.

1. Token order (classification): each sequence holds one token 7 and one token 3 among
   other tokens; the label says whether the 7 comes first. The network must remember, at
   the 3, whether it has already seen a 7. Model: Embedding -> SimpleRNN -> Dense(1, sigmoid).
2. Noisy sine (regression): from 20 noisy samples of a sine with random frequency and phase,
   predict the next sample. Model: SimpleRNN -> Dense(1).

Run: ``python examples/sequences.py``.
"""

import numpy as np

import nnlite
from nnlite.layers import Dense, Embedding, SimpleRNN

FIRST, SECOND = 7, 3


def make_order_data(n, length=20, vocab=10, seed=0):
    """Return ids ``(n, length)`` and labels ``(n,)``: 1 when token 7 comes before token 3."""
    rng = np.random.default_rng(seed)
    others = np.setdiff1d(np.arange(vocab), [FIRST, SECOND])
    x = others[rng.integers(0, len(others), size=(n, length))]
    # Two distinct random positions per row: the first two of a random permutation.
    positions = rng.random((n, length)).argsort(axis=1)[:, :2]
    rows = np.arange(n)
    x[rows, positions[:, 0]] = FIRST
    x[rows, positions[:, 1]] = SECOND
    y = (positions[:, 0] < positions[:, 1]).astype(np.int64)
    return x, y


def train_order_classifier(n_train=2000, n_test=500, epochs=10, seed=0, verbose=0):
    """Train the token-order classifier; return ``(model, test accuracy)``."""
    nnlite.set_seed(seed)
    x, y = make_order_data(n_train + n_test, seed=seed)
    model = nnlite.Sequential([Embedding(10, 8), SimpleRNN(16), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=nnlite.optimizers.Adam(0.01),
                  metrics=["accuracy"])
    model.fit(x[:n_train], y[:n_train], epochs=epochs, batch_size=32, verbose=verbose)
    return model, model.evaluate(x[n_train:], y[n_train:])["accuracy"]


def make_sine_data(n, length=20, noise=0.05, seed=0):
    """Return windows ``(n, length, 1)`` of noisy sines and the next noisy value ``(n,)``."""
    rng = np.random.default_rng(seed)
    frequency = rng.uniform(0.1, 0.3, size=(n, 1))
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(n, 1))
    steps = np.arange(length + 1)
    series = np.sin(frequency * steps + phase) + noise * rng.standard_normal((n, length + 1))
    return series[:, :length, None], series[:, length]         # (n, t, 1), (n,)


def train_sine_regressor(n_train=2000, n_test=500, epochs=10, seed=0, verbose=0):
    """Train the next-value regressor; return ``(model, test MSE, variance of the targets)``."""
    nnlite.set_seed(seed)
    x, y = make_sine_data(n_train + n_test, seed=seed)
    model = nnlite.Sequential([SimpleRNN(16), Dense(1)])
    model.compile(loss="mse", optimizer=nnlite.optimizers.Adam(0.01))
    model.fit(x[:n_train], y[:n_train], epochs=epochs, batch_size=32, verbose=verbose)
    mse = model.evaluate(x[n_train:], y[n_train:])["loss"]
    return model, mse, float(np.var(y[n_train:]))


def main():
    model, accuracy = train_order_classifier(verbose=2)
    model.summary()
    print(f"token order: test accuracy {accuracy:.3f}\n")
    model, mse, variance = train_sine_regressor(verbose=2)
    model.summary()
    print(f"noisy sine: test MSE {mse:.4f} (variance of the targets {variance:.4f})")


if __name__ == "__main__":
    main()
