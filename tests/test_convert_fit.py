"""``fit`` trains converted models as torch's own loop does: a torchvision MobileNetV3 (BatchNorm
in train mode, its running statistics returned as buffers) and Hugging Face's GPT-2 (through
torch.export, its lm_head tied to the token embedding) each take 5 full-batch SGD steps from
torch's weights, in float64 with dropout off; the losses match torch's step for step."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import optax
import torch
from _torchvision import import_torchvision

import funcgrad as fg

import_torchvision()
import transformers  # noqa: E402
from torchvision import models as M  # noqa: E402

STEPS, LR = 5, 0.1


@dataclasses.dataclass(frozen=True, eq=False)
class _Pretrained(fg.nn.Module):
    """A converted model that starts from torch's weights and buffers, and returns ``pick`` of
    its output (the logits)."""

    model: fg.nn.Module
    weights: Any
    state: Any
    pick: Callable[[Any], Any]

    def init(self, key: jax.Array) -> Any:
        return self.weights

    def init_buffers(self) -> Any:
        return self.state

    def forward(self, params, x, *, buffers, train, key):
        y, new = self.model.apply(params, x, buffers=buffers, train=train, key=key)
        return self.pick(y), new


def _torch_losses(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, classes: int) -> list:
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        out = model(x)
        logits = out["logits"] if isinstance(out, dict) else out
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, classes), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _fit_losses(conv: Any, pick: Callable[[Any], Any], x: Any, y: Any, classes: int) -> Any:
    ds = fg.data.Dataset("converted", x, y, x, y, classes)
    losses: list[float] = []
    result = fg.train.fit(
        _Pretrained(conv.model, conv.params, conv.buffers, pick), ds,
        loss=lambda out, t: fg.losses.cross_entropy(out.reshape(-1, classes), t.reshape(-1)),
        optimizer=optax.sgd(LR), epochs=STEPS, batch_size="full", progress="none", scan=False,
        on_step=lambda epoch, step, value: losses.append(value),
    )  # fmt: skip
    return losses, result


def test_fit_trains_a_converted_torchvision_mobilenet_as_a_torch_loop_does(x64):
    torch.manual_seed(0)
    cfg = M.mobilenetv3.InvertedResidualConfig
    model = M.MobileNetV3([cfg(8, 3, 16, 8, True, "HS", 2, 1, 1.0)], last_channel=16, num_classes=4)
    for m in model.modules():  # dropout off: the two sides draw different masks
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    model.double()
    x = torch.randn(6, 3, 32, 32, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    conv = fg.interop.convert(model, x)

    expected = _torch_losses(model, x, y, 4)
    losses, result = _fit_losses(conv, lambda out: out, x.numpy(), y.numpy(), 4)
    np.testing.assert_allclose(losses, expected, rtol=1e-10, atol=0)
    assert expected[-1] < expected[0]  # it learns
    # the running statistics moved as torch's did, one batch per step
    buffers = fg.flatten_dict(result.buffers)
    for name, b in model.named_buffers():
        np.testing.assert_allclose(
            np.asarray(buffers[name]), b.numpy(), rtol=1e-10, atol=1e-12, err_msg=name
        )


def test_fit_trains_the_converted_gpt2_as_a_torch_loop_does(x64):
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        n_layer=1, n_head=2, n_embd=16, vocab_size=50, n_positions=16, use_cache=False,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    )  # fmt: skip
    model = transformers.GPT2LMHeadModel(config).double()
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.integers(0, 50, (4, 8)))
    y = torch.from_numpy(rng.integers(0, 50, (4, 8)))
    conv = fg.interop.convert(model, x)

    expected = _torch_losses(model, x, y, 50)
    losses, _ = _fit_losses(conv, lambda out: out["logits"], x.numpy(), y.numpy(), 50)
    np.testing.assert_allclose(losses, expected, rtol=1e-10, atol=0)
    assert expected[-1] < expected[0]
