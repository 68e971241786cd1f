"""Margin losses: ranking, hinge embedding, soft margin, multi-class and multi-label margins."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from funcgrad.losses._common import (
    Reduction,
    _broadcast,
    _broadcast_weight,
    _check_reduction,
    _clamp_min0,
    _is_concrete,
    _reduce,
    _relu_strict,
)


def margin_ranking_loss(
    input1: jax.Array,
    input2: jax.Array,
    target: jax.Array,
    margin: float = 0,
    reduction: Reduction = "mean",
) -> jax.Array:
    """``max(0, -target * (input1 - input2) + margin)``, as torch's ``margin_ranking_loss``.

    ``target`` is ``1`` where ``input1`` should rank higher and ``-1`` where ``input2`` should.

    Args:
        input1: the first scores.
        input2: the second scores, of ``input1``'s number of axes.
        target: ``1`` or ``-1`` per pair, of ``input1``'s number of axes.
        margin: how far apart the ranked scores must be.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per element).

    Returns:
        The reduced loss (a scalar), or one loss per element with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> x1, x2, y = jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]), jnp.array([1.0, 1.0])
        >>> margin_ranking_loss(x1, x2, y, reduction="none").tolist()
        [0.0, 1.0]
    """
    with jax.named_scope("margin_ranking_loss"):
        if not input1.ndim == input2.ndim == target.ndim:
            raise ValueError(
                "margin_ranking_loss: input1, input2 and target must have the same number of "
                f"axes, got shapes {tuple(input1.shape)}, {tuple(input2.shape)} and "
                f"{tuple(target.shape)}"
            )
        input1, input2, target = _broadcast(input1, input2, target)
        loss = _clamp_min0(-target * (input1 - input2) + margin)
        return _reduce(loss, reduction, "margin_ranking_loss")


def hinge_embedding_loss(
    input: jax.Array, target: jax.Array, margin: float = 1.0, reduction: Reduction = "mean"
) -> jax.Array:
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target == -1``.

    As torch's ``hinge_embedding_loss``: ``input`` is typically a distance, small for similar pairs
    (``target = 1``) and pushed beyond ``margin`` for dissimilar ones (``target = -1``).

    Args:
        input: the distances.
        target: ``1`` or ``-1``, broadcast against ``input``.
        margin: the distance dissimilar pairs are pushed beyond.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per element).

    Returns:
        The reduced loss (a scalar), or one loss per element with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> x, y = jnp.array([0.3, 0.4]), jnp.array([1.0, -1.0])
        >>> [round(v, 4) for v in hinge_embedding_loss(x, y, reduction="none").tolist()]
        [0.3, 0.6]
    """
    with jax.named_scope("hinge_embedding_loss"):
        input, target = _broadcast(input, target)
        zeros = jnp.zeros_like(input)
        loss = jnp.where(target != 1, _clamp_min0(margin - input), zeros)
        loss = loss + jnp.where(target != -1, input, zeros)
        return _reduce(loss, reduction, "hinge_embedding_loss")


def soft_margin_loss(
    input: jax.Array, target: jax.Array, reduction: Reduction = "mean"
) -> jax.Array:
    """Two-class logistic loss ``log(1 + exp(-target * input))``, as torch's ``soft_margin_loss``.

    Computed as ``softplus(-target * input)``, finite for inputs of any size.

    Args:
        input: the scores.
        target: ``1`` or ``-1``, broadcast against ``input``.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per element).

    Returns:
        The reduced loss (a scalar), or one loss per element with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(soft_margin_loss(jnp.array([0.0]), jnp.array([1.0]))), 4)
        0.6931
    """
    with jax.named_scope("soft_margin_loss"):
        input, target = _broadcast(input, target)
        return _reduce(jnp.logaddexp(0.0, -target * input), reduction, "soft_margin_loss")


