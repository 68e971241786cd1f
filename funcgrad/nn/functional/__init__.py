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

# Each module lists its functions in its own __all__ (one concept per module, torch's names), so a
# new function is added in one place: its module.
from funcgrad.nn.functional import (
    _activation,
    _attention,
    _conv,
    _dropout,
    _embedding,
    _linear,
    _norm,
    _pool,
    _recurrent,
    _shape,
)
from funcgrad.nn.functional._activation import *  # noqa: F403
from funcgrad.nn.functional._attention import *  # noqa: F403
from funcgrad.nn.functional._conv import *  # noqa: F403
from funcgrad.nn.functional._dropout import *  # noqa: F403
from funcgrad.nn.functional._embedding import *  # noqa: F403
from funcgrad.nn.functional._linear import *  # noqa: F403
from funcgrad.nn.functional._norm import *  # noqa: F403
from funcgrad.nn.functional._pool import *  # noqa: F403
from funcgrad.nn.functional._recurrent import *  # noqa: F403
from funcgrad.nn.functional._shape import *  # noqa: F403

__all__ = [
    *_activation.__all__,
    *_attention.__all__,
    *_conv.__all__,
    *_dropout.__all__,
    *_embedding.__all__,
    *_linear.__all__,
    *_norm.__all__,
    *_pool.__all__,
    *_recurrent.__all__,
    *_shape.__all__,
]
