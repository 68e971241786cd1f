"""``import torchvision`` with PyTorch's CPU build, for the converter's tests.

torchvision's PyPI wheel is linked against CUDA builds of torch: with the CPU build its compiled
library does not load, so its ops (``torchvision::nms``, ...) are never defined, and ``import
torchvision`` fails where it registers fake kernels for two of them ("operator torchvision::nms
does not exist"). The model definitions (``torchvision.models``) need none of those ops, so this
helper defines the two schemas (no kernels: calling them still fails) before the import. It is
a test helper, not part of funcgrad.
"""

from __future__ import annotations

import sys
from typing import Any

import torch

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_LIBRARY: list[Any] = []  # keeps the definitions alive


def import_torchvision() -> Any:
    """``torchvision``, imported once; its compiled ops' schemas defined first where missing."""
    if "torchvision.models" in sys.modules:
        return sys.modules["torchvision"]
    missing = [n for n in _SCHEMAS if not _defined(n)]
    if missing:
        lib = torch.library.Library("torchvision", "FRAGMENT")
        for name in missing:
            lib.define(_SCHEMAS[name])
        _LIBRARY.append(lib)
    import torchvision
    import torchvision.models  # noqa: F401

    return torchvision


def _defined(name: str) -> bool:
    try:
        getattr(torch.ops.torchvision, name)
    except (AttributeError, RuntimeError):
        return False
    return True
