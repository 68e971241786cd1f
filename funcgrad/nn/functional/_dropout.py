"""Dropout as pure functions: the random mask comes from an explicit ``key``.

Plain dropout zeroes entries and rescales by ``1 / (1 - p)``; the feature (channel) forms draw
one mask value per ``(example, channel)``; alpha dropout (for SELU networks) sets dropped entries
to SELU's negative saturation and applies the affine map that keeps mean 0 and variance 1.
"""

from __future__ import annotations

import math

import jax

__all__ = [
    "alpha_dropout",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
]

# -SELU's negative saturation, scale * alpha, as torch's ATen writes it
_SELU_SATURATION = 1.7580993408473766


def _check_p(p: float, name: str) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: p={p} is not a probability; use 0 <= p <= 1")


def _masked(
    input: jax.Array, p: float, key: jax.Array | None, mask_shape: tuple[int, ...], name: str
) -> jax.Array:
    """``input * mask / (1 - p)`` with ``mask ~ Bernoulli(1 - p)`` of ``mask_shape`` (broadcast)."""
    if p == 0.0:
        return input
    if p == 1.0:
        return input * 0  # torch's zeros (no division by 1 - p = 0, so no NaN in the gradient)
    if key is None:
        raise ValueError(f"{name}: training with p={p} needs a random key; pass key=")
    keep = jax.random.bernoulli(key, 1.0 - p, mask_shape)
    return input * (keep.astype(input.dtype) * (1.0 / (1.0 - p)))


def _alpha_masked(
    input: jax.Array, p: float, key: jax.Array | None, mask_shape: tuple[int, ...], name: str
) -> jax.Array:
    """torch's alpha dropout: ``a * (input * keep + alpha' * (keep - 1)) + alpha' * a * p``."""
    if p == 0.0 or input.size == 0:
        return input
    if p == 1.0:
        return input * 0  # torch's zeros
    if key is None:
        raise ValueError(f"{name}: training with p={p} needs a random key; pass key=")
    keep = jax.random.bernoulli(key, 1.0 - p, mask_shape).astype(input.dtype)
    alpha = _SELU_SATURATION
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    shift = (keep - 1) * (alpha * a) + alpha * a * p  # -alpha' * a where dropped, then recentred
    return input * (keep * a) + shift


def _feature_mask(input: jax.Array, batched: bool) -> tuple[int, ...]:
    """One mask value per (example, channel): ``(N, C, 1, ...)``, or ``(C, 1, ...)`` unbatched."""
    lead = 2 if batched else 1
    return input.shape[:lead] + (1,) * (input.ndim - lead)


def dropout(
    input: jax.Array,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    key: jax.Array | None = None,
) -> jax.Array:
    """torch's ``F.dropout``: zero each entry with probability ``p``, scale the rest by ``1/(1-p)``.

    The mask is drawn from ``key``: the same key gives the same mask, and the gradient uses it too.
    ``training=False`` is the identity. ``inplace`` is accepted for torch's signature and ignored (a
    pure function returns a new array).

    Args:
        input: the values to drop out.
        p: the probability of zeroing each entry.
        training: drop out when ``True``; the identity when ``False``.
        inplace: accepted for torch's signature; JAX arrays are never changed in place.
        key: the random key that draws the mask; needed when ``training`` and ``p > 0``.

    Returns:
        An array of ``input``'s shape and dtype.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> y = dropout(jnp.ones(8), 0.5, key=jax.random.key(0))
        >>> sorted(set(y.tolist())) in ([0.0, 2.0], [2.0], [0.0])
        True
    """
    del inplace
    _check_p(p, "dropout")
    if not training:
        return input
    return _masked(input, p, key, input.shape, "dropout")


def dropout2d(
    input: jax.Array,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    key: jax.Array | None = None,
) -> jax.Array:
    """torch's ``F.dropout2d``: zero whole channels of ``(N, C, H, W)`` with probability ``p``.

    A 3-D input is read as ``(N, C, L)``, as torch 2.13 does (it warns that it does). Same ``key``
    and ``inplace`` rules as :func:`dropout`.

    Args:
        input: the values to drop out, ``(N, C, H, W)`` or ``(C, H, W)``.
        p: the probability of zeroing each channel.
        training: drop out when ``True``; the identity when ``False``.
        inplace: accepted for torch's signature; JAX arrays are never changed in place.
        key: the random key that draws the mask; needed when ``training`` and ``p > 0``.

    Returns:
        An array of ``input``'s shape and dtype.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> y = dropout2d(jnp.ones((1, 4, 2, 2)), 0.5, key=jax.random.key(0))
        >>> bool((y.min(axis=(2, 3)) == y.max(axis=(2, 3))).all())
        True
    """
    del inplace
    _check_p(p, "dropout2d")
    if input.ndim not in (3, 4):
        raise ValueError(
            f"dropout2d: expected (N, C, H, W) input, got shape {input.shape}; reshape it to 4-D"
        )
    if not training:
        return input
    return _masked(input, p, key, input.shape[:2] + (1,) * (input.ndim - 2), "dropout2d")


