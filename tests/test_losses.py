import numpy as np
import pytest
from scipy import special
from sklearn.metrics import log_loss, mean_squared_error

from nnlite import losses


def numeric_gradient(loss, y_true, y_pred, weight=None, eps=1e-6):
    grad = np.zeros_like(y_pred)
    flat, out = y_pred.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + eps
        plus = loss(y_true, y_pred, weight)
        flat[i] = keep - eps
        minus = loss(y_true, y_pred, weight)
        flat[i] = keep
        out[i] = (plus - minus) / (2 * eps)
    return grad


def cases(rng, n):
    logits3 = rng.standard_normal((n, 3))
    logits1 = rng.standard_normal((n, 1))
    labels = rng.integers(0, 3, size=n)
    onehot = np.eye(3)[labels]
    binary = rng.integers(0, 2, size=(n, 1)).astype(float)
    return [
        (losses.MeanSquaredError(), rng.standard_normal((n, 2)), rng.standard_normal((n, 2))),
        (losses.BinaryCrossentropy(), binary, special.expit(logits1)),
        (losses.BinaryCrossentropy(from_logits=True), binary, logits1),
        (losses.CategoricalCrossentropy(), onehot, special.softmax(logits3, axis=1)),
        (losses.CategoricalCrossentropy(from_logits=True), onehot, logits3),
        (losses.SparseCategoricalCrossentropy(), labels, special.softmax(logits3, axis=1)),
        (losses.SparseCategoricalCrossentropy(from_logits=True), labels, logits3),
    ]


@pytest.mark.parametrize("n", [1, 5])
@pytest.mark.parametrize("case", range(7))
def test_gradient_is_the_derivative_of_the_value(n, case, rng):
    loss, y_true, y_pred = cases(rng, n)[case]
    np.testing.assert_allclose(loss.gradient(y_true, y_pred),
                               numeric_gradient(loss, y_true, y_pred), rtol=1e-6, atol=1e-9)
    weight = rng.uniform(0.5, 2.0, size=n)
    np.testing.assert_allclose(loss.gradient(y_true, y_pred, weight),
                               numeric_gradient(loss, y_true, y_pred, weight),
                               rtol=1e-6, atol=1e-9)


def test_values_match_scikit_learn(rng):
    y = rng.standard_normal((6, 2))
    p = rng.standard_normal((6, 2))
    assert losses.get("mse")(y, p) == pytest.approx(mean_squared_error(y, p), rel=1e-12)
    labels = np.array([0, 1, 2, 2, 1, 0])
    probs = special.softmax(rng.standard_normal((6, 3)), axis=1)
    expected = log_loss(labels, probs, labels=[0, 1, 2])
    assert losses.get("sparse_categorical_crossentropy")(labels, probs) == pytest.approx(
        expected, rel=1e-12)
    assert losses.get("categorical_crossentropy")(np.eye(3)[labels], probs) == pytest.approx(
        expected, rel=1e-12)
    binary = np.array([0, 1, 1, 0, 1, 0])
    p1 = special.expit(rng.standard_normal(6))
    assert losses.get("binary_crossentropy")(binary, p1[:, None]) == pytest.approx(
        log_loss(binary, p1), rel=1e-12)


def test_from_logits_equals_probabilities_version(rng):
    z = rng.standard_normal((4, 3))
    labels = np.array([2, 0, 1, 1])
    a = losses.SparseCategoricalCrossentropy(from_logits=True)(labels, z)
    b = losses.SparseCategoricalCrossentropy()(labels, special.softmax(z, axis=1))
    assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_stay_finite(dtype):
    z = np.array([[-1e4], [1e4], [0.0]], dtype=dtype)
    y = np.array([[1.0], [0.0], [1.0]], dtype=dtype)
    loss = losses.BinaryCrossentropy(from_logits=True)
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        assert np.isfinite(loss(y, z))
        grad = loss.gradient(y, z)
    assert grad.dtype == dtype and np.all(np.isfinite(grad))


def test_probabilities_are_clipped_not_renormalised():
    p = np.array([[0.0, 0.5, 0.25]], dtype=np.float32)  # sums to 0.75 on purpose
    value = losses.CategoricalCrossentropy()(np.array([[1.0, 0.0, 0.0]]), p)
    assert value == pytest.approx(-np.log(np.finfo(np.float32).eps), rel=1e-6)
    value = losses.CategoricalCrossentropy()(np.array([[0.0, 1.0, 0.0]]), p)
    assert value == pytest.approx(-np.log(0.5), rel=1e-6)


def test_weight_two_is_the_same_as_a_repeated_row(rng):
    y = rng.standard_normal((3, 2))
    p = rng.standard_normal((3, 2))
    loss = losses.MeanSquaredError()
    weighted = loss(y, p, np.array([2.0, 1.0, 1.0]))
    repeated = loss(np.vstack([y, y[:1]]), np.vstack([p, p[:1]]))
    assert weighted == pytest.approx(repeated, rel=1e-12)


def test_float32_in_float32_out(rng):
    p = special.softmax(rng.standard_normal((4, 3)), axis=1).astype(np.float32)
    grad = losses.SparseCategoricalCrossentropy().gradient(np.array([0, 1, 2, 0]), p)
    assert grad.dtype == np.float32
    assert isinstance(losses.get("mse")(p, p), float)


