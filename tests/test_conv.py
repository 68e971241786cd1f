"""fg.nn.Conv1d/2d/3d, ConvTranspose1d/2d/3d, Fold, Unfold and their functionals against torch."""

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
    check_grads(jax.jit(layer.apply), (params, x), order=2, modes=("fwd", "rev"))


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


# -- Conv3d, transposed convolutions, Fold and Unfold -----------------------------------------------

CASES_3D = [
    ((2, 3, (2, 3, 3)), {"stride": (1, 2, 1), "padding": (1, 0, 1)}, (2, 2, 4, 6, 5)),
    ((4, 4, 2), {"padding": "same", "dilation": (1, 2, 1), "groups": 2}, (1, 4, 5, 5, 4)),
    ((2, 3, 3), {"padding": 1, "padding_mode": "reflect", "bias": False}, (2, 4, 4, 3)),
    ((2, 3, 3), {"padding": (1, 2, 1), "padding_mode": "replicate"}, (1, 2, 3, 4, 3)),
    ((2, 3, 2), {"padding": "same", "padding_mode": "circular"}, (1, 2, 3, 4, 4)),
]
CASES_T = [
    # name, constructor args, kwargs, input shape
    ("ConvTranspose1d", (2, 3, 3), {}, (2, 2, 5)),
    ("ConvTranspose1d", (4, 6, 3, 2, 1, 1, 2, False, 2), {}, (2, 4, 5)),  # positional, groups
    ("ConvTranspose1d", (2, 2, 2), {"stride": 2, "output_padding": 2, "dilation": 3}, (2, 4)),
    ("ConvTranspose2d", (4, 2, 4), {"stride": 2, "padding": 1}, (2, 4, 4, 4)),  # DCGAN
    ("ConvTranspose2d", (2, 3, (3, 2)), {"stride": (2, 3), "output_padding": (1, 2)}, (1, 2, 3, 4)),
    (
        "ConvTranspose2d",
        (2, 2, 3),
        {"padding": 3, "dilation": 2},
        (2, 2, 5, 6),
    ),  # crops the kernel's reach
    ("ConvTranspose2d", (6, 4, 3), {"groups": 2, "dilation": (1, 2), "bias": False}, (6, 3, 4)),
    ("ConvTranspose3d", (2, 2, 2), {"stride": 2, "padding": (0, 1, 0)}, (1, 2, 3, 3, 2)),
    ("ConvTranspose3d", (4, 2, 3), {"stride": 2, "groups": 2, "output_padding": 1}, (4, 2, 2, 3)),
]


@pytest.mark.parametrize(
    "name, args, kwargs, x_shape",
    [("Conv3d", *c) for c in CASES_3D] + CASES_T,
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_conv3d_and_transposed_match_torch(dtype, name, args, kwargs, x_shape):
    torch.manual_seed(0)
    x = np.random.default_rng(1).standard_normal(x_shape)
    ref = getattr(torch.nn, name)(*args, **kwargs)
    check_module(ref, getattr(fg.nn, name)(*args, **kwargs), x, dtype)


@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("ConvTranspose2d", (6, 4, (3, 5)), {"groups": 2}),
        ("ConvTranspose1d", (3, 8, 4), {}),
        ("ConvTranspose3d", (2, 3, 2), {"bias": False}),
        ("Conv3d", (6, 3, (3, 2, 2)), {"groups": 3}),
    ],
)
def test_init_is_torchs_shape_and_bound(name, args, kwargs):
    """Params keyed and shaped as torch's state_dict; U(+-1/sqrt(fan_in)) with torch's fan_in
    (for a transposed weight ``(in, out / groups, *k)``, torch reads it off dimension 1)."""
    layer = getattr(fg.nn, name)(*args, **kwargs)
    ref = getattr(torch.nn, name)(*args, **kwargs)
    params = layer.init(jax.random.PRNGKey(0))
    assert {k: v.shape for k, v in params.items()} == {
        k: tuple(v.shape) for k, v in ref.state_dict().items()
    }
    fan_in = torch.nn.init._calculate_fan_in_and_fan_out(ref.weight)[0]
    for k, v in params.items():
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.5 * bound, k
    (w2,) = [v for k, v in layer.init(jax.random.PRNGKey(1)).items() if k == "weight"]
    assert not np.allclose(w2, params["weight"]), "the weights are drawn from the key"


