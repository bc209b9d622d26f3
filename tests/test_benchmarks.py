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


def test_the_text_workload_runs_small_and_compares_with_sklearn(tmp_path, monkeypatch, capsys):
    from benchmarks import text_vectorize

    monkeypatch.setattr(common, "RESULTS", tmp_path)
    texts = text_vectorize.make_texts(50, words=40)
    assert len(texts) == 50 and all(t[0].isupper() and t.endswith(".") for t in texts)
    text_vectorize.main(["--texts", "300", "--repeats", "1"])
    out = capsys.readouterr().out
    assert "| scikit-learn |" in out and "| nnlite int |" in out
    payload = json.loads((tmp_path / "text_vectorize.json").read_text())
    assert payload["results"]["learn"]["nnlite count (sparse)"]["cpu_min"] > 0
    assert "text_vectorize" in bench_main.workloads()


def test_the_tabular_benchmark_runs_nnlite_train_beside_the_baselines(tmp_path, monkeypatch,
                                                                       capsys):
    from sklearn.datasets import load_iris

    from benchmarks import tabular

    monkeypatch.setattr(common, "RESULTS", tmp_path)
    monkeypatch.setattr(tabular, "datasets", lambda: [tabular._sklearn("iris", load_iris)])
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Default training on tables\n\nold table\n\n## Next\n")
    monkeypatch.setattr(tabular, "DOC", doc)
    assert tabular.main(["--seeds", "0"]) == 0
    text = doc.read_text()
    row = re.search(r"^\| iris \| class\. \| 150 \| 4 \| accuracy \| (\d\.\d+) ± 0\.000 \|",
                    text, re.M)
    assert row and float(row.group(1)) >= 0.9
    assert "old table" not in text and text.endswith("\n## Next\n")
    assert "on 1 of 1 data sets" in text
    payload = json.loads((tmp_path / "tabular.json").read_text())
    assert set(payload["results"]["iris"]["scores"]) == {"nnlite", "dummy", "linear", "mlp",
                                                         "forest"}


def test_the_memory_table_and_its_section(tmp_path):
    import pandas as pd

    from benchmarks import tabular

    tabular.memory_table(tmp_path / "big.csv", rows=40, categories=5)
    frame = pd.read_csv(tmp_path / "big.csv")
    assert list(frame.columns) == ["num0", "num1", "num2", "cat0", "cat1", "cat2", "review",
                                   "label"]
    assert frame["cat0"].nunique() <= 5 and set(frame["label"]) <= {"yes", "no"}
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n")
    tabular._write_memory_doc({"rows": 50000, "file_bytes": 4 * 2**20, "seconds": 60.0,
                               "peak_rss_bytes": 300 * 2**20,
                               "libraries_rss_bytes": 160 * 2**20}, doc)
    text = doc.read_text()
    assert "## Memory of `nnlite train` on a large table" in text
    assert "Peak: 300 MiB, of which 160 MiB" in text and "took 140 MiB, 35 times" in text


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
