"""The one contract every layer and model follows.

A module is a pair of pure functions::

    init(key) -> params          # a nested dict of arrays, named like torch's state_dict
    apply(params, x) -> y        # no hidden state: the same params and x give the same y

The module object itself holds only hyper-parameters (sizes, strides), never arrays. It is frozen and
hashable, so it can be closed over or passed as a static argument under ``jax.jit``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

import jax

__all__ = ["Batched", "Module", "Params"]

Params = dict[str, Any]
"""A nested dict of arrays: ``{"m0": {"weight": ..., "bias": ...}}``."""


class Module(abc.ABC):
    """Base of every layer and model: an ``(init, apply)`` pair of pure functions.

    Example:
        >>> import jax, jax.numpy as jnp, funcgrad as fg
        >>> layer = fg.nn.Linear(3, 2)
        >>> params = layer.init(jax.random.PRNGKey(0))
        >>> layer.apply(params, jnp.ones(3)).shape
        (2,)
    """

    @abc.abstractmethod
    def init(self, key: jax.Array) -> Params:
        """Draw fresh parameters from ``key``."""

    @abc.abstractmethod
    def apply(self, params: Params, x: jax.Array) -> jax.Array:
        """Run the module on ``x`` with ``params``."""


@dataclass(frozen=True)
class Batched(Module):
    """Map a one-example module over a leading batch axis with ``jax.vmap``.

    This is the functional answer to batch dimensions: write the model for one example, as the notes
    write ``mynet`` with ``x.view(-1)``, and let ``vmap`` add the batch axis. Parameters are shared
    across the batch (``in_axes=(None, 0)``).

    Example:
        >>> import jax, jax.numpy as jnp, funcgrad as fg
        >>> net = fg.nn.Batched(fg.models.MyNet(12, 5, 4, 3))
        >>> params = net.init(jax.random.PRNGKey(0))
        >>> net.apply(params, jnp.ones((8, 3, 2, 2))).shape
        (8, 3)
    """

    module: Module

    def init(self, key: jax.Array) -> Params:
        return self.module.init(key)

    def apply(self, params: Params, x: jax.Array) -> jax.Array:
        return jax.vmap(self.module.apply, in_axes=(None, 0))(params, x)
