"""The ``nnlite`` command: train on a CSV file, then evaluate, predict and inspect the model.

``nnlite train DATA.csv --target COL`` encodes the table, trains an MLP with a progress
bar, prints the test scores beside scikit-learn baselines, and saves the model with its
data encoder in one file; ``evaluate``, ``predict`` and ``summary`` read that file;
``demo`` trains on the penguins table shipped with nnlite. A mistake gives one line on
standard error and exit code 2 (bad usage) or 1 (anything else), never a traceback.
"""

import argparse
import math
import sys
import time
import warnings

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class _UsageError(Exception):
    """A command-line mistake found by argparse (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help').")


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version exit through argparse
        return int(exc.code or 0)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _one_line_warning
        try:
            return args.run(args)
        except BrokenPipeError:
            # The reader went away (`nnlite predict ... | head`): nothing is wrong, so end
            # quietly, and point stdout at /dev/null so that its final flush cannot fail.
            _silence_stdout()
            return EXIT_OK
        except KeyboardInterrupt:
            print(f"nnlite {args.command}: interrupted.", file=sys.stderr)
            return 130
        except Exception as exc:  # the promise is one line, never a traceback
            print(f"nnlite {args.command}: error: {exc}", file=sys.stderr)
            return EXIT_ERROR


def _silence_stdout():
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass  # not a real file (a test's capture): nothing will flush into a closed pipe


# ---- commands ------------------------------------------------------------------------------


def _train(args) -> int:
    import numpy as np

    import nnlite
    from nnlite import data, evaluation

    nnlite.set_seed(args.seed)
    if args.out:
        _check_output(args.out, [args.data], "--out")
    frame = _read(args.data, args)
    _check_column(frame, args.target, args.data)
    encoder = data.TabularEncoder(
        args.target, features=args.features, task=args.task, scale_target=True,
        exclude=_flat(args.exclude), id_columns=_flat(args.id), text=_flat(args.text),
        max_categories=args.max_categories or data.MAX_CATEGORIES,
        na_values=_flat(args.na_values))
    frame = encoder.prepare(frame)
    classify = encoder.task == "classification"
    stratify = args.target if classify else None
    train, test = _split(frame, stratify, args.test_size, args.seed)
    plan = training_plan(len(train), args)
    # Part of the training rows is held out to stop training and keep the best epoch.
    fit_rows, val_rows = (train[rows] for rows in _split(frame.iloc[train], stratify,
                                                        plan["split"], args.seed))
    encoder.fit(frame.iloc[train], targets=frame[args.target])
    # One pass over the whole table, so that imputed cells and unseen categories are
    # reported once, for the file; the statistics come from the training rows only. The
    # rows are ordered (fitting, validation, test), so that every part is a view of one
    # matrix, not a copy.
    frame = frame.iloc[np.concatenate([fit_rows, val_rows, test])]
    x = encoder.transform(frame, name=repr(str(args.data)))
    y = encoder.transform_target(frame)
    n_fit, n_train = len(fit_rows), len(train)
    x_train, x_test, y_train, y_test = x[:n_train], x[n_train:], y[:n_train], y[n_train:]
    test = np.arange(n_train, len(frame))
    what = (f"classification, {len(encoder.classes)} classes: "
            f"{', '.join(map(str, encoder.classes))}" if classify else "regression")
    used = (len(encoder.numeric) + len(encoder.dates) + len(encoder.categorical)
            + len(encoder.text))
    print(f"{args.data}: {len(frame)} rows; target {args.target!r} ({what}); "
          f"{x.shape[1]} inputs from {used} column{'s' * (used != 1)}.")
    network = (f"hidden layers {plan['hidden']}" if args.architecture == "mlp" else
               f"an Embedding and a GRU over the words of {encoder.text[:1]}")
    print(f"Training on {n_train} rows ({len(val_rows)} of them for early stopping), "
          f"testing on {len(test)} rows ({'stratified, ' if classify else ''}seed "
          f"{args.seed}); {network}, at most {plan['epochs']} epochs.")

    from nnlite.callbacks import EarlyStopping

    stopper = EarlyStopping(monitor="val_loss", patience=plan["patience"], min_delta=1e-4,
                            restore_best_weights=True)
    classes = len(encoder.classes) if classify else None
    inputs = x   # what the model reads: the encoded table, or a text column's raw strings
    if args.architecture == "rnn":
        inputs, model = _sequence_model(args, plan, encoder, frame, n_fit, classes)
    else:
        model = _build_model(args, plan, x.shape[1], classes)
    start = time.perf_counter()
    model.fit(inputs[:n_fit], y[:n_fit], epochs=plan["epochs"],
              batch_size=plan["batch_size"], callbacks=[stopper],
              validation_data=(inputs[n_fit:n_train], y[n_fit:n_train]),
              verbose=_verbosity(args.verbose))
    seconds = time.perf_counter() - start
    if args.baselines:
        # The baselines (and, beside a sequence model, nnlite's default network) are fitted
        # on the encoded table; the model trained above is scored on its own inputs.
        table = evaluation.compare_with_baselines(
            model if args.architecture == "mlp" else (lambda: _build_model(
                args, training_plan(n_train), x.shape[1], classes)),
            x_train, y_train, x_test, y_test, task=encoder.task,
            trained=args.architecture == "mlp",
            fit_kwargs={"epochs": plan["epochs"], "batch_size": plan["batch_size"]},
            inverse_target=None if classify else encoder.inverse_transform_target,
            random_state=args.seed)
        if args.architecture == "mlp":
            table.loc[0, "fit_time_s"] = seconds
        else:
            own = _scores(model.predict(inputs[n_train:]), y_test, encoder, table.columns)
            table.loc[-1] = {"model": "nnlite " + _describe_layers(model), **own,
                             "fit_time_s": seconds}
            table = table.sort_index().reset_index(drop=True)
    else:
        y_pred = model.predict(inputs[n_train:])
        if classify:
            scores = evaluation.classification_metrics(y_test, y_pred)
        else:
            scores = evaluation.regression_metrics(encoder.inverse_transform_target(y_test),
                                                   encoder.inverse_transform_target(y_pred))
        table = _scores_table({"nnlite": scores})
    if stopper.best_epoch is not None:
        ran = len(model.history.epoch)
        print(f"Trained {ran} epoch{'s' * (ran != 1)}"
              f"{' (stopped early)' if stopper.stopped_epoch is not None else ''}; kept the "
              f"weights of epoch {stopper.best_epoch + 1}, the best validation loss "
              f"({stopper.best:.4f}).")
    print(f"\nTest scores on {len(test)} held-out rows"
          f"{'' if classify else ' (in the target units)'}:")
    print(_format_table(table))
    if args.out:
        extra = {"text_input": encoder.text[0]} if args.architecture == "rnn" else {}
        model.save(args.out, metadata={"encoder": encoder.to_dict(), **extra,
                                       "nnlite_version": nnlite.__version__})
        print(f"\nSaved the model and its data encoder to {args.out}.")
    if args.command == "demo":
        sample = frame.iloc[test[:5]]
        guess = encoder.inverse_transform_target(
            _to_target(model.predict(x_test[:5]), classify))
        print("\nFive test penguins, true species -> predicted:")
        for truth, pred in zip(sample[args.target], np.asarray(guess), strict=True):
            print(f"  {truth:<10} -> {pred}")
    return EXIT_OK


def training_plan(rows, args=None) -> dict:
    """The default training settings for ``rows`` training rows.

    Small tables get one hidden layer with strong dropout, small batches, many epochs and a
    larger share held out for early stopping; larger ones two wider layers, bigger batches
    and fewer epochs. These defaults were chosen on the tables of ``benchmarks/tabular.py``.
    Options given on the command line (``args``) win.

    Returns:
        dict with ``hidden``, ``dropout``, ``epochs``, ``batch_size``, ``patience``,
        ``split`` (validation fraction), ``held_out`` (validation rows) and ``lr``.
    """
    if rows < 1000:
        plan = {"hidden": (128,), "dropout": 0.3, "epochs": 500, "batch_size": 16,
                "patience": 30, "split": 0.2}
    elif rows < 10000:
        plan = {"hidden": (128, 64), "dropout": 0.1, "epochs": 300, "batch_size": 32,
                "patience": 20, "split": 0.15}
    else:
        plan = {"hidden": (256, 128), "dropout": 0.1, "epochs": 100, "batch_size": 128,
                "patience": 10, "split": 0.1}
    plan["lr"] = None
    for key in ("hidden", "dropout", "epochs", "batch_size", "patience", "lr"):
        value = getattr(args, key, None)
        if value is not None:
            plan[key] = value
    plan["held_out"] = math.ceil(rows * plan["split"])  # as train_test_split counts them
    return plan


def _evaluate(args) -> int:
    from nnlite import evaluation

    model, encoder = _load(args.model, args.command)
    target = args.target or encoder.target
    if target != encoder.target:
        raise ValueError(f"the model predicts {encoder.target!r}, not {target!r}.")
    frame = _read(args.data, args, encoder.na_values)
    _check_column(frame, target, args.data)
    frame = frame[frame[target].notna()]
    y = encoder.transform_target(frame)
    y_pred = model.predict(_model_inputs(model, encoder, frame, args.data))
    print(f"{args.data}: {len(frame)} rows with a {target!r} value.")
    if encoder.task == "classification":
        scores = evaluation.classification_metrics(y, y_pred)
        print(_format_table(_scores_table({"nnlite": scores})))
        matrix = evaluation.confusion_matrix(y, y_pred, num_classes=len(encoder.classes))
        _print_confusion(matrix, encoder.classes)
        print()
        print(evaluation.classification_report(y, y_pred, encoder.classes))
    else:
        scores = evaluation.regression_metrics(encoder.inverse_transform_target(y),
                                               encoder.inverse_transform_target(y_pred))
        print(_format_table(_scores_table({"nnlite": scores})))
    return EXIT_OK


def _predict(args) -> int:
    import pandas as pd

    model, encoder = _load(args.model, args.command)
    classify = encoder.task == "classification"
    if args.proba and not classify:
        raise ValueError("--proba needs a classification model; this one does regression.")
    if args.out:
        _check_output(args.out, [args.data, args.model], "--out")
    frame = _read(args.data, args, encoder.na_values)
    ids = _flat(args.id)
    for name in ids:
        _check_column(frame, name, args.data)
    if not ids:
        # Carry the identifiers the model was told about, or found, so rows can be matched.
        ids = [c for c in [*encoder.id_columns, *encoder.identifiers] if c in frame.columns]
    output = model.predict(_model_inputs(model, encoder, frame, args.data))
    result = pd.DataFrame({name: frame[name].to_numpy() for name in ids})
    result[f"predicted_{encoder.target}"] = encoder.inverse_transform_target(
        _to_target(output, classify))
    if args.proba:
        for i, name in enumerate(encoder.classes):
            result[f"proba_{name}"] = output[:, i]
    if args.out:
        from nnlite.serialization import atomic_write

        # A temporary file moved into place when complete: an interrupted run never leaves
        # half a file, nor destroys the previous one.
        atomic_write(args.out, lambda file: result.to_csv(file, index=False,
                                                          float_format="%.6g"), mode="w")
        print(f"Wrote {len(result)} predictions to {args.out}.")
    else:
        result.to_csv(sys.stdout, index=False, float_format="%.6g")
    return EXIT_OK


def _summary(args) -> int:
    model, encoder = _load(args.model, args.command, need_encoder=False)
    model.summary()
    if encoder is not None:
        print(f"Target: {encoder.target!r} ({encoder.task})")
        if encoder.classes is not None:
            print(f"Classes: {', '.join(map(str, encoder.classes))}")
        left_out = {*encoder.identifiers}
        used = [c for c in encoder.features if c not in left_out and (
            c in encoder.numeric or c in encoder.dates or c in encoder.categorical
            or c in encoder.text)]
        print(f"Input columns ({len(used)}): {', '.join(used)}")
        for label, names in (("Dates", list(encoder.dates)), ("Free text", encoder.text),
                             ("Identifiers (left out)",
                              [*encoder.id_columns, *encoder.identifiers])):
            if names:
                print(f"{label}: {', '.join(names)}")
        print(f"Encoded inputs ({len(encoder.feature_names)}): "
              f"{', '.join(encoder.feature_names)}")
    return EXIT_OK


def _demo(args) -> int:
    from nnlite.data import MAX_CATEGORIES
    from nnlite.datasets import PENGUINS_CSV, PENGUINS_NA

    print("The Palmer penguins: predict the species from bill, flipper, mass, island and sex.")
    args.data, args.target, args.task, args.features = str(PENGUINS_CSV), "species", "auto", None
    args.test_size, args.baselines, args.architecture = 0.2, True, "mlp"
    args.sep = args.encoding = None
    args.na_values, args.exclude, args.id, args.text = [PENGUINS_NA], [], [], []
    args.max_categories = MAX_CATEGORIES
    return _train(args)


# ---- helpers -------------------------------------------------------------------------------


def _build_model(args, plan, inputs, classes):
    import nnlite
    from nnlite import optimizers
    from nnlite.layers import Dense, Dropout

    layers = []
    for units in plan["hidden"]:
        layers.append(Dense(units, activation=args.activation))
        if plan["dropout"]:
            layers.append(Dropout(plan["dropout"]))
    layers.append(Dense(classes, activation="softmax") if classes else Dense(1))
    model = nnlite.Sequential(layers, input_shape=(inputs,))
    optimizer = optimizers.get(args.optimizer)
    if plan["lr"] is not None:
        optimizer.learning_rate = plan["lr"]
    model.compile(optimizer=optimizer, metrics=["accuracy"] if classes else ["mae"],
                  loss="sparse_categorical_crossentropy" if classes else "mse")
    return model


def _sequence_model(args, plan, encoder, frame, n_fit, classes):
    """``--model rnn``: token ids of the table's one text column through Embedding (padding
    masked) and a GRU. Returns the column's raw strings, in ``frame``'s row order, and the
    compiled model, which carries its TextVectorizer so that it reads raw strings."""
    import numpy as np

    import nnlite
    from nnlite import optimizers
    from nnlite.layers import GRU, Dense, Dropout, Embedding
    from nnlite.text import TextVectorizer

    others = [*encoder.numeric, *encoder.dates, *encoder.categorical]
    if len(encoder.text) != 1 or others:
        raise ValueError(f"--model rnn reads one free-text column and nothing else; this "
                         f"table gives text {list(encoder.text)} and other inputs {others}. "
                         "Choose the columns with --features, --exclude or --text.")
    texts = _texts(frame, encoder.text[0])
    lengths = [len(t.split()) for t in texts[:n_fit]]
    # Long enough for 95% of the training texts (padding is masked, so it costs only time).
    steps = int(min(200, max(8, np.percentile(lengths, 95))))
    vectorizer = TextVectorizer(max_tokens=20000, output_mode="int",
                                output_sequence_length=steps).adapt(texts[:n_fit])
    model = nnlite.Sequential([
        Embedding(vectorizer.vocabulary_size(), 64, mask_zero=True), GRU(64),
        Dropout(plan["dropout"]),
        Dense(classes, activation="softmax") if classes else Dense(1)], input_shape=(steps,))
    optimizer = optimizers.get(args.optimizer)
    if plan["lr"] is not None:
        optimizer.learning_rate = plan["lr"]
    model.compile(optimizer=optimizer, metrics=["accuracy"] if classes else ["mae"],
                  loss="sparse_categorical_crossentropy" if classes else "mse")
    model.preprocessing = vectorizer
    return np.asarray(texts, dtype=object), model


def _texts(frame, column):
    return ["" if value != value else str(value) for value in frame[column].tolist()]


def _model_inputs(model, encoder, frame, path):
    """What ``model`` reads from ``frame``: the raw strings of its text column for a model
    trained with ``--model rnn``, the encoded table otherwise."""
    column = model.metadata.get("text_input")
    if column is None:
        return encoder.transform(frame, name=repr(str(path)))
    _check_column(frame, column, path)
    import numpy as np

    return np.asarray(_texts(frame, column), dtype=object)


def _scores(y_pred, y_test, encoder, columns):
    from nnlite import evaluation

    if encoder.task == "classification":
        scores = evaluation.classification_metrics(y_test, y_pred)
    else:
        scores = evaluation.regression_metrics(encoder.inverse_transform_target(y_test),
                                               encoder.inverse_transform_target(y_pred))
    return {k: v for k, v in scores.items() if k in columns}


def _describe_layers(model):
    return " ".join(type(layer).__name__ for layer in model.layers)


def _split(frame, stratify_column, test_size, seed):
    """Positions of the training and test rows."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(frame))
    labels = None if stratify_column is None else frame[stratify_column].astype(str)
    try:
        return train_test_split(rows, test_size=test_size, random_state=seed, stratify=labels)
    except ValueError:
        if labels is None:
            raise
        # A class with a single row cannot be stratified: fall back to a plain split.
        return train_test_split(rows, test_size=test_size, random_state=seed)


