"""convert on torchvision's classification and segmentation families (random weights, small
configurations, float64): ``convert`` verifies each itself (eval, and train with dropout off); here
outputs and parameter gradients are checked against torch again, and the generated source is run
with ``import torch`` refused.

A family that stops converting may be listed in ``NOT_YET`` (``xfail(strict=True)``) with the
reason while it is fixed; today every family converts. Every test here is marked ``slow`` (tests/conftest.py): each compiles a
whole network."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _torchvision import import_torchvision
from torch import nn

import funcgrad as fg

import_torchvision()
from torchvision import models as M  # noqa: E402
from torchvision.models import segmentation as S  # noqa: E402


def _small_head(m: nn.Module, features: int) -> nn.Module:
    """VGG's and AlexNet's 4096-wide classifier, 32 wide (the forward is torchvision's own)."""
    m.avgpool = nn.AdaptiveAvgPool2d(1)
    m.classifier = nn.Sequential(
        nn.Linear(features, 32), nn.ReLU(True), nn.Dropout(), nn.Linear(32, 10)
    )
    return m


def _mobilenet_v3() -> nn.Module:
    cfg = M.mobilenetv3.InvertedResidualConfig
    setting = [cfg(8, 3, 16, 8, True, "RE", 2, 1, 1.0), cfg(8, 3, 24, 16, False, "HS", 2, 1, 1.0)]
    return M.MobileNetV3(setting, last_channel=32, num_classes=10)


def _efficientnet(v2: bool) -> nn.Module:
    e = M.efficientnet
    if v2:
        setting: list[Any] = [
            e.FusedMBConvConfig(1, 3, 1, 8, 8, 1),
            e.MBConvConfig(4, 3, 2, 8, 16, 1),
        ]
    else:
        setting = [e.MBConvConfig(1, 3, 1, 8, 8, 1), e.MBConvConfig(6, 5, 2, 8, 16, 2)]
    return M.EfficientNet(setting, dropout=0.2, num_classes=10, last_channel=32)


def _regnet() -> nn.Module:
    params = M.regnet.BlockParams.from_init_params(
        depth=2, w_0=8, w_a=8.0, w_m=2.0, group_width=8, se_ratio=0.25
    )
    return M.RegNet(params, num_classes=10, stem_width=8)


FAMILIES: dict[str, tuple[Callable[[], nn.Module], int]] = {
    "resnet": (lambda: M.ResNet(M.resnet.BasicBlock, [1, 1, 1, 1], num_classes=10), 32),
    "resnext": (
        lambda: M.ResNet(
            M.resnet.Bottleneck, [1, 1, 1, 1], num_classes=10, groups=4, width_per_group=4
        ),
        32,
    ),
    "wide_resnet": (
        lambda: M.ResNet(M.resnet.Bottleneck, [1, 1, 1, 1], num_classes=10, width_per_group=128),
        32,
    ),
    "vgg": (
        lambda: _small_head(
            M.VGG(M.vgg.make_layers([8, "M", 16, "M"], batch_norm=True), num_classes=10), 16
        ),
        32,
    ),
    "alexnet": (lambda: _small_head(M.AlexNet(num_classes=10), 256), 64),
    "squeezenet": (lambda: M.squeezenet1_1(num_classes=10), 32),
    "densenet": (
        lambda: M.DenseNet(
            growth_rate=8, block_config=(2, 2), num_init_features=16, num_classes=10
        ),
        32,
    ),
    "googlenet": (lambda: M.googlenet(num_classes=10, aux_logits=False, init_weights=False), 32),
    "inception_v3": (
        lambda: M.inception_v3(num_classes=10, aux_logits=False, init_weights=False),
        75,
    ),
    "mobilenet_v2": (lambda: M.mobilenet_v2(num_classes=10, width_mult=0.25), 32),
    "mobilenet_v3": (_mobilenet_v3, 32),
    "mnasnet": (lambda: M.mnasnet0_5(num_classes=10), 32),
    "shufflenet_v2": (lambda: M.ShuffleNetV2([2, 1, 1], [8, 16, 32, 64, 64], num_classes=10), 32),
    "efficientnet": (lambda: _efficientnet(False), 32),
    "efficientnet_v2": (lambda: _efficientnet(True), 32),
    "regnet": (_regnet, 32),
    "convnext": (
        lambda: M.ConvNeXt(
            [M.convnext.CNBlockConfig(16, 32, 1), M.convnext.CNBlockConfig(32, None, 1)],
            num_classes=10,
        ),
        32,
    ),
    "vit": (
        lambda: M.VisionTransformer(
            image_size=32,
            patch_size=8,
            num_layers=2,
            num_heads=2,
            hidden_dim=16,
            mlp_dim=32,
            num_classes=10,
        ),
        32,
    ),
    "swin": (
        lambda: M.SwinTransformer(
            patch_size=[4, 4],
            embed_dim=16,
            depths=[1, 1],
            num_heads=[2, 2],
            window_size=[2, 2],
            num_classes=10,
        ),
        32,
    ),
    "lraspp": (lambda: S.lraspp_mobilenet_v3_large(num_classes=3, weights_backbone=None), 32),
    "fcn": (lambda: S.fcn_resnet50(num_classes=3, weights_backbone=None, aux_loss=False), 32),
    "deeplabv3": (
        lambda: S.deeplabv3_mobilenet_v3_large(
            num_classes=3, weights_backbone=None, aux_loss=False
        ),
        32,
    ),
}

# What stops a family today, by the op or layer the converter refuses (the op table's issue).
NOT_YET: dict[str, str] = {}


def _no_torch_import(name: str, *args: Any, **kwargs: Any) -> Any:
    if name == "torch" or name.startswith("torch."):
        raise ImportError(f"the generated source imports {name}")
    return builtins.__import__(name, *args, **kwargs)


def _params_of(conv: Any) -> dict[str, Any]:
    return fg.flatten_dict(conv.params)


# `make test` converts one family of each kind of block (plain and bottleneck residuals, dense
# concatenation, inverted residuals with squeeze-excitation, channel shuffle, attention); the
# others, each a whole network to compile, run in `make test-exhaustive`.
IN_MAKE_TEST = {"resnet", "densenet", "mobilenet_v3", "shufflenet_v2", "vit"}


def _marks(family: str) -> list[pytest.MarkDecorator]:
    marks = [] if family in IN_MAKE_TEST else [pytest.mark.exhaustive]
    if family in NOT_YET:
        marks.append(pytest.mark.xfail(reason=NOT_YET[family], strict=True))
    return marks


@pytest.mark.parametrize("family", [pytest.param(f, marks=_marks(f)) for f in FAMILIES])
def test_family_converts_verified_with_outputs_and_parameter_gradients(family, x64):
    build, size = FAMILIES[family]
    torch.manual_seed(0)
    model = build().double()
    x = torch.randn(2, 3, size, size, dtype=torch.float64)
    conv = fg.interop.convert(model, x)

    # the source runs where torch cannot be imported
    namespace: dict[str, Any] = {"__builtins__": {**vars(builtins), "__import__": _no_torch_import}}
    exec(compile(conv.source, f"<{family}>", "exec", dont_inherit=True), namespace)
    assert type(namespace["model"]).__name__ == type(model).__name__

    model.eval()
    out = model(x)
    out_t = out["out"] if isinstance(out, dict) else out
    v = torch.randn(out_t.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    (out_t * v).sum().backward()
    grads_t = {k: p.grad for k, p in model.named_parameters() if p.grad is not None}

    def f(params: Any) -> Any:
        y, _ = conv.model.apply(params, jnp.asarray(x.numpy()), buffers=conv.buffers)
        return y["out"] if isinstance(y, dict) else y

    y, pull = jax.vjp(jax.jit(f), conv.params)
    np.testing.assert_allclose(np.asarray(y), out_t.detach().numpy(), rtol=1e-9, atol=1e-9)
    (grads,) = pull(jnp.asarray(v.numpy()))
    flat = fg.flatten_dict(grads)
    for k, g in grads_t.items():
        scale = max(1.0, float(g.abs().max()))
        np.testing.assert_allclose(
            np.asarray(flat[k]), g.numpy(), rtol=0, atol=1e-9 * scale, err_msg=k
        )
