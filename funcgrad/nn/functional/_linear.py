"""``linear``: torch's ``F.linear`` with the ``(out, in)`` weight layout."""

from __future__ import annotations

import jax

__all__ = ["linear"]


def linear(input: jax.Array, weight: jax.Array, bias: jax.Array | None = None) -> jax.Array:
    """``input @ weight.T + bias`` with torch's ``(out, in)`` weight layout.

    Args:
        input: ``(*, in_features)``.
        weight: ``(out_features, in_features)``, torch's layout.
        bias: ``(out_features,)``, or ``None``.

    Returns:
        ``(*, out_features)``.

    Example:
        >>> import jax.numpy as jnp
        >>> linear(jnp.ones((4, 3)), jnp.ones((2, 3))).shape
        (4, 2)
    """
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {tuple(input.shape)} must end in {weight.shape[1]} features to "
            f"match weight {tuple(weight.shape)}; reshape the input or build Linear({_last(input)}, "
            f"{weight.shape[0]})"
        )
    y = input @ weight.T
    # Explicit leading axes: funcgrad works under jax_numpy_rank_promotion="raise".
    return y if bias is None else y + bias.reshape((1,) * (y.ndim - 1) + bias.shape)


def _last(x: jax.Array) -> int | str:
    return x.shape[-1] if x.ndim else "?"
