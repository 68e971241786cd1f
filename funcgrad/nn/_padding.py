"""Padding layers: ``ReflectionPad``, ``ReplicationPad``, ``ZeroPad``, ``ConstantPad`` and
``CircularPad``, each in 1-D, 2-D and 3-D, as torch's.

Every class is ``F.pad`` with its mode and torch's ``padding``: an int (the same on every side) or
``2 * nd`` ints, last axis first (``(left, right, top, bottom, front, back)``); negative entries
crop. The 1-D, 2-D and 3-D classes differ only in ``nd``; the five families only in their mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._conv import layer_errors
from funcgrad.nn._module import ConfigError, Module, Params
from funcgrad.nn.functional._conv import IntOrTuple
from funcgrad.nn.functional._padding import PadMode

__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]


@dataclass(frozen=True)
class _PadNd(Module):
    padding: IntOrTuple

    nd: ClassVar[int]
    mode: ClassVar[PadMode]

    def __post_init__(self) -> None:
        p = self.padding
        ok = isinstance(p, int) or (
            isinstance(p, tuple | list)
            and len(p) == 2 * self.nd
            and all(isinstance(v, int) for v in p)
        )
        if not ok:
            raise ConfigError(
                f"{type(self).__name__}: padding must be an int or {2 * self.nd} ints (last axis "
                f"first: left, right, ...), got {p!r}"
            )

    @property
    def pads(self) -> tuple[int, ...]:
        """torch's ``padding`` attribute: ``2 * nd`` ints, last axis first."""
        p = self.padding
        return (p,) * (2 * self.nd) if isinstance(p, int) else tuple(p)

    @property
    def fill(self) -> float | None:
        return None

    def init(self, key: jax.Array) -> Params:
        del key
        return {}

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        name = type(self).__name__
        with layer_errors(name):
            if self.mode != "constant" and x.ndim not in (self.nd + 1, self.nd + 2):
                raise ValueError(  # torch's words, as its _CircularPadNd says them
                    f"expected {self.nd + 1}D or {self.nd + 2}D input (got {x.ndim}D input)"
                )
            return F.pad(x, self.pads, self.mode, self.fill)


@dataclass(frozen=True)
class _ConstantPadNd(_PadNd):
    value: float = 0.0

    mode: ClassVar[PadMode] = "constant"

    @property
    def fill(self) -> float | None:
        return self.value


@dataclass(frozen=True)
class _ZeroPadNd(_PadNd):
    mode: ClassVar[PadMode] = "constant"


@dataclass(frozen=True)
class ReflectionPad1d(_PadNd):
    """Pad by mirroring the input about its edges, as ``torch.nn.ReflectionPad1d``, on ``(N, C, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 2 ints ``(left, right)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> ReflectionPad1d((2, 1)).apply({}, jnp.arange(3.0).reshape(1, 1, 3))[0, 0].tolist()
        [2.0, 1.0, 0.0, 1.0, 2.0, 1.0]

    """

    nd: ClassVar[int] = 1
    mode: ClassVar[PadMode] = "reflect"


@dataclass(frozen=True)
class ReflectionPad2d(_PadNd):
    """Pad by mirroring the input about its edges, as ``torch.nn.ReflectionPad2d``, on ``(N, C, H, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 4 ints ``(left, right, top, bottom)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> ReflectionPad2d((2, 1, 1, 0)).apply({}, jnp.ones((1, 1, 2, 3))).shape
        (1, 1, 3, 6)

    """

    nd: ClassVar[int] = 2
    mode: ClassVar[PadMode] = "reflect"


@dataclass(frozen=True)
class ReflectionPad3d(_PadNd):
    """Pad by mirroring the input about its edges, as ``torch.nn.ReflectionPad3d``, on ``(N, C, D, H, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 6 ints ``(left, right, top, bottom, front, back)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> ReflectionPad3d((2, 1, 1, 0, 1, 0)).apply({}, jnp.ones((1, 1, 2, 2, 3))).shape
        (1, 1, 3, 3, 6)

    """

    nd: ClassVar[int] = 3
    mode: ClassVar[PadMode] = "reflect"


@dataclass(frozen=True)
class ReplicationPad1d(_PadNd):
    """Pad by repeating the input's edge values, as ``torch.nn.ReplicationPad1d``, on ``(N, C, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 2 ints ``(left, right)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> ReplicationPad1d((2, 1)).apply({}, jnp.arange(3.0).reshape(1, 1, 3))[0, 0].tolist()
        [0.0, 0.0, 0.0, 1.0, 2.0, 2.0]

    """

    nd: ClassVar[int] = 1
    mode: ClassVar[PadMode] = "replicate"


@dataclass(frozen=True)
class ReplicationPad2d(_PadNd):
    """Pad by repeating the input's edge values, as ``torch.nn.ReplicationPad2d``, on ``(N, C, H, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 4 ints ``(left, right, top, bottom)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> ReplicationPad2d((2, 1, 1, 0)).apply({}, jnp.ones((1, 1, 2, 3))).shape
        (1, 1, 3, 6)

    """

    nd: ClassVar[int] = 2
    mode: ClassVar[PadMode] = "replicate"


