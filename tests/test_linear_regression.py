"""fg.models.LinearRegression: f = w * x, finite differences and init."""

import jax
import jax.numpy as jnp
from jax.test_util import check_grads

import funcgrad as fg


def test_apply_is_w_times_x_and_init_is_w0():
    model = fg.models.LinearRegression(w0=0.5)
    params = model.init(jax.random.PRNGKey(0))
    assert float(params["w"]) == 0.5
    x = jnp.array([1.0, 2.0, 3.0])
    assert model.apply(params, x).tolist() == (0.5 * x).tolist()


def test_finite_differences(x64):
    model = fg.models.LinearRegression()
    params = {"w": jnp.array(1.3)}
    check_grads(model.apply, (params, jnp.array([1.0, -2.0])), order=2, modes=("fwd", "rev"))
