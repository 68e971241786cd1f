"""Epoch time, where users feel it: ``fit``'s epoch against an idiomatic PyTorch training loop.

Workloads ``fit_<model>``, one per built-in model (``mynet``, ``convnet``, ``single_layer``,
``lenet``, ``linear``, ``charlstm``, ``gpt``): one epoch on each model's default data as
``funcgrad train`` shapes them (digits: 8x8 for mynet and single-layer, grown to 16x16 for the
convolutional models; the four points of ``Y = 2X`` for linear; text windows of 64 characters for
the language models), with the model's ``DEFAULTS`` (batch, optimiser, learning rate), a fresh
shuffle, and an eval pass on the test set, timed as examples (windows) trained per second. A
timed call runs whole epochs, enough for 20 steps (one epoch for every model but linear, whose
run of 20 one-step epochs is timed whole):

* funcgrad: ``fg.train.fit(name, data, epochs=...)``, its default path (``scan="auto"``);
  ``fit_<model>_scan`` and ``fit_<model>_loop`` force each path, so a row shows that ``auto``
  chose the faster one;
* PyTorch: the loop a user writes: ``randperm``, batches by indexing, ``zero_grad``,
  ``backward``, ``step``, ``loss.item()`` for the running loss, then ``eval()`` and ``no_grad``
  over the test set. Each model is the same network, initialised by torch's defaults.

The data are the same arrays (``funcgrad.train.build_model``'s), read once per worker.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

from _common import FIT_WORKLOADS, Bench

MIN_STEPS = 20  # train steps per timed call, at the least
QUICK_STEPS = 2  # train steps per epoch in a --quick run


@cache
def _data(name: str, quick: bool = False) -> Any:
    """The model's default data as ``funcgrad train`` shapes it; ``quick``: two batches of it."""
    import dataclasses

    from funcgrad.data import load_dataset
    from funcgrad.train import build_model
    from funcgrad.train._setup import default_dataset

    ds = build_model(name, load_dataset(default_dataset(name)))[1]
    if not quick:
        return ds
    # A smoke run: the language models' whole epochs take seconds.
    n = QUICK_STEPS * _batch(name, ds.num_train)
    return dataclasses.replace(
        ds,
        x_train=ds.x_train[:n],
        y_train=ds.y_train[:n],
        x_test=ds.x_test[:n],
        y_test=ds.y_test[:n],
    )


