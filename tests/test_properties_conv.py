"""Property tests: convolutions and pooling against live torch, over random valid configurations.

Each case draws a geometry (kernel, stride, padding, dilation, groups, padding mode, batch size
including 0 and 1, sometimes an unbatched input) that torch accepts, then compares values and
gradients w.r.t. the input and the weights. The invalid configurations are drawn on purpose: both
libraries must refuse them, and funcgrad's message must name the argument at fault.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from _properties import (
    assert_both_raise,
    batch_sizes,
    check_vjp,
    dtypes,
    property_test,
    seeds,
    torch_dtype,
    torch_params,
    x64,
)
from hypothesis import assume
from hypothesis import strategies as st

import funcgrad as fg

# torch's advice about its own 'same' padding with even kernels, not about funcgrad.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


@dataclass(frozen=True)
class Conv:
    nd: int
    in_channels: int
    out_channels: int
    kernel_size: Any
    stride: Any
    padding: Any
    dilation: Any
    groups: int
    bias: bool
    padding_mode: str
    shape: tuple[int, ...]

    def args(self) -> tuple[Any, ...]:
        return (
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.bias,
            self.padding_mode,
        )


def _maybe_int(draw: st.DrawFn, t: tuple[int, ...]) -> Any:
    """torch takes ``3`` and ``(3, 3)`` alike: draw which form to pass."""
    return t[0] if len(set(t)) == 1 and draw(st.booleans()) else t


@st.composite
def convs(draw: st.DrawFn, modes: tuple[str, ...] = ("zeros",)) -> Conv:
    nd = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 3))
    in_c, out_c = (groups * draw(st.integers(1, 3)) for _ in range(2))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    mode = draw(st.sampled_from(modes))
    kind = draw(st.sampled_from(["ints", "valid", "same"] if set(stride) == {1} else ["ints"]))
    if kind == "ints":
        padding: Any = tuple(draw(st.integers(0, 3)) for _ in range(nd))
        pads = [(p, p) for p in padding]
        padding = _maybe_int(draw, padding)
    elif kind == "valid":
        padding, pads = "valid", [(0, 0)] * nd
    else:  # torch's 'same': dilation * (k - 1) in total, the odd pixel at the end
        padding = "same"
        pads = [
            (d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
            for k, d in zip(kernel, dilation, strict=True)
        ]
    spatial = []
    for k, d, (lo, hi) in zip(kernel, dilation, pads, strict=True):
        low = max(1, d * (k - 1) + 1 - lo - hi)  # the dilated kernel fits the padded input
        if mode == "reflect":
            low = max(low, hi + 1)  # torch: reflect padding < input size
        elif mode == "circular":
            low = max(low, hi)  # torch: circular padding <= input size
        spatial.append(draw(st.integers(low, low + 4)))
    batch = draw(st.one_of(st.none(), batch_sizes))  # None: one unbatched example
    lead = (in_c,) if batch is None else (batch, in_c)
    return Conv(
        nd,
        in_c,
        out_c,
        _maybe_int(draw, kernel),
        _maybe_int(draw, stride),
        padding,
        _maybe_int(draw, dilation),
        groups,
        draw(st.booleans()),
        mode,
        lead + tuple(spatial),
    )


def _x(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


@property_test(case=convs(("zeros", "reflect", "replicate", "circular")), dtype=dtypes, seed=seeds)
def test_conv_layer_matches_torch(case: Conv, dtype: type, seed: int) -> None:
    """``fg.nn.Conv1d``/``Conv2d``: every geometry, padding mode, bias on/off, batch 0/1/unbatched."""
    name = f"Conv{case.nd}d"
    torch.manual_seed(seed)
    ref = getattr(torch.nn, name)(*case.args(), dtype=torch_dtype(dtype))
    layer = getattr(fg.nn, name)(*case.args())
    with x64(dtype):
        check_vjp(
            lambda p, x: torch.func.functional_call(ref, p, (x,)),
            layer.apply,
            [torch_params(ref), _x(case.shape, seed)],
            dtype,
            wrt=(0, 1),
        )


@property_test(case=convs(), dtype=dtypes, seed=seeds)
def test_functional_conv_matches_torch(case: Conv, dtype: type, seed: int) -> None:
    """``fg.nn.functional.conv1d``/``conv2d``, differentiated w.r.t. input, weight and bias."""
    rng = np.random.default_rng(seed)
    kernel = np.broadcast_to(case.kernel_size, (case.nd,))
    weight = rng.standard_normal((case.out_channels, case.in_channels // case.groups, *kernel))
    args = [_x(case.shape, seed), weight, rng.standard_normal(case.out_channels)]
    geometry = (case.stride, case.padding, case.dilation, case.groups)
    t_conv, f_conv = (
        (tF.conv1d, fg.nn.functional.conv1d)
        if case.nd == 1
        else (tF.conv2d, fg.nn.functional.conv2d)
    )
    with x64(dtype):
        check_vjp(
            lambda x, w, b: t_conv(x, w, b if case.bias else None, *geometry),
            lambda x, w, b: f_conv(x, w, b if case.bias else None, *geometry),
            args,
            dtype,
            wrt=(0, 1, 2),
        )


@dataclass(frozen=True)
class Pool:
    kernel_size: Any
    stride: Any
    padding: Any
    dilation: Any
    ceil_mode: bool
    shape: tuple[int, ...]


@st.composite
def pools(draw: st.DrawFn, dilate: bool) -> Pool:
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(2))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)  # torch: at most half the kernel
    dilation = tuple(draw(st.integers(1, 2 if dilate else 1)) for _ in range(2))
    spatial = tuple(
        draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), d * (k - 1) + 5))
        for k, p, d in zip(kernel, padding, dilation, strict=True)
    )
    batch = draw(st.one_of(st.none(), batch_sizes))
    channels = draw(st.integers(1, 3))
    lead = (channels,) if batch is None else (batch, channels)
    return Pool(
        _maybe_int(draw, kernel),
        stride if stride is None else _maybe_int(draw, stride),
        _maybe_int(draw, padding),
        _maybe_int(draw, dilation),
        draw(st.booleans()),
        lead + spatial,
    )


@property_test(case=pools(dilate=True), indices=st.booleans(), dtype=dtypes, seed=seeds)
def test_max_pool_matches_torch(case: Pool, indices: bool, dtype: type, seed: int) -> None:
    """``fg.nn.MaxPool2d``: values, gradient and (with ``return_indices``) the int64 indices."""
    geometry = (case.kernel_size, case.stride, case.padding, case.dilation)
    ref = torch.nn.MaxPool2d(*geometry, return_indices=indices, ceil_mode=case.ceil_mode)
    layer = fg.nn.MaxPool2d(*geometry, return_indices=indices, ceil_mode=case.ceil_mode)

    def split(out: Any) -> Any:  # (values, indices) -> values, with indices as aux
        return out if indices else (out, None)

    x = _x(case.shape, seed)
    # A window wholly in the padding (dilation > 1 on a tiny input) has the value -inf, no input
    # element and so no meaningful index or gradient: torch still routes its gradient to some
    # element (and returns that index), funcgrad to none. Not compared.
    first = ref(torch.tensor(x))
    assume(bool(torch.isfinite(first[0] if indices else first).all()))
    with x64(dtype):
        got, want = check_vjp(
            lambda x: split(ref(x)),
            lambda x: split(layer.apply({}, x)),
            [x],
            dtype,
            has_aux=True,
        )
        if indices:
            np.testing.assert_array_equal(np.asarray(got), want.numpy(), err_msg="indices")


@property_test(
    case=pools(dilate=False),
    count_include_pad=st.booleans(),
    divisor=st.one_of(st.none(), st.integers(1, 5)),
    dtype=dtypes,
    seed=seeds,
)
def test_avg_pool_matches_torch(
    case: Pool, count_include_pad: bool, divisor: int | None, dtype: type, seed: int
) -> None:
    """``fg.nn.AvgPool2d`` with ``ceil_mode``, ``count_include_pad`` and ``divisor_override``."""
    args = (case.kernel_size, case.stride, case.padding, case.ceil_mode, count_include_pad, divisor)
    ref, layer = torch.nn.AvgPool2d(*args), fg.nn.AvgPool2d(*args)
    with x64(dtype):
        check_vjp(ref, lambda x: layer.apply({}, x), [_x(case.shape, seed)], dtype)


@st.composite
def adaptive_cases(draw: st.DrawFn) -> tuple[Any, tuple[int, ...]]:
    h, w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    # Larger than the input too: torch's windows then overlap.
    o_h = draw(st.one_of(st.none(), st.integers(1, h + 2)))
    o_w = draw(st.one_of(st.none(), st.integers(1, w + 2)))
    size: Any = o_h if o_h is not None and o_h == o_w and draw(st.booleans()) else (o_h, o_w)
    batch = draw(st.one_of(st.none(), batch_sizes))
    lead = (2,) if batch is None else (batch, 2)
    return size, lead + (h, w)


@property_test(case=adaptive_cases(), dtype=dtypes, seed=seeds)
def test_adaptive_avg_pool_matches_torch(case: Any, dtype: type, seed: int) -> None:
    """``fg.nn.AdaptiveAvgPool2d`` for any output size (int, pair, ``None``), smaller or larger."""
    size, shape = case
    ref, layer = torch.nn.AdaptiveAvgPool2d(size), fg.nn.AdaptiveAvgPool2d(size)
    with x64(dtype):
        check_vjp(ref, lambda x: layer.apply({}, x), [_x(shape, seed)], dtype)


def _conv_call(module: Any, x: np.ndarray) -> Any:
    if isinstance(module, torch.nn.Module):
        return module(torch.tensor(x, dtype=torch.float32))
    # Zero weights of init's shapes: eval_shape traces init without compiling it.
    shapes = jax.eval_shape(module.init, jax.random.PRNGKey(0))
    params = jax.tree.map(lambda s: jnp.zeros(s.shape, jnp.float32), shapes)
    return module.apply(params, jnp.asarray(x, jnp.float32))


def _invalid_convs(c: int, k: int, n: int) -> dict[str, tuple[Any, ...]]:
    """What is wrong: Conv2d args, kwargs, input, the names funcgrad's message may use."""
    x, small = np.ones((n, c, k + 2, k + 2)), np.ones((n, c, k - 1, k - 1))
    return {
        "groups_in": ((2 * c + 1, 2 * c, k), {"groups": 2}, x, ("groups",)),
        "groups_out": (
            (2 * c, 2 * c + 1, k),
            {"groups": 2},
            np.ones((n, 2 * c, 5, 5)),
            ("groups",),
        ),
        "kernel_too_big": ((c, 1, k + 1), {}, small, ("kernel_size",)),
        "kernel_zero": ((c, 1, 0), {}, x, ("kernel_size",)),
        "negative_padding": ((c, 1, k), {"padding": -1}, x, ("padding",)),
        "stride": ((c, 1, k), {"stride": 0}, x, ("stride",)),
        "dilation": ((c, 1, k), {"dilation": 0}, x, ("dilation",)),
        "dilated_kernel_too_big": ((c, 1, k), {"dilation": k + 2}, x, ("kernel_size",)),
        "same_strided": ((c, 1, k), {"stride": 2, "padding": "same"}, x, ("padding",)),
        "padding_mode": ((c, 1, k), {"padding_mode": "mirror"}, x, ("padding_mode",)),
        "reflect_too_much": (
            (c, 1, k),
            {"padding": k + 2, "padding_mode": "reflect"},
            x,
            ("padding",),
        ),
        "circular_too_much": (
            (c, 1, k),
            {"padding": k + 3, "padding_mode": "circular"},
            x,
            ("padding",),
        ),
        "in_channels": ((c + 1, 1, k), {}, x, ("in_channels",)),
    }


