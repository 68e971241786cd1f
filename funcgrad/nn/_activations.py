"""Layers without parameters: activations and ``Flatten``. Their params are ``{}``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._module import Module, Params

__all__ = ["Flatten", "ReLU", "Sigmoid", "Tanh"]


class _Stateless(Module):
    def init(self, key: jax.Array) -> Params:
        del key
        return {}


class _Elementwise(_Stateless):
    # The pure function this layer wraps; a staticmethod so it is not bound to the instance.
    fn: ClassVar[Callable[[jax.Array], jax.Array]]

    def apply(self, params: Params, x: jax.Array) -> jax.Array:
        return self.fn(x)


@dataclass(frozen=True)
class ReLU(_Elementwise):
    """``max(x, 0)`` as a layer.

    Example:
        >>> import jax.numpy as jnp
        >>> ReLU().apply({}, jnp.array([-1.0, 1.0])).tolist()
        [0.0, 1.0]
    """

    fn = staticmethod(F.relu)


@dataclass(frozen=True)
class Tanh(_Elementwise):
    """``tanh(x)`` as a layer.

    Example:
        >>> import jax.numpy as jnp
        >>> float(Tanh().apply({}, jnp.array(0.0)))
        0.0
    """

    fn = staticmethod(F.tanh)


@dataclass(frozen=True)
class Sigmoid(_Elementwise):
    """``1 / (1 + exp(-x))`` as a layer.

    Example:
        >>> import jax.numpy as jnp
        >>> float(Sigmoid().apply({}, jnp.array(0.0)))
        0.5
    """

    fn = staticmethod(F.sigmoid)


@dataclass(frozen=True)
class Flatten(_Stateless):
    """Merge axes ``start_dim..end_dim``; the default keeps axis 0 as the batch, as in torch.

    Example:
        >>> import jax.numpy as jnp
        >>> Flatten().apply({}, jnp.ones((2, 3, 4))).shape
        (2, 12)
    """

    start_dim: int = 1
    end_dim: int = -1

    def apply(self, params: Params, x: jax.Array) -> jax.Array:
        return F.flatten(x, self.start_dim, self.end_dim)
