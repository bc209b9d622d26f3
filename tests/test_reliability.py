"""Nothing lost, nothing silent: saves under faults, exact resumes, hostile model files.

The property-based tests run a few dozen examples in ``make test``; for a long run:
``NNLITE_HYPOTHESIS_PROFILE=long python -m pytest tests/test_reliability.py`` (see
tests/conftest.py).
"""

import io
import json
import os
import select
import signal
import struct
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnlite
from nnlite import optimizers, serialization
from nnlite.callbacks import ModelCheckpoint
from nnlite.layers import Dense, Dropout

ALLOWED = (ValueError, TypeError, FileNotFoundError)
MB = 2**20


def _examples(n):
    """``n`` examples in ``make test``; the loaded profile's number in a long run."""
    if os.environ.get("NNLITE_HYPOTHESIS_PROFILE"):
        return max(n, settings.default.max_examples)
    return n


def _small_model(units=8, seed=0):
    nnlite.set_seed(seed)
    model = nnlite.Sequential([Dense(units, activation="relu"),
                               Dense(3, activation="softmax")], input_shape=(4,))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


# ---- fault injection: a save that fails or is killed leaves the old file -----------------


def _run_in_child(body):
    """Fork; run ``body()`` in the child and exit with its return code; return the pid."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            code = body()
        finally:
            os._exit(code)
    return pid


def _exit_code(pid):
    _, status = os.waitpid(pid, 0)
    return status


def _assert_same_model(path, expected_bytes, model, x):
    assert path.read_bytes() == expected_bytes
    np.testing.assert_array_equal(nnlite.load_model(path).predict(x), model.predict(x))


fork_only = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")


@fork_only
@pytest.mark.parametrize("signal_default", [False, True])
def test_a_save_that_hits_the_file_size_limit_keeps_the_old_file(tmp_path, rng,
                                                                  signal_default):
    resource = pytest.importorskip("resource")
    old = _small_model()
    path = tmp_path / "m.nnlite"
    old.save(path)
    expected = path.read_bytes()
    bigger = _small_model(units=1000)  # 32 kB of weights, over the 8 kB limit below

    def save_over_the_limit():
        # Python ignores SIGXFSZ, so the write fails with EFBIG; with the signal's default
        # action the process is killed in the middle of the write, as C programs are.
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL if signal_default else signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, resource.RLIM_INFINITY))
        try:
            bigger.save(path)
        except OSError:
            return 3
        return 0

    status = _exit_code(_run_in_child(save_over_the_limit))
    if signal_default:
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXFSZ
    else:
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3
        # A save that fails with an error cleans up after itself.
        assert [p.name for p in tmp_path.iterdir()] == ["m.nnlite"]
    _assert_same_model(path, expected, old, rng.standard_normal((5, 4)))


@fork_only
def test_a_save_killed_midway_keeps_the_old_file(tmp_path, rng):
    old = _small_model()
    path = tmp_path / "m.nnlite"
    old.save(path)
    expected = path.read_bytes()
    new = _small_model(units=16, seed=1)
    read_end, write_end = os.pipe()

    def slow_save():
        os.close(read_end)
        real = serialization._write_array

        def slow(archive, name, array):
            real(archive, name, array)
            os.write(write_end, b"1")  # one array is in the temporary file: kill me now
            time.sleep(60)

        serialization._write_array = slow
        new.save(path)
        return 0

    pid = _run_in_child(slow_save)
    os.close(write_end)
    ready, _, _ = select.select([read_end], [], [], 60)
    assert ready and os.read(read_end, 1) == b"1"
    os.kill(pid, signal.SIGKILL)
    status = _exit_code(pid)
    os.close(read_end)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    # The half-written temporary file is there, beside the intact model.
    leftovers = [p for p in tmp_path.iterdir() if p.name != "m.nnlite"]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".m.nnlite.")
    _assert_same_model(path, expected, old, rng.standard_normal((5, 4)))
    # The next save removes it, and says so; another file's leftover and a file in the old
    # naming are not touched.
    other = tmp_path / f".other.nnlite.{leftovers[0].name.split('.')[3]}.0badc0de.tmp"
    other.write_bytes(b"x")
    unowned = tmp_path / ".m.nnlite.0badc0de.tmp"
    unowned.write_bytes(b"x")
    with pytest.warns(UserWarning, match=r"removed 1 temporary file\(s\) that an interrupted "
                                         r"save of 'm.nnlite' left"):
        old.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["m.nnlite", other.name, unowned.name])


# ---- resuming: fit 2 + save + load + fit 2 == fit 4, bit for bit ------------------------


RESUMABLE = {
    "sgd_momentum": lambda: optimizers.SGD(0.05, momentum=0.9),
    "sgd_nesterov": lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda: optimizers.Adam(0.01),
    "rmsprop": lambda: optimizers.RMSprop(0.01),
}


def _resume_model(make, dropout):
    nnlite.set_seed(7)
    layers = [Dense(16, activation="relu")] + ([Dropout(0.3)] if dropout else [])
    model = nnlite.Sequential([*layers, Dense(3, activation="softmax")], input_shape=(4,))
    model.compile(optimizer=make(), loss="sparse_categorical_crossentropy")
    return model


def _resume_data():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((60, 4)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1)


@pytest.mark.parametrize("name", sorted(RESUMABLE))
@pytest.mark.parametrize("shuffle", [False, True])
def test_a_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path, name, shuffle):
    x, y = _resume_data()
    fit = {"batch_size": 8, "shuffle": shuffle, "verbose": 0}
    # With shuffle=True the epochs' orders and the dropout masks come from nnlite's seed,
    # which loading must not touch.
    straight = _resume_model(RESUMABLE[name], dropout=shuffle)
    straight.fit(x, y, epochs=4, **fit)
    first = _resume_model(RESUMABLE[name], dropout=shuffle)
    first.fit(x, y, epochs=2, **fit)
    first.save(tmp_path / "m.nnlite")
    resumed = nnlite.load_model(tmp_path / "m.nnlite")
    resumed.fit(x, y, epochs=2, **fit)
    for expected, got in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert resumed.optimizer.iterations == straight.optimizer.iterations


@pytest.mark.parametrize("name", ["sgd_momentum", "adam"])
def test_without_the_optimizer_state_the_resumed_run_differs(tmp_path, name):
    # The control for the test above: it can fail, and fails when the state is dropped.
    x, y = _resume_data()
    straight = _resume_model(RESUMABLE[name], dropout=False)
    straight.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0)
    first = _resume_model(RESUMABLE[name], dropout=False)
    first.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    first.save(tmp_path / "m.nnlite", include_optimizer=False)
    resumed = nnlite.load_model(tmp_path / "m.nnlite")
    resumed.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert not np.array_equal(resumed.get_weights()[0], straight.get_weights()[0])


# ---- memory bombs: refused before any large allocation ----------------------------------


def _zip(entries):
    """A zip archive from ``(name, method, crc, stored_bytes, inflated_size)`` entries,
    written by hand so that a member's data can be a prepared deflate stream."""
    body, central = bytearray(), bytearray()
    for name, method, crc, data, size in entries:
        encoded = name.encode()
        central += struct.pack("<4sHHHHHHLLLHHHHHLL", b"PK\x01\x02", 20, 20, 0, method, 0,
                               0, crc, len(data), size, len(encoded), 0, 0, 0, 0, 0,
                               len(body)) + encoded
        body += struct.pack("<4sHHHHHLLLHH", b"PK\x03\x04", 20, 0, method, 0, 0, crc,
                            len(data), size, len(encoded), 0) + encoded + data
    end = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                      len(central), len(body), 0)
    return bytes(body + central + end)


