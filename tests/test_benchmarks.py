"""The benchmark harness: interleaved timing, the tables, the command line, and small runs
of the workloads (PyTorch switched off, results written to a temporary folder)."""

import json
import re

import numpy as np
import pytest

from benchmarks import __main__ as bench_main
from benchmarks import cnn_epoch, common, inference, lstm_epoch, mlp_epoch


def test_time_interleaved_alternates_after_the_warm_up():
    calls = []
    results = common.time_interleaved({"a": lambda: calls.append("a"),
                                       "b": lambda: calls.append("b")}, repeats=3, warmup=1)
    assert calls == ["a", "b"] + ["a", "b"] * 3
    for r in results.values():
        assert len(r["times"]) == 3
        assert r["min"] <= r["median"] <= r["max"]


def test_print_table_gives_ratios_and_the_share_of_the_gemm_rate(capsys):
    results = {"x": {"median": 2.0, "min": 1.0, "max": 3.0},
               "ref": {"median": 4.0, "min": 4.0, "max": 4.0}}
    common.print_table("t", results, "ref", flops=8e9, gemm_rate=8.0)
    lines = capsys.readouterr().out.splitlines()
    assert "| x | 2.000 | 1.000 | 3.000 | 0.50 | 4.0 | 50% |" in lines
    assert "| ref | 4.000 | 4.000 | 4.000 | 1.00 | 2.0 | 25% |" in lines


def test_unknown_workload_is_refused(capsys):
    with pytest.raises(SystemExit) as excinfo:
        bench_main.main(["mlp", "cnn_epoch"])
    assert excinfo.value.code == 2
    assert "unknown workload 'mlp'" in capsys.readouterr().err
    assert {"mlp_epoch", "cnn_epoch", "rnn_epoch", "lstm_epoch", "inference", "scaling"} <= set(
        bench_main.workloads())


@pytest.mark.parametrize("module, argv", [
    (mlp_epoch, ["--rows", "512", "--repeats", "1"]),
    (cnn_epoch, ["--rows", "128", "--repeats", "1", "--data", "normal"]),
    (inference, ["--rows", "1024", "--repeats", "1"]),
    (lstm_epoch, ["--rows", "128", "--repeats", "1"]),
    (lstm_epoch, ["--rows", "128", "--repeats", "1", "--mask"]),
])
def test_a_small_run_writes_its_results(module, argv, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    monkeypatch.setattr(module, "torch_or_none", lambda: None)
    module.main(argv)
    out = capsys.readouterr().out
    assert "| nnlite |" in out
    (written,) = tmp_path.glob("*.json")
    payload = json.loads(written.read_text())
    assert payload["machine"]["numpy"]
    results = payload["results"]
    if module is cnn_epoch:   # one table per kind of data
        assert list(results) == ["normal"] and "normal data" in out
        results = results["normal"]
    assert results["nnlite"]["median"] > 0


def test_the_cnn_runs_on_each_kind_of_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    monkeypatch.setattr(cnn_epoch, "torch_or_none", lambda: None)
    results = cnn_epoch.main(["--rows", "64", "--repeats", "1", "--denormals"])
    assert list(results) == ["uniform", "digits", "normal"]
    out = capsys.readouterr().out
    for kind in results:
        assert f"{kind} data" in out
        assert re.search(rf"\| {kind} \| [\d,]+ \| 0 \|", out)   # no subnormal values


def test_the_cnn_data_kinds():
    uniform, _ = cnn_epoch.make_data(50, kind="uniform")
    digits, labels = cnn_epoch.make_data(50, kind="digits")
    normal, _ = cnn_epoch.make_data(50, kind="normal")
    for x in (uniform, digits, normal):
        assert x.shape == (50, 28, 28, 1) and x.dtype == np.float32
    assert 0 <= uniform.min() and uniform.max() < 1
    assert digits.min() == 0 and digits.max() <= 1 and (digits == 0).mean() > 0.5
    assert not digits[:, :4].any() and not digits[:, :, 24:].any()   # the frame of zeros
    assert set(labels) <= set(range(10))
    assert normal.min() < -2 and normal.max() > 2
    with pytest.raises(ValueError, match="kind must be one of"):
        cnn_epoch.make_data(5, kind="gaussian")


def test_subnormal_values_are_counted():
    x, y = cnn_epoch.make_data(64, kind="uniform")
    assert cnn_epoch.count_subnormals(x, y)["subnormal"] == 0
    # Images of about 1e-39 (below float32's smallest normal, 1.2e-38): the first layer's
    # outputs, before its bias has moved, are subnormal too, and the count must see them.
    seen = cnn_epoch.count_subnormals(x * np.float32(1e-39), y)
    assert seen["subnormal"] > 1000
