"""Embedding: a lookup table from integer ids to learned vectors."""

import numpy as np

from nnlite import initializers
from nnlite._utils import LazyModule, positive_int
from nnlite.layers.base import Layer

sparse = LazyModule("scipy.sparse")


class Embedding(Layer):
    """Map each integer id to a row of ``embeddings``: ``y[i, s] = embeddings[x[i, s]]``.

    The gradient of ``embeddings`` is a segment sum of the output gradient by id (rows of
    repeated ids add up), computed as one sparse one-hot product. No gradient flows to the
    ids, so ``backward`` returns None.

    Args:
        input_dim: vocabulary size; ids must lie in ``[0, input_dim)``.
        output_dim: length of each embedding vector.
        embeddings_initializer: name or callable for the table (Keras' ``"uniform"``,
            ``U(-0.05, 0.05)``, by default).
        mask_zero: id 0 is padding: ``compute_mask`` returns ``x != 0``, which a model hands
            to the layers after this one (recurrent layers then skip padded steps). As in
            Keras, ``input_dim`` must then count the padding id too (vocabulary size + 1).
            Row 0 of the table stays; layers that skip padded steps send it no gradient.

    Shapes:
        x: (n, t) integer ids -> (n, t, output_dim). Params: embeddings (input_dim, output_dim).

    >>> import numpy as np
    >>> layer = Embedding(10, 3)
    >>> layer(np.array([[1, 2, 1]])).shape
    (1, 3, 3)
    """

    integer_input = True

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.mask_zero = bool(mask_zero)
        self.input_dim = positive_int("Embedding", "input_dim", input_dim)
        self.output_dim = positive_int("Embedding", "output_dim", output_dim)
        self.embeddings_initializer = embeddings_initializer
        self._init = initializers.get(embeddings_initializer)

    def build(self, input_shape):
        super().build(input_shape)
        self._add_param("embeddings", (self.input_dim, self.output_dim), self._init)

    def forward(self, x, training=False):
        self._cache = x
        # np.take is several times faster than fancy indexing for a 2-D table.
        return np.take(self.params["embeddings"], x, axis=0)    # (n, t) -> (n, t, out)

    def backward(self, grad_output):
        ids = self._cached().reshape(-1)                         # (n*t,)
        grad = grad_output.reshape(-1, self.output_dim)          # (n*t, out)
        # one_hot is (input_dim, n*t) with a 1 at (ids[j], j); one_hot @ grad adds up the
        # rows of repeated ids. In compressed-column form it needs no sorting, and the
        # product is a scatter-add in compiled code.
        one_hot = sparse.csc_matrix(
            (np.ones(ids.size, dtype=grad.dtype), ids, np.arange(ids.size + 1)),
            shape=(self.input_dim, ids.size))
        self.grads["embeddings"] = one_hot @ grad                # (vocab, n*t) @ (n*t, out)
        return None

    def compute_mask(self, x, mask):
        """``x != 0`` with ``mask_zero`` (True = a real token), else None."""
        return np.not_equal(x, 0) if self.mask_zero else None

    def output_shape(self, input_shape):
        return (*tuple(input_shape), self.output_dim)

    def _check_input(self, x):
        who = f"Embedding {self.name!r}"
        kind = getattr(getattr(x, "dtype", None), "kind", None)
        if kind not in ("i", "u"):
            raise ValueError(f"{who} expects integer token ids, got "
                             f"{getattr(x, 'dtype', type(x).__name__)} input; cast with "
                             "x.astype(int) if the values are whole numbers.")
        if x.ndim < 2:
            raise ValueError(f"{who} expects ids of shape (batch, timesteps), got shape "
                             f"{x.shape}.")
        low, high = (int(x.min()), int(x.max())) if x.size else (0, 0)
        bad = low if low < 0 else high if high >= self.input_dim else None
        if bad is not None:
            where = tuple(int(i) for i in np.argwhere(x == bad)[0])
            raise ValueError(f"{who}: ids must be in [0, {self.input_dim}) (input_dim, the "
                             f"vocabulary size), got {bad} at index {where}.")

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": self.embeddings_initializer,
                "mask_zero": self.mask_zero}