def multilabel_soft_margin_loss(
    input: jax.Array,
    target: jax.Array,
    weight: jax.Array | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    """Binary cross-entropy of logits averaged over the classes, as torch's
    ``multilabel_soft_margin_loss``: ``-mean_c w_c [y_c log s(x_c) + (1 - y_c) log s(-x_c)]``.

    Args:
        input: logits ``(N, C)`` or ``(C,)``; the last axis holds the classes.
        target: ``0`` or ``1`` per class, of ``input``'s shape.
        weight: a weight per class (broadcast against ``input``), or ``None``.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per example).

    Returns:
        The reduced loss (a scalar), or one loss per example with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> x, y = jnp.zeros((1, 3)), jnp.array([[1.0, 0.0, 1.0]])
        >>> round(float(multilabel_soft_margin_loss(x, y)), 4)
        0.6931
    """
    with jax.named_scope("multilabel_soft_margin_loss"):
        name = "multilabel_soft_margin_loss"
        _check_reduction(reduction, name)
        input, target = _broadcast(input, target)
        loss = -(target * jax.nn.log_sigmoid(input) + (1 - target) * jax.nn.log_sigmoid(-input))
        w = _broadcast_weight(weight, loss.shape, name, "weight")
        if w is not None:
            loss = loss * w
        loss = loss.sum(-1) / input.shape[-1]
        return _reduce(loss, reduction, name)


def _frames(input: jax.Array, name: str) -> jax.Array:
    """``input`` as ``(N, C)``: torch's margin kernels take a scalar, a vector or a matrix."""
    if input.ndim > 2 or input.size == 0:
        raise ValueError(
            f"{name}: expected a non-empty (C,) or (N, C) input, got shape {tuple(input.shape)}"
        )
    return input.reshape(-1, input.shape[-1]) if input.ndim else input.reshape(1, 1)


def multi_margin_loss(
    input: jax.Array,
    target: jax.Array,
    p: int = 1,
    margin: float = 1.0,
    weight: jax.Array | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    """Multi-class hinge loss, as torch's ``multi_margin_loss``.

    For an example with class ``y``: ``sum_{i != y} w_y max(0, margin - x[y] + x[i])**p / C``.
    ``"mean"`` divides by the number of examples. A class index outside ``[0, C)`` raises
    ``IndexError`` in an eager call and gives NaN under ``jax.jit`` (as ``nll_loss``).

    Args:
        input: scores ``(N, C)``, ``(C,)`` or a scalar.
        target: class indices ``(N,)`` (or ``()``/``(1,)`` for one example).
        p: ``1`` or ``2``, the power of the hinge.
        margin: the margin the true class's score must clear.
        weight: a ``(C,)`` weight per class, or ``None``.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per example).

    Returns:
        The reduced loss (a scalar), or one loss per example with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.array([[0.1, 0.2, 0.4, 0.8]])
        >>> round(float(multi_margin_loss(x, jnp.array([3]))), 4)
        0.325
    """
    with jax.named_scope("multi_margin_loss"):
        name = "multi_margin_loss"
        _check_reduction(reduction, name)
        if p not in (1, 2):
            raise ValueError(f"{name}: only p = 1 and p = 2 are supported, got p={p}")
        x = _frames(input, name)
        n, c = x.shape
        if target.ndim > 1 or target.size != n:
            raise ValueError(
                f"{name}: input {tuple(input.shape)} needs {n} class indices, got target of "
                f"shape {tuple(target.shape)}"
            )
        if weight is not None and (weight.ndim != 1 or weight.size != c):
            raise ValueError(f"{name}: weight must be one-dimensional with {c} entries")
        y = target.reshape(n)
        if _is_concrete(y) and bool(np.any((np.asarray(y) < 0) | (np.asarray(y) >= c))):
            bad = np.asarray(y)[(np.asarray(y) < 0) | (np.asarray(y) >= c)][0]
            raise IndexError(f"{name}: target {bad} is out of range for {c} classes")
        in_range = (y >= 0) & (y < c)
        safe = jnp.where(in_range, y, 0)
        x_y = jnp.take_along_axis(x, safe[:, None], axis=1)
        h = _relu_strict(margin - x_y + x)
        h = h if p == 1 else h * h
        if weight is not None:
            h = h * jnp.asarray(weight, x.dtype)[safe][:, None]
        h = jnp.where(jnp.arange(c)[None, :] == safe[:, None], jnp.zeros_like(h), h)
        loss = jnp.where(in_range, h.sum(1) / c, jnp.nan)
        if reduction == "none":
            return loss.reshape(target.shape) if target.ndim else loss.reshape(())
        return _reduce(loss, reduction, name)


def multilabel_margin_loss(
    input: jax.Array, target: jax.Array, reduction: Reduction = "mean"
) -> jax.Array:
    """Multi-label hinge loss, as torch's ``multilabel_margin_loss``.

    ``target`` lists each example's classes, padded with ``-1`` (only the classes before the first
    ``-1`` count). For each listed class ``j`` and each unlisted class ``i``, the loss adds
    ``max(0, 1 - (x[j] - x[i]))``, divided by the number of classes ``C``.

    Args:
        input: scores ``(N, C)`` or ``(C,)``.
        target: integer class lists of ``input``'s shape, padded with ``-1``.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per example).

    Returns:
        The reduced loss (a scalar), or one loss per example with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> x, y = jnp.array([[0.1, 0.2, 0.4, 0.8]]), jnp.array([[3, 0, -1, 1]])
        >>> round(float(multilabel_margin_loss(x, y)), 4)
        0.85
    """
    with jax.named_scope("multilabel_margin_loss"):
        name = "multilabel_margin_loss"
        _check_reduction(reduction, name)
        x = _frames(input, name)
        if target.shape != input.shape:
            raise ValueError(
                f"{name}: target shape {tuple(target.shape)} differs from input shape "
                f"{tuple(input.shape)}; pad each example's class list with -1"
            )
        n, c = x.shape
        y = target.reshape(n, c)
        if _is_concrete(y) and bool(np.any(np.asarray(y) >= c) | np.any(np.asarray(y) < -1)):
            raise IndexError(f"{name}: a target class is out of range for {c} classes")
        listed = jnp.cumprod(y >= 0, axis=1).astype(bool)  # the entries before the first -1
        safe = jnp.where(listed, y, 0)
        is_target = ((safe[:, :, None] == jnp.arange(c)[None, None, :]) & listed[:, :, None]).any(1)
        x_y = jnp.take_along_axis(x, safe, axis=1)  # (n, k): the listed classes' scores
        z = _relu_strict(1 - x_y[:, :, None] + x[:, None, :])  # (n, k, i)
        z = jnp.where(listed[:, :, None] & ~is_target[:, None, :], z, jnp.zeros_like(z))
        loss = z.sum((1, 2)) / c
        if reduction == "none":
            return loss if input.ndim == 2 else loss.reshape(())
        return _reduce(loss, reduction, name)


def cosine_embedding_loss(
    input1: jax.Array,
    input2: jax.Array,
    target: jax.Array,
    margin: float = 0,
    reduction: Reduction = "mean",
) -> jax.Array:
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where ``-1``.

    As torch's ``cosine_embedding_loss``, with its ``1e-12`` added to each squared norm.

    Args:
        input1: ``(N, D)`` embeddings (or ``(D,)`` with a scalar target).
        input2: ``(N, D)`` embeddings, of ``input1``'s shape.
        target: ``1`` or ``-1`` per pair, ``(N,)`` (or ``()``).
        margin: the cosine dissimilar pairs are pushed below.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per pair).

    Returns:
        The reduced loss (a scalar), or one loss per pair with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> a, b = jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 1.0]])
        >>> float(cosine_embedding_loss(a, b, jnp.array([1.0])))
        1.0
    """
    with jax.named_scope("cosine_embedding_loss"):
        name = "cosine_embedding_loss"
        if target.ndim > 1 or input1.ndim != target.ndim + 1 or input2.ndim != input1.ndim:
            raise ValueError(
                f"{name}: expected (N, D) inputs with an (N,) target or (D,) inputs with a scalar "
                f"target, got {tuple(input1.shape)}, {tuple(input2.shape)} and "
                f"{tuple(target.shape)}"
            )
        axis = target.ndim
        prod = (input1 * input2).sum(axis)
        mag1 = (input1 * input1).sum(axis) + 1e-12
        mag2 = (input2 * input2).sum(axis) + 1e-12
        cos = prod / jnp.sqrt(mag1 * mag2)
        zeros = jnp.zeros_like(cos)
        loss = jnp.where(target == 1, 1 - cos, zeros)
        loss = loss + jnp.where(target == -1, _clamp_min0(cos - margin), zeros)
        return _reduce(loss, reduction, name)