def _feature_dropout(
    input: jax.Array,
    p: float,
    training: bool,
    key: jax.Array | None,
    ranks: tuple[int, int],
    name: str,
) -> jax.Array:
    """Channel dropout of ``name``: ``ranks`` are the unbatched and batched input ranks."""
    _check_p(p, name)
    if input.ndim not in ranks:
        raise ValueError(
            f"{name}: expected {ranks[0]}D or {ranks[1]}D input, but received a {input.ndim}D "
            f"input of shape {input.shape}; give (N, C, *spatial) or one example (C, *spatial)"
        )
    if not training:
        return input
    return _masked(input, p, key, _feature_mask(input, input.ndim == ranks[1]), name)


def dropout1d(
    input: jax.Array,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    key: jax.Array | None = None,
) -> jax.Array:
    """torch's ``F.dropout1d``: zero whole channels of ``(N, C, L)`` or ``(C, L)`` with probability ``p``.

    Same ``key`` and ``inplace`` rules as :func:`dropout`.

    Args:
        input: ``(N, C, L)`` or one example ``(C, L)``.
        p: the probability of zeroing each channel.
        training: drop out when ``True``; the identity when ``False``.
        inplace: accepted for torch's signature; JAX arrays are never changed in place.
        key: the random key that draws the mask; needed when ``training`` and ``0 < p < 1``.

    Returns:
        An array of ``input``'s shape and dtype.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> y = dropout1d(jnp.ones((2, 6, 5)), 0.5, key=jax.random.key(0))
        >>> bool((y.min(axis=2) == y.max(axis=2)).all())
        True
    """
    del inplace
    return _feature_dropout(input, p, training, key, (2, 3), "dropout1d")


def dropout3d(
    input: jax.Array,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    key: jax.Array | None = None,
) -> jax.Array:
    """torch's ``F.dropout3d``: zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)``.

    Same ``key`` and ``inplace`` rules as :func:`dropout`.

    Args:
        input: ``(N, C, D, H, W)`` or one example ``(C, D, H, W)``.
        p: the probability of zeroing each channel.
        training: drop out when ``True``; the identity when ``False``.
        inplace: accepted for torch's signature; JAX arrays are never changed in place.
        key: the random key that draws the mask; needed when ``training`` and ``0 < p < 1``.

    Returns:
        An array of ``input``'s shape and dtype.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> y = dropout3d(jnp.ones((2, 4, 2, 2, 2)), 0.5, key=jax.random.key(0))
        >>> bool((y.min(axis=(2, 3, 4)) == y.max(axis=(2, 3, 4))).all())
        True
    """
    del inplace
    return _feature_dropout(input, p, training, key, (4, 5), "dropout3d")


def alpha_dropout(
    input: jax.Array,
    p: float = 0.5,
    training: bool = False,
    inplace: bool = False,
    *,
    key: jax.Array | None = None,
) -> jax.Array:
    """torch's ``F.alpha_dropout``: dropout that keeps a SELU network's mean 0 and variance 1.

    Dropped entries become SELU's negative saturation ``-1.7581``; then every entry goes through
    the affine map ``a * x + b`` that restores the input's mean and variance. As torch's,
    ``training`` defaults to ``False`` (the identity). Same ``key`` rules as :func:`dropout`.

    Args:
        input: the values to drop out.
        p: the probability of dropping each entry.
        training: drop out when ``True``; the identity when ``False``.
        inplace: accepted for torch's signature; JAX arrays are never changed in place.
        key: the random key that draws the mask; needed when ``training`` and ``0 < p < 1``.

    Returns:
        An array of ``input``'s shape and dtype.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> x = jax.random.normal(jax.random.key(0), (100_000,))
        >>> y = alpha_dropout(x, 0.2, training=True, key=jax.random.key(1))
        >>> abs(round(float(y.mean()), 1)), round(float(y.var()), 1)
        (0.0, 1.0)
    """
    del inplace
    _check_p(p, "alpha_dropout")
    if not training:
        return input
    return _alpha_masked(input, p, key, input.shape, "alpha_dropout")


def feature_alpha_dropout(
    input: jax.Array,
    p: float = 0.5,
    training: bool = False,
    inplace: bool = False,
    *,
    key: jax.Array | None = None,
) -> jax.Array:
    """torch's ``F.feature_alpha_dropout``: :func:`alpha_dropout` of whole channels of ``(N, C, *)``.

    Args:
        input: ``(N, C, *)``.
        p: the probability of dropping each channel.
        training: drop out when ``True``; the identity when ``False`` (the default, as torch's).
        inplace: accepted for torch's signature; JAX arrays are never changed in place.
        key: the random key that draws the mask; needed when ``training`` and ``0 < p < 1``.

    Returns:
        An array of ``input``'s shape and dtype.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> y = feature_alpha_dropout(jnp.ones((2, 6, 3)), 0.5, True, key=jax.random.key(0))
        >>> bool((y.min(axis=2) == y.max(axis=2)).all())
        True
    """
    del inplace
    _check_p(p, "feature_alpha_dropout")
    if not training or p == 0.0 or input.size == 0:
        return input
    if input.ndim < 2:
        raise ValueError(
            f"feature_alpha_dropout: feature dropout requires at least 2 dimensions in the input, "
            f"got shape {input.shape}; give (N, C, *)"
        )
    return _alpha_masked(input, p, key, _feature_mask(input, True), "feature_alpha_dropout")
