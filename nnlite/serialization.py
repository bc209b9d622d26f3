"""Save and load models: one zip file holding ``model.json`` and one ``.npy`` per array.

Saving is atomic: the archive is written to a temporary file in the destination's folder,
flushed to disk and moved over the destination with ``os.replace`` only once complete, so a
full disk, a crash or Ctrl-C during a save leaves the previous file as it was
(``atomic_write`` / ``atomic_open`` do the same for any file).

Loading never unpickles and checks before it allocates. ``model.json`` is size- and
depth-limited before it is parsed; layer classes come only from the layer registry (a
built-in name always means the built-in); the shape of every array is worked out from the
config by a *dry build* that records the shapes layers ask for instead of allocating them,
with a byte budget tied to the archive's size; every archive member's declared size,
compression ratio and ``.npy`` header are checked against those shapes before any array is
read; arrays are read with bounded reads and refused when not finite. Every defect is a
ValueError naming the file.

File layout (format ``nnlite-model``, version 1)::

    model.json             {"format", "version", "model": Sequential.get_config(),
                            "metadata", ["preprocessing"], ["optimizer_state"]}
    weights/0000.npy ...   model.get_weights(), in order (each layer's params, then state)
    optimizer/0000.npy ... optimizer slots, in the order of optimizer_state["slots"]
"""

import contextlib
import json
import math
import numbers
import os
import socket
import stat
import struct
import warnings
import zipfile
import zlib

import numpy as np

FORMAT = "nnlite-model"
VERSION = 1

#: Largest ``model.json`` accepted, in bytes once inflated.
MAX_CONFIG_BYTES = 16 * 2**20
#: Deepest nesting of JSON lists and objects accepted in ``model.json``.
MAX_CONFIG_DEPTH = 64
#: Largest inflated-to-stored size ratio of a member over ``_RATIO_FLOOR`` bytes (nnlite
#: stores arrays uncompressed; a file deflated by another tool has a ratio near 1 for
#: trained weights, while a zip bomb's is around 1000).
MAX_COMPRESSION_RATIO = 100
_RATIO_FLOOR = 2**20
#: Absolute cap on the bytes of all the arrays one file may declare (weights and slots).
MAX_ARRAY_BYTES = 2**34
#: Largest ``.npy`` header accepted (nnlite writes headers of 128 bytes).
_MAX_NPY_HEADER = 4096
_MAX_NDIM = 8
_MAX_DIM = 2**31
_CHUNK = 4 * 2**20


# ---- atomic writes ---------------------------------------------------------------------


def atomic_write(path, write, mode="wb") -> None:
    """Write a file so that ``path`` ends up holding its old content or the complete new one.

    ``write(file)`` gets a temporary file in the same folder; when it returns, the file is
    flushed, fsynced and moved over ``path`` (``os.replace``). If ``write`` raises, or the
    process is interrupted (``KeyboardInterrupt``, a full disk), the temporary file is
    removed and ``path`` is untouched.

    Args:
        path: destination, a ``str`` or ``os.PathLike``. A symbolic link is followed: the
            link stays and the file it points to is replaced.
        write: function called with the open temporary file.
        mode: ``"wb"`` (binary) or ``"w"`` (text: UTF-8, ``newline=""`` so that the caller
            decides the line endings, as the ``csv`` module wants).

    Raises:
        TypeError: when ``path`` is not a path.
        FileNotFoundError: when the folder does not exist.
        IsADirectoryError: when ``path`` is a folder.
    """
    with atomic_open(path, mode) as file:
        write(file)


