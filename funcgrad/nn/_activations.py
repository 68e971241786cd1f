"""Layers without parameters: activations, ``Identity`` and ``Flatten``. Their params are ``{}``.

torch's ``inplace=`` flags are accepted and ignored: JAX arrays are immutable, so every layer
returns a new array either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._module import Module, Params

__all__ = [
    "ELU",
    "GELU",
    "Flatten",
    "Identity",
    "LeakyReLU",
    "LogSoftmax",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
]


class _Stateless(Module):
    def init(self, key: jax.Array) -> Params:
        del key
        return {}


class _Elementwise(_Stateless):
    # The pure function this layer wraps; a staticmethod so it is not bound to the instance.
    fn: ClassVar[staticmethod[[jax.Array], jax.Array]]

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        return self.fn(x)


@dataclass(frozen=True)
class ReLU(_Elementwise):
    """``max(x, 0)`` as a layer; gradient 0 at 0 and passed through at NaN, as torch.

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
class SiLU(_Elementwise):
    """``x * sigmoid(x)`` as a layer (``inplace`` is ignored).

    Example:
        >>> import jax.numpy as jnp
        >>> float(SiLU().apply({}, jnp.array(0.0)))
        0.0
    """

    inplace: bool = False
    fn = staticmethod(F.silu)


@dataclass(frozen=True)
class GELU(_Stateless):
    """``x * Phi(x)``; ``approximate="tanh"`` is torch's tanh approximation.

    Example:
        >>> import jax.numpy as jnp
        >>> float(GELU("tanh").apply({}, jnp.array(0.0)))
        0.0
    """

    approximate: Literal["none", "tanh"] = "none"

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        return F.gelu(x, self.approximate)


@dataclass(frozen=True)
class LeakyReLU(_Stateless):
    """``x`` where positive, ``negative_slope * x`` elsewhere (``inplace`` is ignored).

    Example:
        >>> import jax.numpy as jnp
        >>> LeakyReLU(0.1).apply({}, jnp.array([-10.0, 1.0])).tolist()
        [-1.0, 1.0]
    """

    negative_slope: float = 0.01
    inplace: bool = False

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        return F.leaky_relu(x, self.negative_slope)


@dataclass(frozen=True)
class ELU(_Stateless):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere (``inplace`` is ignored).

    Example:
        >>> import jax.numpy as jnp
        >>> ELU().apply({}, jnp.array([0.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    alpha: float = 1.0
    inplace: bool = False

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        return F.elu(x, self.alpha)


@dataclass(frozen=True)
class Softmax(_Stateless):
    """Softmax over ``dim``; ``dim=None`` follows torch's implicit (deprecated) choice and warns.

    Example:
        >>> import jax.numpy as jnp
        >>> Softmax(dim=-1).apply({}, jnp.zeros((1, 4))).tolist()
        [[0.25, 0.25, 0.25, 0.25]]
    """

    dim: int | None = None

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        return F.softmax(x, self.dim)


@dataclass(frozen=True)
class LogSoftmax(_Stateless):
    """Log of the softmax over ``dim`` (computed stably); ``dim=None`` as :class:`Softmax`.

    Example:
        >>> import jax.numpy as jnp
        >>> LogSoftmax(dim=1).apply({}, jnp.zeros((1, 1))).tolist()
        [[0.0]]
    """

    dim: int | None = None

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        return F.log_softmax(x, self.dim)


@dataclass(frozen=True, init=False)
class Identity(_Stateless):
    """Returns its input; like torch's, it accepts and ignores any constructor arguments.

    Example:
        >>> import jax.numpy as jnp
        >>> Identity(54, unused="x").apply({}, jnp.ones(2)).tolist()
        [1.0, 1.0]
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        del args, kwargs

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        return x


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

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        return F.flatten(x, self.start_dim, self.end_dim)
