"""Resampling layers: torch's ``Upsample``, ``UpsamplingNearest2d`` and ``UpsamplingBilinear2d``.

Each is :func:`funcgrad.nn.functional.interpolate` with its arguments fixed; the arguments are
checked when the layer is built, so a bad one fails there, naming the layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._conv import layer_errors
from funcgrad.nn._module import ConfigError, Module, Params

__all__ = ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")


def _as_static(value: Any, cast: type) -> Any:
    """A list becomes a tuple (a layer is hashable); numbers become ``cast`` as torch stores them."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return tuple(cast(v) for v in value)
    return cast(value)


class _Resample(Module):
    size: int | Sequence[int] | None
    scale_factor: float | Sequence[float] | None

    def init(self, key: jax.Array) -> Params:
        del key
        return {}

    def _check(self, mode: str, align_corners: bool | None) -> None:
        name = type(self).__name__
        if self.size is not None and self.scale_factor is not None:
            raise ConfigError(
                f"{name}(size={self.size!r}, scale_factor={self.scale_factor!r}): only one of "
                "size or scale_factor should be defined; give one of them"
            )
        if mode not in _MODES:
            raise ConfigError(
                f"{name}(mode={mode!r}): unknown mode; use one of {', '.join(_MODES)}"
            )
        if align_corners is not None and mode in ("nearest", "nearest-exact", "area"):
            raise ConfigError(
                f"{name}(mode={mode!r}, align_corners={align_corners!r}): align_corners is only "
                "for linear, bilinear, bicubic and trilinear; leave it None"
            )
        object.__setattr__(self, "size", _as_static(self.size, int))
        object.__setattr__(self, "scale_factor", _as_static(self.scale_factor, float))


@dataclass(frozen=True)
class Upsample(_Resample):
    """torch's ``nn.Upsample``: :func:`~funcgrad.nn.functional.interpolate` as a layer.

    Args:
        size: the output's spatial size (an int for every axis, or one per axis).
        scale_factor: the spatial multiplier (a float for every axis, or one per axis).
        mode: ``nearest``, ``nearest-exact``, ``linear``, ``bilinear``, ``bicubic``,
            ``trilinear`` or ``area``.
        align_corners: for the interpolating modes, whether corner pixels' centres align.
        recompute_scale_factor: compute the coordinates from the output size, not
            ``scale_factor``.

    Example:
        >>> import jax.numpy as jnp
        >>> up = Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        >>> up.apply({}, jnp.array([[[[0.0, 3.0]]]])).tolist()
        [[[[0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0]]]]
    """

    size: int | Sequence[int] | None = None
    scale_factor: float | Sequence[float] | None = None
    mode: str = "nearest"
    align_corners: bool | None = None
    recompute_scale_factor: bool | None = None

    def __post_init__(self) -> None:
        self._check(self.mode, self.align_corners)

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("Upsample"):
            return F.interpolate(
                x,
                self.size,
                self.scale_factor,
                self.mode,  # type: ignore[arg-type]
                self.align_corners,
                recompute_scale_factor=self.recompute_scale_factor,
            )


@dataclass(frozen=True)
class UpsamplingNearest2d(_Resample):
    """torch's ``nn.UpsamplingNearest2d``: ``Upsample(size, scale_factor, mode="nearest")`` on
    ``(N, C, H, W)``.

    Args:
        size: the output's ``(H, W)`` (or one int for both).
        scale_factor: the spatial multiplier (one float, or one per axis).

    Example:
        >>> import jax.numpy as jnp
        >>> UpsamplingNearest2d(scale_factor=2).apply({}, jnp.ones((1, 3, 2, 2))).shape
        (1, 3, 4, 4)
    """

    size: int | Sequence[int] | None = None
    scale_factor: float | Sequence[float] | None = None

    mode: ClassVar[str] = "nearest"

    def __post_init__(self) -> None:
        self._check(self.mode, None)

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("UpsamplingNearest2d"):
            return F.upsample_nearest(x, self.size, self.scale_factor)


@dataclass(frozen=True)
class UpsamplingBilinear2d(_Resample):
    """torch's ``nn.UpsamplingBilinear2d``: ``Upsample(size, scale_factor, mode="bilinear",
    align_corners=True)`` on ``(N, C, H, W)``.

    Args:
        size: the output's ``(H, W)`` (or one int for both).
        scale_factor: the spatial multiplier (one float, or one per axis).

    Example:
        >>> import jax.numpy as jnp
        >>> UpsamplingBilinear2d(size=(1, 3)).apply({}, jnp.array([[[[0.0, 2.0]]]])).tolist()
        [[[[0.0, 1.0, 2.0]]]]
    """

    size: int | Sequence[int] | None = None
    scale_factor: float | Sequence[float] | None = None

    mode: ClassVar[str] = "bilinear"

    def __post_init__(self) -> None:
        self._check(self.mode, True)

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("UpsamplingBilinear2d"):
            return F.upsample_bilinear(x, self.size, self.scale_factor)
