import io
import json
import pickle
import zipfile

import numpy as np
import pytest

import nnlite
from nnlite.layers import Dense, Dropout


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
