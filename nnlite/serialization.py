"""Save and load models: one zip file holding ``model.json`` and one ``.npy`` per array.

Loading never unpickles: arrays are read with ``allow_pickle=False`` and layers are created
only from classes already defined in the running program, by name.
"""

import io
import json
import zipfile

import numpy as np

FORMAT = "nnlite-model"
VERSION = 1


def save_model(model, path, metadata=None, include_optimizer=True) -> None:
    """Write ``model`` (architecture, compile settings, weights, ``metadata``) to ``path``.

    Raises:
        ValueError: when the model is not built, or ``metadata`` is not JSON-serialisable.
    """
    if not model.built:
        raise ValueError("save: the model is not built yet; call build(input_shape) or fit.")
    meta = model.metadata if metadata is None else metadata
    header = {"format": FORMAT, "version": VERSION, "model": model.get_config(),
              "metadata": meta}
    try:
        text = json.dumps(header, indent=1)
    except TypeError as exc:
        raise ValueError(f"save: the model config or metadata is not JSON-serialisable: "
                         f"{exc}.") from exc
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("model.json", text)
        for i, array in enumerate(model.get_weights()):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(f"weights/{i:04d}.npy", buffer.getvalue())
    model.metadata = meta


def load_model(path):
    """Read a model written by ``Sequential.save``.

    Returns:
        The Sequential, built, with its weights, compiled again when it was compiled, and
        its ``metadata`` dict.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: when the file is not an nnlite model, is truncated, or was altered.
    """
    from nnlite.model import Sequential

    try:
        with zipfile.ZipFile(path) as archive:
            header = _read_header(archive, path)
            names = sorted(n for n in archive.namelist() if n.startswith("weights/"))
            arrays = [_read_array(archive, name, path) for name in names]
    except zipfile.BadZipFile as exc:
        raise ValueError(f"load_model: {str(path)!r} is not an nnlite model file "
                         f"(not a valid archive: {exc}).") from exc
    except (EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"load_model: {str(path)!r} is truncated or unreadable: "
                         f"{exc}.") from exc

    spec = header["model"]
    try:
        model = Sequential.from_config(spec)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"load_model: {str(path)!r} holds an invalid model description: "
                         f"{exc}") from exc
    try:
        model.set_weights(arrays)
    except ValueError as exc:
        raise ValueError(f"load_model: {str(path)!r} has weights that do not fit its "
                         f"architecture: {exc}") from exc
    model.metadata = header.get("metadata") or {}
    return model


def _read_header(archive, path):
    try:
        header = json.loads(archive.read("model.json"))
    except KeyError as exc:
        raise ValueError(f"load_model: {str(path)!r} is not an nnlite model file "
                         "(no model.json inside).") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"load_model: {str(path)!r} has a corrupt model.json: {exc}.") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"load_model: {str(path)!r} is not an nnlite model file.")
    if header.get("version") != VERSION:
        raise ValueError(f"load_model: {str(path)!r} has format version "
                         f"{header.get('version')!r}; this nnlite reads version {VERSION}.")
    if not isinstance(header.get("model"), dict):
        raise ValueError(f"load_model: {str(path)!r} has no model description.")
    return header


def _read_array(archive, name, path):
    try:
        with archive.open(name) as handle:
            return np.lib.format.read_array(io.BytesIO(handle.read()), allow_pickle=False)
    except ValueError as exc:
        # NumPy refuses object arrays (which would need unpickling) with a ValueError.
        raise ValueError(f"load_model: {str(path)!r} entry {name} is not a plain numeric "
                         f"array and was refused ({exc}).") from exc
