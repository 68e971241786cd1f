"""Regression losses: absolute, squared, Huber and smooth-L1 error."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from funcgrad.losses._common import Reduction, _elementwise, _reduce, _same_shape


def l1_loss(
    input: jax.Array,
    target: jax.Array,
    reduction: Reduction = "mean",
    weight: jax.Array | None = None,
) -> jax.Array:
    """Absolute error ``|input - target|``, as ``torch.nn.functional.l1_loss``.

    With ``weight`` (the shape of ``input``), ``"mean"`` is ``sum(w * |e|) / sum(w)``, as in torch.

    Args:
        input: the predictions.
        target: the targets, of ``input``'s shape.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per element).
        weight: a per-element weight, broadcast against the loss, or ``None``.

    Returns:
        The reduced loss (a scalar), or one loss per element with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> float(l1_loss(jnp.array([1.0, -3.0]), jnp.array([0.0, 0.0])))
        2.0
    """
    with jax.named_scope("l1_loss"):
        _same_shape(input, target, "l1_loss")
        return _elementwise(jnp.abs(input - target), weight, reduction, "l1_loss", True)


def mse_loss(
    input: jax.Array,
    target: jax.Array,
    reduction: Reduction = "mean",
    weight: jax.Array | None = None,
) -> jax.Array:
    """Squared error ``(input - target) ** 2``, as ``torch.nn.functional.mse_loss``.

    With ``weight`` (the shape of ``input``), ``"mean"`` is ``sum(w * e**2) / sum(w)``, as in torch.

    Args:
        input: the predictions.
        target: the targets, of ``input``'s shape.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per element).
        weight: a per-element weight, broadcast against the loss, or ``None``.

    Returns:
        The reduced loss (a scalar), or one loss per element with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> float(mse_loss(jnp.array([1.0, 3.0]), jnp.array([0.0, 0.0])))
        5.0
    """
    with jax.named_scope("mse_loss"):
        _same_shape(input, target, "mse_loss")
        return _elementwise((input - target) ** 2, weight, reduction, "mse_loss", True)


def _huber(diff: jax.Array, delta: float) -> jax.Array:
    """``0.5 e**2`` for ``|e| < delta``, else ``delta (|e| - 0.5 delta)`` (torch's huber_loss)."""
    a = jnp.abs(diff)
    return jnp.where(a < delta, 0.5 * diff**2, delta * (a - 0.5 * delta))


def smooth_l1_loss(
    input: jax.Array, target: jax.Array, reduction: Reduction = "mean", beta: float = 1.0
) -> jax.Array:
    """``0.5 e**2 / beta`` for ``|e| < beta``, else ``|e| - 0.5 beta``, as torch's ``smooth_l1_loss``.

    ``beta=0`` is exactly ``l1_loss``.

    Args:
        input: the predictions.
        target: the targets, of ``input``'s shape.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per element).
        beta: where the loss turns from quadratic to linear.

    Returns:
        The reduced loss (a scalar), or one loss per element with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> smooth_l1_loss(jnp.array([0.5, 3.0]), jnp.zeros(2), reduction="none").tolist()
        [0.125, 2.5]
    """
    with jax.named_scope("smooth_l1_loss"):
        _same_shape(input, target, "smooth_l1_loss")
        if beta < 0:
            raise ValueError(
                f"smooth_l1_loss: beta must be >= 0, got {beta}; pass beta=0 for l1_loss"
            )
        diff = input - target
        loss = jnp.abs(diff) if beta == 0 else _huber(diff, beta) / beta
        return _reduce(loss, reduction, "smooth_l1_loss")


def huber_loss(
    input: jax.Array,
    target: jax.Array,
    reduction: Reduction = "mean",
    delta: float = 1.0,
    weight: jax.Array | None = None,
) -> jax.Array:
    """``0.5 e**2`` for ``|e| < delta``, else ``delta (|e| - 0.5 delta)``, as torch's ``huber_loss``.

    With ``weight`` (the shape of ``input``), ``"mean"`` is ``mean(w * loss)``, as in torch.

    Args:
        input: the predictions.
        target: the targets, of ``input``'s shape.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per element).
        delta: where the loss turns from quadratic to linear.
        weight: a per-element weight, broadcast against the loss, or ``None``.

    Returns:
        The reduced loss (a scalar), or one loss per element with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> huber_loss(jnp.array([0.5, 3.0]), jnp.zeros(2), reduction="none", delta=2.0).tolist()
        [0.125, 4.0]
    """
    with jax.named_scope("huber_loss"):
        _same_shape(input, target, "huber_loss")
        if delta <= 0:
            raise ValueError(f"huber_loss: delta must be > 0, got {delta}; use l1_loss for delta 0")
        return _elementwise(_huber(input - target, delta), weight, reduction, "huber_loss", False)