@contextlib.contextmanager
def atomic_open(path, mode="wb"):
    """Context-manager form of ``atomic_write``: ``with atomic_open(path) as f: f.write(...)``.

    The file appears at ``path`` only when the block ends without an exception. A file that
    already exists keeps its permission bits; a new one gets the usual ``0o666 & ~umask``.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open: mode must be 'wb' or 'w', got {mode!r}.")
    target = os.path.realpath(_fspath(path, "atomic_open"))
    folder, name = os.path.split(target)
    if os.path.isdir(target):
        raise IsADirectoryError(f"cannot write {str(path)!r}: it is a folder.")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {str(path)!r}: the folder {folder!r} does not "
                                "exist.")
    try:
        keep_mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        keep_mode = None
    fd, temp = _create_temp(folder, name)
    try:
        if keep_mode is not None and hasattr(os, "fchmod"):
            os.fchmod(fd, keep_mode)
        text = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
        with os.fdopen(fd, mode, **text) as file:
            fd = None  # the file object owns it now
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, target)
    except BaseException:
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _sync_folder(folder)
    _remove_leftovers(folder, name)


def _create_temp(folder, name):
    # os.open with O_EXCL and mode 0o666 rather than tempfile (which creates files 0o600):
    # the umask then gives a new model file the permissions any other new file would get.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp = os.path.join(folder, f".{name}.{_owner()}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
        except OSError as exc:  # name the folder, not the temporary file nobody asked for
            raise type(exc)(exc.errno, f"cannot create a file in {folder!r} to write {name!r}: "
                            f"{exc.strerror}") from exc
    raise FileExistsError(f"could not create a temporary file in {folder!r}.")


def _owner():
    """Who writes a temporary file, put in its name: the host and the process, so that a
    later save can tell the leftover of a killed process from a save still running."""
    return f"{socket.gethostname().replace('.', '-')}-{os.getpid()}"


def _remove_leftovers(folder, name):
    """Remove the temporary files that killed processes of this host left for ``name``
    (SIGKILL or a power cut gives ``atomic_open`` no chance to clean up), with one warning.
    Files of live processes, or of other hosts sharing the folder, are left alone."""
    host = _owner().rsplit("-", 1)[0]
    removed = 0
    for entry in os.listdir(folder):
        parts = entry[len(name) + 2:].split(".") if entry.startswith(f".{name}.") else []
        owner = parts[0].rsplit("-", 1) if len(parts) == 3 and parts[2] == "tmp" else []
        if len(owner) != 2 or owner[0] != host or not owner[1].isdigit():
            continue
        if int(owner[1]) == os.getpid() or _process_alive(int(owner[1])):
            continue
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, entry))
            removed += 1
    if removed:
        warnings.warn(f"removed {removed} temporary file(s) that an interrupted save of "
                      f"{name!r} left in {folder!r}.", stacklevel=4)


def _process_alive(pid):
    if os.name != "posix":
        return True   # no cheap check: keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:   # e.g. another user's process: it exists
        return True
    return True


def _sync_folder(folder):
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fspath(path, who) -> str:
    """Return ``path`` as a str, or raise TypeError / ValueError naming ``who``."""
    if isinstance(path, bytes | os.PathLike):
        path = os.fspath(path)
        if isinstance(path, bytes):
            if b"\0" in path:
                raise ValueError(f"{who}: got bytes holding NUL characters as the path; pass "
                                 "the file's path, not its content.")
            path = os.fsdecode(path)
    if not isinstance(path, str):
        raise TypeError(f"{who}: path must be a str or os.PathLike, got "
                        f"{type(path).__name__} {path!r}.")
    if not path or "\0" in path:
        raise ValueError(f"{who}: path must be a non-empty file name without NUL characters, "
                         f"got {path!r}.")
    return path


# ---- saving ----------------------------------------------------------------------------


def save_model(model, path, metadata=None, include_optimizer=True) -> None:
    """Write ``model`` (architecture, compile settings, weights, optimizer state,
    ``model.preprocessing`` and ``metadata``) to ``path``, atomically.

    Args:
        model: a built Sequential.
        path: destination file (``.nnlite`` is the usual suffix).
        metadata: JSON-ready dict stored beside the model (default ``model.metadata``).
        include_optimizer: also store the optimizer's step count, learning rate and slots
            (momentum buffers, moments), so that training resumes exactly after loading.

    Raises:
        TypeError: when ``path`` is not a path.
        ValueError: when the model is not built, holds non-finite weights (the file could
            not be loaded back), or ``metadata`` or the preprocessing object cannot be
            stored. The previous file at ``path``, if any, is then left as it was.
    """
    path = _fspath(path, "save")
    if not model.built:
        raise ValueError("save: the model is not built yet; call build(input_shape) or fit.")
    meta = model.metadata if metadata is None else metadata
    arrays = {}
    # The layers' own arrays, not get_weights()'s copies: a save needs no second copy of
    # the model in memory (write_array streams each one in chunks of at most 16 MiB).
    weights = (array for layer in model.layers for _, array in layer.weights())
    for i, array in enumerate(weights):
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(f"save: weight array {i} holds NaN or inf, and such a file would "
                             "be refused when loaded; the previous file was kept.")
        arrays[f"weights/{i:04d}.npy"] = array
    header = {"format": FORMAT, "version": VERSION, "model": model.get_config(),
              "metadata": meta}
    preprocessing = getattr(model, "preprocessing", None)
    if preprocessing is not None:
        header["preprocessing"] = _preprocessing_entry(preprocessing)
    if include_optimizer and getattr(model, "optimizer", None) is not None:
        state = model.optimizer.get_state()
        slots = []
        for (layer_name, key), named in state["slots"].items():
            for slot, array in named.items():
                arrays[f"optimizer/{len(slots):04d}.npy"] = array
                slots.append([layer_name, key, slot])
        header["optimizer_state"] = {"iterations": int(state["iterations"]),
                                     "learning_rate": float(state["learning_rate"]),
                                     "slots": slots}
    try:
        text = json.dumps(header, indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"save: the model config or metadata cannot be written as JSON: "
                         f"{exc}.") from exc
    atomic_write(path, lambda file: _write_archive(file, text, arrays))
    model.metadata = meta


def _write_archive(file, text, arrays):
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("model.json", text)
        for name, array in arrays.items():
            _write_array(archive, name, array)


def _write_array(archive, name, array):
    # Streamed into the archive: no second in-memory copy of a large array.
    big = array.nbytes > 2**31 - _MAX_NPY_HEADER
    with archive.open(name, "w", force_zip64=big) as member:
        np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)


def _text_vectorizer():
    from nnlite.text import TextVectorizer

    return TextVectorizer


#: The preprocessing classes a model file may name, each imported only when needed. A fixed
#: list, never an import path read from the file.
_PREPROCESSING = {"TextVectorizer": _text_vectorizer}


def _preprocessing_entry(obj):
    name = type(obj).__name__
    if name not in _PREPROCESSING or _PREPROCESSING[name]() is not type(obj):
        raise ValueError(f"save: model.preprocessing is a {name}, which cannot be stored; "
                         f"known: {', '.join(sorted(_PREPROCESSING))}.")
    return {"class_name": name, "config": obj.get_config()}


# ---- loading ---------------------------------------------------------------------------


class _Refused(ValueError):
    """A defect found by the loader's own checks (its message already names the file)."""


