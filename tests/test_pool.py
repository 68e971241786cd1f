"""fg.nn.MaxPool2d / AvgPool2d / AdaptiveAvgPool2d and their functionals against live torch."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import check_module
from jax.test_util import check_grads

import funcgrad as fg
from funcgrad.nn import functional as F

MAX_CASES = [
    # constructor args, kwargs, input shape
    ((2,), {}, (2, 3, 8, 8)),
    ((3, 2, 1), {}, (1, 2, 7, 9)),
    ((3,), {"stride": 2, "ceil_mode": True}, (2, 2, 8, 8)),  # last window partly outside
    ((2,), {"stride": 2, "padding": 1, "ceil_mode": True}, (1, 1, 5, 6)),  # ceil window dropped
    (((3, 2), (2, 1), (1, 0), (2, 1)), {}, (1, 2, 9, 6)),  # positional dilation
    ((3,), {"stride": 1, "dilation": 2, "padding": 1}, (3, 7, 7)),  # unbatched
]
AVG_CASES = [
    ((2,), {}, (2, 3, 8, 8)),
    ((3, 2, 1), {}, (1, 2, 7, 9)),
    ((3, 2, 1), {"count_include_pad": False}, (1, 2, 7, 9)),
    ((3, 2, 1, True), {}, (2, 1, 8, 8)),  # positional ceil_mode
    ((3, 2, 1, True, False), {}, (2, 1, 8, 8)),
    ((3,), {"stride": 2, "ceil_mode": True, "divisor_override": 2}, (1, 2, 6, 7)),
    (((2, 3),), {"padding": (1, 1)}, (3, 5, 7)),  # unbatched
]
ADAPTIVE_CASES = [5, (3, None), (None, 2), (4, 3), 1, (7, 9)]


def _with_ties(shape):
    # Few distinct values: most windows hold several equal maxima.
    return np.random.default_rng(0).integers(0, 3, shape).astype(np.float64)


@pytest.mark.parametrize("args, kwargs, x_shape", MAX_CASES)
def test_max_pool_matches_torch_with_ties(dtype, args, kwargs, x_shape):
    check_module(
        torch.nn.MaxPool2d(*args, **kwargs),
        fg.nn.MaxPool2d(*args, **kwargs),
        _with_ties(x_shape),
        dtype,
    )


@pytest.mark.parametrize("args, kwargs, x_shape", MAX_CASES)
def test_max_pool_matches_torch(dtype, args, kwargs, x_shape):
    x = np.random.default_rng(1).standard_normal(x_shape)
    check_module(torch.nn.MaxPool2d(*args, **kwargs), fg.nn.MaxPool2d(*args, **kwargs), x, dtype)


def test_max_pool_tie_gradient_goes_to_the_first_maximum():
    # Closed form: an all-equal 4x4 image, 2x2 windows with stride 1; each window's first element
    # (its top-left, in row-major order) gets the whole cotangent.
    g = jax.grad(lambda x: F.max_pool2d(x, 2, 1).sum())(jnp.ones((1, 1, 4, 4)))
    expected = np.zeros((4, 4))
    expected[:3, :3] = 1.0
    np.testing.assert_array_equal(np.asarray(g)[0, 0], expected)


@pytest.mark.parametrize("args, kwargs, x_shape", MAX_CASES)
def test_return_indices_match_torch(dtype, args, kwargs, x_shape):
    for x in (_with_ties(x_shape), np.random.default_rng(2).standard_normal(x_shape)):
        x = x.astype(dtype)
        v_t, i_t = torch.nn.MaxPool2d(*args, **kwargs, return_indices=True)(torch.tensor(x))
        v, i = fg.nn.MaxPool2d(*args, **kwargs, return_indices=True).apply({}, jnp.asarray(x))
        np.testing.assert_array_equal(np.asarray(v), v_t.numpy())
        np.testing.assert_array_equal(np.asarray(i), i_t.numpy())
        expected = np.int64 if dtype is np.float64 else np.int32  # int64 needs jax_enable_x64
        assert i.dtype == expected


@pytest.mark.parametrize("args, kwargs, x_shape", AVG_CASES)
def test_avg_pool_matches_torch(dtype, args, kwargs, x_shape):
    x = np.random.default_rng(1).standard_normal(x_shape)
    check_module(torch.nn.AvgPool2d(*args, **kwargs), fg.nn.AvgPool2d(*args, **kwargs), x, dtype)


@pytest.mark.parametrize("output_size", ADAPTIVE_CASES)
@pytest.mark.parametrize("x_shape", [(2, 3, 7, 9), (3, 7, 9)])
def test_adaptive_avg_pool_matches_torch(dtype, output_size, x_shape):
    x = np.random.default_rng(1).standard_normal(x_shape)
    check_module(
        torch.nn.AdaptiveAvgPool2d(output_size), fg.nn.AdaptiveAvgPool2d(output_size), x, dtype
    )


@pytest.mark.parametrize(
    "layer",
    [
        fg.nn.AvgPool2d(3, 2, 1, True, False),
        fg.nn.AdaptiveAvgPool2d((3, 2)),
        fg.nn.MaxPool2d(3, 2, 1),
    ],
)
def test_finite_differences(x64, layer):
    x = jax.random.normal(jax.random.PRNGKey(0), (1, 2, 7, 6))
    check_grads(lambda x: layer.apply({}, x), (x,), order=2, modes=("fwd", "rev"))
