"""The notes' one-weight regression ``f = w * x``, trained towards ``Y = 2X``."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from funcgrad.nn._init import default_dtype
from funcgrad.nn._module import Module, Params

__all__ = ["LinearRegression"]


@dataclass(frozen=True)
class LinearRegression(Module):
    """``f(x) = w * x`` with a scalar ``w`` that starts at ``w0`` (the notes use 0.0).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> model = LinearRegression()
        >>> params = model.init(jax.random.key(0))
        >>> params
        {'w': Array(0., dtype=float32)}
        >>> model.apply({"w": jnp.array(2.0)}, jnp.array([1.0, 2.0])).tolist()
        [2.0, 4.0]
    """

    w0: float = 0.0

    def init(self, key: jax.Array) -> Params:
        del key  # deterministic start, as in the notes
        return {"w": jnp.asarray(self.w0, dtype=default_dtype())}

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        return params["w"] * x