def load_model(path):
    """Read a model written by ``Sequential.save``, checking the whole file first.

    Loading draws no random numbers from nnlite's generator: after ``set_seed``, a script
    that saves and reloads a model continues exactly as one that did not.

    Returns:
        The Sequential, built, with its weights, compiled again when it was compiled (with
        the optimizer's state when the file has it), its ``metadata`` dict and, when one
        was saved, its ``preprocessing`` object.

    Raises:
        TypeError: when ``path`` is not a path.
        FileNotFoundError: when ``path`` does not exist.
        ValueError: when the file is not an nnlite model, is truncated, altered, declares
            sizes it does not hold or that exceed the limits, or holds non-finite weights.
    """
    from nnlite import config

    path = _fspath(path, "load_model")
    where = f"load_model: {path!r}"
    status = os.stat(path)  # FileNotFoundError stays what it is
    if stat.S_ISDIR(status.st_mode):
        raise ValueError(f"{where} is a folder, not a model file.")
    if not stat.S_ISREG(status.st_mode):  # a pipe or a device could block or never end
        raise ValueError(f"{where} is not a regular file.")
    size = status.st_size
    try:
        with zipfile.ZipFile(path) as archive, config.rng_scope(np.random.default_rng(0)):
            members = _members(archive, where)
            header = _read_header(archive, members, where)
            plan = _plan(header, members, size, where)
            header_sizes = [_check_member(archive, members[name], shape, dtype, label, where)
                            for name, shape, dtype, label in plan]
            # Every size is now known to be within the budget: allocating is safe. (The
            # layers draw their initial weights from a private generator, not nnlite's.)
            model = _build(header, where)
            arrays = [_read_array(archive, members[name], skip, shape, dtype, label, where)
                      for (name, shape, dtype, label), skip in zip(plan, header_sizes,
                                                                  strict=True)]
    except _Refused:
        raise
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{where} is not an nnlite model file (not a valid archive: "
                         f"{exc}).") from exc
    except FileNotFoundError:
        raise
    except (EOFError, OSError, zlib.error, struct.error, RuntimeError, NotImplementedError,
            OverflowError, ValueError) as exc:
        # The zip reader's own errors on a damaged file (a ValueError from it, e.g. a
        # negative seek, is a damaged file too; ours are _Refused and passed on above).
        raise ValueError(f"{where} is truncated or damaged: {type(exc).__name__}: "
                         f"{exc}.") from exc
    n_weights = sum(name.startswith("weights/") for name, *_ in plan)
    _restore(model, header, arrays[:n_weights], arrays[n_weights:], where)
    return model


