"""TextVectorizer: raw strings -> token ids or bag-of-words, with its whole state as JSON.

The steps follow Keras' ``TextVectorization``: standardize each text, split it into tokens,
optionally add n-grams, then look every token up in a vocabulary learned by ``adapt``.
All the per-token work runs in C: ``str`` methods and a precompiled regex for the text,
``Counter`` for the counting, ``dict.get`` mapped over the tokens for the look-up, NumPy for
padding and SciPy's CSR matrices for the bags of words. Python loops run once per text at
most, so vectorizing costs about what scikit-learn's ``CountVectorizer`` does for the same
texts (``benchmarks/text_vectorize.py`` measures it).
"""

import math
import re
import string
from collections import Counter
from itertools import chain, compress, repeat

import numpy as np

from nnlite import config
from nnlite._utils import did_you_mean, positive_int

OUTPUT_MODES = ("int", "multi_hot", "count", "tf_idf")
STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLITS = ("whitespace", "character")
PADS = ("post", "pre")
#: Id 0 in ``"int"`` mode: the padding token.
PAD_TOKEN = ""
#: Id 1 in ``"int"`` mode, id 0 (the first column) in the bag-of-words modes.
OOV_TOKEN = "[UNK]"
# Keras strips the 32 ASCII punctuation characters and nothing else.
_PUNCTUATION = re.compile("[" + re.escape(string.punctuation) + "]")


