"""F.pad in every mode and the padding layers (Reflection, Replication, Zero, Constant, Circular
1d/2d/3d) against torch: values, the VJP, negative pads that crop, and torch's refusals."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _layer_samples import module_info
from _parity import assert_close, check_loss, check_module

import funcgrad as fg
from funcgrad.nn import functional as F

PAD_CASES = [
    # pad, mode, value, input shape
    ((1, 2), "constant", None, (2, 3, 4)),
    ((2, -1, 0, 3), "constant", 1.5, (2, 3, 4)),  # crops one axis, pads the other
    ((1, 1, -1, 2, 2, 0, 1, 1), "constant", -2.0, (2, 3, 4, 5)),  # four axes: constant only
    ((-2, -1), "constant", None, (3, 5)),
    ((3, 1), "reflect", None, (2, 3, 4)),
    ((1, 2, 2, 1), "reflect", None, (3, 4, 3)),  # unbatched
    ((1, 0, 2, 1, 1, 2), "reflect", None, (1, 2, 3, 3, 4)),
    ((3, 5), "replicate", None, (2, 3, 4)),
    ((2, -1, -1, 3), "replicate", None, (1, 2, 4, 5)),
    ((-2, 1, 0, -3, 2, 2), "replicate", None, (1, 2, 3, 4, 5)),
    ((4, 2), "circular", None, (2, 3, 4)),
    ((1, -2, 2, 0), "circular", None, (2, 2, 3, 4)),
    ((1, 1, 2, 0, 0, 3), "circular", None, (1, 2, 3, 3, 3)),
]


@pytest.mark.parametrize("pad, mode, value, shape", PAD_CASES)
def test_pad_matches_torch(dtype, pad, mode, value, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    kwargs = {} if value is None else {"value": value}
    check_loss(torch.nn.functional.pad, F.pad, [x], dtype, pad=pad, mode=mode, **kwargs)


def test_constant_pad_keeps_an_integer_dtype():
    x = np.arange(6).reshape(2, 3)
    y = F.pad(jnp.asarray(x, jnp.int32), (1, 0, 0, 1), value=7)
    assert y.dtype == jnp.int32
    np.testing.assert_array_equal(
        y, torch.nn.functional.pad(torch.tensor(x), (1, 0, 0, 1), value=7)
    )


FAMILIES = ["ReflectionPad", "ReplicationPad", "ZeroPad", "ConstantPad", "CircularPad"]
LAYER_CASES = [
    # nd, padding, input shape
    (1, (2, 1), (2, 3, 4)),
    (1, 2, (3, 4)),
    (2, (1, 0, 2, 1), (2, 2, 3, 4)),
    (2, (-1, 1, 1, 2), (2, 3, 4)),  # a negative pad crops (reflect too, as torch's kernel does)
    (3, (1, 2, 0, 1, 2, 1), (1, 2, 3, 4, 5)),
    (3, 1, (2, 3, 3, 3)),
]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("nd, padding, shape", LAYER_CASES)
def test_layers_match_torch(dtype, family, nd, padding, shape):
    name = f"{family}{nd}d"
    args = (padding, 0.5) if family == "ConstantPad" else (padding,)
    x = np.random.default_rng(1).standard_normal(shape)
    check_module(getattr(torch.nn, name)(*args), getattr(fg.nn, name)(*args), x, dtype)


def _pad_names() -> list[str]:
    return [n for n in fg.nn.LAYERS if any(n.startswith(f) for f in FAMILIES)]


def test_every_padding_layer_is_registered_with_torchs_grad_fn():
    assert len(_pad_names()) == 15
    for name in _pad_names():
        y = getattr(torch.nn, name)(*((1, 2.0) if "Constant" in name else (1,)))(
            torch.ones((1, 2, 3, 3, 3)[: int(name[-2]) + 2], requires_grad=True)
        )
        assert type(y.grad_fn).__name__ == fg.nn.LAYERS[name].grad_fn, name


ERROR_SAMPLES = [
    (name, i)
    for name in [
        *_pad_names(),
        "Conv1d",
        "Conv2d",
        "Conv3d",
        "ConvTranspose1d",
        "ConvTranspose2d",
        "ConvTranspose3d",
    ]
    if (info := module_info(name)) is not None and info.module_error_inputs_func is not None
    for i in range(
        len(
            list(
                info.module_error_inputs_func(
                    info, device="cpu", dtype=torch.float32, requires_grad=False, training=False
                )
            )
        )
    )
]


@pytest.mark.parametrize("name, index", ERROR_SAMPLES)
def test_torchs_error_samples_are_refused_as_torch_refuses_them(name, index):
    """module_db's ``module_error_inputs_func`` samples: torch raises, and so does funcgrad, with the
    same error type and torch's words."""
    info = module_info(name)
    (sample,) = list(
        info.module_error_inputs_func(
            info, device="cpu", dtype=torch.float32, requires_grad=False, training=False
        )
    )[index : index + 1]
    ctor = sample.module_error_input.constructor_input
    (x,) = sample.module_error_input.forward_input.args
    with pytest.raises(sample.error_type, match=sample.error_regex):
        getattr(torch.nn, name)(*ctor.args, **ctor.kwargs)(x)
    layer = getattr(fg.nn, name)(*ctor.args, **ctor.kwargs)
    with pytest.raises(sample.error_type, match=f"{name}: .*{sample.error_regex}"):
        layer.apply(layer.init(jax.random.PRNGKey(0)), jnp.asarray(x.numpy()))