def _members(archive, where):
    members = {}
    for info in archive.infolist():
        if info.filename in members:
            raise _Refused(f"{where} has two entries named {info.filename!r}; it was altered.")
        if not info.is_dir():
            members[info.filename] = info
    return members


def _read_header(archive, members, where):
    header = _parse_config(archive, members.get("model.json"), where)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _Refused(f"{where} is not an nnlite model file.")
    if header.get("version") != VERSION:
        raise _Refused(f"{where} has format version {header.get('version')!r}; this nnlite "
                       f"reads version {VERSION}.")
    spec = header.get("model")
    if not isinstance(spec, dict):
        raise _Refused(f"{where} has no model description.")
    layers = spec.get("layers")
    if not isinstance(layers, list) or not layers or not all(
            isinstance(e, dict) and isinstance(e.get("class_name"), str)
            and isinstance(e.get("config"), dict) for e in layers):
        raise _Refused(f"{where} holds an invalid model description: 'layers' must be a "
                       "non-empty list of {'class_name': str, 'config': dict}.")
    shape = spec.get("input_shape")
    if not (isinstance(shape, list) and 1 <= len(shape) <= _MAX_NDIM and all(
            _is_int(d) and 1 <= d <= _MAX_DIM for d in shape)):
        raise _Refused(f"{where} holds an invalid model description: input_shape must be a "
                       f"list of 1 to {_MAX_NDIM} positive ints up to {_MAX_DIM}, got "
                       f"{_short(shape)}.")
    if "compile" in spec and not isinstance(spec["compile"], dict):
        raise _Refused(f"{where} holds an invalid model description: 'compile' must be a "
                       "dict.")
    if header.get("metadata") is not None and not isinstance(header["metadata"], dict):
        raise _Refused(f"{where} has metadata that is not a JSON object.")
    return header


