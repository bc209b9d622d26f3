"""From a table to arrays: ``load_csv``, a JSON-serialisable encoder, and array helpers.

pandas reads the file and scikit-learn learns the statistics (medians, most frequent values,
means and scales, categories, class labels). The fitted encoder keeps only those numbers and
lists, so its state is plain JSON that can be stored inside a model file and loaded back to
transform new rows identically.

Real files are messy, and the encoder never guesses silently: each decision that changes
what a column means (an identifier left out, a date turned into numbers, free text, rare
categories pooled, ``?`` read as missing, ...) is announced by one warning naming the columns.

>>> import io
>>> from nnlite.data import load_csv
>>> csv = io.StringIO("size,colour,label\\n1.0,red,a\\n2.0,blue,b\\n3.0,red,a\\n")
>>> x, y, encoder = load_csv(csv, target="label")
>>> x.shape, y.tolist(), encoder.classes
((3, 3), [0, 1, 0], ['a', 'b'])
"""

import math
import re
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
#: Default cap on the one-hot inputs of one categorical column (rare values are pooled).
MAX_CATEGORIES = 20
#: Default vocabulary size of the bag-of-words inputs made from one free-text column.
TEXT_MAX_TOKENS = 200
#: Guesses from the values alone (running numbers, codes, free text) need this many rows.
MIN_ROWS_TO_GUESS = 10
#: Parts of a date column that become numeric inputs; hour and minute only when it has times.
DATE_PARTS = ("year", "month", "day", "dayofweek")
TIME_PARTS = ("hour", "minute")


class Dataset(NamedTuple):
    """What ``load_csv`` returns: features, targets and the encoder fitted on them."""

    x: np.ndarray
    y: np.ndarray
    encoder: "TabularEncoder"


# ---- reading -------------------------------------------------------------------------------


def read_csv(path_or_buffer, who="read_csv", sep=None, encoding=None,
             na_values=None) -> pd.DataFrame:
    """Read a CSV table with pandas, checking what pandas lets pass.

    The encoding (UTF-8, else Windows-1252 / Latin-1) and the separator (``,``, ``;``, tab
    or ``|``) are detected unless given; a guess other than UTF-8 and comma is announced in a
    warning. Only empty cells are missing: strings such as ``NA`` or ``None`` stay text (a
    region called ``NA``) unless listed in ``na_values``; markers in numeric columns are the
    encoder's business (see ``TabularEncoder``).

    Args:
        path_or_buffer: a path, a file-like object, or a DataFrame (returned as is, with the
            ``na_values`` strings replaced by missing values).
        who: name used at the start of error messages.
        sep: field separator; None detects it.
        encoding: text encoding of the file; None detects it.
        na_values: a string or list of strings that mean "missing" (besides empty cells).

    Raises:
        FileNotFoundError: when the path does not exist.
        ValueError: when the file is empty, not decodable, or has a row with more or fewer
            fields than the header (the line is named).
    """
    na_values = [] if na_values is None else (
        [na_values] if isinstance(na_values, str) else [str(v) for v in na_values])
    if isinstance(path_or_buffer, pd.DataFrame):
        return path_or_buffer.replace(na_values, np.nan) if na_values else path_or_buffer
    import io

    label = _label(path_or_buffer)
    text = _decode(_read_raw(path_or_buffer, who), encoding, who, label)
    if not text.strip():
        raise ValueError(f"{who}: {label} is empty; expected a CSV table with a header line.")
    if sep is None:
        sep = _detect_separator(text)
        if sep != ",":
            warnings.warn(f"{who}: {label} has {_SEP_NAMES.get(sep, repr(sep))} as its "
                          "separator (detected; pass sep= or --sep to choose).", stacklevel=2)
    elif not isinstance(sep, str) or len(sep) != 1:
        raise ValueError(f"{who}: sep must be one character such as ',' or ';', got {sep!r}.")
    _check_fields(text, sep, who, label)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, keep_default_na=False,
                            na_values=["", *na_values], low_memory=False)
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{who}: {label} is empty; expected a CSV table "
                         "with a header line.") from exc
    except pd.errors.ParserError as exc:
        raise ValueError(f"{who}: {label} is not a readable CSV table ({exc}).") from exc
    del text
    if frame.empty:
        raise ValueError(f"{who}: {label} has a header but no rows.")
    return frame


_SEP_NAMES = {";": "';' (semicolon)", "\t": "a tab", "|": "'|'", ",": "',' (comma)"}


def _read_raw(path_or_buffer, who):
    if hasattr(path_or_buffer, "read"):
        return path_or_buffer.read()
    try:
        with open(path_or_buffer, "rb") as file:
            return file.read()
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{who}: no such file {str(path_or_buffer)!r}.") from exc
    except IsADirectoryError as exc:
        raise ValueError(f"{who}: {str(path_or_buffer)!r} is a folder, not a CSV file.") from exc


