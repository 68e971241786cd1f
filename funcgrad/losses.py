"""Loss functions with PyTorch's semantics and ``reduction="mean" | "sum" | "none"``.

Each is a pure function with ``torch.nn.functional``'s name, argument names and positional order
(``input``, ``target``, ``weight``, ..., without the deprecated ``size_average``/``reduce``);
differentiate it with ``jax.grad`` like any other. Each runs inside ``jax.named_scope(<its name>)``,
so a jaxpr's ``name_stack`` (and ``fg.graph``) groups its operations. The logit losses stay finite for
logits of any size (``|z| >= 100`` included).

Where funcgrad is stricter than torch: ``input`` and ``target`` must have the same shape (torch
broadcasts them with a warning), and so must ``weight`` for the element-wise losses.

Class indices outside ``[0, C)`` (other than ``ignore_index``) raise ``IndexError`` in an eager call,
as torch does. Under ``jax.jit`` the labels are traced values and cannot be inspected, so such an
example's loss is NaN (and so is a ``"mean"`` or ``"sum"`` over it): a bad label is never silently
counted as some other class. Check labels when the data is loaded.

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
import numpy as np

__all__ = [
    "Reduction",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "huber_loss",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
]

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


def _nll(
    log_probs: jax.Array,
    target: jax.Array,
    weight: jax.Array | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    name: str,
) -> jax.Array:
    """Negative log-likelihood of class indices, with torch's weights, ignore_index and smoothing."""
    _check_reduction(reduction, name)
    class_axis = _class_axis(log_probs, name)
    expected = log_probs.shape[:class_axis] + log_probs.shape[class_axis + 1 :]
    if target.shape != expected:
        raise ValueError(
            f"{name}: input {tuple(log_probs.shape)} needs class-index targets of shape "
            f"{tuple(expected)}, got {tuple(target.shape)}; pass integer labels, or for "
            "cross_entropy probabilities of the input's shape"
        )
    if not jnp.issubdtype(target.dtype, jnp.integer):
        raise TypeError(
            f"{name}: target must hold integer class indices, got dtype {target.dtype}; "
            "cast with .astype(int)"
        )
    num_classes = log_probs.shape[class_axis]
    _check_class_weight(weight, num_classes, name)
    _check_indices(target, num_classes, ignore_index, name)
    w = (
        jnp.ones(num_classes, log_probs.dtype)
        if weight is None
        else jnp.asarray(weight, log_probs.dtype)
    )
    valid = target != ignore_index
    in_range = (target >= 0) & (target < num_classes)
    safe = jnp.where(valid & in_range, target, 0)
    picked = jnp.take_along_axis(log_probs, jnp.expand_dims(safe, class_axis), axis=class_axis)
    w_target = jnp.where(valid, w[safe], 0.0)
    loss = -picked.squeeze(class_axis) * w_target
    if label_smoothing > 0:
        # torch: (1 - eps) * nll + eps / C * sum_c(-w_c log p_c), ignored entries zeroed.
        w_b = w.reshape((num_classes,) + (1,) * (log_probs.ndim - class_axis - 1))
        smooth = -(log_probs * jnp.broadcast_to(w_b, log_probs.shape)).sum(class_axis)
        smooth = jnp.where(valid, smooth, 0.0)
        loss = (1 - label_smoothing) * loss + (label_smoothing / num_classes) * smooth
    # A label outside [0, C) under jit: NaN, never a silent wrong class.
    loss = jnp.where(valid & ~in_range, jnp.nan, loss)
    if reduction == "mean":
        total = w_target.sum()
        # torch: every target ignored gives a NaN mean, but a zero gradient (not 0 * inf)
        return jnp.where(total == 0, jnp.nan, loss.sum() / jnp.where(total == 0, 1, total))
    return _reduce(loss, reduction, name)


def nll_loss(
    input: jax.Array,
    target: jax.Array,
    weight: jax.Array | None = None,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
) -> jax.Array:
    """Negative log-likelihood ``-w[y] * input[y]`` of log-probabilities, as torch's ``nll_loss``.

    ``input`` is ``(N, C)``, ``(N, C, d1, ...)`` or one example ``(C,)``; ``target`` holds class
    indices, the shape of ``input`` without the class axis. ``"mean"`` divides by the summed weights
    of the targets that are not ``ignore_index``.

    Args:
        input: log-probabilities, ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``.
        target: class indices, ``(N,)``, ``()`` or ``(N, d1, ...)``.
        weight: a ``(C,)`` weight per class, or ``None``.
        ignore_index: a target index that contributes no loss.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per element).

    Returns:
        The reduced loss (a scalar), or one loss per example with ``reduction='none'``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> logp = jax.nn.log_softmax(jnp.array([[0.0, 0.0]]))
        >>> round(float(nll_loss(logp, jnp.array([1]))), 4)
        0.6931
    """
    with jax.named_scope("nll_loss"):
        return _nll(input, target, weight, ignore_index, reduction, 0.0, "nll_loss")


def cross_entropy(
    input: jax.Array,
    target: jax.Array,
    weight: jax.Array | None = None,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
) -> jax.Array:
    """Log-softmax plus negative log-likelihood, as ``torch.nn.functional.cross_entropy``.

    ``input`` holds logits ``(N, C)``, ``(N, C, d1, ...)`` or one example ``(C,)``. ``target`` is
    either class indices (integers, the shape of ``input`` without the class axis) or class
    probabilities (floats, the shape of ``input``). As in torch:

    - class indices: ``"mean"`` divides by the summed class weights of the targets that are not
      ``ignore_index``; ``label_smoothing`` mixes in ``eps / C`` times the weighted sum over classes;
    - probabilities: the target becomes ``(1 - eps) * target + eps / C``, ``"mean"`` divides by the
      number of examples (not by the weights), and ``ignore_index`` does not apply.

    Args:
        input: logits, ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``.
        target: class indices (``(N,)``, ...) or class probabilities of ``input``'s shape.
        weight: a ``(C,)`` weight per class, or ``None``.
        ignore_index: a target index that contributes no loss (class-index targets only).
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per element).
        label_smoothing: how much of the target's mass is spread evenly over the classes.

    Returns:
        The reduced loss (a scalar), or one loss per example with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(cross_entropy(jnp.array([[0.0, 0.0]]), jnp.array([1]))), 4)
        0.6931
        >>> round(float(cross_entropy(jnp.array([[0.0, 0.0]]), jnp.array([[0.3, 0.7]]))), 4)
        0.6931
    """
    with jax.named_scope("cross_entropy"):
        name = "cross_entropy"
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"{name}: label_smoothing must lie in [0, 1], got {label_smoothing}")
        class_axis = _class_axis(input, name)
        log_probs = jax.nn.log_softmax(input, axis=class_axis)
        if target.shape != input.shape or jnp.issubdtype(target.dtype, jnp.integer):
            return _nll(log_probs, target, weight, ignore_index, reduction, label_smoothing, name)
        _check_reduction(reduction, name)
        num_classes = input.shape[class_axis]
        _check_class_weight(weight, num_classes, name)
        target = target.astype(input.dtype)
        if label_smoothing > 0:
            target = (1 - label_smoothing) * target + label_smoothing / num_classes
        weighted = log_probs * target
        if weight is not None:
            w_b = weight.astype(input.dtype).reshape(
                (num_classes,) + (1,) * (input.ndim - class_axis - 1)
            )
            weighted = weighted * jnp.broadcast_to(w_b, input.shape)
        return _reduce(-weighted.sum(class_axis), reduction, name)