def _stored(name, data):
    return (name, zipfile.ZIP_STORED, zlib.crc32(data), data, len(data))


def _zero_bomb(name, prefix, megabytes):
    """A deflated member: ``prefix`` then ``megabytes`` MiB of zeros, about 1 kB per MiB.

    After a full flush the compressor starts afresh, so every MiB of zeros compresses to
    the same bytes: compress one and repeat it."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(MB)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    data = head + block * megabytes + compressor.flush(zlib.Z_FINISH)
    crc = zlib.crc32(prefix)
    for _ in range(megabytes):
        crc = zlib.crc32(zeros, crc)
    return name, zipfile.ZIP_DEFLATED, crc, data, len(prefix) + megabytes * MB


def _npy_header(shape):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False,
                                                  "shape": shape})
    return buffer.getvalue()


def _header(layers, input_shape, metadata=None):
    return json.dumps({"format": "nnlite-model", "version": 1, "metadata": metadata or {},
                       "model": {"name": "m", "input_shape": input_shape,
                                 "layers": layers}}).encode()


def _dense(units, name="dense", use_bias=True):
    return {"class_name": "Dense", "config": {"units": units, "name": name,
                                              "use_bias": use_bias}}


def _refused_cheaply(path, message):
    """load_model refuses ``path`` with ``message`` and never holds more than 50 MB."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=message):
            nnlite.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * MB


