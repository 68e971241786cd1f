"""Parameter-free layers against their torch counterparts, and finite differences."""

import jax
import numpy as np
import pytest
import torch
from _parity import check_module
from jax.test_util import check_grads

import funcgrad as fg

LAYERS = [
    (torch.nn.ReLU(), fg.nn.ReLU()),
    (torch.nn.Tanh(), fg.nn.Tanh()),
    (torch.nn.Sigmoid(), fg.nn.Sigmoid()),
    (torch.nn.Flatten(), fg.nn.Flatten()),
    (torch.nn.Flatten(0, 1), fg.nn.Flatten(0, 1)),
    (torch.nn.Flatten(2), fg.nn.Flatten(2)),
]


@pytest.mark.parametrize("torch_layer, layer", LAYERS, ids=lambda m: repr(m))
def test_matches_torch(dtype, torch_layer, layer):
    x = np.random.default_rng(0).standard_normal((3, 4, 2, 5))
    check_module(torch_layer, layer, x, dtype)


@pytest.mark.parametrize("layer", [fg.nn.Tanh(), fg.nn.Sigmoid(), fg.nn.ReLU(), fg.nn.Flatten()])
def test_finite_differences(x64, layer):
    # Inputs kept away from 0, where ReLU has no derivative for finite differences to find.
    x = jax.random.uniform(jax.random.PRNGKey(0), (2, 3, 4), minval=0.1, maxval=2.0)
    x = x * jax.random.rademacher(jax.random.PRNGKey(1), x.shape, dtype=x.dtype)
    check_grads(lambda x: layer.apply({}, x), (x,), order=2, modes=("fwd", "rev"))


def test_relu_derivative_at_zero_is_zero_like_torch():
    xt = torch.zeros(1, requires_grad=True)
    torch.relu(xt).sum().backward()
    assert float(jax.grad(lambda x: fg.nn.ReLU().apply({}, x).sum())(np.zeros(1))[0]) == float(
        xt.grad[0]
    )


def test_no_params():
    for layer in (fg.nn.ReLU(), fg.nn.Tanh(), fg.nn.Sigmoid(), fg.nn.Flatten()):
        assert layer.init(jax.random.PRNGKey(0)) == {}
