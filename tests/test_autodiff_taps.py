"""Taps vs PyTorch's retain_grad(), live, in float64; taps are free outside grad_with_taps."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _autodiff_torch import close, t
from _torch_models import torch_mynet_like

import funcgrad as fg
from funcgrad.autodiff import grad_with_taps, tap


def test_mynet_taps_match_retain_grad(x64):
    d = (24, 7, 5, 4)
    net = fg.models.MyNet(*d)
    params = jax.jit(net.init)(jax.random.PRNGKey(0))
    image = jax.random.normal(jax.random.PRNGKey(1), (2, 3, 4))
    label = jnp.array(2)

    def loss(p, x):
        return fg.losses.cross_entropy(net.apply(p, x), label)

    grads, taps = jax.jit(grad_with_taps(loss))(params, image)

    tnet = torch_mynet_like(params, d)
    out, inner = tnet.forward_with_taps(t(image))
    for v in inner.values():
        v.retain_grad()
    torch.nn.functional.cross_entropy(out[None], torch.tensor([2])).backward()
    assert sorted(taps) == ["s1", "s2", "s3", "z1", "z2"]
    for name, v in inner.items():
        assert close(taps[name], v.grad), name
    for name, p in tnet.named_parameters():
        layer, kind = name.split(".")
        assert close(grads[layer][kind], p.grad), name


def test_single_layer_tap_matches_retain_grad(x64):
    layer = fg.models.SingleLayer(5, 3)
    params = jax.jit(layer.init)(jax.random.PRNGKey(0))
    x, y = jnp.ones(5), jnp.ones(3)

    def loss(p):
        return fg.losses.binary_cross_entropy_with_logits(layer.apply(p, x), y)

    grads, taps = jax.jit(grad_with_taps(loss))(params)

    w, b = t(params["w"], True), t(params["b"], True)
    z = torch.matmul(t(x), w) + b
    z.retain_grad()
    torch.nn.functional.binary_cross_entropy_with_logits(z, t(y)).backward()
    assert close(taps["z"], z.grad)
    assert close(grads["w"], w.grad) and close(grads["b"], b.grad)


def _f(w, x):
    h = tap(jnp.tanh(x @ w), "h")
    return (h**2).sum()


def test_tap_is_free_outside_grad_with_taps():
    def untapped(w, x):
        return (jnp.tanh(x @ w) ** 2).sum()

    args = (jnp.ones((3, 2)), jnp.ones(3))
    tapped_jaxpr = jax.make_jaxpr(_f)(*args)
    assert str(tapped_jaxpr) == str(jax.make_jaxpr(untapped)(*args))


def test_grad_with_taps_under_jit_and_vmap_matches_closed_form():
    w = jax.random.normal(jax.random.PRNGKey(0), (3, 2))
    xs = jax.random.normal(jax.random.PRNGKey(1), (4, 3))
    grads, taps = jax.jit(jax.vmap(grad_with_taps(_f), in_axes=(None, 0)))(w, xs)
    h = jnp.tanh(xs @ w)
    np.testing.assert_allclose(taps["h"], 2 * h, rtol=1e-5)  # d sum(h^2) / dh
    np.testing.assert_allclose(grads, jax.vmap(jax.grad(_f), in_axes=(None, 0))(w, xs), rtol=1e-5)


def test_argnums_tuple_and_errors():
    w, x = jnp.ones((3, 2)), jnp.ones(3)
    (gw, gx), _ = grad_with_taps(_f, argnums=(0, 1))(w, x)
    assert gw.shape == (3, 2) and gx.shape == (3,)

    def twice(x):
        return tap(x, "a").sum() + tap(x, "a").sum()

    with pytest.raises(ValueError, match="used twice"):
        grad_with_taps(twice)(x)
    with pytest.raises(fg.autodiff.NonScalarOutputError, match="backward"):
        grad_with_taps(lambda x: tap(x, "a") * 2)(x)
    with pytest.raises(ValueError, match="move the vmap outside"):
        grad_with_taps(lambda w: jax.vmap(lambda x: _f(w, x))(jnp.ones((2, 3))).sum())(w)