def _parse_config(archive, info, where):
    """``model.json`` parsed, after its size, compression and nesting depth are checked."""
    if info is None:
        raise _Refused(f"{where} is not an nnlite model file (no model.json inside).")
    if info.file_size > MAX_CONFIG_BYTES:
        raise _Refused(f"{where} has a model.json of {info.file_size:,} bytes; the limit is "
                       f"{MAX_CONFIG_BYTES:,}.")
    _check_compression(info, where)
    with archive.open(info) as handle:
        data = handle.read(MAX_CONFIG_BYTES + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Refused(f"{where} has a corrupt model.json (not UTF-8: {exc}).") from exc
    depth = _nesting_depth(data)
    if depth > MAX_CONFIG_DEPTH:
        raise _Refused(f"{where} has a model.json nested {depth} levels deep; the limit is "
                       f"{MAX_CONFIG_DEPTH}.")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _Refused(f"{where} has a corrupt model.json: {exc}.") from exc


def _no_constant(name):
    raise _Refused(f"model.json holds {name}, which is not JSON.")


def _nesting_depth(data: bytes, chunk=2**20) -> int:
    """Deepest nesting of ``[``/``{`` outside JSON strings, found without recursion.

    Vectorized over chunks: a quote opens or closes a string unless an odd number of
    backslashes precede it. Exact for valid JSON; for invalid JSON exact up to the first
    defect, which is as far as ``json.loads`` gets before it stops.
    """
    deepest = depth = quotes = run = 0  # run: backslashes ending the previous chunk
    for start in range(0, len(data), chunk):
        codes = np.frombuffer(data, np.uint8, count=min(chunk, len(data) - start),
                              offset=start)
        index = np.arange(len(codes))
        backslash = codes == 0x5C
        # Index of the last non-backslash at or before each position; leading backslashes
        # continue the previous chunk's run.
        last_plain = np.maximum.accumulate(np.where(backslash, -(run + 1), index))
        before = np.empty(len(codes), dtype=np.int64)  # backslashes just before each byte
        before[0] = run
        before[1:] = index[:-1] - last_plain[:-1]
        toggles = (codes == 0x22) & (before % 2 == 0)
        inside = (quotes + np.cumsum(toggles)) % 2 == 1
        delta = (codes == 0x5B).astype(np.int64) + (codes == 0x7B)
        delta -= (codes == 0x5D).astype(np.int64) + (codes == 0x7D)
        delta[inside] = 0
        levels = depth + np.cumsum(delta)
        deepest = max(deepest, int(levels.max()))
        depth, quotes = int(levels[-1]), quotes + int(toggles.sum())
        run = int(index[-1] - last_plain[-1])
    return deepest


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_compression(info, where):
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _Refused(f"{where} entry {info.filename} uses compression method "
                       f"{info.compress_type}; only stored and deflated entries are read.")
    if info.flag_bits & 0x1:
        raise _Refused(f"{where} entry {info.filename} is encrypted.")
    if (info.file_size > _RATIO_FLOOR
            and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)):
        raise _Refused(f"{where} entry {info.filename} would inflate {info.compress_size:,} "
                       f"bytes to {info.file_size:,} (ratio over {MAX_COMPRESSION_RATIO}); "
                       "refused as a likely zip bomb.")


# ---- the dry build: the shapes the config implies, without allocating them ---------------


class _TooLarge(Exception):
    pass


def _layer_class(name):
    """The layer class a file may name: only from the layer registry, where a built-in name
    always means the built-in (a notebook's own ``Dense`` cannot change what a saved file
    means) and nnlite's private bases are absent."""
    from nnlite.layers.base import get_layer_class

    return get_layer_class(name)


def _plan(header, members, size, where):
    """Dry-build the model from its config and return ``[(member, shape, dtype, label)]``
    for every array the file must hold, checking the budget before each shape is accepted.

    Each layer is built with its ``_add_param`` and ``_add_state`` replaced by a recorder
    that adds the requested size to a running total, refuses it past the budget, and hands
    the layer a zero-stride view of a single element instead of a real array, so even a
    config declaring ``Dense(units=60_000_000)`` allocates nothing.
    The budget is ``MAX_COMPRESSION_RATIO`` times the file's size (the arrays must be in
    the file), capped at ``MAX_ARRAY_BYTES``.
    """
    spec = header["model"]
    budget = min(MAX_ARRAY_BYTES, max(size, 1) * MAX_COMPRESSION_RATIO)
    used = [0]
    arrays, params = [], {}
    try:
        shape = tuple(spec["input_shape"])
        for entry in spec["layers"]:
            layer = _layer_class(entry["class_name"])(**entry["config"])
            if any(layer.name == key[0] for key in params):
                raise ValueError(f"layer name {layer.name!r} is used twice.")
            _dry_build(layer, shape, budget, used)
            for key, value in layer.weights():  # params, then state: get_weights' order
                arrays.append((value.shape, value.dtype, f"{layer.name!r} {key}"))
                if key in layer.params:
                    params[(layer.name, key)] = (value.shape, value.dtype)
            shape = tuple(layer.output_shape(shape))
        slots = _plan_slots(header, params, budget, used)
    except _Refused:
        raise
    except _TooLarge as exc:
        raise _Refused(f"{where} declares {exc}, more than a file of {size:,} bytes can hold "
                       f"(limit {budget:,} bytes); refused before allocating.") from None
    except Exception as exc:  # a tampered config can make any constructor raise anything
        raise _Refused(f"{where} holds an invalid model description: {exc}") from exc
    plan = [(f"weights/{i:04d}.npy", *entry) for i, entry in enumerate(arrays)]
    plan += [(f"optimizer/{i:04d}.npy", *entry) for i, entry in enumerate(slots)]
    unexpected = sorted(set(members) - {"model.json"} - {name for name, *_ in plan})
    if unexpected:
        raise _Refused(f"{where} holds entries its config does not declare: "
                       f"{', '.join(unexpected[:5])}; it was altered.")
    missing = [name for name, *_ in plan if name not in members]
    if missing:
        raise _Refused(f"{where} has weights that do not fit its architecture: the config "
                       f"needs {len(plan)} arrays and {missing[0]} is missing.")
    return plan


