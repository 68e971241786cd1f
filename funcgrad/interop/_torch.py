"""PyTorch, imported only when an interop function runs: it is not a runtime dependency."""

from __future__ import annotations

from typing import Any

__all__ = ["import_torch"]


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
