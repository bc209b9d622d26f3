"""From a table to arrays: ``load_csv``, a JSON-serialisable encoder, and array helpers.

pandas reads the file and scikit-learn learns the statistics (medians, most frequent values,
means and scales, categories, class labels). The fitted encoder keeps only those numbers and
lists, so its state is plain JSON that can be stored inside a model file and loaded back to
transform new rows identically.

>>> import io
>>> from nnlite.data import load_csv
>>> csv = io.StringIO("size,colour,label\\n1.0,red,a\\n2.0,blue,b\\n3.0,red,a\\n")
>>> x, y, encoder = load_csv(csv, target="label")
>>> x.shape, y.tolist(), encoder.classes
((3, 3), [0, 1, 0], ['a', 'b'])
"""

import math
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd

from nnlite import config

# scikit-learn names re-exported here, imported on first use so that `import nnlite` stays fast.
_SKLEARN = {"train_test_split": "sklearn.model_selection", "MaxAbsScaler": "sklearn.preprocessing",
            "MinMaxScaler": "sklearn.preprocessing", "OneHotEncoder": "sklearn.preprocessing",
            "RobustScaler": "sklearn.preprocessing", "StandardScaler": "sklearn.preprocessing"}


__all__ = [
    *_SKLEARN,
    "Dataset",
    "TabularEncoder",
    "batches",
    "infer_task",
    "load_csv",
    "normalize",
    "one_hot",
    "read_csv",
    "standardize",
]


def __getattr__(name):
    if name in _SKLEARN:
        import importlib

        return getattr(importlib.import_module(_SKLEARN[name]), name)
    raise AttributeError(f"module 'nnlite.data' has no attribute {name!r}")


TASKS = ("auto", "classification", "regression")
SCALES = ("standard", "minmax", None)
#: An integer-valued numeric target with at most this many distinct values is a class label.
MAX_INTEGER_CLASSES = 10


class Dataset(NamedTuple):
    """What ``load_csv`` returns: features, targets and the encoder fitted on them."""

    x: np.ndarray
    y: np.ndarray
    encoder: "TabularEncoder"


def read_csv(path_or_buffer, who="read_csv") -> pd.DataFrame:
    """Read a CSV file with pandas, turning its errors into one clear message.

    Args:
        path_or_buffer: a path, a file-like object, or a DataFrame (returned as is).
        who: name used at the start of error messages.

    Raises:
        FileNotFoundError: when the path does not exist.
        ValueError: when the file is empty or not a readable CSV table.
    """
    if isinstance(path_or_buffer, pd.DataFrame):
        return path_or_buffer
    try:
        frame = pd.read_csv(path_or_buffer)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{who}: no such file {str(path_or_buffer)!r}.") from exc
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{who}: {_label(path_or_buffer)} is empty; expected a CSV table "
                         "with a header line.") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{who}: {_label(path_or_buffer)} is not a readable CSV table "
                         f"({exc}).") from exc
    if frame.empty:
        raise ValueError(f"{who}: {_label(path_or_buffer)} has a header but no rows.")
    return frame


def infer_task(target: pd.Series) -> str:
    """Return ``"classification"`` or ``"regression"`` for a target column.

    Text, boolean and categorical columns are class labels; so is an integer column with at
    most ``MAX_INTEGER_CLASSES`` distinct values. Float columns and other integer columns are
    regression targets; pass ``task=`` to decide otherwise.
    """
    if not _is_numeric(target) or pd.api.types.is_bool_dtype(target):
        return "classification"
    if pd.api.types.is_integer_dtype(target) and target.nunique() <= MAX_INTEGER_CLASSES:
        return "classification"
    return "regression"


