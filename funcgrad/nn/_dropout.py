"""Dropout layers: torch's ``Dropout``, ``Dropout1d``/``2d``/``3d``, ``AlphaDropout`` and
``FeatureAlphaDropout``, the mask drawn from an explicit key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._module import Buffers, ConfigError, Module, ModuleError, Params

__all__ = [
    "AlphaDropout",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "FeatureAlphaDropout",
]


@dataclass(frozen=True)
class _Dropout(Module):
    # the functional form (F.dropout, ...); a staticmethod so it is not bound to the instance
    fn: ClassVar[staticmethod[..., Any]]

    p: float = 0.5
    inplace: bool = False  # torch's signature; meaningless for a pure function, ignored

    def __post_init__(self) -> None:
        if not 0.0 <= self.p <= 1.0:
            raise ConfigError(
                f"{type(self).__name__}(p={self.p}): p is a probability; use 0 <= p <= 1"
            )

    def init(self, key: jax.Array) -> Params:
        del key
        return {}

    def forward(
        self, params: Params, x: jax.Array, *, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> tuple[jax.Array, Buffers]:
        del params
        if train and self.p > 0 and key is None:
            raise ModuleError(
                f"{type(self).__name__}(p={self.p}) in training draws a random mask; pass "
                "key= to apply (model.apply(params, x, train=True, key=jax.random.key(0)))"
            )
        fn: Callable[..., jax.Array] = self.fn
        try:
            return fn(x, self.p, train, key=key), buffers
        except ValueError as e:
            raise ModuleError(str(e)) from None


@dataclass(frozen=True)
class Dropout(_Dropout):
    """torch's ``nn.Dropout``: in training zero each entry with probability ``p``, scale by ``1/(1-p)``.

    Eval (``train=False``, the default) is the identity. ``inplace`` is accepted for torch's
    signature and means nothing here: a pure function never overwrites its input.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> drop = Dropout(0.5)
        >>> drop.apply({}, jnp.ones(4)).tolist()
        [1.0, 1.0, 1.0, 1.0]
        >>> y = drop.apply({}, jnp.ones(1000), train=True, key=jax.random.key(0))
        >>> 400 < int((y == 2.0).sum()) < 600
        True
    """

    fn = staticmethod(F.dropout)


@dataclass(frozen=True)
class Dropout2d(_Dropout):
    """torch's ``nn.Dropout2d``: in training zero whole channels of ``(N, C, H, W)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> y = Dropout2d(0.5).apply({}, jnp.ones((2, 8, 3, 3)), train=True, key=jax.random.key(1))
        >>> bool((y.min(axis=(2, 3)) == y.max(axis=(2, 3))).all())
        True
    """

    fn = staticmethod(F.dropout2d)


@dataclass(frozen=True)
class Dropout1d(_Dropout):
    """torch's ``nn.Dropout1d``: in training zero whole channels of ``(N, C, L)`` or ``(C, L)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> y = Dropout1d(0.5).apply({}, jnp.ones((2, 8, 5)), train=True, key=jax.random.key(1))
        >>> bool((y.min(axis=2) == y.max(axis=2)).all())
        True
    """

    fn = staticmethod(F.dropout1d)


@dataclass(frozen=True)
class Dropout3d(_Dropout):
    """torch's ``nn.Dropout3d``: in training zero whole channels of ``(N, C, D, H, W)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> x = jnp.ones((2, 8, 2, 2, 2))
        >>> y = Dropout3d(0.5).apply({}, x, train=True, key=jax.random.key(1))
        >>> bool((y.min(axis=(2, 3, 4)) == y.max(axis=(2, 3, 4))).all())
        True
    """

    fn = staticmethod(F.dropout3d)


@dataclass(frozen=True)
class AlphaDropout(_Dropout):
    """torch's ``nn.AlphaDropout``: dropout for SELU networks, keeping mean 0 and variance 1.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> x = jax.random.normal(jax.random.key(0), (100_000,))
        >>> y = AlphaDropout(0.2).apply({}, x, train=True, key=jax.random.key(1))
        >>> abs(round(float(y.mean()), 1)), round(float(y.std()), 1)
        (0.0, 1.0)
    """

    fn = staticmethod(F.alpha_dropout)


@dataclass(frozen=True)
class FeatureAlphaDropout(_Dropout):
    """torch's ``nn.FeatureAlphaDropout``: alpha dropout of whole channels of ``(N, C, *)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> x = jnp.ones((2, 8, 3))
        >>> y = FeatureAlphaDropout(0.5).apply({}, x, train=True, key=jax.random.key(1))
        >>> bool((y.min(axis=2) == y.max(axis=2)).all())
        True
    """

    fn = staticmethod(F.feature_alpha_dropout)
