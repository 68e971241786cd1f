"""convert verifies: torch and the converted model run on the example, and a model whose outputs
differ is refused with the largest difference and the first generated line that differs."""

from __future__ import annotations

import operator

import jax.numpy as jnp
import numpy as np
import pytest
import torch
from torch import nn

import funcgrad as fg
from funcgrad.interop import _convert


class Inner(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc(x)
        return torch.tanh(h) + h


class Outer(nn.Module):
    """A custom child, BatchNorm (train-mode behaviour) and a dict output with a None entry."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = Inner()
        self.norm = nn.BatchNorm1d(4)
        self.drop = nn.Dropout(0.3)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | None]:
        y = self.drop(self.inner(x) * 2)
        return {"y": self.norm(y), "none": None}


def _off_by(monkeypatch: pytest.MonkeyPatch, target: object, delta: float) -> None:
    """Patch the op table: ``target``'s rule writes its result plus ``delta``."""
    real = _convert.ops.lookup

    def lookup(op: str, t: object) -> object:
        template = real(op, t)
        if t is not target or template is None:
            return template

        def wrong(ctx: object, *args: object, **kwargs: object) -> str:
            return f"({template(ctx, *args, **kwargs)} + {delta!r})"

        return wrong

    monkeypatch.setattr(_convert.ops, "lookup", lookup)


def test_a_correct_conversion_is_returned_and_dict_outputs_with_none_match():
    torch.manual_seed(0)
    model, x = Outer(), torch.randn(5, 4)
    conv = fg.interop.convert(model, x)
    y, _ = conv.model.apply(conv.params, jnp.asarray(x.numpy()), buffers=conv.buffers)
    model.eval()
    expected = model(x)
    assert y["none"] is None
    np.testing.assert_allclose(np.asarray(y["y"]), expected["y"].detach().numpy(), atol=1e-5)


def test_an_op_rule_off_by_1e_3_is_refused_naming_the_generated_line(monkeypatch):
    torch.manual_seed(0)
    model, x = Outer(), torch.randn(5, 4)
    _off_by(monkeypatch, operator.add, 1e-3)
    with pytest.raises(fg.interop.ConversionError) as info:
        fg.interop.convert(model, x)
    message = str(info.value)
    assert "differs from torch's in eval mode by" in message, message
    # the line in the child Inner that adds, not the parent's: the localisation descends
    assert "in Inner.forward at inner: add = tanh + fc + 0.001" in message, message
    assert "return torch.tanh(h) + h" in message, message  # torch's line too
    assert info.value.line == "add = tanh + fc + 0.001"
    assert info.value.op == "verification"


def test_verify_false_returns_the_wrong_model(monkeypatch):
    torch.manual_seed(0)
    model, x = Outer(), torch.randn(5, 4)
    _off_by(monkeypatch, operator.add, 1e-3)
    conv = fg.interop.convert(model, x, verify=False)
    assert "+ 0.001" in conv.source


def test_train_mode_is_verified_with_dropout_off(monkeypatch):
    """A difference only in train mode (the batch statistics) is caught: the rule for
    ``self.training`` branches is patched through a model whose train branch adds a constant."""

    class TrainOnly(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.BatchNorm1d(3)
            self.drop = nn.Dropout(0.5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.training:
                return self.drop(self.norm(x)) * 3.0
            return self.norm(x)

    torch.manual_seed(0)
    model, x = TrainOnly(), torch.randn(6, 3)
    fg.interop.convert(model, x)  # train mode with dropout off agrees
    _off_by(monkeypatch, operator.mul, 1e-3)
    with pytest.raises(fg.interop.ConversionError, match=r"in train mode \(dropout off\)"):
        fg.interop.convert(model, x)
    # the torch model is left as it came: its mode, its dropout p and its running statistics
    assert model.training and model.drop.p == 0.5
    assert float(model.norm.running_mean.abs().max()) == 0.0


def test_a_model_with_its_own_train_method_converts():
    """The forward-forward example: ``train(self, x_pos, x_neg)`` is the model's, not torch's."""

    class FFNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.norm = nn.BatchNorm1d(3)
            self.trained = 0

        def train(self, x_pos: torch.Tensor, x_neg: torch.Tensor) -> None:  # type: ignore[override]
            self.trained += 1

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.norm(torch.relu(self.fc(x)))

    model = FFNet()
    fg.interop.convert(model, torch.randn(5, 4))
    assert model.trained == 0
