"""Dropout layers: torch's ``Dropout`` and ``Dropout2d``, the mask drawn from an explicit key."""

from __future__ import annotations

from dataclasses import dataclass

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._module import Buffers, ConfigError, Module, ModuleError, Params

__all__ = ["Dropout", "Dropout2d"]


@dataclass(frozen=True)
class _Dropout(Module):
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
                "key= to apply (model.apply(params, x, train=True, key=jax.random.PRNGKey(0)))"
            )
        fn = F.dropout if isinstance(self, Dropout) else F.dropout2d
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
        >>> y = drop.apply({}, jnp.ones(1000), train=True, key=jax.random.PRNGKey(0))
        >>> 400 < int((y == 2.0).sum()) < 600
        True
    """


@dataclass(frozen=True)
class Dropout2d(_Dropout):
    """torch's ``nn.Dropout2d``: in training zero whole channels of ``(N, C, H, W)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> y = Dropout2d(0.5).apply({}, jnp.ones((2, 8, 3, 3)), train=True, key=jax.random.PRNGKey(1))
        >>> bool((y.min(axis=(2, 3)) == y.max(axis=(2, 3))).all())
        True
    """
