"""per_example_grads equals a Python loop of jax.grad over single examples, and torch per sample."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import torch
from _autodiff_torch import t

import funcgrad as fg
from funcgrad.autodiff import per_example_grads


def test_per_example_grads_match_a_loop_and_torch(x64):
    net = fg.models.SingleLayer(5, 3)
    params = jax.jit(net.init)(jax.random.PRNGKey(0))
    xs = jax.random.normal(jax.random.PRNGKey(1), (4, 5))
    ys = (jax.random.uniform(jax.random.PRNGKey(2), (4, 3)) > 0.5).astype(xs.dtype)

    def per_sample_loss(p, x, y):
        return fg.losses.binary_cross_entropy_with_logits(net.apply(p, x), y)

    grads = jax.jit(lambda p, b: per_example_grads(per_sample_loss, p, b))(params, (xs, ys))
    assert grads["w"].shape == (4, 5, 3) and grads["b"].shape == (4, 3)
    for i in range(4):
        w, b = t(params["w"], True), t(params["b"], True)
        z = torch.matmul(t(xs[i]), w) + b
        torch.nn.functional.binary_cross_entropy_with_logits(z, t(ys[i])).backward()
        np.testing.assert_allclose(grads["w"][i], w.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(grads["b"][i], b.grad.numpy(), rtol=1e-10)


def test_per_example_grads_single_array_batch():
    g = per_example_grads(
        lambda w, x: (w * x).sum(), jnp.ones(2), jnp.array([[1.0, 2.0], [3.0, 4.0]])
    )
    assert g.tolist() == [[1.0, 2.0], [3.0, 4.0]]
