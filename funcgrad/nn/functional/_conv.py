"""Convolutions, as ``torch.nn.functional.conv1d`` / ``conv2d`` (channels first, weight ``(O, I/groups, *k)``).

Every convolution goes through one call of ``lax.conv_general_dilated``, so GPUs keep cuDNN and the
CPU gets whatever kernels the caller compiles with (see ``funcgrad._cpu_kernels``). Tracing reads
nothing else: no environment, no context variable, so the same arguments trace the same program.

A stride-1 convolution's input gradient is written as an explicit zero pad followed by an unpadded
convolution (``_conv_general_dilated``); XLA:CPU runs that 20-25% faster than the padded
convolution JAX's own transpose rule emits, about 8% of the ConvNet train step.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Literal

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_derivatives import SymbolicZero

__all__ = ["conv1d", "conv2d"]

IntOrTuple = int | Sequence[int]
Padding = IntOrTuple | Literal["valid", "same"]
Pads = tuple[tuple[int, int], ...]

_DIMS: dict[int, tuple[str, str, str]] = {1: ("NCH", "OIH", "NCH"), 2: ("NCHW", "OIHW", "NCHW")}


def ntuple(v: IntOrTuple, n: int, name: str, where: str, minimum: int = 0) -> tuple[int, ...]:
    """``v`` as ``n`` ints, each at least ``minimum`` (torch's ``_pair``); a ValueError names ``name``.

    Example:
        >>> ntuple(3, 2, "stride", "conv2d", minimum=1)
        (3, 3)
    """
    t = (v,) * n if isinstance(v, int) else tuple(v)
    t = t * n if len(t) == 1 else t  # torch's pooling reads (k,) as (k, k)
    if len(t) != n or not all(isinstance(p, int) and p >= minimum for p in t):
        kind = "positive" if minimum >= 1 else "non-negative"
        raise ValueError(f"{where}: {name} must be a {kind} int or {n} of them, got {v!r}")
    return t


def conv_pads(
    padding: Padding,
    kernel: Sequence[int],
    dilation: Sequence[int],
    strides: Sequence[int],
    where: str,
) -> Pads:
    """``(low, high)`` padding per spatial axis, as torch resolves ints, ``'valid'`` and ``'same'``.

    ``'same'`` pads ``dilation * (k - 1)`` in total, the odd extra pixel at the end, as torch does.

    Example:
        >>> conv_pads("same", (4,), (1,), (1,), "conv1d")
        ((1, 2),)
    """
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise ValueError(
                f"{where}: padding must be 'valid', 'same' or ints, got {padding!r}; "
                "pass padding='same', 'valid' or an int"
            )
        if any(s != 1 for s in strides):
            raise ValueError(
                f"{where}: padding='same' needs stride=1, as in PyTorch; pad with ints"
            )
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in ntuple(padding, n, "padding", where))


def check_window_fits(
    spatial: Sequence[int], pads: Pads, kernel: Sequence[int], dilation: Sequence[int], where: str
) -> None:
    """Raise a ValueError when the (dilated) kernel is larger than the padded input.

    Example:
        >>> check_window_fits((2,), ((0, 0),), (3,), (1,), "conv1d")
        Traceback (most recent call last):
        ...
        ValueError: conv1d: padded input (2,) is smaller than the kernel (3,) (dilation (1,)); use a larger input, more padding or a smaller kernel_size
    """
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(spatial, pads, strict=True))
    if any(p < d * (k - 1) + 1 for p, k, d in zip(padded, kernel, dilation, strict=True)):
        raise ValueError(
            f"{where}: padded input {padded} is smaller than the kernel {tuple(kernel)} "
            f"(dilation {tuple(dilation)}); use a larger input, more padding or a smaller kernel_size"
        )


def _lax_conv(
    input: jax.Array,
    weight: jax.Array,
    strides: Sequence[int],
    pads: Pads,
    dilations: Sequence[int],
    groups: int,
    dims: tuple[str, str, str],
) -> jax.Array:
    """The one call of ``lax.conv_general_dilated``."""
    return lax.conv_general_dilated(
        input,
        weight,
        tuple(strides),
        pads,
        rhs_dilation=tuple(dilations),
        feature_group_count=groups,
        dimension_numbers=dims,
    )


@partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4, 5))
def _conv_general_dilated(
    input: jax.Array,
    weight: jax.Array,
    pads: Pads,
    dilations: tuple[int, ...],
    groups: int,
    dims: tuple[str, str, str],
) -> jax.Array:
    """A stride-1 convolution whose input gradient is a zero pad and an unpadded convolution."""
    return _lax_conv(input, weight, (1,) * len(pads), pads, dilations, groups, dims)


def _conv_jvp(
    pads: Pads,
    dilations: tuple[int, ...],
    groups: int,
    dims: tuple[str, str, str],
    primals: tuple[jax.Array, jax.Array],
    tangents: tuple[jax.Array | SymbolicZero, jax.Array | SymbolicZero],
) -> tuple[jax.Array, jax.Array]:
    input, weight = primals
    d_input, d_weight = tangents
    out = _conv_general_dilated(input, weight, pads, dilations, groups, dims)
    tangent = jnp.zeros_like(out)
    if not isinstance(d_weight, SymbolicZero):
        tangent = _conv_general_dilated(input, d_weight, pads, dilations, groups, dims)
    if isinstance(d_input, SymbolicZero):  # the input is data: no input gradient to compute
        return out, tangent
    # The input's tangent as the "full" convolution (padded by the dilated kernel's extent less
    # one) cropped to the output: JAX transposes a crop into a zero pad and a full convolution
    # into an unpadded one, so reverse mode gets pad + unpadded convolution. (Forward mode pays
    # for the full convolution's larger output; reverse mode never evaluates it.)
    extents = [d * (k - 1) for k, d in zip(weight.shape[2:], dilations, strict=True)]
    full = _lax_conv(
        d_input, weight, (1,) * len(pads), tuple((e, e) for e in extents), dilations, groups, dims
    )
    starts = (0, 0) + tuple(e - lo for e, (lo, _) in zip(extents, pads, strict=True))
    ends = tuple(s + n for s, n in zip(starts, out.shape, strict=True))
    return out, tangent + lax.slice(full, starts, ends)


# Symbolic zeros, so that an input that is data (the first layer's) costs no convolution at all.
_conv_general_dilated.defjvp(_conv_jvp, symbolic_zeros=True)


def _conv(
    input: jax.Array,
    weight: jax.Array,
    bias: jax.Array | None,
    stride: IntOrTuple,
    padding: Padding,
    dilation: IntOrTuple,
    groups: int,
    nd: int,
) -> jax.Array:
    where = f"conv{nd}d"
    if input.ndim not in (nd + 1, nd + 2):
        layout = ("(N, C, L) or (C, L)", "(N, C, H, W) or (C, H, W)")[nd - 1]
        raise ValueError(f"{where}: expected input {layout}, got shape {tuple(input.shape)}")
    if input.ndim == nd + 1:  # one example: the bias goes on after the batch axis is dropped
        y = _conv(input[None], weight, None, stride, padding, dilation, groups, nd)[0]
        return y if bias is None else y + bias.reshape((-1,) + (1,) * nd)
    out_c, in_per_group, *kernel = weight.shape
    if not isinstance(groups, int) or groups < 1 or out_c % groups:
        raise ValueError(
            f"{where}: groups={groups!r} must be a positive int dividing the {out_c} output "
            "channels; pick groups that divides both channel counts"
        )
    if input.shape[1] != in_per_group * groups:
        raise ValueError(
            f"{where}: input has {input.shape[1]} channels (shape {tuple(input.shape)}) but weight "
            f"{tuple(weight.shape)} with groups={groups} expects {in_per_group * groups}; "
            f"build the layer with in_channels={input.shape[1]}"
        )
    strides = ntuple(stride, nd, "stride", where, minimum=1)
    dilations = ntuple(dilation, nd, "dilation", where, minimum=1)
    pads = conv_pads(padding, kernel, dilations, strides, where)
    check_window_fits(input.shape[2:], pads, kernel, dilations, where)
    extents = [d * (k - 1) for k, d in zip(kernel, dilations, strict=True)]
    if all(s == 1 for s in strides) and all(
        max(pad) <= e for e, pad in zip(extents, pads, strict=True)
    ):
        y = _conv_general_dilated(input, weight, pads, dilations, groups, _DIMS[nd])
    else:  # strided (or padded beyond the kernel): JAX's own transpose rule
        y = _lax_conv(input, weight, strides, pads, dilations, groups, _DIMS[nd])
    return y if bias is None else y + bias.reshape((1, out_c) + (1,) * nd)


def conv1d(
    input: jax.Array,
    weight: jax.Array,
    bias: jax.Array | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> jax.Array:
    """1-D cross-correlation, as ``torch.nn.functional.conv1d`` (``(N, C, L)`` or ``(C, L)``).

    Args:
        input: ``(N, C, L)`` or one unbatched ``(C, L)``.
        weight: ``(out_channels, C / groups, kL)``.
        bias: ``(out_channels,)``, or ``None``.
        stride: the kernel's step, an int or a tuple.
        padding: zeros added on each side, an int, a tuple, or ``'valid'`` / ``'same'``.
        dilation: the spacing between kernel taps.
        groups: how many channel groups are convolved separately.

    Returns:
        ``(N, out_channels, L_out)`` (no ``N`` for an unbatched input).

    Example:
        >>> import jax.numpy as jnp
        >>> conv1d(jnp.ones((1, 2, 5)), jnp.ones((4, 2, 3)), padding="same").shape
        (1, 4, 5)
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(
    input: jax.Array,
    weight: jax.Array,
    bias: jax.Array | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> jax.Array:
    """2-D cross-correlation, as ``torch.nn.functional.conv2d`` (NCHW input, OIHW weight).

    Args:
        input: ``(N, C, H, W)`` or one unbatched ``(C, H, W)``.
        weight: ``(out_channels, C / groups, kh, kw)``.
        bias: ``(out_channels,)``, or ``None``.
        stride: the kernel's step, an int or a tuple.
        padding: zeros added on each side, an int, a tuple, or ``'valid'`` / ``'same'``.
        dilation: the spacing between kernel taps.
        groups: how many channel groups are convolved separately.

    Returns:
        ``(N, out_channels, H_out, W_out)`` (no ``N`` for an unbatched input).

    Example:
        >>> import jax.numpy as jnp
        >>> conv2d(jnp.ones((1, 3, 8, 8)), jnp.ones((4, 3, 3, 3)), stride=2, padding=1).shape
        (1, 4, 4, 4)
        >>> conv2d(jnp.ones((1, 4, 8, 8)), jnp.ones((6, 2, 3, 3)), dilation=2, groups=2).shape
        (1, 6, 4, 4)
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2)
