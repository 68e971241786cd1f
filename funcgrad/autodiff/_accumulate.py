"""Gradient accumulation as an explicit sum of pytrees.

In PyTorch ``backward()`` *adds* into ``.grad``, so a training loop must call ``zero_()`` (or
``optimizer.zero_grad()``) before each step. Functional gradients are return values: accumulating
over micro-batches is a sum you write, and there is nothing to zero.
"""

from __future__ import annotations

import jax

from funcgrad._typing import PyTree

__all__ = ["accumulate"]


def accumulate(*grads: PyTree) -> PyTree:
    """The leaf-wise sum of gradient pytrees with the same structure.

    Example (the notes' accumulation loop: 3 ``backward()`` calls on ``sum(3 w + 1)``):
        >>> import jax, jax.numpy as jnp
        >>> g = jax.grad(lambda w: (w * 3 + 1).sum())
        >>> w = jnp.ones(4)
        >>> accumulate(g(w), g(w), g(w)).tolist()  # what .grad holds without zero_()
        [9.0, 9.0, 9.0, 9.0]
    """
    if not grads:
        raise ValueError("accumulate: give at least one gradient pytree")
    return jax.tree_util.tree_map(lambda *leaves: sum(leaves[1:], leaves[0]), *grads)
