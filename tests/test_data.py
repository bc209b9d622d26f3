import io
import json
import warnings

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
