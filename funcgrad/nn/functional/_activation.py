"""Element-wise activations, as in ``torch.nn.functional``."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["relu", "sigmoid", "tanh"]


def relu(x: jax.Array) -> jax.Array:
    """``max(x, 0)``; the derivative at 0 is 0, as in PyTorch.

    Example:
        >>> relu(jnp.array([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """
    return jax.nn.relu(x)


def tanh(x: jax.Array) -> jax.Array:
    """Hyperbolic tangent.

    Example:
        >>> float(tanh(jnp.array(0.0)))
        0.0
    """
    return jnp.tanh(x)


def sigmoid(x: jax.Array) -> jax.Array:
    """Logistic sigmoid ``1 / (1 + exp(-x))``.

    Example:
        >>> float(sigmoid(jnp.array(0.0)))
        0.5
    """
    return jax.nn.sigmoid(x)
