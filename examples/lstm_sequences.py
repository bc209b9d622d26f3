"""An LSTM that remembers: recall the first token of a long, padded sequence.

Each sequence starts with a signal token (ids 1-4, the class to predict) followed by 10 to 50
distractor tokens (ids 5-19); sequences are padded with id 0 to a common length, before or
after their tokens. The network must carry the first token through every later step:
``Embedding(20, 8, mask_zero=True) -> LSTM(32) -> Dense(4, softmax)``. The mask makes the
LSTM skip the padding, so pre- and post-padded copies of a sequence get the same answer.
A SimpleRNN of the same size, trained the same way, forgets the signal long before the end.

Run: ``python examples/lstm_sequences.py``.
"""

import numpy as np

import nnlite
from nnlite.layers import GRU, LSTM, Dense, Embedding, SimpleRNN

CLASSES, VOCAB = 4, 20
CELLS = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}


def make_data(n, min_length=10, max_length=50, padding="post", seed=0):
    """Return padded ids ``(n, max_length + 1)`` and labels ``(n,)``, the first token - 1."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, size=n)
    lengths = rng.integers(min_length, max_length + 1, size=n) + 1    # signal + distractors
    x = np.zeros((n, max_length + 1), dtype=np.int64)
    for row, (label, length) in enumerate(zip(y, lengths, strict=True)):
        tokens = np.concatenate([[label + 1], rng.integers(CLASSES + 1, VOCAB, size=length - 1)])
        if padding == "post":
            x[row, :length] = tokens
        else:
            x[row, -length:] = tokens
    return x, y


def train(cell="LSTM", n_train=3000, n_test=500, max_length=50, units=16, epochs=10,
          learning_rate=0.003, seed=0, verbose=0):
    """Train ``Embedding -> cell -> Dense`` on post-padded data.

    Returns:
        ``(model, accuracy on post-padded test data, accuracy on the same data pre-padded)``.
    """
    nnlite.set_seed(seed)
    x, y = make_data(n_train, max_length=max_length, seed=seed)
    model = nnlite.Sequential([Embedding(VOCAB, 8, mask_zero=True), CELLS[cell](units),
                               Dense(CLASSES, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=nnlite.optimizers.Adam(learning_rate), metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=verbose)
    x_post, y_test = make_data(n_test, max_length=max_length, seed=seed + 1)
    x_pre, _ = make_data(n_test, max_length=max_length, padding="pre", seed=seed + 1)
    return (model, model.evaluate(x_post, y_test)["accuracy"],
            model.evaluate(x_pre, y_test)["accuracy"])


def main():
    for cell in CELLS:
        _, post, pre = train(cell)
        print(f"{cell:>9}: test accuracy {post:.3f} post-padded, {pre:.3f} pre-padded "
              f"(chance: {1 / CLASSES:.2f})")


if __name__ == "__main__":
    main()
