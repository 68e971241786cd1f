"""fg.graph's grad_fn table vs the grad_fn torch really records, live, for each layer and loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest
import torch

import funcgrad as fg
from funcgrad.graph import GRAD_FN_BY_FUNCTION

N, C, H, D = 2, 4, 8, 6


def _x4():
    return torch.randn(N, C, H, H, requires_grad=True)


def _x2():
    return torch.randn(N, D, requires_grad=True)


# name -> (torch output from a fresh input, fg layer constructor args, fg input shape)
LAYERS = {
    "AdaptiveAvgPool2d": (lambda: torch.nn.AdaptiveAvgPool2d(3)(_x4()), (3,), (N, C, H, H)),
    "AvgPool2d": (lambda: torch.nn.AvgPool2d(2)(_x4()), (2,), (N, C, H, H)),
    "BatchNorm1d": (lambda: torch.nn.BatchNorm1d(D).train()(_x2()), (D,), (N, D)),
    "BatchNorm2d": (lambda: torch.nn.BatchNorm2d(C).train()(_x4()), (C,), (N, C, H, H)),
    "Conv1d": (lambda: torch.nn.Conv1d(C, 3, 3)(torch.randn(N, C, H)), (C, 3, 3), (N, C, H)),
    "Conv2d": (lambda: torch.nn.Conv2d(C, 3, 3)(_x4()), (C, 3, 3), (N, C, H, H)),
    "Dropout": (lambda: torch.nn.Dropout(0.5).train()(_x2()), (0.5,), (N, D)),
    "ELU": (lambda: torch.nn.ELU()(_x2()), (), (N, D)),
    "Embedding": (
        lambda: torch.nn.Embedding(10, 3)(torch.tensor([1, 2])),
        (10, 3),
        None,  # integer input: built in the test
    ),
    "GELU": (lambda: torch.nn.GELU()(_x2()), (), (N, D)),
    "GroupNorm": (lambda: torch.nn.GroupNorm(2, C)(_x4()), (2, C), (N, C, H, H)),
    "LayerNorm": (lambda: torch.nn.LayerNorm(D)(_x2()), (D,), (N, D)),
    "LeakyReLU": (lambda: torch.nn.LeakyReLU()(_x2()), (), (N, D)),
    "Linear": (lambda: torch.nn.Linear(D, 3)(_x2()), (D, 3), (N, D)),
    "LogSoftmax": (lambda: torch.nn.LogSoftmax(-1)(_x2()), (-1,), (N, D)),
    "MaxPool2d": (lambda: torch.nn.MaxPool2d(2)(_x4()), (2,), (N, C, H, H)),
    "ReLU": (lambda: torch.nn.ReLU()(_x2()), (), (N, D)),
    "SiLU": (lambda: torch.nn.SiLU()(_x2()), (), (N, D)),
    "Sigmoid": (lambda: torch.nn.Sigmoid()(_x2()), (), (N, D)),
    "Softmax": (lambda: torch.nn.Softmax(-1)(_x2()), (-1,), (N, D)),
    "Tanh": (lambda: torch.nn.Tanh()(_x2()), (), (N, D)),
}

_T = torch.tensor([0, 1])
LOSSES = {
    "binary_cross_entropy": lambda x: torch.nn.functional.binary_cross_entropy(
        torch.sigmoid(x).detach().requires_grad_(True), torch.zeros(N, D)
    ),
    "binary_cross_entropy_with_logits": lambda x: (
        torch.nn.functional.binary_cross_entropy_with_logits(x, torch.zeros(N, D))
    ),
    "cross_entropy": lambda x: torch.nn.functional.cross_entropy(x, _T),
    "huber_loss": lambda x: torch.nn.functional.huber_loss(x, torch.zeros(N, D)),
    "l1_loss": lambda x: torch.nn.functional.l1_loss(x, torch.zeros(N, D)),
    "mse_loss": lambda x: torch.nn.functional.mse_loss(x, torch.zeros(N, D)),
    "nll_loss": lambda x: torch.nn.functional.nll_loss(x, _T),
    "smooth_l1_loss": lambda x: torch.nn.functional.smooth_l1_loss(x, torch.zeros(N, D)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_grad_fn_is_torchs(name):
    torch_out, ctor_args, shape = LAYERS[name]
    assert GRAD_FN_BY_FUNCTION[name] == type(torch_out().grad_fn).__name__
    layer_cls = getattr(fg.nn, name, None)
    if layer_cls is None:
        pytest.skip(f"fg.nn.{name} is not there yet")
    layer = layer_cls(*ctor_args)
    params = layer.init(jax.random.PRNGKey(0))
    if shape is None:
        x = jnp.array([1, 2])
        wrt = "params"
    else:
        x = jnp.ones(shape)
        wrt = ("params", "x")

    def run(params, x):
        buffers = layer.init_buffers()
        y, _ = layer.apply(params, x, buffers=buffers, train=True, key=jax.random.PRNGKey(1))
        return y

    if not jax.tree.leaves(params):
        wrt = "x"
    g = trace(run, params, x, wrt=wrt)
    assert g.grad_fns == [GRAD_FN_BY_FUNCTION[name]], g.table()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_grad_fn_is_torchs(name):
    x = torch.randn(N, D, requires_grad=True)
    if name == "nll_loss":
        x = torch.log_softmax(x, -1).detach().requires_grad_(True)
    assert GRAD_FN_BY_FUNCTION[name] == type(LOSSES[name](x).grad_fn).__name__
    loss = getattr(fg.losses, name, None)
    if loss is None:
        pytest.skip(f"fg.losses.{name} is not there yet")
    target = jnp.array([0, 1]) if name in ("cross_entropy", "nll_loss") else jnp.zeros((N, D))
    inp = jnp.full((N, D), 0.25) if name == "binary_cross_entropy" else jnp.ones((N, D))
    g = trace(lambda input: loss(input, target), inp)
    assert g.grad_fns == [GRAD_FN_BY_FUNCTION[name]], g.table()


trace = fg.graph.trace
