"""The notes' PyTorch models, written as in the notes, for live parity tests of fg.autodiff."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

import funcgrad as fg

torch.set_num_threads(1)


class TorchMyNet(nn.Module):
    """The notes' ``mynet``, keeping every intermediate so a test can ``retain_grad()`` it."""

    def __init__(self, d0: int, d1: int, d2: int, d3: int) -> None:
        super().__init__()
        self.m0 = nn.Linear(d0, d1)
        self.m1 = nn.Linear(d1, d2)
        self.m2 = nn.Linear(d2, d3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        z0 = x.view(-1)
        s1 = self.m0(z0)
        z1 = torch.relu(s1)
        s2 = self.m1(z1)
        z2 = torch.relu(s2)
        s3 = self.m2(z2)
        return s3, {"s1": s1, "z1": z1, "s2": s2, "z2": z2, "s3": s3}


def torch_mynet_like(params: Any, d: tuple[int, int, int, int]) -> TorchMyNet:
    """A float64 torch mynet holding exactly ``params``."""
    net = TorchMyNet(*d).double()
    net.load_state_dict(fg.interop.to_torch(params))
    return net


def t(a: Any, requires_grad: bool = False) -> torch.Tensor:
    """A float64 torch tensor with the values of ``a``."""
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def close(a: Any, b: Any, rtol: float = 1e-10) -> bool:
    """Relative closeness in float64, with a tiny absolute floor for exact zeros."""
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    return bool(np.allclose(np.asarray(a), b, rtol=rtol, atol=1e-12))