def _dry_build(layer, input_shape, budget, used):
    fakes = set()

    def record(target, key, shape):
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape) or len(shape) > 32:
            raise ValueError(f"{layer.name!r} asks for an array of shape {shape}.")
        _spend(used, math.prod(shape) * layer.dtype.itemsize, budget,
               f"layer {layer.name!r} ({key} of shape {shape})")
        fake = np.lib.stride_tricks.as_strided(np.zeros(1, layer.dtype), shape,
                                               (0,) * len(shape), writeable=True)
        fakes.add(id(fake))
        target[key] = fake
        return fake

    def add_param(key, shape, initializer=None):
        layer.grads[key] = record(layer.params, key, shape)

    def add_state(key, shape, initializer=None):
        record(layer.state, key, shape)

    layer._add_param = add_param
    layer._add_state = add_state
    layer.build(input_shape)
    # An array made without the hooks has been allocated already; count it all the same.
    for key, value in layer.weights():
        if id(value) not in fakes:
            _spend(used, value.nbytes, budget, f"layer {layer.name!r} ({key})")


def _spend(used, nbytes, budget, what):
    used[0] += nbytes
    if used[0] > budget:
        raise _TooLarge(f"{used[0]:,} bytes of arrays by {what}")


def _plan_slots(header, params, budget, used):
    state = header.get("optimizer_state")
    if state is None:
        return []
    from nnlite import optimizers

    if "compile" not in header["model"]:
        raise ValueError("it has optimizer_state but no compile settings.")
    if not isinstance(state, dict) or not isinstance(state.get("slots"), list):
        raise ValueError("optimizer_state must be a dict with a 'slots' list.")
    optimizer = optimizers.get(header["model"]["compile"].get("optimizer"))
    seen, slots = set(), []
    for entry in state["slots"]:
        if not (isinstance(entry, list) and len(entry) == 3
                and all(isinstance(part, str) for part in entry)):
            raise ValueError(f"each optimizer slot must be [layer, param, slot], got "
                             f"{_short(entry)}.")
        layer_name, key, slot = entry
        if (layer_name, key) not in params:
            raise ValueError(f"an optimizer slot names param {layer_name!r} {key}, which the "
                             "model does not have.")
        if slot not in optimizer.slot_names or tuple(entry) in seen:
            raise ValueError(f"optimizer slot {slot!r} of {layer_name!r} {key} is unknown to "
                             f"{optimizer!r} or repeated.")
        seen.add(tuple(entry))
        shape, dtype = params[(layer_name, key)]
        _spend(used, math.prod(shape) * dtype.itemsize, budget, "the optimizer's slots")
        slots.append((shape, dtype, f"optimizer slot {slot!r} of {layer_name!r} {key}"))
    return slots


# ---- reading the arrays ----------------------------------------------------------------


class _Counting:
    """A read-only file wrapper that counts the bytes read through it."""

    def __init__(self, handle):
        self.handle, self.count = handle, 0

    def read(self, size=-1):
        data = self.handle.read(size)
        self.count += len(data)
        return data


