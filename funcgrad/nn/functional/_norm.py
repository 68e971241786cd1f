"""Normalisation as pure functions: batch, instance, layer, group, RMS and local response norm.

torch's ``F.batch_norm`` and ``F.instance_norm`` update ``running_mean`` and ``running_var`` in
place and return the output alone. A pure function cannot update anything, so each comes twice:
:func:`batch_norm` / :func:`instance_norm` return torch's value (the output), and
:func:`batch_norm_with_update` / :func:`instance_norm_with_update` return
``(output, new_running_mean, new_running_var)``, the statistics torch would have written.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = [
    "batch_norm",
    "batch_norm_with_update",
    "group_norm",
    "instance_norm",
    "instance_norm_with_update",
    "layer_norm",
    "local_response_norm",
    "rms_norm",
]


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
) -> jax.Array:
    """torch's ``F.batch_norm`` on ``(N, C, *)``: the normalised output, as torch returns.

    With ``training=True`` (or no running stats) it normalises with the batch mean and biased
    variance over every axis but ``C``; otherwise with the running stats. torch also updates the
    running stats in place in training; a pure function cannot, so the updated statistics come
    from :func:`batch_norm_with_update` (this is its output alone).

    Args:
        input: ``(N, C, *)``.
        running_mean: the ``(C,)`` running mean, or ``None`` to use the batch's in both modes.
        running_var: the ``(C,)`` running variance, or ``None``.
        weight: the ``(C,)`` scale, or ``None``.
        bias: the ``(C,)`` shift, or ``None``.
        training: normalise with the batch's statistics.
        momentum: the running statistics' update weight (used by the update only).
        eps: added to the variance before the square root.
        axis_name: a ``jax.vmap`` (or ``shard_map``) axis name the batch statistics are summed
            over too; see :func:`batch_norm_with_update`. Not a torch argument.

    Returns:
        The normalised array, of ``input``'s shape.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> x = jnp.array([[1.0], [3.0]])
        >>> batch_norm(x, jnp.zeros(1), jnp.ones(1), training=True).round(3).ravel().tolist()
        [-1.0, 1.0]
        >>> one = lambda xi: batch_norm(xi[None], None, None, eps=0.0, axis_name="b")[0]
        >>> jax.vmap(one, axis_name="b")(x).ravel().tolist()
        [-1.0, 1.0]
    """
    y, _, _ = batch_norm_with_update(
        input, running_mean, running_var, weight, bias, training, momentum, eps, axis_name=axis_name
    )
    return y


def batch_norm_with_update(
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
    """:func:`batch_norm`, and the running statistics torch's call writes in place, returned.

    In training the running stats come back updated as torch updates them:
    ``(1 - momentum) * old + momentum * batch``, the variance unbiased (``* n / (n - 1)``).
    Otherwise (or with ``running_mean=None``) they come back as given. ``momentum`` may be an
    array (``1 / n`` for torch's cumulative average, ``momentum=None`` in ``BatchNorm``).

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
        ``(output, running_mean, running_var)``: the running statistics updated in training,
        unchanged otherwise.

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.array([[1.0], [3.0]])
        >>> y, mean, var = batch_norm_with_update(x, jnp.zeros(1), jnp.ones(1), training=True)
        >>> round(float(mean[0]), 4), round(float(var[0]), 4)
        (0.2, 1.1)
    """
    if eps < 0 or (training and eps == 0):  # torch's rule: the batch variance may be 0
        raise ValueError(
            f"batch_norm: eps must be positive{' during training' if training else ''}, but "
            f"got {eps}; use a small positive eps such as 1e-5"
        )
    return _batch_norm(
        input, running_mean, running_var, weight, bias, training, momentum, eps, axis_name
    )


def _batch_norm(
    input: jax.Array,
    running_mean: jax.Array | None,
    running_var: jax.Array | None,
    weight: jax.Array | None,
    bias: jax.Array | None,
    training: bool,
    momentum: float | jax.Array,
    eps: float,
    axis_name: Hashable | None,
) -> tuple[jax.Array, jax.Array | None, jax.Array | None]:
    """:func:`batch_norm_with_update` without torch's Python-level ``eps`` check (which
    ``instance_norm``, calling ATen's batch norm directly, does not make)."""
    if input.ndim < 2 and input.size:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {input.shape}")
    if input.size == 0 and axis_name is None:
        # torch: an empty batch normalises nothing and leaves the running stats as they were
        y = input if input.ndim < 2 else _affine(input, weight, bias)
        return y, running_mean, running_var
    axes = (0, *range(2, input.ndim))
    n = input.size // input.shape[1]
    if axis_name is not None:
        n *= jax.lax.psum(1, axis_name)  # a Python int: the named axis' size
        if n == 0:
            return _affine(input, weight, bias), running_mean, running_var
    if running_mean is None or training:
        if training and n <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {input.shape}; use a batch of 2 or more, or train=False"
            )
        if axis_name is None:
            mean = jnp.mean(input, axis=axes)
        else:
            # Sums, not means, cross the named axis: every call then weighs its values alike.
            mean = jax.lax.psum(jnp.sum(input, axis=axes), axis_name) / n
        centred = input - _per_channel(mean, input.ndim)
        sq = jnp.sum(jnp.square(centred), axis=axes)
        var = (sq if axis_name is None else jax.lax.psum(sq, axis_name)) / n
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


