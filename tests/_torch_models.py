"""The notes' PyTorch models, written once as the notes write them (with the notes' bugs corrected).

Every test that needs the torch side of MyNet, ConvNet or LeNet5 imports it from here.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
import torch.nn.functional as TF
from torch import nn

import funcgrad as fg


class TorchMyNet(nn.Module):
    """The notes' ``mynet``: three Linear layers with ReLU on ``x.view(-1)``.

    ``batched=True`` flattens from axis 1 instead (``x.flatten(1)``), the usual torch batch layout.
    ``forward_with_taps`` also returns the intermediates by the notes' names, for ``retain_grad()``.
    """

    def __init__(self, d0: int, d1: int, d2: int, d3: int, batched: bool = False) -> None:
        super().__init__()
        self.batched = batched
        self.m0 = nn.Linear(d0, d1)
        self.m1 = nn.Linear(d1, d2)
        self.m2 = nn.Linear(d2, d3)

    def forward_with_taps(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        z0 = x.flatten(1) if self.batched else x.view(-1)
        s1 = self.m0(z0)
        z1 = torch.relu(s1)
        s2 = self.m1(z1)
        z2 = torch.relu(s2)
        s3 = self.m2(z2)
        return s3, {"s1": s1, "z1": z1, "s2": s2, "z2": z2, "s3": s3}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_taps(x)[0]


def torch_mynet_like(params: Any, d: tuple[int, int, int, int]) -> TorchMyNet:
    """A float64 torch mynet holding exactly ``params``."""
    net = TorchMyNet(*d).double()
    net.load_state_dict(fg.interop.to_torch(params))
    return net


class TorchConvNet(nn.Module):
    """The notes' two-convolution ``Model``, with ``forward`` indented inside the class."""

    def __init__(
        self, num_classes: int | None = None, image_size: tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 20, 5)
        if num_classes is not None and image_size is not None:
            h, w = image_size
            self.head = nn.Linear(20 * (h - 8) * (w - 8), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = TF.relu(self.conv1(x))
        x = TF.relu(self.conv2(x))
        return self.head(x.reshape(-1)) if hasattr(self, "head") else x


def torch_lenet5() -> nn.Sequential:
    """``fg.models.LeNet5(dropout=0.0)`` in torch: the same stage names, so ``from_torch`` maps it."""
    return nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(1, 6, 5, padding=2), bn1=nn.BatchNorm2d(6), relu1=nn.ReLU(),
            pool1=nn.MaxPool2d(2), conv2=nn.Conv2d(6, 16, 5), bn2=nn.BatchNorm2d(16),
            relu2=nn.ReLU(), pool2=nn.MaxPool2d(2), flatten=nn.Flatten(),
            fc1=nn.Linear(16 * 5 * 5, 120), relu3=nn.ReLU(), drop1=nn.Dropout(0.0),
            fc2=nn.Linear(120, 84), relu4=nn.ReLU(), drop2=nn.Dropout(0.0), fc3=nn.Linear(84, 10),
        )
    )  # fmt: skip