class TabularEncoder:
    """Turn the rows of a table into a float feature matrix and a target vector.

    Numeric columns get missing cells replaced by the column median, then are scaled;
    other columns get missing cells replaced by the most frequent value, then are one-hot
    encoded (a category not seen by ``fit`` becomes all zeros: ignored, not an error).
    Classification targets become integer ids into ``classes``. Every imputed cell is
    counted in a warning.

    Args:
        target: name of the target column.
        features: feature column names; None takes every other column.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (see ``infer_task``).
        scale: ``"standard"`` (zero mean, unit variance), ``"minmax"`` ([0, 1]) or None.
        scale_target: standardise a regression target (``inverse_transform_target`` undoes
            it); useful when its values are far from 1.
        dtype: dtype of the arrays returned; None uses ``nnlite.get_dtype()``.

    Attributes (after ``fit``):
        task: the task chosen. classes: class labels (classification). feature_names:
        names of the output columns, e.g. ``island_Biscoe``.

    Shapes:
        transform: frame of n rows -> (n, len(feature_names)). transform_target -> (n,).
    """

    def __init__(self, target, features=None, task="auto", scale="standard",
                 scale_target=False, dtype=None):
        if task not in TASKS:
            raise ValueError(f"TabularEncoder: task must be one of {', '.join(TASKS)}, "
                             f"got {task!r}.")
        if scale not in SCALES:
            raise ValueError("TabularEncoder: scale must be 'standard', 'minmax' or None, "
                             f"got {scale!r}.")
        self.target = target
        self.features = None if features is None else list(features)
        self.task = task
        self.scale = scale
        self.scale_target = bool(scale_target)
        self.dtype = np.dtype(config.get_dtype() if dtype is None else dtype).name
        self.fitted = False

    # ---- fitting -----------------------------------------------------------------------

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Check the columns and the target, settle ``task`` and drop rows without a target.

        ``fit`` calls this; call it yourself to split the rows before fitting.

        Raises:
            ValueError: for a missing column, a target with fewer than two classes, or a
                non-numeric target with ``task="regression"``.
        """
        columns = [str(c) for c in frame.columns]
        frame = frame.set_axis(columns, axis=1)
        if self.target not in columns:
            raise ValueError(_unknown_column("target", self.target, columns))
        features = self.features
        if features is None:
            features = [c for c in columns if c != self.target]
        for name in features:
            if name not in columns:
                raise ValueError(_unknown_column("feature", name, columns))
        if self.target in features:
            raise ValueError(f"TabularEncoder: the target {self.target!r} cannot also be a "
                             "feature.")
        if not features:
            raise ValueError(f"TabularEncoder: no feature columns besides the target "
                             f"{self.target!r}.")
        missing = int(frame[self.target].isna().sum())
        if missing:
            warnings.warn(f"TabularEncoder: dropped {missing} of {len(frame)} rows whose "
                          f"target {self.target!r} is missing.", stacklevel=2)
            frame = frame[frame[self.target].notna()]
        if frame.empty:
            raise ValueError(f"TabularEncoder: the target {self.target!r} has no values.")
        target = frame[self.target]
        task = infer_task(target) if self.task == "auto" else self.task
        if task == "regression" and not _is_numeric(target):
            example = target.iloc[0]
            raise ValueError(f"TabularEncoder: a regression target must be numeric, but "
                             f"{self.target!r} holds text (e.g. {example!r}); use "
                             "task='classification'.")
        if task == "classification" and target.nunique() < 2:
            raise ValueError(f"TabularEncoder: the target {self.target!r} has one class "
                             f"({target.iloc[0]!r}); classification needs at least two.")
        self.features, self.task = features, task
        return frame

    def fit(self, frame: pd.DataFrame) -> "TabularEncoder":
        """Learn imputation values, scales, categories and classes from ``frame``."""
        from sklearn.impute import SimpleImputer
        from sklearn.preprocessing import LabelEncoder, MinMaxScaler, OneHotEncoder, StandardScaler

        frame = self.prepare(frame)
        self.numeric = [c for c in self.features if _is_numeric(frame[c])]
        self.categorical = [c for c in self.features if c not in self.numeric]
        for name in self.features:
            if frame[name].isna().all():
                raise ValueError(f"TabularEncoder: feature column {name!r} has no values; "
                                 "drop it with features=[...].")
        self.medians, self.offsets, self.scales = [], [], []
        if self.numeric:
            numbers = _to_numbers(frame[self.numeric])
            imputer = SimpleImputer(strategy="median").fit(numbers)
            filled = imputer.transform(numbers)
            self.medians = imputer.statistics_.tolist()
            if self.scale == "standard":
                scaler = StandardScaler().fit(filled)
                self.offsets, self.scales = scaler.mean_.tolist(), scaler.scale_.tolist()
            elif self.scale == "minmax":
                scaler = MinMaxScaler().fit(filled)
                # MinMaxScaler stores x * scale_ + min_; keep the (x - offset) / scale form.
                self.offsets = scaler.data_min_.tolist()
                self.scales = (1.0 / scaler.scale_).tolist()
            else:
                self.offsets, self.scales = [0.0] * len(self.numeric), [1.0] * len(self.numeric)
        self.most_frequent, self.categories = [], []
        if self.categorical:
            text = _as_text(frame[self.categorical])
            imputer = SimpleImputer(strategy="most_frequent").fit(text)
            self.most_frequent = imputer.statistics_.tolist()
            onehot = OneHotEncoder(handle_unknown="ignore").fit(imputer.transform(text))
            self.categories = [c.tolist() for c in onehot.categories_]
        self.feature_names = list(self.numeric) + [
            f"{name}_{value}" for name, cats in zip(self.categorical, self.categories,
                                                    strict=True) for value in cats]
        self.classes, self.target_offset, self.target_scale = None, 0.0, 1.0
        target = frame[self.target]
        if self.task == "classification":
            self.classes = LabelEncoder().fit(_class_values(target)).classes_.tolist()
        elif self.scale_target:
            scaler = StandardScaler().fit(_to_numbers(target.to_frame()))
            self.target_offset = float(scaler.mean_[0])
            self.target_scale = float(scaler.scale_[0])
        self.fitted = True
        return self

    def fit_transform(self, frame: pd.DataFrame):
        """Fit on ``frame`` and return ``(x, y)`` for its rows that have a target."""
        frame = self.prepare(frame)
        self.fit(frame)
        return self.transform(frame), self.transform_target(frame)

    # ---- transforming ------------------------------------------------------------------

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the feature matrix of ``frame`` (the target column may be absent).

        Raises:
            RuntimeError: before ``fit``.
            ValueError: when a feature column is missing, or a numeric column holds text.
        """
        self._require_fitted("transform")
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        absent = [c for c in self.features if c not in frame.columns]
        if absent:
            raise ValueError(f"TabularEncoder: the data lacks feature columns "
                             f"{', '.join(map(repr, absent))}; it has "
                             f"{', '.join(map(repr, frame.columns))}.")
        blocks, imputed = [], {}
        if self.numeric:
            numbers = _to_numbers(frame[self.numeric])
            holes = np.isnan(numbers)
            imputed.update({c: int(k) for c, k in zip(self.numeric, holes.sum(axis=0),
                                                      strict=True) if k})
            numbers = np.where(holes, np.asarray(self.medians), numbers)
            blocks.append((numbers - np.asarray(self.offsets)) / np.asarray(self.scales))
        for name, fill, cats in zip(self.categorical, self.most_frequent, self.categories,
                                    strict=True):
            column = frame[name]
            holes = column.isna().to_numpy()
            if holes.any():
                imputed[name] = int(holes.sum())
            text = np.where(holes, fill, _as_text(column.to_frame())[:, 0])
            codes = pd.Index(cats).get_indexer(text)                 # -1 for unseen values
            blocks.append(codes[:, None] == np.arange(len(cats)))       # (n, categories)
        if imputed:
            detail = ", ".join(f"{c}: {k}" for c, k in imputed.items())
            total = sum(imputed.values())
            warnings.warn(f"TabularEncoder: imputed {total} missing cell{'s' * (total != 1)} "
                          f"({detail}) with the median (numbers) or most frequent value "
                          "(text) of the training data.", stacklevel=2)
        return np.hstack(blocks).astype(self.dtype)

    def transform_target(self, frame) -> np.ndarray:
        """Return the targets of ``frame`` (a DataFrame with the target column, or a Series).

        Class labels become integer ids (``intp``); regression targets become floats,
        standardised when ``scale_target`` is set.

        Raises:
            ValueError: for a missing target column, a missing value or an unknown class.
        """
        self._require_fitted("transform_target")
        if isinstance(frame, pd.DataFrame):
            if self.target not in frame.columns:
                raise ValueError(_unknown_column("target", self.target,
                                                 [str(c) for c in frame.columns]))
            frame = frame[self.target]
        values = pd.Series(frame)
        if values.isna().any():
            raise ValueError(f"TabularEncoder: the target {self.target!r} has "
                             f"{int(values.isna().sum())} missing values.")
        if self.task == "regression":
            y = (_to_numbers(values.to_frame())[:, 0] - self.target_offset) / self.target_scale
            return y.astype(self.dtype)
        labels = _class_values(values)
        lookup = {label: i for i, label in enumerate(self.classes)}
        unknown = sorted({v for v in labels.tolist() if v not in lookup}, key=str)
        if unknown:
            raise ValueError(f"TabularEncoder: the target {self.target!r} has classes "
                             f"{unknown} not seen in training; known: {self.classes}.")
        return pd.Index(self.classes).get_indexer(labels).astype(np.intp)

    def inverse_transform_target(self, y) -> np.ndarray:
        """Map integer ids back to class labels, or scaled predictions back to target units."""
        self._require_fitted("inverse_transform_target")
        y = np.asarray(y)
        if self.task == "regression":
            return y * self.target_scale + self.target_offset
        return np.asarray(self.classes, dtype=object)[y.astype(np.intp)]

    # ---- JSON state --------------------------------------------------------------------

    _STATE = ("target", "features", "task", "scale", "scale_target", "dtype", "numeric",
              "categorical", "medians", "offsets", "scales", "most_frequent", "categories",
              "feature_names", "classes", "target_offset", "target_scale")

    def to_dict(self) -> dict:
        """Return the fitted state as a JSON-ready dict (lists, strings and numbers only)."""
        self._require_fitted("to_dict")
        return {"format": "nnlite-tabular-encoder", "version": 1,
                **{key: getattr(self, key) for key in self._STATE}}

    @classmethod
    def from_dict(cls, state: dict) -> "TabularEncoder":
        """Rebuild a fitted encoder from ``to_dict()``'s output.

        Raises:
            ValueError: when ``state`` is not an encoder state.
        """
        if not isinstance(state, dict) or state.get("format") != "nnlite-tabular-encoder":
            raise ValueError("TabularEncoder.from_dict: expected the dict written by "
                             f"to_dict(), got {type(state).__name__}.")
        absent = [key for key in cls._STATE if key not in state]
        if absent:
            raise ValueError(f"TabularEncoder.from_dict: the state lacks {absent}.")
        encoder = cls(state["target"], state["features"], state["task"], state["scale"],
                      state["scale_target"], state["dtype"])
        for key in cls._STATE:
            setattr(encoder, key, state[key])
        encoder.fitted = True
        return encoder

    def _require_fitted(self, method):
        if not self.fitted:
            raise RuntimeError(f"TabularEncoder.{method}() needs fit() first.")

    def __repr__(self):
        return (f"TabularEncoder(target={self.target!r}, task={self.task!r}, "
                f"scale={self.scale!r}, features={self.features!r})")


