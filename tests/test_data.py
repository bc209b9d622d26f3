import io
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import nnlite
from nnlite import data
from nnlite.data import TabularEncoder, load_csv
from nnlite.datasets import PENGUINS_CSV, load_penguins
from nnlite.layers import Dense

MIXED = """size,weight,colour,shape,label
1.0,10,red,round,cat
2.0,20,blue,square,dog
3.0,30,red,round,cat
4.0,40,green,square,dog
5.0,50,blue,round,cat
"""


def _csv(text):
    return io.StringIO(text)


# ---- load_csv: the six cases of the issue ---------------------------------------------------


def test_numeric_only_is_standardised_float32():
    text = "a,b,y\n1,10,0.5\n2,20,1.5\n3,40,2.5\n4,50,3.5\n"
    x, y, encoder = load_csv(_csv(text), target="y")
    assert x.dtype == np.float32 and x.shape == (4, 2)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(x.std(axis=0), 1.0, atol=1e-6)
    assert encoder.task == "regression" and encoder.categorical == []


def test_mixed_columns_one_hot_in_sorted_category_order():
    x, y, encoder = load_csv(_csv(MIXED), target="label")
    assert encoder.numeric == ["size", "weight"]
    assert encoder.feature_names == ["size", "weight", "colour_blue", "colour_green",
                                     "colour_red", "shape_round", "shape_square"]
    # Row 0 is red and round: one-hot columns colour_red and shape_round.
    np.testing.assert_array_equal(x[0, 2:], [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(x[:, 2:].sum(axis=1), 2)


def test_matches_scikit_learn_pipeline_reference():
    frame = pd.read_csv(PENGUINS_CSV)
    features = [c for c in frame.columns if c != "species"]
    numeric = [c for c in features if frame[c].dtype.kind in "if"]
    text = [c for c in features if c not in numeric]
    reference = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
         text),
    ])
    expected = reference.fit_transform(frame.astype({c: object for c in text}))
    with pytest.warns(UserWarning):
        x, _, _ = load_csv(frame, target="species", dtype="float64")
    np.testing.assert_allclose(x, expected, rtol=0, atol=1e-12)


def test_missing_values_are_imputed_with_a_counting_warning():
    text = "a,b,c,y\n1,,red,0\n,4,,1\n3,6,red,0\n5,8,blue,1\n"
    with pytest.warns(UserWarning, match=r"imputed 3 missing cells of the training rows "
                                         r"\(a: 1, b: 1, c: 1\)"):
        x, y, encoder = load_csv(_csv(text), target="y", scale=None)
    assert encoder.medians == [3.0, 6.0]
    np.testing.assert_array_equal(x[:, :2], [[1, 6], [3, 4], [3, 6], [5, 8]])
    np.testing.assert_array_equal(x[1, 2:], [0, 1])  # most frequent colour: red


def test_penguins_missing_cells_are_counted():
    with pytest.warns(UserWarning, match=r"imputed 19 missing cells"):
        x, y, encoder = load_penguins()
    assert x.shape == (344, 10) and np.isfinite(x).all()
    assert encoder.classes == ["Adelie", "Chinstrap", "Gentoo"]
    np.testing.assert_array_equal(np.bincount(y), [152, 68, 124])


def test_string_target_becomes_integer_ids_with_names_kept():
    _, y, encoder = load_csv(_csv(MIXED), target="label")
    assert encoder.task == "classification" and encoder.classes == ["cat", "dog"]
    np.testing.assert_array_equal(y, [0, 1, 0, 1, 0])
    assert encoder.inverse_transform_target(y).tolist() == ["cat", "dog", "cat", "dog", "cat"]


def test_numeric_target_for_regression():
    _, y, encoder = load_csv(_csv(MIXED), target="size", task="auto")
    assert encoder.task == "regression" and encoder.classes is None
    np.testing.assert_array_equal(y, [1, 2, 3, 4, 5])
    assert y.dtype == np.float32


