"""Freezing by path with optax, detach, and differentiating only some arguments."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
import pytest

import funcgrad as fg
from funcgrad.autodiff import detach, freeze, path_mask

_PARAMS = {
    f"m{i}": {"weight": jnp.ones(shape), "bias": jnp.zeros(shape[0])}
    for i, shape in enumerate([(4, 6), (3, 4), (2, 3)])
}


def _params():
    return _PARAMS


def test_frozen_layer_never_moves_and_keeps_no_state():
    net, params = fg.models.MyNet(6, 4, 3, 2), _params()
    tx = freeze(optax.adam(0.1), "m0.*")
    state = tx.init(params)
    x = jnp.ones(6)

    @jax.jit
    def step(params, state):
        grads = jax.grad(lambda p: (net.apply(p, x) ** 2).sum())(params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    new = params
    for _ in range(3):
        new, state = step(new, state)
    assert jnp.array_equal(new["m0"]["weight"], params["m0"]["weight"])
    assert jnp.array_equal(new["m0"]["bias"], params["m0"]["bias"])
    assert not jnp.allclose(new["m1"]["weight"], params["m1"]["weight"])
    # Adam keeps moments only for the trained group: no array of m0.weight's shape in its state.
    shapes = [jnp.shape(leaf) for leaf in jax.tree_util.tree_leaves(state)]
    assert (4, 6) not in shapes and (3, 4) in shapes


def test_path_mask_globs_prefixes_and_typos():
    mask = path_mask(_params(), "*.bias", "m2")
    assert mask["m0"] == {"bias": True, "weight": False}
    assert mask["m2"] == {"bias": True, "weight": True}
    with pytest.raises(ValueError, match="'m9.\\*' matches no parameter; the paths are m0.bias"):
        path_mask(_params(), "m9.*")
    with pytest.raises(TypeError, match="strings"):
        path_mask(_params(), 3)


def test_detach_and_argnums_are_no_grad():
    x = jnp.array([1.0, 2.0])
    # d/dx [x * detach(x)] = detach(x): the detached factor is a constant.
    assert jax.grad(lambda x: (x * detach(x)).sum())(x).tolist() == [1.0, 2.0]
    # Differentiating only w: x gets no gradient at all, as requires_grad=False.
    gw = jax.grad(lambda w, x: (w * x).sum(), argnums=0)(jnp.ones(2), x)
    assert gw.tolist() == [1.0, 2.0]
