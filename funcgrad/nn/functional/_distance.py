"""Distances and norms between vectors: torch's ``F.cosine_similarity``, ``F.pairwise_distance``
and ``F.normalize``, with torch's ``eps`` semantics and torch's gradient where a norm is 0.

torch's vector norm has a gradient of 0 where the norm is 0 (``jnp.linalg.norm``'s is NaN there),
so the norm here is :func:`vector_norm`, whose derivative is torch's ``norm_backward``.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

__all__ = ["cosine_similarity", "normalize", "pairwise_distance"]


def vector_norm(x: jax.Array, p: float, axis: int, keepdims: bool = False) -> jax.Array:
    """torch's ``norm(x, p, dim)``: ``(sum |x|**p) ** (1/p)``, ``max |x|`` for ``inf``,
    ``min |x|`` for ``-inf``, the count of non-zeros for 0; gradient 0 where the norm is 0.

    Example:
        >>> import jax
        >>> float(vector_norm(jnp.array([3.0, 4.0]), 2.0, 0))
        5.0
        >>> jax.grad(lambda x: vector_norm(x, 2.0, 0))(jnp.zeros(2)).tolist()
        [0.0, 0.0]
    """
    return _norm(float(p), axis % x.ndim if x.ndim else 0, keepdims, x)


def _norm_value(p: float, axis: int, keepdims: bool, x: jax.Array) -> jax.Array:
    a = jnp.abs(x)
    if p == 0:
        return jnp.sum((x != 0).astype(x.dtype), axis, keepdims=keepdims)
    if p == math.inf:
        return jnp.max(a, axis, keepdims=keepdims, initial=0.0)
    if p == -math.inf:
        return jnp.min(a, axis, keepdims=keepdims)
    if p == 1:
        return jnp.sum(a, axis, keepdims=keepdims)
    if p == 2:
        return jnp.sqrt(jnp.sum(x * x, axis, keepdims=keepdims))
    return jnp.sum(a**p, axis, keepdims=keepdims) ** (1.0 / p)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1, 2))
def _norm(p: float, axis: int, keepdims: bool, x: jax.Array) -> jax.Array:
    return _norm_value(p, axis, keepdims, x)


@_norm.defjvp
def _norm_jvp(
    p: float, axis: int, keepdims: bool, primals: tuple[jax.Array], tangents: tuple[jax.Array]
) -> tuple[jax.Array, jax.Array]:
    (x,), (t,) = primals, tangents
    n = _norm_value(p, axis, True, x)
    if p == 0:
        slope = jnp.zeros_like(x)
    elif p in (math.inf, -math.inf):  # shared equally by the entries that reach the norm
        at = (jnp.abs(x) == n).astype(x.dtype)
        slope = jnp.sign(x) * at / jnp.sum(at, axis, keepdims=True)
    elif p == 1:
        slope = jnp.sign(x)
    elif p == 2:
        slope = jnp.where(n == 0, 0.0, x / jnp.where(n == 0, 1.0, n))
    else:  # sign(x) |x|^(p-1) / n^(p-1), with 0 at x == 0 and where n == 0, as torch's
        scaled = jnp.where(x == 0, 0.0, jnp.sign(x) * jnp.abs(x) ** (p - 1))
        slope = jnp.where(n == 0, 0.0, scaled / jnp.where(n == 0, 1.0, n) ** (p - 1))
    out = n if keepdims else jnp.squeeze(n, axis)
    return out, jnp.sum(slope * t, axis, keepdims=keepdims)


def _broadcast(x1: jax.Array, x2: jax.Array) -> tuple[jax.Array, jax.Array]:
    shape = jnp.broadcast_shapes(x1.shape, x2.shape)
    return jnp.broadcast_to(x1, shape), jnp.broadcast_to(x2, shape)


def cosine_similarity(x1: jax.Array, x2: jax.Array, dim: int = 1, eps: float = 1e-8) -> jax.Array:
    """``sum(x1 / max(|x1|, eps) * x2 / max(|x2|, eps), dim)``, as torch 2.13 computes it.

    Each input is divided by its own norm first (which keeps the result in ``[-1, 1]``); the norms
    are clamped to ``eps`` for the value only, as torch clamps them under ``no_grad``, so the
    gradient is that of the unclamped norm (0 where a norm is 0). The inputs broadcast.

    Args:
        x1: the first vectors.
        x2: the second vectors, broadcastable with ``x1``.
        dim: the axis the vectors lie along.
        eps: the least norm a vector is divided by.

    Returns:
        The broadcast shape without ``dim``.

    Example:
        >>> cosine_similarity(jnp.array([[1.0, 0.0]]), jnp.array([[2.0, 0.0]])).tolist()
        [1.0]
    """
    x1, x2 = _broadcast(x1, x2)
    if x1.ndim == 0:  # torch reads a scalar as a vector of one entry (dim 0 or -1)
        return cosine_similarity(x1[None], x2[None], dim, eps)[()] if dim in (0, -1) else x1[()]
    if not -x1.ndim <= dim < x1.ndim:
        raise ValueError(f"cosine_similarity: dim {dim} is out of range for {x1.ndim}-D inputs")

    def unit(x: jax.Array) -> jax.Array:
        n = vector_norm(x, 2.0, dim, keepdims=True)
        return x / (n + jax.lax.stop_gradient(jnp.maximum(n, eps) - n))

    return jnp.sum(unit(x1) * unit(x2), dim)


def pairwise_distance(
    x1: jax.Array, x2: jax.Array, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> jax.Array:
    """``norm(x1 - x2 + eps, p)`` over the last axis, as torch's (``eps`` is added, not clamped).

    Args:
        x1: ``(N, D)`` or ``(D,)``.
        x2: broadcastable with ``x1``.
        p: the norm's order (``inf``, 0 and fractional orders too).
        eps: added to every difference, which keeps the norm away from 0.
        keepdim: keep the reduced axis, of size 1.

    Returns:
        The distances: the broadcast shape without its last axis (kept, of size 1, with
        ``keepdim``).

    Example:
        >>> round(float(pairwise_distance(jnp.array([3.0, 0.0]), jnp.array([0.0, 4.0]))), 4)
        5.0
    """
    diff = x1 - x2 if x1.ndim == x2.ndim else jnp.subtract(*_broadcast(x1, x2))
    if diff.ndim == 0:
        raise ValueError("pairwise_distance: inputs must have at least one axis (the vectors')")
    return vector_norm(diff + eps, p, -1, keepdim)


def normalize(
    input: jax.Array, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: None = None
) -> jax.Array:
    """``input / max(norm(input, p, dim), eps)``: unit vectors along ``dim``, as torch's.

    Unlike :func:`cosine_similarity`, torch clamps with gradient here: where the norm is below
    ``eps`` the divisor is the constant ``eps``.

    Args:
        input: any shape.
        p: the norm's order.
        dim: the axis the vectors lie along.
        eps: the least divisor.
        out: torch's output tensor; funcgrad returns a new array, so it must be ``None``.

    Returns:
        An array of ``input``'s shape and dtype.

    Example:
        >>> [round(v, 4) for v in normalize(jnp.array([[3.0, 4.0]]))[0].tolist()]
        [0.6, 0.8]
    """
    if out is not None:
        raise ValueError("normalize: out= writes in place, which JAX arrays cannot; use the result")
    if input.ndim == 0:  # torch reads a scalar as a vector of one entry (dim 0 or -1)
        if dim not in (0, -1):
            raise ValueError(f"normalize: dim {dim} is out of range for a 0-D input (use 0 or -1)")
        return normalize(input[None], p, 0, eps)[0]
    n = vector_norm(input, p, dim, keepdims=True)
    return input / jnp.where(n >= eps, n, eps)