def test_scaled_regression_target_round_trips():
    encoder = TabularEncoder("weight", task="regression", scale_target=True)
    _, y = encoder.fit_transform(pd.read_csv(_csv(MIXED)))
    np.testing.assert_allclose(y.mean(), 0.0, atol=1e-6)
    np.testing.assert_allclose(encoder.inverse_transform_target(y), [10, 20, 30, 40, 50],
                               rtol=1e-6)


def test_unseen_category_at_predict_time_is_ignored():
    _, _, encoder = load_csv(_csv(MIXED), target="label")
    new = pd.DataFrame({"size": [1.0], "weight": [10], "colour": ["purple"],
                        "shape": ["round"]})
    with pytest.warns(UserWarning, match=r"1 category of the data not seen in training "
                                         r"\(colour: 'purple'\)"):
        x = encoder.transform(new)
    np.testing.assert_array_equal(x[0, 2:], [0, 0, 0, 1, 0])


def test_small_integer_target_is_classification_and_mode_can_be_forced():
    text = "a,y\n1,1\n2,3\n3,1\n4,3\n"
    _, y, encoder = load_csv(_csv(text), target="y")
    assert encoder.task == "classification" and encoder.classes == [1, 3]
    _, y, encoder = load_csv(_csv(text), target="y", task="regression")
    np.testing.assert_array_equal(y, [1, 3, 1, 3])


def test_rows_with_missing_target_are_dropped_with_a_warning():
    text = "a,y\n1,x\n2,\n3,z\n"
    with pytest.warns(UserWarning, match=r"dropped 1 of 3 rows whose target 'y'"):
        x, y, _ = load_csv(_csv(text), target="y")
    assert len(x) == len(y) == 2


# ---- the encoder's JSON state ---------------------------------------------------------------


def test_encoder_saved_with_a_model_transforms_new_rows_identically(tmp_path):
    frame = pd.read_csv(PENGUINS_CSV)
    with pytest.warns(UserWarning):
        x, y, encoder = load_csv(frame.iloc[:300], target="species")
    model = nnlite.Sequential([Dense(3, activation="softmax")], input_shape=(x.shape[1],))
    model.save(tmp_path / "m.nnlite", metadata={"encoder": encoder.to_dict()})
    loaded = nnlite.load_model(tmp_path / "m.nnlite")
    restored = TabularEncoder.from_dict(loaded.metadata["encoder"])
    new = frame.iloc[300:].drop(columns="species")
    new.loc[new.index[0], "island"] = "Atlantis"  # unseen category
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(restored.transform(new), encoder.transform(new))
    np.testing.assert_array_equal(restored.transform_target(frame.iloc[300:]),
                                  encoder.transform_target(frame.iloc[300:]))


def test_encoder_state_is_plain_json():
    _, _, encoder = load_csv(_csv(MIXED), target="label")
    state = encoder.to_dict()
    assert json.loads(json.dumps(state)) == state


# ---- errors: one test per message -----------------------------------------------------------


def test_unknown_target_lists_the_columns():
    with pytest.raises(ValueError, match=r"target column 'lable' not found\. Columns: size, "
                                         r"weight, colour, shape, label\. Did you mean 'label'"):
        load_csv(_csv(MIXED), target="lable")


def test_unknown_feature_column():
    with pytest.raises(ValueError, match=r"feature column 'height' not found"):
        load_csv(_csv(MIXED), target="label", features=["size", "height"])


def test_target_cannot_be_a_feature():
    with pytest.raises(ValueError, match=r"target 'label' cannot also be a feature"):
        load_csv(_csv(MIXED), target="label", features=["size", "label"])


def test_target_with_one_class():
    with pytest.raises(ValueError, match=r"target 'y' has one class \('a'\); classification "
                                         r"needs at least two"):
        load_csv(_csv("a,y\n1,a\n2,a\n"), target="y")


def test_text_target_for_regression():
    with pytest.raises(ValueError, match=r"regression target must be numeric, but 'label' "
                                         r"holds text \(e\.g\. 'cat'\)"):
        load_csv(_csv(MIXED), target="label", task="regression")


def test_missing_file():
    with pytest.raises(FileNotFoundError, match=r"load_csv: no such file 'nope\.csv'"):
        load_csv("nope.csv", target="y")


