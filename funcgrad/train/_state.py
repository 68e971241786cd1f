"""Everything a run needs to continue exactly where it stopped."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax

from funcgrad.nn import Params

__all__ = ["TrainState"]


class TrainState(NamedTuple):
    """Params, optimiser state, completed epochs, steps taken, and the key for the next shuffle.

    It is a pytree, so it saves and restores as one unit.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> s = TrainState({"w": jnp.zeros(2)}, (), jnp.array(0), jnp.array(0), jax.random.PRNGKey(0))
        >>> len(jax.tree.leaves(s))
        4
    """

    params: Params
    opt_state: Any
    epoch: jax.Array
    step: jax.Array
    key: jax.Array
