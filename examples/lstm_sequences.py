"""An LSTM on padded sequences of different lengths: which marker comes first?

Each sequence holds 10 to 50 random tokens (ids 3-19) among which one marker 1 and one marker
2 sit at random places; the label says whether the 1 comes before the 2. Sequences are padded
with id 0 to 50 steps, after their tokens for training and on either side for testing. Model:
``Embedding(20, 8, mask_zero=True) -> LSTM(16) -> Dense(1, sigmoid)``: the mask makes the
LSTM skip the padding, so a sequence gets the same answer however it is padded. ``main()``
also trains a GRU and a SimpleRNN of the same size the same way.

Run: ``python examples/lstm_sequences.py``.
"""

import numpy as np

import nnlite
from nnlite.layers import GRU, LSTM, Dense, Embedding, SimpleRNN

VOCAB = 20
CELLS = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}


def make_data(n, min_length=10, max_length=50, padding="post", seed=0):
    """Return ids ``(n, max_length)``, 0 for padding, and labels ``(n,)``: 1 when marker 1
    comes before marker 2. The same seed gives the same sequences on either side of the
    padding."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_length, max_length + 1, size=n)
    x = np.zeros((n, max_length), dtype=np.int64)
    y = np.zeros(n, dtype=np.int64)
    for row, length in enumerate(lengths):
        tokens = rng.integers(3, VOCAB, size=length)
        first, second = rng.choice(length, size=2, replace=False)
        tokens[first], tokens[second] = 1, 2
        y[row] = first < second
        if padding == "post":
            x[row, :length] = tokens
        else:
            x[row, max_length - length:] = tokens
    return x, y


def train(cell="LSTM", n_train=2000, n_test=500, max_length=50, units=16, epochs=10,
          learning_rate=0.01, seed=0, verbose=0):
    """Train ``Embedding -> cell -> Dense`` on post-padded data.

    Returns:
        ``(model, accuracy on post-padded test data, accuracy on the same data pre-padded)``.
    """
    nnlite.set_seed(seed)
    x, y = make_data(n_train, max_length=max_length, seed=seed)
    model = nnlite.Sequential([Embedding(VOCAB, 8, mask_zero=True), CELLS[cell](units),
                               Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=nnlite.optimizers.Adam(learning_rate),
                  metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=verbose)
    x_post, y_test = make_data(n_test, max_length=max_length, seed=seed + 1)
    x_pre, _ = make_data(n_test, max_length=max_length, padding="pre", seed=seed + 1)
    return (model, model.evaluate(x_post, y_test)["accuracy"],
            model.evaluate(x_pre, y_test)["accuracy"])


def main():
    for cell in CELLS:
        _, post, pre = train(cell)
        print(f"{cell:>9}: test accuracy {post:.3f} post-padded, {pre:.3f} pre-padded")


if __name__ == "__main__":
    main()
