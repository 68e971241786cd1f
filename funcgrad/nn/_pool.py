"""Pooling layers: torch's ``MaxPool2d``, ``AvgPool2d`` and ``AdaptiveAvgPool2d``. Params ``{}``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._conv import layer_errors
from funcgrad.nn._module import Module, Params
from funcgrad.nn.functional._conv import IntOrTuple

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "MaxPool2d"]


class _Pool(Module):
    def init(self, key: jax.Array) -> Params:
        del key
        return {}


@dataclass(frozen=True)
class MaxPool2d(_Pool):
    """Max over windows, as ``torch.nn.MaxPool2d`` (torch 2.13's signature and order).

    ``stride`` defaults to ``kernel_size``. With ``return_indices=True`` the layer returns
    ``(values, indices)``, int64 flat indices into ``H * W`` as torch. The gradient goes to the first
    maximum of each window (row-major), as torch's does.

    Args:
        kernel_size: the window's size, an int or ``(kh, kw)``.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        padding: implicit ``-inf`` on each side, an int or ``(ph, pw)``.
        dilation: the spacing between window entries.
        return_indices: also return each maximum's flat index in its ``H * W`` plane (int64).
        ceil_mode: round the output size up instead of down.

    Example:
        >>> import jax.numpy as jnp
        >>> MaxPool2d(2).apply({}, jnp.ones((1, 6, 28, 28))).shape
        (1, 6, 14, 14)
    """

    kernel_size: IntOrTuple
    stride: IntOrTuple | None = None
    padding: IntOrTuple = 0
    dilation: IntOrTuple = 1
    return_indices: bool = False
    ceil_mode: bool = False

    def stateless(self, params: Params, x: jax.Array) -> jax.Array | tuple[jax.Array, jax.Array]:
        with layer_errors("MaxPool2d"):
            return F.max_pool2d(
                x,
                self.kernel_size,
                self.stride,
                self.padding,
                self.dilation,
                self.ceil_mode,
                self.return_indices,
            )


@dataclass(frozen=True)
class AvgPool2d(_Pool):
    """Mean over windows, as ``torch.nn.AvgPool2d`` (torch's divisor and ``ceil_mode`` rules).

    Args:
        kernel_size: the window's size, an int or ``(kh, kw)``.
        stride: the window's step; ``None`` (the default) means ``kernel_size``.
        padding: implicit zeros on each side, an int or ``(ph, pw)``.
        ceil_mode: round the output size up instead of down.
        count_include_pad: whether the padding zeros count in the divisor.
        divisor_override: a fixed divisor instead of the window's size.

    Example:
        >>> import jax.numpy as jnp
        >>> AvgPool2d(3, stride=2, padding=1, count_include_pad=False).apply({}, jnp.ones((2, 5, 5))).shape
        (2, 3, 3)
    """

    kernel_size: IntOrTuple
    stride: IntOrTuple | None = None
    padding: IntOrTuple = 0
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("AvgPool2d"):
            return F.avg_pool2d(
                x,
                self.kernel_size,
                self.stride,
                self.padding,
                self.ceil_mode,
                self.count_include_pad,
                self.divisor_override,
            )


@dataclass(frozen=True)
class AdaptiveAvgPool2d(_Pool):
    """Average to a fixed ``output_size`` (an int, a pair, ``None`` keeps that axis), as torch.

    Example:
        >>> import jax.numpy as jnp
        >>> AdaptiveAvgPool2d((1, None)).apply({}, jnp.ones((2, 3, 7, 5))).shape
        (2, 3, 1, 5)
    """

    output_size: int | None | Sequence[int | None]

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("AdaptiveAvgPool2d"):
            return F.adaptive_avg_pool2d(x, self.output_size)
