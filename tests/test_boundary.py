"""The public boundary of Sequential: what it accepts, what it refuses, and that a refused
call changes nothing (DESIGN.md, "Bad input")."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnlite
from nnlite.callbacks import History
from nnlite.layers import Dense, Embedding, SimpleRNN


def _classifier(**kwargs):
    model = nnlite.Sequential([Dense(4, activation="relu"), Dense(3, activation="softmax")],
                              **kwargs)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def _data(rng, n=12):
    return rng.standard_normal((n, 5)).astype(np.float32), np.arange(n) % 3


# predict's None picks a batch size (tests/test_predict_batch.py); evaluate's is refused.
@pytest.mark.parametrize("method, bad", [
    (method, bad) for method in ("predict", "evaluate")
    for bad in (0, -1, 2.5, True, "8", None) if not (method == "predict" and bad is None)])
def test_batch_size_is_checked_everywhere(method, bad, rng):
    x, y = _data(rng)
    model = _classifier(input_shape=(5,))
    args = (x,) if method == "predict" else (x, y)
    with pytest.raises(ValueError, match=rf"{method}: batch_size must be a positive int"):
        getattr(model, method)(*args, batch_size=bad)


@pytest.mark.parametrize("name, value, pattern", [
    ("epochs", 2.5, r"fit: epochs must be a positive int, got 2.5"),
    ("epochs", 0, r"fit: epochs must be a positive int, got 0"),
    ("batch_size", 0, r"fit: batch_size must be a positive int, got 0"),
    ("verbose", 3, r"fit: verbose must be 0, 1 or 2, got 3"),
    ("validation_split", 1.0, r"fit: validation_split must be in \(0, 1\), got 1.0"),
    ("initial_epoch", -1, r"fit: initial_epoch must be a non-negative int"),
])
def test_fit_settings_are_checked(name, value, pattern, rng):
    x, y = _data(rng)
    with pytest.raises(ValueError, match=pattern):
        _classifier().fit(x, y, **{"verbose": 0, name: value})


def test_numpy_scalars_are_accepted_wherever_numbers_are(rng):
    x, y = _data(rng)
    model = _classifier()
    history = model.fit(x, y, epochs=np.int64(2), batch_size=np.int32(4),
                        validation_split=np.float32(0.25), verbose=0,
                        class_weight={np.int64(0): np.float32(1.0), 1: 2, 2: np.float64(0.5)})
    assert len(history.history["loss"]) == 2
    assert model.predict(x, batch_size=np.int16(5)).shape == (12, 3)


def test_callbacks_must_be_a_list(rng):
    x, y = _data(rng)
    with pytest.raises(TypeError, match=r"fit: callbacks must be a list of Callback objects, "
                                        r"got History; wrap a single one as \[callback\]"):
        _classifier().fit(x, y, callbacks=History(), verbose=0)


@pytest.mark.parametrize("class_weight, pattern", [
    ({0: -1.0, 1: 1.0, 2: 1.0}, r"class_weight values must be finite and non-negative, got "
                                r"-1.0 for class 0"),
    ({0: 1.0, 1: 1.0, 2: 1.0, 7: 1.0}, r"class_weight keys must be class indices in "
                                       r"\[0, 3\), got 7"),
    ({0.5: 1.0, 1: 1.0, 2: 1.0}, r"class_weight keys must be class indices in \[0, 3\), "
                                 r"got 0.5"),
    ({0: 1.0, 1: 1.0}, r"class_weight has no weight for classes \[2\]"),
    ({0: 0.0, 1: 0.0, 2: 0.0}, r"every sample weight is 0"),
    ([1.0, 1.0, 1.0], r"class_weight must be a dict"),
])
def test_class_weight_is_checked(class_weight, pattern, rng):
    x, y = _data(rng)
    error = TypeError if isinstance(class_weight, list) else ValueError
    with pytest.raises(error, match=pattern):
        _classifier().fit(x, y, class_weight=class_weight, verbose=0)


def test_a_zero_weight_batch_is_skipped_and_the_epoch_loss_stays_right(float64, rng):
    x, y = _data(rng, n=8)
    weights = np.array([0, 0, 0, 0, 1, 2, 1, 1], dtype=float)    # batch 1 weighs nothing
    model = _classifier(input_shape=(5,))
    copy = _classifier(input_shape=(5,))
    copy.set_weights(model.get_weights())
    history = model.fit(x, y, batch_size=4, shuffle=False, sample_weight=weights, verbose=0)
    # The same as training on the second batch alone: the first made no update.
    loss = copy.train_on_batch(x[4:], y[4:], sample_weight=weights[4:])
    for a, b in zip(model.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert history.history["loss"][0] == pytest.approx(loss)
    assert copy.train_on_batch(x[:4], y[:4], sample_weight=weights[:4]) == 0.0


@pytest.mark.parametrize("layers, x, pattern", [
    (lambda: [Dense(1)], np.ones(5), r"Dense 'd' expects input of shape \(batch, \.\.\., "
                                     r"features\), got shape \(5,\)"),
    (lambda: [Embedding(10, 3, name="d"), Dense(1)], np.ones(5, dtype=int),
     r"Embedding 'd' expects ids of shape \(batch, timesteps\)"),
    (lambda: [Dense(3, name="d"), SimpleRNN(2, name="r"), Dense(1)], np.ones((4, 0, 2)),
     r"at least one timestep|Dense 'd'|an empty axis"),
])
def test_a_failed_first_call_leaves_the_model_unbuilt(layers, x, pattern, rng):
    built = layers()
    built[0].name = "d"
    model = nnlite.Sequential(built)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=pattern):
        model.fit(x, np.ones(len(x)), verbose=0)
    assert not any(layer.built for layer in model.layers)


def test_bad_targets_after_a_first_build_unbuild_the_model(rng):
    x, _ = _data(rng)
    model = _classifier()
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\), got 5"):
        model.fit(x, np.full(12, 5), verbose=0)
    assert not model.built
    model.fit(rng.standard_normal((6, 7)), np.arange(6) % 3, verbose=0)   # another width
    assert model.layers[0].params["kernel"].shape == (7, 4)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(x=hnp.arrays(dtype=st.sampled_from([np.float32, np.float64, np.int64, np.bool_]),
                    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)),
       y=hnp.arrays(dtype=st.sampled_from([np.float64, np.int64]),
                    shape=hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=4)),
       batch_size=st.one_of(st.integers(-2, 5), st.floats(allow_nan=True)))
def test_fit_and_predict_raise_only_documented_errors(x, y, batch_size):
    model = nnlite.Sequential([Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    for call in (lambda: model.fit(x, y, batch_size=batch_size, verbose=0),
                 lambda: model.predict(x, batch_size=batch_size)):
        try:
            call()
        except (ValueError, TypeError):
            pass


def test_all_zero_sample_weights_are_refused_before_anything_is_built(rng):
    x, y = _data(rng)
    model = _classifier()
    with pytest.raises(ValueError, match=r"fit: every sample weight is 0"):
        model.fit(x, y, sample_weight=np.zeros(12), verbose=0)
    assert not model.built
