"""NNClassifier and NNRegressor: scikit-learn's checks, model selection, saving, scaling out."""

import copy
import pickle
import threading

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import (
    load_diabetes,
    load_digits,
    load_iris,
    make_classification,
    make_regression,
)
from sklearn.exceptions import NotFittedError
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import nnlite
from nnlite.layers import Dense, Dropout, Flatten
from nnlite.optimizers import SGD
from nnlite.sklearn import NNClassifier, NNRegressor, _L2Step


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture
def blobs():
    X, y = make_classification(n_samples=120, n_features=5, n_informative=3, n_classes=3,
                               random_state=0)
    return StandardScaler().fit_transform(X), y


# ---- scikit-learn's own estimator checks -------------------------------------------------


# check_array_api_input skips itself unless SCIPY_ARRAY_API is set: nnlite is NumPy only.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@pytest.mark.parametrize("estimator", [NNClassifier(), NNRegressor()],
                         ids=["NNClassifier", "NNRegressor"])
def test_check_estimator_passes_every_check(estimator):
    results = check_estimator(estimator, on_fail=None)
    failed = [f"{r['check_name']}: {r['exception']!r}" for r in results
              if r["status"] == "failed"]
    assert results and not failed, "\n".join(failed)


# ---- model selection ---------------------------------------------------------------------