GIB_OF_FLOATS = 2**28  # float32 values in 1 GiB


@pytest.fixture(scope="module")
def gigabyte_bomb():
    """A weights member of ~1 MB that inflates to 1 GiB, behind a real .npy header."""
    header = _npy_header((1, GIB_OF_FLOATS))
    return _zero_bomb("weights/0000.npy", header, 1024)


def test_a_member_that_inflates_past_what_the_config_implies_is_refused(tmp_path,
                                                                         gigabyte_bomb):
    path = tmp_path / "bomb.nnlite"
    header = _header([_dense(3, use_bias=False)], [1])
    path.write_bytes(_zip([_stored("model.json", header), gigabyte_bomb]))
    assert path.stat().st_size < 1.2 * MB
    _refused_cheaply(path, r"entry weights/0000.npy declares 1,073,741,952 bytes, but "
                           r"'dense' kernel of shape \(1, 3\) float32 needs 12 plus a header")


def test_a_config_that_declares_the_bombs_size_is_refused(tmp_path, gigabyte_bomb):
    path = tmp_path / "bomb.nnlite"
    header = _header([_dense(GIB_OF_FLOATS, use_bias=False)], [1])
    path.write_bytes(_zip([_stored("model.json", header), gigabyte_bomb]))
    _refused_cheaply(path, r"declares 1,073,741,824 bytes of arrays by layer 'dense' "
                           r"\(kernel of shape \(1, 268435456\)\), more than a file of "
                           r"[\d,]+ bytes can hold")


def test_a_tiny_config_declaring_dense_60_million_is_refused(tmp_path):
    path = tmp_path / "big.nnlite"
    header = _header([_dense(60_000_000)], [4])
    path.write_bytes(_zip([_stored("model.json", header)]))
    assert path.stat().st_size < 400
    _refused_cheaply(path, r"declares 960,000,000 bytes of arrays by layer 'dense'")


@pytest.mark.parametrize(("layers", "input_shape"), [
    ([_dense(10**30)], [4]),
    ([_dense(2**40), _dense(2)], [4]),
    ([{"class_name": "Embedding", "config": {"input_dim": 10**9, "output_dim": 10**3}}], [5]),
    ([{"class_name": "Conv2D", "config": {"filters": 10**6, "kernel_size": 3}}], [9, 9, 3]),
    ([{"class_name": "SimpleRNN", "config": {"units": 10**6}}], [5, 4]),
])
def test_huge_layers_of_every_kind_are_refused_before_allocating(tmp_path, layers,
                                                                  input_shape):
    path = tmp_path / "big.nnlite"
    path.write_bytes(_zip([_stored("model.json", _header(layers, input_shape))]))
    _refused_cheaply(path, "bytes of arrays by layer .* refused before allocating")


def test_the_optimizer_slots_count_in_the_budget(tmp_path, monkeypatch):
    model = nnlite.Sequential([Dense(50, use_bias=False)], input_shape=(100,))
    model.compile(optimizer="adam", loss="mse")
    model.train_on_batch(np.ones((2, 100)), np.ones((2, 50)))
    path = tmp_path / "m.nnlite"
    model.save(path)
    # The 20 kB of weights fit under a 50 kB cap; with Adam's two slots they would not.
    monkeypatch.setattr(serialization, "MAX_ARRAY_BYTES", 50_000)
    with pytest.raises(ValueError, match="60,000 bytes of arrays by the optimizer's slots"):
        nnlite.load_model(path)
    model.save(path, include_optimizer=False)
    assert nnlite.load_model(path).optimizer.iterations == 0


def test_deeply_nested_json_is_refused_without_recursion(tmp_path):
    path = tmp_path / "deep.nnlite"
    deep = b"[" * 200_000 + b"]" * 200_000
    header = _header([_dense(2)], [3]).replace(b'"metadata": {}', b'"metadata": ' + deep)
    path.write_bytes(_zip([_stored("model.json", header)]))
    _refused_cheaply(path, "has a model.json nested 200001 levels deep; the limit is 64")


def test_an_oversized_or_highly_compressed_config_is_refused(tmp_path):
    path = tmp_path / "big.nnlite"
    path.write_bytes(_zip([_zero_bomb("model.json", b"", 20)]))
    _refused_cheaply(path, r"has a model.json of 20,971,520 bytes; the limit is 16,777,216")
    path.write_bytes(_zip([_zero_bomb("model.json", b"", 10)]))
    _refused_cheaply(path, r"entry model.json would inflate [\d,]+ bytes to 10,485,760 "
                           r"\(ratio over 100\); refused as a likely zip bomb")


