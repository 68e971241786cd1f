"""fg.nn.Conv2d against torch.nn.Conv2d, finite differences, and shape agreement."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import check_module
from jax.test_util import check_grads

import funcgrad as fg

CASES = [
    # in, out, kernel, stride, padding, bias, input shape
    (1, 20, 5, 1, 0, True, (2, 1, 12, 12)),
    (3, 4, 3, 2, 1, True, (2, 3, 9, 7)),
    (2, 3, (3, 2), (1, 2), (2, 0), False, (1, 2, 8, 8)),
    (2, 2, 4, 1, "same", True, (1, 2, 7, 6)),
    (2, 5, 3, 1, "valid", True, (2, 6, 6)),  # unbatched (C, H, W)
]


@pytest.mark.parametrize("in_c, out_c, k, stride, padding, bias, x_shape", CASES)
def test_matches_torch(dtype, in_c, out_c, k, stride, padding, bias, x_shape):
    torch.manual_seed(0)
    x = np.random.default_rng(1).standard_normal(x_shape)
    ref = torch.nn.Conv2d(in_c, out_c, k, stride=stride, padding=padding, bias=bias)
    layer = fg.nn.Conv2d(in_c, out_c, k, stride=stride, padding=padding, bias=bias)
    check_module(ref, layer, x, dtype)


def test_params_named_and_shaped_like_state_dict():
    params = fg.nn.Conv2d(3, 8, (3, 5)).init(jax.random.PRNGKey(0))
    sd = torch.nn.Conv2d(3, 8, (3, 5)).state_dict()
    assert {k: v.shape for k, v in params.items()} == {k: tuple(v.shape) for k, v in sd.items()}


def test_finite_differences(x64):
    layer = fg.nn.Conv2d(2, 3, 3, stride=2, padding=1)
    params = layer.init(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (1, 2, 5, 5))
    check_grads(layer.apply, (params, x), order=2, modes=("fwd", "rev"))


def test_init_apply_shapes_agree():
    layer = fg.nn.Conv2d(1, 20, 5, stride=2, padding=1)
    params = layer.init(jax.random.PRNGKey(0))
    out = jax.eval_shape(layer.apply, params, jax.ShapeDtypeStruct((4, 1, 28, 28), jnp.float32))
    ref = torch.nn.Conv2d(1, 20, 5, stride=2, padding=1)(torch.zeros(4, 1, 28, 28))
    assert out.shape == tuple(ref.shape)


@pytest.mark.parametrize(
    "x_shape, match",
    [((2, 3, 8, 8), "has 3 channels"), ((8, 8), r"\(N, C, H, W\)"), ((1, 1, 3, 3), "smaller than")],
)
def test_bad_input_names_the_problem(x_shape, match):
    layer = fg.nn.Conv2d(1, 2, 5)
    with pytest.raises(ValueError, match=match):
        layer.apply(layer.init(jax.random.PRNGKey(0)), jnp.ones(x_shape))
