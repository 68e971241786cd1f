"""Loss (and accuracy, for classification) over a whole split, in eval mode, in fixed-size chunks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from funcgrad.nn import Module
from funcgrad.nn._module import Buffers, Params

__all__ = ["make_evaluate"]


def make_evaluate(
    model: Module,
    loss: Callable[[Any, Any], jax.Array],
    classify: bool,
    *,
    chunk: int = 256,
    jit: Callable[..., Callable[..., Any]] = jax.jit,
) -> Callable[[Params, Buffers, jax.Array, jax.Array], dict[str, jax.Array]]:
    """``evaluate(params, buffers, x, y) -> {"loss": ...[, "accuracy": fraction correct]}``.

    The model runs in eval mode (``train=False``) on whole batches of ``chunk`` examples
    (``lax.map``; the last chunk is padded and the padding dropped), so a large test set does
    not need all its activations at once; ``loss`` is then taken once over all outputs.

    Args:
        model: the funcgrad module, applied to whole batches.
        loss: ``loss(outputs, targets) -> scalar``.
        classify: also report accuracy (the outputs' ``argmax`` against integer targets).
        chunk: how many examples run at once.
        jit: the compiler applied to ``evaluate`` (``jax.jit`` by default).

    Returns:
        ``evaluate(params, buffers, x, y) -> {"loss": ...}``, with ``"accuracy"`` when
        ``classify``.

    Example:
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> evaluate = make_evaluate(fg.nn.Batched(fg.models.LinearRegression()),
        ...                          fg.losses.mse_loss, False)
        >>> x = jnp.array([1.0, 2.0])
        >>> {k: float(v) for k, v in evaluate({"w": jnp.array(1.0)}, {}, x, 2 * x).items()}
        {'loss': 2.5}
    """

    def evaluate(
        params: Params, buffers: Buffers, x: jax.Array, y: jax.Array
    ) -> dict[str, jax.Array]:
        n = x.shape[0]
        size = min(chunk, n)
        pad = -n % size
        padded = jnp.concatenate([x, jnp.zeros((pad, *x.shape[1:]), x.dtype)]) if pad else x
        chunks = padded.reshape(-1, size, *x.shape[1:])

        def run(xs: jax.Array) -> Any:
            return model.apply(params, xs, buffers=buffers, train=False)[0]

        out = jax.lax.map(run, chunks)
        out = jax.tree.map(lambda o: o.reshape(-1, *o.shape[2:])[:n], out)
        result = {"loss": loss(out, y)}
        if classify:
            result["accuracy"] = (jnp.argmax(out, axis=-1) == y).mean()
        return result

    return jit(evaluate)
