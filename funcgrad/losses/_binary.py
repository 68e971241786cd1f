"""Binary cross-entropies: of probabilities and of logits."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from funcgrad.losses._common import Reduction, _broadcast_weight, _reduce, _same_shape


def binary_cross_entropy(
    input: jax.Array,
    target: jax.Array,
    weight: jax.Array | None = None,
    reduction: Reduction = "mean",
) -> jax.Array:
    """``-w [y log x + (1 - y) log(1 - x)]`` for probabilities ``x``, as torch's ``binary_cross_entropy``.

    As in torch, each log is clamped at ``-100`` so ``x = 0`` or ``1`` gives a finite loss. Prefer
    ``binary_cross_entropy_with_logits``, which is stable for any logit.

    Args:
        input: probabilities in ``[0, 1]``.
        target: the targets in ``[0, 1]``, of ``input``'s shape.
        weight: a per-element weight, broadcast against the loss, or ``None``.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per element).

    Returns:
        The reduced loss (a scalar), or one loss per element with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(binary_cross_entropy(jnp.array([0.5]), jnp.array([1.0]))), 4)
        0.6931
        >>> float(binary_cross_entropy(jnp.array([0.0]), jnp.array([1.0])))
        100.0
    """
    with jax.named_scope("binary_cross_entropy"):
        _same_shape(input, target, "binary_cross_entropy")
        log_x = jnp.maximum(jnp.log(input), -100.0)
        log_1mx = jnp.maximum(jnp.log1p(-input), -100.0)
        loss = -(target * log_x + (1 - target) * log_1mx)
        w = _broadcast_weight(weight, input.shape, "binary_cross_entropy", "weight")
        return _reduce(loss if w is None else loss * w, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(
    input: jax.Array,
    target: jax.Array,
    weight: jax.Array | None = None,
    reduction: Reduction = "mean",
    pos_weight: jax.Array | None = None,
) -> jax.Array:
    """Sigmoid plus binary cross-entropy in one stable step, as in PyTorch.

    ``-w [p * y * log(sigmoid(z)) + (1 - y) * log(1 - sigmoid(z))]`` with ``p = pos_weight``, computed
    as ``(1 - y) * z + (1 + (p - 1) * y) * softplus(-z)`` so neither value nor gradient overflows.
    ``weight`` and ``pos_weight`` broadcast against ``input`` as in torch (``pos_weight`` of shape
    ``(C,)`` weighs the classes of the last axis).

    Args:
        input: logits (any real values).
        target: the targets in ``[0, 1]``, of ``input``'s shape.
        weight: a per-element weight, broadcast against the loss, or ``None``.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per element).
        pos_weight: a weight on the positive term, broadcast over the last (class) axis, or ``None``.

    Returns:
        The reduced loss (a scalar), or one loss per element with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(binary_cross_entropy_with_logits(jnp.array([0.0]), jnp.array([1.0]))), 4)
        0.6931
    """
    with jax.named_scope("binary_cross_entropy_with_logits"):
        name = "binary_cross_entropy_with_logits"
        _same_shape(input, target, name)
        softplus_neg = jnp.logaddexp(-input, 0.0)  # log(1 + exp(-z)) with a stable derivative
        p = _broadcast_weight(pos_weight, input.shape, name, "pos_weight")
        if p is None:
            loss = (1 - target) * input + softplus_neg
        else:
            loss = (1 - target) * input + (1 + (p - 1) * target) * softplus_neg
        w = _broadcast_weight(weight, input.shape, name, "weight")
        return _reduce(loss if w is None else loss * w, reduction, name)
