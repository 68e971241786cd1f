"""convert on the timm models issue 25 names (``pretrained=False``, 32x32 images, float64):
``convert`` verifies each itself (eval, and train with dropout off); here outputs and parameter
gradients are checked against torch again, and the generated source is run with ``import torch``
refused (tests/_convert_check.py, as for torchvision's families).

The models keep timm's own configurations (the ViTs, DeiT and the mixer at ``img_size=32``), so
each compiles a whole network (25-60 s for the CNNs on a loaded core): `make test` converts the
ViT, and timm's BatchNormAct2d alone (its in-place running statistics, which mobilenetv3,
efficientnet and regnety use); the rest run in `make test-exhaustive`. The model tests are marked
``slow`` (tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _convert_check import check_conversion
from _torchvision import import_torchvision

import_torchvision()  # timm imports torchvision
import timm  # noqa: E402

import funcgrad as fg  # noqa: E402

SMALL = {"img_size": 32}
MODELS: dict[str, dict[str, Any]] = {
    "resnet18": {},
    "convnext_atto": {},
    "vit_tiny_patch16_224": {**SMALL, "depth": 2},
    "deit_tiny_patch16_224": {**SMALL, "depth": 2},
    "efficientnet_b0": {},
    "mobilenetv3_small_050": {},
    "regnety_002": {},
    "mixer_s16_224": SMALL,
}
IN_MAKE_TEST = {"vit_tiny_patch16_224"}


def _marks(name: str) -> list[pytest.MarkDecorator]:
    return [] if name in IN_MAKE_TEST else [pytest.mark.exhaustive]


@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(n)) for n in MODELS])
def test_timm_model_converts_verified_with_outputs_and_parameter_gradients(name, x64):
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, num_classes=10, **MODELS[name]).double()
    check_conversion(model, (torch.randn(2, 3, 32, 32, dtype=torch.float64),))


def test_in_place_running_statistics_are_returned_as_torch_updates_them(x64):
    # timm's BatchNormAct2d is BatchNorm2d.forward copied: num_batches_tracked.add_(1) and
    # F.batch_norm write the buffers in place in train mode
    torch.manual_seed(0)
    layer = timm.layers.BatchNormAct2d(3, momentum=0.3).double()
    x = torch.randn(4, 3, 2, 2, dtype=torch.float64)
    before = {k: v.clone() for k, v in layer.named_buffers()}
    conv = fg.interop.convert(layer, x)
    for k, v in layer.named_buffers():  # converting (tracing in train mode) wrote nothing
        assert torch.equal(v, before[k]), k

    layer.train()
    y_t = layer(x)
    y, new = conv.model.apply(conv.params, jnp.asarray(x.numpy()), buffers=conv.buffers, train=True)
    np.testing.assert_allclose(np.asarray(y), y_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    flat = fg.flatten_dict(new)
    for k, v in layer.named_buffers():
        assert not torch.equal(v, before[k]), k  # torch did update each one
        np.testing.assert_allclose(np.asarray(flat[k]), v.numpy(), rtol=1e-12, atol=0, err_msg=k)
    assert flat["num_batches_tracked"].dtype == jnp.int64
