"""Shape functions: ``flatten``."""

from __future__ import annotations

import math

import jax

__all__ = ["flatten"]


def flatten(input: jax.Array, start_dim: int = 0, end_dim: int = -1) -> jax.Array:
    """Merge axes ``start_dim..end_dim`` into one, as ``torch.flatten`` (empty batches too).

    Args:
        input: the array to flatten.
        start_dim: the first axis to merge (negative counts from the end).
        end_dim: the last axis to merge (negative counts from the end).

    Returns:
        ``input`` reshaped, with axes ``start_dim..end_dim`` merged into one.

    Example:
        >>> import jax.numpy as jnp
        >>> flatten(jnp.ones((2, 3, 4)), 1).shape, flatten(jnp.ones((0, 3, 4, 5)), 1).shape
        ((2, 12), (0, 60))
    """
    if input.ndim == 0:
        return input.reshape(1)
    start, end = start_dim % input.ndim, end_dim % input.ndim
    if start > end:
        raise ValueError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape "
            f"{tuple(input.shape)}"
        )
    # The merged size written out: reshape's -1 cannot be inferred when another axis is 0.
    merged = math.prod(input.shape[start : end + 1])
    return input.reshape(input.shape[:start] + (merged,) + input.shape[end + 1 :])