def _invalid_pools(c: int, k: int, n: int) -> dict[str, tuple[Any, ...]]:
    """What is wrong: the layer, its args, input, the names funcgrad's message may use."""
    x = np.ones((n, c, k + 2, k + 2))
    return {
        "pool_padding": ("MaxPool2d", (k, 1, k // 2 + 1), x, ("padding",)),
        "avg_pool_padding": ("AvgPool2d", (k, 1, k // 2 + 1), x, ("padding",)),
        "pool_kernel_too_big": ("MaxPool2d", (k + 3,), x, ("kernel_size",)),
        "pool_stride": ("AvgPool2d", (k, 0), x, ("stride",)),
        "pool_kernel_zero": ("MaxPool2d", (0,), x, ("kernel_size",)),
        "avg_divisor": ("AvgPool2d", (k, 1, 0, False, True, 0), x, ("divisor_override",)),
    }


def _refused(kind: str, make: Any, run: Any, x: np.ndarray, names: tuple[str, ...]) -> None:
    """``run(make(lib), x)`` raises for torch and funcgrad; funcgrad's message names ``names``."""
    try:
        assert_both_raise(lambda: run(make(torch.nn), x), lambda: run(make(fg.nn), x), names)
    except AssertionError as e:
        raise AssertionError(f"{kind} (input {x.shape}): {e}") from None


def _pool_call(module: Any, x: np.ndarray) -> Any:
    if isinstance(module, torch.nn.Module):
        return module(torch.tensor(x))
    return module.apply({}, jnp.asarray(x))


# n >= 1: torch skips some checks (dilation) on an empty batch.
@property_test(c=st.integers(1, 4), k=st.integers(2, 4), n=st.integers(1, 2))
def test_invalid_conv_and_pool_configs_raise_in_both(c: int, k: int, n: int) -> None:
    """Every kind of bad geometry, each case: both refuse it, funcgrad's message names the argument."""
    for kind, (args, kwargs, x, names) in _invalid_convs(c, k, n).items():
        make = functools.partial(lambda lib, a, kw: lib.Conv2d(*a, **kw), a=args, kw=kwargs)
        _refused(f"Conv2d{args} {kwargs}: {kind}", make, _conv_call, x, names)
    for kind, (name, args, x, names) in _invalid_pools(c, k, n).items():
        make = functools.partial(lambda lib, n, a: getattr(lib, n)(*a), n=name, a=args)
        _refused(f"{name}{args}: {kind}", make, _pool_call, x, names)
