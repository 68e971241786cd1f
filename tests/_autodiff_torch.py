"""Small torch helpers for the live parity tests of fg.autodiff (the models are in _torch_models)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

torch.set_num_threads(1)


def t(a: Any, requires_grad: bool = False) -> torch.Tensor:
    """A float64 torch tensor with the values of ``a``."""
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def close(a: Any, b: Any, rtol: float = 1e-10) -> bool:
    """Relative closeness in float64, with a tiny absolute floor for exact zeros."""
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    return bool(np.allclose(np.asarray(a), b, rtol=rtol, atol=1e-12))
