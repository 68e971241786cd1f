"""Triplet losses: an anchor nearer its positive than its negative, by a margin."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from funcgrad.losses._common import Reduction, _check_reduction, _clamp_min0, _reduce


def _pairwise_distance(
    x1: jax.Array, x2: jax.Array, p: float = 2.0, eps: float = 1e-6
) -> jax.Array:
    """torch's ``pairwise_distance``: the ``p``-norm of ``x1 - x2 + eps`` over the last axis.

    At a zero difference the derivative is 0 (torch's ``norm``), not NaN.
    """
    d = x1 - x2 + eps
    axis = max(x1.ndim, x2.ndim) - 1
    a = jnp.abs(d)
    if p == float("inf"):
        return a.max(axis)
    if p == 0:
        return (a != 0).sum(axis).astype(d.dtype)
    s = (a**p).sum(axis)
    positive = s > 0
    return jnp.where(positive, jnp.where(positive, s, 1) ** (1 / p), 0)


def _check_triplet(
    anchor: jax.Array, positive: jax.Array, negative: jax.Array, margin: float, name: str
) -> None:
    if margin <= 0:
        raise ValueError(f"{name}: margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ValueError(
            f"{name}: anchor, positive and negative must have the same number of axes, got "
            f"{tuple(anchor.shape)}, {tuple(positive.shape)} and {tuple(negative.shape)}"
        )


def triplet_margin_loss(
    anchor: jax.Array,
    positive: jax.Array,
    negative: jax.Array,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: Reduction = "mean",
) -> jax.Array:
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the ``p``-norm distance, as torch's.

    ``d(x, y) = ||x - y + eps||_p`` over the last axis (torch's ``pairwise_distance``). With
    ``swap``, ``d(a, n)`` becomes ``min(d(a, n), d(p, n))``.

    Args:
        anchor: ``(N, D)`` or ``(D,)`` embeddings.
        positive: embeddings of the same class as the anchors.
        negative: embeddings of another class.
        margin: how much nearer the positive must be (``> 0``).
        p: the norm's degree.
        eps: added to the differences so the norm's derivative stays finite.
        swap: use the positive-negative distance when it is smaller.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per triplet).

    Returns:
        The reduced loss (a scalar), or one loss per triplet with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> a, pos, neg = jnp.zeros((1, 2)), jnp.zeros((1, 2)), jnp.array([[3.0, 4.0]])
        >>> float(triplet_margin_loss(a, pos, neg, margin=6.0, eps=0.0))
        1.0
    """
    with jax.named_scope("triplet_margin_loss"):
        name = "triplet_margin_loss"
        _check_triplet(anchor, positive, negative, margin, name)
        _check_reduction(reduction, name)
        d_pos = _pairwise_distance(anchor, positive, p, eps)
        d_neg = _pairwise_distance(anchor, negative, p, eps)
        if swap:
            d_neg = jnp.minimum(d_neg, _pairwise_distance(positive, negative, p, eps))
        return _reduce(_clamp_min0(margin + d_pos - d_neg), reduction, name)


def triplet_margin_with_distance_loss(
    anchor: jax.Array,
    positive: jax.Array,
    negative: jax.Array,
    *,
    distance_function: Callable[[jax.Array, jax.Array], jax.Array] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: Reduction = "mean",
) -> jax.Array:
    """``triplet_margin_loss`` with a distance of one's own, as torch's
    ``triplet_margin_with_distance_loss``.

    Args:
        anchor: the anchors' embeddings.
        positive: embeddings of the same class as the anchors.
        negative: embeddings of another class.
        distance_function: a pure function of two arrays giving one distance per pair; ``None``
            is the Euclidean distance of ``triplet_margin_loss`` (``p=2``, ``eps=1e-6``).
        margin: how much nearer the positive must be (``> 0``).
        swap: use the positive-negative distance when it is smaller.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per triplet).

    Returns:
        The reduced loss (a scalar), or one loss per triplet with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> l1 = lambda x, y: jnp.abs(x - y).sum(-1)
        >>> a, pos, neg = jnp.zeros((1, 2)), jnp.zeros((1, 2)), jnp.array([[3.0, 4.0]])
        >>> float(triplet_margin_with_distance_loss(a, pos, neg, distance_function=l1, margin=8.0))
        1.0
    """
    with jax.named_scope("triplet_margin_with_distance_loss"):
        name = "triplet_margin_with_distance_loss"
        _check_reduction(reduction, name)
        _check_triplet(anchor, positive, negative, margin, name)
        dist = _pairwise_distance if distance_function is None else distance_function
        d_pos = dist(anchor, positive)
        d_neg = dist(anchor, negative)
        if swap:
            d_neg = jnp.minimum(d_neg, dist(positive, negative))
        return _reduce(_clamp_min0(margin + d_pos - d_neg), reduction, name)
