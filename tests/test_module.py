"""The (init, apply) contract itself: Batched, hashability, jit."""

import jax
import jax.numpy as jnp
import numpy as np

import funcgrad as fg


def test_batched_is_vmap_over_examples():
    net = fg.models.MyNet(12, 5, 4, 3)
    params = net.init(jax.random.PRNGKey(0))
    xs = jax.random.normal(jax.random.PRNGKey(1), (6, 3, 4))
    batched = fg.nn.Batched(net).apply(params, xs)
    one_by_one = jnp.stack([net.apply(params, x) for x in xs])
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-6)


def test_modules_are_hashable_static_values():
    assert hash(fg.nn.Linear(3, 2)) == hash(fg.nn.Linear(3, 2))
    f = jax.jit(lambda m, p, x: m.apply(p, x), static_argnums=0)
    layer = fg.nn.Linear(3, 2)
    params = layer.init(jax.random.PRNGKey(0))
    np.testing.assert_allclose(
        f(layer, params, jnp.ones(3)), layer.apply(params, jnp.ones(3)), rtol=1e-6
    )
