"""fg.nn.Conv1d / Conv2d and F.conv1d / conv2d against torch, finite differences, torch's samples."""

import jax
import jax.extend.core
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import assert_close, check_module, torch_dtype
from jax.test_util import check_grads

import funcgrad as fg
from funcgrad.nn import functional as F

CASES_2D = [
    # constructor args, kwargs, input shape
    ((1, 20, 5), {}, (2, 1, 12, 12)),
    ((3, 4, 3, 2, 1), {}, (2, 3, 9, 7)),
    ((2, 3, (3, 2), (1, 2), (2, 0)), {"bias": False}, (1, 2, 8, 8)),
    ((2, 2, 4), {"padding": "same"}, (1, 2, 7, 6)),  # even kernel: the extra pixel at the end
    ((2, 2, (4, 3)), {"padding": "same", "dilation": (2, 3)}, (1, 2, 9, 10)),
    ((2, 5, 3), {"padding": "valid"}, (2, 6, 6)),  # unbatched (C, H, W)
    ((4, 6, 3, 1, 2, 2, 2), {}, (2, 4, 7, 8)),  # positional dilation and groups
    ((4, 4, 3), {"groups": 4, "padding": 1}, (1, 4, 5, 5)),  # depthwise
    ((2, 3, 3), {"padding": 2, "padding_mode": "reflect"}, (1, 2, 5, 6)),
    ((2, 3, 3), {"padding": (1, 2), "padding_mode": "replicate"}, (2, 2, 4, 5)),
    ((2, 3, 3), {"padding": 3, "padding_mode": "circular"}, (1, 2, 3, 4)),
    ((2, 3, 4), {"padding": "same", "padding_mode": "reflect", "dilation": 2}, (2, 7, 9)),
]
CASES_1D = [
    ((2, 3, 3), {}, (4, 2, 9)),
    ((4, 2, 4, 2, 3, 2, 2, False), {}, (2, 4, 11)),
    ((2, 3, 4), {"padding": "same"}, (2, 6)),  # unbatched (C, L)
    ((2, 2, 3), {"padding": 2, "padding_mode": "circular"}, (1, 2, 5)),
    ((2, 2, 5), {"padding": "same", "padding_mode": "replicate", "dilation": 2}, (1, 2, 6)),
]


@pytest.mark.parametrize(
    "name, args, kwargs, x_shape",
    [("Conv2d", *c) for c in CASES_2D] + [("Conv1d", *c) for c in CASES_1D],
)
def test_matches_torch(dtype, name, args, kwargs, x_shape):
    torch.manual_seed(0)
    x = np.random.default_rng(1).standard_normal(x_shape)
    ref = getattr(torch.nn, name)(*args, **kwargs)
    check_module(ref, getattr(fg.nn, name)(*args, **kwargs), x, dtype)


def test_positional_order_is_torchs():
    # Conv2d(3, 4, 3, 1, 0, 2) is dilation=2 in torch (it used to build bias=2 here).
    layer, ref = fg.nn.Conv2d(3, 4, 3, 1, 0, 2), torch.nn.Conv2d(3, 4, 3, 1, 0, 2)
    assert (layer.dilation, layer.groups, layer.bias) == (ref.dilation[0], ref.groups, True)
    assert fg.nn.Conv2d(4, 4, 3, 1, 0, 1, 2, False, "reflect").padding_mode == "reflect"


def test_params_named_and_shaped_like_state_dict():
    for args in [(3, 8, (3, 5)), (4, 6, 3, 1, 0, 1, 2), (2, 4, 3)]:
        params = fg.nn.Conv2d(*args).init(jax.random.PRNGKey(0))
        sd = torch.nn.Conv2d(*args).state_dict()
        assert {k: v.shape for k, v in params.items()} == {k: tuple(v.shape) for k, v in sd.items()}
    assert fg.nn.Conv1d(4, 6, 3, groups=2).init(jax.random.PRNGKey(0))["weight"].shape == (6, 2, 3)


@pytest.mark.parametrize(
    "layer",
    [
        fg.nn.Conv2d(2, 4, 3, stride=2, padding=1, groups=2),
        fg.nn.Conv1d(2, 3, 3, dilation=2),
        fg.nn.Conv2d(2, 4, 3, padding=1, groups=2),  # stride 1: the pad-then-convolve gradient
        fg.nn.Conv2d(2, 2, (4, 3), padding="same", dilation=(2, 1)),
    ],
)
def test_finite_differences(x64, layer):
    params = layer.init(jax.random.PRNGKey(0))
    shape = (1, 2, 5, 5) if isinstance(layer, fg.nn.Conv2d) else (1, 2, 7)
    x = jax.random.normal(jax.random.PRNGKey(1), shape)
    check_grads(layer.apply, (params, x), order=2, modes=("fwd", "rev"))


def test_batched_convnet_gradients_match_torch(dtype):
    """The benchmark's case: a one-example ConvNet under jax.vmap, differentiated in a jit."""
    torch.manual_seed(0)
    net = fg.models.ConvNet(num_classes=10, image_size=(14, 14))
    ref = torch.nn.ModuleDict(
        {
            "conv1": torch.nn.Conv2d(1, 20, 5),
            "conv2": torch.nn.Conv2d(20, 20, 5),
            "head": torch.nn.Linear(20 * 6 * 6, 10),
        }
    ).to(torch_dtype(dtype))
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((4, 1, 14, 14)).astype(dtype), rng.integers(0, 10, 4)
    h = torch.relu(ref["conv2"](torch.relu(ref["conv1"](torch.tensor(x)))))
    loss_t = torch.nn.functional.cross_entropy(ref["head"](h.flatten(1)), torch.tensor(y))
    loss_t.backward()
    params = fg.interop.from_torch(ref, like=net)

    def loss(p):
        return fg.losses.cross_entropy(jax.vmap(net.apply, in_axes=(None, 0))(p, x), y)

    value, grads = jax.jit(jax.value_and_grad(loss))(params)
    assert_close(value, loss_t.item(), dtype, "loss")
    flat = fg.flatten_dict(grads)
    for name, p in ref.named_parameters():
        assert_close(flat[name], p.grad.numpy(), dtype, f"grad wrt {name}")


