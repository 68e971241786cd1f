"""gradcheck passes every funcgrad layer and loss, and fails readably on a wrong custom_vjp."""

from __future__ import annotations

import math
import re

import jax
import jax.numpy as jnp
import pytest

import funcgrad as fg
from funcgrad.autodiff import GradcheckError, gradcheck

_KEY = jax.random.PRNGKey(0)

LAYERS = {
    "linear": (fg.nn.Linear(4, 3), (2, 4)),
    "conv2d": (fg.nn.Conv2d(2, 3, 2, stride=1, padding=1), (1, 2, 4, 4)),
    "relu": (fg.nn.ReLU(), (2, 5)),
    "tanh": (fg.nn.Tanh(), (2, 5)),
    "sigmoid": (fg.nn.Sigmoid(), (2, 5)),
    "flatten": (fg.nn.Flatten(), (2, 3, 2)),
    "sequential": (fg.nn.Sequential(fg.nn.Linear(4, 3), fg.nn.Tanh()), (2, 4)),
    "mynet": (fg.models.MyNet(6, 4, 3, 2), (2, 3)),
    "single_layer": (fg.models.SingleLayer(5, 3), (5,)),
    "linear_regression": (fg.models.LinearRegression(0.5), (4,)),
    "convnet": (fg.models.ConvNet(num_classes=2, image_size=(9, 9)), (1, 9, 9)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_gradcheck_passes_every_layer(name):
    layer, shape = LAYERS[name]
    params = jax.jit(layer.init)(_KEY)
    # Inputs away from ReLU's kink, where finite differences are meaningless.
    x = jax.random.uniform(jax.random.PRNGKey(1), shape, minval=0.2, maxval=1.0)
    x = x * jnp.where(jnp.arange(x.size).reshape(shape) % 2 == 0, 1.0, -1.0)
    assert gradcheck(layer.apply, params, x, max_elements=6)


LOSSES = {
    "mse_loss": (fg.losses.mse_loss, lambda k: jax.random.normal(k, (3, 2))),
    "bce_with_logits": (
        fg.losses.binary_cross_entropy_with_logits,
        lambda k: jax.random.uniform(k, (3, 2)),
    ),
}


def _all_reductions(loss):
    """One function returning every reduction, so one gradcheck covers all three."""

    def f(*args):
        parts = [loss(*args, reduction=r) for r in ("none", "mean", "sum")]
        return jnp.concatenate([p.reshape(-1) for p in parts])

    return f


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradcheck_passes_every_loss(name):
    loss, target = LOSSES[name]
    z = jax.random.normal(jax.random.PRNGKey(2), (3, 2))
    y = target(jax.random.PRNGKey(3))
    assert gradcheck(_all_reductions(loss), z, y)


def test_gradcheck_passes_cross_entropy():
    z = jax.random.normal(jax.random.PRNGKey(2), (3, 4))
    y = jnp.array([0, 3, 1])
    assert gradcheck(_all_reductions(fg.losses.cross_entropy), z, y, argnums=0)


@jax.custom_vjp
def _wrong_sin(x):
    return jnp.sin(x)


_wrong_sin.defvjp(lambda x: (jnp.sin(x), x), lambda x, g: (g * jnp.sin(x),))  # should be cos


def test_gradcheck_fails_on_wrong_custom_vjp_with_readable_message():
    params = {"m0": {"weight": jnp.array([[0.1, 0.2], [0.3, 1.4]])}}

    def f(params, x):
        return _wrong_sin(params["m0"]["weight"] @ x).sum()

    with pytest.raises(GradcheckError) as err:
        gradcheck(f, params, jnp.array([1.0, 1.0]), argnums=0)
    msg = str(err.value)
    # The worst element: d/dW[1, j] = cos(1.7) x_j vs the wrong sin(1.7) x_j, for either j.
    assert "reverse mode (jax.vjp)" in msg
    assert "argument 0 (params.m0.weight) index (1, " in msg
    analytic, numeric = map(float, re.search(r"analytic (\S+), numeric (\S+) ", msg).groups())
    assert math.isclose(analytic, math.sin(1.7), rel_tol=1e-6)
    assert math.isclose(numeric, math.cos(1.7), rel_tol=1e-6)
    # custom_vjp has no forward mode: the default skips it, asking for it explains.
    with pytest.raises(ValueError, match="modes=\\('rev',\\)"):
        gradcheck(f, params, jnp.array([1.0, 1.0]), argnums=0, modes=("fwd",))


def test_gradcheck_forward_mode_catches_a_wrong_custom_jvp():
    @jax.custom_jvp
    def wrong_exp(x):
        return jnp.exp(x)

    wrong_exp.defjvp(lambda p, t: (jnp.exp(p[0]), 2 * jnp.exp(p[0]) * t[0]))
    with pytest.raises(GradcheckError, match="forward mode"):
        gradcheck(lambda x: wrong_exp(x).sum(), jnp.array([0.5]), modes=("fwd",))


def test_gradcheck_rejects_bad_arguments():
    with pytest.raises(ValueError, match="modes"):
        gradcheck(jnp.sum, jnp.ones(2), modes=("sideways",))
    with pytest.raises(ValueError, match="non-float"):
        gradcheck(lambda x, i: x[i].sum(), jnp.ones(2), jnp.array([0]), argnums=(0, 1))
