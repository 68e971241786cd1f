"""Likelihood losses: Kullback-Leibler divergence, Poisson and Gaussian negative log-likelihood."""

from __future__ import annotations

import math
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import xlogy

from funcgrad.losses._common import (
    Reduction,
    _broadcast,
    _check_reduction,
    _is_concrete,
    _reduce,
)


def kl_div(
    input: jax.Array,
    target: jax.Array,
    reduction: Reduction | Literal["batchmean"] = "mean",
    log_target: bool = False,
) -> jax.Array:
    """Kullback-Leibler divergence ``target * (log(target) - input)``, as torch's ``kl_div``.

    ``input`` holds log-probabilities; ``target`` probabilities, or log-probabilities with
    ``log_target=True`` (then the loss is ``exp(target) * (target - input)``). A zero target
    contributes zero (``xlogy``). ``reduction="batchmean"`` divides the sum by the batch size
    ``input.shape[0]``, the divergence of the maths; ``"mean"`` divides by every element, as torch.

    Args:
        input: log-probabilities.
        target: probabilities (or log-probabilities with ``log_target``), broadcast against input.
        reduction: ``'mean'`` (the default), ``'batchmean'``, ``'sum'`` or ``'none'``.
        log_target: whether ``target`` holds log-probabilities.

    Returns:
        The reduced loss (a scalar), or one loss per element with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> p = jnp.array([[0.5, 0.5]])
        >>> float(kl_div(jnp.log(p), p, reduction="batchmean"))
        0.0
    """
    with jax.named_scope("kl_div"):
        input, target = _broadcast(input, target)
        if log_target:
            loss = jnp.exp(target) * (target - input)
        else:
            loss = xlogy(target, target) - target * input
        if reduction == "batchmean":
            total = loss.sum()
            return total / input.shape[0] if input.ndim else total
        return _reduce(loss, reduction, "kl_div")


def poisson_nll_loss(
    input: jax.Array,
    target: jax.Array,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: Reduction = "mean",
) -> jax.Array:
    """Poisson negative log-likelihood of counts ``target``, as torch's ``poisson_nll_loss``.

    ``exp(input) - target * input`` when ``input`` is the log-rate (``log_input``), else
    ``input - target * log(input + eps)``. ``full`` adds Stirling's term
    ``t log t - t + 0.5 log(2 pi t)`` where ``target > 1``.

    Args:
        input: the log-rate (or the rate with ``log_input=False``).
        target: the observed counts, broadcast against ``input``.
        log_input: whether ``input`` is the log of the rate.
        full: whether to add Stirling's approximation of ``log(target!)``.
        eps: keeps ``log`` finite at a rate of 0 when ``log_input=False``.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per element).

    Returns:
        The reduced loss (a scalar), or one loss per element with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> float(poisson_nll_loss(jnp.array([0.0]), jnp.array([2.0])))
        1.0
    """
    with jax.named_scope("poisson_nll_loss"):
        _check_reduction(reduction, "poisson_nll_loss")
        input, target = _broadcast(input, target)
        if log_input:
            loss = jnp.exp(input) - target * input
        else:
            loss = input - target * jnp.log(input + eps)
        if full:
            stirling = target * jnp.log(target) - target + 0.5 * jnp.log(2 * math.pi * target)
            loss = loss + jnp.where(target <= 1, jnp.zeros_like(stirling), stirling)
        return _reduce(loss, reduction, "poisson_nll_loss")


def _gaussian_var(input: jax.Array, var: jax.Array) -> jax.Array:
    """``var`` shaped to broadcast against ``input`` (torch's homoscedastic cases), or an error."""
    if var.shape == input.shape:
        return var
    if input.shape[:-1] == var.shape:  # one variance per example: (N, D) input, (N,) var
        return var[..., None]
    if (
        var.ndim == input.ndim
        and sum(v for i, v in zip(input.shape, var.shape, strict=True) if i != v) == 1
    ):
        return var  # one axis of size 1, broadcast
    raise ValueError(
        f"gaussian_nll_loss: var of shape {tuple(var.shape)} does not fit input "
        f"{tuple(input.shape)}; give it the input's shape, drop its last axis, or make one axis 1"
    )


def gaussian_nll_loss(
    input: jax.Array,
    target: jax.Array,
    var: jax.Array | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: Reduction = "mean",
) -> jax.Array:
    """Gaussian negative log-likelihood ``0.5 (log var + (input - target)**2 / var)``, as torch's.

    ``var`` is the predicted variance: of ``input``'s shape, one per example (the last axis
    dropped), one axis of size 1, or a float. As in torch it is clamped at ``eps`` for the value
    only (the gradient flows as if unclamped), and a negative entry raises ``ValueError``
    (when the values can be inspected, outside ``jax.jit``). ``full`` adds ``0.5 log(2 pi)``.

    Args:
        input: the predicted means.
        target: the observations, broadcast against ``input``.
        var: the predicted variances, or a float.
        full: whether to add the constant ``0.5 log(2 pi)``.
        eps: the smallest variance used.
        reduction: ``'mean'`` (the default), ``'sum'`` or ``'none'`` (one loss per element).

    Returns:
        The reduced loss (a scalar), or one loss per element with ``reduction='none'``.

    Example:
        >>> import jax.numpy as jnp
        >>> float(gaussian_nll_loss(jnp.array([1.0]), jnp.array([3.0]), jnp.array([1.0])))
        2.0
    """
    with jax.named_scope("gaussian_nll_loss"):
        name = "gaussian_nll_loss"
        if isinstance(var, int | float):
            if var < 0:
                raise ValueError(f"{name}: var has a negative entry ({var}); variances are >= 0")
            var = jnp.full(input.shape, var, input.dtype)
        elif _is_concrete(var) and bool(np.any(np.asarray(var) < 0)):
            raise ValueError(f"{name}: var has negative entries; variances are >= 0")
        var = _gaussian_var(input, var)
        input, target, var = _broadcast(input, target, var)
        _check_reduction(reduction, name)
        # torch clamps in place under no_grad: the value is clamped, the gradient is var's own.
        var = var + jax.lax.stop_gradient(jnp.maximum(var, eps) - var)
        loss = 0.5 * (jnp.log(var) + (input - target) ** 2 / var)
        if full:
            loss = loss + 0.5 * math.log(2 * math.pi)
        return _reduce(loss, reduction, name)
