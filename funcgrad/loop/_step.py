"""The train step (``jax.value_and_grad`` + optax), and a whole epoch fused with ``lax.scan``.

Both take the full training arrays plus the indices of a batch, so the gather happens inside the
compiled program instead of as a separate dispatch per step. The model is applied to the whole
batch in training mode, with its buffers and the step's key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import optax

from funcgrad.loop._batches import step_key
from funcgrad.nn import Module
from funcgrad.nn._module import Buffers, Params

__all__ = ["batch_loss", "make_epoch", "make_step"]

Loss = Callable[[Any, Any], jax.Array]
Jit = Callable[..., Callable[..., Any]]
Step = Callable[..., tuple[Params, Buffers, Any, jax.Array]]


def batch_loss(model: Module, loss: Loss) -> Callable[..., tuple[jax.Array, Buffers]]:
    """``f(params, buffers, x, y, key) -> (loss(model(x), y), new_buffers)`` in training mode.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> f = batch_loss(fg.nn.Batched(fg.models.LinearRegression()), fg.losses.mse_loss)
        >>> value, buffers = f({"w": jnp.array(1.0)}, {}, jnp.array([1.0, 2.0]),
        ...                    jnp.array([2.0, 4.0]), None)
        >>> float(value), buffers
        (2.5, {})
    """

    def train_loss(
        params: Params, buffers: Buffers, x: Any, y: Any, key: jax.Array | None
    ) -> tuple[jax.Array, Buffers]:
        out, buffers = model.apply(params, x, buffers=buffers, train=True, key=key)
        return loss(out, y), buffers

    return train_loss


def _update(model: Module, loss: Loss, optimizer: optax.GradientTransformation) -> Step:
    value_and_grad = jax.value_and_grad(batch_loss(model, loss), has_aux=True)

    def update(
        params: Params,
        buffers: Buffers,
        opt_state: optax.OptState,
        x: jax.Array,
        y: jax.Array,
        idx: jax.Array,
        key: jax.Array,
    ) -> tuple[Params, Buffers, optax.OptState, jax.Array]:
        (value, buffers), grads = value_and_grad(params, buffers, x[idx], y[idx], key)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), buffers, opt_state, value

    return update


def make_step(
    model: Module, loss: Loss, optimizer: optax.GradientTransformation, *, jit: Jit = jax.jit
) -> Step:
    """``step(params, buffers, opt_state, x, y, idx, key) -> (params, buffers, opt_state, loss)``.

    One optimiser step on the batch ``x[idx]``, ``y[idx]``; ``key`` is this step's key (see
    :func:`step_key`), handed to the model for dropout and the like. ``jit`` compiles it (pass
    ``lambda f: f`` to leave it uncompiled, or a ``jax.jit`` with your own options).

    Args:
        model: the funcgrad module to train, applied to whole batches.
        loss: ``loss(outputs, targets) -> scalar``.
        optimizer: an optax ``GradientTransformation``.
        jit: the compiler applied to the step (``jax.jit`` by default).

    Returns:
        ``step(params, buffers, opt_state, x, y, idx, key) -> (params, buffers, opt_state, loss)``.

    Example:
        >>> import jax.numpy as jnp, optax, funcgrad as fg
        >>> model, opt = fg.nn.Batched(fg.models.LinearRegression()), optax.sgd(0.01)
        >>> step = make_step(model, fg.losses.mse_loss, opt)
        >>> x = jnp.array([1.0, 2.0, 3.0, 4.0])
        >>> p, b, s, loss = step({"w": jnp.array(0.0)}, {}, opt.init({"w": 0.0}), x, 2 * x,
        ...                      jnp.arange(4), None)
        >>> round(float(p["w"]), 3), float(loss)  # the notes' first step
        (0.3, 30.0)
    """
    return jit(_update(model, loss, optimizer))


def make_epoch(
    model: Module, loss: Loss, optimizer: optax.GradientTransformation, *, jit: Jit = jax.jit
) -> Step:
    """``epoch(params, buffers, opt_state, x, y, batches, key) -> (params, buffers, opt_state,
    losses)``: one compiled scan over the rows of ``batches`` (``(steps, batch_size)``).

    Step ``i`` gets ``step_key(key, i)``, the key a loop of :func:`make_step` would hand it, so
    the two agree; ``losses`` holds each step's loss. Fusing the epoch removes the per-step
    dispatch, which dominates for small models on CPU.

    Args:
        model: the funcgrad module to train, applied to whole batches.
        loss: ``loss(outputs, targets) -> scalar``.
        optimizer: an optax ``GradientTransformation``.
        jit: the compiler applied to the epoch (``jax.jit`` by default).

    Returns:
        ``epoch(params, buffers, opt_state, x, y, batches, key) -> (params, buffers, opt_state,
        losses)``, ``losses`` holding one loss per step.

    Example:
        >>> import jax, jax.numpy as jnp, optax, funcgrad as fg
        >>> model, opt = fg.nn.Batched(fg.models.LinearRegression()), optax.sgd(0.01)
        >>> epoch = make_epoch(model, fg.losses.mse_loss, opt)
        >>> x = jnp.array([1.0, 2.0, 3.0, 4.0])
        >>> p, b, s, losses = epoch({"w": jnp.array(0.0)}, {}, opt.init({"w": 0.0}), x, 2 * x,
        ...                         jnp.tile(jnp.arange(4), (2, 1)), jax.random.key(0))
        >>> losses.shape
        (2,)
    """
    update = _update(model, loss, optimizer)

    def epoch(
        params: Params,
        buffers: Buffers,
        opt_state: optax.OptState,
        x: jax.Array,
        y: jax.Array,
        batches: jax.Array,
        key: jax.Array,
    ) -> tuple[Params, Buffers, optax.OptState, jax.Array]:
        def body(
            carry: tuple[Params, Buffers, optax.OptState], step: tuple[jax.Array, jax.Array]
        ) -> tuple[tuple[Params, Buffers, optax.OptState], jax.Array]:
            i, idx = step
            params, buffers, opt_state, value = update(*carry, x, y, idx, step_key(key, i))
            return (params, buffers, opt_state), value

        steps = (jax.numpy.arange(batches.shape[0]), batches)
        (params, buffers, opt_state), values = jax.lax.scan(
            body, (params, buffers, opt_state), steps
        )
        return params, buffers, opt_state, values

    return jit(epoch)