def _decode(raw, encoding, who, label):
    if isinstance(raw, str):
        return raw
    if encoding is not None:
        try:
            return raw.decode(encoding)
        except LookupError as exc:
            raise ValueError(f"{who}: unknown encoding {encoding!r}; try 'utf-8', "
                             "'cp1252' or 'latin-1'.") from exc
        except UnicodeDecodeError as exc:
            raise ValueError(f"{who}: {label} is not valid {encoding} text ({exc.reason} at "
                             f"byte {exc.start}); pass another encoding.") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Windows-1252 is what most non-UTF-8 files of Western Europe and America use; Latin-1
    # decodes any byte, so it is the last resort.
    for fallback in ("cp1252", "latin-1"):
        try:
            text = raw.decode(fallback)
        except UnicodeDecodeError:
            continue
        warnings.warn(f"{who}: {label} is not UTF-8; read it as {fallback} "
                      "(pass encoding= or --encoding if accented letters look wrong).",
                      stacklevel=3)
        return text
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _detect_separator(text, candidates=(",", ";", "\t", "|")):
    """The candidate found the same, non-zero number of times on the first lines."""
    import csv
    import io

    lines = [line for line in text[:65536].splitlines() if line.strip()][:50]
    if len(lines) > 1 and len(text) > 65536:
        lines = lines[:-1]  # the last line read may be cut in the middle
    best, best_fields = ",", 1
    for sep in candidates:
        counts = {len(row) for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=sep)}
        if len(counts) == 1 and (fields := counts.pop()) > best_fields:
            best, best_fields = sep, fields
    return best


def _check_fields(text, sep, who, label):
    """Raise for the first row whose number of fields differs from the header's.

    pandas fills short rows with missing values and, when every row is one field longer than
    the header, silently turns the first column into the index: both shift the columns.
    """
    import csv
    import io

    reader = csv.reader(io.StringIO(text), delimiter=sep)
    header = None
    for row in reader:
        if not row:
            continue
        if header is None:
            header = len(row)
        elif len(row) != header:
            raise ValueError(f"{who}: line {reader.line_num} of {label} has {len(row)} "
                             f"field{'s' * (len(row) != 1)}, but the header has {header}; "
                             f"check the separator ({sep!r}; pass sep= or --sep) and quote "
                             "values that contain it.")


def infer_task(target: pd.Series) -> str:
    """Return ``"classification"`` or ``"regression"`` for a target column.

    Text, boolean and categorical columns are class labels; so is a numeric column with two
    distinct values (a 0/1 flag, even read as floats) and an integer column with at most
    ``MAX_INTEGER_CLASSES`` distinct values. Other numeric columns are regression targets;
    pass ``task=`` to decide otherwise.
    """
    if not _is_numeric(target) or pd.api.types.is_bool_dtype(target):
        return "classification"
    distinct = target.nunique()
    if distinct == 2:
        return "classification"
    if pd.api.types.is_integer_dtype(target) and distinct <= MAX_INTEGER_CLASSES:
        return "classification"
    return "regression"


