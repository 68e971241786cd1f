"""``Conv1d`` and ``Conv2d``: torch's layers, with torch's signature, init and padding modes.

``padding_mode`` other than ``'zeros'`` pads the input first (``reflect``, ``replicate`` and
``circular`` are ``jnp.pad``'s ``reflect``, ``edge`` and ``wrap``) and then convolves unpadded, as
torch's ``_conv_forward`` does; the convolution itself is always ``F.conv1d`` / ``F.conv2d``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal

import jax
import jax.numpy as jnp

from funcgrad.nn import functional as F
from funcgrad.nn._init import torch_uniform
from funcgrad.nn._module import ConfigError, Module, ModuleError, Params
from funcgrad.nn.functional._conv import IntOrTuple, Padding, conv_pads, ntuple

__all__ = ["Conv1d", "Conv2d"]

PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]
_JNP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@contextlib.contextmanager
def layer_errors(layer: str, error: type[ModuleError] = ModuleError) -> Iterator[None]:
    """Re-raise a functional's ValueError as a :class:`ModuleError` (or ``error``) naming ``layer``.

    Example:
        >>> with layer_errors("Conv2d"):
        ...     raise ValueError("conv2d: bad")
        Traceback (most recent call last):
        ...
        funcgrad.nn.ModuleError: Conv2d: conv2d: bad
    """
    try:
        yield
    except ModuleError:
        raise
    except ValueError as e:
        raise error(f"{layer}: {e}") from None


@dataclass(frozen=True)
class _ConvNd(Module):
    in_channels: int
    out_channels: int
    kernel_size: IntOrTuple
    stride: IntOrTuple = 1
    padding: Padding = 0
    dilation: IntOrTuple = 1
    groups: int = 1
    bias: bool = True
    padding_mode: PaddingMode = "zeros"

    nd: ClassVar[int]

    def __post_init__(self) -> None:
        name, where = type(self).__name__, f"conv{self.nd}d"  # as the errors of apply read
        with layer_errors(name, ConfigError):
            kernel = ntuple(self.kernel_size, self.nd, "kernel_size", where, minimum=1)
            strides = ntuple(self.stride, self.nd, "stride", where, minimum=1)
            dilation = ntuple(self.dilation, self.nd, "dilation", where, minimum=1)
            conv_pads(self.padding, kernel, dilation, strides, where)
        if not isinstance(self.groups, int) or self.groups < 1:
            raise ConfigError(
                f"{name}: groups must be a positive int, got {self.groups!r}; use groups=1 "
                "or a divisor of both channel counts"
            )
        for what in ("in_channels", "out_channels"):
            if getattr(self, what) % self.groups:
                raise ConfigError(
                    f"{name}: {what}={getattr(self, what)} is not divisible by "
                    f"groups={self.groups}; pick groups that divides both channel counts"
                )
        if self.padding_mode not in ("zeros", *_JNP_MODE):
            raise ConfigError(
                f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', "
                f"got {self.padding_mode!r}"
            )

    @property
    def kernel(self) -> tuple[int, ...]:
        return ntuple(self.kernel_size, self.nd, "kernel_size", type(self).__name__)

    def init(self, key: jax.Array) -> Params:
        # torch: kaiming_uniform_(a=sqrt(5)) and the bias bound, both 1/sqrt(fan_in).
        fan_in = self.in_channels // self.groups * math.prod(self.kernel)
        k_w, k_b = jax.random.split(key)
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel)
        params = {"weight": torch_uniform(k_w, shape, fan_in)}
        if self.bias:
            params["bias"] = torch_uniform(k_b, (self.out_channels,), fan_in)
        return params

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        conv = F.conv1d if self.nd == 1 else F.conv2d
        name = type(self).__name__
        padding = self.padding
        with layer_errors(name):
            if self.padding_mode != "zeros":
                x, padding = self._pad(x), 0
            return conv(
                x,
                params["weight"],
                params.get("bias"),
                self.stride,
                padding,
                self.dilation,
                self.groups,
            )

    def _pad(self, x: jax.Array) -> jax.Array:
        strides = ntuple(self.stride, self.nd, "stride", "")
        dilation = ntuple(self.dilation, self.nd, "dilation", "")
        pads = conv_pads(self.padding, self.kernel, dilation, strides, "")
        spatial = x.shape[x.ndim - self.nd :]
        # torch: reflect needs pad < size, circular pad <= size; replicate takes any pad.
        limit = {"reflect": 1, "circular": 0, "replicate": -math.inf}[self.padding_mode]
        if any(max(p) + limit > s for p, s in zip(pads, spatial, strict=True)):
            raise ValueError(
                f"padding {self.padding!r} with padding_mode={self.padding_mode!r} must be smaller "
                f"than the input size {tuple(spatial)}, as in PyTorch; use less padding or 'zeros'"
            )
        lead = ((0, 0),) * (x.ndim - self.nd)
        return jnp.pad(x, lead + pads, mode=_JNP_MODE[self.padding_mode])


@dataclass(frozen=True)
class Conv1d(_ConvNd):
    """1-D convolution over ``(N, C, L)`` or one ``(C, L)`` signal, as ``torch.nn.Conv1d``.

    Same signature, order and init as torch: ``U(+-1/sqrt(fan_in))`` with
    ``fan_in = in_channels / groups * kernel_size``; weight ``(out, in / groups, k)``.

    Args:
        in_channels: the input's channel count ``C``.
        out_channels: the output's channel count.
        kernel_size: the kernel's size, an int or a tuple with one entry per spatial axis.
        stride: the kernel's step.
        padding: zeros added on each side, an int, a tuple, or ``'valid'`` / ``'same'``.
        dilation: the spacing between kernel taps.
        groups: how many channel groups are convolved separately.
        bias: whether there is a learnable ``bias`` of shape ``(out_channels,)``.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``, as torch.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> conv = Conv1d(2, 4, 3, padding="same", padding_mode="circular")
        >>> conv.apply(conv.init(jax.random.PRNGKey(0)), jnp.ones((5, 2, 7))).shape
        (5, 4, 7)
    """

    nd: ClassVar[int] = 1


@dataclass(frozen=True)
class Conv2d(_ConvNd):
    """2-D convolution over ``(N, C, H, W)`` or one ``(C, H, W)`` image, as ``torch.nn.Conv2d``.

    Same signature and order as torch: ``(in_channels, out_channels, kernel_size, stride=1,
    padding=0, dilation=1, groups=1, bias=True, padding_mode="zeros")``. ``init`` draws from
    ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in = in / groups * kh * kw``.

    Args:
        in_channels: the input's channel count ``C``.
        out_channels: the output's channel count.
        kernel_size: the kernel's size, an int or a tuple with one entry per spatial axis.
        stride: the kernel's step.
        padding: zeros added on each side, an int, a tuple, or ``'valid'`` / ``'same'``.
        dilation: the spacing between kernel taps.
        groups: how many channel groups are convolved separately.
        bias: whether there is a learnable ``bias`` of shape ``(out_channels,)``.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``, as torch.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> conv = Conv2d(1, 20, 5)
        >>> params = conv.init(jax.random.PRNGKey(0))
        >>> params["weight"].shape
        (20, 1, 5, 5)
        >>> conv.apply(params, jnp.ones((2, 1, 28, 28))).shape
        (2, 20, 24, 24)
        >>> Conv2d(3, 4, 3, 1, 0, 2).dilation
        2
    """

    nd: ClassVar[int] = 2
