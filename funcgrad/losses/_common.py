"""What every loss shares: the reduction, shape checks, weights and class-index checks."""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

Reduction = Literal["mean", "sum", "none"]
"""torch's ``reduction`` argument: average, sum, or keep the per-element losses."""


def _check_reduction(reduction: str, name: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(
    loss: jax.Array, reduction: str, name: str, weight: jax.Array | None = None
) -> jax.Array:
    """``"mean"`` divides by ``weight.sum()`` when a weight is given (torch's rule), else by the count."""
    _check_reduction(reduction, name)
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean() if weight is None else loss.sum() / weight.sum()
    return loss


def _same_shape(a: jax.Array, b: jax.Array, name: str, what: str = "target") -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name}: input shape {tuple(a.shape)} differs from {what} shape "
            f"{tuple(b.shape)}; reshape one so they match"
        )


def _elementwise(
    loss: jax.Array, weight: jax.Array | None, reduction: str, name: str, weighted_mean: bool
) -> jax.Array:
    if weight is None:
        return _reduce(loss, reduction, name)
    _same_shape(loss, weight, name, "weight")
    # torch divides a weighted mean by weight.sum() for l1/mse, by the count for huber.
    return _reduce(loss * weight, reduction, name, weight if weighted_mean else None)


def _broadcast_weight(
    w: jax.Array | None, shape: tuple[int, ...], name: str, what: str
) -> jax.Array | None:
    if w is None:
        return None
    try:
        return jnp.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(
            f"{name}: {what} of shape {tuple(w.shape)} does not broadcast to input shape "
            f"{tuple(shape)}; give it the input's trailing axes"
        ) from None


def _class_axis(input: jax.Array, name: str) -> int:
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class axis, got a scalar; pass (N, C) or (C,)")
    return 0 if input.ndim == 1 else 1


def _check_class_weight(weight: jax.Array | None, num_classes: int, name: str) -> None:
    if weight is not None and weight.shape != (num_classes,):
        raise ValueError(
            f"{name}: weight must have one entry per class, shape ({num_classes},), "
            f"got {tuple(weight.shape)}"
        )


def _check_indices(target: jax.Array, num_classes: int, ignore_index: int, name: str) -> None:
    """Raise as torch does on a label outside [0, C), when the labels are concrete (not traced)."""
    if isinstance(target, jax.core.Tracer):
        return  # under jit: such an example's loss is NaN (see the module docstring)
    t = np.asarray(target)
    bad = ((t < 0) | (t >= num_classes)) & (t != ignore_index)
    if bad.any():
        raise IndexError(
            f"{name}: target {t[bad].flat[0]} is out of bounds for {num_classes} classes; labels "
            f"must lie in [0, {num_classes}) or equal ignore_index={ignore_index}"
        )


def _clamp_min0(z: jax.Array) -> jax.Array:
    """``max(z, 0)`` with torch's ``clamp_min`` derivative, 1 where ``z >= 0`` (a tie passes);
    NaN stays NaN with a zero derivative, as in torch."""
    nan_or_zero = jnp.where(jnp.isnan(z), jax.lax.stop_gradient(z), jnp.zeros_like(z))
    return jnp.where(z >= 0, z, nan_or_zero)


def _relu_strict(z: jax.Array) -> jax.Array:
    """``max(z, 0)`` with the derivative torch's margin kernels use: 1 only where ``z > 0``."""
    return jnp.where(z > 0, z, jnp.zeros_like(z))


def _is_concrete(*xs: object) -> bool:
    """Whether values can be inspected (an eager call), rather than traced under ``jax.jit``."""
    return not any(isinstance(x, jax.core.Tracer) for x in xs)


def _broadcast(*arrays: jax.Array) -> list[jax.Array]:
    """The arrays broadcast to one shape, as torch broadcasts a loss's inputs (explicitly, so it
    holds under ``jax_numpy_rank_promotion="raise"`` too)."""
    shape = jnp.broadcast_shapes(*(jnp.shape(a) for a in arrays))
    return [jnp.broadcast_to(a, shape) for a in arrays]
