"""backprop (chained VJPs) vs jax.grad for MyNet and ConvNet, and vs torch for MyNet."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _autodiff_torch import close, t
from _torch_models import torch_mynet_like

import funcgrad as fg
from funcgrad.autodiff import backprop


def _assert_tree_close(a, b, rtol=1e-10):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-12)
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)


@pytest.mark.parametrize(
    ("net", "shape"),
    [
        (fg.models.MyNet(24, 7, 5, 4), (2, 3, 4)),
        (fg.models.ConvNet(num_classes=3, image_size=(10, 10)), (1, 10, 10)),
    ],
    ids=["mynet", "convnet"],
)
def test_backprop_equals_jax_grad(x64, net, shape):
    params = jax.jit(net.init)(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), shape)
    label = jnp.array(1)

    def loss(out):
        return fg.losses.cross_entropy(out, label)

    grads, dx = jax.jit(lambda p, x: backprop(net, p, x, loss))(params, x)
    auto_p, auto_x = jax.jit(jax.grad(lambda p, x: loss(net.apply(p, x)), argnums=(0, 1)))(
        params, x
    )
    _assert_tree_close(grads, auto_p)
    _assert_tree_close(dx, auto_x)


def test_backprop_mynet_matches_torch(x64):
    d = (24, 7, 5, 4)
    net = fg.models.MyNet(*d)
    params = jax.jit(net.init)(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 3, 4))
    grads, dx = backprop(net.as_sequential(), params, x, lambda o: (o**2).sum())

    tnet, tx = torch_mynet_like(params, d), t(x, True)
    (tnet(tx) ** 2).sum().backward()
    assert close(dx, tx.grad)
    for name, p in tnet.named_parameters():
        layer, kind = name.split(".")
        assert close(grads[layer][kind], p.grad), name


def test_backprop_accepts_a_list_and_rejects_junk():
    layers = [fg.nn.Linear(3, 2), fg.nn.Tanh()]
    params = fg.nn.Sequential(*layers).init(jax.random.PRNGKey(0))
    grads, _ = backprop(layers, params, jnp.ones(3), lambda o: o.sum())
    assert sorted(grads) == ["0"]
    with pytest.raises(TypeError, match="Sequential"):
        backprop("not layers", params, jnp.ones(3), lambda o: o.sum())
    with pytest.raises(ValueError, match="name no stage"):
        backprop(layers, {"9": {}}, jnp.ones(3), lambda o: o.sum())
    with pytest.raises(fg.autodiff.NonScalarOutputError):
        backprop(layers, params, jnp.ones(3), lambda o: o)
