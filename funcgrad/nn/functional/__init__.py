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

from funcgrad.nn.functional._activation import (
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    tanh,
)
from funcgrad.nn.functional._conv import conv1d, conv2d
from funcgrad.nn.functional._dropout import dropout, dropout2d
from funcgrad.nn.functional._embedding import embedding
from funcgrad.nn.functional._linear import linear
from funcgrad.nn.functional._norm import batch_norm, group_norm, layer_norm
from funcgrad.nn.functional._pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from funcgrad.nn.functional._shape import flatten

__all__ = [
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm",
    "conv1d",
    "conv2d",
    "dropout",
    "dropout2d",
    "elu",
    "embedding",
    "flatten",
    "gelu",
    "group_norm",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "relu",
    "sigmoid",
    "silu",
    "softmax",
    "tanh",
]