class TabularEncoder:
    """Turn the rows of a table into a float feature matrix and a target vector.

    ``fit`` looks at each feature column of the training rows and decides what it is:

    - numeric: missing cells get the column median, then the column is scaled. A column
      of numbers with a few non-numeric markers (``?``, ``-``, ``n/a``, ``NA``) is numeric
      with those cells missing;
    - identifier (a different value in every row: ``id``, ``Unnamed: 0``, a running number,
      a code): left out, since it can only leak or memorise. Not checked for ``features``
      you list yourself;
    - date or time: becomes the numeric inputs year, month, day, day of week (and hour,
      minute when times are present);
    - free text (many distinct values of several words): tf-idf weights of its most
      frequent words through ``nnlite.text.TextVectorizer``, never one input per value;
      ``text=`` forces columns to be read as text;
    - categorical (any other): missing cells get the most frequent value, then one-hot
      encoding with scikit-learn's ``OneHotEncoder(max_categories=...,
      handle_unknown="infrequent_if_exist")``: rare values share one ``infrequent`` input,
      and a value not seen by ``fit`` goes there too (or to all zeros when no value was
      rare); ``transform`` counts those in a warning.

    Each decision is one warning naming the columns. Classification targets become integer
    ids into ``classes``. Every imputed cell is counted in one warning per ``transform``.

    Args:
        target: name of the target column.
        features: feature column names; None takes every other column.
        task: ``"classification"``, ``"regression"`` or ``"auto"`` (see ``infer_task``).
        scale: ``"standard"`` (zero mean, unit variance), ``"minmax"`` ([0, 1]) or None.
        scale_target: standardise a regression target (``inverse_transform_target`` undoes
            it); useful when its values are far from 1.
        dtype: dtype of the arrays returned; None uses ``nnlite.get_dtype()``.
        exclude: column names to leave out.
        id_columns: columns that identify rows: left out of the inputs (and carried to the
            output by ``nnlite predict``).
        text: columns to read as free text whatever their values look like.
        max_categories: most one-hot inputs per categorical column (at least 2).
        text_max_tokens: vocabulary size of each free-text column.
        na_values: strings that mean "missing" in any column (as ``read_csv``'s); kept in
            the state so that new rows are read the same way.

    Attributes (after ``fit``):
        task: the task chosen. classes: class labels (classification). numeric,
        categorical, dates, text: the columns of each kind. identifiers: identifier
        columns left out. feature_names: names of the output columns, e.g.
        ``island_Biscoe``, ``date_month``.

    Shapes:
        transform: frame of n rows -> (n, len(feature_names)). transform_target -> (n,).
    """

    def __init__(self, target, features=None, task="auto", scale="standard",
                 scale_target=False, dtype=None, *, exclude=None, id_columns=None, text=None,
                 max_categories=MAX_CATEGORIES, text_max_tokens=TEXT_MAX_TOKENS,
                 na_values=None):
        if task not in TASKS:
            raise ValueError(f"TabularEncoder: task must be one of {', '.join(TASKS)}, "
                             f"got {task!r}.")
        if scale not in SCALES:
            raise ValueError("TabularEncoder: scale must be 'standard', 'minmax' or None, "
                             f"got {scale!r}.")
        for name, value, low in (("max_categories", max_categories, 2),
                                 ("text_max_tokens", text_max_tokens, 3)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ValueError(f"TabularEncoder: {name} must be an int of at least {low}, "
                                 f"got {value!r}.")
        self.target = target
        self.features = None if features is None else list(features)
        self.features_listed = features is not None
        self.task = task
        self.scale = scale
        self.scale_target = bool(scale_target)
        self.dtype = np.dtype(config.get_dtype() if dtype is None else dtype).name
        self.exclude = _names(exclude)
        self.id_columns = _names(id_columns)
        self.text_columns = _names(text)
        self.max_categories = int(max_categories)
        self.text_max_tokens = int(text_max_tokens)
        self.na_values = _names(na_values)
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
        frame = _missing(frame.set_axis(columns, axis=1), self.na_values)
        features = self._feature_columns(columns)
        frame = self._rows_with_target(frame)
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
        if task == "regression":
            _check_finite_column(target.to_numpy(dtype=float), f"the target {self.target!r}")
        self.features, self.task = features, task
        return frame

    def _feature_columns(self, columns):
        """The feature columns among ``columns``, after checking every name given."""
        if self.target not in columns:
            raise ValueError(_unknown_column("target", self.target, columns))
        named = (("excluded", self.exclude), ("identifier", self.id_columns),
                 ("text", self.text_columns), ("feature", self.features or []))
        for kind, names in named:
            for name in names:
                if name not in columns:
                    raise ValueError(_unknown_column(kind, name, columns))
        if self.features is not None and self.target in self.features:
            raise ValueError(f"TabularEncoder: the target {self.target!r} cannot also be a "
                             "feature.")
        left_out = {self.target, *self.exclude, *self.id_columns}
        features = [c for c in (self.features or columns) if c not in left_out]
        if not features:
            raise ValueError(f"TabularEncoder: no feature columns besides the target "
                             f"{self.target!r}.")
        return features

    def _rows_with_target(self, frame):
        """``frame`` with a numeric target's markers read as missing, then those rows gone."""
        target = frame[self.target]
        if not _is_numeric(target) and self.task != "classification":
            numbers, _, counts = _numbers_with_markers(target)
            if numbers is not None:
                _warn_markers({self.target: counts}, "the target column")
                frame = frame.assign(**{self.target: numbers})
        missing = int(frame[self.target].isna().sum())
        if missing:
            warnings.warn(f"TabularEncoder: dropped {missing} of {len(frame)} rows whose "
                          f"target {self.target!r} is missing.", stacklevel=3)
            frame = frame[frame[self.target].notna()]
        if frame.empty:
            raise ValueError(f"TabularEncoder: the target {self.target!r} has no values.")
        return frame

    def fit(self, frame: pd.DataFrame, targets=None) -> "TabularEncoder":
        """Learn column kinds, imputation values, scales, categories and classes from ``frame``.

        Args:
            frame: the training rows.
            targets: the target column of the whole table, when ``frame`` is part of it:
                classes are learned from it, so that a rare class that fell in the test
                rows only is still a known class.

        Raises:
            ValueError: as ``prepare``; for a numeric column holding an infinite value or
                values too large to scale (the column is named); or when no usable feature
                column remains.
        """
        from sklearn.preprocessing import LabelEncoder, StandardScaler

        frame = self.prepare(frame)
        self._sort_columns(frame, self.features_listed)
        self._fit_numbers(frame)
        self._fit_categories(frame)
        self._fit_text(frame)
        self.feature_names = (
            [_part_name(c, p) for c, p in self.inputs]
            + [f"{c}_{v}" for c, cats, rare in zip(self.categorical, self.categories,
                                                   self.infrequent, strict=True)
               for v in [*cats, *(["infrequent"] if rare else [])]]
            + [f"{c}_{t}" for c, state in zip(self.text, self.vectorizers, strict=True)
               for t in _vocabulary(state)])
        if not self.feature_names:
            raise ValueError("TabularEncoder: no usable feature column is left (see the "
                             "warnings above); list the ones to use with features=[...].")
        self.classes, self.target_offset, self.target_scale = None, 0.0, 1.0
        target = frame[self.target]
        if self.task == "classification":
            if targets is not None:
                target = _missing(pd.Series(targets), self.na_values).dropna()
            self.classes = LabelEncoder().fit(_class_values(target)).classes_.tolist()
        elif self.scale_target:
            scaler = StandardScaler().fit(_to_numbers(target.to_frame()))
            self.target_offset = float(scaler.mean_[0])
            self.target_scale = float(scaler.scale_[0])
            if not (math.isfinite(self.target_offset) and math.isfinite(self.target_scale)):
                raise ValueError(f"TabularEncoder: the target {self.target!r} holds values too "
                                 "large to scale; rescale it (e.g. to thousands) first.")
        self.fitted = True
        return self

    def _sort_columns(self, frame, listed):
        """Decide each feature column's kind, with one warning per kind of decision."""
        kinds = {}
        for name in self.features:
            kinds[name] = _column_kind(name, frame[name], forced_text=name in self.text_columns,
                                       guess_identifier=not listed)
        of = {kind: [c for c, (k, _, _) in kinds.items() if k == kind]
              for kind in ("numeric", "comma", "markers", "date", "text", "categorical",
                           "identifier", "empty")}
        self.identifiers = of["identifier"]
        self.numeric = [c for c in self.features if kinds[c][0] in ("numeric", "comma",
                                                                      "markers")]
        self.decimal_comma = of["comma"]
        self.markers = {c: kinds[c][1] for c in of["markers"]}
        self.date_formats = {c: kinds[c][1][0] for c in of["date"]}
        self.dates = {c: kinds[c][1][1] for c in of["date"]}
        self.categorical = of["categorical"]
        self.text = of["text"]
        if of["empty"]:
            warnings.warn(f"TabularEncoder: left out {_quoted(of['empty'])}: no values.",
                          stacklevel=3)
        if self.identifiers:
            many = len(self.identifiers) > 1
            warnings.warn(f"TabularEncoder: left out identifier column{'s' * many} "
                          f"{_quoted(self.identifiers)} (a different value in every row, "
                          "which can only leak or be memorised); list "
                          f"{'them' if many else 'it'} in features=[...] to use "
                          f"{'them' if many else 'it'} anyway.", stacklevel=3)
        if self.decimal_comma:
            warnings.warn(f"TabularEncoder: read {_quoted(self.decimal_comma)} as numbers "
                          "written with a decimal comma (1,5 = 1.5).", stacklevel=3)
        if self.markers:
            _warn_markers({c: kinds[c][2] for c in of["markers"]}, "numeric columns")
        if self.dates:
            parts = sorted({p for parts in self.dates.values() for p in parts},
                           key=[*DATE_PARTS, *TIME_PARTS].index)
            warnings.warn(f"TabularEncoder: read {_quoted(list(self.dates))} as date"
                          f"{'s' * (len(self.dates) > 1)}: numeric inputs "
                          f"{', '.join(parts)}.", stacklevel=3)
        kept_as_text = [(c, v) for c in self.categorical
                        for v in sorted(_DEFAULT_NA_WORDS.intersection(
                            _as_str(frame[c].dropna()).unique()))]
        if kept_as_text:
            detail = ", ".join(f"{v!r} in {c!r}" for c, v in kept_as_text)
            warnings.warn(f"TabularEncoder: kept {detail} as a category, not as missing; "
                          "pass na_values=[...] (--na-values) if it means missing.",
                          stacklevel=3)

    def _fit_numbers(self, frame):
        """Medians, offsets and scales of the numeric inputs (numbers and date parts)."""
        self.inputs = [(c, None) for c in self.numeric] + [
            (c, p) for c, parts in self.dates.items() for p in parts]
        self.medians, self.offsets, self.scales = [], [], []
        if not self.inputs:
            return
        numbers, _ = self._numbers(frame)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing date parts
            medians = np.nanmedian(numbers, axis=0)
        medians = np.where(np.isnan(medians), 0.0, medians)
        filled = np.where(np.isnan(numbers), medians, numbers)
        with np.errstate(over="ignore", invalid="ignore"):
            if self.scale == "standard":
                offsets, scales = filled.mean(axis=0), filled.std(axis=0)
            elif self.scale == "minmax":
                offsets = filled.min(axis=0)
                scales = filled.max(axis=0) - offsets
            else:
                offsets, scales = np.zeros(len(self.inputs)), np.ones(len(self.inputs))
        for i, ((name, _), offset, scale) in enumerate(zip(self.inputs, offsets, scales,
                                                           strict=True)):
            if not (math.isfinite(offset) and math.isfinite(scale)):
                big = np.nanmax(np.abs(numbers[:, i]))
                raise ValueError(f"TabularEncoder: column {name!r} holds values too large to "
                                 f"scale (up to {big:g}); rescale it or leave it out with "
                                 "exclude=[...] (--exclude).")
        # A constant column keeps scale 1, as scikit-learn's scalers do.
        scales = np.where(scales == 0, 1.0, scales)
        self.medians, self.offsets, self.scales = (medians.tolist(), offsets.tolist(),
                                                   scales.tolist())

    def _fit_categories(self, frame):
        from sklearn.preprocessing import OneHotEncoder

        self.most_frequent, self.categories, self.infrequent = [], [], []
        pooled = []
        for name in self.categorical:
            column = frame[name]
            counts = _as_str(column.dropna()).value_counts(sort=False)
            # The most frequent value, ties broken by the smallest, as SimpleImputer does.
            fill = min(counts.index[counts.to_numpy() == counts.max()])
            text = _as_str(column.fillna(fill)).to_numpy(dtype=object)[:, None]
            onehot = OneHotEncoder(max_categories=self.max_categories,
                                   handle_unknown="infrequent_if_exist").fit(text)
            rare = onehot.infrequent_categories_[0]
            rare = [] if rare is None else rare.tolist()
            kept = [v for v in onehot.categories_[0].tolist() if v not in set(rare)]
            self.most_frequent.append(fill)
            self.categories.append(kept)
            self.infrequent.append(rare)
            if rare:
                pooled.append(f"{name!r} ({len(kept)} of {len(kept) + len(rare)})")
        if pooled:
            warnings.warn(f"TabularEncoder: kept only the most frequent values of "
                          f"{', '.join(pooled)} and pooled the rest of each column into one "
                          f"'infrequent' input (max_categories={self.max_categories}).",
                          stacklevel=3)

    def _fit_text(self, frame):
        """A bag-of-words vocabulary (``nnlite.text.TextVectorizer``) per free-text column."""
        from nnlite.text import TextVectorizer

        self.vectorizers, detail = [], []
        for name in self.text:
            # As wide as the vocabulary found: columns past it would be inputs always 0.
            vectorizer = TextVectorizer(max_tokens=self.text_max_tokens, output_mode="tf_idf",
                                        pad_to_max_tokens=False)
            vectorizer.adapt(_as_str(frame[name].dropna()).tolist())
            width = np.asarray(vectorizer(["a"])).shape[1]
            vocabulary = [str(t) for t in vectorizer.get_vocabulary()][:width]
            vocabulary += [f"word{i}" for i in range(len(vocabulary), width)]
            self.vectorizers.append({"config": vectorizer.get_config(), "names": vocabulary})
            # Column 0 counts the words outside the vocabulary.
            detail.append(f"{name!r} ({frame[name].nunique()} distinct values, {width - 1} "
                          "words)")
        if detail:
            warnings.warn(f"TabularEncoder: read {', '.join(detail)} as free text: tf-idf of "
                          f"the most frequent words (at most {self.text_max_tokens - 1}), "
                          "not one input per value.", stacklevel=3)

    def fit_transform(self, frame: pd.DataFrame, name="the training rows"):
        """Fit on ``frame`` and return ``(x, y)`` for its rows that have a target."""
        frame = self.prepare(frame)
        self.fit(frame)
        return self.transform(frame, name=name), self.transform_target(frame)

    # ---- transforming ------------------------------------------------------------------

    def transform(self, frame: pd.DataFrame, name="the data") -> np.ndarray:
        """Return the feature matrix of ``frame`` (the target column may be absent).

        Missing cells are imputed with what ``fit`` learned, and categorical values not seen
        by ``fit`` are counted; each of these gets one warning that names ``name``.

        Args:
            frame: the rows to encode, with (at least) the feature columns.
            name: how the warnings call these rows, e.g. ``"the test rows"``.

        Raises:
            RuntimeError: before ``fit``.
            ValueError: when a feature column is missing, a numeric column holds text, or a
                value is infinite or overflows ``dtype`` once scaled (the column is named).
        """
        self._require_fitted("transform")
        frame = _missing(frame.set_axis([str(c) for c in frame.columns], axis=1),
                         self.na_values)
        needed = {*self.numeric, *self.dates, *self.categorical, *self.text}
        absent = [c for c in self.features if c in needed and c not in frame.columns]
        if absent:
            raise ValueError(f"TabularEncoder: the data lacks feature columns "
                             f"{', '.join(map(repr, absent))}; it has "
                             f"{', '.join(map(repr, frame.columns))}.")
        out = np.zeros((len(frame), len(self.feature_names)), dtype=self.dtype)
        imputed, unseen = {}, {}
        self._encode_numbers(frame, out, imputed)
        offset = self._encode_categories(frame, out, len(self.inputs), imputed, unseen)
        self._encode_text(frame, out, offset, imputed)
        if imputed:
            detail = ", ".join(f"{c}: {k}" for c, k in imputed.items())
            total = sum(imputed.values())
            text = (", or empty text (free text)" if any(c in imputed for c in self.text)
                    else "")
            warnings.warn(f"TabularEncoder: imputed {total} missing cell{'s' * (total != 1)} "
                          f"of {name} ({detail}) with the median (numbers) or most frequent "
                          f"value (categories) learned in training{text}.", stacklevel=2)
        if unseen:
            total = sum(len(v) for v in unseen.values())
            detail = "; ".join(f"{c}: {', '.join(map(repr, v[:3]))}"
                               f"{f' and {len(v) - 3} more' if len(v) > 3 else ''}"
                               for c, v in unseen.items())
            warnings.warn(f"TabularEncoder: {total} categor{'ies' if total != 1 else 'y'} of "
                          f"{name} not seen in training ({detail}) encoded as the column's "
                          "'infrequent' input, or as all zeros when it has none.", stacklevel=2)
        return out

    def _encode_numbers(self, frame, out, imputed):
        """Fill the first columns of ``out`` with the imputed, scaled numeric inputs."""
        if not self.inputs:
            return
        numbers, holes = self._numbers(frame)
        for i, (column, _) in enumerate(self.inputs):
            if column not in imputed and holes[i]:
                imputed[column] = holes[i]
        numbers = np.where(np.isnan(numbers), np.asarray(self.medians), numbers)
        numbers -= np.asarray(self.offsets)
        numbers /= np.asarray(self.scales)
        too_big = np.abs(numbers) > np.finfo(out.dtype).max
        if too_big.any():
            row, col = np.argwhere(too_big)[0]
            column = self.inputs[col][0]
            value = frame[column].iloc[row]
            value = float(value) if _is_numeric(frame[column]) else value
            raise ValueError(f"TabularEncoder: column {column!r} holds {value!r} (row {row}), "
                             f"which overflows {out.dtype} once scaled; rescale the column or "
                             "leave it out with exclude=[...] (--exclude).")
        out[:, :len(self.inputs)] = numbers

    def _encode_categories(self, frame, out, offset, imputed, unseen):
        """One-hot columns from ``offset`` on; returns the offset after them."""
        rows = np.arange(len(frame))
        for column, fill, cats, rare in zip(self.categorical, self.most_frequent,
                                            self.categories, self.infrequent, strict=True):
            values = frame[column]
            holes = int(values.isna().sum())
            if holes:
                imputed[column] = holes
            text = _as_str(values.fillna(fill))
            codes = pd.Index(cats).get_indexer(text)                 # -1: not a kept value
            if rare:
                codes[codes < 0] = len(cats)                         # the 'infrequent' input
                new = ~text.isin(rare).to_numpy() & (codes == len(cats))
            else:
                new = codes < 0
            if new.any():
                unseen[column] = sorted(set(text[new]))
            hit = codes >= 0
            out[rows[hit], offset + codes[hit]] = 1
            offset += len(cats) + bool(rare)
        return offset

    def _encode_text(self, frame, out, offset, imputed, chunk=4096):
        """Bag-of-words columns from ``offset`` on, ``chunk`` rows at a time."""
        from nnlite.text import TextVectorizer

        for column, state in zip(self.text, self.vectorizers, strict=True):
            vectorizer = TextVectorizer.from_config(state["config"])
            width = len(_vocabulary(state))
            texts = frame[column]
            holes = int(texts.isna().sum())
            if holes:
                imputed[column] = holes
            texts = _as_str(texts.fillna("")).tolist()
            for start in range(0, len(texts), chunk):
                block = np.asarray(vectorizer(texts[start:start + chunk]))
                out[start:start + len(block), offset:offset + width] = block[:, :width]
            offset += width

    def _numbers(self, frame):
        """Float64 matrix of the numeric inputs (NaN where missing) and the holes per input."""
        numbers = np.empty((len(frame), len(self.inputs)))
        holes, not_numbers = [], {}
        for i, (column, part) in enumerate(self.inputs):
            values = frame[column]
            if part is None:
                values, bad = _coerce_numbers(values, self.markers.get(column, ()),
                                              column in self.decimal_comma)
                if bad:
                    not_numbers[column] = bad
                _check_finite_column(values, f"column {column!r}")
            else:
                values = _date_part(_parse_dates(values, self.date_formats[column]), part)
            numbers[:, i] = values
            holes.append(int(np.isnan(values).sum()))
        if not_numbers:
            total = sum(sum(found.values()) for found in not_numbers.values())
            detail = "; ".join(f"{c}: " + ", ".join(f"{v!r} x{k}" for v, k in found.items())
                               for c, found in not_numbers.items())
            warnings.warn(f"TabularEncoder: read {total} cell{'s' * (total != 1)} of numeric "
                          f"columns that hold no number as missing ({detail}).", stacklevel=3)
        return numbers, holes

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
        values = _missing(pd.Series(frame), self.na_values)
        if self.task == "regression" and not _is_numeric(values):
            numbers, _, _ = _numbers_with_markers(values)
            values = values if numbers is None else numbers
        if values.isna().any():
            raise ValueError(f"TabularEncoder: the target {self.target!r} has "
                             f"{int(values.isna().sum())} missing values.")
        if self.task == "regression":
            y = (_to_numbers(values.to_frame())[:, 0] - self.target_offset) / self.target_scale
            _check_finite_column(y, f"the target {self.target!r}")
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
              "feature_names", "classes", "target_offset", "target_scale", "exclude",
              "id_columns", "text_columns", "max_categories", "text_max_tokens",
              "identifiers", "markers", "dates", "date_formats", "inputs", "infrequent",
              "text", "vectorizers", "na_values", "decimal_comma")
    #: What a version-1 state (before column kinds) means for the keys added since.
    _V1_DEFAULTS = {"exclude": [], "id_columns": [], "text_columns": [],
                    "max_categories": 10**9, "text_max_tokens": TEXT_MAX_TOKENS,
                    "identifiers": [], "markers": {}, "dates": {}, "date_formats": {},
                    "text": [], "vectorizers": [], "na_values": [], "decimal_comma": []}

    def to_dict(self) -> dict:
        """Return the fitted state as a JSON-ready dict (lists, strings and numbers only)."""
        self._require_fitted("to_dict")
        state = {key: getattr(self, key) for key in self._STATE}
        state["inputs"] = [list(pair) for pair in self.inputs]
        return {"format": "nnlite-tabular-encoder", "version": 2, **state}

    @classmethod
    def from_dict(cls, state: dict) -> "TabularEncoder":
        """Rebuild a fitted encoder from ``to_dict()``'s output.

        Raises:
            ValueError: when ``state`` is not an encoder state.
        """
        if not isinstance(state, dict) or state.get("format") != "nnlite-tabular-encoder":
            raise ValueError("TabularEncoder.from_dict: expected the dict written by "
                             f"to_dict(), got {type(state).__name__}.")
        if state.get("version") == 1:
            state = {**cls._V1_DEFAULTS, **state,
                     "inputs": [[c, None] for c in state.get("numeric", [])],
                     "infrequent": [[] for _ in state.get("categorical", [])]}
        absent = [key for key in cls._STATE if key not in state]
        if absent:
            raise ValueError(f"TabularEncoder.from_dict: the state lacks {absent}.")
        encoder = cls(state["target"], state["features"], state["task"], state["scale"],
                      state["scale_target"], state["dtype"])
        for key in cls._STATE:
            setattr(encoder, key, state[key])
        encoder.inputs = [tuple(pair) for pair in state["inputs"]]
        encoder.fitted = True
        return encoder

    def _require_fitted(self, method):
        if not self.fitted:
            raise RuntimeError(f"TabularEncoder.{method}() needs fit() first.")

    def __repr__(self):
        return (f"TabularEncoder(target={self.target!r}, task={self.task!r}, "
                f"scale={self.scale!r}, features={self.features!r})")