def test_empty_file():
    with pytest.raises(ValueError, match=r"load_csv: the input is empty"):
        load_csv(_csv(""), target="y")


def test_bad_task_and_scale():
    with pytest.raises(ValueError, match=r"task must be one of auto, classification, "
                                         r"regression, got 'clustering'"):
        TabularEncoder("y", task="clustering")
    with pytest.raises(ValueError, match=r"scale must be 'standard', 'minmax' or None, got 'z'"):
        TabularEncoder("y", scale="z")


def test_transform_before_fit():
    with pytest.raises(RuntimeError, match=r"TabularEncoder\.transform\(\) needs fit\(\) first"):
        TabularEncoder("y").transform(pd.DataFrame({"a": [1]}))


def test_transform_missing_feature_column():
    _, _, encoder = load_csv(_csv(MIXED), target="label")
    with pytest.raises(ValueError, match=r"lacks feature columns 'shape'"):
        encoder.transform(pd.DataFrame({"size": [1], "weight": [2], "colour": ["red"]}))


def test_unknown_class_at_transform_target():
    _, _, encoder = load_csv(_csv(MIXED), target="label")
    with pytest.raises(ValueError, match=r"classes \['cow'\] not seen in training"):
        encoder.transform_target(pd.Series(["cat", "cow"]))


def test_from_dict_rejects_other_dicts():
    with pytest.raises(ValueError, match=r"expected the dict written by to_dict\(\), got dict"):
        TabularEncoder.from_dict({"format": "other"})


# ---- array helpers --------------------------------------------------------------------------


def test_one_hot_hand_worked():
    np.testing.assert_array_equal(data.one_hot([[2, 0]], num_classes=3),
                                  [[[0, 0, 1], [1, 0, 0]]])
    assert data.one_hot([1, 0]).dtype == np.float32


@pytest.mark.parametrize("labels, message", [
    ([0, 3], r"one_hot: labels must be in \[0, 3\), got 3 at index 1"),
    ([0.5], r"one_hot: labels must be integers, got dtype float64"),
])
def test_one_hot_errors(labels, message):
    with pytest.raises(ValueError, match=message):
        data.one_hot(labels, num_classes=3 if labels == [0, 3] else None)


@settings(max_examples=15, deadline=None)
@given(rows=st.integers(1, 6), cols=st.integers(1, 4), seed=st.integers(0, 100))
def test_normalize_and_standardize_match_scikit_learn(rows, cols, seed):
    x = np.random.default_rng(seed).normal(size=(rows, cols)).astype(np.float32)
    low = data.normalize(x)
    assert low.dtype == np.float32
    np.testing.assert_allclose(low, data.MinMaxScaler().fit_transform(x), atol=1e-6)
    np.testing.assert_allclose(data.standardize(x), data.StandardScaler().fit_transform(x),
                               atol=1e-5)


def test_constant_column_becomes_zero():
    x = np.array([[1, 5], [1, 7]])
    np.testing.assert_array_equal(data.normalize(x), [[0, 0], [0, 1]])
    np.testing.assert_array_equal(data.standardize(x), [[0, -1], [0, 1]])


def test_batches_cover_every_row_once():
    x, y = np.arange(10), np.arange(10) * 2
    chunks = list(data.batches(x, y, batch_size=4, shuffle=True,
                               rng=np.random.default_rng(0)))
    assert [len(c[0]) for c in chunks] == [4, 4, 2]
    seen = np.concatenate([c[0] for c in chunks])
    assert sorted(seen.tolist()) == list(range(10))
    np.testing.assert_array_equal(np.concatenate([c[1] for c in chunks]), seen * 2)
    with pytest.raises(ValueError, match=r"batches: x and y must have the same length"):
        list(data.batches(x, y[:3]))


def test_train_test_split_is_scikit_learns():
    from sklearn.model_selection import train_test_split

    assert data.train_test_split is train_test_split


