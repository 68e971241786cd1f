"""fg.nn.Linear against torch.nn.Linear, finite differences, and shape agreement."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import check_module
from jax.test_util import check_grads

import funcgrad as fg


@pytest.mark.parametrize(
    "in_f, out_f, bias, x_shape",
    [(5, 3, True, (5,)), (7, 4, True, (6, 7)), (3, 2, False, (2, 4, 3)), (1, 1, True, (8, 1))],
)
def test_matches_torch(dtype, in_f, out_f, bias, x_shape):
    torch.manual_seed(0)
    x = np.random.default_rng(1).standard_normal(x_shape)
    check_module(torch.nn.Linear(in_f, out_f, bias=bias), fg.nn.Linear(in_f, out_f, bias), x, dtype)


def test_params_named_and_shaped_like_state_dict():
    for bias in (True, False):
        params = fg.nn.Linear(5, 3, bias).init(jax.random.PRNGKey(0))
        sd = torch.nn.Linear(5, 3, bias=bias).state_dict()
        assert {k: v.shape for k, v in params.items()} == {k: tuple(v.shape) for k, v in sd.items()}


def test_finite_differences(x64):
    layer = fg.nn.Linear(4, 3)
    params = layer.init(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 4))
    check_grads(layer.apply, (params, x), order=2, modes=("fwd", "rev"))


def test_init_apply_shapes_agree():
    layer = fg.nn.Linear(6, 2)
    params = layer.init(jax.random.PRNGKey(0))
    out = jax.eval_shape(layer.apply, params, jax.ShapeDtypeStruct((9, 6), jnp.float32))
    assert out.shape == (9, 2)


def test_wrong_input_size_names_the_fix():
    layer = fg.nn.Linear(5, 3)
    with pytest.raises(ValueError, match=r"must end in 5 features.*Linear\(4, 3\)"):
        layer.apply(layer.init(jax.random.PRNGKey(0)), jnp.ones((2, 4)))