def load_csv(path_or_buffer, target, features=None, task="auto", scale="standard",
             dtype=None, *, scale_target=False, sep=None, encoding=None, na_values=None,
             exclude=None, id_columns=None, text=None,
             max_categories=MAX_CATEGORIES) -> Dataset:
    """Read a CSV table and return ``(x, y, encoder)`` ready for ``Sequential.fit``.

    Numbers are imputed with the median and scaled, categories are imputed with the most
    frequent value and one-hot encoded (at most ``max_categories`` inputs per column),
    identifiers are left out, dates become numbers and free text becomes words (see
    ``TabularEncoder``); each of these decisions and the imputed cells are announced in one
    warning. Rows whose target is missing are dropped (with a warning). For data you will
    split, fit a ``TabularEncoder`` on the training rows only.

    Args:
        path_or_buffer: path or file-like object of a CSV file, or a DataFrame.
        target: name of the target column.
        features: feature column names (default: all other columns).
        task: ``"auto"``, ``"classification"`` or ``"regression"``.
        scale: ``"standard"``, ``"minmax"`` or None for numeric features.
        dtype: dtype of ``x`` (and of ``y`` for regression); default ``nnlite.get_dtype()``.
        scale_target: standardise a regression target; ``encoder.inverse_transform_target``
            maps predictions back to its units.
        sep, encoding, na_values: how to read the file (see ``read_csv``); detected when None.
        exclude: columns to leave out.
        id_columns: identifier columns to leave out (detected ones are left out anyway).
        text: columns to read as free text.
        max_categories: most one-hot inputs per categorical column.

    Returns:
        ``Dataset(x, y, encoder)``: ``x`` of shape ``(n, features_out)``; ``y`` integer ids
        into ``encoder.classes`` (classification) or floats (regression); the fitted
        ``TabularEncoder`` (``encoder.transform(new_frame)`` encodes new rows).

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: for an unknown target or feature column (the columns are listed), a
            target with one class, a text target with ``task="regression"``, a row with the
            wrong number of fields (the line is named), or an infinite or overflowing number
            (the column is named).
    """
    frame = read_csv(path_or_buffer, who="load_csv", sep=sep, encoding=encoding,
                     na_values=na_values)
    encoder = TabularEncoder(target, features, task, scale, scale_target, dtype,
                             exclude=exclude, id_columns=id_columns, text=text,
                             max_categories=max_categories, na_values=na_values)
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

