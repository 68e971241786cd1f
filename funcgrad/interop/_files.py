"""Read a checkpoint file into a flat ``{name: numpy array}`` state_dict; nothing is written.

Two formats, told apart by the file's suffix:

* ``.safetensors``: read with the ``safetensors`` package's NumPy API, so PyTorch is not needed.
  bfloat16 tensors, which NumPy cannot name, are read from the file's raw bytes as JAX's bfloat16.
* ``.pt`` / ``.pth`` (``torch.save``): read with ``torch.load(path, weights_only=True,
  map_location="cpu")``, which never runs code from the file. A file that pickles a whole
  ``nn.Module`` is refused with the fix (save ``model.state_dict()`` instead).

Every failure is one line that names the file, the problem and the fix.
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

from funcgrad.interop._torch import import_torch

__all__ = ["TORCH_SUFFIXES", "is_path", "read_state_dict"]

TORCH_SUFFIXES = (".pt", ".pth")
_SAFETENSORS = ".safetensors"
_FORMATS = "a .pt/.pth file (torch.save) or a .safetensors file"


def is_path(value: Any) -> bool:
    """Whether ``value`` names a file (a ``str`` or an ``os.PathLike``).

    Example:
        >>> is_path("model.pt"), is_path({})
        (True, False)
    """
    return isinstance(value, str | os.PathLike)


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The state_dict stored in ``path``: ``{dotted name: array}``, in the file's order.

    Example:
        >>> import numpy as np, safetensors.numpy, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
        >>> safetensors.numpy.save_file({"weight": np.ones((2, 3), np.float32)}, path)
        >>> {k: v.shape for k, v in read_state_dict(path).items()}
        {'weight': (2, 3)}
        >>> read_state_dict("weights.npz")
        Traceback (most recent call last):
        ...
        ValueError: from_torch: cannot tell the format of weights.npz from its suffix '.npz'; pass a .pt/.pth file (torch.save) or a .safetensors file
    """
    file = Path(os.fspath(path))
    suffix = file.suffix.lower()
    if suffix not in (*TORCH_SUFFIXES, _SAFETENSORS):
        raise ValueError(
            f"from_torch: cannot tell the format of {file} from its suffix {suffix!r}; "
            f"pass {_FORMATS}"
        )
    if not file.is_file():
        what = "is a directory" if file.is_dir() else "does not exist"
        raise FileNotFoundError(f"from_torch: {file} {what}; check the path (expected {_FORMATS})")
    if suffix == _SAFETENSORS:
        return _read_safetensors(file)
    return _read_torch(file)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _read_safetensors(file: Path) -> dict[str, Any]:
    try:
        from safetensors.numpy import load_file
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"from_torch: reading {file} needs the safetensors package; install it with: "
            "pip install safetensors"
        ) from err
    try:
        return dict(load_file(file))
    except TypeError as err:
        if "bfloat16" not in str(err):
            raise
        return _read_safetensors_raw(file)  # NumPy has no bfloat16: read the bytes ourselves
    except Exception as err:  # safetensors' own SafetensorError is not importable by name
        raise ValueError(
            f"from_torch: {file} is not a valid safetensors file ({_first_line(err)}); "
            "re-save it with safetensors.numpy.save_file or safetensors.torch.save_file"
        ) from None


# safetensors' dtype names, with bfloat16 (JAX's, from ml_dtypes), which NumPy lacks.
_RAW_DTYPES = {
    "BF16": jnp.bfloat16,
    "F16": np.float16,
    "F32": np.float32,
    "F64": np.float64,
    "I8": np.int8,
    "I16": np.int16,
    "I32": np.int32,
    "I64": np.int64,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


def _read_safetensors_raw(file: Path) -> dict[str, Any]:
    """The format by hand: a little-endian u64 header size, a JSON header, then the raw bytes."""
    data = file.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    body = data[8 + size :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = np.dtype(_RAW_DTYPES[info["dtype"]]).newbyteorder("<")
        out[name] = np.frombuffer(body[begin:end], dtype=dtype).reshape(info["shape"])
    return out


def _read_torch(file: Path) -> dict[str, Any]:
    try:
        torch = import_torch()
    except ImportError:
        raise ImportError(
            f"from_torch: reading {file} needs PyTorch (pip install torch==2.13.0); without it, "
            "save the weights as .safetensors (safetensors.torch.save_file) and pass that file"
        ) from None
    try:
        loaded = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(err))
        if found:
            raise ValueError(
                f"from_torch: {file} pickles a {found.group(1)} object (a whole module?), which "
                "torch.load(weights_only=True) refuses to run; save "
                "torch.save(model.state_dict(), path) instead, or pass the module object itself"
            ) from None
        raise ValueError(
            f"from_torch: {file} is not a readable torch.save file ({_first_line(err)}); "
            "re-save it with torch.save(model.state_dict(), path)"
        ) from None
    if not isinstance(loaded, Mapping):
        raise ValueError(
            f"from_torch: {file} holds a {type(loaded).__name__}, not a state_dict; save "
            "torch.save(model.state_dict(), path)"
        )
    nested = [k for k, v in loaded.items() if not torch.is_tensor(v)]
    if nested:
        inner = next((k for k in nested if isinstance(loaded[k], Mapping)), None)
        fix = (
            f"pass the state_dict inside it: from_torch(torch.load(path, weights_only=True)"
            f"[{inner!r}])"
            if inner is not None
            else "save torch.save(model.state_dict(), path)"
        )
        raise ValueError(
            f"from_torch: {file} holds a dict whose entries {', '.join(map(repr, nested))} are "
            f"not tensors, so it is not a state_dict (a training checkpoint?); {fix}"
        )
    return dict(loaded)
