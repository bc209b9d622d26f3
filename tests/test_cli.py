import contextlib
import io
import re
import subprocess
import sys

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
    assert list(rows) == ["nnlite Sequential (64, 32)", "Dummy (most frequent)",
                          "LogisticRegression", "MLPClassifier (64, 32)", "RandomForest"]
    assert rows["nnlite Sequential (64, 32)"] >= 0.97
    assert "Saved the model and its data encoder" in out
    # A progress bar per epoch (30) on stderr, and the imputed cells reported in one line each.
    assert err.count("Epoch 30/30: 100%") == 1
    assert re.search(r"^nnlite: warning: TabularEncoder: imputed \d+ missing cells", err, re.M)


def test_predict_on_the_file_without_its_target(trained, tmp_path, capsys):
    path = trained[3]
    frame = pd.read_csv(PENGUINS)
    frame.drop(columns="species").to_csv(tmp_path / "inputs.csv", index=False)
    code, out, _ = _run(capsys, "predict", path, tmp_path / "inputs.csv", "--out",
                        tmp_path / "preds.csv", "--proba")
    assert code == 0 and "Wrote 344 predictions" in out
    preds = pd.read_csv(tmp_path / "preds.csv")
    assert list(preds.columns) == ["species", "proba_Adelie", "proba_Chinstrap", "proba_Gentoo"]
    np.testing.assert_allclose(preds.iloc[:, 1:].sum(axis=1), 1.0, atol=1e-5)
    assert (preds["species"] == frame["species"]).mean() >= 0.97


def test_predict_to_stdout(trained, capsys):
    code, out, _ = _run(capsys, "predict", trained[3], PENGUINS)
    lines = out.splitlines()
    assert code == 0 and lines[0] == "species" and len(lines) == 345
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
    assert "Total params: 2,883" in out  # 10*64+64 + 64*32+32 + 32*3+3 = 704 + 2080 + 99
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
    grams = pd.read_csv(io.StringIO(out))["body_mass_g"]
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
    assert "the data lacks feature columns 'island'" in _one_error_line(err)


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