def test_error_samples_exist():
    assert {n for n, _ in ERROR_SAMPLES} >= {"CircularPad1d", "CircularPad2d", "CircularPad3d"}


@pytest.mark.parametrize(
    "pad, mode, shape, match",
    [
        ((3, 0), "reflect", (1, 2, 3), "pads at most 2 on an axis of size 3"),
        ((0, 4), "circular", (1, 2, 3), "pads at most 3 on an axis of size 3"),
        ((1, 1), "reflect", (1, 2, 3, 4, 5), r"expects 2D or 3D input \(got 5D input\)"),
        ((1, 1) * 4, "replicate", (1, 2, 3, 4, 5, 6), "with 8 pad values"),
        ((1,), "constant", (2, 3), "an even number of ints"),
        ((1, 1) * 3, "constant", (2, 3), "pads 3 axes but the input has 2"),
        ((1, 1), "mirror", (1, 2, 3), "mode must be"),
    ],
)
def test_pads_torch_refuses_are_refused(pad, mode, shape, match):
    if mode != "mirror":
        with pytest.raises((RuntimeError, ValueError, NotImplementedError)):
            torch.nn.functional.pad(torch.ones(shape), pad, mode=mode)
    with pytest.raises(ValueError, match=f"pad: .*{match}"):
        F.pad(jnp.ones(shape), pad, mode=mode)


def test_a_value_with_another_mode_is_refused():
    with pytest.raises(RuntimeError, match="doesn't take in value argument"):
        torch.nn.functional.pad(torch.ones(1, 2, 3), (1, 1), mode="reflect", value=1.0)
    with pytest.raises(ValueError, match="takes no value"):
        F.pad(jnp.ones((1, 2, 3)), (1, 1), mode="reflect", value=1.0)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: fg.nn.ReflectionPad2d((1, 2, 3)), "padding must be an int or 4 ints"),
        (lambda: fg.nn.ZeroPad1d(1.5), "padding must be an int or 2 ints"),
        (lambda: fg.nn.ConstantPad3d((1, 1), 0.0), "padding must be an int or 6 ints"),
    ],
)
def test_bad_padding_names_the_fix(make, match):
    with pytest.raises(fg.nn.ConfigError, match=match):
        make()


def test_reflection_pad_too_large_names_the_layer():
    layer = fg.nn.ReflectionPad1d(3)
    with pytest.raises(
        fg.nn.ModuleError, match="ReflectionPad1d: pad: mode 'reflect' pads at most"
    ):
        layer.apply({}, jnp.ones((1, 2, 3)))


class _Pads(torch.nn.Module):
    def forward(self, x):
        h = torch.nn.functional.pad(x, (1, 2), mode="reflect")
        h = torch.nn.functional.pad(h, (2, 1, 1, 0), mode="replicate") + 1.0
        h = torch.nn.functional.pad(h, (1, 1, -1, 1), value=0.5)
        return torch.nn.functional.pad(h, (3, 0), mode="circular")


def test_pad_converts_as_glue_in_every_mode():
    model, x = _Pads().eval(), torch.randn(3, 4, 5)
    conv = fg.interop.convert(model, x)
    assert conv.source.count("F.pad(") == 4
    got = conv.model.apply(conv.params, jnp.asarray(x.numpy()))
    with torch.no_grad():
        assert_close(got, model(x).numpy(), np.float32, "output")
