"""The documentation runs: the quickstart notebook, the getting-started example, the API list."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebooks" / "quickstart.ipynb"


def test_quickstart_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_quickstart_notebook_runs_clean(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    outputs = [out for cell in notebook.cells if cell.cell_type == "code"
               for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) == 2  # learning curves and confusion matrix
    table = next(out["data"]["text/plain"] for out in outputs
                 if "LogisticRegression" in out.get("data", {}).get("text/plain", ""))
    assert "nnlite Sequential (32,)" in table


DOCS = NOTEBOOK.parents[1]


def test_getting_started_python_example_runs(tmp_path, monkeypatch):
    text = (DOCS / "index.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    assert blocks
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match="imputed"):
        for block in blocks:
            exec(compile(block, "docs/index.md", "exec"), {})
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert (tmp_path / "penguins.nnlite").exists()


@pytest.mark.parametrize("module", ["data", "evaluation", "callbacks"])
def test_api_reference_lists_every_public_name(module):
    import importlib
    import inspect

    api = (DOCS / "api.md").read_text()
    mod = importlib.import_module(f"nnlite.{module}")
    names = getattr(mod, "__all__", None) or [
        n for n, obj in vars(mod).items() if inspect.isclass(obj) and not n.startswith("_")
        and obj.__module__ == mod.__name__]
    missing = [n for n in names if f"`{n}" not in api]
    assert not missing, f"docs/api.md lacks {missing}"
