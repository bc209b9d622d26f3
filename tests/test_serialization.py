import io
import json
import os
import pickle
import stat
import zipfile

import numpy as np
import pytest

import nnlite
from nnlite import initializers, serialization
from nnlite.layers import Dense, Dropout
from nnlite.serialization import atomic_open, atomic_write


class _CreatesFileWhenUnpickled:
    """Unpickling this object would create a file: the proof that loading ran code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture
def trained(rng):
    x = rng.standard_normal((50, 4)).astype(np.float32)
    y = rng.integers(0, 3, 50)
    model = nnlite.Sequential([Dense(8, activation="relu"), Dropout(0.2),
                               Dense(3, activation="softmax")], input_shape=(4,))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    return model, x, y


def test_save_load_gives_bit_identical_predictions(trained, tmp_path):
    model, x, y = trained
    path = tmp_path / "model.nnlite"
    model.save(path)
    loaded = nnlite.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()


def test_float64_model_round_trip(tmp_path, float64, rng):
    model = nnlite.Sequential([Dense(3, activation="tanh")], input_shape=(2,))
    model.save(tmp_path / "m.nnlite")
    loaded = nnlite.load_model(tmp_path / "m.nnlite")
    assert loaded.layers[0].params["kernel"].dtype == np.float64
    x = rng.standard_normal((4, 2))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_metadata_round_trip(trained, tmp_path):
    model, _, _ = trained
    model.save(tmp_path / "m.nnlite", metadata={"classes": ["a", "b", "c"]})
    assert nnlite.load_model(tmp_path / "m.nnlite").metadata == {"classes": ["a", "b", "c"]}


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        nnlite.load_model(tmp_path / "nope.nnlite")


def test_truncated_file(trained, tmp_path):
    model, _, _ = trained
    path = tmp_path / "m.nnlite"
    model.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not an nnlite model file|truncated"):
        nnlite.load_model(path)


def test_random_bytes(tmp_path, rng):
    path = tmp_path / "noise.nnlite"
    path.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match="not an nnlite model file"):
        nnlite.load_model(path)


def test_flipped_byte_inside_weights_is_detected(trained, tmp_path):
    model, _, _ = trained
    path = tmp_path / "m.nnlite"
    model.save(path)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("weights/0000.npy")
    data[info.header_offset + 30 + len(info.filename) + 200] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="not an nnlite model file"):
        nnlite.load_model(path)


def _rewrite(path, config_edit=None, extra=None):
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(entries["model.json"])
    if config_edit:
        config_edit(header)
    entries["model.json"] = json.dumps(header).encode()
    entries.update(extra or {})
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda h: h["model"]["layers"][0].update(class_name="os.system"), "Unknown layer class"),
    (lambda h: h["model"]["layers"][0]["config"].update(units=9), "do not fit"),
    (lambda h: h.update(format="something"), "not an nnlite model file"),
    (lambda h: h.update(version=99), "format version 99"),
    (lambda h: h["model"]["layers"][0]["config"].update(activation="evil"),
     "Unknown activation 'evil'"),
])
def test_tampered_config(trained, tmp_path, edit, message):
    model, _, _ = trained
    path = tmp_path / "m.nnlite"
    model.save(path)
    _rewrite(path, edit)
    with pytest.raises(ValueError, match=message):
        nnlite.load_model(path)


def test_pickled_object_inside_the_file_is_refused_and_never_run(trained, tmp_path):
    model, _, _ = trained
    path = tmp_path / "m.nnlite"
    model.save(path)
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    payload = np.empty(1, dtype=object)
    payload[0] = _CreatesFileWhenUnpickled(str(marker))
    np.lib.format.write_array(buffer, payload, allow_pickle=True)
    _rewrite(path, extra={"weights/0000.npy": buffer.getvalue()})
    with pytest.raises(ValueError, match="refused"):
        nnlite.load_model(path)
    assert not marker.exists()


def test_a_plain_pickle_file_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "m.nnlite"
    path.write_bytes(pickle.dumps(_CreatesFileWhenUnpickled(str(marker))))
    with pytest.raises(ValueError, match="not an nnlite model file"):
        nnlite.load_model(path)
    assert not marker.exists()


def test_unbuilt_model_cannot_be_saved(tmp_path):
    with pytest.raises(ValueError, match="not built"):
        nnlite.Sequential([Dense(2)]).save(tmp_path / "m.nnlite")


# ---- paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "error", "message"), [
    (None, TypeError, "load_model: path must be a str or os.PathLike, got NoneType"),
    (3, TypeError, "got int 3"),
    ("", ValueError, "non-empty file name"),
    (b"PK\x03\x04\x00\x00", ValueError, "bytes holding NUL characters"),
])
def test_load_model_refuses_what_is_not_a_path(path, error, message):
    with pytest.raises(error, match=message):
        nnlite.load_model(path)


def test_bytes_paths_work_for_save_and_load(trained, tmp_path):
    model, x, _ = trained
    path = bytes(tmp_path / "m.nnlite")
    model.save(path)
    np.testing.assert_array_equal(nnlite.load_model(path).predict(x), model.predict(x))


def test_save_refuses_what_is_not_a_path_and_a_missing_folder(trained, tmp_path):
    model, _, _ = trained
    with pytest.raises(TypeError, match="save: path must be a str or os.PathLike"):
        model.save(None)
    with pytest.raises(FileNotFoundError, match="the folder .*nope.* does not exist"):
        model.save(tmp_path / "nope" / "m.nnlite")
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        model.save(tmp_path)


def test_loading_a_folder_or_a_device_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="is a folder, not a model file"):
        nnlite.load_model(tmp_path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(ValueError, match="'/dev/zero' is not a regular file"):
            nnlite.load_model("/dev/zero")


# ---- what the file holds -----------------------------------------------------------------


def test_the_optimizer_state_is_stored_unless_asked_not_to(trained, tmp_path):
    model, x, y = trained
    model.save(tmp_path / "with.nnlite")
    loaded = nnlite.load_model(tmp_path / "with.nnlite")
    assert loaded.optimizer.iterations == model.optimizer.iterations > 0
    state, expected = loaded.optimizer.get_state(), model.optimizer.get_state()
    assert state["slots"].keys() == expected["slots"].keys()
    for key, slots in expected["slots"].items():
        for name, array in slots.items():
            np.testing.assert_array_equal(state["slots"][key][name], array)
    model.save(tmp_path / "without.nnlite", include_optimizer=False)
    with zipfile.ZipFile(tmp_path / "without.nnlite") as archive:
        assert not any(n.startswith("optimizer/") for n in archive.namelist())
    bare = nnlite.load_model(tmp_path / "without.nnlite")
    assert bare.optimizer.iterations == 0 and bare.optimizer.state == {}
    assert bare.optimizer.get_config() == model.optimizer.get_config()
    np.testing.assert_array_equal(bare.predict(x), model.predict(x))


def test_the_learning_rate_set_by_a_schedule_is_restored(trained, tmp_path):
    model, _, _ = trained
    model.optimizer.learning_rate = 0.0123
    model.save(tmp_path / "m.nnlite")
    assert nnlite.load_model(tmp_path / "m.nnlite").optimizer.learning_rate == 0.0123


def test_loading_draws_no_random_numbers(trained, tmp_path):
    model, _, _ = trained
    model.save(tmp_path / "m.nnlite")
    nnlite.set_seed(5)
    expected = nnlite.config.get_rng().random(3)
    nnlite.set_seed(5)
    nnlite.load_model(tmp_path / "m.nnlite")
    np.testing.assert_array_equal(nnlite.config.get_rng().random(3), expected)


def test_an_unbuilt_or_uncompiled_model_round_trip(tmp_path, rng):
    model = nnlite.Sequential([Dense(2)], input_shape=(3,))
    model.save(tmp_path / "m.nnlite")
    loaded = nnlite.load_model(tmp_path / "m.nnlite")
    assert loaded.optimizer is None and loaded.loss is None
    x = rng.standard_normal((2, 3))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


class Upper:
    """A stand-in preprocessing object with the get_config / from_config protocol."""

    def __init__(self, suffix=""):
        self.suffix = suffix

    def get_config(self):
        return {"suffix": self.suffix}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def test_preprocessing_round_trip_through_the_fixed_registry(trained, tmp_path, monkeypatch):
    monkeypatch.setitem(serialization._PREPROCESSING, "Upper", lambda: Upper)
    model, _, _ = trained
    model.preprocessing = Upper("!")
    model.save(tmp_path / "m.nnlite")
    loaded = nnlite.load_model(tmp_path / "m.nnlite")
    assert isinstance(loaded.preprocessing, Upper) and loaded.preprocessing.suffix == "!"
    _rewrite(tmp_path / "m.nnlite", lambda h: h["preprocessing"]["config"].update(bad=1))
    with pytest.raises(ValueError, match="invalid Upper config: .*unexpected keyword"):
        nnlite.load_model(tmp_path / "m.nnlite")
    _rewrite(tmp_path / "m.nnlite",
             lambda h: h["preprocessing"].update(class_name="os.path.join"))
    with pytest.raises(ValueError, match="names preprocessing class 'os.path.join'; known: "):
        nnlite.load_model(tmp_path / "m.nnlite")


def test_an_unknown_preprocessing_object_is_not_saved(trained, tmp_path):
    model, _, _ = trained
    model.save(tmp_path / "m.nnlite")
    before = (tmp_path / "m.nnlite").read_bytes()
    model.preprocessing = Upper()
    with pytest.raises(ValueError, match="model.preprocessing is a Upper, which cannot be "
                       "stored; known: TextVectorizer"):
        model.save(tmp_path / "m.nnlite")
    assert (tmp_path / "m.nnlite").read_bytes() == before


def test_text_vectorizer_round_trip(trained, tmp_path):
    text = pytest.importorskip("nnlite.text")
    model, _, _ = trained
    vectorizer = text.TextVectorizer(output_sequence_length=4)
    vectorizer.adapt(["the cat sat", "the dog"])
    model.preprocessing = vectorizer
    model.save(tmp_path / "m.nnlite")
    loaded = nnlite.load_model(tmp_path / "m.nnlite").preprocessing
    assert loaded.get_vocabulary() == vectorizer.get_vocabulary()
    np.testing.assert_array_equal(loaded(["the cat"]), vectorizer(["the cat"]))


def test_a_model_with_nan_weights_is_not_saved_over_a_good_file(trained, tmp_path):
    model, _, _ = trained
    path = tmp_path / "m.nnlite"
    model.save(path)
    before = path.read_bytes()
    model.layers[0].params["kernel"][0, 0] = np.nan
    with pytest.raises(ValueError, match="weight array 0 holds NaN or inf"):
        model.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.nnlite"]


def test_metadata_that_is_not_json_is_refused_and_the_old_file_kept(trained, tmp_path):
    model, _, _ = trained
    path = tmp_path / "m.nnlite"
    model.save(path)
    before = path.read_bytes()
    for bad in ({"x": object()}, {"x": float("nan")}):
        with pytest.raises(ValueError, match="cannot be written as JSON"):
            model.save(path, metadata=bad)
    assert path.read_bytes() == before


# ---- tampered files ------------------------------------------------------------------------


def _npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


@pytest.mark.parametrize(("extra", "message"), [
    ({"weights/0000.npy": _npy(np.full((4, 8), np.nan, np.float32))},
     r"non-finite weights \(NaN or inf\) in weights/0000.npy \('dense.*' kernel\)"),
    ({"weights/0000.npy": _npy(np.zeros((4, 8), np.float64))},
     r"holds float64 \(4, 8\), but 'dense.*' kernel must be float32 \(4, 8\)"),
    ({"weights/0000.npy": _npy(np.zeros((4, 8), ">f4"))}, "holds >f4"),
    ({"weights/0000.npy": _npy(np.asfortranarray(np.zeros((4, 8), np.float32)))},
     "in Fortran order"),
    ({"weights/0000.npy": _npy(np.zeros((4, 8), np.float32)) + b"junk"},
     r"\+4 bytes beyond its float32 \(4, 8\) array"),
    ({"weights/0000.npy": _npy(np.zeros((4, 800), np.float32))},
     r"declares 12,928 bytes, but 'dense.*' kernel of shape \(4, 8\) float32 needs 128"),
    ({"weights/9999.npy": _npy(np.zeros(1, np.float32))},
     "holds entries its config does not declare: weights/9999.npy"),
    ({"notes.txt": b"hello"}, "does not declare: notes.txt"),
    ({"weights/0000.npy": b"\x93NUMPY\x09\x00" + b" " * 200},
     "is not a plain numeric array and was refused"),
])
def test_tampered_arrays_are_refused(trained, tmp_path, extra, message):
    model, _, _ = trained
    path = tmp_path / "m.nnlite"
    model.save(path)
    _rewrite(path, extra=extra)
    with pytest.raises(ValueError, match=message):
        nnlite.load_model(path)


def test_a_missing_array_is_named(trained, tmp_path):
    model, _, _ = trained
    path = tmp_path / "m.nnlite"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        entries = {n: archive.read(n) for n in archive.namelist() if n != "weights/0001.npy"}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match="needs 12 arrays and weights/0001.npy is missing"):
        nnlite.load_model(path)


def test_two_entries_with_one_name_are_refused(trained, tmp_path):
    model, _, _ = trained
    path = tmp_path / "m.nnlite"
    model.save(path)
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "a") as z:
        z.writestr("weights/0000.npy", _npy(np.zeros((4, 8), np.float32)))
    with pytest.raises(ValueError, match="has two entries named 'weights/0000.npy'"):
        nnlite.load_model(path)


def test_a_file_deflated_by_another_tool_still_loads(trained, tmp_path):
    model, x, _ = trained
    path = tmp_path / "m.nnlite"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    np.testing.assert_array_equal(nnlite.load_model(path).predict(x), model.predict(x))


@pytest.mark.parametrize(("edit", "message"), [
    (lambda h: h["optimizer_state"]["slots"][0].__setitem__(0, "ghost"),
     r"names param 'ghost' .*which the model does not have"),
    (lambda h: h["optimizer_state"]["slots"][0].__setitem__(2, "w"),
     r"optimizer slot 'w' of .* is unknown to Adam"),
    (lambda h: h["optimizer_state"]["slots"].append(list(h["optimizer_state"]["slots"][0])),
     "unknown to Adam.* or repeated"),
    (lambda h: h["optimizer_state"].update(iterations=-3),
     "invalid optimizer state: .*iterations must be a non-negative int, got -3"),
    (lambda h: h["optimizer_state"].update(slots="all"), "must be a dict with a 'slots' list"),
    (lambda h: h["model"].pop("compile"), "has optimizer_state but no compile settings"),
])
def test_a_tampered_optimizer_state_is_refused(trained, tmp_path, edit, message):
    model, _, _ = trained
    path = tmp_path / "m.nnlite"
    model.save(path)
    _rewrite(path, edit)
    with pytest.raises(ValueError, match=message):
        nnlite.load_model(path)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda h: h["model"].update(input_shape=[0]), "input_shape must be a list of 1 to 8"),
    (lambda h: h["model"].update(input_shape="4"), "input_shape must be a list"),
    (lambda h: h["model"].update(input_shape=[True]), "input_shape must be a list"),
    (lambda h: h["model"].update(layers=[]), "'layers' must be a non-empty list"),
    (lambda h: h["model"]["layers"][0].update(config=[1]), "'layers' must be a non-empty"),
    (lambda h: h["model"]["layers"][0]["config"].update(unknown=1),
     "invalid model description: .*unexpected keyword argument 'unknown'"),
    (lambda h: h["model"]["layers"][1].update(class_name="_Monitor"),
     "Unknown layer class '_Monitor'"),
    (lambda h: h["model"]["layers"][1]["config"].update(name=h["model"]["layers"][0]
                                                        ["config"]["name"]),
     "is used twice"),
    (lambda h: h["model"]["compile"]["loss"].update(name="hinge"), "Unknown loss 'hinge'"),
    (lambda h: h.update(metadata=[1, 2]), "metadata that is not a JSON object"),
])
def test_a_tampered_config_is_refused_with_the_defect_named(trained, tmp_path, edit, message):
    model, _, _ = trained
    path = tmp_path / "m.nnlite"
    model.save(path)
    _rewrite(path, edit)
    with pytest.raises(ValueError, match=message):
        nnlite.load_model(path)


def test_json_constants_and_invalid_utf8_are_refused(trained, tmp_path):
    model, _, _ = trained
    path = tmp_path / "m.nnlite"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        text = archive.read("model.json").decode()
    for bad, message in ((text.replace('"metadata": {}', '"metadata": {"a": NaN}'),
                          "holds NaN, which is not JSON"),
                         ("\udcff", "not UTF-8")):
        _rewrite(path, extra={"model.json": bad.encode("utf-8", "surrogateescape")})
        with pytest.raises(ValueError, match=message):
            nnlite.load_model(path)


def test_a_user_layer_with_a_built_in_name_does_not_change_what_files_mean(
        trained, tmp_path, monkeypatch):
    from nnlite.layers import base

    model, x, _ = trained
    model.save(tmp_path / "m.nnlite")
    monkeypatch.setattr(base, "_LAYER_CLASSES", dict(base._LAYER_CLASSES))

    class Dense(base.Layer):  # a notebook's own layer, shadowing the built-in's name
        def __init__(self, *args, **kwargs):
            raise AssertionError("the user's Dense was used to load a saved model")

    loaded = nnlite.load_model(tmp_path / "m.nnlite")
    assert type(loaded.layers[0]) is nnlite.layers.Dense
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_nnlite_private_layer_bases_cannot_be_loaded(monkeypatch):
    from nnlite.layers import base

    monkeypatch.setattr(base, "_LAYER_CLASSES", dict(base._LAYER_CLASSES))
    type("_Base", (base.Layer,), {"__module__": "nnlite.layers.example"})
    assert "_Base" not in base._LAYER_CLASSES     # never registered, so never loadable
    with pytest.raises(ValueError, match="Unknown layer class '_Base'"):
        serialization._layer_class("_Base")


def test_a_user_layer_is_loaded_by_its_name(tmp_path, rng):
    from nnlite.layers import base

    class Doubling(base.Layer):
        def forward(self, x, training=False):
            return 2 * x

    model = nnlite.Sequential([Dense(2), Doubling()], input_shape=(3,))
    model.save(tmp_path / "m.nnlite")
    loaded = nnlite.load_model(tmp_path / "m.nnlite")
    assert type(loaded.layers[1]) is Doubling
    x = rng.standard_normal((2, 3))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


class RunningMean(nnlite.layers.Layer):
    """Identity that keeps the mean of its last training batch in ``state``, the way
    BatchNormalization keeps its moving statistics."""

    def __init__(self, repeat=1, **kwargs):
        super().__init__(**kwargs)
        self.repeat = repeat

    def build(self, input_shape):
        super().build(input_shape)
        self._add_state("mean", (input_shape[-1] * self.repeat,), initializers.zeros)

    def forward(self, x, training=False):
        if training:
            self.state["mean"][...] = np.tile(x.mean(axis=0), self.repeat)
        return x

    def backward(self, grad_output):
        return grad_output

    def get_config(self):
        return {**super().get_config(), "repeat": self.repeat}


def test_layer_state_is_saved_and_restored(tmp_path, rng):
    model = nnlite.Sequential([Dense(3), RunningMean()], input_shape=(2,))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(rng.standard_normal((8, 2)), rng.standard_normal((8, 3)), epochs=1, verbose=0)
    assert len(model.get_weights()) == 3 and model.layers[1].state["mean"].any()
    model.save(tmp_path / "m.nnlite")
    loaded = nnlite.load_model(tmp_path / "m.nnlite")
    np.testing.assert_array_equal(loaded.layers[1].state["mean"], model.layers[1].state["mean"])
    _rewrite(tmp_path / "m.nnlite", lambda h: h["model"]["layers"][1]["config"].update(
        repeat=10**12))
    with pytest.raises(ValueError, match=r"bytes of arrays by layer 'running_mean.*' \(mean of "
                       r"shape \(3000000000000,\)\), more than a file"):
        nnlite.load_model(tmp_path / "m.nnlite")


#: Constructor arguments and an input shape for every built-in layer, so that the test below
#: can dry-build each one. A new layer needs an entry here (the test says so).
LAYER_SAMPLES = {
    "Activation": ({"activation": "relu"}, (3,)),
    "AveragePooling1D": ({}, (6, 2)),
    "AveragePooling2D": ({}, (4, 4, 2)),
    "BatchNormalization": ({}, (5,)),
    "Conv1D": ({"filters": 3, "kernel_size": 2}, (6, 2)),
    "Conv2D": ({"filters": 3, "kernel_size": 2}, (4, 4, 2)),
    "Dense": ({"units": 3}, (5,)),
    "Dropout": ({"rate": 0.5}, (3,)),
    "Embedding": ({"input_dim": 7, "output_dim": 3}, (4,)),
    "Flatten": ({}, (2, 3)),
    "GRU": ({"units": 3}, (4, 2)),
    "GlobalAveragePooling1D": ({}, (4, 2)),
    "GlobalAveragePooling2D": ({}, (3, 3, 2)),
    "GlobalMaxPooling1D": ({}, (4, 2)),
    "GlobalMaxPooling2D": ({}, (3, 3, 2)),
    "LSTM": ({"units": 3}, (4, 2)),
    "LayerNormalization": ({}, (5,)),
    "MaxPool1D": ({}, (6, 2)),
    "MaxPool2D": ({}, (4, 4, 2)),
    "Reshape": ({"target_shape": (3, 2)}, (6,)),
    "SimpleRNN": ({"units": 3}, (4, 2)),
}


def _built_in_layer_names():
    from nnlite.layers import base

    return sorted(name for name, cls in base._LAYER_CLASSES.items()
                  if cls.__module__.startswith("nnlite.layers.") and not name.startswith("_"))


@pytest.mark.parametrize("name", _built_in_layer_names())
def test_the_dry_build_of_every_layer_finds_the_real_shapes_and_allocates_nothing(name):
    from nnlite.layers import base

    assert name in LAYER_SAMPLES, f"add {name} to LAYER_SAMPLES in {__file__}"
    cls, (kwargs, shape) = base._LAYER_CLASSES[name], LAYER_SAMPLES[name]
    dry, used = cls(**kwargs), [0]
    serialization._dry_build(dry, shape, 2**40, used)
    real = cls(**kwargs)
    real.build(shape)
    assert ([(key, a.shape, a.dtype) for key, a in dry.weights()]
            == [(key, a.shape, a.dtype) for key, a in real.weights()])
    assert all(not any(a.strides) for _, a in dry.weights())  # stand-ins, not arrays
    assert used[0] == sum(a.nbytes for _, a in real.weights())


# ---- atomic writes ------------------------------------------------------------------------


def test_atomic_write_replaces_the_file_whole(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old")
    atomic_write(path, lambda f: f.write("a,b\r\n1,2\r\n"), mode="w")
    assert path.read_bytes() == b"a,b\r\n1,2\r\n"
    with atomic_open(path) as file:
        file.write(b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt])
def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, error):
    path = tmp_path / "out.bin"
    path.write_bytes(b"precious")

    def write(file):
        file.write(b"half")
        raise error

    with pytest.raises(type(error) if isinstance(error, BaseException) else error):
        atomic_write(path, write)
    assert path.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_a_save_interrupted_between_arrays_keeps_the_old_model(trained, tmp_path,
                                                               monkeypatch):
    model, x, _ = trained
    path = tmp_path / "m.nnlite"
    model.save(path)
    before = path.read_bytes()
    written = []

    def interrupted(archive, name, array):
        if written:
            raise KeyboardInterrupt
        written.append(name)

    monkeypatch.setattr(serialization, "_write_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.nnlite"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_atomic_write_keeps_an_existing_files_permissions_and_follows_links(tmp_path):
    path = tmp_path / "model.nnlite"
    path.write_bytes(b"old")
    path.chmod(0o640)
    link = tmp_path / "latest.nnlite"
    link.symlink_to(path)
    atomic_write(link, lambda f: f.write(b"new"))
    assert link.is_symlink() and path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh.bin"
    atomic_write(fresh, lambda f: f.write(b"x"))
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask


def test_a_folder_without_write_permission_is_named(tmp_path, monkeypatch):
    real_open = os.open

    def refuse(path, flags, mode=0o777, **kwargs):
        if str(path).endswith(".tmp"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(serialization.os, "open", refuse)
    with pytest.raises(PermissionError, match=r"cannot create a file in '.*' to write "
                       r"'out.bin': Permission denied"):
        atomic_write(tmp_path / "out.bin", lambda f: f.write(b"x"))
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_atomic_open_refuses_an_unknown_mode(tmp_path):
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w', got 'a'"):
        with atomic_open(tmp_path / "x", "a"):
            pass


def test_save_keeps_no_second_copy_of_the_weights_in_memory(tmp_path):
    import tracemalloc

    model = nnlite.Sequential([Dense(3000)], input_shape=(3000,))   # 36 MB of float32
    size = sum(a.nbytes for a in model.get_weights())
    tracemalloc.start()
    try:
        model.save(tmp_path / "big.nnlite")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.6 * size   # at most one 16 MiB chunk of NumPy's writer, not a copy
    loaded = nnlite.load_model(tmp_path / "big.nnlite")
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