def load_csv(path_or_buffer, target, features=None, task="auto", scale="standard",
             dtype=None) -> Dataset:
    """Read a CSV table and return ``(x, y, encoder)`` ready for ``Sequential.fit``.

    Numbers are imputed with the median and scaled, text is imputed with the most frequent
    value and one-hot encoded, and a warning says how many cells were imputed. Rows whose
    target is missing are dropped (with a warning). For data you will split, fit a
    ``TabularEncoder`` on the training rows only.

    Args:
        path_or_buffer: path or file-like object of a CSV file, or a DataFrame.
        target: name of the target column.
        features: feature column names (default: all other columns).
        task: ``"auto"``, ``"classification"`` or ``"regression"``.
        scale: ``"standard"``, ``"minmax"`` or None for numeric features.
        dtype: dtype of ``x`` (and of ``y`` for regression); default ``nnlite.get_dtype()``.

    Returns:
        ``Dataset(x, y, encoder)``: ``x`` of shape ``(n, features_out)``; ``y`` integer ids
        into ``encoder.classes`` (classification) or floats (regression); the fitted
        ``TabularEncoder`` (``encoder.transform(new_frame)`` encodes new rows).

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: for an unknown target or feature column (the columns are listed), a
            target with one class, or a text target with ``task="regression"``.
    """
    frame = read_csv(path_or_buffer, who="load_csv")
    encoder = TabularEncoder(target, features, task, scale, dtype=dtype)
    x, y = encoder.fit_transform(frame)
    return Dataset(x, y, encoder)


