"""``embedding``: a lookup of rows of ``weight``, as ``torch.nn.functional.embedding``, with its
options; ``embedding_renorm``: the table torch's ``max_norm`` leaves behind."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["embedding", "embedding_renorm"]


def embedding(
    input: jax.Array,
    weight: jax.Array,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> jax.Array:
    """Rows ``weight[input]``, with torch's options; the ``padding_idx`` row gets no gradient.

    Indices outside ``[0, num_embeddings)`` raise in an eager call. Under ``jax.jit``, where a
    value cannot raise, their rows come out as NaN (never a silently clamped row).

    ``max_norm``: torch renormalises the looked-up rows of ``weight`` *in place* (under
    ``no_grad``) to a ``norm_type``-norm of at most ``max_norm``, then looks them up. A pure
    function cannot change its argument, so here the looked-up rows are renormalised on the way
    out: the output is torch's, and so is the gradient (torch's renorm is not differentiated: the
    weight's gradient is the plain lookup's). The renormalised table torch leaves behind is
    :func:`embedding_renorm`'s result; assign it to the params to follow torch step for step.

    ``scale_grad_by_freq``: each row's gradient is divided by how often its index occurs in
    ``input``. ``sparse``: accepted for torch's signature; JAX's gradients are dense arrays (the
    rows not looked up get exact zeros), so it changes nothing, except that torch refuses it
    with ``scale_grad_by_freq`` and so does this function.

    Args:
        input: integer indices, of any shape.
        weight: the ``(num_embeddings, embedding_dim)`` table.
        padding_idx: a row that gets no gradient, or ``None`` (negative counts from the end).
        max_norm: renormalise looked-up rows whose norm exceeds it, or ``None``.
        norm_type: the ``p`` of the ``p``-norm ``max_norm`` bounds.
        scale_grad_by_freq: scale each row's gradient by ``1 / count`` in ``input``.
        sparse: accepted and ignored (see above).

    Returns:
        ``weight[input]``, of shape ``(*input.shape, embedding_dim)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> w = jnp.arange(6.0).reshape(3, 2)
        >>> embedding(jnp.array([[2, 0]]), w).tolist()
        [[[4.0, 5.0], [0.0, 1.0]]]
        >>> jax.grad(lambda w: embedding(jnp.array([0, 1]), w, padding_idx=0).sum())(w).tolist()
        [[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
        >>> g = jax.grad(lambda w: embedding(jnp.array([1, 1]), w, scale_grad_by_freq=True).sum())
        >>> g(w).tolist()
        [[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    """
    if sparse and scale_grad_by_freq:
        raise ValueError("embedding: scale_grad_by_freq not supported with sparse gradients")
    num = weight.shape[0]
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be (num_embeddings, dim), got {weight.shape}")
    index = _checked_index(input, num)
    rows = jnp.take(weight, index, axis=0, mode="fill", fill_value=jnp.nan)
    # The value comes from ``value``; the gradient flows through ``rows - stop_gradient(rows)``
    # (exactly 0), scaled per position: 0 on the padding row, 1 / count with scale_grad_by_freq.
    value = jax.lax.stop_gradient(rows)
    if max_norm is not None:
        value = value * _renorm_scale(value, max_norm, norm_type)
    scale = jnp.ones(index.shape, weight.dtype)
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx={padding_idx} must be within num_embeddings")
        scale = jnp.where(index == padding_idx % num, 0.0, scale).astype(weight.dtype)
    if scale_grad_by_freq:
        counts = jnp.zeros(num + 1, weight.dtype).at[index.ravel()].add(1.0, mode="drop")
        scale = scale / jnp.take(counts, index, mode="clip")
    if padding_idx is None and not scale_grad_by_freq and max_norm is None:
        return rows
    return value + (rows - jax.lax.stop_gradient(rows)) * scale[..., None]


def embedding_renorm(
    input: jax.Array, weight: jax.Array, max_norm: float, norm_type: float = 2.0
) -> jax.Array:
    """The table torch's ``F.embedding(input, weight, max_norm=...)`` leaves behind in place.

    Each row that ``input`` looks up and whose ``norm_type``-norm exceeds ``max_norm`` is scaled
    to ``max_norm / (norm + 1e-7)`` of itself (torch's ``embedding_renorm_``); the other rows are
    unchanged. Not differentiated, as torch's is done under ``no_grad``.

    Args:
        input: the integer indices of the lookup, of any shape (each row renormalised once).
        weight: the ``(num_embeddings, embedding_dim)`` table.
        max_norm: the greatest norm a looked-up row keeps.
        norm_type: the ``p`` of the ``p``-norm (``inf`` too).

    Returns:
        The renormalised table, of ``weight``'s shape and dtype.

    Example:
        >>> w = jnp.array([[3.0, 4.0], [0.3, 0.4]])
        >>> r = embedding_renorm(jnp.array([0, 1]), w, 1.0)
        >>> round(float(jnp.linalg.norm(r[0])), 4), r[1].tolist() == w[1].tolist()
        (1.0, True)
    """
    w = jax.lax.stop_gradient(weight)
    index = _checked_index(input, w.shape[0])
    hit = jnp.zeros(w.shape[0], bool).at[index.ravel()].set(True, mode="drop")
    return jnp.where(hit[:, None], w * _renorm_scale(w, max_norm, norm_type), w)


def _renorm_scale(rows: jax.Array, max_norm: float, norm_type: float) -> jax.Array:
    """``max_norm / (norm + 1e-7)`` where a row's norm exceeds ``max_norm``, else 1."""
    if norm_type == math.inf:
        norm = jnp.max(jnp.abs(rows), axis=-1, keepdims=True)
    else:
        norm = jnp.sum(jnp.abs(rows) ** norm_type, axis=-1, keepdims=True) ** (1.0 / norm_type)
    return jnp.where(norm > max_norm, max_norm / (norm + 1e-7), 1.0).astype(rows.dtype)


def _checked_index(input: jax.Array, num: int) -> jax.Array:
    """Integer indices, out-of-range ones raising eagerly and sent past the table under jit."""
    if not jnp.issubdtype(jnp.result_type(input), jnp.integer):
        raise ValueError(
            f"embedding: input must hold integer indices, got {jnp.result_type(input)}"
        )
    if not isinstance(input, jax.core.Tracer):
        idx = np.asarray(input)
        if idx.size and (idx.min() < 0 or idx.max() >= num):
            bad = idx[(idx < 0) | (idx >= num)].ravel()[0]
            raise ValueError(
                f"embedding: index {bad} is out of range for {num} embeddings; "
                f"use indices in [0, {num}) or a larger num_embeddings"
            )
    # take() would wrap negative indices; send them out of range too, so they fill with NaN.
    return jnp.where(input < 0, num, input)
