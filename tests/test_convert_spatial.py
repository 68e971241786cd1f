"""The image and audio models people copy from tutorials convert and agree with torch in float64,
outputs and gradients: a DCGAN generator and discriminator, a sub-pixel super-resolution net, a
style-transfer net (reflection padding, instance norm, nearest upsampling), a small U-Net (transposed
convolutions, skip connections, bilinear ``interpolate``) and a 1-D audio convnet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import assert_close
from torch import nn
from torch.nn import functional as TF

import funcgrad as fg


def dcgan_generator() -> nn.Module:
    return nn.Sequential(
        nn.ConvTranspose2d(8, 16, 4, 1, 0, bias=False), nn.BatchNorm2d(16), nn.ReLU(True),
        nn.ConvTranspose2d(16, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(True),
        nn.ConvTranspose2d(8, 3, 4, 2, 1, bias=False), nn.Tanh(),
    )  # fmt: skip


def dcgan_discriminator() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(8, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(16, 1, 4, 1, 0, bias=False), nn.Sigmoid(),
    )  # fmt: skip


class SuperResolution(nn.Module):
    """PyTorch's super-resolution example: convolutions, then a sub-pixel PixelShuffle."""

    def __init__(self, factor: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5, padding=2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.conv3 = nn.Conv2d(8, factor**2, 3, padding=1)
        self.shuffle = nn.PixelShuffle(factor)

    def forward(self, x):
        x = torch.tanh(self.conv1(x))
        return self.shuffle(self.conv3(torch.tanh(self.conv2(x))))


class StyleTransfer(nn.Module):
    """The fast-neural-style example's blocks: reflection padding, instance norm, a residual
    block and nearest upsampling."""

    def __init__(self) -> None:
        super().__init__()
        self.pad1, self.conv1 = nn.ReflectionPad2d(2), nn.Conv2d(3, 8, 5)
        self.in1 = nn.InstanceNorm2d(8, affine=True)
        self.pad2, self.conv2 = nn.ReflectionPad2d(1), nn.Conv2d(8, 8, 3, stride=2)
        self.in2 = nn.InstanceNorm2d(8, affine=True)
        self.res_pad, self.res_conv = nn.ReflectionPad2d(1), nn.Conv2d(8, 8, 3)
        self.res_in = nn.InstanceNorm2d(8, affine=True)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.pad3, self.conv3 = nn.ReflectionPad2d(1), nn.Conv2d(8, 3, 3)

    def forward(self, x):
        y = torch.relu(self.in1(self.conv1(self.pad1(x))))
        y = torch.relu(self.in2(self.conv2(self.pad2(y))))
        y = y + self.res_in(self.res_conv(self.res_pad(y)))
        return self.conv3(self.pad3(self.up(y)))


class UNet(nn.Module):
    """A two-level U-Net: max-pool down, transposed convolution up, skip connections, and a
    bilinear resize of the logits to the input's size, as segmentation heads do."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
        self.enc2 = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.dec = nn.Sequential(nn.Conv2d(8, 4, 3, padding=1), nn.ReLU())
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        d = self.dec(torch.cat([self.up(e2), e1], dim=1))
        logits = self.head(d)
        return TF.interpolate(logits, scale_factor=1.5, mode="bilinear", align_corners=False)


class AudioNet(nn.Module):
    """A 1-D convnet on raw audio (M5-style): strided Conv1d, BatchNorm1d, MaxPool1d, a global
    average pool and a linear classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv1d(1, 8, 16, stride=4), nn.BatchNorm1d(8)
        self.pool1 = nn.MaxPool1d(4)
        self.conv2, self.bn2 = nn.Conv1d(8, 8, 3), nn.BatchNorm1d(8)
        self.pool2 = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.pool1(torch.relu(self.bn1(self.conv1(x))))
        x = self.pool2(torch.relu(self.bn2(self.conv2(x))))
        return TF.log_softmax(self.fc(x.flatten(1)), dim=1)


MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "dcgan_generator": (dcgan_generator, (2, 8, 1, 1)),
    "dcgan_discriminator": (dcgan_discriminator, (2, 3, 16, 16)),
    "super_resolution": (SuperResolution, (2, 1, 6, 6)),
    "style_transfer": (StyleTransfer, (2, 3, 8, 8)),
    "unet": (UNet, (2, 1, 8, 8)),
    "audio": (AudioNet, (2, 1, 400)),
}


def _grads(model: nn.Module) -> dict[str, Any]:
    return fg.unflatten_dict({n: p.grad.numpy() for n, p in model.named_parameters()})


def _close_to_scale(actual: Any, expected: Any, what: str) -> None:
    """Within 1e-10 of the largest gradient: a bias right before a normalisation has a gradient
    of zero in exact arithmetic, and both sides' answers are rounding noise there (1e-15)."""
    scale = max(float(np.abs(e).max()) for e in jax.tree.leaves(expected))
    flat_a, flat_e = fg.flatten_dict(actual), fg.flatten_dict(expected)
    assert flat_a.keys() == flat_e.keys(), what
    for k, e in flat_e.items():
        np.testing.assert_allclose(
            flat_a[k], e, rtol=1e-10, atol=1e-10 * scale, err_msg=f"{what} {k}"
        )


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name", list(MODELS))
def test_model_converts_and_agrees_in_float64(x64: None, name: str, train: bool) -> None:
    make, shape = MODELS[name]
    torch.manual_seed(0)
    ref = make().double().train(train)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    conv = fg.interop.convert(ref, x.detach())
    torch.manual_seed(0)
    buffers = jax.tree.map(jnp.asarray, conv.buffers)
    out_t = ref(x)
    v = np.random.default_rng(0).standard_normal(tuple(out_t.shape))
    (out_t * torch.from_numpy(v)).sum().backward()

    def f(params, x):
        y, new = conv.model.apply(params, x, buffers=buffers, train=train)
        return y, new

    (y, new_buffers), pullback = jax.vjp(jax.jit(f), conv.params, jnp.asarray(x.detach().numpy()))
    g_params, g_x = pullback((jnp.asarray(v), jax.tree.map(jnp.zeros_like, new_buffers)))
    assert_close(y, out_t.detach().numpy(), np.float64, "output")
    assert_close(g_x, x.grad.numpy(), np.float64, "grad wrt input")
    _close_to_scale(g_params, _grads(ref), "grad wrt params")
    if train:  # running statistics after one call, as torch's buffers
        want = fg.unflatten_dict({n: b.numpy() for n, b in ref.named_buffers()})
        assert_close(new_buffers, want, np.float64, "buffers")