@pytest.mark.parametrize(
    "args, kwargs, x_shape, output_size",
    [
        ((2, 3, 3), {"stride": 3, "padding": 1}, (2, 2, 4, 5), (10, 14)),
        ((2, 3, 3), {"stride": 3, "padding": 1}, (2, 2, 4, 5), [2, 3, 12, 13]),
        ((2, 3, 3), {"stride": 2, "dilation": 2}, (2, 4, 5), torch.Size([3, 12, 13])),
    ],
)
def test_output_size_picks_the_output_padding(x64, args, kwargs, x_shape, output_size):
    """torch's ``forward(input, output_size)``, through ``apply(..., output_size=)``: values and
    the VJP, batched and unbatched, the size with or without its leading axes."""
    torch.manual_seed(0)
    ref = torch.nn.ConvTranspose2d(*args, **kwargs).double()
    layer = fg.nn.ConvTranspose2d(*args, **kwargs)
    params = fg.interop.from_torch(ref, like=layer)
    x = np.random.default_rng(0).standard_normal(x_shape)
    xt = torch.tensor(x, requires_grad=True)
    out_t = ref(xt, output_size=output_size)
    v = np.random.default_rng(1).standard_normal(tuple(out_t.shape))
    (out_t * torch.tensor(v)).sum().backward()
    size = tuple(output_size)
    fn = jax.jit(lambda p, x: layer.apply(p, x, output_size=size))
    out, vjp = jax.vjp(fn, jax.tree.map(jnp.asarray, params), jnp.asarray(x))
    g_p, g_x = vjp(jnp.asarray(v))
    assert_close(out, out_t.detach().numpy(), np.float64, "output")
    assert_close(g_x, xt.grad.numpy(), np.float64, "grad wrt input")
    assert_close(g_p["weight"], ref.weight.grad.numpy(), np.float64, "grad wrt weight")
    # positionally too, as torch's forward takes it
    assert layer.apply(params, jnp.asarray(x), size).shape == tuple(out_t.shape)


def test_output_size_out_of_range_is_refused_as_torch_refuses_it():
    ref, layer = (
        torch.nn.ConvTranspose2d(2, 2, 3, stride=2),
        fg.nn.ConvTranspose2d(2, 2, 3, stride=2),
    )
    with pytest.raises(ValueError, match=r"valid sizes range from \[9, 9\] to \[10, 10\]"):
        ref(torch.ones(1, 2, 4, 4), output_size=(11, 9))
    with pytest.raises(
        fg.nn.ModuleError, match=r"ConvTranspose2d: .*valid sizes range from \(9, 9\) to \(10, 10\)"
    ):
        layer.apply(layer.init(jax.random.PRNGKey(0)), jnp.ones((1, 2, 4, 4)), output_size=(11, 9))


