"""The converter's op table: functional layers and losses derived from fg.nn.LAYERS / LOSSES, the
leaf layers derived from the same table, in-process formatting, and torch's private symbols kept in
one module. Numbers are checked against live torch on the same weights and inputs.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import black
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch import nn

import funcgrad as fg
from funcgrad.interop import _fx_ops

INTEROP = Path(fg.__file__).parent / "interop"


def _check(model, *inputs, rtol=1e-5):
    """Convert ``model`` on ``inputs`` and compare outputs with torch (eval mode)."""
    example = inputs[0] if len(inputs) == 1 else inputs
    conv = fg.interop.convert(model.eval(), example)
    args = [jnp.asarray(x.numpy()) for x in inputs]
    got = conv.model.apply(conv.params, args[0] if len(args) == 1 else tuple(args))
    with torch.no_grad():
        expected = model(*inputs)
    for g, e in zip(
        got if isinstance(got, tuple) else (got,),
        expected if isinstance(expected, tuple) else (expected,),
        strict=True,
    ):
        np.testing.assert_allclose(np.asarray(g), e.numpy(), rtol=rtol, atol=1e-6)
    return conv


class Functionals(nn.Module):
    """Layers' functional forms, called as torch users call them."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 3, 3, 3) * 0.3)
        self.lin = nn.Parameter(torch.randn(5, 4) * 0.3)
        self.table = nn.Parameter(torch.randn(10, 4))

    def forward(self, x, idx):
        h = TF.conv2d(x, self.w, padding=1)
        h = TF.group_norm(h, 2)
        h = TF.leaky_relu(h, 0.2) + TF.elu(h, alpha=0.5) + TF.silu(h, inplace=False)
        h = TF.avg_pool2d(h, 2) + TF.max_pool2d(h, 2)
        h = TF.adaptive_avg_pool2d(h, 1).flatten(1)
        h = TF.layer_norm(h, (4,)) + TF.embedding(idx, self.table)
        h = torch.sigmoid(TF.gelu(h, approximate="tanh")) + h.tanh() + torch.relu(h)
        return TF.linear(h, self.lin)


def test_layer_functionals_convert_to_funcgrad_functionals():
    torch.manual_seed(0)
    x, idx = torch.randn(2, 3, 6, 6), torch.tensor([1, 7])
    conv = _check(Functionals(), x, idx)
    for name in ("conv2d", "group_norm", "leaky_relu", "elu", "silu", "avg_pool2d", "layer_norm"):
        assert f"F.{name}(" in conv.source
    assert re.search(r"F\.leaky_relu\(\w+, negative_slope=0\.2\)", conv.source)


class Losses(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)

    def forward(self, x, target, labels):
        y = self.fc(x)
        return (
            TF.mse_loss(y, target),
            TF.l1_loss(y, target, reduction="sum"),
            TF.smooth_l1_loss(y, target, beta=0.5),
            TF.huber_loss(y, target, delta=2.0),
            TF.cross_entropy(y, labels, label_smoothing=0.1),
            TF.nll_loss(TF.log_softmax(y, dim=1), labels, reduction="none"),
            TF.binary_cross_entropy_with_logits(y, target.sigmoid()),
            TF.binary_cross_entropy(y.sigmoid(), target.sigmoid()),
        )


def test_losses_convert_to_fg_losses():
    torch.manual_seed(0)
    x, target, labels = torch.randn(5, 3), torch.randn(5, 4), torch.tensor([0, 3, 1, 2, 3])
    conv = _check(Losses(), x, target, labels)
    assert 'fg.losses.l1_loss(fc, target, reduction="sum")' in conv.source
    assert "fg.losses.cross_entropy(fc, labels, label_smoothing=0.1)" in conv.source


def test_every_layer_and_loss_functional_has_a_row():
    """The table derives its F.* rows from fg.nn.LAYERS / LOSSES: none is left out."""
    for entry in fg.nn.LAYERS.values():
        if entry.functional is None:
            continue
        name = entry.functional.__name__
        template = _fx_ops.lookup("call_function", getattr(TF, name, None)) or _fx_ops.lookup(
            "call_function", getattr(torch, name, None)
        )
        assert template is not None or name == "batch_norm", name
    for entry in fg.nn.LOSSES.values():
        name = entry.functional.__name__
        assert _fx_ops.lookup("call_function", getattr(TF, name)) is not None, name


def test_a_torch_argument_funcgrad_lacks_is_an_error_naming_it():
    # torch's deprecated size_average / reduce: fg.losses takes reduction= only
    class Legacy(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return TF.mse_loss(self.fc(x), x, size_average=False)

    with pytest.raises(fg.interop.ConversionError, match="size_average") as info:
        fg.interop.convert(Legacy(), torch.randn(2, 4))
    assert "torch.nn.functional.mse_loss" in info.value.op


def test_source_is_formatted_in_process(monkeypatch):
    """No subprocess (a dev tool that may or may not be installed): black's API, line length 100."""

    def refuse(*args, **kwargs):
        raise AssertionError("the converter started a subprocess")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(50, 3))
    conv = fg.interop.convert(model, torch.ones(1, 1, 5, 5))
    assert conv.source == black.format_str(conv.source, mode=black.Mode(line_length=100))
    assert max(len(line) for line in conv.source.splitlines()) <= 100


def test_private_torch_symbols_only_in_the_compat_module():
    private = re.compile(
        r"torch\.(utils\.|fx\.)?_[a-zA-Z]|torch\._C|_non_persistent_buffers_set"
        r"|(?<!funcgrad\.)nn\.functional\._[a-zA-Z]|from torch[\w.]* import _\w"
    )
    for path in sorted(INTEROP.glob("*.py")):
        if path.name == "_torch_compat.py":
            continue
        hits = [line for line in path.read_text().splitlines() if private.search(line)]
        assert not hits, f"{path.name}: {hits}"


def test_a_stride_equal_to_the_kernel_is_kept_for_convolutions():
    """Only pools default their stride to the kernel; a patchify conv keeps stride=2."""
    for layer in (nn.Conv2d(3, 8, 2, stride=2), nn.ConvTranspose2d(8, 4, 2, stride=2)):
        conv = fg.interop.convert(nn.Sequential(layer), torch.randn(1, layer.in_channels, 4, 4))
        assert "stride=2" in conv.source, conv.source
    assert "stride" not in fg.interop.convert(nn.Sequential(nn.MaxPool2d(2))).source