#: Strings pandas reads as missing by default that are also ordinary words or codes.
_DEFAULT_NA_WORDS = frozenset({"NA", "N/A", "None", "NULL", "null", "NaN", "nan", "n/a"})
#: Words that stand for a missing number (compared in lower case).
_MISSING_WORDS = frozenset({"na", "n/a", "n.a.", "nan", "null", "none", "missing", "unknown",
                            "not available", "#n/a", "#na", "#value!", "#div/0!"})
#: Names that mark a column as a row identifier (when its values are unique).
_ID_NAME = re.compile(r"^(id|ids|key|uuid|guid|index|rownames|row_?id|row_?number|Unnamed: ?\d+)$"
                      r"|[_\W](id|key|uuid|guid)$", re.IGNORECASE)
_ID_CAMEL = re.compile(r"[a-z](Id|ID)$")
#: A date (year first or last), optionally followed by a time and a time zone.
_DATE_LIKE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
                        r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?$")
#: At most this many distinct non-numeric markers in a mostly numeric column.
_MAX_MARKERS = 3


def _column_kind(name, column, forced_text=False, guess_identifier=True):
    """``(kind, info, detail)`` of a feature column; see ``TabularEncoder`` for the rules.

    kind is one of numeric, markers (info: the marker strings; detail: their counts), date
    (info: (format, parts)), text, categorical, identifier, empty.
    """
    values = column.dropna()
    n = len(column)
    if values.empty:
        return "empty", None, None
    if forced_text:
        return "text", None, None
    unique = len(values) == n and values.nunique() == n
    named_id = bool(_ID_NAME.search(name) or _ID_CAMEL.search(name))
    if _is_numeric(column):
        if (guess_identifier and unique and not pd.api.types.is_bool_dtype(column)
                and _counts_rows(values, named_id)):
            return "identifier", None, None
        return "numeric", None, None
    if guess_identifier and unique and named_id:
        return "identifier", None, None
    text = _as_str(values.iloc[:2000]).str.strip()
    if text.str.fullmatch(r"[+-]?\d+(,\d+)?").all() and text.str.contains(",").any():
        return "comma", None, None
    numbers, markers, counts = _numbers_with_markers(column)
    if numbers is not None:
        return "markers", markers, counts
    date = _date_format(values)
    if date is not None:
        parsed = _parse_dates(column, date)
        times = bool(((parsed.dt.hour != 0) | (parsed.dt.minute != 0)).any())
        return "date", (date, [*DATE_PARTS, *(TIME_PARTS if times else ())]), None
    return _kind_from_words(values, n, unique and guess_identifier), None, None


