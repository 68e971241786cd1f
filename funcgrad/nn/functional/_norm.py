"""Normalisation as pure functions: ``batch_norm``, ``layer_norm`` and ``group_norm``.

torch's ``F.batch_norm`` updates ``running_mean`` and ``running_var`` in place. A pure function
cannot, so :func:`batch_norm` returns them: ``(output, new_running_mean, new_running_var)``.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["batch_norm", "group_norm", "layer_norm", "rms_norm"]


def _normalise(x: jax.Array, axes: tuple[int, ...], eps: float) -> jax.Array:
    """``(x - mean) / sqrt(var + eps)`` over ``axes``, with the biased variance (torch's)."""
    mean = jnp.mean(x, axis=axes, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=axes, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + eps)


def _per_channel(v: jax.Array, ndim: int) -> jax.Array:
    """A ``(C,)`` vector shaped ``(1, C, 1, ...)`` to broadcast over ``(N, C, *)`` explicitly."""
    return jnp.reshape(v, (1, -1) + (1,) * (ndim - 2))


def _affine(y: jax.Array, weight: jax.Array | None, bias: jax.Array | None) -> jax.Array:
    if weight is not None:
        y = y * _per_channel(weight, y.ndim)
    if bias is not None:
        y = y + _per_channel(bias, y.ndim)
    return y


def batch_norm(
    input: jax.Array,
    running_mean: jax.Array | None,
    running_var: jax.Array | None,
    weight: jax.Array | None = None,
    bias: jax.Array | None = None,
    training: bool = False,
    momentum: float | jax.Array = 0.1,
    eps: float = 1e-5,
    *,
    axis_name: Hashable | None = None,
) -> tuple[jax.Array, jax.Array | None, jax.Array | None]:
    """torch's ``F.batch_norm`` on ``(N, C, *)``, returning ``(output, running_mean, running_var)``.

    With ``training=True`` (or no running stats) it normalises with the batch mean and biased
    variance over every axis but ``C``, and returns the running stats updated as torch does:
    ``(1 - momentum) * old + momentum * batch``, the variance unbiased (``* n / (n - 1)``).
    Otherwise it normalises with the running stats and returns them unchanged. Unlike torch, nothing
    is updated in place: use the returned stats. ``momentum`` may be an array (``1 / n`` for torch's
    cumulative average, ``momentum=None``).

    Args:
        input: ``(N, C, *)``.
        running_mean: the ``(C,)`` running mean, or ``None`` to use the batch's in both modes.
        running_var: the ``(C,)`` running variance, or ``None``.
        weight: the ``(C,)`` scale, or ``None``.
        bias: the ``(C,)`` shift, or ``None``.
        training: normalise with the batch's statistics and update the running ones.
        momentum: the running statistics' update weight.
        eps: added to the variance before the square root.
        axis_name: a ``jax.vmap`` (or ``shard_map``) axis name: the batch statistics are summed
            over that axis too (``lax.psum``), so each call may hold one example, or one shard, of
            the batch; ``n`` counts the whole batch. Not a torch argument.

    Returns:
        ``(output, running_mean, running_var)``: the running statistics are returned updated in
        training and unchanged otherwise.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> x = jnp.array([[1.0], [3.0]])
        >>> y, mean, var = batch_norm(x, jnp.zeros(1), jnp.ones(1), training=True, eps=0.0)
        >>> y.ravel().tolist(), round(float(mean[0]), 4), round(float(var[0]), 4)
        ([-1.0, 1.0], 0.2, 1.1)
        >>> one = lambda xi: batch_norm(xi[None], None, None, eps=0.0, axis_name="b")[0][0]
        >>> jax.vmap(one, axis_name="b")(x).ravel().tolist()
        [-1.0, 1.0]
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {input.shape}")
    axes = (0, *range(2, input.ndim))
    n = input.size // input.shape[1] if input.shape[1] else 0
    if axis_name is not None:
        n *= jax.lax.psum(1, axis_name)  # a Python int: the named axis' size
    empty = input.shape[0] == 0 if axis_name is None else n == 0
    if empty and (running_mean is None or training):
        # torch: an empty batch normalises nothing and leaves the running stats as they were
        return _affine(input, weight, bias), running_mean, running_var
    if running_mean is None or training:
        if training and n <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {input.shape}; use a batch of 2 or more, or train=False"
            )
        if axis_name is None:
            y = _normalise(input, axes, eps)
            mean = jnp.mean(input, axis=axes)
            var = jnp.mean(jnp.square(input - _per_channel(mean, input.ndim)), axis=axes)
        else:
            # Sums, not means, cross the named axis: every call then weighs its values alike.
            mean = jax.lax.psum(jnp.sum(input, axis=axes), axis_name) / n
            centred = input - _per_channel(mean, input.ndim)
            var = jax.lax.psum(jnp.sum(jnp.square(centred), axis=axes), axis_name) / n
            y = centred * jax.lax.rsqrt(_per_channel(var, input.ndim) + eps)
        if training and running_mean is not None and running_var is not None:
            m = jnp.asarray(momentum, running_mean.dtype)
            running_mean = ((1 - m) * running_mean + m * mean).astype(running_mean.dtype)
            unbiased = var * (n / (n - 1))
            running_var = ((1 - m) * running_var + m * unbiased).astype(running_var.dtype)
    else:
        assert running_var is not None
        mean, var = (_per_channel(s, input.ndim) for s in (running_mean, running_var))
        y = (input - mean) * jax.lax.rsqrt(var + eps)
    return _affine(y, weight, bias), running_mean, running_var


def _trailing(
    input: jax.Array, normalized_shape: int | Sequence[int], name: str
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``normalized_shape`` as a tuple, and the trailing axes of ``input`` it names (checked)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if tuple(input.shape[input.ndim - k :]) != shape or input.ndim < k:
        raise ValueError(
            f"{name}: input of shape {input.shape} does not end in normalized_shape {shape}; "
            "give the trailing dimensions the layer was built with"
        )
    return shape, tuple(range(input.ndim - k, input.ndim))


def layer_norm(
    input: jax.Array,
    normalized_shape: int | Sequence[int],
    weight: jax.Array | None = None,
    bias: jax.Array | None = None,
    eps: float = 1e-5,
) -> jax.Array:
    """torch's ``F.layer_norm``: normalise over the last ``len(normalized_shape)`` axes.

    Args:
        input: an array whose trailing axes have shape ``normalized_shape``.
        normalized_shape: the trailing shape to normalise over (an int, a list or a tuple).
        weight: a scale of shape ``normalized_shape``, or ``None``.
        bias: a shift of shape ``normalized_shape``, or ``None``.
        eps: added to the variance before the square root.

    Returns:
        The normalised array, of ``input``'s shape.

    Example:
        >>> import jax.numpy as jnp
        >>> layer_norm(jnp.array([[1.0, 3.0]]), (2,), eps=0.0).tolist()
        [[-1.0, 1.0]]
    """
    shape, axes = _trailing(input, normalized_shape, "layer_norm")
    y = _normalise(input, axes, eps)
    lead = (1,) * (input.ndim - len(shape))
    if weight is not None:
        y = y * jnp.reshape(weight, lead + shape)
    if bias is not None:
        y = y + jnp.reshape(bias, lead + shape)
    return y


def group_norm(
    input: jax.Array,
    num_groups: int,
    weight: jax.Array | None = None,
    bias: jax.Array | None = None,
    eps: float = 1e-5,
) -> jax.Array:
    """torch's ``F.group_norm`` on ``(N, C, *)``: normalise each of ``num_groups`` channel groups.

    Args:
        input: ``(N, C, *)``.
        num_groups: how many groups the channels are split into; it divides ``C``.
        weight: the ``(C,)`` scale, or ``None``.
        bias: the ``(C,)`` shift, or ``None``.
        eps: added to the variance before the square root.

    Returns:
        The normalised array, of ``input``'s shape.

    Example:
        >>> import jax.numpy as jnp
        >>> group_norm(jnp.array([[1.0, 3.0, 5.0, 9.0]]), 2, eps=0.0).tolist()
        [[-1.0, 1.0, -1.0, 1.0]]
    """
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise ValueError(
            f"group_norm: input of shape {input.shape} needs (N, C, *) with C divisible by "
            f"num_groups={num_groups}"
        )
    # an explicit size, not -1: an empty batch has nothing to infer it from
    per_group = math.prod(input.shape[1:]) // num_groups
    grouped = jnp.reshape(input, (input.shape[0], num_groups, per_group))
    y = jnp.reshape(_normalise(grouped, (2,), eps), input.shape)
    return _affine(y, weight, bias)


def rms_norm(
    input: jax.Array,
    normalized_shape: int | Sequence[int],
    weight: jax.Array | None = None,
    eps: float | None = None,
) -> jax.Array:
    """torch's ``F.rms_norm``: ``input / sqrt(mean(input**2) + eps) * weight`` over the trailing axes.

    Unlike ``layer_norm`` it neither subtracts the mean nor adds a bias.

    Args:
        input: an array whose trailing axes have shape ``normalized_shape``.
        normalized_shape: the trailing shape to normalise over (an int, a list or a tuple).
        weight: a scale of shape ``normalized_shape``, or ``None``.
        eps: added to the mean square; ``None`` is the machine epsilon of ``input``'s dtype, as torch.

    Returns:
        The normalised array, of ``input``'s shape.

    Example:
        >>> import jax.numpy as jnp
        >>> rms_norm(jnp.array([[3.0, 4.0]]), (2,), eps=0.0) * jnp.sqrt(12.5)  # mean square 12.5
        Array([[3., 4.]], dtype=float32)
    """
    shape, axes = _trailing(input, normalized_shape, "rms_norm")
    eps = float(jnp.finfo(input.dtype).eps) if eps is None else eps
    y = input * lax.rsqrt(jnp.mean(jnp.square(input), axis=axes, keepdims=True) + eps)
    return (
        y if weight is None else y * jnp.reshape(weight, (1,) * (input.ndim - len(shape)) + shape)
    )
