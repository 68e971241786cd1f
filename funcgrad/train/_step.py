"""The jitted train step (``jax.value_and_grad`` + optax), and a whole epoch fused with ``lax.scan``.

Both take the full training arrays plus the indices of a batch, so the gather happens inside the
compiled program instead of as a separate dispatch per step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import optax

from funcgrad.nn import Module, Params

__all__ = ["batch_loss", "make_epoch", "make_step"]

Loss = Callable[[jax.Array, jax.Array], jax.Array]
Step = Callable[..., tuple[Params, Any, jax.Array]]


def batch_loss(model: Module, loss: Loss) -> Callable[[Params, jax.Array, jax.Array], jax.Array]:
    """Mean loss of a batch: the one-example model, batched with ``vmap``.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> f = batch_loss(fg.models.LinearRegression(), fg.losses.mse_loss)
        >>> float(f({"w": jnp.array(1.0)}, jnp.array([1.0, 2.0]), jnp.array([2.0, 4.0])))
        2.5
    """

    def mean_loss(params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
        return loss(jax.vmap(model.apply, in_axes=(None, 0))(params, x), y)

    return mean_loss


def _update(model: Module, loss: Loss, optimizer: optax.GradientTransformation) -> Step:
    value_and_grad = jax.value_and_grad(batch_loss(model, loss))

    def update(params, opt_state, x, y, idx):
        value, grads = value_and_grad(params, x[idx], y[idx])
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return update


def make_step(model: Module, loss: Loss, optimizer: optax.GradientTransformation) -> Step:
    """``step(params, opt_state, x, y, idx) -> (params, opt_state, loss)`` for the batch ``x[idx]``.

    Example:
        >>> import jax.numpy as jnp, optax, funcgrad as fg
        >>> model, opt = fg.models.LinearRegression(), optax.sgd(0.01)
        >>> step = make_step(model, fg.losses.mse_loss, opt)
        >>> x = jnp.array([1.0, 2.0, 3.0, 4.0])
        >>> p, s, loss = step({"w": jnp.array(0.0)}, opt.init({"w": 0.0}), x, 2 * x, jnp.arange(4))
        >>> round(float(p["w"]), 3), float(loss)  # the notes' first step
        (0.3, 30.0)
    """
    return jax.jit(_update(model, loss, optimizer))


def make_epoch(model: Module, loss: Loss, optimizer: optax.GradientTransformation) -> Step:
    """``epoch(params, opt_state, x, y, batches) -> (params, opt_state, losses)``: one compiled scan.

    ``batches`` is ``(steps, batch_size)``; ``losses`` holds each step's loss. Fusing the epoch
    removes the per-step dispatch, which dominates for small models on CPU.

    Example:
        >>> import jax.numpy as jnp, optax, funcgrad as fg
        >>> model, opt = fg.models.LinearRegression(), optax.sgd(0.01)
        >>> epoch = make_epoch(model, fg.losses.mse_loss, opt)
        >>> x = jnp.array([1.0, 2.0, 3.0, 4.0])
        >>> p, s, losses = epoch({"w": jnp.array(0.0)}, opt.init({"w": 0.0}), x, 2 * x,
        ...                      jnp.tile(jnp.arange(4), (2, 1)))
        >>> losses.shape
        (2,)
    """
    update = _update(model, loss, optimizer)

    def epoch(params, opt_state, x, y, batches):
        def body(carry, idx):
            params, opt_state, value = update(*carry, x, y, idx)
            return (params, opt_state), value

        (params, opt_state), values = jax.lax.scan(body, (params, opt_state), batches)
        return params, opt_state, values

    return jax.jit(epoch)
