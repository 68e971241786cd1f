"""Everything a run needs to continue exactly where it stopped."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax

from funcgrad.nn._module import Buffers, Params

__all__ = ["TrainState"]


class TrainState(NamedTuple):
    """Params, buffers, optimiser state, completed epochs, steps taken, and the run's next key.

    It is a pytree, so it saves and restores as one unit. ``key`` is split once per epoch into
    the next ``key`` and that epoch's key (shuffle and per-step keys), so it is all a resumed run
    needs to draw the same numbers as an unbroken one.

    Attributes:
        params: the model's params.
        buffers: the model's buffers (``{}`` when it has none).
        opt_state: the optimiser's state.
        epoch: the completed epochs.
        step: the steps taken.
        key: the run's next random key.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> s = TrainState({"w": jnp.zeros(2)}, {}, (), jnp.array(0), jnp.array(0),
        ...                jax.random.key(0))
        >>> len(jax.tree.leaves(s))
        4
    """

    params: Params
    buffers: Buffers
    opt_state: Any
    epoch: jax.Array
    step: jax.Array
    key: jax.Array
