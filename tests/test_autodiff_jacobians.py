"""module_jacobians vs torch.autograd.functional.jacobian, live in float64."""

from __future__ import annotations

import jax
import torch
from _autodiff_torch import close, t
from torch.autograd.functional import jacobian

import funcgrad as fg
from funcgrad.autodiff import module_jacobians


def test_linear_jacobians_match_torch(x64):
    layer = fg.nn.Linear(4, 3)
    params = jax.jit(layer.init)(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (4,))
    d_x, d_p = module_jacobians(layer, params, x)

    tw, tb, tx = t(params["weight"]), t(params["bias"]), t(x)
    lin = torch.nn.functional.linear
    assert close(d_x, jacobian(lambda z: lin(z, tw, tb), tx))
    assert close(d_p["weight"], jacobian(lambda w: lin(tx, w, tb), tw))
    assert close(d_p["bias"], jacobian(lambda b: lin(tx, tw, b), tb))
    assert d_p["weight"].shape == (3, 3, 4)


def test_conv_jacobians_match_torch(x64):
    layer = fg.nn.Conv2d(2, 2, 2)
    params = jax.jit(layer.init)(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 3, 3))
    d_x, d_p = module_jacobians(layer, params, x)

    tw, tb, tx = t(params["weight"]), t(params["bias"]), t(x)
    conv = torch.nn.functional.conv2d
    assert close(d_x, jacobian(lambda z: conv(z[None], tw, tb)[0], tx))
    assert close(d_p["weight"], jacobian(lambda w: conv(tx[None], w, tb)[0], tw))


def test_relu_has_no_weight_jacobian():
    d_x, d_p = module_jacobians(fg.nn.ReLU(), {}, jax.numpy.array([-1.0, 2.0]))
    assert d_p == {} and d_x.tolist() == [[0.0, 0.0], [0.0, 1.0]]
