"""Per-example gradients: the gradient of the notes' per-sample loss, for every sample at once.

The notes contrast the loss of one sample, ``L(x, y, w) = C(y, G(x, w))``, with the average loss
over a set. PyTorch only ever gives the gradient of the average (``.grad`` holds one sum); with
functions it is one line: ``vmap`` the ``grad`` of the per-sample loss over the batch.
"""

from __future__ import annotations

from collections.abc import Callable

import jax

from funcgrad._typing import PyTree

__all__ = ["per_example_grads"]


def per_example_grads(loss: Callable[..., jax.Array], params: PyTree, batch: PyTree) -> PyTree:
    """Gradient of ``loss`` with respect to ``params`` for each example of ``batch`` separately.

    ``loss(params, *example)`` is the loss of ONE example. ``batch`` is a tuple ``(x, y, ...)`` whose
    arrays share a leading batch axis (then each example is unpacked as ``loss(params, x_i, y_i,
    ...)``), or a single array or other pytree (then ``loss(params, example)``). The result has the
    structure of ``params`` with a leading batch axis on every leaf; its mean over that axis is the
    gradient of the average loss. This is ``jax.vmap(jax.grad(loss), in_axes=(None, 0))``.

    Args:
        loss: ``loss(params, example) -> scalar``, written for one example.
        params: the params to differentiate.
        batch: a pytree of arrays whose leading axis indexes the examples.

    Returns:
        The gradients, like ``params`` with a leading axis of one entry per example.

    Example (the notes' per-sample loss of a linear model, ``C = (y - w . x)^2``):
        >>> import jax.numpy as jnp
        >>> def per_sample_loss(w, x, y):
        ...     return (y - w @ x) ** 2
        >>> w = jnp.array([1.0, 0.0])
        >>> xs, ys = jnp.array([[1.0, 2.0], [3.0, 4.0]]), jnp.array([0.0, 1.0])
        >>> g = per_example_grads(per_sample_loss, w, (xs, ys))
        >>> g.tolist()  # row p is -2 (y_p - w . x_p) x_p
        [[2.0, 4.0], [12.0, 16.0]]
        >>> g.mean(0).tolist()  # the gradient of the average loss
        [7.0, 10.0]
    """
    examples = batch if isinstance(batch, tuple) else (batch,)
    in_axes = (None,) + (0,) * len(examples)  # params shared, every batch array mapped
    return jax.vmap(jax.grad(loss), in_axes=in_axes)(params, *examples)