def test_grid_search_in_pipeline_on_iris(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), NNClassifier(epochs=50, random_state=0))
    grid = {"nnclassifier__hidden_layer_sizes": [(8,), (16, 8)],
            "nnclassifier__learning_rate": [0.001, 0.01]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    assert search.best_score_ >= 0.9
    assert len(search.cv_results_["params"]) == 4


def test_cross_val_score_of_regressor_on_diabetes():
    X, y = load_diabetes(return_X_y=True)
    scores = cross_val_score(make_pipeline(StandardScaler(), NNRegressor(random_state=0)),
                             X, y, cv=3, scoring="r2")
    assert scores.mean() >= 0.35


def test_grid_search_with_two_process_workers_matches_one(iris):
    X, y = iris
    est = NNClassifier(hidden_layer_sizes=(8,), epochs=10, random_state=0)
    grid = {"learning_rate": [0.01, 0.03]}
    serial = GridSearchCV(est, grid, cv=2, n_jobs=1).fit(X, y)
    parallel = GridSearchCV(est, grid, cv=2, n_jobs=2).fit(X, y)  # loky worker processes
    np.testing.assert_array_equal(serial.cv_results_["mean_test_score"],
                                  parallel.cv_results_["mean_test_score"])


def test_grid_search_on_a_dask_local_cluster_matches_serial(iris):
    distributed = pytest.importorskip("distributed")
    X, y = iris
    est = NNClassifier(hidden_layer_sizes=(8,), epochs=10, random_state=0)
    grid = {"learning_rate": [0.01, 0.03]}
    serial = GridSearchCV(est, grid, cv=2).fit(X, y)
    # In-process workers (threads) talk over Dask's in-memory transport: no network at all,
    # and a start-up bounded by `timeout`.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None, timeout=30) as cluster, \
            distributed.Client(cluster, timeout=30) as client:
        client.wait_for_workers(2, timeout=30)
        with joblib.parallel_backend("dask"):
            on_dask = GridSearchCV(est, grid, cv=2).fit(X, y)
        assert len(client.scheduler_info()["workers"]) == 2
    np.testing.assert_array_equal(serial.cv_results_["mean_test_score"],
                                  on_dask.cv_results_["mean_test_score"])


def test_fits_in_parallel_threads_are_reproducible(blobs):
    X, y = blobs
    reference = NNClassifier(hidden_layer_sizes=(8,), epochs=5, random_state=3).fit(X, y)
    estimators = [clone(reference) for _ in range(2)]
    threads = [threading.Thread(target=est.fit, args=(X, y)) for est in estimators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for est in estimators:
        np.testing.assert_array_equal(est.predict_proba(X), reference.predict_proba(X))


# ---- labels, outputs, fitted attributes ---------------------------------------------------


@pytest.mark.parametrize("labels", [np.array(["setosa", "versicolor", "virginica"]),
                                    np.array([3, 7, 10]), np.array([True, False, True])])
def test_labels_of_any_type_round_trip_through_predict(iris, labels):
    X, y = iris
    X = StandardScaler().fit_transform(X)
    target = labels[y]
    clf = NNClassifier(hidden_layer_sizes=(16,), epochs=30, learning_rate=0.01,
                       random_state=0).fit(X, target)
    assert set(clf.classes_.tolist()) == set(labels.tolist())
    predicted = clf.predict(X)
    assert predicted.dtype == clf.classes_.dtype
    assert set(np.unique(predicted).tolist()) <= set(labels.tolist())
    assert clf.score(X, target) > 0.8


def test_binary_uses_one_sigmoid_output_and_multiclass_softmax(iris):
    X, y = iris
    binary = NNClassifier(hidden_layer_sizes=(4,), epochs=2, random_state=0).fit(X, y > 0)
    multi = NNClassifier(hidden_layer_sizes=(4,), epochs=2, random_state=0).fit(X, y)
    assert binary.model_.layers[-1].units == 1
    assert binary.model_.layers[-1].activation.name == "sigmoid"
    assert binary.model_.loss.name == "binary_crossentropy"
    assert multi.model_.layers[-1].units == 3
    assert multi.model_.layers[-1].activation.name == "softmax"
    proba = binary.predict_proba(X)
    assert proba.shape == (150, 2) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(binary.predict(X), binary.classes_[proba.argmax(axis=1)])


def test_multi_output_regression():
    X, Y = make_regression(n_samples=200, n_features=6, n_targets=3, noise=1.0, random_state=0)
    Y = StandardScaler().fit_transform(Y)
    reg = NNRegressor(hidden_layer_sizes=(32,), epochs=100, learning_rate=0.01,
                      random_state=0).fit(X, Y)
    assert reg.n_outputs_ == 3
    assert reg.predict(X).shape == (200, 3)
    assert reg.score(X, Y) > 0.9


@given(n_samples=st.integers(2, 12), n_features=st.integers(1, 5),
       n_outputs=st.integers(1, 3), batch_size=st.integers(1, 7))
@settings(max_examples=10, deadline=None)
def test_regressor_shapes_and_fitted_attributes(n_samples, n_features, n_outputs, batch_size):
    rng = np.random.default_rng(n_samples)
    X = rng.standard_normal((n_samples, n_features))
    y = rng.standard_normal((n_samples, n_outputs)) if n_outputs > 1 else rng.standard_normal(
        n_samples)
    reg = NNRegressor(hidden_layer_sizes=(3,), epochs=2, batch_size=batch_size,
                      random_state=0).fit(X, y)
    assert reg.predict(X).shape == y.shape
    assert reg.predict(X).dtype == np.float64
    assert reg.n_features_in_ == n_features
    assert reg.n_iter_ == 2 == len(reg.loss_curve_) == len(reg.history_["loss"])
    assert reg.model_.dtype == np.float32


def test_feature_names_from_a_dataframe(iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    clf = NNClassifier(hidden_layer_sizes=(4,), epochs=2, random_state=0).fit(frame, y)
    assert clf.feature_names_in_.tolist() == ["sl", "sw", "pl", "pw"]
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


def test_same_random_state_gives_identical_fits_and_leaves_the_global_generator(blobs):
    X, y = blobs
    before = copy.deepcopy(nnlite.config.get_rng())
    a = NNClassifier(hidden_layer_sizes=(8,), epochs=3, random_state=5).fit(X, y)
    b = NNClassifier(hidden_layer_sizes=(8,), epochs=3, random_state=5).fit(X, y)
    c = NNClassifier(hidden_layer_sizes=(8,), epochs=3, random_state=6).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    assert nnlite.config.get_rng().random() == before.random()


def test_random_state_none_follows_nnlite_set_seed(blobs):
    X, y = blobs
    est = NNClassifier(hidden_layer_sizes=(8,), epochs=2)
    nnlite.set_seed(11)
    first = clone(est).fit(X, y).predict_proba(X)
    nnlite.set_seed(11)
    np.testing.assert_array_equal(clone(est).fit(X, y).predict_proba(X), first)


def test_predict_before_fit_raises_not_fitted(blobs):
    with pytest.raises(NotFittedError):
        NNRegressor().predict(blobs[0])


# ---- training rules: partial_fit, warm_start, stopping, alpha ---------------------------


def test_partial_fit_over_five_chunks_learns():
    X, y = make_classification(n_samples=500, n_features=10, n_informative=5, n_classes=3,
                               random_state=1)
    X = StandardScaler().fit_transform(X)
    clf = NNClassifier(hidden_layer_sizes=(16,), learning_rate=0.01, random_state=0)
    losses = []
    for chunk_x, chunk_y in zip(np.array_split(X, 5), np.array_split(y, 5), strict=True):
        clf.partial_fit(chunk_x, chunk_y, classes=np.unique(y))
        losses.append(log_loss(y, clf.predict_proba(X)))
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 5
    assert losses[-1] < losses[0] - 0.1
    assert all(later < earlier for earlier, later in zip(losses, losses[1:], strict=False))


def test_partial_fit_of_regressor_keeps_the_network():
    X, y = make_regression(n_samples=60, n_features=4, random_state=0)
    reg = NNRegressor(hidden_layer_sizes=(4,), random_state=0).partial_fit(X, y)
    model = reg.model_
    reg.partial_fit(X, y)
    assert reg.model_ is model and reg.n_iter_ == 2


def test_warm_start_continues_from_the_previous_weights(blobs):
    X, y = blobs
    clf = NNClassifier(hidden_layer_sizes=(8,), epochs=3, warm_start=True, random_state=0)
    clf.fit(X, y)
    model = clf.model_
    clf.fit(X, y)
    assert clf.model_ is model
    assert clf.n_iter_ == 6 and len(clf.loss_curve_) == 6
    cold = clf.set_params(warm_start=False).fit(X, y)
    assert cold.model_ is not model and cold.n_iter_ == 3


def test_training_stops_when_the_loss_stalls_as_in_sklearn_mlp(blobs):
    X, y = blobs
    # With tol huge no epoch after the first improves: stop once the count of epochs without
    # improvement exceeds n_iter_no_change, i.e. after n_iter_no_change + 2 epochs.
    clf = NNClassifier(hidden_layer_sizes=(4,), epochs=50, tol=1e9, n_iter_no_change=3,
                       random_state=0).fit(X, y)
    assert clf.n_iter_ == 5


def test_early_stopping_watches_a_held_out_loss(blobs):
    X, y = blobs
    clf = NNClassifier(hidden_layer_sizes=(4,), epochs=50, early_stopping=True, tol=1e9,
                       n_iter_no_change=2, validation_fraction=0.2, random_state=0).fit(X, y)
    assert clf.n_iter_ == 4
    assert len(clf.history_["val_loss"]) == 4


def test_alpha_adds_the_l2_gradient_scaled_like_sklearn_mlp():
    X, y = make_regression(n_samples=20, n_features=3, random_state=0)
    reg = NNRegressor(hidden_layer_sizes=(5,), optimizer=SGD(learning_rate=0.01),
                      batch_size=10, epochs=1, random_state=0, warm_start=True).fit(X, y / 100)
    start = reg.model_.get_weights()
    plain, decayed = copy.deepcopy(reg), copy.deepcopy(reg).set_params(alpha=0.5)
    plain.fit(X[:10], y[:10] / 100)
    decayed.fit(X[:10], y[:10] / 100)
    # One SGD step on one batch of 10: the penalised kernel moves by an extra
    # -lr * (alpha / batch_size) * kernel; biases are not penalised.
    for w0, w_plain, w_decayed in zip(start, plain.model_.get_weights(),
                                      decayed.model_.get_weights(), strict=True):
        expected = w_plain - 0.01 * (0.5 / 10) * w0 if w0.ndim == 2 else w_plain
        np.testing.assert_allclose(w_decayed, expected, rtol=1e-5, atol=1e-7)


class _Penalised:
    """A model whose loss includes ``scale / 2 * sum(kernel ** 2)``, for gradcheck."""

    def __init__(self, model, scale, step_cls=_L2Step):
        self.model, self.layers, self.scale, self.step_cls = model, model.layers, scale, step_cls

    def compute_loss(self, x, y):
        penalty = sum(float(np.sum(layer.params["kernel"] ** 2)) for layer in self.layers)
        return self.model.compute_loss(x, y) + 0.5 * self.scale * penalty

    def compute_gradients(self, x, y, training=False):
        grad_x = self.model.compute_gradients(x, y, training=training)
        self.step_cls(_NoStep(), self.scale).step(self.layers)
        return grad_x


class _NoStep:
    def step(self, layers):
        pass


class _WrongL2Step(_L2Step):
    def step(self, layers):
        for layer in layers:
            layer.grads["kernel"] += 2.0 * self.scale * layer.params["kernel"]  # planted bug


def test_l2_gradient_passes_gradcheck_and_a_planted_bug_fails(float64, rng):
    x, y = rng.standard_normal((7, 3)), rng.standard_normal((7, 2))
    model = nnlite.Sequential([Dense(5, activation="tanh"), Dense(2)], input_shape=(3,))
    model.compile(loss="mse", optimizer="sgd")
    assert nnlite.gradcheck(_Penalised(model, 0.3), x, y) < 1e-6
    assert nnlite.gradcheck(_Penalised(model, 0.3, _WrongL2Step), x, y) > 1e-2


# ---- custom architectures ----------------------------------------------------------------


def test_build_fn_gives_the_hidden_part(blobs):
    X, y = blobs
    seen = []

    def build_fn(n_features, n_outputs):
        seen.append((n_features, n_outputs))
        return [Dense(8, activation="tanh"), Dropout(0.1)]

    clf = NNClassifier(build_fn=build_fn, epochs=2, random_state=0).fit(X, y)
    assert seen == [(5, 3)]
    assert [type(layer).__name__ for layer in clf.model_.layers] == ["Dense", "Dropout", "Dense"]


class _ToImage(nnlite.layers.Layer):
    """(n, h * w * c) -> (n, h, w, c), as the guide's image example."""

    def __init__(self, image_shape, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(image_shape)

    def forward(self, x, training=False):
        return x.reshape(len(x), *self.image_shape)

    def backward(self, grad_output):
        return grad_output.reshape(len(grad_output), -1)

    def output_shape(self, input_shape):
        return self.image_shape

    def get_config(self):
        return {**super().get_config(), "image_shape": list(self.image_shape)}


def test_build_fn_reshapes_rows_into_images(tmp_path):
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16.0, y[:300]

    def small_cnn(n_features, n_outputs):
        hidden = [_ToImage((8, 8, 1))]
        if hasattr(nnlite.layers, "Conv2D"):  # present once the convolution layers are in
            hidden.append(nnlite.layers.Conv2D(4, 3, activation="relu"))
        return [*hidden, Flatten(), Dense(16, activation="relu")]

    clf = NNClassifier(build_fn=small_cnn, epochs=10, learning_rate=0.01,
                       random_state=0).fit(X, y)
    assert isinstance(clf.model_.layers[0], _ToImage)
    assert clf.score(X, y) > 0.9
    clf.save(tmp_path / "cnn.nnlite")
    loaded = NNClassifier.load(tmp_path / "cnn.nnlite")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.build_fn is None  # code is never written to the file


def test_layers_param_is_copied_not_trained(blobs):
    X, y = blobs
    hidden = [Dense(6, activation="relu", name="h")]
    clf = NNClassifier(layers=hidden, epochs=2, random_state=0).fit(X, y)
    assert not hidden[0].built
    assert clf.model_.layers[0].name == "h" and clf.model_.layers[0].units == 6


# ---- pickling and saving -----------------------------------------------------------------


def test_fitted_estimators_pickle_with_joblib(tmp_path, iris):
    X, y = iris
    clf = NNClassifier(hidden_layer_sizes=(4,), epochs=2, random_state=0).fit(X, y)
    joblib.dump(clf, tmp_path / "clf.joblib")
    restored = joblib.load(tmp_path / "clf.joblib")
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert pickle.loads(pickle.dumps(NNRegressor(alpha=0.1))).get_params()["alpha"] == 0.1


def test_classifier_save_and_load_without_pickle(tmp_path, iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = NNClassifier(hidden_layer_sizes=(6,), epochs=3, optimizer=SGD(0.05, momentum=0.5),
                       random_state=0).fit(frame, names)
    clf.save(tmp_path / "clf.nnlite")
    loaded = NNClassifier.load(tmp_path / "clf.nnlite")
    np.testing.assert_array_equal(loaded.predict_proba(frame), clf.predict_proba(frame))
    np.testing.assert_array_equal(loaded.predict(frame), clf.predict(frame))
    assert loaded.classes_.dtype == clf.classes_.dtype
    assert loaded.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    assert loaded.n_iter_ == 3 and loaded.loss_curve_ == clf.loss_curve_
    assert repr(loaded.optimizer) == repr(clf.optimizer)
    loaded.partial_fit(frame, names)  # a loaded estimator keeps training
    assert loaded.n_iter_ == 4


def test_regressor_with_custom_layers_saves_and_loads(tmp_path):
    X, Y = make_regression(n_samples=40, n_features=4, n_targets=2, random_state=0)
    reg = NNRegressor(layers=[Dense(5, activation="tanh", name="h")], epochs=2,
                      random_state=0).fit(X, Y)
    reg.save(tmp_path / "reg.nnlite")
    loaded = NNRegressor.load(tmp_path / "reg.nnlite")
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    assert loaded.layers[0].get_config() == reg.layers[0].get_config()
    assert nnlite.load_model(tmp_path / "reg.nnlite").metadata["sklearn"]["estimator"] == \
        "NNRegressor"


def test_save_accepts_numpy_scalars_from_search_tools(tmp_path, blobs):
    X, y = blobs
    clf = NNClassifier(hidden_layer_sizes=(np.int64(3),), batch_size=np.int64(16), epochs=1,
                       alpha=np.float64(1e-3), random_state=np.int32(4)).fit(X, y)
    clf.save(tmp_path / "clf.nnlite")
    loaded = NNClassifier.load(tmp_path / "clf.nnlite")
    assert loaded.get_params()["batch_size"] == 16 and loaded.random_state == 4
    assert loaded.hidden_layer_sizes == (3,)


def test_load_refuses_a_plain_model_file(tmp_path):
    model = nnlite.Sequential([Dense(1)], input_shape=(2,))
    model.save(tmp_path / "plain.nnlite")
    with pytest.raises(ValueError, match=r"NNRegressor.load: .*plain.nnlite.*without estimator"):
        NNRegressor.load(tmp_path / "plain.nnlite")


def test_load_refuses_the_other_estimator(tmp_path, iris):
    X, y = iris
    NNClassifier(hidden_layer_sizes=(2,), epochs=1).fit(X, y).save(tmp_path / "c.nnlite")
    with pytest.raises(ValueError, match=r"holds a 'NNClassifier', not a NNRegressor"):
        NNRegressor.load(tmp_path / "c.nnlite")


# ---- bad input: one test per message -----------------------------------------------------


@pytest.mark.parametrize("params, message", [
    ({"hidden_layer_sizes": (4, 0)}, r"hidden_layer_sizes must be a tuple of positive ints, "
                                     r"got \(4, 0\)"),
    ({"learning_rate": -0.1}, r"learning_rate must be a number > 0.0, got -0.1"),
    ({"alpha": -1.0}, r"alpha must be a number >= 0.0, got -1.0"),
    ({"tol": float("nan")}, r"tol must be a number >= 0.0, got nan"),
    ({"validation_fraction": 1.0}, r"validation_fraction must be a number in \(0.0, 1.0\), "
                                   r"got 1.0"),
    ({"epochs": 0}, r"epochs must be a positive int, got 0"),
    ({"n_iter_no_change": 2.5}, r"n_iter_no_change must be a positive int, got 2.5"),
    ({"batch_size": "big"}, r"batch_size must be a positive int or 'auto', got 'big'"),
    ({"random_state": "seed"}, r"random_state must be None, an int, a RandomState or a "
                               r"Generator, got 'seed'"),
    ({"optimizer": "adamm"}, r"Unknown optimizer 'adamm'.*Did you mean 'adam'"),
    ({"layers": [Dense(2)], "build_fn": lambda n, k: []}, r"either layers or build_fn"),
])
def test_bad_hyperparameters_raise_value_error(blobs, params, message):
    with pytest.raises(ValueError, match=f"NNClassifier: {message}|{message}"):
        NNClassifier(**params).fit(*blobs)


@pytest.mark.parametrize("params, message", [
    ({"optimizer": 3}, r"optimizer must be a name .* or an Optimizer, got 3"),
    ({"layers": ["dense"]}, r"layers must be a list of nnlite layers, got \['dense'\]"),
    ({"build_fn": "mlp"}, r"build_fn must be callable, got 'mlp'"),
])
def test_wrong_kinds_of_objects_raise_type_error(blobs, params, message):
    with pytest.raises(TypeError, match=f"NNRegressor: {message}"):
        NNRegressor(**params).fit(*blobs)


def test_one_class_is_refused(blobs):
    with pytest.raises(ValueError, match=r"NNClassifier: y holds only 1 class \(\[1\]\)"):
        NNClassifier().fit(blobs[0], np.ones(len(blobs[0]), dtype=int))


def test_first_partial_fit_needs_classes(blobs):
    with pytest.raises(ValueError, match=r"partial_fit: the first call needs classes="):
        NNClassifier().partial_fit(*blobs)


def test_partial_fit_labels_outside_classes(blobs):
    with pytest.raises(ValueError, match=r"partial_fit: y holds labels outside classes=\[0, 1\]"):
        NNClassifier().partial_fit(blobs[0], blobs[1], classes=[0, 1])


def test_later_partial_fit_with_an_unseen_label(blobs):
    X, y = blobs
    clf = NNClassifier(hidden_layer_sizes=(2,)).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels not seen in the first fit, e.g. 7"):
        clf.partial_fit(X[:3], [0, 1, 7])


def test_partial_fit_with_another_number_of_targets():
    X, Y = make_regression(n_samples=20, n_features=3, n_targets=2, random_state=0)
    reg = NNRegressor(hidden_layer_sizes=(2,)).partial_fit(X, Y)
    with pytest.raises(ValueError, match=r"NNRegressor: y has 1 outputs, but the estimator "
                                         r"was fitted with 2"):
        reg.partial_fit(X, Y[:, 0])


def test_predict_with_the_wrong_number_of_features(blobs):
    X, y = blobs
    clf = NNClassifier(hidden_layer_sizes=(2,), epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=r"X has 4 features, but NNClassifier is expecting 5"):
        clf.predict(X[:, :4])


@pytest.mark.parametrize("tamper", [
    lambda meta: meta["params"].pop("hidden_layer_sizes"),
    lambda meta: meta.pop("fitted"),
    lambda meta: meta["params"].update(layers=[{"class_name": "Dense"}]),
])
def test_load_refuses_altered_estimator_data(tamper, tmp_path, iris):
    import json
    import zipfile

    X, y = iris
    path, altered = tmp_path / "c.nnlite", tmp_path / "altered.nnlite"
    NNClassifier(hidden_layer_sizes=(2,), epochs=1).fit(X, y).save(path)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(altered, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "model.json":
                header = json.loads(data)
                tamper(header["metadata"]["sklearn"])
                data = json.dumps(header).encode()
            target.writestr(info, data)
    with pytest.raises(ValueError, match=r"NNClassifier.load: .*altered.nnlite.* has altered "
                                         r"estimator data"):
        NNClassifier.load(altered)
