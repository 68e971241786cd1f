"""Pure functions behind the layers, in the spirit of ``torch.nn.functional``.

Each takes its weights as arguments and keeps no state, so ``jax.grad`` differentiates with respect
to any of them. Shapes follow PyTorch: ``linear`` acts on the last axis of ``(*, in)`` and ``conv2d``
on ``(N, C, H, W)`` or an unbatched ``(C, H, W)``.

Example:
    >>> import jax.numpy as jnp
    >>> from funcgrad.nn import functional as F
    >>> F.relu(F.linear(jnp.ones(2), jnp.eye(2), jnp.array([-2.0, 0.5]))).tolist()
    [0.0, 1.5]
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

from funcgrad.nn._conv_cpu import conv_cpu, conv_impl, conv_lax

__all__ = ["conv2d", "flatten", "linear", "relu", "sigmoid", "tanh"]

IntOrPair = int | tuple[int, int]


def linear(x: jax.Array, weight: jax.Array, bias: jax.Array | None = None) -> jax.Array:
    """``x @ weight.T + bias`` with torch's ``(out, in)`` weight layout.

    Example:
        >>> linear(jnp.ones((4, 3)), jnp.ones((2, 3))).shape
        (4, 2)
    """
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {tuple(x.shape)} must end in {weight.shape[1]} features to "
            f"match weight {tuple(weight.shape)}; reshape the input or build Linear({_last(x)}, "
            f"{weight.shape[0]})"
        )
    y = x @ weight.T
    # Explicit leading axes: funcgrad works under jax_numpy_rank_promotion="raise".
    return y if bias is None else y + bias.reshape((1,) * (y.ndim - 1) + bias.shape)


def _last(x: jax.Array) -> int | str:
    return x.shape[-1] if x.ndim else "?"


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


def relu(x: jax.Array) -> jax.Array:
    """``max(x, 0)``; the derivative at 0 is 0, as in PyTorch.

    Example:
        >>> relu(jnp.array([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """
    return jax.nn.relu(x)


def tanh(x: jax.Array) -> jax.Array:
    """Hyperbolic tangent.

    Example:
        >>> float(tanh(jnp.array(0.0)))
        0.0
    """
    return jnp.tanh(x)


def sigmoid(x: jax.Array) -> jax.Array:
    """Logistic sigmoid ``1 / (1 + exp(-x))``.

    Example:
        >>> float(sigmoid(jnp.array(0.0)))
        0.5
    """
    return jax.nn.sigmoid(x)


def flatten(x: jax.Array, start_dim: int = 0, end_dim: int = -1) -> jax.Array:
    """Merge axes ``start_dim..end_dim`` into one, as ``torch.flatten``.

    Example:
        >>> flatten(jnp.ones((2, 3, 4)), 1).shape
        (2, 12)
    """
    if x.ndim == 0:
        return x.reshape(1)
    start, end = start_dim % x.ndim, end_dim % x.ndim
    if start > end:
        raise ValueError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape "
            f"{tuple(x.shape)}"
        )
    return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1 :])