def test_brackets_and_escapes_inside_strings_do_not_count_as_nesting(tmp_path, rng):
    model = _small_model()
    path = tmp_path / "m.nnlite"
    metadata = {"text": "[[[[{{{{" * 100 + '\\"[[[\\\\"' + "]]]" * 50, "list": [[["ok"]]]}
    model.save(path, metadata=metadata)
    assert nnlite.load_model(path).metadata == metadata


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab'),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=4), inner,
                                      max_size=3),
                    max_leaves=30))
@settings(max_examples=_examples(60), deadline=None)
def test_the_nesting_depth_scan_agrees_with_the_parsed_structure(value):
    def depth(v):
        children = v.values() if isinstance(v, dict) else v if isinstance(v, list) else []
        return 1 + max((depth(c) for c in children), default=0) if isinstance(
            v, dict | list) else 0

    data = json.dumps(value).encode()
    assert serialization._nesting_depth(data) == depth(value)
    assert serialization._nesting_depth(data, chunk=3) == depth(value)  # across chunks


def test_the_compression_ratio_limit(tmp_path):
    info = zipfile.ZipInfo("weights/0000.npy")
    info.compress_type, info.file_size, info.compress_size = zipfile.ZIP_DEFLATED, 300 * MB, MB
    with pytest.raises(ValueError, match=r"would inflate 1,048,576 bytes to 314,572,800"):
        serialization._check_compression(info, "load_model: 'x'")
    info.compress_size = 3 * MB + 1  # a ratio just under 100 passes
    serialization._check_compression(info, "load_model: 'x'")


# ---- property-based: hostile files give only the documented errors -----------------------


@pytest.fixture(scope="module")
def valid_file_bytes(tmp_path_factory):
    model = _small_model(units=5)
    model.fit(np.ones((4, 4)), np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("valid") / "m.nnlite"
    model.save(path, metadata={"note": "hello"})
    return path.read_bytes()


def _load_bytes(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("case") / "m.nnlite"
    path.write_bytes(data)
    try:
        model = nnlite.load_model(path)
    except ALLOWED:
        return None
    assert all(np.isfinite(w).all() for w in model.get_weights())
    return model


_SETTINGS = settings(max_examples=_examples(40), deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])


@_SETTINGS
@given(data=st.binary(max_size=2048))
def test_random_bytes_give_only_documented_errors(data, tmp_path_factory):
    assert _load_bytes(data, tmp_path_factory) is None


@_SETTINGS
@given(fraction=st.floats(0.0, 0.9999))
def test_truncated_files_give_only_documented_errors(fraction, valid_file_bytes,
                                                     tmp_path_factory):
    cut = valid_file_bytes[:int(len(valid_file_bytes) * fraction)]
    assert _load_bytes(cut, tmp_path_factory) is None


@_SETTINGS
@given(flips=st.lists(st.tuples(st.floats(0.0, 0.9999), st.integers(1, 255)), min_size=1,
                      max_size=4))
def test_flipped_bytes_give_only_documented_errors(flips, valid_file_bytes,
                                                   tmp_path_factory):
    data = bytearray(valid_file_bytes)
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    _load_bytes(bytes(data), tmp_path_factory)  # a harmless flip (a timestamp) may load


def _containers(inner):
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                         max_size=4)


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70)
                     | st.floats(allow_nan=False) | st.text(max_size=8), _containers,
                     max_leaves=12)


@_SETTINGS
@given(data=st.data())
def test_random_json_in_the_config_gives_only_documented_errors(data, valid_file_bytes,
                                                                 tmp_path_factory):
    with zipfile.ZipFile(io.BytesIO(valid_file_bytes)) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    header = json.loads(entries["model.json"])
    # Replace one value somewhere in the header (or the whole header) with random JSON.
    paths = [()]
    stack = [((), header)]
    while stack:
        path, node = stack.pop()
        children = node.items() if isinstance(node, dict) else enumerate(node) \
            if isinstance(node, list) else []
        for key, child in children:
            paths.append((*path, key))
            stack.append(((*path, key), child))
    target = data.draw(st.sampled_from(paths))
    value = data.draw(_JSON)
    if target == ():
        header = value
    else:
        node = header
        for key in target[:-1]:
            node = node[key]
        node[target[-1]] = value
    entries["model.json"] = json.dumps(header).encode()
    _load_bytes(_zip([_stored(n, d) for n, d in entries.items()]), tmp_path_factory)


