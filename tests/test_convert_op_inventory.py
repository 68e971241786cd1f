"""Every op the glue of the models issue 25 names uses (torchvision's classification and
segmentation families, timm, Hugging Face transformers, the tutorials' models) has a row in the
converter's table, or is listed below with the reason it has none yet.

The ops are collected as ``convert`` meets them (tests/_op_inventory.py): torch.fx's nodes with the
``torch.nn`` layers as leaves, torch.export's ATen ops where fx cannot go. Models are built on the
meta device where fx alone reads them (no weights are drawn), with small configurations.
"""

from __future__ import annotations

import pytest
import torch
from _op_inventory import export_ops, fx_ops, mapped, name
from _torchvision import import_torchvision

# Ops the table lacks on purpose, per model, with the reason: the test fails when one of them maps
# (remove it here) as well as when a new one appears. (Every model's ops map today.)
NOT_YET: dict[str, dict[str, str]] = {}


def _tv(builder, *args, **kwargs):
    def build():
        import_torchvision()
        from torchvision import models

        return (
            getattr(models, builder)(*args, **kwargs)
            if isinstance(builder, str)
            else builder(models)
        )

    return build


def _timm(model_name, **kwargs):
    def build():
        import_torchvision()  # timm imports it
        import timm

        return timm.create_model(model_name, pretrained=False, **kwargs)

    return build


def _hf(model_class, config_class, **config):
    def build():
        import_torchvision()  # transformers imports it
        import transformers

        cfg = getattr(transformers, config_class)(use_cache=False, **config)
        return getattr(transformers, model_class)(cfg)

    return build


IMAGE = (1, 3, 64, 64)
SMALL = (1, 3, 32, 32)
TEXT = dict(vocab_size=50, num_hidden_layers=1, num_attention_heads=2, hidden_size=16)

# name: (build, input shape or token count, how convert meets it: fx, on the meta device unless
# said otherwise, or torch.export)
MODELS = {
    "resnet": (_tv("resnet18"), IMAGE, "fx"),
    "resnext": (
        _tv(lambda m: m.ResNet(m.resnet.Bottleneck, [1, 1, 1, 1], groups=4, width_per_group=8)),
        IMAGE,
        "fx",
    ),
    "wide_resnet": (
        _tv(lambda m: m.ResNet(m.resnet.Bottleneck, [1, 1, 1, 1], width_per_group=128)),
        IMAGE,
        "fx",
    ),
    "vgg": (_tv("vgg11"), IMAGE, "fx"),
    "alexnet": (_tv("alexnet"), IMAGE, "fx"),
    "squeezenet": (_tv("squeezenet1_1"), IMAGE, "fx"),
    "densenet": (_tv(lambda m: m.DenseNet(8, (2, 2), 16)), IMAGE, "fx"),
    "googlenet": (_tv("googlenet", aux_logits=False, init_weights=False), IMAGE, "fx"),
    "inception_v3": (
        _tv("inception_v3", aux_logits=False, init_weights=False),
        (1, 3, 96, 96),
        "fx",
    ),
    "mobilenet_v2": (_tv("mobilenet_v2"), IMAGE, "fx"),
    "mobilenet_v3": (_tv("mobilenet_v3_small"), IMAGE, "fx"),
    "mnasnet": (_tv("mnasnet0_5"), IMAGE, "fx"),
    "shufflenet_v2": (_tv("shufflenet_v2_x0_5"), IMAGE, "fx"),
    "efficientnet": (_tv("efficientnet_b0"), IMAGE, "fx"),
    "efficientnet_v2": (_tv("efficientnet_v2_s"), IMAGE, "fx"),
    "regnet": (_tv("regnet_y_400mf"), IMAGE, "fx on cpu"),  # its __init__ reads tensor values
    "convnext": (_tv("convnext_tiny"), IMAGE, "fx"),
    "vit": (_tv(lambda m: m.VisionTransformer(32, 8, 2, 2, 16, 32, num_classes=10)), SMALL, "fx"),
    "swin": (_tv(lambda m: m.SwinTransformer([4, 4], 16, [2, 2], [2, 2], [4, 4])), SMALL, "fx"),
    "lraspp": (
        _tv(
            lambda m: m.segmentation.lraspp_mobilenet_v3_large(num_classes=3, weights_backbone=None)
        ),
        IMAGE,
        "fx",
    ),
    "fcn": (
        _tv(lambda m: m.segmentation.fcn_resnet50(num_classes=3, weights_backbone=None)),
        IMAGE,
        "fx",
    ),
    "deeplabv3": (
        _tv(
            lambda m: m.segmentation.deeplabv3_mobilenet_v3_large(
                num_classes=3, weights_backbone=None
            )
        ),
        IMAGE,
        "fx",
    ),
    "timm.resnet18": (_timm("resnet18"), IMAGE, "fx"),
    "timm.convnext_atto": (_timm("convnext_atto"), IMAGE, "fx"),
    "timm.vit_tiny_patch16_224": (_timm("vit_tiny_patch16_224", img_size=32), SMALL, "fx"),
    "timm.deit_tiny_patch16_224": (_timm("deit_tiny_patch16_224", img_size=32), SMALL, "fx"),
    "timm.efficientnet_b0": (_timm("efficientnet_b0"), IMAGE, "fx"),
    "timm.mobilenetv3_small_050": (_timm("mobilenetv3_small_050"), IMAGE, "fx"),
    "timm.regnety_002": (_timm("regnety_002"), IMAGE, "fx"),
    "timm.mixer_s16_224": (_timm("mixer_s16_224", img_size=32), SMALL, "fx"),
    "hf.GPT2LMHeadModel": (
        _hf(
            "GPT2LMHeadModel",
            "GPT2Config",
            n_layer=1,
            n_head=2,
            n_embd=16,
            vocab_size=50,
            n_positions=16,
        ),
        8,
        "export",
    ),
    "hf.BertForSequenceClassification": (
        _hf("BertForSequenceClassification", "BertConfig", intermediate_size=32, **TEXT),
        8,
        "export",
    ),
    "hf.LlamaForCausalLM": (
        _hf("LlamaForCausalLM", "LlamaConfig", intermediate_size=32, num_key_value_heads=1, **TEXT),
        8,
        "export",
    ),
}


@pytest.mark.parametrize("model_name", list(MODELS))
def test_every_glue_op_of_the_model_maps(model_name):
    build, shape, how = MODELS[model_name]
    torch.manual_seed(0)
    if how.startswith("fx"):
        with torch.device("meta" if how == "fx" else "cpu"):  # fx reads code, not weights
            model = build().eval()
            inputs = (torch.zeros(shape),)
        ops = fx_ops(model, inputs)
    else:
        model = build().eval()
        ops = export_ops(model, (torch.randint(0, 50, (1, shape)),))
    unmapped = {name(op) for op in ops if not mapped(op)}
    assert unmapped == set(NOT_YET.get(model_name, {})), sorted(unmapped)
