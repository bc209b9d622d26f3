"""Vectorizing 100,000 short texts: nnlite's TextVectorizer beside scikit-learn's CountVectorizer.

Two comparisons, each timed interleaved, best of ``--repeats`` (the minimum, because a busy
neighbour only ever adds time). Both sides run on one core (string work in CPython, then
single-threaded NumPy and SciPy), so the CPU time of the process is measured beside the wall
time: on a shared machine it is the steadier of the two.

- learn + vectorize: ``adapt(texts)`` then ``vectorizer(texts)`` against
  ``CountVectorizer().fit_transform(texts)``, which also learns its vocabulary and counts;
- vectorize only, with the vocabulary learned: ``vectorizer(texts)`` against
  ``CountVectorizer.transform(texts)``.

nnlite runs in ``"int"`` mode (a dense (n, L) id array) and in ``"count"`` mode with
``sparse=True`` (a CSR matrix like scikit-learn's: a dense (100,000, 20,000) float32 array
would take 8 GB). The texts are generated: words drawn from a Zipf law over 20,000 made-up
words, 5 to 30 per text, a capital first letter and a full stop.
Run: ``python -m benchmarks.text_vectorize [--texts 100000] [--repeats 5]``.
"""

import argparse
import time

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from benchmarks.common import save_json
from nnlite.text import TextVectorizer


def make_texts(count, words=20_000, seed=0):
    """``count`` short texts of 5 to 30 words drawn from a Zipf law over ``words`` words."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocabulary = np.array(["".join(rng.choice(letters, rng.integers(2, 9)))
                           for _ in range(words)])
    weights = 1.0 / np.arange(1, words + 1)
    lengths = rng.integers(5, 31, size=count)
    drawn = vocabulary[rng.choice(words, size=lengths.sum(), p=weights / weights.sum())]
    ends = np.cumsum(lengths)
    return [" ".join(drawn[end - length:end]).capitalize() + "."
            for end, length in zip(ends.tolist(), lengths.tolist(), strict=True)]


def time_interleaved(candidates, repeats):
    """Run each callable once to warm up, then ``repeats`` times interleaved.

    Returns:
        dict name -> {"wall": [...], "cpu": [...], "min": best wall, "cpu_min": best CPU}.
    """
    for run in candidates.values():
        run()
    results = {name: {"wall": [], "cpu": []} for name in candidates}
    for _ in range(repeats):
        for name, run in candidates.items():
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            results[name]["cpu"].append(time.process_time() - cpu)
            results[name]["wall"].append(time.perf_counter() - wall)
    for r in results.values():
        r["min"], r["cpu_min"] = min(r["wall"]), min(r["cpu"])
    return results


def print_ratios(title, results, reference):
    """Print a table of best wall and CPU times with their ratios to ``reference``."""
    print(f"\n### {title}\n")
    print(f"| implementation | best wall s | ratio to {reference} | best CPU s | ratio to "
          f"{reference} |\n|---|---|---|---|---|")
    wall, cpu = results[reference]["min"], results[reference]["cpu_min"]
    for name, r in results.items():
        print(f"| {name} | {r['min']:.3f} | {r['min'] / wall:.2f} | {r['cpu_min']:.3f} "
              f"| {r['cpu_min'] / cpu:.2f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=100_000)
    parser.add_argument("--max-tokens", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    texts = make_texts(args.texts)
    sequences = TextVectorizer(max_tokens=args.max_tokens)
    counts = TextVectorizer(max_tokens=args.max_tokens, output_mode="count", sparse=True)
    sklearn = CountVectorizer(max_features=args.max_tokens)

    learn = time_interleaved({
        "nnlite int": lambda: sequences.adapt(texts)(texts),
        "nnlite count (sparse)": lambda: counts.adapt(texts)(texts),
        "scikit-learn": lambda: sklearn.fit_transform(texts),
    }, repeats=args.repeats)
    print_ratios(f"learn + vectorize, {args.texts:,} texts", learn, "scikit-learn")

    vectorize = time_interleaved({
        "nnlite int": lambda: sequences(texts),
        "nnlite count (sparse)": lambda: counts(texts),
        "scikit-learn": lambda: sklearn.transform(texts),
    }, repeats=args.repeats)
    print_ratios(f"vectorize only, {args.texts:,} texts", vectorize, "scikit-learn")
    tokens = sum(map(len, map(str.split, texts)))
    print(f"\n{tokens:,} words; nnlite vocabulary {sequences.vocabulary_size():,} ids, "
          f"scikit-learn {len(sklearn.vocabulary_):,} features")
    results = {"learn": learn, "vectorize": vectorize}
    save_json("text_vectorize", {"texts": args.texts, "words": tokens, "results": results})
    return results


if __name__ == "__main__":
    main()
