"""examples/bn_cnn_digits.py runs, in a small configuration, and BatchNormalization helps."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bn_cnn_digits.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("bn_cnn_digits_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_prints_both_curves(example, capsys):
    curves = example.main(["--epochs", "3", "--n-train", "500"])
    out = capsys.readouterr().out
    assert len(curves["plain"]) == len(curves["batch_norm"]) == 3
    assert all(0.0 <= a <= 1.0 for a in curves["plain"] + curves["batch_norm"])
    assert "epoch  plain  batch_norm" in out and "best plain accuracy" in out
    # After one epoch on 500 images the normalised network is well ahead (about 0.2 vs 0.1
    # for the plain one, which has barely left chance level).
    assert curves["batch_norm"][0] > curves["plain"][0]


def test_the_two_networks_differ_only_by_batch_normalization(example):
    plain, bn = example.build_cnn(False), example.build_cnn(True)
    names = [type(layer).__name__ for layer in bn.layers if type(layer).__name__ !=
             "BatchNormalization"]
    assert names == [type(layer).__name__ for layer in plain.layers]
    assert sum(type(layer).__name__ == "BatchNormalization" for layer in bn.layers) == 2


def test_epochs_to_reach(example):
    assert example.epochs_to_reach([0.5, 0.9, 0.95], 0.9) == 2
    assert example.epochs_to_reach([0.5, 0.6], 0.9) is None
