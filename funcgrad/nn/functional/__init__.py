"""Pure functions behind the layers, in the spirit of ``torch.nn.functional``.

Each takes its weights as arguments and keeps no state, so ``jax.grad`` differentiates with respect
to any of them. Shapes follow PyTorch: ``linear`` acts on the last axis of ``(*, in)`` and ``conv2d``
on ``(N, C, H, W)`` or an unbatched ``(C, H, W)``.

Example:
    >>> import jax.numpy as jnp
    >>> from funcgrad.nn import functional as F
    >>> F.relu(F.linear(jnp.ones(2), jnp.eye(2), jnp.array([-2.0, 0.5]))).tolist()
    [0.0, 1.5]
"""

from __future__ import annotations

from funcgrad.nn.functional._activation import relu, sigmoid, tanh
from funcgrad.nn.functional._conv import conv2d
from funcgrad.nn.functional._linear import linear
from funcgrad.nn.functional._shape import flatten

__all__ = ["conv2d", "flatten", "linear", "relu", "sigmoid", "tanh"]
