"""Cross-entropy of a linear projection's logits: torch's ``linear_cross_entropy``."""

from __future__ import annotations

import math
from typing import Any

import jax

from funcgrad.losses._common import Reduction
from funcgrad.losses._cross_entropy import cross_entropy


def linear_cross_entropy(
    input: jax.Array,
    linear_weight: jax.Array,
    target: jax.Array,
    *,
    linear_bias: jax.Array | None = None,
    weight: jax.Array | None = None,
    reduction: Reduction = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options: Any = None,
) -> jax.Array:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``, as torch's
    ``torch.nn.functional.linear_cross_entropy``.

    ``linear_weight`` is ``(C, in_features)``, or ``(C, d1, ..., dK, in_features)`` for a
    K-dimensional loss (the logits are then ``(N, C, d1, ..., dK)`` and need a batched input).
    ``target`` holds class indices, or class probabilities when it has the logits' shape; as in
    torch, ``ignore_index`` (``None`` means ``-100``) may not be given with probabilities.

    ``options`` is torch's ``LinearCrossEntropyOptions``: a chunking strategy that saves memory in
    torch's kernels and changes no number. It is accepted and ignored; under ``jax.jit``, XLA
    plans the memory of the whole computation.

    Args:
        input: ``(in_features,)`` or ``(N, in_features)``.
        linear_weight: ``(C, in_features)`` or ``(C, d1, ..., dK, in_features)``.
        target: class indices (``()``, ``(N,)`` or ``(N, d1, ..., dK)``) or class probabilities
            of the logits' shape.
        linear_bias: ``(C,)`` or ``(C, d1, ..., dK)``, added to the logits, or ``None``.
        weight: a ``(C,)`` weight per class, or ``None``.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'``.
        ignore_index: a target index that contributes no loss (class indices only), or ``None``.
        label_smoothing: how much of the target's mass is spread evenly over the classes.
        options: torch's chunking options; ignored (see above).

    Returns:
        The reduced loss (a scalar), or one loss per example with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> x, w = jnp.ones((2, 3)), jnp.zeros((4, 3))   # 4 classes, all logits equal
        >>> round(float(linear_cross_entropy(x, w, jnp.array([0, 3]))), 4)   # log(4)
        1.3863
    """
    with jax.named_scope("linear_cross_entropy"):
        name = "linear_cross_entropy"
        if input.ndim not in (1, 2):
            raise ValueError(
                f"{name}: input must be (in_features,) or (N, in_features), got shape "
                f"{tuple(input.shape)}"
            )
        if linear_weight.ndim < 2:
            raise ValueError(
                f"{name}: linear_weight must be (C, [d1, ...,] in_features), got shape "
                f"{tuple(linear_weight.shape)}"
            )
        in_features = input.shape[-1]
        if linear_weight.shape[-1] != in_features:
            raise ValueError(
                f"{name}: input ends in {in_features} features but linear_weight "
                f"{tuple(linear_weight.shape)} in {linear_weight.shape[-1]}; they must be equal"
            )
        num_classes, *out_features = linear_weight.shape[:-1]
        logits_shape = (*input.shape[:-1], num_classes, *out_features)
        if linear_bias is not None and linear_bias.shape != linear_weight.shape[:-1]:
            raise ValueError(
                f"{name}: linear_bias must have shape {tuple(linear_weight.shape[:-1])}, got "
                f"{tuple(linear_bias.shape)}"
            )
        if out_features and input.ndim == 1:
            raise ValueError(
                f"{name}: a K-dimensional loss (linear_weight {tuple(linear_weight.shape)}) needs "
                f"a batched input (N, {in_features}), got {tuple(input.shape)}; add a batch axis"
            )
        if target.shape == logits_shape and ignore_index is not None:  # torch: probabilities
            raise ValueError(
                f"{name}: ignore_index cannot be given when target holds class probabilities "
                "(it has the logits' shape); leave ignore_index=None"
            )
        del options  # torch's chunking strategy: memory only, the same numbers
        size = math.prod(out_features, start=num_classes)
        logits = input @ linear_weight.reshape(size, in_features).T
        if linear_bias is not None:
            logits = logits + linear_bias.reshape((1,) * (logits.ndim - 1) + (size,))
        return cross_entropy(
            logits.reshape(logits_shape),
            target,
            weight,
            -100 if ignore_index is None else ignore_index,
            reduction,
            label_smoothing,
        )
