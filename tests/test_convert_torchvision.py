"""convert on torchvision's classification and segmentation families (random weights, small
configurations, float64): ``convert`` verifies each itself (eval, and train with dropout off); here
outputs and parameter gradients are checked against torch again, and the generated source is run
with ``import torch`` refused (tests/_convert_check.py).

A family that stops converting may be listed in ``NOT_YET`` (``xfail(strict=True)``) with the
reason while it is fixed; today every family converts. Every test here is marked ``slow`` (tests/conftest.py): each compiles a
whole network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from _convert_check import check_conversion
from _torchvision import import_torchvision
from torch import nn

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


# `make test` converts one family of each kind of block (residuals, dense concatenation, channel
# shuffle, attention; MobileNet v3's inverted residuals with squeeze-excitation are converted,
# verified and trained in test_convert_fit.py); the others, each a whole network to compile, run
# in `make test-exhaustive`.
IN_MAKE_TEST = {"resnet", "densenet", "shufflenet_v2", "vit"}


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
    check_conversion(model, (x,), pick=_main_output)


def _main_output(y: Any) -> Any:
    """A classifier's logits, or a segmentation model's ``"out"``."""
    return y["out"] if isinstance(y, dict) else y
