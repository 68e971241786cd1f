"""PyTorch eager, as in the notes: ``nn.Module``, ``zero_grad()``, ``backward()``, ``optim.SGD``.

Torch keeps its default thread count: the benchmark runs it in its own process.
"""

from __future__ import annotations

import epoch_fit
import seq_torch
import torch
from _common import (
    EPOCH_STEPS,
    FIT_WORKLOADS,
    LR,
    SEQ_WORKLOADS,
    Bench,
    batch_of,
    data,
    kind_of,
    timed_first_call,
)
from torch import nn
from torch.nn import functional as F

COMPILE = False  # fw_torch_compile flips this
_THREADS = torch.get_num_threads()
KERNELS = f"PyTorch's own CPU kernels, {_THREADS} thread{'s' * (_THREADS != 1)}; nothing switched"


class MyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.m0, self.m1, self.m2 = nn.Linear(600, 60), nn.Linear(60, 40), nn.Linear(40, 10)

    def forward(self, x):
        x = x.view(x.shape[0], -1)
        return self.m2(F.relu(self.m1(F.relu(self.m0(x)))))


class ConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 20, 5), nn.Conv2d(20, 20, 5)
        self.head = nn.Linear(20 * 20 * 20, 10)

    def forward(self, x):
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        return self.head(x.flatten(1))


class LeNet5(nn.Module):
    """funcgrad's ``fg.models.LeNet5``, layer for layer; in train mode (batch norm, dropout)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        )  # fmt: skip
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(120, 84), nn.ReLU(), nn.Dropout(0.5), nn.Linear(84, 10),
        )  # fmt: skip

    def forward(self, x):
        return self.classifier(self.features(x))


MODELS = {"mynet": MyNet, "convnet": ConvNet, "lenet": LeNet5}


def _model(kind: str) -> tuple[nn.Module, object]:
    torch.manual_seed(0)
    if kind == "single":
        return nn.Linear(5, 3), F.binary_cross_entropy_with_logits
    return MODELS[kind](), F.cross_entropy


def _tensors(kind: str, batch: int, steps: int = 0):
    x, y = data(kind, batch, steps)
    return torch.from_numpy(x), torch.from_numpy(
        y
    ).long() if kind != "single" else torch.from_numpy(y)


def build(workload: str, quick: bool):
    if workload in FIT_WORKLOADS:
        return None if COMPILE else epoch_fit.torch_bench(workload, quick)
    if workload in SEQ_WORKLOADS:
        if COMPILE:
            torch._dynamo.reset()
        return seq_torch.build(workload, COMPILE)
    kind = kind_of(workload)
    model, loss_fn = _model(kind)
    if COMPILE:
        torch._dynamo.reset()  # each workload compiles its own graphs, as a fresh program would
    fwd = torch.compile(model) if COMPILE else model
    opt = torch.optim.SGD(model.parameters(), lr=LR)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(fwd(x), y)
        loss.backward()
        opt.step()
        return loss

    if workload == "epoch_fused":
        return None  # eager PyTorch has no fused epoch; epoch_loop is its epoch
    if workload.endswith("_compile"):
        if not COMPILE:
            return None
        x, y = _tensors(kind, 64)
        return timed_first_call(lambda: step(x, y))
    if workload == "epoch_loop":
        xs, ys = _tensors(kind, 64, EPOCH_STEPS)
        batches = list(zip(xs, ys, strict=True))

        def epoch() -> None:
            for x, y in batches:
                step(x, y)

        return Bench(epoch, units=EPOCH_STEPS)
    x, y = _tensors(kind, batch_of(workload))
    if workload in ("psg_loop", "psg_vmap"):
        if COMPILE or kind != "mynet":
            return None
        return Bench(
            _psg_loop(model, loss_fn, x, y)
            if workload == "psg_loop"
            else _psg_vmap(model, loss_fn, x, y)
        )
    if workload.endswith("_fwd"):

        def forward() -> None:
            with torch.no_grad():
                loss_fn(fwd(x), y)

        return Bench(forward)
    if workload.endswith("_grad"):

        def grad() -> None:
            opt.zero_grad(set_to_none=True)
            loss_fn(fwd(x), y).backward()

        return Bench(grad)
    return Bench(lambda: step(x, y))


def _psg_loop(model, loss_fn, x, y):
    params = list(model.parameters())

    def run():
        grads = []
        for i in range(x.shape[0]):
            loss = loss_fn(model(x[i : i + 1]), y[i : i + 1])
            grads.append(torch.autograd.grad(loss, params))
        return [torch.stack(g) for g in zip(*grads, strict=True)]

    return run


def _psg_vmap(model, loss_fn, x, y):
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss_one(p, xi, yi):
        return loss_fn(functional_call(model, p, (xi[None],)), yi[None])

    per_sample = vmap(grad(loss_one), in_dims=(None, 0, 0))
    return lambda: per_sample(params, x, y)
