"""Convolutions, as ``torch.nn.functional.conv2d`` (NCHW input, OIHW weight)."""

from __future__ import annotations

from typing import Literal

import jax

from funcgrad.nn._conv_cpu import conv_cpu, conv_impl, conv_lax

__all__ = ["conv2d"]


IntOrPair = int | tuple[int, int]


def _pair(v: IntOrPair, name: str) -> tuple[int, int]:
    pair = (v, v) if isinstance(v, int) else tuple(v)
    if len(pair) != 2 or not all(isinstance(p, int) and p >= 0 for p in pair):
        raise ValueError(f"conv2d: {name} must be a non-negative int or a pair of them, got {v!r}")
    return pair  # type: ignore[return-value]


def conv2d(
    x: jax.Array,
    weight: jax.Array,
    bias: jax.Array | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair | Literal["valid", "same"] = 0,
) -> jax.Array:
    """2-D cross-correlation, as ``torch.nn.functional.conv2d`` (NCHW input, OIHW weight).

    Example:
        >>> import jax.numpy as jnp
        >>> conv2d(jnp.ones((1, 3, 8, 8)), jnp.ones((4, 3, 3, 3)), stride=2, padding=1).shape
        (1, 4, 4, 4)
    """
    if x.ndim not in (3, 4):
        raise ValueError(
            f"conv2d: expected input (N, C, H, W) or (C, H, W), got shape {tuple(x.shape)}"
        )
    if x.ndim == 3:
        return conv2d(x[None], weight, bias, stride, padding)[0]
    out_c, in_c, kh, kw = weight.shape
    if x.shape[1] != in_c:
        raise ValueError(
            f"conv2d: input has {x.shape[1]} channels (shape {tuple(x.shape)}) but weight "
            f"{tuple(weight.shape)} expects {in_c}; build Conv2d({x.shape[1]}, {out_c}, ...)"
        )
    strides = _pair(stride, "stride")
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"conv2d: padding must be 'valid', 'same' or ints, got {padding!r}")
        if padding == "same" and strides != (1, 1):
            raise ValueError("conv2d: padding='same' needs stride 1, as in PyTorch")
        pads = ((0, 0), (0, 0)) if padding == "valid" else _same_pads(kh, kw)
    else:
        ph, pw = _pair(padding, "padding")
        pads = ((ph, ph), (pw, pw))
    h, w = x.shape[2] + sum(pads[0]), x.shape[3] + sum(pads[1])
    if h < kh or w < kw:
        raise ValueError(
            f"conv2d: padded input {h}x{w} is smaller than the {kh}x{kw} kernel; "
            "use a larger image or more padding"
        )
    y = _conv(x, weight, strides, pads)
    return y if bias is None else y + bias[None, :, None, None]


def _same_pads(kh: int, kw: int) -> tuple[tuple[int, int], tuple[int, int]]:
    # torch puts the odd extra pixel of an even kernel on the bottom/right.
    return ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)


def _conv(
    x: jax.Array,
    weight: jax.Array,
    strides: tuple[int, int],
    pads: tuple[tuple[int, int], tuple[int, int]],
) -> jax.Array:
    # Chosen at trace time by JAX's default backend (FUNCGRAD_CONV=cpu|lax forces one). Both run
    # lax.conv_general_dilated; the CPU path relies on an XLA flag set at import (_xla_cpu),
    # which a lowering-time switch such as lax.platform_dependent could not set.
    return (conv_cpu if conv_impl() == "cpu" else conv_lax)(x, weight, strides, pads)
