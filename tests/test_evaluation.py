import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.image import imread
from sklearn import metrics as skm

import nnlite
from nnlite import evaluation, plots
from nnlite.layers import Dense

Y_TRUE = np.array([0, 0, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 2, 0, 2])


# ---- metrics --------------------------------------------------------------------------------


def test_classification_metrics_hand_worked():
    scores = evaluation.classification_metrics(Y_TRUE, Y_PRED)
    # 5 of 7 right. Class 0: precision 1/2, recall 1/2; class 1: 2/3, 1; class 2: 1, 2/3.
    assert scores["accuracy"] == pytest.approx(5 / 7)
    assert scores["precision_macro"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert scores["recall_macro"] == pytest.approx((1 / 2 + 1 + 2 / 3) / 3)
    f1 = [0.5, 0.8, 0.8]
    assert scores["f1_macro"] == pytest.approx(np.mean(f1))
    assert scores["f1_weighted"] == pytest.approx(np.average(f1, weights=[2, 2, 3]))


def test_scores_and_one_hot_targets_become_labels():
    scores = np.eye(3)[Y_PRED] * 0.8 + 0.05
    assert evaluation.classification_metrics(np.eye(3)[Y_TRUE], scores) == \
        evaluation.classification_metrics(Y_TRUE, Y_PRED)
    np.testing.assert_array_equal(evaluation.predicted_labels([[0.2], [0.7]]), [0, 1])


def test_regression_metrics_match_scikit_learn():
    y_true, y_pred = np.array([1.0, 2.0, 4.0]), np.array([[1.5], [2.0], [3.0]])
    scores = evaluation.regression_metrics(y_true, y_pred)
    assert scores["mse"] == pytest.approx((0.25 + 0 + 1) / 3)
    assert scores["rmse"] == pytest.approx(np.sqrt((0.25 + 0 + 1) / 3))
    assert scores["mae"] == pytest.approx(0.5)
    assert scores["r2"] == pytest.approx(skm.r2_score(y_true, y_pred.ravel()))


def test_confusion_matrix_and_report():
    np.testing.assert_array_equal(evaluation.confusion_matrix(Y_TRUE, Y_PRED),
                                  [[1, 1, 0], [0, 2, 0], [1, 0, 2]])
    assert evaluation.confusion_matrix([0], [0], num_classes=2).shape == (2, 2)
    report = evaluation.classification_report(Y_TRUE, Y_PRED, ["cat", "dog", "emu"])
    assert "emu" in report and "macro avg" in report and "0.7143" in report


# ---- baselines ------------------------------------------------------------------------------


def _blobs(rng, n=90):
    centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    y = np.arange(n) % 3
    return (centres[y] + rng.normal(size=(n, 2))).astype(np.float32), y


def test_compare_with_baselines_classification(rng):
    x, y = _blobs(rng)

    def build():
        model = nnlite.Sequential([Dense(16, activation="tanh"),
                                   Dense(3, activation="softmax")])
        model.compile(optimizer=nnlite.optimizers.Adam(learning_rate=0.05),
                      loss="sparse_categorical_crossentropy")
        return model

    table = evaluation.compare_with_baselines(build, x[:60], y[:60], x[60:], y[60:],
                                              fit_kwargs={"epochs": 20})
    assert list(table.columns) == ["model", "accuracy", "f1_macro", "fit_time_s"]
    assert table["model"].tolist() == ["nnlite Sequential (16,)", "Dummy (most frequent)",
                                       "LogisticRegression", "MLPClassifier (16,)",
                                       "RandomForest"]
    assert table.loc[1, "accuracy"] == pytest.approx(1 / 3)
    assert (table.loc[[0, 2, 4], "accuracy"] > 0.85).all()
    assert (table["fit_time_s"] > 0).all()


def test_compare_with_baselines_regression_in_original_units(rng):
    x = rng.normal(size=(80, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5])).astype(np.float32)
    model = nnlite.Sequential([Dense(1)], input_shape=(3,))
    model.compile(optimizer="adam", loss="mse")
    before = model.get_weights()
    table = evaluation.compare_with_baselines(model, x[:60], y[:60], x[60:], y[60:],
                                              fit_kwargs={"epochs": 5},
                                              inverse_target=lambda v: 10 * v)
    assert list(table.columns) == ["model", "rmse", "r2", "fit_time_s"]
    assert table.loc[2, "model"] == "Ridge" and table.loc[2, "r2"] > 0.99
    trained = table.attrs["model"]
    nnlite_rmse = np.sqrt(skm.mean_squared_error(10 * y[60:], 10 * trained.predict(x[60:])))
    assert table.loc[0, "rmse"] == pytest.approx(nnlite_rmse, rel=1e-5)
    # The model passed in is copied, never trained in place.
    assert trained is not model
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_compare_with_baselines_bad_task(rng):
    x, y = _blobs(rng, n=9)
    model = nnlite.Sequential([Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"task must be 'auto', 'classification' or "
                                         r"'regression', got 'ranking'"):
        evaluation.compare_with_baselines(model, x, y, x, y, task="ranking")


# ---- plots ----------------------------------------------------------------------------------


def _check_png(path, fig):
    assert path.stat().st_size > 1000
    image = imread(path)
    width, height = fig.get_size_inches() * fig.dpi
    assert image.shape[:2] == (round(height), round(width))
    assert image[..., :3].std() > 0.05  # something was drawn


def test_plot_learning_curves_png(tmp_path):
    history = {"loss": [1.0, 0.5, 0.3], "accuracy": [0.5, 0.7, 0.9],
               "val_loss": [1.1, 0.6, 0.5], "val_accuracy": [0.4, 0.6, 0.8],
               "learning_rate": [0.1, 0.1, 0.1]}
    fig = plots.plot_learning_curves(history, path=tmp_path / "curves.png")
    _check_png(tmp_path / "curves.png", fig)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["training", "validation"]


def test_plot_learning_curves_from_a_fit(rng):
    x, y = _blobs(rng, n=12)
    model = nnlite.Sequential([Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, verbose=0)
    fig = plots.plot_learning_curves(history)
    np.testing.assert_array_equal(fig.axes[0].get_lines()[0].get_ydata(),
                                  history.history["loss"])


def test_plot_learning_curves_errors():
    with pytest.raises(ValueError, match=r"history is empty"):
        plots.plot_learning_curves({})
    with pytest.raises(ValueError, match=r"no 'mae' in the history; it has loss"):
        plots.plot_learning_curves({"loss": [1.0]}, metrics=["mae"])


def test_plot_confusion_matrix_png(tmp_path):
    fig = plots.plot_confusion_matrix(Y_TRUE, Y_PRED, ["cat", "dog", "emu"],
                                           path=tmp_path / "cm.png")
    _check_png(tmp_path / "cm.png", fig)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "emu"]
    assert sorted(t.get_text() for t in ax.texts) == sorted(["1", "1", "0", "0", "2", "0",
                                                             "1", "0", "2"])


def test_plot_activations_png(tmp_path):
    fig = plots.plot_activations(["relu", "tanh", "gelu"], path=tmp_path / "act.png")
    _check_png(tmp_path / "act.png", fig)
    relu = fig.axes[0]
    x, derivative = relu.get_lines()[-1].get_data()
    np.testing.assert_array_equal(derivative, (x > 0).astype(float))


def test_plot_activations_errors():
    with pytest.raises(ValueError, match=r"'softmax' normalises across the last axis"):
        plots.plot_activations(["relu", "softmax"])
    with pytest.raises(ValueError, match=r"Unknown activation 'relux'"):
        plots.plot_activations("relux")


class _StandIn:
    """What the gallery needs of a Conv2D layer: params["kernel"] (kh, kw, in_ch, filters)."""

    def __init__(self, kernel):
        self.params = {"kernel": kernel}


@pytest.mark.parametrize("in_ch", [1, 3])
def test_plot_kernels_png(tmp_path, rng, in_ch):
    layer = _StandIn(rng.normal(size=(3, 5, in_ch, 10)))
    fig = plots.plot_kernels(layer, path=tmp_path / "kernels.png")
    _check_png(tmp_path / "kernels.png", fig)
    shown = [ax for ax in fig.axes if ax.get_visible() and ax.images]
    assert len(shown) == 10
    assert shown[0].images[0].get_array().shape[:2] == (3, 5)


def test_plot_kernels_errors():
    with pytest.raises(ValueError, match=r"expected a Conv2D kernel of shape \(kh, kw, in_ch, "
                                         r"filters\), got shape \(3, 3\)"):
        plots.plot_kernels(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"channel must be in \[0, 2\), got 2"):
        plots.plot_kernels(np.zeros((3, 3, 2, 4)), channel=2)


def test_figures_show_as_png_in_a_notebook():
    fig = plots.plot_activations("relu")
    assert fig._repr_png_().startswith(b"\x89PNG")


def test_compare_with_baselines_needs_a_model(rng):
    x, y = _blobs(rng, n=9)
    with pytest.raises(TypeError, match=r"expected a compiled Sequential or a function "
                                        r"returning one, got str"):
        evaluation.compare_with_baselines(lambda: "model", x, y, x, y)


def test_plot_confusion_matrix_normalized_and_bad_normalize():
    fig = plots.plot_confusion_matrix(Y_TRUE, Y_PRED, normalize="true")
    assert fig.axes[0].get_title() == "Confusion matrix (rows sum to 1)"
    assert "0.67" in [t.get_text() for t in fig.axes[0].texts]  # class 2: 2 of 3 right
    with pytest.raises(ValueError, match=r"normalize must be None, 'true', 'pred' or 'all', "
                                         r"got 'rows'"):
        plots.plot_confusion_matrix(Y_TRUE, Y_PRED, normalize="rows")


def test_compare_with_baselines_scores_a_trained_model_as_it_is(rng):
    x, y = _blobs(rng)
    model = nnlite.Sequential([Dense(3, activation="softmax")], input_shape=(2,))
    model.compile(optimizer=nnlite.optimizers.Adam(learning_rate=0.05),
                  loss="sparse_categorical_crossentropy")
    model.fit(x[:60], y[:60], epochs=20, verbose=0)
    before = model.get_weights()
    table = evaluation.compare_with_baselines(model, x[:60], y[:60], x[60:], y[60:],
                                              trained=True)
    assert table.attrs["model"] is model and np.isnan(table.loc[0, "fit_time_s"])
    assert table.loc[0, "accuracy"] == pytest.approx(
        (model.predict(x[60:]).argmax(axis=1) == y[60:]).mean())
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    with pytest.raises(TypeError, match=r"trained=True needs the trained Sequential itself"):
        evaluation.compare_with_baselines(lambda: model, x, y, x, y, trained=True)
