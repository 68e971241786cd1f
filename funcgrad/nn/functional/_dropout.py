"""Dropout as pure functions: the random mask comes from an explicit ``key``."""

from __future__ import annotations

import jax

__all__ = ["dropout", "dropout2d"]


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
        >>> y = dropout(jnp.ones(8), 0.5, key=jax.random.PRNGKey(0))
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
        >>> y = dropout2d(jnp.ones((1, 4, 2, 2)), 0.5, key=jax.random.PRNGKey(0))
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
