"""Convolution layers: ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d``, ``Fold`` and ``Unfold``.

Each has torch's signature, init and errors; the 1-D, 2-D and 3-D classes differ only in ``nd``.
``padding_mode`` other than ``'zeros'`` pads the input first with ``F.pad`` (``reflect``,
``replicate``, ``circular``) and then convolves unpadded, as torch's ``_conv_forward`` does; the
convolution itself is always ``F.conv{1,2,3}d`` (or ``F.conv_transpose{1,2,3}d``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._init import torch_uniform
from funcgrad.nn._module import Buffers, ConfigError, Module, ModuleError, Params
from funcgrad.nn.functional._conv import (
    IntOrTuple,
    Padding,
    check_output_padding,
    check_rank,
    conv_pads,
    ntuple,
    output_padding_for,
)
from funcgrad.nn.functional._padding import PadMode

__all__ = [
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "Fold",
    "Unfold",
]

PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]
_MODES = ("zeros", "reflect", "replicate", "circular")
_PAD_MODE: dict[str, PadMode] = {
    "reflect": "reflect",
    "replicate": "replicate",
    "circular": "circular",
}
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


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
        _check_groups(name, self.groups, self.in_channels, self.out_channels)
        if self.padding_mode not in _MODES:
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
        conv = _CONV[self.nd]
        name = type(self).__name__
        padding = self.padding
        with layer_errors(name):
            if self.padding_mode != "zeros":
                check_rank(x, self.nd, f"conv{self.nd}d")
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
        torch_order = tuple(p for pair in reversed(pads) for p in pair)  # last axis first
        return F.pad(x, torch_order, mode=_PAD_MODE[self.padding_mode])


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
        >>> conv.apply(conv.init(jax.random.key(0)), jnp.ones((5, 2, 7))).shape
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
        >>> params = conv.init(jax.random.key(0))
        >>> params["weight"].shape
        (20, 1, 5, 5)
        >>> conv.apply(params, jnp.ones((2, 1, 28, 28))).shape
        (2, 20, 24, 24)
        >>> Conv2d(3, 4, 3, 1, 0, 2).dilation
        2
    """

    nd: ClassVar[int] = 2


@dataclass(frozen=True)
class Conv3d(_ConvNd):
    """3-D convolution over ``(N, C, D, H, W)`` or one ``(C, D, H, W)`` volume, as ``torch.nn.Conv3d``.

    Same signature, order and init as torch (``U(+-1/sqrt(fan_in))``, ``fan_in = in / groups * kd *
    kh * kw``); weight ``(out, in / groups, kd, kh, kw)``; every ``padding_mode``.

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
        >>> conv = Conv3d(2, 4, (3, 2, 2), padding="same", padding_mode="replicate")
        >>> conv.apply(conv.init(jax.random.key(0)), jnp.ones((1, 2, 5, 6, 7))).shape
        (1, 4, 5, 6, 7)
    """

    nd: ClassVar[int] = 3


