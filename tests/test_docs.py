"""The code in README.md and docs/layers.md runs as written."""

import re
from pathlib import Path

import numpy as np

import nnlite

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", (ROOT / path).read_text(), re.S)


def test_readme_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(python_blocks("README.md")[0].replace("verbose=2", "verbose=0"), namespace)
    same = namespace["same"]
    np.testing.assert_array_equal(same.predict(namespace["x"]),
                                  namespace["model"].predict(namespace["x"]))
    assert namespace["model"].evaluate(namespace["x"], namespace["y"])["accuracy"] > 0.9


def test_custom_layer_example_passes_gradcheck(capsys):
    namespace = {}
    try:
        exec(python_blocks("docs/layers.md")[1], namespace)
    finally:
        nnlite.set_dtype("float32")
    assert float(capsys.readouterr().out.strip()) < 1e-6


def test_layer_reference_lists_the_convolution_pooling_and_normalization_layers():
    text = (ROOT / "docs" / "layers.md").read_text()
    for name in ["Conv1D", "Conv2D", "MaxPool1D", "MaxPooling1D", "MaxPool2D", "MaxPooling2D",
                 "AveragePooling1D", "AvgPool1D", "AveragePooling2D", "AvgPool2D",
                 "GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling2D",
                 "GlobalMaxPooling2D", "BatchNormalization", "LayerNormalization", "Reshape",
                 "Dense", "Flatten", "Dropout", "Activation"]:
        assert getattr(nnlite.layers, name)
        assert re.search(rf"`{name}\(", text) or f"alias `{name}`" in text, name


def test_the_docs_index_links_every_page():
    index = (ROOT / "docs" / "index.md").read_text()
    linked = set(re.findall(r"\]\(([^)#]+)", index))
    pages = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*")
             if p.suffix in (".md", ".ipynb") and p.name != "index.md"}
    assert pages <= linked, f"not linked from docs/index.md: {sorted(pages - linked)}"