def _read(path, args, saved_na_values=()):
    from pathlib import Path

    from nnlite.data import read_csv

    if not Path(path).is_file():
        raise FileNotFoundError(f"no such file {str(path)!r}.")
    na_values = [*saved_na_values, *_flat(getattr(args, "na_values", None))]
    sep = getattr(args, "sep", None)
    sep = {"\\t": "\t", "tab": "\t"}.get(sep, sep)  # a tab is hard to type in a shell
    frame = read_csv(path, who="read_csv", sep=sep,
                     encoding=getattr(args, "encoding", None), na_values=na_values or None)
    return frame.rename(columns=str)


def _check_output(path, inputs, option):
    """Refuse to write over an input file, and check the folder before any work is done."""
    import os
    import tempfile
    from pathlib import Path

    target = Path(path)
    for given in inputs:
        same = target.resolve() == Path(given).resolve()
        if not same and target.exists() and Path(given).exists():
            same = os.path.samefile(target, given)
        if same:
            raise ValueError(f"{option} {str(path)!r} is the input file {str(given)!r}; "
                             "writing there would destroy it. Choose another file name.")
    if target.is_dir():
        raise ValueError(f"{option} {str(path)!r} is a folder; give a file name in it.")
    folder = target.parent
    if not folder.is_dir():
        raise ValueError(f"{option} {str(path)!r}: the folder {str(folder)!r} does not "
                         "exist; create it first.")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ValueError(f"{option} {str(path)!r}: cannot write in the folder "
                         f"{str(folder)!r} ({exc.strerror}).") from exc


