import contextlib
import io
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nnlite
from nnlite.cli import main
from nnlite.datasets import PENGUINS_CSV
from nnlite.layers import Dense

PENGUINS = str(PENGUINS_CSV)


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Train once on the shipped penguins table, as a user would, and share the model file."""
    path = tmp_path_factory.mktemp("cli") / "penguins.nnlite"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["train", PENGUINS, "--target", "species", "--out", str(path)])
    return code, out.getvalue(), err.getvalue(), path


# ---- acceptance: train, then predict on the file without its target ------------------------


def test_train_beats_097_and_prints_baselines(trained):
    code, out, err, path = trained
    assert code == 0 and path.exists()
    rows = {m.group(1).strip(): float(m.group(2))
            for m in re.finditer(r"^\s*(.+?)\s+(\d\.\d{4})\s+\d\.\d{4}\s+\d+\.\d{4}$", out, re.M)}
    assert list(rows) == ["nnlite Sequential (128,)", "Dummy (most frequent)",
                          "LogisticRegression", "MLPClassifier (128,)", "RandomForest"]
    assert rows["nnlite Sequential (128,)"] >= 0.97
    assert "Saved the model and its data encoder" in out
    # Early stopping on a validation split, with the best epoch's weights.
    assert re.search(r"Training on 275 rows \(55 of them for early stopping\), testing on 69", out)
    ran = int(re.search(r"^Trained (\d+) epochs", out, re.M).group(1))
    assert re.search(r"kept the weights of epoch \d+, the best validation loss", out)
    # Not a terminal: one line per epoch, no carriage-return frames of a live bar.
    assert len(re.findall(r"^Epoch \d+/500 - loss: ", out, re.M)) == ran
    assert "\r" not in out and "\r" not in err
    # Each decision and the imputed cells in one warning line each, naming the file.
    warned = [line for line in err.splitlines() if line.startswith("nnlite: warning: ")]
    assert len(warned) == 3, err
    assert re.search(r"imputed 8 missing cells of '.*penguins\.csv' \(bill_length_mm: 2, "
                     r"bill_depth_mm: 2, flipper_length_mm: 2, body_mass_g: 2\)", warned[2])
    assert "kept 'NA' in 'sex' as a category" in warned[1]


def test_predict_on_the_file_without_its_target(trained, tmp_path, capsys):
    path = trained[3]
    frame = pd.read_csv(PENGUINS)
    frame.drop(columns="species").to_csv(tmp_path / "inputs.csv", index=False)
    code, out, _ = _run(capsys, "predict", path, tmp_path / "inputs.csv", "--out",
                        tmp_path / "preds.csv", "--proba")
    assert code == 0 and "Wrote 344 predictions" in out
    preds = pd.read_csv(tmp_path / "preds.csv")
    assert list(preds.columns) == ["predicted_species", "proba_Adelie", "proba_Chinstrap",
                                   "proba_Gentoo"]
    np.testing.assert_allclose(preds.iloc[:, 1:].sum(axis=1), 1.0, atol=1e-5)
    assert (preds["predicted_species"] == frame["species"]).mean() >= 0.97


def test_predict_to_stdout(trained, capsys):
    code, out, _ = _run(capsys, "predict", trained[3], PENGUINS)
    lines = out.splitlines()
    assert code == 0 and lines[0] == "predicted_species" and len(lines) == 345
    assert set(lines[1:]) <= {"Adelie", "Chinstrap", "Gentoo"}


def test_evaluate(trained, capsys):
    code, out, _ = _run(capsys, "evaluate", trained[3], PENGUINS, "--target", "species")
    assert code == 0
    accuracy = float(re.search(r"^\s*nnlite\s+(\d\.\d+)", out, re.M).group(1))
    assert accuracy >= 0.97
    assert "Confusion matrix" in out and "true Gentoo" in out and "macro avg" in out


def test_summary(trained, capsys):
    code, out, _ = _run(capsys, "summary", trained[3])
    assert code == 0
    # 11 inputs (5 numbers, 3 islands, sex: female, male and the text 'NA'), then 128, then
    # 3: 11*128+128 + 128*3+3 = 1536 + 387.
    assert "Total params: 1,923" in out
    assert "Target: 'species' (classification)" in out
    assert "Classes: Adelie, Chinstrap, Gentoo" in out


def test_regression_round_trip(tmp_path, capsys):
    path = tmp_path / "mass.nnlite"
    code, out, _ = _run(capsys, "train", PENGUINS, "--target", "body_mass_g", "--epochs", "20",
                        "--verbose", "0", "--no-baselines", "--out", path)
    assert code == 0 and "regression" in out
    r2 = float(re.search(r"^\s*nnlite(?:\s+\S+){3}\s+(\S+)", out, re.M).group(1))
    assert r2 > 0.7
    code, out, _ = _run(capsys, "predict", path, PENGUINS)
    grams = pd.read_csv(io.StringIO(out))["predicted_body_mass_g"]
    assert code == 0 and grams.between(2000, 7000).all()


def test_demo_runs_without_arguments(capsys):
    code, out, err = _run(capsys, "demo", "--epochs", "5", "--verbose", "0")
    assert code == 0
    assert "LogisticRegression" in out and "Five test penguins" in out


def test_python_dash_m_nnlite():
    result = subprocess.run([sys.executable, "-m", "nnlite", "--version"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0 and result.stdout.strip() == f"nnlite {nnlite.__version__}"


# ---- errors: one line on stderr, the right exit code ----------------------------------------


def _one_error_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_missing_data_file(capsys):
    code, _, err = _run(capsys, "train", "nope.csv", "--target", "species")
    assert code == 1
    assert _one_error_line(err) == "nnlite train: error: no such file 'nope.csv'."


def test_unknown_target_lists_the_columns(capsys):
    code, _, err = _run(capsys, "train", PENGUINS, "--target", "specie")
    assert code == 1
    assert re.fullmatch(r"nnlite train: error: no column 'specie' in .*penguins\.csv; its "
                        r"columns are species, island, bill_length_mm, bill_depth_mm, "
                        r"flipper_length_mm, body_mass_g, sex, year\. Did you mean 'species'\?",
                        _one_error_line(err))


def test_target_with_one_class(tmp_path, capsys):
    (tmp_path / "one.csv").write_text("a,b,label\n1,2,x\n3,4,x\n5,6,x\n")
    code, _, err = _run(capsys, "train", tmp_path / "one.csv", "--target", "label")
    assert code == 1
    assert re.search(r"error: .*target 'label' has one class \('x'\)", _one_error_line(err))


def test_text_target_for_regression(capsys):
    code, _, err = _run(capsys, "train", PENGUINS, "--target", "species", "--task",
                        "regression")
    assert code == 1
    assert re.search(r"error: .*regression target must be numeric, but 'species' holds text",
                     _one_error_line(err))


def test_model_file_that_is_not_a_model(tmp_path, capsys):
    (tmp_path / "fake.nnlite").write_text("not a model")
    code, _, err = _run(capsys, "predict", tmp_path / "fake.nnlite", PENGUINS)
    assert code == 1
    assert re.search(r"nnlite predict: error: load_model: .*fake\.nnlite' is not an nnlite "
                     r"model file", _one_error_line(err))


def test_missing_model_file(capsys):
    code, _, err = _run(capsys, "summary", "nope.nnlite")
    assert code == 1
    assert _one_error_line(err) == "nnlite summary: error: no such model file 'nope.nnlite'."


def test_model_without_encoder(tmp_path, capsys):
    model = nnlite.Sequential([Dense(2)], input_shape=(3,))
    model.save(tmp_path / "bare.nnlite")
    code, _, err = _run(capsys, "predict", tmp_path / "bare.nnlite", PENGUINS)
    assert code == 1
    assert "holds no data encoder" in _one_error_line(err)


def test_data_without_the_model_inputs(trained, tmp_path, capsys):
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    code, _, err = _run(capsys, "predict", trained[3], tmp_path / "other.csv")
    assert code == 1
    assert "the data lacks feature columns 'island', 'bill_length_mm'" in _one_error_line(err)


def test_evaluate_with_another_target(trained, capsys):
    code, _, err = _run(capsys, "evaluate", trained[3], PENGUINS, "--target", "island")
    assert code == 1
    assert _one_error_line(err) == ("nnlite evaluate: error: the model predicts 'species', "
                                    "not 'island'.")


@pytest.mark.parametrize("argv, message", [
    (["train", PENGUINS], r"the following arguments are required: --target"),
    (["train", PENGUINS, "--target", "species", "--hidden", "64,x"],
     r"argument --hidden: expected positive layer sizes like 64,32, got '64,x'"),
    (["train", PENGUINS, "--target", "species", "--activation", "relux"],
     r"argument --activation: unknown activation 'relux'; choose from elu, gelu"),
    (["train", PENGUINS, "--target", "species", "--test-size", "1.5"],
     r"argument --test-size: expected a fraction in \(0, 1\), got '1\.5'"),
    (["fly"], r"argument COMMAND: invalid choice: 'fly'"),
])
def test_usage_errors_exit_2(capsys, argv, message):
    code, _, err = _run(capsys, *argv)
    assert code == 2
    line = _one_error_line(err)
    assert re.match(r"nnlite( train)?: error: ", line)
    assert re.search(message, line) and line.endswith("--help').")


# ---- real-world files -----------------------------------------------------------------------

DATA = Path(__file__).parent / "data"
QUICK = ["--no-baselines", "--epochs", "3", "--verbose", "0"]


def test_a_two_valued_float_target_gives_probabilities(tmp_path, capsys):
    model = tmp_path / "binary.nnlite"
    code, out, _ = _run(capsys, "train", DATA / "binary_float.csv", "--target", "label",
                        "--out", model, *QUICK)
    assert code == 0 and "classification, 2 classes: 0, 1" in out
    code, out, _ = _run(capsys, "predict", model, DATA / "binary_float.csv", "--proba")
    preds = pd.read_csv(io.StringIO(out))
    assert code == 0 and list(preds.columns) == ["predicted_label", "proba_0", "proba_1"]


def test_identifiers_are_left_out_and_carried_to_the_predictions(tmp_path, capsys):
    model = tmp_path / "ids.nnlite"
    code, out, err = _run(capsys, "train", DATA / "sorted_with_index.csv", "--target", "label",
                          "--out", model, *QUICK)
    assert code == 0
    assert "left out identifier columns 'Unnamed: 0', 'PassengerId'" in err
    code, out, _ = _run(capsys, "summary", model)
    assert "Identifiers (left out): Unnamed: 0, PassengerId" in out
    assert "Input columns (3): size, colour, name" in out and "Free text: name" in out
    code, out, _ = _run(capsys, "predict", model, DATA / "sorted_with_index.csv")
    preds = pd.read_csv(io.StringIO(out))
    assert list(preds.columns) == ["Unnamed: 0", "PassengerId", "predicted_label"]
    assert preds["PassengerId"].tolist() == pd.read_csv(
        DATA / "sorted_with_index.csv")["PassengerId"].tolist()
    code, out, _ = _run(capsys, "predict", model, DATA / "sorted_with_index.csv", "--id",
                        "name")
    assert list(pd.read_csv(io.StringIO(out)).columns) == ["name", "predicted_label"]
    code, _, err = _run(capsys, "predict", model, DATA / "sorted_with_index.csv", "--id",
                        "nmae")
    assert code == 1 and "no column 'nmae'" in err and "Did you mean 'name'?" in err


def test_id_given_at_training_is_left_out_and_carried(tmp_path, capsys):
    model = tmp_path / "id.nnlite"
    code, _, _ = _run(capsys, "train", DATA / "markers.csv", "--target", "mpg", "--id",
                      "weight", "--task", "regression", "--out", model, *QUICK)
    assert code == 0
    code, out, _ = _run(capsys, "summary", model)
    assert "Input columns (2): horsepower, origin" in out
    assert "Identifiers (left out): weight" in out
    code, out, _ = _run(capsys, "predict", model, DATA / "markers.csv")
    assert out.splitlines()[0] == "weight,predicted_mpg"


def test_exclude_sep_and_encoding_options(tmp_path, capsys):
    model = tmp_path / "m.nnlite"
    code, out, err = _run(capsys, "train", DATA / "latin1.csv", "--target", "label",
                          "--encoding", "latin-1", "--exclude", "city", "--out", model, *QUICK)
    assert code == 0 and "1 column" in out and "UTF-8" not in err
    code, out, err = _run(capsys, "train", DATA / "semicolon.csv", "--target", "kind",
                          "--sep", ";", "--out", model, *QUICK)
    assert code == 0 and "separator" not in err
    code, _, err = _run(capsys, "train", DATA / "semicolon.csv", "--target", "kind",
                        "--sep", ",", "--out", model, *QUICK)
    assert code == 1 and "no column 'kind'" in _one_error_line(err)


def test_ragged_rows_fail_with_the_line(tmp_path, capsys):
    code, _, err = _run(capsys, "train", DATA / "ragged.csv", "--target", "label",
                        "--out", tmp_path / "m.nnlite")
    assert code == 1
    assert re.search(r"error: read_csv: line 4 of .*ragged\.csv' has 4 fields, but the header "
                     r"has 3", _one_error_line(err))


def test_the_model_is_never_written_over_the_input(tmp_path, capsys):
    data = tmp_path / "data.csv"
    data.write_bytes((DATA / "binary_float.csv").read_bytes())
    code, out, err = _run(capsys, "train", data, "--target", "label", "--out", data)
    assert code == 1 and "Epoch" not in out
    assert re.search(r"--out '.*data\.csv' is the input file .*; writing there would destroy "
                     r"it", _one_error_line(err))
    assert data.read_bytes() == (DATA / "binary_float.csv").read_bytes()


def test_an_unwritable_output_is_found_before_training(tmp_path, capsys):
    code, out, err = _run(capsys, "train", DATA / "binary_float.csv", "--target", "label",
                          "--out", tmp_path / "no" / "such" / "m.nnlite")
    assert code == 1 and out == ""
    assert "the folder" in _one_error_line(err) and "does not exist" in err
    code, out, err = _run(capsys, "train", DATA / "binary_float.csv", "--target", "label",
                          "--out", tmp_path)
    assert code == 1 and out == "" and "is a folder" in err


def test_predictions_are_written_atomically(tmp_path, capsys, monkeypatch):
    model = tmp_path / "m.nnlite"
    _run(capsys, "train", DATA / "binary_float.csv", "--target", "label", "--out", model,
         *QUICK)
    preds = tmp_path / "preds.csv"
    preds.write_text("previous predictions\n")
    code, _, err = _run(capsys, "predict", model, DATA / "binary_float.csv", "--out",
                        DATA / "binary_float.csv")
    assert code == 1 and "is the input file" in err

    def half_then_fail(self, file, **kwargs):
        file.write("predicted_label\n0\n")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    code, _, err = _run(capsys, "predict", model, DATA / "binary_float.csv", "--out", preds)
    assert code == 1 and "No space left on device" in err
    assert preds.read_text() == "previous predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.nnlite", "preds.csv"]


def test_predict_into_a_closed_pipe_exits_quietly(tmp_path):
    model = tmp_path / "m.nnlite"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["train", str(DATA / "binary_float.csv"), "--target", "label", "--out",
                     str(model), *QUICK]) == 0
    rows = pd.read_csv(DATA / "binary_float.csv").sample(30000, replace=True, random_state=0)
    rows.to_csv(tmp_path / "many.csv", index=False)
    # As `nnlite predict m.nnlite many.csv | head -1`: the reader leaves after one line.
    process = subprocess.Popen([sys.executable, "-m", "nnlite", "predict", str(model),
                                str(tmp_path / "many.csv")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=Path(__file__).parent.parent)
    assert process.stdout.readline() == b"predicted_label\n"
    process.stdout.close()
    with process.stderr:
        err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0
    assert "Broken pipe" not in err and "Traceback" not in err


def test_verbosity_follows_the_terminal(monkeypatch):
    from nnlite import cli

    assert cli._verbosity(0) == 0
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert cli._verbosity(None) == 1
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert cli._verbosity(None) == 2


def test_training_plan_by_table_size_and_options():
    from argparse import Namespace

    from nnlite.cli import training_plan

    small, medium, large = (training_plan(n) for n in (300, 5000, 50000))
    assert small["hidden"] == (128,) and small["split"] == 0.2 and small["held_out"] == 60
    assert medium["hidden"] == (128, 64) and large["hidden"] == (256, 128)
    assert small["epochs"] > medium["epochs"] > large["epochs"]
    assert small["batch_size"] < large["batch_size"]
    given = training_plan(301, Namespace(hidden=(8,), epochs=5, dropout=0.0, lr=0.01,
                                             batch_size=None, patience=None))
    assert given["hidden"] == (8,) and given["epochs"] == 5 and given["dropout"] == 0.0
    assert given["lr"] == 0.01 and given["batch_size"] == small["batch_size"]
    assert given["held_out"] == 61   # ceil(301 * 0.2), as fit's validation split counts


def test_a_class_found_only_in_the_test_rows_is_still_known(tmp_path, capsys):
    # 'rare' has one row: the split cannot stratify it, and it may land in the test rows.
    text = "a,y\n" + "".join(f"{i},{'xy'[i % 2]}\n" for i in range(20)) + "99,rare\n"
    (tmp_path / "rare.csv").write_text(text)
    code, out, err = _run(capsys, "train", tmp_path / "rare.csv", "--target", "y", "--out",
                          tmp_path / "m.nnlite", "--test-size", "0.5", *QUICK)
    assert code == 0, err
    assert "3 classes: rare, x, y" in out


def test_a_text_column_trains_from_the_words_and_predicts_on_raw_rows(tmp_path, capsys):
    model = tmp_path / "reviews.nnlite"
    code, out, err = _run(capsys, "train", DATA / "reviews.csv", "--target", "label",
                          "--out", model, "--no-baselines", "--verbose", "0")
    assert code == 0, err
    assert "read 'review' (64 distinct values, 27 words) as free text" in err  # training rows
    accuracy = float(re.search(r"^\s*nnlite\s+(\d\.\d+)", out, re.M).group(1))
    assert accuracy >= 0.9
    (tmp_path / "new.csv").write_text("review,stars_given\n"
                                      "A superb and wonderful film.,2\n"
                                      "Boring and awful; the ending was horrible.,2\n"
                                      "Never seen words only,2\n")
    code, out, _ = _run(capsys, "predict", model, tmp_path / "new.csv")
    assert code == 0
    assert out.splitlines()[:3] == ["predicted_label", "pos", "neg"]


def test_text_forces_a_column_to_words(tmp_path, capsys):
    model = tmp_path / "m.nnlite"
    code, _, err = _run(capsys, "train", DATA / "markers.csv", "--target", "mpg", "--task",
                        "regression", "--text", "origin", "--out", model, *QUICK)
    assert code == 0 and "read 'origin' (3 distinct values, 3 words) as free text" in err
    code, out, _ = _run(capsys, "summary", model)
    assert "Free text: origin" in out and "origin_[UNK], origin_usa, origin_japan" in out


def test_the_csv_guide_shows_the_warnings_nnlite_prints(tmp_path, monkeypatch, capsys):
    guide = (Path(__file__).parent.parent / "docs" / "csv.md").read_text()
    block = re.search(r"\$ nnlite train customers\.csv .*?\n(.*?)```", guide, re.S).group(1)
    shown = [line for line in block.splitlines() if line.startswith("nnlite: warning:")]
    monkeypatch.chdir(DATA)
    code, out, err = _run(capsys, "train", "customers.csv", "--target", "churned", "--out",
                          tmp_path / "churn.nnlite", "--verbose", "0", "--no-baselines")
    assert code == 0
    assert err.splitlines() == shown
    for start in ("customers.csv:", "Training on"):
        assert [line for line in block.splitlines() if line.startswith(start)] == [
            line for line in out.splitlines() if line.startswith(start)]
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(re.search(r"```python\n(.*?)```", guide, re.S).group(1), namespace)
    encoder = namespace["encoder"]
    assert encoder.identifiers == ["Unnamed: 0"] and list(encoder.dates) == ["signup"]
    assert encoder.markers == {"monthly_fee": ["?"]}


@pytest.mark.parametrize("sep", ["tab", "\\t"])
def test_a_tab_separator_can_be_typed(tmp_path, capsys, sep):
    # Windows line endings and a byte-order mark too, as spreadsheets write them.
    text = "\ufeffa\tb\tlabel\r\n" + "".join(f"{i}\t{i % 3}\t{'xy'[i % 2]}\r\n"
                                            for i in range(12))
    (tmp_path / "tabs.tsv").write_text(text, encoding="utf-8", newline="")
    code, out, err = _run(capsys, "train", tmp_path / "tabs.tsv", "--target", "label",
                          "--sep", sep, "--out", tmp_path / "m.nnlite", *QUICK)
    assert code == 0, err
    assert "2 inputs from 2 columns" in out


def test_model_rnn_reads_a_text_column_in_order_and_predicts_on_raw_rows(tmp_path, capsys):
    model = tmp_path / "reviews-rnn.nnlite"
    code, out, err = _run(capsys, "train", DATA / "reviews.csv", "--target", "label",
                          "--exclude", "stars_given", "--model", "rnn", "--epochs", "30",
                          "--out", model, "--verbose", "0")
    assert code == 0, err
    # The GRU's row comes first, then the baselines and nnlite's default network, all on
    # the same test rows.
    rows = [line.split()[:2] for line in out.splitlines() if line.strip().startswith("nnlite")]
    assert rows[0][:2] == ["nnlite", "Embedding"] and len(rows) == 2
    assert float(re.search(r"^\s*nnlite Embedding GRU Dropout Dense\s+(\d\.\d+)", out,
                           re.M).group(1)) >= 0.7
    (tmp_path / "new.csv").write_text("review\nA superb and wonderful film.\n"
                                      "Boring and awful; the ending was horrible.\n")
    code, out, err = _run(capsys, "predict", model, tmp_path / "new.csv", "--proba")
    assert code == 0, err
    assert out.splitlines()[0] == "predicted_label,proba_neg,proba_pos"
    code, out, _ = _run(capsys, "summary", model)
    assert "Embedding" in out and "GRU" in out


def test_model_rnn_refuses_a_table_with_other_inputs(capsys):
    code, _, err = _run(capsys, "train", DATA / "reviews.csv", "--target", "label",
                        "--model", "rnn", *QUICK)
    assert code == 1
    assert "--model rnn reads one free-text column and nothing else" in err
    assert "['stars_given']" in err