@pytest.mark.parametrize(
    "layer",
    [
        fg.nn.Conv2d(2, 3, 3, padding="same", padding_mode="reflect", groups=1),
        fg.nn.Conv1d(2, 2, 3),
    ],
)
def test_one_code_path_to_conv_general_dilated(layer):
    shape = (1, 2, 6, 6) if isinstance(layer, fg.nn.Conv2d) else (1, 2, 6)
    params = layer.init(jax.random.PRNGKey(0))
    jaxpr = jax.make_jaxpr(layer.apply)(params, jnp.ones(shape))
    prims = [e.primitive.name for e in _all_eqns(jaxpr.jaxpr)]
    assert prims.count("conv_general_dilated") == 1, prims


def _all_eqns(jaxpr):
    """Every equation of ``jaxpr`` and of the bodies it calls (jit, custom_jvp)."""
    for eqn in jaxpr.eqns:
        yield eqn
        for body in eqn.params.values():
            if isinstance(body, jax.extend.core.ClosedJaxpr):
                yield from _all_eqns(body.jaxpr)


@pytest.mark.parametrize(
    "kwargs", [{}, {"padding": 2}, {"padding": "same", "dilation": 2}, {"groups": 2}]
)
def test_stride_one_input_gradient_pads_then_convolves(kwargs):
    """XLA:CPU runs an unpadded convolution of a zero-padded gradient faster than the padded one
    that JAX's transpose rule writes, so the reverse program must have no padded convolution."""
    layer = fg.nn.Conv2d(4, 4, 5, **kwargs)
    params = layer.init(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 4, 12, 12))
    y, vjp = jax.vjp(lambda x: layer.apply(params, x), x)
    convs = [e for e in _all_eqns(jax.make_jaxpr(vjp)(y).jaxpr)]
    convs = [e for e in convs if e.primitive.name == "conv_general_dilated"]
    assert len(convs) == 1 and all(p == (0, 0) for p in convs[0].params["padding"]), convs
    # and the same numbers as torch, both ways
    ref = torch.nn.Conv2d(4, 4, 5, **kwargs).double()
    ref.load_state_dict({k: torch.tensor(np.asarray(v, np.float64)) for k, v in params.items()})
    xt = torch.tensor(np.asarray(x, np.float64), requires_grad=True)
    g = np.random.default_rng(0).standard_normal(y.shape)
    ref(xt).backward(torch.tensor(g))
    assert_close(vjp(jnp.asarray(g, jnp.float32))[0], xt.grad.numpy(), np.float32, "input grad")
    v = np.random.default_rng(1).standard_normal(x.shape)
    _, jvp = jax.jvp(lambda x: layer.apply(params, x), (x,), (jnp.asarray(v, jnp.float32),))
    _, jvp_t = torch.func.jvp(ref, (xt.detach(),), (torch.tensor(v),))
    assert_close(jvp, jvp_t.detach().numpy(), np.float32, "input jvp")


@pytest.mark.parametrize(
    "make, x_shape, match",
    [
        (lambda: fg.nn.Conv2d(1, 2, 5), (2, 3, 8, 8), "has 3 channels"),
        (lambda: fg.nn.Conv2d(1, 2, 5), (8, 8), r"\(N, C, H, W\)"),
        (lambda: fg.nn.Conv2d(1, 2, 5), (1, 1, 3, 3), "smaller than the kernel"),
        (lambda: fg.nn.Conv2d(1, 2, 3, dilation=3), (1, 1, 6, 6), "smaller than the kernel"),
        (
            lambda: fg.nn.Conv1d(1, 2, 3, padding=3, padding_mode="reflect"),
            (1, 1, 3),
            "smaller than",
        ),
    ],
)
def test_bad_input_names_the_problem(make, x_shape, match):
    layer = make()
    with pytest.raises(fg.nn.ModuleError, match=f"Conv.d: .*{match}"):
        layer.apply(layer.init(jax.random.PRNGKey(0)), jnp.ones(x_shape))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"groups": 3}, "in_channels=4 is not divisible by groups=3"),
        ({"groups": 2, "out_channels": 3}, "out_channels=3 is not divisible by groups=2"),
        ({"padding": "full"}, "padding must be 'valid', 'same' or ints"),
        ({"padding": "same", "stride": 2}, "padding='same' needs stride=1"),
        ({"padding_mode": "mirror"}, "padding_mode must be"),
        ({"kernel_size": 0}, "kernel_size must be a positive int"),
    ],
)
def test_bad_arguments_name_the_fix(kwargs, match):
    args = {"in_channels": 4, "out_channels": 4, "kernel_size": 3, **kwargs}
    with pytest.raises(fg.nn.ModuleError, match=match):
        fg.nn.Conv2d(**args)


def test_functional_errors_are_value_errors():
    with pytest.raises(ValueError, match="groups=3 must be a positive int dividing"):
        F.conv2d(jnp.ones((1, 6, 5, 5)), jnp.ones((4, 2, 3, 3)), groups=3)
    with pytest.raises(ValueError, match="padding must be 'valid', 'same' or ints"):
        F.conv1d(jnp.ones((1, 2, 5)), jnp.ones((4, 2, 3)), padding="full")