def _verbosity(verbose):
    """The given verbosity, else a live bar on a terminal or notebook and lines otherwise."""
    if verbose is not None:
        return verbose
    interactive = "ipykernel" in sys.modules
    try:
        interactive = interactive or sys.stderr.isatty()
    except (AttributeError, ValueError):
        pass
    return 1 if interactive else 2


def _flat(values):
    """Column names from repeated options, each possibly comma-separated."""
    return [name for value in values or [] for name in _columns(value)]


def _check_column(frame, target, path):
    import difflib

    columns = list(frame.columns)
    if target not in columns:
        hint = difflib.get_close_matches(target, columns, n=1)
        raise ValueError(f"no column {target!r} in {path}; its columns are "
                         f"{', '.join(columns)}." + (f" Did you mean {hint[0]!r}?" if hint else ""))


def _load(path, command, need_encoder=True):
    import nnlite
    from nnlite.data import TabularEncoder

    try:
        model = nnlite.load_model(path)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"no such model file {str(path)!r}.") from exc
    state = model.metadata.get("encoder")
    if state is None:
        if need_encoder:
            raise ValueError(f"{path} holds no data encoder, so CSV rows cannot be encoded "
                             "for it; train it with 'nnlite train' (or save it with "
                             "metadata={'encoder': encoder.to_dict()}).")
        return model, None
    return model, TabularEncoder.from_dict(state)