def _counts_rows(values, named_id):
    """Whether unique numbers identify rows: integers under an id-like name, or a running
    number (consecutive integers) in a table large enough for that to be no accident."""
    numbers = values.to_numpy(dtype=float)
    if not np.all(numbers == np.round(numbers)):
        return False
    n = len(numbers)
    return named_id or (n >= MIN_ROWS_TO_GUESS and numbers.max() - numbers.min() == n - 1)


def _kind_from_words(values, n, may_be_identifier):
    """identifier (unique codes or names of a word or two), text (many distinct values of
    several words) or categorical."""
    if n < MIN_ROWS_TO_GUESS:
        return "categorical"
    distinct = _as_str(values).unique()
    words = float(pd.Series(distinct[:2000]).str.split().str.len().mean())
    if may_be_identifier and words < 2.5:
        return "identifier"
    if words >= 2.5 and len(distinct) >= 0.5 * len(values):
        return "text"
    return "categorical"


def _numbers_with_markers(column):
    """``(numbers, markers, counts)`` for a text column of numbers with a few markers.

    ``numbers`` is a float Series with the markers missing, or None when the column is not
    mostly numbers with at most ``_MAX_MARKERS`` distinct short non-numeric values.
    """
    text = _as_str(column).str.strip()
    present = text.notna()
    if not present.any():
        return None, [], {}
    numbers = pd.to_numeric(text, errors="coerce")
    bad = present & numbers.isna()
    counts = text[bad].value_counts()
    if (len(counts) > _MAX_MARKERS or numbers.notna().sum() < bad.sum()
            or not all(_is_marker(v) for v in counts.index)):
        return None, [], {}
    return numbers.astype(float), sorted(counts.index), {k: int(v) for k, v in counts.items()}