class TextVectorizer:
    """Turn raw strings into token ids or bag-of-words vectors (Keras' TextVectorization).

    Each text is standardized (``standardize``), split into tokens (``split``), extended with
    n-grams (``ngrams``, joined by a space; per text, all n-grams of the first width, then of
    the next, as Keras), and looked up in the vocabulary that ``adapt`` learned: the most
    frequent tokens first, ties in alphabetical order.

    In ``"int"`` mode id 0 is padding (``""``) and id 1 is out-of-vocabulary (``"[UNK]"``),
    so ``max_tokens`` counts those two, as in Keras. In the bag-of-words modes column 0 is
    the out-of-vocabulary column (it counts the unknown tokens of each text) and
    ``max_tokens`` counts it. ``"tf_idf"`` multiplies each count by Keras' inverse document
    frequency ``log(1 + n_texts / (1 + document_count))`` (no normalization; the
    out-of-vocabulary column gets the mean weight of the vocabulary).

    Where nnlite differs from Keras: ties in the vocabulary are broken alphabetically
    (Keras: reverse order); ``"lower"`` lowercases all of Unicode (Keras: ASCII only);
    ``pad="pre"`` exists; standardize and split take no callables (the state must be JSON).

    Args:
        max_tokens: largest vocabulary size, special tokens included; None for no limit.
        output_mode: ``"int"``, ``"multi_hot"``, ``"count"`` or ``"tf_idf"``.
        output_sequence_length: ``"int"`` mode only: pad or truncate every row to this
            length; None pads to the longest text of the call (at least 1).
        standardize: ``"lower_and_strip_punctuation"``, ``"lower"``,
            ``"strip_punctuation"`` or None.
        split: ``"whitespace"``, ``"character"`` (every character, spaces included) or None
            (each text is one token).
        ngrams: None; an int n for all n-grams of 1 to n tokens; or a tuple of widths.
        pad: ``"post"`` keeps the start of each text at column 0 (padding and truncation at
            the end, as Keras); ``"pre"`` keeps the end of each text at the last column
            (padding and truncation at the start, as Keras' ``pad_sequences`` default).
        pad_to_max_tokens: bag-of-words modes: make the output ``max_tokens`` wide even when
            the vocabulary is smaller, so that the width does not depend on the corpus. None
            (the default) means True for the bag-of-words modes when ``max_tokens`` is set
            (nnlite's contract: ``(n, max_tokens)``); pass False for ``vocabulary_size()``
            columns (Keras' default), which saves memory on a small corpus.
        sparse: bag-of-words modes: return a ``scipy.sparse.csr_matrix`` instead of an array.
        vocabulary: tokens to use instead of ``adapt`` (without the special tokens).
        idf_weights: ``"tf_idf"`` mode with ``vocabulary``: one weight per token.
        dtype: float dtype of the bag-of-words output; None means ``nnlite.get_dtype()``.

    Shapes:
        texts: n strings -> ``"int"``: (n, L) int64; other modes: (n, max_tokens), or
        (n, vocabulary_size()) with ``pad_to_max_tokens=False`` or ``max_tokens=None``.

    >>> vectorizer = TextVectorizer(max_tokens=6, output_sequence_length=4)
    >>> vectorizer.adapt(["The cat sat.", "The dog sat!", "the end"]).get_vocabulary()
    ['', '[UNK]', 'the', 'sat', 'cat', 'dog']
    >>> vectorizer(["the bird sat", "cat"])
    array([[2, 1, 3, 0],
           [4, 0, 0, 0]])
    """

    def __init__(self, max_tokens=20000, output_mode="int", output_sequence_length=None,
                 standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 pad="post", *, pad_to_max_tokens=None, sparse=False, vocabulary=None,
                 idf_weights=None, dtype=None):
        self.output_mode = _choice("output_mode", output_mode, OUTPUT_MODES)
        self.standardize = _choice("standardize", standardize, STANDARDIZE, allow_none=True)
        self.split = _choice("split", split, SPLITS, allow_none=True)
        self.pad = _choice("pad", pad, PADS)
        max_tokens = _check_max_tokens(max_tokens, 2 if self.output_mode == "int" else 1,
                                       self.output_mode)
        self.max_tokens = max_tokens
        if output_sequence_length is not None:
            if self.output_mode != "int":
                raise ValueError(
                    "TextVectorizer: output_sequence_length applies to output_mode='int' only, "
                    f"got output_sequence_length={output_sequence_length!r} with "
                    f"output_mode={self.output_mode!r}.")
            output_sequence_length = positive_int("TextVectorizer", "output_sequence_length",
                                                  output_sequence_length)
        self.output_sequence_length = output_sequence_length
        self.ngrams, self._widths = _check_ngrams(ngrams)
        if pad_to_max_tokens is None:
            pad_to_max_tokens = self.output_mode != "int" and max_tokens is not None
        for name, flag in (("pad_to_max_tokens", pad_to_max_tokens), ("sparse", sparse)):
            if not isinstance(flag, bool | np.bool_):
                raise ValueError(f"TextVectorizer: {name} must be True or False, got {flag!r}.")
            if flag and self.output_mode == "int":
                raise ValueError(f"TextVectorizer: {name}=True applies to the bag-of-words modes "
                                 f"('multi_hot', 'count', 'tf_idf'), not output_mode='int'.")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError("TextVectorizer: pad_to_max_tokens=True needs an int max_tokens, "
                             "got max_tokens=None.")
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.sparse = bool(sparse)
        try:
            self.dtype = config.resolve_dtype(dtype)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"TextVectorizer: dtype must be 'float32' or 'float64', "
                             f"got {dtype!r}.") from exc
        self._tokens = None
        self._idf = None
        self._lookup = None
        if vocabulary is not None:
            self._set_state(*_check_vocabulary(self, vocabulary, idf_weights))
        elif idf_weights is not None:
            raise ValueError("TextVectorizer: idf_weights needs a vocabulary (one weight per "
                             "token); got idf_weights without vocabulary.")

    # ------------------------------------------------------------------ vocabulary
    def adapt(self, texts):
        """Learn the vocabulary (and, in ``"tf_idf"`` mode, the idf weights) from ``texts``.

        The previous vocabulary, if any, is replaced. Tokens are ranked by their count over
        all texts, ties in alphabetical order, and the first ``max_tokens`` minus the special
        tokens are kept.

        Args:
            texts: an iterable of strings (list, tuple, 1-D array, pandas Series...).

        Returns:
            The vectorizer itself, so that ``TextVectorizer(...).adapt(texts)`` chains.

        Raises:
            TypeError: if ``texts`` is a single string or holds a non-string.
            ValueError: if ``texts`` is empty or holds no token at all.
        """
        texts = _as_texts(texts, "adapt")
        if not texts:
            raise ValueError("TextVectorizer.adapt: got no texts; pass at least one non-empty "
                             "string.")
        docs = self._split_texts(texts)
        flat, lengths = self._with_ngrams(docs)
        counts = Counter(flat)
        for special in (PAD_TOKEN, OOV_TOKEN):
            counts.pop(special, None)
        if not counts:
            raise ValueError(
                f"TextVectorizer.adapt: the {len(texts)} text(s) hold no token (all empty after "
                f"standardize={self.standardize!r} and split={self.split!r}); pass texts with "
                f"words in them.")
        # Sort alphabetically in C, then a stable sort by descending count keeps that order
        # among equal counts: the same as sorting on (-count, token), without a Python key.
        alphabetical = sorted(counts)
        frequency = np.fromiter(map(counts.__getitem__, alphabetical), np.int64,
                                len(alphabetical))
        order = np.argsort(-frequency, kind="stable")
        if self.max_tokens is not None:
            order = order[:self.max_tokens - self._n_specials()]
        tokens = [alphabetical[i] for i in order]
        idf = None
        if self.output_mode == "tf_idf":
            idf = _idf_weights(tokens, flat, lengths)
        self._set_state(tokens, idf)
        return self

    def get_vocabulary(self, include_special_tokens=True) -> list:
        """Return the tokens by id: ``["", "[UNK]", ...]`` in ``"int"`` mode, ``["[UNK]", ...]``
        in the others (only the special tokens before ``adapt``)."""
        specials = [PAD_TOKEN, OOV_TOKEN] if self.output_mode == "int" else [OOV_TOKEN]
        tokens = list(self._tokens or [])
        return specials + tokens if include_special_tokens else tokens

    def vocabulary_size(self) -> int:
        """Number of ids, special tokens included (the bag-of-words width)."""
        return self._n_specials() + len(self._tokens or [])

    # ------------------------------------------------------------------ vectorizing
    def __call__(self, texts):
        """Vectorize ``texts`` (an iterable of strings).

        Returns:
            ``"int"``: an int64 array (n, L) of ids; the other modes: a float array
            (n, vocabulary_size()) in ``dtype`` (a CSR matrix with ``sparse=True``).

        Raises:
            RuntimeError: before ``adapt`` (or a ``vocabulary``).
            TypeError: if ``texts`` is a single string or holds a non-string.
        """
        if self._tokens is None:
            raise RuntimeError("TextVectorizer has no vocabulary yet: call "
                               "vectorizer.adapt(texts) first (or pass vocabulary=...).")
        texts = _as_texts(texts, "__call__")
        flat, lengths = self._with_ngrams(self._split_texts(texts))
        oov = 1 if self.output_mode == "int" else 0
        ids = np.fromiter(map(self._lookup.get, flat, repeat(oov)), np.int64, len(flat))
        if self.output_mode == "int":
            return self._sequences(ids, lengths)
        return self._bags(ids, lengths)

    def _sequences(self, ids, lengths):
        """Lay the flat ids out as padded rows: (total,) -> (n, L)."""
        length = self.output_sequence_length
        if length is None:
            length = max(int(lengths.max(initial=0)), 1)
        kept = np.minimum(lengths, length)
        columns = np.arange(length)
        position = np.arange(len(ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        if self.pad == "post":
            mask = columns < kept[:, None]                       # (n, L)
            keep = position < length
        else:
            mask = columns >= (length - kept)[:, None]           # (n, L)
            keep = position >= np.repeat(lengths - kept, lengths)
        out = np.zeros((len(lengths), length), dtype=np.int64)
        # A boolean mask assigns in row-major order, which is the order of the flat ids.
        out[mask] = ids[keep]
        return out

    def _bags(self, ids, lengths):
        """Count the ids of each text in a CSR matrix: (total,) -> (n, width)."""
        from scipy import sparse

        width = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        bags = sparse.csr_matrix((np.ones(len(ids), dtype=self.dtype), ids, indptr),
                                 shape=(len(lengths), width))
        bags.sum_duplicates()                                    # one entry per (text, id)
        if self.output_mode == "multi_hot":
            bags.data[:] = 1
        elif self.output_mode == "tf_idf":
            # count * idf in the output dtype, as Keras multiplies them.
            bags.data *= self._idf_full(width).astype(self.dtype)[bags.indices]
        return bags if self.sparse else bags.toarray()

    # ------------------------------------------------------------------ tokenizing
    def _split_texts(self, texts):
        """Standardize and split: n strings -> n lists of tokens."""
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            texts = map(str.lower, texts)
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            texts = map(_PUNCTUATION.sub, repeat(""), texts)
        if self.split == "whitespace":
            return list(map(str.split, texts))
        if self.split == "character":
            return list(map(list, texts))
        return [[text] if text else [] for text in texts]

    def _with_ngrams(self, docs):
        """Flatten the token lists and add the n-grams: returns (tokens, tokens per text)."""
        n = len(docs)
        lengths = np.fromiter(map(len, docs), np.int64, n)
        flat = list(chain.from_iterable(docs))
        if self._widths == (1,):
            return flat, lengths
        doc_of = np.repeat(np.arange(n), lengths)
        pieces, piece_docs = [], []
        for width in self._widths:
            if width == 1:
                pieces.append(flat)
                piece_docs.append(doc_of)
                continue
            count = len(flat) - width + 1
            if count <= 0:
                continue
            # Every window of the flat list, then drop the ones that span two texts.
            windows = zip(*(flat[i:i + count] for i in range(width)), strict=True)
            inside = doc_of[:count] == doc_of[width - 1:]
            pieces.append(list(compress(map(" ".join, windows), inside.tolist())))
            piece_docs.append(doc_of[:count][inside])
        if not pieces:
            return [], np.zeros(n, dtype=np.int64)
        owners = np.concatenate(piece_docs)
        # A stable sort by text keeps, within each text, the widths in order and each
        # width's n-grams in reading order (Keras' order).
        order = np.argsort(owners, kind="stable")
        grams = np.array(list(chain.from_iterable(pieces)), dtype=object)[order].tolist()
        return grams, np.bincount(owners, minlength=n).astype(np.int64)

    # ------------------------------------------------------------------ state
    def _n_specials(self):
        return 2 if self.output_mode == "int" else 1

    def _set_state(self, tokens, idf):
        start = self._n_specials()
        self._tokens = list(tokens)
        self._idf = None if idf is None else np.asarray(idf, dtype=np.float64)
        self._lookup = dict(zip(self._tokens, range(start, start + len(self._tokens)),
                                strict=True))

    def _idf_full(self, width):
        """Idf weight per output column: the OOV column's is the mean of the tokens'."""
        full = np.zeros(width, dtype=np.float64)
        full[0] = self._idf.mean()
        full[1:1 + len(self._idf)] = self._idf
        return full

    def get_config(self) -> dict:
        """The whole state as plain JSON types: ``TextVectorizer.from_config`` rebuilds it."""
        return {
            "max_tokens": self.max_tokens,
            "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "standardize": self.standardize,
            "split": self.split,
            "ngrams": list(self.ngrams) if isinstance(self.ngrams, tuple) else self.ngrams,
            "pad": self.pad,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "sparse": self.sparse,
            "dtype": self.dtype.name,
            "vocabulary": None if self._tokens is None else list(self._tokens),
            "idf_weights": None if self._idf is None else self._idf.tolist(),
        }

    @classmethod
    def from_config(cls, config: dict) -> "TextVectorizer":
        """Rebuild a vectorizer from ``get_config()`` (every value is checked again).

        Raises:
            ValueError: for a config that is not a dict, has unknown keys or bad values.
        """
        if not isinstance(config, dict):
            raise ValueError(f"TextVectorizer.from_config: expected a dict, got "
                             f"{type(config).__name__}.")
        unknown = sorted(set(config) - _CONFIG_KEYS)
        if unknown:
            raise ValueError(f"TextVectorizer.from_config: unknown key(s) {unknown}; known: "
                             f"{', '.join(sorted(_CONFIG_KEYS))}.")
        config = dict(config)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        try:
            return cls(**config)
        except TypeError as exc:
            raise ValueError(f"TextVectorizer.from_config: {exc}") from exc

    def __repr__(self):
        config = self.get_config()
        vocabulary = config.pop("vocabulary")
        config.pop("idf_weights")
        args = ", ".join(f"{k}={v!r}" for k, v in config.items())
        state = "not adapted" if vocabulary is None else f"{len(vocabulary)} tokens"
        return f"TextVectorizer({args}) <{state}>"


_CONFIG_KEYS = {"max_tokens", "output_mode", "output_sequence_length", "standardize", "split",
                "ngrams", "pad", "pad_to_max_tokens", "sparse", "dtype", "vocabulary",
                "idf_weights"}


def _choice(name, value, choices, allow_none=False):
    """Return ``value`` if it is one of ``choices`` (or None when allowed), else raise."""
    if value is None and allow_none:
        return None
    if isinstance(value, str) and value in choices:
        return value
    known = ", ".join(repr(c) for c in choices) + (" or None" if allow_none else "")
    message = f"TextVectorizer: {name} must be one of {known}, got {value!r}."
    if callable(value):
        raise TypeError(message + " Callables are not accepted because the vectorizer's state "
                        "is saved as JSON: transform the strings first and pass "
                        f"{name}=None.")
    raise ValueError(message + (did_you_mean(value, choices) if isinstance(value, str) else ""))


def _check_max_tokens(max_tokens, specials, output_mode):
    """``max_tokens`` as an int that leaves room for a word beside the special tokens."""
    if max_tokens is None:
        return None
    max_tokens = positive_int("TextVectorizer", "max_tokens", max_tokens)
    if max_tokens <= specials:
        raise ValueError(
            f"TextVectorizer: max_tokens counts the {specials} special token(s) of "
            f"output_mode={output_mode!r}, so it must be at least {specials + 1}, "
            f"got {max_tokens!r}.")
    return max_tokens


def _check_ngrams(ngrams):
    """Return (ngrams as given, normalised; the tuple of n-gram widths)."""
    if ngrams is None:
        return None, (1,)
    if isinstance(ngrams, tuple | list):
        if not ngrams:
            raise ValueError("TextVectorizer: ngrams must be None, a positive int or a tuple "
                             "of positive ints, got an empty tuple.")
        widths = tuple(positive_int("TextVectorizer", "every ngrams width", w) for w in ngrams)
        if len(set(widths)) != len(widths):
            raise ValueError(f"TextVectorizer: ngrams widths must be distinct, got {ngrams!r}.")
        return widths, widths
    width = positive_int("TextVectorizer", "ngrams", ngrams)
    return width, tuple(range(1, width + 1))


def _check_vocabulary(vectorizer, vocabulary, idf_weights):
    """Check a given vocabulary (and idf weights); return them as (list, array or None)."""
    tokens = _check_tokens(vocabulary)
    if vectorizer.max_tokens is not None:
        room = vectorizer.max_tokens - vectorizer._n_specials()
        if len(tokens) > room:
            raise ValueError(f"TextVectorizer: vocabulary has {len(tokens)} tokens but "
                             f"max_tokens={vectorizer.max_tokens} leaves room for {room}.")
    if vectorizer.output_mode != "tf_idf":
        if idf_weights is not None:
            raise ValueError("TextVectorizer: idf_weights applies to output_mode='tf_idf' "
                             f"only, got it with output_mode={vectorizer.output_mode!r}.")
        return tokens, None
    return tokens, _check_idf(idf_weights, len(tokens))


def _check_tokens(vocabulary):
    """Return ``vocabulary`` as a list of distinct, non-special strings, or raise."""
    if isinstance(vocabulary, str) or not isinstance(vocabulary, list | tuple | np.ndarray):
        raise ValueError(f"TextVectorizer: vocabulary must be a list of strings, got "
                         f"{type(vocabulary).__name__}.")
    tokens = list(vocabulary.tolist() if isinstance(vocabulary, np.ndarray) else vocabulary)
    for index, token in enumerate(tokens):
        if not isinstance(token, str) or token in (PAD_TOKEN, OOV_TOKEN):
            raise ValueError(f"TextVectorizer: vocabulary[{index}] must be a non-empty string "
                             f"other than {OOV_TOKEN!r}, got {token!r} (the special tokens are "
                             f"added by the vectorizer).")
    if len(set(tokens)) != len(tokens):
        repeated = sorted(t for t, c in Counter(tokens).items() if c > 1)
        raise ValueError(f"TextVectorizer: vocabulary has repeated tokens {repeated[:5]!r}.")
    return tokens


def _check_idf(idf_weights, size):
    """Return ``idf_weights`` as ``size`` finite float64 numbers, or raise."""
    if idf_weights is None:
        raise ValueError("TextVectorizer: output_mode='tf_idf' with a vocabulary needs "
                         "idf_weights (one per token).")
    try:
        idf = np.asarray(idf_weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"TextVectorizer: idf_weights must be a list of numbers: {exc}") from exc
    if idf.shape != (size,) or not np.isfinite(idf).all():
        raise ValueError(f"TextVectorizer: idf_weights must hold {size} finite numbers "
                         f"(one per vocabulary token), got shape {idf.shape}.")
    if not size:
        raise ValueError("TextVectorizer: output_mode='tf_idf' needs at least one vocabulary "
                         "token.")
    return idf


def _idf_weights(tokens, flat, lengths):
    """Keras' idf ``log(1 + n_texts / (1 + document_count))`` of each token."""
    n = len(lengths)
    ends = np.cumsum(lengths).tolist()
    starts = [0] + ends[:-1]
    # One set per text counts each token once per text (document frequency).
    documents = Counter(chain.from_iterable(map(set, map(flat.__getitem__,
                                                        map(slice, starts, ends)))))
    frequency = np.fromiter(map(documents.__getitem__, tokens), np.float64, len(tokens))
    return np.log1p(n / (1.0 + frequency)) if n else frequency


def _as_texts(texts, caller):
    """Return ``texts`` as a list of str, or raise naming the first bad item."""
    where = f"TextVectorizer.{caller}" if caller != "__call__" else "TextVectorizer"
    if isinstance(texts, str | bytes):
        raise TypeError(f"{where}: expected an iterable of strings (one per text), got a "
                        f"single {type(texts).__name__}; wrap it in a list: [text].")
    if hasattr(texts, "ndim") and hasattr(texts, "shape") and not isinstance(texts, np.ndarray):
        texts = np.asarray(texts, dtype=object)              # pandas Series or DataFrame
    if isinstance(texts, np.ndarray):
        if texts.ndim == 2 and texts.shape[1] == 1:
            texts = texts[:, 0]
        if texts.ndim != 1:
            raise ValueError(f"{where}: expected a 1-D array of strings (or shape (n, 1)), "
                             f"got shape {texts.shape}.")
        texts = texts.tolist()
    elif not isinstance(texts, list):
        try:
            texts = list(texts)
        except TypeError as exc:
            raise TypeError(f"{where}: expected an iterable of strings, got "
                            f"{type(texts).__name__}.") from exc
    if not all(issubclass(kind, str) for kind in set(map(type, texts))):
        index = next(i for i, text in enumerate(texts) if not isinstance(text, str))
        bad = texts[index]
        missing = bad is None or (isinstance(bad, float) and math.isnan(bad))
        hint = ("fill missing texts with '' first (e.g. series.fillna(''))" if missing
                else "decode bytes with .decode() first" if isinstance(bad, bytes)
                else "convert them with str() first")
        raise TypeError(f"{where}: every text must be a str; text {index} is a "
                        f"{type(bad).__name__} ({bad!r}): {hint}.")
    return texts
