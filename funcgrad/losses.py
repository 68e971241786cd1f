"""Loss functions with PyTorch's semantics and ``reduction="mean" | "sum" | "none"``.

Each is a pure function of ``(input, target)``: differentiate it with ``jax.grad`` like any other.
They are written to stay finite for logits of any size (``|z| >= 100`` included).

The notes contrast the loss of one sample with the average loss over a set. Functionally, write the
per-sample loss for one example and ``vmap`` it, then take the mean yourself:

    >>> import jax, jax.numpy as jnp
    >>> per_sample = jax.vmap(lambda z, y: mse_loss(z, y, reduction="sum"))
    >>> z, y = jnp.array([[1.0, 2.0], [3.0, 4.0]]), jnp.zeros((2, 2))
    >>> per_sample(z, y).tolist(), float(per_sample(z, y).mean())
    ([5.0, 25.0], 15.0)
"""

from __future__ import annotations

from typing import Literal

import jax
import jax.numpy as jnp

__all__ = ["Reduction", "binary_cross_entropy_with_logits", "cross_entropy", "mse_loss"]

Reduction = Literal["mean", "sum", "none"]


def _reduce(loss: jax.Array, reduction: str, name: str) -> jax.Array:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(input: jax.Array, target: jax.Array, name: str) -> None:
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: input shape {tuple(input.shape)} differs from target shape "
            f"{tuple(target.shape)}; reshape one so they match"
        )


def mse_loss(input: jax.Array, target: jax.Array, reduction: Reduction = "mean") -> jax.Array:
    """Squared error ``(input - target) ** 2``, as ``torch.nn.functional.mse_loss``.

    Example:
        >>> import jax.numpy as jnp
        >>> float(mse_loss(jnp.array([1.0, 3.0]), jnp.array([0.0, 0.0])))
        5.0
    """
    _same_shape(input, target, "mse_loss")
    return _reduce((input - target) ** 2, reduction, "mse_loss")


def binary_cross_entropy_with_logits(
    input: jax.Array,
    target: jax.Array,
    weight: jax.Array | None = None,
    reduction: Reduction = "mean",
    pos_weight: jax.Array | None = None,
) -> jax.Array:
    """Sigmoid plus binary cross-entropy in one stable step, as in PyTorch.

    ``-[p * y * log(sigmoid(z)) + (1 - y) * log(1 - sigmoid(z))]`` with ``p = pos_weight``, computed
    as ``(1 - y) * z + (1 + (p - 1) * y) * softplus(-z)`` so neither value nor gradient overflows.

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(binary_cross_entropy_with_logits(jnp.array([0.0]), jnp.array([1.0]))), 4)
        0.6931
    """
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    softplus_neg = jnp.logaddexp(-input, 0.0)  # log(1 + exp(-z)) with a stable derivative
    if pos_weight is None:
        loss = (1 - target) * input + softplus_neg
    else:
        # torch broadcasts pos_weight over the class (last) axis; make that explicit.
        pos_weight = jnp.broadcast_to(pos_weight, input.shape)
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * softplus_neg
    if weight is not None:
        loss = loss * jnp.broadcast_to(weight, input.shape)
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def cross_entropy(
    input: jax.Array,
    target: jax.Array,
    weight: jax.Array | None = None,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
) -> jax.Array:
    """Log-softmax plus negative log-likelihood, with ``target`` holding class indices.

    ``input`` is ``(N, C)``, ``(N, C, d1, ...)`` or one example ``(C,)``; ``target`` has the same
    shape without the class axis. As in PyTorch, ``"mean"`` divides by the summed class weights of the
    targets that are not ``ignore_index``.

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(cross_entropy(jnp.array([[0.0, 0.0]]), jnp.array([1]))), 4)
        0.6931
    """
    class_axis = 0 if input.ndim == 1 else 1
    expected = input.shape[:class_axis] + input.shape[class_axis + 1 :]
    if input.ndim == 0 or target.shape != expected:
        raise ValueError(
            f"cross_entropy: input {tuple(input.shape)} needs class-index targets of shape "
            f"{tuple(expected)}, got {tuple(target.shape)}; pass integer labels, not one-hot"
        )
    if not jnp.issubdtype(target.dtype, jnp.integer):
        raise TypeError(
            f"cross_entropy: target must hold integer class indices, got dtype {target.dtype}; "
            "cast with .astype(int)"
        )
    num_classes = input.shape[class_axis]
    log_probs = jax.nn.log_softmax(input, axis=class_axis)
    valid = target != ignore_index
    safe_target = jnp.where(valid, target, 0)
    picked = jnp.take_along_axis(
        log_probs, jnp.expand_dims(safe_target, class_axis), axis=class_axis
    ).squeeze(class_axis)
    w = jnp.ones(num_classes, input.dtype) if weight is None else weight
    w_target = jnp.where(valid, w[safe_target], 0.0)
    loss = -picked * w_target
    if reduction == "mean":
        return loss.sum() / w_target.sum()
    return _reduce(loss, reduction, "cross_entropy")
