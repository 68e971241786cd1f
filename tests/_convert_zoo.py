"""torch models for the converter's tests, each with an example input: written as torch users write
them (custom classes, Sequential, ModuleList, functional calls in forward, self.training)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as TF
from _torch_models import TorchConvNet, TorchMyNet
from torch import nn


class LeNet(nn.Module):
    """LeNet with batch norm and dropout: a Sequential of features, then a classifier."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 5, padding=2),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 6, 3),
            nn.BatchNorm2d(6),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.fc1 = nn.Linear(6 * 2 * 2, 16)
        self.drop = nn.Dropout(p)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = x.view(x.size(0), -1)
        x = self.drop(torch.relu(self.fc1(x)))
        return self.fc2(x)


class ResidualMLP(nn.Module):
    """An MLP block with LayerNorm, GELU and a residual connection, then a head."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.inp = nn.Linear(5, width)
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, 2 * width)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(2 * width, width)
        self.head = nn.Linear(width, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        h = h + self.fc2(self.act(self.fc1(self.norm(h))))
        return self.head(TF.gelu(h, approximate="tanh"))


class BasicBlock(nn.Module):
    """ResNet's basic block: conv-bn-relu-conv-bn plus the shortcut (a 1x1 conv when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = TF.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return TF.relu(out + identity)


class ResNetStack(nn.Module):
    """A stem, three basic blocks (two of one shape, one that downsamples), pooling and a head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.layers = nn.Sequential(BasicBlock(4, 4), BasicBlock(4, 6, stride=2), BasicBlock(6, 6))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(6, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(torch.relu(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class LoopNet(nn.Module):
    """A model that loops over an nn.ModuleList, with a residual tanh at each step."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(6, 6) for _ in range(3)])
        self.scale = nn.Parameter(torch.linspace(0.5, 1.5, 6))
        self.out = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = x + torch.tanh(block(x))
        return self.out(x * self.scale)


class TextClassifier(nn.Module):
    """Embedding, mean over the tokens, a linear layer: the classic bag-of-embeddings classifier."""

    def __init__(self, vocab: int = 20, dim: int = 6, classes: int = 3) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.fc = nn.Linear(dim, classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embedding(tokens).mean(dim=1))


class FunctionalNet(nn.Module):
    """F.max_pool2d and F.dropout(training=self.training) in forward, and a permute/reshape."""

    def __init__(self, p: float = 0.3) -> None:
        super().__init__()
        self.p = p
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.fc = nn.Linear(3 * 3 * 3, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = TF.max_pool2d(TF.relu(self.conv(x)), 2)
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        x = TF.dropout(x, p=self.p, training=self.training)
        return TF.log_softmax(self.fc(x), dim=-1)


class RecurrentRows(nn.Module):
    """Python control flow on shapes (``x.dim()``, ``range(x.size(1))``, ``len(x)``), which torch.fx
    cannot follow: converted through torch.export, specialised to the example's shape."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(4, 5)
        self.cell = nn.Linear(5, 5)
        self.head = nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # one sequence: give it a batch axis
            x = x.unsqueeze(0)
        h = torch.tanh(self.inp(x[:, 0]))
        for t in range(1, x.size(1)):
            h = torch.tanh(self.inp(x[:, t]) + self.cell(h))
        return self.head(h) / len(x)


@dataclass(frozen=True)
class Entry:
    """A zoo model: how to build it (``p`` is its dropout, 0 for the train-mode test), its input."""

    build: Callable[[float], nn.Module]
    input: Callable[[torch.Generator], torch.Tensor]
    has_buffers: bool = False
    float_input: bool = True


def _randn(*shape: int) -> Callable[[torch.Generator], torch.Tensor]:
    return lambda g: torch.randn(*shape, generator=g, dtype=torch.float64)


ZOO: dict[str, Entry] = {
    "mynet": Entry(lambda p: TorchMyNet(60, 12, 8, 4), _randn(3, 4, 5)),
    "convnet": Entry(lambda p: TorchConvNet(3, (10, 10)), _randn(1, 10, 10)),
    "lenet": Entry(lambda p: LeNet(p), _randn(3, 1, 12, 12), has_buffers=True),
    "residual_mlp": Entry(lambda p: ResidualMLP(), _randn(4, 5)),
    "resnet": Entry(lambda p: ResNetStack(), _randn(2, 3, 6, 6), has_buffers=True),
    "loop": Entry(lambda p: LoopNet(), _randn(3, 6)),
    "text": Entry(
        lambda p: TextClassifier(),
        lambda g: torch.randint(0, 20, (4, 7), generator=g),
        float_input=False,
    ),
    "functional": Entry(lambda p: FunctionalNet(p), _randn(2, 2, 6, 6)),
    "shape_loop": Entry(lambda p: RecurrentRows(), _randn(3, 4, 4)),
}