@pytest.mark.parametrize(
    "make, x_shape, match",
    [
        (lambda: fg.nn.ConvTranspose2d(2, 2, 3), (1, 3, 4, 4), "has 3 channels"),
        (lambda: fg.nn.ConvTranspose2d(2, 2, 3), (4, 4), r"\(N, C, H, W\) or \(C, H, W\)"),
        (lambda: fg.nn.ConvTranspose3d(2, 2, 3), (2, 4, 4), r"\(N, C, D, H, W\)"),
        (
            lambda: fg.nn.ConvTranspose1d(1, 1, 1, padding=1),
            (1, 1, 1),
            "output size .* not positive",
        ),
        (lambda: fg.nn.Conv3d(1, 1, 3), (1, 1, 2, 5, 5), "smaller than the kernel"),
        (
            lambda: fg.nn.Conv3d(1, 1, 3, padding=2, padding_mode="reflect"),
            (1, 2, 2, 2),
            "smaller than",
        ),
        (lambda: fg.nn.Unfold(3), (1, 2, 2, 5), "smaller than the kernel"),
        (lambda: fg.nn.Unfold(2), (2, 5), r"\(N, C, H, W\)"),
        (lambda: fg.nn.Fold((4, 4), 2), (1, 8, 8), r"must be \(N, C \* 4, 9\)"),
        (lambda: fg.nn.Fold((4, 4), 3), (1, 8, 4), r"must be \(N, C \* 9, 4\)"),
    ],
)
def test_bad_input_of_the_new_layers_names_the_problem(make, x_shape, match):
    layer = make()
    with pytest.raises(fg.nn.ModuleError, match=f"{type(layer).__name__}: .*{match}"):
        layer.apply(layer.init(jax.random.PRNGKey(0)), jnp.ones(x_shape))


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda: fg.nn.ConvTranspose2d(2, 2, 3, output_padding=1),
            "output_padding .* smaller than either stride",
        ),
        (lambda: fg.nn.ConvTranspose1d(2, 2, 3, stride=2, output_padding=2), "smaller than either"),
        (
            lambda: fg.nn.ConvTranspose2d(2, 2, 3, padding="same"),
            "padding must be a non-negative int",
        ),
        (
            lambda: fg.nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect"),
            'only "zeros" padding mode',
        ),
        (
            lambda: fg.nn.ConvTranspose3d(4, 3, 3, groups=2),
            "out_channels=3 is not divisible by groups=2",
        ),
        (lambda: fg.nn.Conv3d(2, 2, (3, 3)), "kernel_size must be a positive int or 3 of them"),
        (lambda: fg.nn.Fold(4, 0), "kernel_size must be a positive int"),
        (lambda: fg.nn.Unfold(2, stride=0), "stride must be a positive int"),
    ],
)
def test_bad_arguments_of_the_new_layers_name_the_fix(make, match):
    with pytest.raises(fg.nn.ConfigError, match=match):
        make()


def test_transposed_output_padding_is_refused_as_torch_refuses_it():
    x, w = np.ones((1, 2, 4)), np.ones((2, 2, 3))
    with pytest.raises(
        RuntimeError, match="output padding must be smaller than either stride or dilation"
    ):
        torch.nn.functional.conv_transpose1d(
            torch.tensor(x), torch.tensor(w), stride=2, output_padding=2
        )
    with pytest.raises(
        ValueError, match="conv_transpose1d: output_padding .* smaller than either stride"
    ):
        F.conv_transpose1d(jnp.asarray(x), jnp.asarray(w), stride=2, output_padding=2)
    # smaller than the dilation is enough, as in torch
    y = F.conv_transpose1d(jnp.asarray(x), jnp.asarray(w), stride=2, output_padding=2, dilation=3)
    ref = torch.nn.functional.conv_transpose1d(
        torch.tensor(x), torch.tensor(w), stride=2, output_padding=2, dilation=3
    )
    assert_close(y, ref.numpy(), np.float32, "output")


def test_a_transposed_convolution_is_one_convolution_and_its_weight_gradient_a_dot():
    """One lhs-dilated convolution forward (JAX's transpose of the forward convolution, the
    formulation measured fastest); backward, the input's gradient is one strided convolution and
    the weight's one dot over im2col columns: no window-dilated convolution, which XLA:CPU runs
    on a slow path (20-40x the forward's time on the DCGAN generator's layers)."""
    layer = fg.nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1)
    params = layer.init(jax.random.PRNGKey(0))
    x = jnp.ones((2, 4, 4, 4))
    fwd = [e for e in _all_eqns(jax.make_jaxpr(layer.apply)(params, x).jaxpr)]
    convs = [e for e in fwd if e.primitive.name == "conv_general_dilated"]
    assert len(convs) == 1 and convs[0].params["lhs_dilation"] == (2, 2), convs
    y, vjp = jax.vjp(layer.apply, params, x)
    back = [e for e in _all_eqns(jax.make_jaxpr(vjp)(y).jaxpr)]
    convs = [e for e in back if e.primitive.name == "conv_general_dilated"]
    assert len(convs) == 1, convs
    assert convs[0].params["window_strides"] == (2, 2), convs
    assert convs[0].params["rhs_dilation"] == (1, 1), convs
    assert any(e.primitive.name == "dot_general" for e in back)