def _to_target(output, classify):
    return output.argmax(axis=1) if classify else output[:, 0]


def _scores_table(rows):
    import pandas as pd

    return pd.DataFrame([{"model": name, **scores} for name, scores in rows.items()])


def _format_table(table):
    return table.to_string(index=False, float_format=lambda v: f"{v:.4f}")


def _print_confusion(matrix, classes):
    import pandas as pd

    names = [str(c) for c in classes]
    frame = pd.DataFrame(matrix, index=[f"true {n}" for n in names], columns=names)
    print("\nConfusion matrix (rows: true class, columns: predicted):")
    print(frame.to_string())


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"nnlite: warning: {message}", file=sys.stderr)


def _hidden(text):
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        sizes = (0,)
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"expected positive layer sizes like 64,32, "
                                         f"got {text!r}")
    return sizes


def _number(cast, ok, expected):
    """An argparse type: ``cast(text)``, refused with "expected ..." unless ``ok(value)``."""
    def parse(text):
        try:
            value = cast(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return parse


_fraction = _number(float, lambda v: 0.0 < v < 1.0, "a fraction in (0, 1)")
_positive_int = _number(int, lambda v: v >= 1, "a positive integer")
_positive_float = _number(float, lambda v: v > 0, "a positive number")
_dropout = _number(float, lambda v: 0.0 <= v < 1.0, "a rate in [0, 1)")


def _activation(text):
    from nnlite import activations

    names = [n for n in activations.names() if n != "softmax"]
    if text not in names:
        raise argparse.ArgumentTypeError(f"unknown activation {text!r}; choose from "
                                         f"{', '.join(names)}")
    return text


def _columns(text):
    return [part.strip() for part in text.split(",") if part.strip()]


def _build_parser():
    from nnlite import __version__

    parser = _Parser(prog="nnlite", description="Train and use nnlite models on CSV files.")
    parser.add_argument("--version", action="version", version=f"nnlite {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def model_options(sub):
        for name, helptext in (
                ("--epochs", "most passes over the training rows; training stops earlier when "
                             "the validation loss stops improving (default: by table size)"),
                ("--batch-size", "rows per gradient step (default: by table size)"),
                ("--patience", "epochs without a better validation loss before stopping "
                               "(default: by table size)")):
            sub.add_argument(name, type=_positive_int, default=None, help=helptext)
        sub.add_argument("--hidden", type=_hidden, default=None,
                         help="hidden layer sizes, comma-separated, e.g. 64,32 (default: by "
                              "table size)")
        sub.add_argument("--dropout", type=_dropout, default=None,
                         help="dropout rate after each hidden layer (default: by table size)")
        sub.add_argument("--activation", type=_activation, default="relu",
                         help="activation of the hidden layers (default relu)")
        sub.add_argument("--optimizer", choices=["adam", "sgd", "rmsprop"], default="adam")
        sub.add_argument("--lr", type=_positive_float, default=None,
                         help="learning rate (default: the optimizer's, 0.001 for adam)")
        sub.add_argument("--seed", type=int, default=0, help="seed of the split and weights")
        sub.add_argument("--verbose", type=int, choices=[0, 1, 2], default=None,
                         help="0 silent, 1 a progress bar per epoch, 2 a line per epoch "
                              "(default: 1 on a terminal, else 2)")

    def reading_options(sub):
        sub.add_argument("--sep", default=None,
                         help="field separator, e.g. ';' or tab (default: detected)")
        sub.add_argument("--encoding", default=None,
                         help="text encoding, e.g. utf-8 or latin-1 (default: detected)")
        sub.add_argument("--na-values", nargs="+", action="extend", default=[],
                         metavar="TEXT", help="cell values that mean missing, besides empty "
                                              "cells (e.g. NA)")

    train = commands.add_parser("train", help="train a model on a CSV file")
    train.add_argument("data", help="CSV file with a header line")
    train.add_argument("--target", required=True, help="column to predict")
    train.add_argument("--task", choices=["auto", "classification", "regression"],
                       default="auto")
    train.add_argument("--features", type=_columns, default=None,
                       help="input columns, comma-separated (default: all but the target)")
    train.add_argument("--exclude", nargs="+", action="extend", default=[], metavar="COL",
                       help="columns to leave out")
    train.add_argument("--id", nargs="+", action="extend", default=[], metavar="COL",
                       help="identifier columns: left out of the inputs, copied to the "
                            "predictions")
    train.add_argument("--text", nargs="+", action="extend", default=[], metavar="COL",
                       help="columns to read as free text (bag of words)")
    train.add_argument("--max-categories", type=_positive_int, default=None,
                       help="most one-hot inputs per categorical column; rarer values are "
                            "pooled (default 20)")
    reading_options(train)
    model_options(train)
    train.add_argument("--model", dest="architecture", choices=["mlp", "rnn"], default="mlp",
                       help="mlp (default): a dense network on the encoded table; rnn: an "
                            "Embedding and a GRU reading the words of the table's one text "
                            "column in order")
    train.add_argument("--test-size", type=_fraction, default=0.2,
                       help="fraction of rows held out for testing (default 0.2)")
    train.add_argument("--out", default="model.nnlite",
                       help="where to save the model and encoder (default model.nnlite)")
    train.add_argument("--no-baselines", dest="baselines", action="store_false",
                       help="skip the scikit-learn baselines")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="score a saved model on a labelled CSV")
    evaluate.add_argument("model", help="file written by 'nnlite train'")
    evaluate.add_argument("data", help="CSV file with the target column")
    evaluate.add_argument("--target", default=None,
                          help="target column (default: the one the model was trained on)")
    reading_options(evaluate)
    evaluate.set_defaults(run=_evaluate)

    predict = commands.add_parser("predict", help="predict the target for each CSV row")
    predict.add_argument("model", help="file written by 'nnlite train'")
    predict.add_argument("data", help="CSV file with the input columns")
    predict.add_argument("--out", default=None, help="CSV file to write (default: stdout)")
    predict.add_argument("--proba", action="store_true",
                         help="add one probability column per class")
    predict.add_argument("--id", nargs="+", action="extend", default=[], metavar="COL",
                         help="columns copied to the output beside the predictions "
                              "(default: the model's identifier columns)")
    reading_options(predict)
    predict.set_defaults(run=_predict)

    summary = commands.add_parser("summary", help="show a saved model's layers and inputs")
    summary.add_argument("model", help="model file")
    summary.set_defaults(run=_summary)

    demo = commands.add_parser("demo", help="train on the penguins table shipped with nnlite")
    model_options(demo)
    demo.add_argument("--out", default=None, help="also save the model there")
    demo.set_defaults(run=_demo)
    return parser