# ---- ModelCheckpoint: a bad path fails before the first epoch ----------------------------


def _checkpointed_fit(path, rng, **fit):
    model = _small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = rng.standard_normal((20, 4))
    y = rng.integers(0, 3, 20)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[ModelCheckpoint(path)], **fit)
    return model


def test_a_checkpoint_folder_that_does_not_exist_fails_before_training(tmp_path, rng):
    model = _small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"ModelCheckpoint: the folder '.*nope' of "
                       r"'.*nope/m-\{epoch\}.nnlite' does not exist; create it before fit"):
        model.fit(rng.standard_normal((8, 4)), rng.integers(0, 3, 8), epochs=2, verbose=0,
                  callbacks=[ModelCheckpoint(tmp_path / "nope" / "m-{epoch}.nnlite")])
    assert model.optimizer.iterations == 0


def test_a_val_field_without_validation_data_fails_before_training(tmp_path, rng):
    model = _small_model()
    with pytest.raises(ValueError, match=r"filepath '.*m-\{val_loss:\.2f\}\.nnlite' field "
                       r"\{val_loss\} needs validation data"):
        model.fit(rng.standard_normal((8, 4)), rng.integers(0, 3, 8), epochs=2, verbose=0,
                  callbacks=[ModelCheckpoint(tmp_path / "m-{val_loss:.2f}.nnlite")])
    assert model.optimizer.iterations == 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="needs POSIX permissions that apply (not root)")
def test_a_checkpoint_folder_that_cannot_be_written_fails_before_training(tmp_path, rng):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="is not writable"):
            _checkpointed_fit(folder / "m.nnlite", rng)
    finally:
        folder.chmod(0o700)


def _begin(path, params=None):
    model = _small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    callback = ModelCheckpoint(path)
    callback.set_model(model)
    if params is not None:
        callback.params = params
    callback.on_train_begin({})


@pytest.mark.parametrize(("name", "params", "message"), [
    ("m-{val_loss:.3f}.nnlite", {"do_validation": False},
     r"field \{val_loss\} needs validation data \(validation_data or validation_split\)"),
    ("m-{acc}.nnlite", None, r"field \{acc\} is not a value the logs will hold; use epoch or "
                             r"one of accuracy, learning_rate, loss, val_accuracy, val_loss"),
    ("m-{}.nnlite", None, r"field \{\} is not a value"),
    ("m-{loss:d}.nnlite", None, "cannot be formatted with the logs: ValueError"),
    ("m-{loss.nnlite", None, "is not a valid format string"),
    ("m-{epoch}-{val_accuracy}.nnlite", {"do_validation": False, "metrics": ["accuracy"]},
     r"field \{val_accuracy\} needs validation data"),
])
def test_a_checkpoint_path_that_the_logs_cannot_fill_fails_at_train_begin(tmp_path, name,
                                                                          params, message):
    with pytest.raises(ValueError, match=message):
        _begin(tmp_path / name, params)


def test_checkpoint_paths_that_the_logs_fill(tmp_path, rng):
    _begin(tmp_path / "m-{epoch:03d}-{val_loss:.2f}.nnlite", {"do_validation": True})
    _begin(tmp_path / "m-{accuracy:.2f}.nnlite", {"do_validation": False})
    with pytest.raises(ValueError, match="names a folder, not a file"):
        _begin(tmp_path)
    _checkpointed_fit(tmp_path / "m-{epoch}-{learning_rate}-{val_loss:.1f}.nnlite", rng,
                      validation_split=0.25)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and names[0].startswith("m-1-0.01-")


def test_a_checkpoint_save_that_fails_keeps_the_previous_checkpoint(tmp_path, rng,
                                                                     monkeypatch):
    path = tmp_path / "last.nnlite"
    real, calls = serialization._write_array, []

    def fails_on_the_second_save(archive, name, array):
        calls.append(name)
        if calls.count("weights/0000.npy") == 2:
            raise OSError(28, "No space left on device")
        real(archive, name, array)

    monkeypatch.setattr(serialization, "_write_array", fails_on_the_second_save)
    with pytest.raises(OSError, match="No space left"):
        _checkpointed_fit(path, rng)
    monkeypatch.undo()
    assert nnlite.load_model(path).optimizer.iterations == 1  # the first epoch's checkpoint
    assert [p.name for p in tmp_path.iterdir()] == ["last.nnlite"]