@dataclass(frozen=True)
class _ConvTransposeNd(Module):
    in_channels: int
    out_channels: int
    kernel_size: IntOrTuple
    stride: IntOrTuple = 1
    padding: IntOrTuple = 0
    output_padding: IntOrTuple = 0
    groups: int = 1
    bias: bool = True
    dilation: IntOrTuple = 1
    padding_mode: Literal["zeros"] = "zeros"

    nd: ClassVar[int]

    def __post_init__(self) -> None:
        name, where = type(self).__name__, f"conv_transpose{self.nd}d"
        if self.padding_mode != "zeros":  # torch's own refusal
            raise ConfigError(
                f'{name}: only "zeros" padding mode is supported, got {self.padding_mode!r}; '
                "pad the input with F.pad first"
            )
        with layer_errors(name, ConfigError):
            ntuple(self.kernel_size, self.nd, "kernel_size", where, minimum=1)
            strides = ntuple(self.stride, self.nd, "stride", where, minimum=1)
            dilation = ntuple(self.dilation, self.nd, "dilation", where, minimum=1)
            ntuple(self.padding, self.nd, "padding", where)  # ints only: no 'same' / 'valid'
            extra = ntuple(self.output_padding, self.nd, "output_padding", where)
            check_output_padding(extra, strides, dilation, where)
        _check_groups(name, self.groups, self.in_channels, self.out_channels)

    @property
    def kernel(self) -> tuple[int, ...]:
        return ntuple(self.kernel_size, self.nd, "kernel_size", type(self).__name__)

    def init(self, key: jax.Array) -> Params:
        # torch: kaiming_uniform_(a=sqrt(5)) on a weight (in, out / groups, *k), whose fan_in
        # torch reads off dimension 1: out / groups * prod(k); the bias bound is the same.
        fan_in = self.out_channels // self.groups * math.prod(self.kernel)
        k_w, k_b = jax.random.split(key)
        shape = (self.in_channels, self.out_channels // self.groups, *self.kernel)
        params = {"weight": torch_uniform(k_w, shape, fan_in)}
        if self.bias:
            params["bias"] = torch_uniform(k_b, (self.out_channels,), fan_in)
        return params

    def forward(
        self,
        params: Params,
        x: jax.Array,
        output_size: Sequence[int] | None = None,
        *,
        buffers: Buffers,
        train: bool,
        key: jax.Array | None,
    ) -> tuple[jax.Array, Buffers]:
        """torch's ``forward(input, output_size=None)``: ``output_size`` picks the output padding."""
        del train, key
        name = type(self).__name__
        extra = self.output_padding
        with layer_errors(name):
            if output_size is not None:
                check_rank(x, self.nd, f"conv_transpose{self.nd}d")
                nd = self.nd
                extra = output_padding_for(
                    output_size,
                    x.shape[x.ndim - nd :],
                    self.kernel,
                    ntuple(self.stride, nd, "stride", name),
                    ntuple(self.padding, nd, "padding", name),
                    ntuple(self.dilation, nd, "dilation", name),
                    name,
                )
            y = _CONV_T[self.nd](
                x,
                params["weight"],
                params.get("bias"),
                self.stride,
                self.padding,
                extra,
                self.groups,
                self.dilation,
            )
        return y, buffers


def _check_groups(name: str, groups: int, in_channels: int, out_channels: int) -> None:
    if not isinstance(groups, int) or groups < 1:
        raise ConfigError(
            f"{name}: groups must be a positive int, got {groups!r}; use groups=1 "
            "or a divisor of both channel counts"
        )
    for what, n in (("in_channels", in_channels), ("out_channels", out_channels)):
        if n % groups:
            raise ConfigError(
                f"{name}: {what}={n} is not divisible by groups={groups}; pick groups that "
                "divides both channel counts"
            )


_TRANSPOSE_ARGS = """
    Same signature and order as torch: ``(in_channels, out_channels, kernel_size, stride=1,
    padding=0, output_padding=0, groups=1, bias=True, dilation=1, padding_mode='zeros')``; weight
    ``(in, out / groups, *k)``; init ``U(+-1/sqrt(fan_in))`` with ``fan_in = out / groups *
    prod(k)``, as torch computes it. ``apply(params, x, output_size=...)`` picks the output padding
    from the size wanted, as torch's ``forward(input, output_size)``.

    Args:
        in_channels: the input's channel count ``C``.
        out_channels: the output's channel count.
        kernel_size: the kernel's size, an int or a tuple with one entry per spatial axis.
        stride: the spacing of the input's values in the output.
        padding: ``dilation * (k - 1) - padding`` zeros added on each side of the input.
        output_padding: extra size on the high side (smaller than ``stride`` or ``dilation``).
        groups: how many channel groups are convolved separately.
        bias: whether there is a learnable ``bias`` of shape ``(out_channels,)``.
        dilation: the spacing between kernel taps.
        padding_mode: ``'zeros'``, the only mode torch takes.

"""


@dataclass(frozen=True)
class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over ``(N, C, L)`` or ``(C, L)``, as ``torch.nn.ConvTranspose1d``.
    {args}
    Example:
        >>> import jax, jax.numpy as jnp
        >>> up = ConvTranspose1d(4, 2, 3, stride=2)
        >>> up.apply(up.init(jax.random.key(0)), jnp.ones((1, 4, 5)), output_size=[12]).shape
        (1, 2, 12)
    """

    nd: ClassVar[int] = 1


@dataclass(frozen=True)
class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over ``(N, C, H, W)`` or ``(C, H, W)``, as ``torch.nn.ConvTranspose2d``.
    {args}
    Example:
        >>> import jax, jax.numpy as jnp
        >>> up = ConvTranspose2d(8, 4, 4, stride=2, padding=1)  # DCGAN: doubles the size
        >>> up.apply(up.init(jax.random.key(0)), jnp.ones((2, 8, 4, 4))).shape
        (2, 4, 8, 8)
    """

    nd: ClassVar[int] = 2


@dataclass(frozen=True)
class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over ``(N, C, D, H, W)`` or ``(C, D, H, W)``, as ``torch.nn.ConvTranspose3d``.
    {args}
    Example:
        >>> import jax, jax.numpy as jnp
        >>> up = ConvTranspose3d(2, 2, 2, stride=2, groups=2)
        >>> up.apply(up.init(jax.random.key(0)), jnp.ones((2, 3, 3, 3))).shape
        (2, 6, 6, 6)
    """

    nd: ClassVar[int] = 3


for _cls in (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d):
    _cls.__doc__ = (_cls.__doc__ or "").replace("    {args}\n", _TRANSPOSE_ARGS)


@dataclass(frozen=True)
class Unfold(Module):
    """Sliding local blocks of an image as columns, as ``torch.nn.Unfold`` (im2col).

    Args:
        kernel_size: the block's size, an int or a pair.
        dilation: the spacing between a block's taps.
        padding: zeros added on each side.
        stride: the step between blocks.

    Example:
        >>> import jax.numpy as jnp
        >>> Unfold(2, stride=2).apply({}, jnp.ones((1, 3, 4, 4))).shape
        (1, 12, 4)
    """

    kernel_size: IntOrTuple
    dilation: IntOrTuple = 1
    padding: IntOrTuple = 0
    stride: IntOrTuple = 1

    def __post_init__(self) -> None:
        _check_window(self, "unfold")

    def init(self, key: jax.Array) -> Params:
        del key
        return {}

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("Unfold"):
            return F.unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)


@dataclass(frozen=True)
class Fold(Module):
    """Sum columns of sliding blocks back into an image, as ``torch.nn.Fold`` (col2im).

    Args:
        output_size: the image's spatial size ``(H, W)``.
        kernel_size: the block's size, an int or a pair.
        dilation: the spacing between a block's taps.
        padding: the zeros ``Unfold`` would add on each side (cropped off).
        stride: the step between blocks.

    Example:
        >>> import jax.numpy as jnp
        >>> Fold((4, 4), 2, stride=2).apply({}, jnp.ones((1, 12, 4))).shape
        (1, 3, 4, 4)
    """

    output_size: IntOrTuple
    kernel_size: IntOrTuple
    dilation: IntOrTuple = 1
    padding: IntOrTuple = 0
    stride: IntOrTuple = 1

    def __post_init__(self) -> None:
        _check_window(self, "fold")
        with layer_errors("Fold", ConfigError):
            ntuple(self.output_size, 2, "output_size", "fold", minimum=1)

    def init(self, key: jax.Array) -> Params:
        del key
        return {}

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("Fold"):
            return F.fold(
                x, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride
            )


def _check_window(layer: Fold | Unfold, where: str) -> None:
    with layer_errors(type(layer).__name__, ConfigError):
        ntuple(layer.kernel_size, 2, "kernel_size", where, minimum=1)
        ntuple(layer.dilation, 2, "dilation", where, minimum=1)
        ntuple(layer.padding, 2, "padding", where)
        ntuple(layer.stride, 2, "stride", where, minimum=1)