def funcgrad_bench(workload: str, quick: bool) -> Bench:
    from funcgrad.train import fit

    name, scan = FIT_WORKLOADS[workload]
    ds = _data(name, quick)
    batch = _batch(name, ds.num_train)
    epochs = _epochs(name, ds.num_train // batch, quick)

    def run() -> None:
        fit(name, ds, epochs=epochs, scan=scan, progress="none")

    return Bench(run, units=epochs * (ds.num_train // batch) * batch)


def _batch(name: str, num_train: int) -> int:
    """The model's default batch size, ``"full"`` (linear's full-batch descent) as a number."""
    from funcgrad.train import DEFAULTS

    size = DEFAULTS[name].batch_size
    return num_train if size == "full" else int(size)


def _epochs(name: str, steps: int, quick: bool = False) -> int:
    """Epochs per timed call: enough for ``MIN_STEPS`` steps, at most the model's default run; one
    when ``quick``.

    Every built-in model's epoch has 22 steps or more, except linear's full-batch descent (one
    step on four points): there one epoch is shorter than fit's once-per-run setup, so its row
    times the whole default run (20 epochs), as ``funcgrad train --model linear`` does.
    """
    from funcgrad.train import DEFAULTS

    if quick:
        return 1
    return max(1, min(DEFAULTS[name].epochs, math.ceil(MIN_STEPS / steps)))


def _torch_charlstm(vocab: int) -> Any:
    """``funcgrad.models.CharLSTM``'s torch model: embedding 32, 2-layer LSTM of 128, linear head."""
    from torch import nn

    class CharLSTM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocab, 32)
            self.lstm = nn.LSTM(32, 128, 2, batch_first=True)
            self.head = nn.Linear(128, vocab)

        def forward(self, x):
            return self.head(self.lstm(self.embedding(x))[0])

    return CharLSTM()


def _torch_model(name: str, ds: Any) -> Any:
    from torch import nn

    if name == "charlstm":
        return _torch_charlstm(len(ds.vocab))
    if name == "gpt":  # funcgrad.models.GPT's defaults: 2 layers, 64 wide, 4 heads, tied head
        from seq_torch import GPTModel

        return GPTModel(len(ds.vocab), 64, 2, 4, ds.example_shape[0])
    if name == "linear":  # f = w * x, w from 0 as funcgrad.models.LinearRegression
        return _torch_linear_regression()
    size, hw = math.prod(ds.example_shape), ds.example_shape[1:]
    if name == "single-layer":
        return nn.Linear(size, 10)
    if name == "mynet":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(size, 60), nn.ReLU(), nn.Linear(60, 40), nn.ReLU(),
            nn.Linear(40, 10),
        )  # fmt: skip
    h, w = hw
    if name == "convnet":
        return nn.Sequential(
            nn.Conv2d(1, 20, 5), nn.ReLU(), nn.Conv2d(20, 20, 5), nn.ReLU(), nn.Flatten(),
            nn.Linear(20 * (h - 8) * (w - 8), 10),
        )  # fmt: skip
    h2, w2 = (h // 2 - 4) // 2, (w // 2 - 4) // 2  # funcgrad.models.LeNet5's layers
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * h2 * w2, 120), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(120, 84), nn.ReLU(), nn.Dropout(0.5), nn.Linear(84, 10),
    )  # fmt: skip


def torch_bench(workload: str, quick: bool) -> Bench | None:
    import torch
    import torch.nn.functional as F

    from funcgrad.train import DEFAULTS

    name, scan = FIT_WORKLOADS[workload]
    if scan is not None:
        return None  # the two funcgrad paths have no torch counterpart
    ds = _data(name, quick)
    batch, lr = _batch(name, ds.num_train), DEFAULTS[name].lr
    classify = ds.num_classes is not None
    as_targets = (lambda t: t.long()) if classify else (lambda t: t)  # noqa: E731
    x, y = torch.from_numpy(ds.x_train), as_targets(torch.from_numpy(ds.y_train))
    x_test, y_test = torch.from_numpy(ds.x_test), as_targets(torch.from_numpy(ds.y_test))
    torch.manual_seed(0)
    model = _torch_model(name, ds)
    optimizer = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[DEFAULTS[name].optimizer]
    opt = optimizer(model.parameters(), lr=lr)
    steps = ds.num_train // batch
    epochs = _epochs(name, steps, quick)

    def loss_of(out: Any, targets: Any) -> Any:  # a language model's: every position
        if not classify:
            return F.mse_loss(out.reshape(targets.shape), targets)
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1))

    def run() -> None:
        for _ in range(epochs):
            epoch()

    def epoch() -> None:
        model.train()
        perm = torch.randperm(ds.num_train)
        running = 0.0
        for i in range(steps):
            idx = perm[i * batch : (i + 1) * batch]
            opt.zero_grad()
            loss = loss_of(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            running += loss.item()
        model.eval()
        with torch.no_grad():
            out = model(x_test)
            loss_of(out, y_test).item()
            if classify:
                (out.argmax(-1) == y_test).float().mean().item()

    return Bench(run, units=epochs * steps * batch)


def _torch_linear_regression() -> Any:
    """``funcgrad.models.LinearRegression``'s torch model: ``f = w * x``, ``w`` from 0."""
    import torch

    class LinearRegression(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x):
            return self.w * x

    return LinearRegression()
