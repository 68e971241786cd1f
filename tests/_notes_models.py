"""The notes' PyTorch models, written as the notes write them (with the notes' bugs corrected)."""

import torch
import torch.nn.functional as TF
from torch import nn


class TorchMyNet(nn.Module):
    """The notes' ``mynet``: three Linear layers with ReLU on ``x.view(-1)``."""

    def __init__(self, d0, d1, d2, d3):
        super().__init__()
        self.m0 = nn.Linear(d0, d1)
        self.m1 = nn.Linear(d1, d2)
        self.m2 = nn.Linear(d2, d3)

    def forward(self, x):
        z0 = x.view(-1)
        s1 = self.m0(z0)
        z1 = torch.relu(s1)
        s2 = self.m1(z1)
        z2 = torch.relu(s2)
        return self.m2(z2)


class TorchConvNet(nn.Module):
    """The notes' two-convolution ``Model``, with ``forward`` indented inside the class."""

    def __init__(self, num_classes=None, image_size=None):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 20, 5)
        if num_classes is not None:
            h, w = image_size
            self.head = nn.Linear(20 * (h - 8) * (w - 8), num_classes)

    def forward(self, x):
        x = TF.relu(self.conv1(x))
        x = TF.relu(self.conv2(x))
        return self.head(x.reshape(-1)) if hasattr(self, "head") else x
