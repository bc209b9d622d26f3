"""Small real data sets shipped with nnlite, for examples and tests (see README.md here)."""

from importlib import resources
from pathlib import Path

#: Path of the Palmer penguins table (344 rows, 8 columns, CC0).
PENGUINS_CSV = Path(str(resources.files("nnlite") / "datasets" / "penguins.csv"))
#: How the penguins table writes a missing cell.
PENGUINS_NA = "NA"


def load_penguins(target="species", **kwargs):
    """Load the penguins table with ``nnlite.data.load_csv``.

    Args:
        target: column to predict (``"species"`` by default).
        **kwargs: passed to ``load_csv`` (``features``, ``task``, ``scale``, ``dtype``,
            ...). The table writes missing cells as ``NA``, so ``na_values`` defaults to
            ``"NA"``.

    Returns:
        The ``Dataset`` ``(x, y, encoder)`` from ``load_csv``.
    """
    from nnlite.data import load_csv

    kwargs.setdefault("na_values", PENGUINS_NA)
    return load_csv(PENGUINS_CSV, target=target, **kwargs)
