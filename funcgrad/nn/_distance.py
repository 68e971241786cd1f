"""``CosineSimilarity`` and ``PairwiseDistance``: torch's two-input distance layers.

Both take two inputs, as torch's ``forward(x1, x2)`` does: ``layer.apply(params, x1, x2)``.
They have no parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._conv import layer_errors
from funcgrad.nn._module import Buffers, Module, ModuleError, Params

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class _TwoInputs(Module):
    """A parameter-free layer of two inputs; the second one missing is a one-line error."""

    def init(self, key: jax.Array) -> Params:
        del key
        return {}

    def between(self, x1: jax.Array, x2: jax.Array) -> jax.Array:
        raise NotImplementedError

    def forward(
        self,
        params: Params,
        x1: jax.Array,
        x2: jax.Array | None = None,
        *,
        buffers: Buffers,
        train: bool,
        key: jax.Array | None,
    ) -> tuple[jax.Array, Buffers]:
        name = type(self).__name__
        if x2 is None:
            raise ModuleError(f"{name} takes two inputs; call it as apply(params, x1, x2)")
        with layer_errors(name):
            return self.between(x1, x2), buffers


@dataclass(frozen=True)
class CosineSimilarity(_TwoInputs):
    """The cosine of the angle between ``x1`` and ``x2`` along ``dim`` (``F.cosine_similarity``).

    Example:
        >>> import jax.numpy as jnp
        >>> layer = CosineSimilarity(dim=0)
        >>> round(float(layer.apply({}, jnp.array([1.0, 1.0]), jnp.array([2.0, 2.0]))), 6)
        1.0
    """

    dim: int = 1
    eps: float = 1e-8

    def between(self, x1: jax.Array, x2: jax.Array) -> jax.Array:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


@dataclass(frozen=True)
class PairwiseDistance(_TwoInputs):
    """The ``p``-norm of ``x1 - x2 + eps`` over the last axis (``F.pairwise_distance``).

    ``apply(params, x1, x2)`` takes torch's two ``forward`` inputs.

    Args:
        p: the norm's order (``inf``, 0 and fractional orders too).
        eps: added to every difference, which keeps the norm away from 0.
        keepdim: keep the reduced axis, of size 1.

    Example:
        >>> import jax.numpy as jnp
        >>> d = PairwiseDistance(eps=0.0).apply({}, jnp.array([[3.0, 0.0]]), jnp.array([[0.0, 4.0]]))
        >>> d.tolist()
        [5.0]
    """

    p: float = 2.0
    eps: float = 1e-6
    keepdim: bool = False

    def between(self, x1: jax.Array, x2: jax.Array) -> jax.Array:
        return F.pairwise_distance(x1, x2, self.p, self.eps, self.keepdim)
