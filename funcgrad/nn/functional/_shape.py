"""Shape functions: ``flatten``."""

from __future__ import annotations

import jax

__all__ = ["flatten"]


def flatten(x: jax.Array, start_dim: int = 0, end_dim: int = -1) -> jax.Array:
    """Merge axes ``start_dim..end_dim`` into one, as ``torch.flatten``.

    Example:
        >>> import jax.numpy as jnp
        >>> flatten(jnp.ones((2, 3, 4)), 1).shape
        (2, 12)
    """
    if x.ndim == 0:
        return x.reshape(1)
    start, end = start_dim % x.ndim, end_dim % x.ndim
    if start > end:
        raise ValueError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape "
            f"{tuple(x.shape)}"
        )
    return x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1 :])