def _is_marker(value):
    """A cell that stands for "no value": punctuation only, or a word that says so."""
    return not re.search(r"[^\W_]", value) or value.lower() in _MISSING_WORDS


def _warn_markers(counts, what):
    detail = "; ".join(f"{c!r}: " + ", ".join(f"{m!r} x{k}" for m, k in found.items())
                       for c, found in counts.items() if found)
    if detail:
        warnings.warn(f"TabularEncoder: read non-numeric markers in {what} as missing "
                      f"({detail}); pass na_values=[...] (--na-values) to name them "
                      "yourself.", stacklevel=4)


def _date_format(values):
    """The strftime format that parses (almost) every value, or None when not dates."""
    from pandas.tseries.api import guess_datetime_format

    sample = _as_str(values.iloc[:2000]).str.strip()
    if sample.str.match(_DATE_LIKE).mean() < 0.95:
        return None
    candidates = []
    for value in sample.iloc[:20]:
        for dayfirst in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # dayfirst=True on a year-first date
                fmt = guess_datetime_format(value, dayfirst=dayfirst)
            if fmt is not None and fmt not in candidates:
                candidates.append(fmt)
    best, parsed_best = None, 0.0
    for fmt in candidates:
        parsed = _parse_dates(sample, fmt).notna().mean()
        if parsed > parsed_best:
            best, parsed_best = fmt, parsed
    return best if parsed_best >= 0.95 else None


