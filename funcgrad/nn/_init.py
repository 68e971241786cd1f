"""PyTorch's default initialisation, drawn from explicit keys.

``nn.Linear`` and ``nn.Conv2d`` call ``kaiming_uniform_(weight, a=sqrt(5))``, whose bound works out
to ``gain * sqrt(3 / fan_in)`` with ``gain = sqrt(2 / (1 + 5))``, i.e. ``1 / sqrt(fan_in)``. The bias
uses the same bound. Both are ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.typing import DTypeLike

__all__ = ["default_dtype", "torch_uniform"]


def default_dtype() -> jnp.dtype:
    """float32, or float64 when ``jax_enable_x64`` is on."""
    return jnp.dtype(jax.dtypes.canonicalize_dtype(jnp.float64))


def torch_uniform(
    key: jax.Array, shape: tuple[int, ...], fan_in: int, dtype: DTypeLike | None = None
) -> jax.Array:
    """Draw from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, torch's default for weights and biases.

    Example:
        >>> w = torch_uniform(jax.random.key(0), (3, 4), fan_in=4)
        >>> bool(jnp.all(jnp.abs(w) <= 0.5))
        True
    """
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    dtype = default_dtype() if dtype is None else dtype
    return jax.random.uniform(key, shape, dtype=dtype, minval=-bound, maxval=bound)