@dataclass(frozen=True)
class ReplicationPad3d(_PadNd):
    """Pad by repeating the input's edge values, as ``torch.nn.ReplicationPad3d``, on ``(N, C, D, H, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 6 ints ``(left, right, top, bottom, front, back)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> ReplicationPad3d((2, 1, 1, 0, 1, 0)).apply({}, jnp.ones((1, 1, 2, 2, 3))).shape
        (1, 1, 3, 3, 6)

    """

    nd: ClassVar[int] = 3
    mode: ClassVar[PadMode] = "replicate"


@dataclass(frozen=True)
class CircularPad1d(_PadNd):
    """Pad by wrapping the input around (periodic), as ``torch.nn.CircularPad1d``, on ``(N, C, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 2 ints ``(left, right)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> CircularPad1d((2, 1)).apply({}, jnp.arange(3.0).reshape(1, 1, 3))[0, 0].tolist()
        [1.0, 2.0, 0.0, 1.0, 2.0, 0.0]

    """

    nd: ClassVar[int] = 1
    mode: ClassVar[PadMode] = "circular"


@dataclass(frozen=True)
class CircularPad2d(_PadNd):
    """Pad by wrapping the input around (periodic), as ``torch.nn.CircularPad2d``, on ``(N, C, H, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 4 ints ``(left, right, top, bottom)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> CircularPad2d((2, 1, 1, 0)).apply({}, jnp.ones((1, 1, 2, 3))).shape
        (1, 1, 3, 6)

    """

    nd: ClassVar[int] = 2
    mode: ClassVar[PadMode] = "circular"


@dataclass(frozen=True)
class CircularPad3d(_PadNd):
    """Pad by wrapping the input around (periodic), as ``torch.nn.CircularPad3d``, on ``(N, C, D, H, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 6 ints ``(left, right, top, bottom, front, back)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> CircularPad3d((2, 1, 1, 0, 1, 0)).apply({}, jnp.ones((1, 1, 2, 2, 3))).shape
        (1, 1, 3, 3, 6)

    """

    nd: ClassVar[int] = 3
    mode: ClassVar[PadMode] = "circular"


@dataclass(frozen=True)
class ZeroPad1d(_ZeroPadNd):
    """Pad with zeros (negative pads crop), as ``torch.nn.ZeroPad1d``, on ``(N, C, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 2 ints ``(left, right)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> ZeroPad1d((2, -1)).apply({}, jnp.arange(3.0).reshape(1, 1, 3))[0, 0].tolist()
        [0.0, 0.0, 0.0, 1.0]

    """

    nd: ClassVar[int] = 1


@dataclass(frozen=True)
class ZeroPad2d(_ZeroPadNd):
    """Pad with zeros (negative pads crop), as ``torch.nn.ZeroPad2d``, on ``(N, C, H, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 4 ints ``(left, right, top, bottom)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> ZeroPad2d((2, -1, 1, 0)).apply({}, jnp.ones((1, 1, 2, 3))).shape
        (1, 1, 3, 4)

    """

    nd: ClassVar[int] = 2


@dataclass(frozen=True)
class ZeroPad3d(_ZeroPadNd):
    """Pad with zeros (negative pads crop), as ``torch.nn.ZeroPad3d``, on ``(N, C, D, H, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 6 ints ``(left, right, top, bottom, front, back)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> ZeroPad3d((2, -1, 1, 0, 1, 0)).apply({}, jnp.ones((1, 1, 2, 2, 3))).shape
        (1, 1, 3, 3, 4)

    """

    nd: ClassVar[int] = 3


@dataclass(frozen=True)
class ConstantPad1d(_ConstantPadNd):
    """Pad with a constant ``value``, as ``torch.nn.ConstantPad1d``, on ``(N, C, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 2 ints ``(left, right)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> ConstantPad1d((2, -1), 5.0).apply({}, jnp.arange(3.0).reshape(1, 1, 3))[0, 0].tolist()
        [5.0, 5.0, 0.0, 1.0]

    """

    nd: ClassVar[int] = 1


@dataclass(frozen=True)
class ConstantPad2d(_ConstantPadNd):
    """Pad with a constant ``value``, as ``torch.nn.ConstantPad2d``, on ``(N, C, H, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 4 ints ``(left, right, top, bottom)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> ConstantPad2d((2, -1, 1, 0), 5.0).apply({}, jnp.ones((1, 1, 2, 3))).shape
        (1, 1, 3, 4)

    """

    nd: ClassVar[int] = 2


@dataclass(frozen=True)
class ConstantPad3d(_ConstantPadNd):
    """Pad with a constant ``value``, as ``torch.nn.ConstantPad3d``, on ``(N, C, D, H, W)`` or one unbatched example.

    Args:
        padding: an int for every side, or 6 ints ``(left, right, top, bottom, front, back)``; negative crops.

    Example:
        >>> import jax.numpy as jnp
        >>> ConstantPad3d((2, -1, 1, 0, 1, 0), 5.0).apply({}, jnp.ones((1, 1, 2, 2, 3))).shape
        (1, 1, 3, 3, 4)

    """

    nd: ClassVar[int] = 3
