"""``embedding``: a lookup of rows of ``weight``, as ``torch.nn.functional.embedding``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["embedding"]


def embedding(input: jax.Array, weight: jax.Array, padding_idx: int | None = None) -> jax.Array:
    """Rows ``weight[input]``; the ``padding_idx`` row gets no gradient, as in torch.

    Indices outside ``[0, num_embeddings)`` raise in an eager call. Under ``jax.jit``, where a
    value cannot raise, their rows come out as NaN (never a silently clamped row).

    Args:
        input: integer indices, of any shape.
        weight: the ``(num_embeddings, embedding_dim)`` table.
        padding_idx: a row that gets no gradient, or ``None``.

    Returns:
        ``weight[input]``, of shape ``(*input.shape, embedding_dim)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> w = jnp.arange(6.0).reshape(3, 2)
        >>> embedding(jnp.array([[2, 0]]), w).tolist()
        [[[4.0, 5.0], [0.0, 1.0]]]
        >>> jax.grad(lambda w: embedding(jnp.array([0, 1]), w, padding_idx=0).sum())(w).tolist()
        [[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    """
    num = weight.shape[0]
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be (num_embeddings, dim), got {weight.shape}")
    if not jnp.issubdtype(jnp.result_type(input), jnp.integer):
        raise ValueError(
            f"embedding: input must hold integer indices, got {jnp.result_type(input)}"
        )
    if not isinstance(input, jax.core.Tracer):
        idx = np.asarray(input)
        if idx.size and (idx.min() < 0 or idx.max() >= num):
            bad = idx[(idx < 0) | (idx >= num)].ravel()[0]
            raise ValueError(
                f"embedding: index {bad} is out of range for {num} embeddings; "
                f"use indices in [0, {num}) or a larger num_embeddings"
            )
    # take() would wrap negative indices; send them out of range too, so they fill with NaN.
    index = jnp.where(input < 0, num, input)
    rows = jnp.take(weight, index, axis=0, mode="fill", fill_value=jnp.nan)
    if padding_idx is None:
        return rows
    pad = padding_idx % num if padding_idx < 0 else padding_idx
    frozen = jnp.take(jax.lax.stop_gradient(weight), index, axis=0, mode="fill", fill_value=jnp.nan)
    return jnp.where((index == pad)[..., None], frozen, rows)