@pytest.mark.parametrize("groups, dilation, output_padding", [(1, 1, 0), (2, 2, 1), (4, 1, 1)])
def test_transposed_convolution_derivatives_match_finite_differences(
    x64, groups, dilation, output_padding
):
    """Forward and reverse mode (the weight's tangent is written by hand) against differences."""
    r = np.random.default_rng(0)
    x = jnp.asarray(r.standard_normal((2, 4, 3, 5)))
    w = jnp.asarray(r.standard_normal((4, 6 // groups * 1, 3, 2)))
    f = lambda x, w: fg.nn.functional.conv_transpose2d(  # noqa: E731
        x, w, None, 2, 1, output_padding, groups, dilation
    )
    assert fg.autodiff.gradcheck(f, x, w)


FOLD_CASES = [
    # output_size, kernel_size, kwargs, input shape (unfold's input: fold gets its output's shape)
    ((5, 6), 2, {}, (2, 3, 5, 6)),
    ((7, 6), (2, 3), {"dilation": (2, 1), "padding": 1, "stride": (2, 3)}, (1, 2, 7, 6)),
    ((4, 4), 2, {"stride": 2}, (3, 4, 4)),  # unbatched
    ((5, 5), 3, {"padding": (2, 0), "stride": (1, 2)}, (2, 1, 5, 5)),
]


@pytest.mark.parametrize("output_size, kernel_size, kwargs, x_shape", FOLD_CASES)
def test_fold_and_unfold_match_torch(dtype, output_size, kernel_size, kwargs, x_shape):
    x = np.random.default_rng(0).standard_normal(x_shape)
    unfold = torch.nn.Unfold(kernel_size, **kwargs)
    check_module(unfold, fg.nn.Unfold(kernel_size, **kwargs), x, dtype)
    cols = unfold(torch.tensor(x)).numpy()
    cols = cols + np.random.default_rng(1).standard_normal(cols.shape)  # blocks that differ
    fold = torch.nn.Fold(output_size, kernel_size, **kwargs)
    check_module(fold, fg.nn.Fold(output_size, kernel_size, **kwargs), cols, dtype)


def test_fold_is_unfolds_transpose():
    """``<unfold(x), c> == <x, fold(c)>`` for random ``x`` and ``c``: fold sums what unfold copies."""
    kw = {"kernel_size": (3, 2), "dilation": (1, 2), "padding": 1, "stride": (2, 1)}
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 3, 7, 8), jnp.float32)
    u = F.unfold(x, **kw)
    c = jax.random.normal(jax.random.PRNGKey(1), u.shape, jnp.float32)
    lhs, rhs = jnp.vdot(u, c), jnp.vdot(x, F.fold(c, (7, 8), **kw))
    assert abs(lhs - rhs) <= 1e-4 * abs(lhs)


class _Glue(torch.nn.Module):
    """The functional forms, called as torch users call them."""

    def __init__(self):
        super().__init__()
        self.up = torch.nn.Parameter(torch.randn(2, 3, 4, 4) * 0.3)
        self.vol = torch.nn.Parameter(torch.randn(2, 1, 2, 2, 2) * 0.3)

    def forward(self, x):
        h = torch.nn.functional.conv_transpose2d(x, self.up, stride=2, padding=1)  # (N, 3, 8, 8)
        cols = torch.nn.functional.unfold(h, 2, stride=2)  # (N, 12, 16)
        h = torch.nn.functional.fold(cols * 2.0, (8, 8), 2, stride=2)
        v = torch.nn.functional.conv3d(h[:, :1, None], self.vol[:, :, :1], padding=(0, 1, 1))
        return h.sum(1) + v.sum((1, 2))[..., :8, :8]


def test_the_functionals_convert_as_glue():
    torch.manual_seed(0)
    model, x = _Glue().eval(), torch.randn(2, 2, 4, 4)
    conv = fg.interop.convert(model, x)
    for name in ("conv_transpose2d", "unfold", "fold", "conv3d"):
        assert f"F.{name}(" in conv.source, name
    got = conv.model.apply(conv.params, jnp.asarray(x.numpy()))
    with torch.no_grad():
        assert_close(got, model(x).numpy(), np.float32, "output")