def _check_member(archive, info, shape, dtype, label, where):
    """Check an entry's sizes and ``.npy`` header against the expected array, reading only
    the header; return the header's length in bytes."""
    name = info.filename
    nbytes = math.prod(shape) * dtype.itemsize
    if not nbytes < info.file_size <= nbytes + _MAX_NPY_HEADER:
        raise _Refused(f"{where} has weights that do not fit its architecture: entry {name} "
                       f"declares {info.file_size:,} bytes, but {label} of shape {shape} "
                       f"{dtype} needs {nbytes:,} plus a header.")
    _check_compression(info, where)
    with archive.open(info) as handle:
        counting = _Counting(handle)
        try:
            version = np.lib.format.read_magic(counting)
            if version == (1, 0):
                found = np.lib.format.read_array_header_1_0(counting,
                                                            max_header_size=_MAX_NPY_HEADER)
            elif version == (2, 0):
                found = np.lib.format.read_array_header_2_0(counting,
                                                            max_header_size=_MAX_NPY_HEADER)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except (ValueError, SyntaxError, TypeError) as exc:
            # NumPy refuses object arrays (which would need unpickling) with a ValueError.
            raise _Refused(f"{where} entry {name} is not a plain numeric array and was "
                           f"refused ({exc}).") from exc
    found_shape, fortran, found_dtype = found
    if found_dtype.kind not in "biuf":
        raise _Refused(f"{where} entry {name} is not a plain numeric array ({found_dtype}) "
                       "and was refused; it was never unpickled.")
    if found_shape != shape or found_dtype != dtype or fortran:
        raise _Refused(f"{where} has weights that do not fit its architecture: entry {name} "
                       f"holds {found_dtype} {found_shape}"
                       f"{' in Fortran order' if fortran else ''}, but {label} must be "
                       f"{dtype} {shape}.")
    if counting.count + nbytes != info.file_size:
        raise _Refused(f"{where} entry {name} has {info.file_size - counting.count - nbytes:+,} "
                       f"bytes beyond its {dtype} {shape} array; it was altered.")
    return counting.count


def _read_array(archive, info, skip, shape, dtype, label, where):
    """Read exactly the bytes the header declares, in chunks, into a new array."""
    array = np.empty(shape, dtype)
    flat = array.reshape(-1).view(np.uint8)
    with archive.open(info) as handle:
        handle.read(skip)
        filled = 0
        while filled < len(flat):
            data = handle.read(min(_CHUNK, len(flat) - filled))
            if not data:
                raise _Refused(f"{where} entry {info.filename} is truncated: {filled:,} of "
                               f"{len(flat):,} bytes.")
            flat[filled:filled + len(data)] = np.frombuffer(data, np.uint8)
            filled += len(data)
        handle.read(1)  # reaching the end makes the zip reader check the CRC
    if not np.isfinite(array).all():
        raise _Refused(f"{where} has non-finite weights (NaN or inf) in {info.filename} "
                       f"({label}); refused.")
    return array


# ---- rebuilding ------------------------------------------------------------------------


def _build(header, where):
    """The Sequential that the checked config describes (compiled when it was)."""
    from nnlite.model import Sequential

    try:
        return Sequential.from_config(header["model"])
    except Exception as exc:  # a tampered config can make any constructor raise anything
        raise _Refused(f"{where} holds an invalid model description: {exc}") from exc


def _restore(model, header, weights, slot_arrays, where):
    try:
        model.set_weights(weights)
    except ValueError as exc:
        raise _Refused(f"{where} has weights that do not fit its architecture: "
                       f"{exc}") from exc
    state = header.get("optimizer_state")
    if state is not None:
        slots = {}
        for (layer_name, key, slot), array in zip(state["slots"], slot_arrays, strict=True):
            slots.setdefault((layer_name, key), {})[slot] = array
        try:
            model.optimizer.set_state({"iterations": state.get("iterations"),
                                       "learning_rate": state.get("learning_rate"),
                                       "slots": slots}, layers=model.layers)
        except (TypeError, ValueError) as exc:
            raise _Refused(f"{where} has an invalid optimizer state: {exc}") from exc
    entry = header.get("preprocessing")
    if entry is not None:
        model.preprocessing = _load_preprocessing(entry, where)
    model.metadata = header.get("metadata") or {}


def _load_preprocessing(entry, where):
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise _Refused(f"{where} has an invalid preprocessing entry.")
    name = entry.get("class_name")
    if name not in _PREPROCESSING:
        raise _Refused(f"{where} names preprocessing class {_short(name)}; known: "
                       f"{', '.join(sorted(_PREPROCESSING))}.")
    try:
        cls = _PREPROCESSING[name]()
    except ImportError as exc:
        raise _Refused(f"{where} needs {name}, which this nnlite does not have.") from exc
    try:
        return cls.from_config(entry["config"])
    except Exception as exc:  # the config is data from the file: refuse anything it causes
        raise _Refused(f"{where} has an invalid {name} config: {exc}") from exc
