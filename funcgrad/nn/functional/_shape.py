"""Shape functions: ``flatten``, ``unflatten``, ``pixel_shuffle``, ``pixel_unshuffle`` and
``channel_shuffle``: reshapes and transposes, no arithmetic."""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp

__all__ = [
    "channel_shuffle",
    "flatten",
    "native_channel_shuffle",
    "pixel_shuffle",
    "pixel_unshuffle",
    "unflatten",
]


def flatten(input: jax.Array, start_dim: int = 0, end_dim: int = -1) -> jax.Array:
    """Merge axes ``start_dim..end_dim`` into one, as ``torch.flatten`` (empty batches too).

    Args:
        input: the array to flatten.
        start_dim: the first axis to merge (negative counts from the end).
        end_dim: the last axis to merge (negative counts from the end).

    Returns:
        ``input`` reshaped, with axes ``start_dim..end_dim`` merged into one.

    Example:
        >>> import jax.numpy as jnp
        >>> flatten(jnp.ones((2, 3, 4)), 1).shape, flatten(jnp.ones((0, 3, 4, 5)), 1).shape
        ((2, 12), (0, 60))
    """
    if input.ndim == 0:
        return input.reshape(1)
    start, end = start_dim % input.ndim, end_dim % input.ndim
    if start > end:
        raise ValueError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape "
            f"{tuple(input.shape)}"
        )
    # The merged size written out: reshape's -1 cannot be inferred when another axis is 0.
    merged = math.prod(input.shape[start : end + 1])
    return input.reshape(input.shape[:start] + (merged,) + input.shape[end + 1 :])


def unflatten(input: jax.Array, dim: int, sizes: Sequence[int]) -> jax.Array:
    """``torch.unflatten``: split axis ``dim`` into ``sizes`` (one of them may be ``-1``).

    Args:
        input: the array to reshape.
        dim: the axis to split (negative counts from the end).
        sizes: the new axes' sizes; their product is ``input.shape[dim]`` (one ``-1`` is inferred).

    Returns:
        ``input`` reshaped, with axis ``dim`` replaced by ``sizes``.

    Example:
        >>> import jax.numpy as jnp
        >>> unflatten(jnp.ones((2, 12)), 1, (3, -1)).shape
        (2, 3, 4)
    """
    if input.ndim == 0:
        raise ValueError("unflatten: dimension specified as 0 but tensor has no dimensions")
    if not -input.ndim <= dim < input.ndim:
        raise ValueError(
            f"unflatten: dim {dim} is out of range for an input of shape {tuple(input.shape)}"
        )
    axis, sizes = dim % input.ndim, tuple(int(s) for s in sizes)
    if not sizes:
        raise ValueError("unflatten: sizes must be non-empty; give the new axes' sizes")
    n, unknown = input.shape[axis], [i for i, s in enumerate(sizes) if s == -1]
    known = math.prod(s for s in sizes if s != -1)
    if len(unknown) > 1 or any(s < -1 for s in sizes):
        raise ValueError(f"unflatten: sizes {list(sizes)} may hold one -1 and sizes >= 0 only")
    if unknown and known:
        sizes = tuple(n // known if s == -1 else s for s in sizes)
    if math.prod(sizes) != n or (unknown and not known):
        raise ValueError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
            f"{dim} ({n}) in the input tensor; give sizes whose product is {n}"
        )
    return input.reshape(input.shape[:axis] + sizes + input.shape[axis + 1 :])


def _check_image(input: jax.Array, name: str, factor: int, what: str) -> None:
    if input.ndim < 3:
        raise ValueError(
            f"{name} expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s); give (*, C, H, W)"
        )
    if factor <= 0:
        raise ValueError(f"{name} expects a positive {what}, but got {factor}")


def pixel_shuffle(input: jax.Array, upscale_factor: int) -> jax.Array:
    """torch's ``F.pixel_shuffle``: ``(*, C r², H, W)`` to ``(*, C, H r, W r)``.

    Args:
        input: ``(*, C * r**2, H, W)``.
        upscale_factor: ``r``.

    Returns:
        ``(*, C, H * r, W * r)``.

    Example:
        >>> import jax.numpy as jnp
        >>> pixel_shuffle(jnp.arange(4.0).reshape(1, 4, 1, 1), 2).tolist()
        [[[[0.0, 1.0], [2.0, 3.0]]]]
    """
    r = upscale_factor
    _check_image(input, "pixel_shuffle", r, "upscale_factor")
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise ValueError(
            f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
            f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}"
        )
    nb, oc = len(batch), c // (r * r)
    x = input.reshape(*batch, oc, r, r, h, w)
    x = x.transpose(*range(nb), nb, nb + 3, nb + 1, nb + 4, nb + 2)  # (*, C, H, r, W, r)
    return x.reshape(*batch, oc, h * r, w * r)


def pixel_unshuffle(input: jax.Array, downscale_factor: int) -> jax.Array:
    """torch's ``F.pixel_unshuffle``, the inverse of :func:`pixel_shuffle`: ``(*, C, H r, W r)``
    to ``(*, C r², H, W)``.

    Args:
        input: ``(*, C, H * r, W * r)``.
        downscale_factor: ``r``.

    Returns:
        ``(*, C * r**2, H, W)``.

    Example:
        >>> import jax.numpy as jnp
        >>> pixel_unshuffle(jnp.arange(4.0).reshape(1, 1, 2, 2), 2).ravel().tolist()
        [0.0, 1.0, 2.0, 3.0]
    """
    r = downscale_factor
    _check_image(input, "pixel_unshuffle", r, "downscale_factor")
    *batch, c, h, w = input.shape
    for axis, n in (("height", h), ("width", w)):
        if n % r:
            raise ValueError(
                f"pixel_unshuffle expects {axis} to be divisible by downscale_factor, but input "
                f"of shape {tuple(input.shape)} has {axis} {n}, not divisible by {r}"
            )
    nb = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)
    x = x.transpose(*range(nb), nb, nb + 2, nb + 4, nb + 1, nb + 3)  # (*, C, r, r, H, W)
    return x.reshape(*batch, c * r * r, h // r, w // r)


def channel_shuffle(input: jax.Array, groups: int) -> jax.Array:
    """torch's ``F.channel_shuffle`` (ShuffleNet): interleave the ``groups`` of channels of ``(N, C, *)``.

    Channel ``g * (C // groups) + i`` moves to ``i * groups + g``.

    Args:
        input: ``(N, C, *)``, three axes or more, ``C`` divisible by ``groups``.
        groups: how many groups the channels are split into.

    Returns:
        An array of ``input``'s shape.

    Example:
        >>> import jax.numpy as jnp
        >>> channel_shuffle(jnp.arange(6.0).reshape(1, 6, 1), 2).ravel().tolist()
        [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    """
    if input.ndim < 3:
        raise ValueError(
            f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.ndim} dimension(s); give (N, C, *)"
        )
    if groups <= 0:
        raise ValueError(
            f"channel_shuffle: number of groups to divide channels in must be positive, got {groups}"
        )
    n, c, *rest = input.shape
    if c % groups:
        raise ValueError(
            f"channel_shuffle: number of channels must be divisible by groups. Got {c} channels "
            f"and {groups} groups; pick groups dividing {c}"
        )
    x = input.reshape(n, groups, c // groups, *rest)
    return jnp.swapaxes(x, 1, 2).reshape(input.shape)


native_channel_shuffle = channel_shuffle
"""torch's ``F.native_channel_shuffle``: the same shuffle as :func:`channel_shuffle`."""
