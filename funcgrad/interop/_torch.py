"""PyTorch, imported only when an interop function needs it: it is not a runtime dependency.

:func:`loaded_torch` answers "could this object be a torch one?" without importing torch: if
torch was never imported, no torch object can exist, so NumPy state_dicts and ``.safetensors``
files work where PyTorch is not installed.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["import_torch", "is_tensor", "is_torch_module", "loaded_torch"]


def import_torch() -> Any:
    """The ``torch`` module, or an ``ImportError`` that says how to install it.

    Example:
        >>> import_torch().__name__
        'torch'
    """
    try:
        import torch
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "funcgrad.interop needs PyTorch; install it with: pip install torch==2.13.0"
        ) from err
    return torch


def loaded_torch() -> Any | None:
    """``torch`` if some code has already imported it, else ``None``; never imports it.

    Example:
        >>> import torch
        >>> loaded_torch() is torch
        True
    """
    return sys.modules.get("torch")  # None too where an import of torch was blocked


def is_torch_module(value: Any) -> bool:
    """Whether ``value`` is a ``torch.nn.Module``, without importing torch.

    Example:
        >>> import torch
        >>> is_torch_module(torch.nn.Linear(2, 2)), is_torch_module({})
        (True, False)
    """
    torch = loaded_torch()
    return torch is not None and isinstance(value, torch.nn.Module)


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a ``torch.Tensor``, without importing torch.

    Example:
        >>> import numpy as np, torch
        >>> is_tensor(torch.zeros(2)), is_tensor(np.zeros(2))
        (True, False)
    """
    torch = loaded_torch()
    return torch is not None and torch.is_tensor(value)