def test_minmax_scale_and_boolean_target():
    text = "a,b,flag\n1,10,True\n3,30,False\n2,20,True\n"
    x, y, encoder = load_csv(_csv(text), target="flag", scale="minmax")
    np.testing.assert_allclose(x, [[0, 0], [1, 1], [0.5, 0.5]])
    assert encoder.task == "classification" and encoder.classes == ["False", "True"]
    np.testing.assert_array_equal(y, [1, 0, 1])
    restored = TabularEncoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
    np.testing.assert_array_equal(restored.transform(pd.read_csv(_csv(text))), x)


# ---- real-world files: one test per failure of the issue ------------------------------------

DATA = Path(__file__).parent / "data"


def _load(name, **kwargs):
    """load_csv on a file of tests/data, returning the Dataset and the warning messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = load_csv(DATA / name, **kwargs)
    return dataset, [str(w.message) for w in caught]


def _one(messages, pattern):
    found = [m for m in messages if re.search(pattern, m)]
    assert len(found) == 1, messages
    return found[0]


def test_row_index_and_id_columns_are_left_out():
    # Saved by pandas with its index and sorted by class: the index alone would separate
    # the classes.
    (x, _, encoder), messages = _load("sorted_with_index.csv", target="label")
    assert encoder.identifiers == ["Unnamed: 0", "PassengerId"]
    assert not any(n.startswith(("Unnamed", "PassengerId")) for n in encoder.feature_names)
    line = _one(messages, "identifier")
    assert "'Unnamed: 0', 'PassengerId'" in line and "features=[...]" in line


def test_a_running_number_is_an_identifier_but_listed_features_are_kept():
    text = "n,v,y\n" + "".join(f"{i},{i % 3},{'ab'[i % 2]}\n" for i in range(1, 13))
    with pytest.warns(UserWarning, match=r"left out identifier column 'n' \(a different"):
        _, _, encoder = load_csv(_csv(text), target="y")
    assert encoder.identifiers == ["n"] and encoder.numeric == ["v"]
    _, _, encoder = load_csv(_csv(text), target="y", features=["n", "v"])
    assert encoder.identifiers == [] and encoder.numeric == ["n", "v"]


def test_free_text_is_never_one_hot_encoded():
    (x, _, encoder), messages = _load("sorted_with_index.csv", target="label")
    assert "name" not in encoder.categorical and encoder.text == ["name"]
    names = pd.read_csv(DATA / "sorted_with_index.csv")["name"]
    assert not any(f"name_{value}" in encoder.feature_names for value in names)
    assert "name_mr" in encoder.feature_names and "name_reed" in encoder.feature_names
    line = _one(messages, "free text")
    assert "'name' (40 distinct values, " in line and "not one input per value" in line


def test_a_unique_text_column_does_not_blow_up_the_inputs():
    rng = np.random.default_rng(0)
    words = np.array([f"w{i}" for i in range(1000)])
    notes = [" ".join(rng.choice(words, 5)) + f" n{i}" for i in range(3000)]
    frame = pd.DataFrame({"note": notes, "v": rng.normal(size=3000), "y": rng.integers(0, 2, 3000)})
    with pytest.warns(UserWarning, match=r"'note' \(3000 distinct values, 199 words\) as free "
                                         r"text: tf-idf of the most frequent words \(at most "
                                         r"199\)"):
        x, _, _ = load_csv(frame, target="y")
    assert x.shape == (3000, 1 + 200)   # v, then the unknown-word column and 199 words


def test_dates_become_numbers_and_an_unseen_date_is_not_zeros():
    (x, _, encoder), messages = _load("dates.csv", target="sales", scale=None)
    assert encoder.dates == {"day": ["year", "month", "day", "dayofweek"]}
    assert encoder.feature_names == ["temp", "day_year", "day_month", "day_day",
                                     "day_dayofweek"]
    assert "'day' as date" in _one(messages, "date")
    np.testing.assert_array_equal(x[0, 1:], [2021, 1, 1, 4])   # 1 January 2021 was a Friday
    new = pd.DataFrame({"day": ["2030-07-14"], "temp": [20.0]})
    np.testing.assert_array_equal(encoder.transform(new)[0], [20, 2030, 7, 14, 6])


def test_question_marks_in_a_numeric_column_are_missing_not_categories():
    (x, _, encoder), messages = _load("markers.csv", target="mpg")
    assert encoder.numeric == ["horsepower", "weight"] and encoder.categorical == ["origin"]
    line = _one(messages, "markers")
    assert "'horsepower': '?' x2, '-' x1, 'n/a' x1" in line
    assert "imputed 4 missing cells of the training rows (horsepower: 4)" in _one(
        messages, "imputed")
    assert x.shape == (12, 5)


def test_na_and_none_are_categories_unless_na_values_says_otherwise():
    (x, _, encoder), messages = _load("regions.csv", target="churn")
    assert encoder.categories[0] == ["APAC", "EU", "NA"]
    assert encoder.categories[1] == ["None", "gold", "silver"]
    assert "'NA' in 'region'" in _one(messages, "kept .* as a category")
    assert "(region: 1)" in _one(messages, "imputed")   # only the empty cell
    (_, _, encoder), messages = _load("regions.csv", target="churn", na_values=["NA"])
    assert encoder.categories[0] == ["APAC", "EU"]
    assert "(region: 4)" in _one(messages, "imputed")


def test_a_two_valued_float_target_is_classification():
    (_, y, encoder), messages = _load("binary_float.csv", target="label")
    assert encoder.task == "classification" and encoder.classes == [0, 1]
    assert y.tolist() == [0, 0, 1, 1, 0, 1, 0, 1, 1]
    _one(messages, r"dropped 1 of 10 rows whose target 'label' is missing")


def test_semicolons_are_detected_and_sep_can_be_given():
    (x, _, encoder), messages = _load("semicolon.csv", target="kind", scale=None)
    np.testing.assert_allclose(x[:, 0], [1.5, 2.5, 1.7, 3.1])
    assert "';' (semicolon) as its separator" in _one(messages, "separator")
    (x2, _, _), messages = _load("semicolon.csv", target="kind", scale=None, sep=";")
    np.testing.assert_array_equal(x, x2)
    assert not messages
    with pytest.raises(ValueError, match=r"target column 'kind' not found"):
        load_csv(DATA / "semicolon.csv", target="kind", sep=",")


def test_decimal_commas_are_read_as_numbers():
    (x, _, encoder), messages = _load("semicolon_decimal.csv", target="kind", scale=None)
    np.testing.assert_allclose(x, [[1.5, 2.0], [2.5, 3.1], [1.7, 2.2], [3.1, 4.0]])
    assert "'height', 'width'" in _one(messages, "decimal comma")


def test_latin1_is_detected_and_encoding_can_be_given():
    (_, _, encoder), messages = _load("latin1.csv", target="label", features=["city", "temp"])
    assert "Zürich" in encoder.categories[0] and "São Paulo" in encoder.categories[0]
    assert "not UTF-8; read it as cp1252" in _one(messages, "UTF-8")
    (_, _, encoder), messages = _load("latin1.csv", target="label", features=["city", "temp"],
                                      encoding="latin-1")
    assert "Köln" in encoder.categories[0] and not messages
    with pytest.raises(ValueError, match=r"is not valid utf-8 text .* pass another encoding"):
        load_csv(DATA / "latin1.csv", target="label", encoding="utf-8")


@pytest.mark.parametrize("name, line, fields", [("ragged.csv", 4, 4), ("short_row.csv", 4, 2)])
def test_ragged_rows_are_an_error_naming_the_line(name, line, fields):
    with pytest.raises(ValueError, match=rf"line {line} of .*{name}' has {fields} fields, but "
                                         r"the header has 3; check the separator"):
        load_csv(DATA / name, target="label")


def test_exclude_drops_columns_by_name():
    _, _, encoder = load_csv(_csv(MIXED), target="label", exclude=["weight", "shape"])
    assert encoder.feature_names == ["size", "colour_blue", "colour_green", "colour_red"]
    with pytest.raises(ValueError, match=r"excluded column 'wieght' not found.*'weight'"):
        load_csv(_csv(MIXED), target="label", exclude=["wieght"])


@pytest.mark.parametrize("cell", ["inf", "-inf", "Infinity"])
def test_an_infinite_value_is_an_error_naming_the_column(cell):
    text = f"a,b,y\n1,2,0\n2,{cell},1\n3,4,0\n"
    with pytest.raises(ValueError, match=r"column 'b' holds -?inf \(row 1\); infinite"):
        load_csv(_csv(text), target="y")


def test_values_that_overflow_float32_once_scaled_are_an_error_naming_the_column():
    with pytest.raises(ValueError, match=r"column 'b' holds values too large to scale "
                                         r"\(up to 1e\+308\)"):
        load_csv(_csv("a,b,y\n1,1e308,0\n2,1e308,1\n3,4,0\n"), target="y")
    with pytest.raises(ValueError, match=r"column 'b' holds 1e\+39 \(row 0\), which overflows "
                                         r"float32 once scaled"):
        load_csv(_csv("a,b,y\n1,1e39,0\n2,3,1\n3,4,0\n"), target="y", scale=None)
    _, _, encoder = load_csv(_csv("a,b,y\n1,1,0\n2,3,1\n3,4,0\n"), target="y")
    with pytest.raises(ValueError, match=r"column 'b' holds 1e\+308 .* overflows float32"):
        encoder.transform(pd.DataFrame({"a": [1.0], "b": [1e308]}))


@pytest.mark.parametrize("text, message", [
    ("", r"is empty; expected a CSV table with a header line"),
    ("\n\n  \n", r"is empty; expected a CSV table with a header line"),
    ("a,b,y\n", r"has a header but no rows"),
])
def test_empty_tables_are_errors(text, message):
    with pytest.raises(ValueError, match=message):
        load_csv(_csv(text), target="y")


def test_categories_are_capped_as_scikit_learns_one_hot_encoder_does():
    rng = np.random.default_rng(0)
    values = rng.choice([f"v{i:02d}" for i in range(30)], p=np.arange(30, 0, -1) / 465,
                        size=600)
    frame = pd.DataFrame({"c": values, "y": rng.integers(0, 2, 600)})
    with pytest.warns(UserWarning, match=r"kept only the most frequent values of 'c' \(9 of "
                                         r"30\) .* 'infrequent' input \(max_categories=10\)"):
        x, _, encoder = load_csv(frame, target="y", max_categories=10)
    assert x.shape == (600, 10) and encoder.feature_names[-1] == "c_infrequent"
    reference = OneHotEncoder(max_categories=10, handle_unknown="infrequent_if_exist",
                              sparse_output=False).fit(values[:, None])
    new = pd.DataFrame({"c": ["v00", "v29", "v05", "never seen"]})
    with pytest.warns(UserWarning, match=r"1 category of the data not seen in training "
                                         r"\(c: 'never seen'\) encoded as the column's "
                                         r"'infrequent' input"):
        np.testing.assert_array_equal(encoder.transform(new),
                                      reference.transform(new.to_numpy()))


def test_unseen_values_are_counted_in_one_warning():
    _, _, encoder = load_csv(_csv(MIXED), target="label")
    new = pd.DataFrame({"size": [1.0, 2.0, 3.0], "weight": [1, 2, 3],
                        "colour": ["purple", "pink", "red"], "shape": ["oval", "round", "round"]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        encoder.transform(new, name="the new rows")
    (message,) = [str(w.message) for w in caught]
    assert message.startswith("TabularEncoder: 3 categories of the new rows not seen in "
                              "training (colour: 'pink', 'purple'; shape: 'oval')")


def test_numeric_cells_without_a_number_at_prediction_are_missing_with_a_warning():
    _, _, encoder = load_csv(_csv(MIXED), target="label")
    new = pd.DataFrame({"size": ["2.0", "lots"], "weight": [10, 20], "colour": ["red"] * 2,
                        "shape": ["round"] * 2})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x = encoder.transform(new, name="the new rows")
    messages = [str(w.message) for w in caught]
    assert "(size: 'lots' x1)" in _one(messages, "hold no number")
    assert "imputed 1 missing cell of the new rows (size: 1)" in _one(messages, "imputed")
    assert np.isfinite(x).all()


def test_load_csv_scales_a_regression_target_on_request():
    x, y, encoder = load_csv(_csv(MIXED), target="weight", task="regression",
                             scale_target=True)
    np.testing.assert_allclose([y.mean(), y.std()], [0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(encoder.inverse_transform_target(y), [10, 20, 30, 40, 50],
                               rtol=1e-6)


def test_every_kind_of_column_survives_the_json_state():
    frame = pd.read_csv(DATA / "sorted_with_index.csv")
    frame["when"] = pd.date_range("2020-01-01", periods=len(frame), freq="h").astype(str)
    frame["score"] = ["?" if i % 7 == 0 else str(i) for i in range(len(frame))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, _, encoder = load_csv(frame, target="label", max_categories=2, na_values=["-"])
        restored = TabularEncoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
        np.testing.assert_array_equal(restored.transform(frame), x)
    assert restored.dates == {"when": ["year", "month", "day", "dayofweek", "hour", "minute"]}
    assert restored.markers == {"score": ["?"]} and len(restored.infrequent[0]) == 2
    assert restored.na_values == ["-"] and restored.text == ["name"]


def test_a_version_1_state_still_loads():
    _, _, encoder = load_csv(_csv(MIXED), target="label")
    old = {k: v for k, v in encoder.to_dict().items() if k in (
        "format", "target", "features", "task", "scale", "scale_target", "dtype", "numeric",
        "categorical", "medians", "offsets", "scales", "most_frequent", "categories",
        "feature_names", "classes", "target_offset", "target_scale")}
    restored = TabularEncoder.from_dict({**old, "version": 1})
    frame = pd.read_csv(_csv(MIXED))
    np.testing.assert_array_equal(restored.transform(frame), encoder.transform(frame))


def test_free_text_becomes_bag_of_words_saved_in_the_json_state():
    (x, _, encoder), messages = _load("reviews.csv", target="label", features=["review"])
    assert encoder.text == ["review"] and encoder.categorical == []
    assert "'review' (80 distinct values, 27 words) as free text" in _one(messages, "free text")
    names = encoder.feature_names
    assert names[0] == "review_[UNK]" and "review_wonderful" in names and len(names) < 40
    restored = TabularEncoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
    frame = pd.read_csv(DATA / "reviews.csv")
    np.testing.assert_array_equal(restored.transform(frame), x)
    # The words of a review, weighted by tf-idf, are what the inputs hold.
    new = restored.transform(pd.DataFrame({"review": ["wonderful WONDERFUL zebra"]}))[0]
    assert new[names.index("review_wonderful")] > 0 and new[0] > 0   # zebra: unknown
    assert np.count_nonzero(new) == 2


def test_an_empty_column_is_left_out_with_a_warning():
    text = "a,blank,y\n1,,0\n2,,1\n3,,0\n"
    with pytest.warns(UserWarning, match=r"left out 'blank': no values"):
        x, _, encoder = load_csv(_csv(text), target="y")
    assert encoder.feature_names == ["a"] and x.shape == (3, 1)


def test_markers_in_a_numeric_target_drop_those_rows():
    text = "a,price\n1,10.5\n2,?\n3,12.0\n4,n/a\n5,14.5\n"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, y, encoder = load_csv(_csv(text), target="price", scale=None)
    messages = [str(w.message) for w in caught]
    assert "the target column as missing ('price': '?' x1, 'n/a' x1)" in _one(messages,
                                                                               "markers")
    assert encoder.task == "regression"
    _one(messages, r"dropped 2 of 5 rows whose target 'price' is missing")
    np.testing.assert_allclose(y, [10.5, 12.0, 14.5])


def test_empty_text_cells_are_counted_as_imputed_text():
    frame = pd.read_csv(DATA / "reviews.csv")
    frame.loc[[3, 5], "review"] = np.nan
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x, _, _ = load_csv(frame, target="label", features=["review"])
    line = _one([str(w.message) for w in caught], "imputed")
    assert "imputed 2 missing cells of the training rows (review: 2)" in line
    assert line.endswith("or empty text (free text).")
    assert not x[[3, 5]].any()   # no words at all
