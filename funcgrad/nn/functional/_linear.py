"""``linear`` and ``bilinear``: torch's ``F.linear`` and ``F.bilinear``, with torch's weight layouts."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["bilinear", "linear"]


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


def bilinear(
    input1: jax.Array, input2: jax.Array, weight: jax.Array, bias: jax.Array | None = None
) -> jax.Array:
    """``y[..., o] = sum_ij input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]``.

    Args:
        input1: ``(*, in1_features)``.
        input2: ``(*, in2_features)``, with the same leading axes as ``input1``.
        weight: ``(out_features, in1_features, in2_features)``, torch's layout.
        bias: ``(out_features,)``, or ``None``.

    Returns:
        ``(*, out_features)``.

    Example:
        >>> import jax.numpy as jnp
        >>> bilinear(jnp.ones((4, 2)), jnp.ones((4, 3)), jnp.ones((5, 2, 3))).shape
        (4, 5)
    """
    if input1.ndim != input2.ndim:
        raise ValueError(
            f"bilinear: input dimensions do not match: got {input1.ndim} and {input2.ndim}"
        )
    if input1.shape[:-1] != input2.shape[:-1]:
        raise ValueError(
            f"bilinear: input batch dimensions do not match: got {input1.shape[:-1]} and "
            f"{input2.shape[:-1]}"
        )
    if weight.ndim != 3 or input1.shape[-1:] != weight.shape[1:2]:
        raise ValueError(
            f"bilinear: input1 of shape {tuple(input1.shape)} must end in weight.shape[1] "
            f"features (weight {tuple(weight.shape)})"
        )
    if input2.shape[-1:] != weight.shape[2:]:
        raise ValueError(
            f"bilinear: input2 of shape {tuple(input2.shape)} must end in weight.shape[2] "
            f"features (weight {tuple(weight.shape)})"
        )
    y = jnp.einsum("...i,oij,...j->...o", input1, weight, input2)
    return y if bias is None else y + bias.reshape((1,) * (y.ndim - 1) + bias.shape)
