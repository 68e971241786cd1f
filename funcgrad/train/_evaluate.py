"""Loss (and accuracy, for classification) over a whole split, in fixed-size chunks."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from funcgrad.nn import Module, Params

__all__ = ["make_evaluate"]


def make_evaluate(
    model: Module, loss: Callable[[jax.Array, jax.Array], jax.Array], classify: bool
) -> Callable[[Params, jax.Array, jax.Array], dict[str, jax.Array]]:
    """``evaluate(params, x, y) -> {"loss": mean loss[, "accuracy": fraction correct]}``, jitted.

    It maps over examples 256 at a time (``lax.map`` with ``batch_size``), so a large test set
    does not need all its activations in memory at once.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> evaluate = make_evaluate(fg.models.LinearRegression(), fg.losses.mse_loss, False)
        >>> x = jnp.array([1.0, 2.0])
        >>> {k: float(v) for k, v in evaluate({"w": jnp.array(1.0)}, x, 2 * x).items()}
        {'loss': 2.5}
    """

    def one(params: Params, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
        out = model.apply(params, x)
        correct = jnp.argmax(out) == y if classify else jnp.zeros((), bool)
        return loss(out, y), correct

    @jax.jit
    def evaluate(params: Params, x: jax.Array, y: jax.Array) -> dict[str, jax.Array]:
        values, correct = jax.lax.map(lambda xy: one(params, *xy), (x, y), batch_size=256)
        result = {"loss": values.mean()}
        if classify:
            result["accuracy"] = correct.mean()
        return result

    return evaluate