def test_sparse_labels_out_of_range():
    p = np.full((20, 3), 1 / 3)
    labels = np.zeros(20, dtype=int)
    labels[17] = 3
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\), got 3 at index 17"):
        losses.SparseCategoricalCrossentropy()(labels, p)


def test_one_hot_targets_of_the_wrong_width():
    with pytest.raises(ValueError, match=r"one-hot targets must have shape \(2, 3\).*got \(2, 4\)"):
        losses.CategoricalCrossentropy()(np.eye(4)[:2], np.full((2, 3), 1 / 3))


def test_unknown_loss_name():
    with pytest.raises(ValueError, match=r"Unknown loss 'mse2'.*Known: binary_crossentropy, "
                       r"categorical_crossentropy, mse, sparse_categorical_crossentropy"):
        losses.get("mse2")


def test_names_resolve_to_classes():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("mean_squared_error"), losses.MeanSquaredError)
    assert isinstance(losses.get("binary_crossentropy"), losses.BinaryCrossentropy)
    loss = losses.get({"name": "categorical_crossentropy", "config": {"from_logits": True}})
    assert loss.from_logits


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3, 3)])
def test_sparse_equals_categorical_with_one_hot_targets(from_logits, shape, rng):
    logits = rng.standard_normal(shape)
    pred = logits if from_logits else special.softmax(logits, axis=-1)
    labels = rng.integers(0, shape[-1], shape[:-1])
    weight = rng.uniform(0.5, 2.0, shape[0])
    sparse = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    dense = losses.CategoricalCrossentropy(from_logits=from_logits)
    one_hot = np.eye(shape[-1])[labels]
    for w in (None, weight):
        assert sparse(labels, pred, w) == pytest.approx(dense(one_hot, pred, w), rel=1e-12)
        np.testing.assert_allclose(sparse.gradient(labels, pred, w),
                                   dense.gradient(one_hot, pred, w), rtol=1e-12)
    np.testing.assert_array_equal(sparse.one_hot_targets(labels.astype(float), pred), one_hot)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize(("bad", "shown"), [(5.0, "5.0"), (-1.0, "-1.0"), (np.nan, "nan")])
def test_binary_crossentropy_refuses_targets_outside_0_1(from_logits, bad, shown):
    loss = losses.BinaryCrossentropy(from_logits=from_logits)
    y_true = np.array([0.0, 1.0, 0.5, bad])
    y_pred = np.full((4, 1), 0.3)
    with pytest.raises(ValueError, match=rf"binary_crossentropy: targets must be in \[0, 1\], "
                       rf"got {shown} at index 3\."):
        loss(y_true, y_pred)
    with pytest.raises(ValueError, match="at index 3"):
        loss.gradient(y_true, y_pred)


def test_binary_crossentropy_names_the_position_in_2d_targets():
    y_true = np.array([[0, 1], [2, 0]])
    with pytest.raises(ValueError, match=r"got 2 at index \(1, 0\)"):
        losses.BinaryCrossentropy()(y_true, np.full((2, 2), 0.5))


@pytest.mark.parametrize(("bad", "shown"), [(-0.5, "-0.5"), (np.inf, "inf")])
def test_categorical_crossentropy_refuses_negative_or_infinite_targets(bad, shown):
    y_true = np.eye(3)[[0, 1, 2]]
    y_true[2, 1] = bad
    with pytest.raises(ValueError, match=rf"categorical_crossentropy: targets must be finite "
                       rf"and non-negative, got {shown} at index \(2, 1\)\."):
        losses.CategoricalCrossentropy()(y_true, np.full((3, 3), 1 / 3))


def test_valid_targets_of_every_numeric_kind_are_accepted():
    p = np.full((2, 1), 0.25)
    for y_true in (np.array([0, 1]), np.array([False, True]), np.array([0.0, 1.0], np.float32),
                   np.array([0, 1], np.uint8)):
        assert losses.BinaryCrossentropy()(y_true, p) == pytest.approx(
            -(np.log(0.75) + np.log(0.25)) / 2)
    soft = np.array([[0.2, 0.8], [1.0, 0.0]])
    assert losses.CategoricalCrossentropy()(soft, np.full((2, 2), 0.5)) == pytest.approx(
        np.log(2.0))


def test_from_logits_takes_python_and_numpy_bools_only():
    assert losses.BinaryCrossentropy(from_logits=np.True_).from_logits is True
    with pytest.raises(TypeError, match=r"binary_crossentropy: from_logits must be True or "
                       r"False, got 'False'"):
        losses.BinaryCrossentropy(from_logits="False")


def test_a_model_refuses_bce_targets_outside_0_1_before_training(rng):
    import nnlite
    from nnlite.layers import Dense

    model = nnlite.Sequential([Dense(1, activation="sigmoid")], input_shape=(2,))
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"targets must be in \[0, 1\], got 5 at index 2"):
        model.fit(rng.standard_normal((4, 2)), np.array([0, 1, 5, 1]), verbose=0)
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