def _parse_dates(values, fmt):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return pd.to_datetime(_as_str(values).str.strip(), format=fmt, errors="coerce",
                              utc=True)


def _date_part(parsed, part):
    attribute = {"dayofweek": "day_of_week"}.get(part, part)
    return getattr(parsed.dt, attribute).to_numpy(dtype=float, na_value=np.nan)


def _part_name(column, part):
    return column if part is None else f"{column}_{part}"


def _vocabulary(state):
    return state["names"]


def _check_finite_column(values, what):
    infinite = np.isinf(values)
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        raise ValueError(f"TabularEncoder: {what} holds {float(values[row])!r} (row {row}); "
                         "infinite values cannot be used; replace them or leave the column "
                         "out with exclude=[...] (--exclude).")


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column)


def _as_str(column: pd.Series) -> pd.Series:
    """The values as strings, missing cells kept missing."""
    return column.astype(str).where(column.notna())


def _missing(data, na_values):
    """``data`` with the ``na_values`` strings replaced by missing values."""
    return data.replace(na_values, np.nan) if na_values else data


def _names(names):
    if names is None:
        return []
    return [names] if isinstance(names, str) else [str(n) for n in names]


def _quoted(names):
    return ", ".join(map(repr, names))


def _class_values(column: pd.Series) -> np.ndarray:
    """Class labels as JSON-friendly values: ints for integer classes, else strings."""
    if _is_numeric(column) and not pd.api.types.is_bool_dtype(column):
        numbers = column.to_numpy(dtype=float)
        if np.all(numbers == np.round(numbers)):
            return numbers.astype(np.int64)
    return column.astype(str).to_numpy(dtype=object)


def _to_numbers(frame: pd.DataFrame, markers=()) -> np.ndarray:
    """Float64 matrix of numeric columns; ``markers`` (strings) become missing."""
    columns = []
    for name in frame.columns:
        column = frame[name]
        if not _is_numeric(column):
            column = _as_str(column).str.strip()
            if markers:
                column = column.mask(column.isin(list(markers)))
            try:
                column = pd.to_numeric(column)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"TabularEncoder: numeric column {name!r} holds text "
                                 f"({exc}); fix the file, or name the marker with "
                                 "na_values=[...] (--na-values).") from exc
        columns.append(column.to_numpy(dtype=float, na_value=np.nan))
    return np.column_stack(columns)


def _coerce_numbers(column, markers=(), decimal_comma=False):
    """Float64 values of ``column`` and the counts of cells that are neither numbers nor
    ``markers`` (both read as missing)."""
    if _is_numeric(column):
        return column.to_numpy(dtype=float, na_value=np.nan), {}
    text = _as_str(column).str.strip()
    if decimal_comma:
        text = text.str.replace(",", ".", regex=False)
    if markers:
        text = text.mask(text.isin(list(markers)))
    numbers = pd.to_numeric(text, errors="coerce")
    bad = text.notna() & numbers.isna()
    found = {str(k): int(v) for k, v in text[bad].value_counts().items()} if bad.any() else {}
    return numbers.to_numpy(dtype=float, na_value=np.nan), found


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