# ---- array helpers -------------------------------------------------------------------------


def one_hot(labels, num_classes=None, dtype=None) -> np.ndarray:
    """Return one-hot rows for integer ``labels``.

    Args:
        labels: integer array of any shape, values in ``[0, num_classes)``.
        num_classes: number of classes; default ``labels.max() + 1``.
        dtype: output dtype; default ``nnlite.get_dtype()``.

    Shapes:
        labels: (...) -> (..., num_classes).

    Raises:
        ValueError: for non-integer labels, or labels outside ``[0, num_classes)``.

    >>> one_hot([0, 2, 1]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    labels = np.asarray(labels)
    if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
        labels = labels.astype(np.intp)
    if labels.dtype.kind not in "iu":
        raise ValueError(f"one_hot: labels must be integers, got dtype {labels.dtype}.")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if bad.size:
        raise ValueError(f"one_hot: labels must be in [0, {num_classes}), got "
                         f"{labels.reshape(-1)[bad[0]].item()!r} at index {int(bad[0])}.")
    dtype = config.get_dtype() if dtype is None else np.dtype(dtype)
    return (labels[..., None] == np.arange(num_classes)).astype(dtype)   # (..., classes)


def normalize(x, axis=0) -> np.ndarray:
    """Min-max scale ``x`` to ``[0, 1]`` along ``axis`` (a constant column becomes 0).

    Float input keeps its dtype; integer input becomes ``nnlite.get_dtype()``.
    """
    x = _float_array(x)
    low = x.min(axis=axis, keepdims=True)
    span = x.max(axis=axis, keepdims=True) - low
    return (x - low) / np.where(span == 0, 1, span).astype(x.dtype)


def standardize(x, axis=0) -> np.ndarray:
    """Scale ``x`` to zero mean and unit variance along ``axis`` (a constant column becomes 0).

    Float input keeps its dtype; integer input becomes ``nnlite.get_dtype()``.
    """
    x = _float_array(x)
    std = x.std(axis=axis, keepdims=True)
    return (x - x.mean(axis=axis, keepdims=True)) / np.where(std == 0, 1, std).astype(x.dtype)


def batches(x, y=None, batch_size=32, shuffle=False, rng=None):
    """Yield minibatches ``x[i:i+batch_size]`` (and ``y`` alongside when given).

    Args:
        shuffle: visit the rows in a random order drawn from ``rng`` (default: nnlite's).
    """
    n = len(x)
    if y is not None and len(y) != n:
        raise ValueError(f"batches: x and y must have the same length, got {n} and {len(y)}.")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batches: batch_size must be a positive int, got {batch_size!r}.")
    order = (rng or config.get_rng()).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        index = order[start:start + batch_size]
        yield x[index] if y is None else (x[index], y[index])


# ---- private helpers -----------------------------------------------------------------------


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column)


def _as_text(frame: pd.DataFrame) -> np.ndarray:
    """Object array of strings, missing cells kept as NaN (which SimpleImputer recognises)."""
    text = np.array(frame.astype(object).to_numpy(), dtype=object)
    holes = pd.isna(text)
    text[~holes] = text[~holes].astype(str)
    text[holes] = math.nan
    return text


def _class_values(column: pd.Series) -> np.ndarray:
    """Class labels as JSON-friendly values: ints for integer classes, else strings."""
    if _is_numeric(column) and not pd.api.types.is_bool_dtype(column):
        numbers = column.to_numpy(dtype=float)
        if np.all(numbers == np.round(numbers)):
            return numbers.astype(np.int64)
    return column.astype(str).to_numpy(dtype=object)


def _to_numbers(frame: pd.DataFrame) -> np.ndarray:
    try:
        return frame.apply(pd.to_numeric).to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"TabularEncoder: numeric columns {list(frame.columns)} hold text "
                         f"({exc}).") from exc


def _float_array(x):
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(config.get_dtype())


def _label(path_or_buffer):
    return repr(str(path_or_buffer)) if isinstance(path_or_buffer, str | bytes) or hasattr(
        path_or_buffer, "__fspath__") else "the input"


def _unknown_column(kind, name, columns):
    import difflib

    message = (f"TabularEncoder: {kind} column {name!r} not found. Columns: "
               f"{', '.join(columns)}.")
    close = difflib.get_close_matches(str(name), columns, n=1)
    return message + (f" Did you mean {close[0]!r}?" if close else "")
