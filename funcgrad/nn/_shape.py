"""Layers that only move values: torch's ``Unflatten``, ``PixelShuffle``, ``PixelUnshuffle`` and
``ChannelShuffle`` (``Flatten`` lives with the activations). Their params are ``{}``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._conv import layer_errors
from funcgrad.nn._module import ConfigError, Module, Params

__all__ = ["ChannelShuffle", "PixelShuffle", "PixelUnshuffle", "Unflatten"]


class _Reshape(Module):
    def init(self, key: jax.Array) -> Params:
        del key
        return {}


def _positive(layer: Module, name: str, value: int) -> None:
    if not isinstance(value, int) or value <= 0:
        raise ConfigError(
            f"{type(layer).__name__}({value!r}): {name} must be a positive int; give one"
        )


@dataclass(frozen=True)
class Unflatten(_Reshape):
    """torch's ``nn.Unflatten``: split axis ``dim`` into ``unflattened_size`` (one may be ``-1``).

    Args:
        dim: the axis to split.
        unflattened_size: the new axes' sizes (a list, tuple or ``torch.Size``).

    Example:
        >>> import jax.numpy as jnp
        >>> Unflatten(1, (2, 5)).apply({}, jnp.ones((3, 10))).shape
        (3, 2, 5)
    """

    dim: int
    unflattened_size: Sequence[int]

    def __post_init__(self) -> None:
        size = self.unflattened_size
        if not isinstance(size, list | tuple) or not all(isinstance(s, int) for s in size):
            raise ConfigError(
                f"Unflatten({self.dim}, {size!r}): unflattened_size must be a tuple or list of "
                "ints; give the new axes' sizes, such as (2, 5)"
            )
        object.__setattr__(self, "unflattened_size", tuple(size))  # hashable: a static value

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("Unflatten"):
            return F.unflatten(x, self.dim, self.unflattened_size)


@dataclass(frozen=True)
class PixelShuffle(_Reshape):
    """torch's ``nn.PixelShuffle``: ``(*, C r², H, W)`` to ``(*, C, H r, W r)`` (sub-pixel convolution).

    Args:
        upscale_factor: ``r``.

    Example:
        >>> import jax.numpy as jnp
        >>> PixelShuffle(3).apply({}, jnp.ones((1, 18, 4, 4))).shape
        (1, 2, 12, 12)
    """

    upscale_factor: int

    def __post_init__(self) -> None:
        _positive(self, "upscale_factor", self.upscale_factor)

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("PixelShuffle"):
            return F.pixel_shuffle(x, self.upscale_factor)


@dataclass(frozen=True)
class PixelUnshuffle(_Reshape):
    """torch's ``nn.PixelUnshuffle``, the inverse of :class:`PixelShuffle`.

    Args:
        downscale_factor: ``r``.

    Example:
        >>> import jax.numpy as jnp
        >>> PixelUnshuffle(2).apply({}, jnp.ones((1, 2, 4, 6))).shape
        (1, 8, 2, 3)
    """

    downscale_factor: int

    def __post_init__(self) -> None:
        _positive(self, "downscale_factor", self.downscale_factor)

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("PixelUnshuffle"):
            return F.pixel_unshuffle(x, self.downscale_factor)


@dataclass(frozen=True)
class ChannelShuffle(_Reshape):
    """torch's ``nn.ChannelShuffle``: interleave ``groups`` groups of channels of ``(N, C, *)``.

    Args:
        groups: how many groups the channels are split into; it divides ``C``.

    Example:
        >>> import jax.numpy as jnp
        >>> ChannelShuffle(2).apply({}, jnp.arange(4.0).reshape(1, 4, 1)).ravel().tolist()
        [0.0, 2.0, 1.0, 3.0]
    """

    groups: int

    def __post_init__(self) -> None:
        _positive(self, "groups", self.groups)

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("ChannelShuffle"):
            return F.channel_shuffle(x, self.groups)
