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
    check_grads(jax.jit(lambda x: layer.apply({}, x)), (x,), order=2, modes=("fwd", "rev"))


# -- every pool in 1-D and 3-D, the options torch has, and the cases other libraries get wrong ----


def _module_case(torch_cls, fg_cls, args, kwargs, x, dtype):
    check_module(torch_cls(*args, **kwargs), fg_cls(*args, **kwargs), x, dtype)


ND_MAX_CASES = [
    # n, constructor args, kwargs, input shape
    (1, (3,), {"stride": 2, "ceil_mode": True}, (2, 3, 8)),  # Flax has no ceil_mode
    (1, (3, 1, 1, 2), {}, (2, 9)),  # positional dilation, unbatched
    (1, (2,), {"stride": 2, "padding": 1, "ceil_mode": True}, (1, 2, 5)),  # ceil window dropped
    (3, (2,), {"ceil_mode": True}, (1, 2, 5, 4, 3)),
    (3, ((3, 2, 2), (2, 1, 2), (1, 0, 1), (1, 2, 1)), {}, (2, 5, 6, 5)),  # dilation, unbatched
]


@pytest.mark.parametrize("n, args, kwargs, x_shape", ND_MAX_CASES)
def test_max_pool_nd_with_ties_and_indices_match_torch(dtype, n, args, kwargs, x_shape):
    torch_cls, fg_cls = getattr(torch.nn, f"MaxPool{n}d"), getattr(fg.nn, f"MaxPool{n}d")
    _module_case(torch_cls, fg_cls, args, kwargs, _with_ties(x_shape), dtype)
    x = _with_ties(x_shape).astype(dtype)
    v_t, i_t = torch_cls(*args, **kwargs, return_indices=True)(torch.tensor(x))
    v, i = jax.jit(fg_cls(*args, **kwargs, return_indices=True).apply)({}, jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(v), v_t.numpy())
    np.testing.assert_array_equal(np.asarray(i), i_t.numpy())


ND_AVG_CASES = [
    (1, (3, 2, 1, True, False), {}, (2, 3, 8)),  # positional ceil_mode, count_include_pad
    (1, (4,), {"stride": 3, "padding": 2, "ceil_mode": True}, (3, 9)),
    (3, (3, 2, 1), {"ceil_mode": True, "count_include_pad": False}, (1, 2, 5, 6, 4)),
    (3, ((2, 3, 2),), {"stride": 2, "ceil_mode": True, "divisor_override": 3}, (2, 5, 7, 5)),
]


@pytest.mark.parametrize("n, args, kwargs, x_shape", ND_AVG_CASES)
def test_avg_pool_nd_matches_torch(dtype, n, args, kwargs, x_shape):
    x = np.random.default_rng(1).standard_normal(x_shape)
    _module_case(
        getattr(torch.nn, f"AvgPool{n}d"), getattr(fg.nn, f"AvgPool{n}d"), args, kwargs, x, dtype
    )


LP_CASES = [
    (1, (2.0, 3), {"stride": 2, "ceil_mode": True}, (2, 3, 8)),  # the last window is partial
    (2, (3, (2, 3)), {"ceil_mode": True}, (1, 2, 7, 8)),
    (2, (float("inf"), 2), {}, (1, 2, 6, 6)),
    (3, (1.0, 2), {"stride": 1}, (2, 4, 3, 5)),
]


@pytest.mark.parametrize("n, args, kwargs, x_shape", LP_CASES)
def test_lp_pool_matches_torch(dtype, n, args, kwargs, x_shape):
    # positive input: a fractional power of a negative value is NaN in both
    x = np.abs(np.random.default_rng(1).standard_normal(x_shape)) + 0.1
    _module_case(
        getattr(torch.nn, f"LPPool{n}d"), getattr(fg.nn, f"LPPool{n}d"), args, kwargs, x, dtype
    )


# Output sizes that do not divide the input: the windows overlap and differ in size (torch's edges
# floor(i*in/out) and ceil((i+1)*in/out), which Equinox's adaptive pools do not use).
ADAPTIVE_ND = [
    (1, 4, (2, 3, 7)),
    (1, 5, (3, 11)),
    (2, (3, 5), (1, 2, 7, 11)),
    (3, (2, None, 4), (1, 2, 5, 3, 7)),
    (3, (4, 3, 2), (2, 7, 5, 3)),
]


@pytest.mark.parametrize("n, output_size, x_shape", ADAPTIVE_ND)
def test_adaptive_pools_with_non_dividing_sizes_match_torch(dtype, n, output_size, x_shape):
    x = np.random.default_rng(1).standard_normal(x_shape)
    for kind in ("Avg", "Max"):
        name = f"Adaptive{kind}Pool{n}d"
        _module_case(getattr(torch.nn, name), getattr(fg.nn, name), (output_size,), {}, x, dtype)
    x = _with_ties(x_shape).astype(dtype)
    name = f"AdaptiveMaxPool{n}d"
    v_t, i_t = getattr(torch.nn, name)(output_size, return_indices=True)(torch.tensor(x))
    v, i = getattr(fg.nn, name)(output_size, return_indices=True).apply({}, jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(v), v_t.numpy())
    np.testing.assert_array_equal(np.asarray(i), i_t.numpy())