def instance_norm(
    input: jax.Array,
    running_mean: jax.Array | None = None,
    running_var: jax.Array | None = None,
    weight: jax.Array | None = None,
    bias: jax.Array | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> jax.Array:
    """torch's ``F.instance_norm`` on ``(N, C, *)``: each example's channels normalised alone.

    ``use_input_stats=True`` normalises each ``(example, channel)`` with its own mean and biased
    variance over the spatial axes; ``False`` uses the running statistics instead. The running
    statistics torch updates in place come from :func:`instance_norm_with_update`.

    Args:
        input: ``(N, C, *)`` with at least one spatial axis.
        running_mean: the ``(C,)`` running mean, or ``None``.
        running_var: the ``(C,)`` running variance, or ``None``.
        weight: the ``(C,)`` scale, or ``None``.
        bias: the ``(C,)`` shift, or ``None``.
        use_input_stats: normalise with each instance's statistics (else the running ones).
        momentum: the running statistics' update weight (used by the update only).
        eps: added to the variance before the square root.

    Returns:
        The normalised array, of ``input``'s shape.

    Example:
        >>> import jax.numpy as jnp
        >>> instance_norm(jnp.array([[[1.0, 3.0], [0.0, 4.0]]]), eps=0.0).tolist()
        [[[-1.0, 1.0], [-1.0, 1.0]]]
    """
    y, _, _ = instance_norm_with_update(
        input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
    )
    return y


def instance_norm_with_update(
    input: jax.Array,
    running_mean: jax.Array | None = None,
    running_var: jax.Array | None = None,
    weight: jax.Array | None = None,
    bias: jax.Array | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[jax.Array, jax.Array | None, jax.Array | None]:
    """:func:`instance_norm`, and the running statistics torch's call writes in place, returned.

    As torch, it is batch norm over ``(1, N * C, *)``: with ``use_input_stats`` the running
    statistics are updated per instance and then averaged over the batch.

    Args:
        input: ``(N, C, *)`` with at least one spatial axis.
        running_mean: the ``(C,)`` running mean, or ``None``.
        running_var: the ``(C,)`` running variance, or ``None``.
        weight: the ``(C,)`` scale, or ``None``.
        bias: the ``(C,)`` shift, or ``None``.
        use_input_stats: normalise with each instance's statistics and update the running ones.
        momentum: the running statistics' update weight.
        eps: added to the variance before the square root.

    Returns:
        ``(output, running_mean, running_var)``.

    Example:
        >>> import jax.numpy as jnp
        >>> x = jnp.array([[[1.0, 3.0]], [[0.0, 4.0]]])
        >>> _, mean, var = instance_norm_with_update(x, jnp.zeros(1), jnp.ones(1), momentum=1.0)
        >>> mean.tolist(), var.tolist()
        ([2.0], [5.0])
    """
    if input.ndim < 3:
        raise ValueError(
            f"instance_norm: expected input of shape (N, C, *) with a spatial axis, got "
            f"{input.shape}; add the batch axis (or use batch_norm for (N, C))"
        )
    n, c = input.shape[:2]
    if use_input_stats and math.prod(input.shape[2:]) <= 1:
        raise ValueError(
            f"instance_norm: expected more than 1 spatial element when training, got input of "
            f"shape {input.shape}; use a larger input or use_input_stats=False"
        )

    def tiled(v: jax.Array | None) -> jax.Array | None:
        return None if v is None else jnp.tile(v, n)

    # an explicit size, not -1: an empty batch has nothing to infer it from
    flat = jnp.reshape(input, (1, n * c, *input.shape[2:]))
    y, mean, var = _batch_norm(
        flat,
        tiled(running_mean),
        tiled(running_var),
        None,
        None,
        use_input_stats,
        momentum,
        eps,
        None,
    )
    y = _affine(jnp.reshape(y, input.shape), weight, bias)
    if use_input_stats and running_mean is not None and mean is not None and n:
        running_mean = jnp.mean(jnp.reshape(mean, (n, c)), axis=0)
    if use_input_stats and running_var is not None and var is not None and n:
        running_var = jnp.mean(jnp.reshape(var, (n, c)), axis=0)
    return y, running_mean, running_var


@jax.custom_jvp
def _fused_multiply_add(a: jax.Array, b: jax.Array, c: jax.Array) -> jax.Array:
    """``a * b + c`` rounded once, as a hardware FMA: Dekker's exact product ``p + err``, then
    ``(p + c) + err`` (exact where ``p + c`` cancels, as in a normalised constant)."""
    p = a * b
    bits = jnp.finfo(a.dtype).nmant + 1
    splitter = np.asarray(2.0 ** ((bits + 1) // 2) + 1, a.dtype)

    def split(v: jax.Array) -> tuple[jax.Array, jax.Array]:
        t = splitter * v
        hi = t - (t - v)
        return hi, v - hi

    (ah, al), (bh, bl) = split(a), split(b)
    err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return (p + c) + err


@_fused_multiply_add.defjvp
def _fused_multiply_add_jvp(
    primals: tuple[jax.Array, ...], tangents: tuple[jax.Array, ...]
) -> tuple[jax.Array, jax.Array]:
    (a, b, c), (da, db, dc) = primals, tangents
    return _fused_multiply_add(a, b, c), da * b + a * db + dc


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
    # The input's gradient is materialised: left to itself XLA fuses the gradients of a stack of
    # layer norms and residual adds into one loop that recomputes each one per element (a
    # transformer's step spent a third of its time there on XLA:CPU).
    input = _materialized_cotangent(input)
    mean = jnp.mean(input, axis=axes, keepdims=True)
    rstd = 1 / jnp.sqrt(jnp.mean(jnp.square(input - mean), axis=axes, keepdims=True) + eps)
    y = (input - mean) * rstd
    lead = (1,) * (input.ndim - len(shape))
    if weight is not None:
        # torch's weight gradient sums dy * (rstd * x - rstd * mean), that difference taken in
        # one fused multiply-add: on a one-value group it is the rounding of rstd * mean, not 0
        fused = _fused_multiply_add(
            input, jnp.broadcast_to(rstd, input.shape), jnp.broadcast_to(-rstd * mean, input.shape)
        )
        # (not stop_gradient: a second derivative in input and weight goes through it)
        y = _times_weight(y, fused, jnp.reshape(weight, lead + shape))
    if bias is not None:
        y = y + jnp.reshape(bias, lead + shape)
    return y


@jax.custom_jvp
def _times_weight(y: jax.Array, y_for_weight: jax.Array, weight: jax.Array) -> jax.Array:
    """``y * weight``, whose derivative in ``weight`` is ``y_for_weight`` (torch's rounding)."""
    return y * weight


@_times_weight.defjvp
def _times_weight_jvp(
    primals: tuple[jax.Array, ...], tangents: tuple[jax.Array, ...]
) -> tuple[jax.Array, jax.Array]:
    (y, y_for_weight, weight), (dy, _, dweight) = primals, tangents
    return y * weight, dy * weight + y_for_weight * dweight


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


def local_response_norm(
    input: jax.Array, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> jax.Array:
    """torch's ``F.local_response_norm`` on ``(N, C, *)``: divide by neighbouring channels' energy.

    ``input / (k + alpha * mean(input**2 over size channels))**beta``, the window centred on each
    channel and zero-padded at the ends (its mean still divides by ``size``, as torch's).

    Args:
        input: ``(N, C, *)``, three axes or more.
        size: how many neighbouring channels the window spans.
        alpha: the energy's multiplier.
        beta: the exponent.
        k: the additive constant.

    Returns:
        An array of ``input``'s shape.

    Example:
        >>> import jax.numpy as jnp
        >>> local_response_norm(jnp.ones((1, 3, 1)), 2, alpha=1.0, beta=1.0, k=0.0).ravel().tolist()
        [2.0, 1.0, 1.0]
    """
    if input.ndim < 3:
        raise ValueError(
            f"local_response_norm: expected 3D or higher dimensionality input (got {input.ndim} "
            f"dimensions, shape {input.shape}); give (N, C, *)"
        )
    if input.size == 0:
        return input
    pads = [(0, 0)] * input.ndim
    pads[1] = (size // 2, (size - 1) // 2)
    squares = jnp.pad(jnp.square(input), pads)
    window = (1, size) + (1,) * (input.ndim - 2)
    zero = np.zeros((), squares.dtype)  # a concrete 0: JAX then knows the window sum's VJP
    energy = lax.reduce_window(squares, zero, lax.add, window, (1,) * input.ndim, "VALID") / size
    return input / (energy * alpha + k) ** beta


@jax.custom_jvp
def _materialized_cotangent(x: jax.Array) -> jax.Array:
    """The identity, whose tangent (and so, transposed, its cotangent) passes
    ``lax.optimization_barrier``: computed once and stored, never fused into its consumers."""
    return x


@_materialized_cotangent.defjvp
def _materialized_cotangent_jvp(
    primals: tuple[jax.Array], tangents: tuple[jax.Array]
) -> tuple[jax.Array, jax.Array]:
    return primals[0], lax.optimization_barrier(tangents[0])