@pytest.mark.parametrize("fn", [F.adaptive_avg_pool2d, F.adaptive_max_pool2d])
def test_adaptive_pool_program_does_not_grow_with_the_output(fn):
    # One gather or contraction for any output size: nothing is unrolled per output pixel.
    x = jnp.ones((1, 2, 97, 89))
    small = jax.make_jaxpr(lambda x: fn(x, (3, 5)))(x)
    big = jax.make_jaxpr(lambda x: fn(x, (41, 60)))(x)
    assert len(big.eqns) == len(small.eqns) < 40


@pytest.mark.parametrize(
    "n, pool_kwargs, x_shape",
    [
        (
            1,
            {"kernel_size": 3, "stride": 1, "padding": 1},
            (2, 3, 7),
        ),  # overlapping: shared indices
        (2, {"kernel_size": (3, 2), "stride": (2, 1)}, (1, 2, 7, 6)),
        (3, {"kernel_size": 2, "stride": 2, "padding": 1}, (1, 2, 5, 4, 5)),
    ],
)
def test_max_unpool_inverts_max_pool_as_torch(dtype, n, pool_kwargs, x_shape):
    x = _with_ties(x_shape).astype(dtype)
    pooled, idx = getattr(torch.nn, f"MaxPool{n}d")(**pool_kwargs, return_indices=True)(
        torch.tensor(x)
    )
    unpool_t = getattr(torch.nn, f"MaxUnpool{n}d")(**pool_kwargs)
    unpool = getattr(fg.nn, f"MaxUnpool{n}d")(**pool_kwargs)
    size = x_shape[-n:]
    pt = pooled.detach().clone().requires_grad_(True)
    out_t = unpool_t(pt, idx, output_size=size)
    v = np.random.default_rng(0).standard_normal(tuple(out_t.shape)).astype(dtype)
    (out_t * torch.tensor(v)).sum().backward()

    def f(p):
        return unpool.apply({}, p, jnp.asarray(idx.numpy()), output_size=size)

    out, vjp = jax.vjp(jax.jit(f), jnp.asarray(pooled.detach().numpy()))
    np.testing.assert_array_equal(np.asarray(out), out_t.detach().numpy())
    # every input reads the gradient at its index, also where several share one
    np.testing.assert_allclose(np.asarray(vjp(jnp.asarray(v))[0]), pt.grad.numpy(), rtol=1e-6)


ERRORS = [
    # layer, input shape, what the message says
    (fg.nn.MaxPool2d(2), (3, 4), "expected input (N, C, H, W) or (C, H, W)"),  # torch's samples
    (fg.nn.MaxPool2d(2), (1, 2, 3, 4, 5), "expected input (N, C, H, W)"),
    (fg.nn.MaxPool2d(3, padding=5), (1, 1, 10, 10), "at most half of kernel_size"),
    (fg.nn.MaxPool1d(2, stride=50, padding=4), (0, 1, 49), "at most half of kernel_size"),
    (fg.nn.MaxPool1d(3, 1, 3, 2), (0, 1, 49), "at most half of kernel_size"),
    (fg.nn.AvgPool3d(4), (1, 1, 3, 8, 8), "smaller than the kernel"),
    (fg.nn.MaxPool3d(2), (2, 3, 4), "expected input (N, C, D, H, W) or (C, D, H, W)"),
    (fg.nn.LPPool1d(2, 5), (1, 1, 4), "smaller than the kernel"),
    (fg.nn.AdaptiveMaxPool2d((2, 2)), (2, 2), "expected input (N, C, H, W)"),
    (fg.nn.AdaptiveAvgPool3d((1, 2)), (1, 1, 2, 2, 2), "output_size must be"),
]


@pytest.mark.parametrize("layer, x_shape, message", ERRORS)
def test_refused_inputs_name_the_layer_and_the_fix(layer, x_shape, message):
    with pytest.raises(fg.nn.ModuleError, match=type(layer).__name__) as e:
        layer.apply({}, jnp.ones(x_shape))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_torch_refuses_what_funcgrad_refuses():
    # module_db's error samples for MaxPool2d and op_db's for max_pool1d, as torch raises them
    for layer, shape in [
        (torch.nn.MaxPool2d(2), (3, 4)),
        (torch.nn.MaxPool2d(3, padding=5), (1, 1, 10, 10)),
        (torch.nn.MaxPool1d(3, 1, 3, 2), (0, 1, 49)),
    ]:
        with pytest.raises(RuntimeError):
            layer(torch.ones(shape))


def test_max_unpool_refuses_mismatched_indices_and_sizes():
    unpool = fg.nn.MaxUnpool2d(3, 2)
    with pytest.raises(fg.nn.ModuleError, match="MaxUnpool2d: .*shape of indices"):
        unpool.apply({}, jnp.ones((1, 1, 4, 4)), jnp.zeros((1, 1, 4, 1), int))
    with pytest.raises(fg.nn.ModuleError, match="invalid output_size"):
        unpool.apply({}, jnp.ones((1, 1, 2, 2)), jnp.zeros((1, 1, 2, 2), int), output_size=(9, 9))
    with pytest.raises(fg.nn.ModuleError, match="needs the pooling's indices"):
        unpool.apply({}, jnp.ones((1, 1, 2, 2)))
