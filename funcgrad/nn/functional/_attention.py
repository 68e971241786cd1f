"""Attention as pure functions: torch's ``F.scaled_dot_product_attention`` and
``F.multi_head_attention_forward``.

torch's attention functions take an argument named ``key`` (the keys). funcgrad's random key, which
draws the attention-dropout mask, is therefore the keyword-only ``dropout_key``.

Two mask conventions meet here, as in torch. ``scaled_dot_product_attention``'s boolean
``attn_mask`` is True where a query *may* attend; ``multi_head_attention_forward``'s boolean masks
(``attn_mask``, ``key_padding_mask``) are True where it may *not*. Float masks are added to the
scores in both.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from funcgrad.nn.functional._linear import linear

__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]


def _softmax(scores: jax.Array, safe: bool) -> jax.Array:
    """Softmax over the keys; with ``safe``, a row whose every score is ``-inf`` gives zeros
    (torch's SDPA) instead of NaN (torch's ``softmax``, which ``multi_head_attention_forward``
    uses when it returns the weights)."""
    if not safe:
        return jax.nn.softmax(scores, axis=-1)
    empty = jnp.all(scores == -jnp.inf, axis=-1, keepdims=True)
    # The scores of an empty row are replaced before the softmax, so its gradient has no NaN.
    weights = jax.nn.softmax(jnp.where(empty, 0.0, scores), axis=-1)
    return jnp.where(empty, 0.0, weights)


def _dropout(weights: jax.Array, p: float, key: jax.Array | None, name: str) -> jax.Array:
    """Attention dropout: zero each weight with probability ``p``, scale the rest by 1/(1-p)."""
    if p == 0.0:
        return weights
    if p == 1.0:
        return weights * 0
    if key is None:
        raise ValueError(
            f"{name}: dropout_p={p} draws a random mask; pass dropout_key=jax.random.key(0) "
            "(or dropout_p=0.0)"
        )
    keep = jax.random.bernoulli(key, 1.0 - p, weights.shape)
    return weights * (keep.astype(weights.dtype) * (1.0 / (1.0 - p)))


def _lead(a: jax.Array, ndim: int) -> jax.Array:
    """``a`` with leading axes of size 1 up to ``ndim`` (broadcasting made explicit)."""
    return jnp.reshape(a, (1,) * (ndim - a.ndim) + a.shape)


def _attend(
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    mask: jax.Array | None,
    causal: bool,
    scale: float,
    dropout: tuple[float, jax.Array | None],
    *,
    gqa: bool = False,
    safe: bool = True,
    name: str = "scaled_dot_product_attention",
) -> tuple[jax.Array, jax.Array]:
    """``softmax(q k^T * scale + mask) v`` over ``(..., H, L, E)``; returns ``(output, weights)``.

    ``mask`` is boolean (True = attend) or float (added), broadcast to ``(..., H, L, S)``. With
    ``gqa`` and fewer key heads than query heads, each group of query heads shares one key head by
    broadcasting, with no copy of ``k`` or ``v``. ``dropout`` is ``(p, key)``.
    """
    hq, hk = q.shape[-3] if q.ndim >= 3 else 1, k.shape[-3] if k.ndim >= 3 else 1
    group = hq // hk if gqa and hq != hk else 1
    if group > 1:  # (..., Hk, G, L, E) against (..., Hk, 1, S, E)
        q = jnp.reshape(q, (*q.shape[:-3], hk, group, *q.shape[-2:]))
        k, v = k[..., None, :, :], v[..., None, :, :]
    scores = jnp.einsum("...le,...se->...ls", q * jnp.asarray(scale, q.dtype), k)
    if group > 1:
        scores = jnp.reshape(scores, (*scores.shape[:-4], hq, *scores.shape[-2:]))
    if causal:  # torch's top-left alignment: query i sees keys 0..i
        length, source = scores.shape[-2:]
        allowed = _lead(jnp.tril(jnp.ones((length, source), bool)), scores.ndim)
        scores = jnp.where(allowed, scores, -jnp.inf)
    if mask is not None:
        mask = _lead(mask, scores.ndim)
        scores = jnp.where(mask, scores, -jnp.inf) if mask.dtype == bool else scores + mask
    weights = _softmax(scores, safe and mask is not None)
    dropped = _dropout(weights, dropout[0], dropout[1], name)
    if group > 1:
        dropped = jnp.reshape(dropped, (*dropped.shape[:-3], hk, group, *dropped.shape[-2:]))
    out = jnp.einsum("...ls,...sv->...lv", dropped, v)
    if group > 1:
        out = jnp.reshape(out, (*out.shape[:-4], hq, *out.shape[-2:]))
    return out, weights


def scaled_dot_product_attention(
    query: jax.Array,
    key: jax.Array,
    value: jax.Array,
    attn_mask: jax.Array | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
    *,
    dropout_key: jax.Array | None = None,
) -> jax.Array:
    """torch's ``F.scaled_dot_product_attention``: ``softmax(Q K^T * scale + mask) V``.

    Shapes are torch's: ``query (..., Hq, L, E)``, ``key (..., H, S, E)``, ``value (..., H, S, Ev)``
    give ``(..., Hq, L, Ev)``; the leading axes broadcast.

    Args:
        query: the queries.
        key: the keys (torch's name; the random key is ``dropout_key``).
        value: the values.
        attn_mask: broadcastable to ``(..., L, S)``: boolean, True where a query may attend (a
            query that may attend nowhere gives zeros, as in torch), or float, added to the scores.
        dropout_p: the probability of zeroing each attention weight; torch applies it whenever it
            is given, so pass 0.0 in evaluation.
        is_causal: query ``i`` attends to keys ``0..i`` only (lower-triangular, aligned top-left
            when ``L != S``, as in torch); not together with ``attn_mask``.
        scale: the factor of the scores; ``1 / sqrt(E)`` when ``None``.
        enable_gqa: grouped-query attention: ``Hq`` is a multiple of ``H`` and query head ``h``
            uses key and value head ``h // (Hq / H)``.
        dropout_key: the random key of the dropout mask (keyword only: ``key`` is torch's keys),
            needed when ``dropout_p > 0``.

    Returns:
        The attention output, ``(..., Hq, L, Ev)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> q = jax.random.normal(jax.random.key(0), (2, 4, 5, 8))   # (N, heads, L, E)
        >>> scaled_dot_product_attention(q, q, q, is_causal=True).shape
        (2, 4, 5, 8)
        >>> k = jax.random.key(1)
        >>> scaled_dot_product_attention(q, q, q, dropout_p=0.1, dropout_key=k).shape
        (2, 4, 5, 8)
    """
    name = "scaled_dot_product_attention"
    if is_causal and attn_mask is not None:
        raise ValueError(f"{name}: give attn_mask or is_causal=True, not both (torch refuses both)")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{name}: dropout_p={dropout_p} is not a probability; use 0 <= p <= 1")
    if min(query.ndim, key.ndim, value.ndim) < 2 or query.shape[-1] != key.shape[-1]:
        raise ValueError(
            f"{name}: query (..., L, E), key (..., S, E) and value (..., S, Ev) expected; got "
            f"shapes {query.shape}, {key.shape} and {value.shape}"
        )
    if enable_gqa and min(query.ndim, key.ndim, value.ndim) >= 3:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hk != hv or hq % hk:
            raise ValueError(
                f"{name}: enable_gqa needs as many key as value heads, and query heads a multiple "
                f"of them; got {hq} query, {hk} key and {hv} value heads"
            )
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    out, _ = _attend(
        query, key, value, attn_mask, is_causal, scale, (dropout_p, dropout_key), gqa=enable_gqa
    )
    return out


def _additive(mask: jax.Array | None, dtype: jnp.dtype) -> jax.Array | None:
    """torch's ``_canonical_mask``: a boolean mask (True = do not attend) as ``-inf`` / 0 scores."""
    if mask is None or jnp.issubdtype(mask.dtype, jnp.floating):
        return mask
    if mask.dtype != bool:
        raise ValueError(f"attention masks are boolean or float, got {mask.dtype}")
    return jnp.where(mask, -jnp.inf, 0.0).astype(dtype)


def _pad_key(mask: jax.Array | None) -> jax.Array | None:
    """One more key column (bias_k, or the zero key), which every query may attend."""
    if mask is None:
        return None
    return jnp.pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, 1)])


def _check_shapes(
    query: jax.Array,
    key: jax.Array,
    value: jax.Array,
    key_padding_mask: jax.Array | None,
    attn_mask: jax.Array | None,
    num_heads: int,
) -> bool:
    """torch's ``_mha_shape_check``: whether the inputs are batched (3-D) or not (2-D)."""
    name = "multi_head_attention_forward"
    if query.ndim not in (2, 3):
        raise ValueError(f"{name}: query is (L, E) or (L, N, E), got shape {query.shape}")
    batched = query.ndim == 3
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(
            f"{name}: a {query.ndim}-D query needs {query.ndim}-D key and value, got "
            f"{key.ndim}-D and {value.ndim}-D"
        )
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise ValueError(
            f"{name}: key_padding_mask is {'(N, S)' if batched else '(S,)'} for a "
            f"{query.ndim}-D query, got shape {key_padding_mask.shape}"
        )
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        raise ValueError(
            f"{name}: attn_mask is (L, S) or (N * num_heads, L, S), got shape {attn_mask.shape}"
        )
    if not batched and attn_mask is not None and attn_mask.ndim == 3:
        expected = (num_heads, query.shape[0], key.shape[0])
        if attn_mask.shape != expected:
            raise ValueError(
                f"{name}: attn_mask of shape {expected} expected, got {attn_mask.shape}"
            )
    return batched


def multi_head_attention_forward(
    query: jax.Array,
    key: jax.Array,
    value: jax.Array,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: jax.Array | None,
    in_proj_bias: jax.Array | None,
    bias_k: jax.Array | None,
    bias_v: jax.Array | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: jax.Array,
    out_proj_bias: jax.Array | None,
    training: bool = True,
    key_padding_mask: jax.Array | None = None,
    need_weights: bool = True,
    attn_mask: jax.Array | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: jax.Array | None = None,
    k_proj_weight: jax.Array | None = None,
    v_proj_weight: jax.Array | None = None,
    static_k: jax.Array | None = None,
    static_v: jax.Array | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
    *,
    dropout_key: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array | None]:
    """torch's ``F.multi_head_attention_forward``: ``nn.MultiheadAttention`` on ``(L, N, E)``.

    The arguments are torch's, in torch's order. Boolean masks are True where a query may *not*
    attend (torch's convention for this function); float masks are added to the scores.

    Args:
        query: ``(L, N, E)``, or ``(L, E)`` unbatched.
        key: ``(S, N, Ek)``, or ``(S, Ek)``.
        value: ``(S, N, Ev)``, or ``(S, Ev)``.
        embed_dim_to_check: ``E``, checked against the query.
        num_heads: the number of heads; it divides ``E``.
        in_proj_weight: ``(3 E, E)``, the packed q, k, v projections (unless
            ``use_separate_proj_weight``).
        in_proj_bias: ``(3 E,)`` or ``None``.
        bias_k: ``(1, 1, E)``: a learnt key appended to the keys, or ``None``.
        bias_v: ``(1, 1, E)``: its value, or ``None``.
        add_zero_attn: append a key and a value of zeros.
        dropout_p: the attention-dropout probability, in training.
        out_proj_weight: ``(E, E)``.
        out_proj_bias: ``(E,)`` or ``None``.
        training: whether to apply dropout.
        key_padding_mask: ``(N, S)`` or ``(S,)``: the keys no query may attend (True, or ``-inf``).
        need_weights: return the attention weights too (otherwise ``None``).
        attn_mask: ``(L, S)`` or ``(N * num_heads, L, S)``.
        use_separate_proj_weight: project with ``q_proj_weight``, ``k_proj_weight``,
            ``v_proj_weight`` (when ``kdim`` or ``vdim`` differ from ``E``).
        q_proj_weight: ``(E, E)``.
        k_proj_weight: ``(E, Ek)``.
        v_proj_weight: ``(E, Ev)``.
        static_k: ``(N * num_heads, S, E / num_heads)``: keys used as given, unprojected.
        static_v: likewise for the values.
        average_attn_weights: average the returned weights over the heads.
        is_causal: a hint that ``attn_mask`` is the causal mask (torch then may use it instead).
        dropout_key: the random key of the dropout mask (keyword only: ``key`` is torch's keys).

    Returns:
        ``(output, weights)``: ``(L, N, E)`` and ``(N, L, S)`` (``(N, num_heads, L, S)`` unless
        averaged), without the ``N`` axis for unbatched inputs; ``weights`` is ``None`` unless
        ``need_weights``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> x = jnp.ones((5, 2, 4))                                   # (L, N, E)
        >>> w, wo = jnp.eye(12, 4), jnp.eye(4)
        >>> y, a = multi_head_attention_forward(x, x, x, 4, 2, w, None, None, None, False, 0.0,
        ...                                     wo, None)
        >>> y.shape, a.shape
        ((5, 2, 4), (2, 5, 5))
    """
    name = "multi_head_attention_forward"
    batched = _check_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query[:, None], key[:, None], value[:, None]
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask[None]
    length, batch, embed = query.shape
    if is_causal and attn_mask is None:
        raise ValueError(
            f"{name}: is_causal=True is a hint about attn_mask; pass the causal mask as attn_mask "
            "too (Transformer.generate_square_subsequent_mask(L))"
        )
    kpm = _additive(key_padding_mask, query.dtype)
    causal = is_causal and kpm is None and not need_weights
    mask = None if causal else _additive(attn_mask, query.dtype)
    if embed != embed_dim_to_check or embed % num_heads:
        raise ValueError(
            f"{name}: the query's embedding size is {embed}; expected {embed_dim_to_check}, "
            f"divisible by num_heads={num_heads}"
        )
    head_dim = embed // num_heads
    q, k, v = _project(
        query, key, value, in_proj_weight, in_proj_bias,
        (q_proj_weight, k_proj_weight, v_proj_weight) if use_separate_proj_weight else None,
    )  # fmt: skip
    source = key.shape[0]
    if mask is not None:
        expected = (length, source) if mask.ndim == 2 else (batch * num_heads, length, source)
        if mask.shape != expected:
            raise ValueError(f"{name}: attn_mask of shape {expected} expected, got {mask.shape}")
        mask = mask[None] if mask.ndim == 2 else mask
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise ValueError(f"{name}: bias_k and bias_v cannot be added to static_k / static_v")
        k = jnp.concatenate([k, jnp.broadcast_to(bias_k, (1, batch, embed))])
        v = jnp.concatenate([v, jnp.broadcast_to(bias_v, (1, batch, embed))])
        mask, kpm = _pad_key(mask), _pad_key(kpm)
    elif bias_k is not None or bias_v is not None:
        raise ValueError(f"{name}: give both bias_k and bias_v, or neither")

    def heads(t: jax.Array, static: jax.Array | None) -> jax.Array:
        """``(S, N, E)`` -> ``(N, H, S, E / H)``, torch's ``view(S, N * H, E / H)`` order."""
        if static is not None:
            if static.shape[0] != batch * num_heads or static.shape[2] != head_dim:
                raise ValueError(
                    f"{name}: static_k and static_v are ({batch * num_heads}, S, {head_dim}), "
                    f"got shape {static.shape}"
                )
            return jnp.reshape(static, (batch, num_heads, *static.shape[1:]))
        t = jnp.reshape(t, (t.shape[0], batch, num_heads, head_dim))
        return jnp.transpose(t, (1, 2, 0, 3))

    qh, kh, vh = heads(q, None), heads(k, static_k), heads(v, static_v)
    if add_zero_attn:
        zeros = jnp.zeros((batch, num_heads, 1, head_dim), kh.dtype)
        kh, vh = jnp.concatenate([kh, zeros], axis=2), jnp.concatenate([vh, zeros], axis=2)
        mask, kpm = _pad_key(mask), _pad_key(kpm)
    source = kh.shape[2]
    if kpm is not None:
        if kpm.shape != (batch, source):
            raise ValueError(
                f"{name}: key_padding_mask of shape {(batch, source)} expected, got {kpm.shape}"
            )
        kpm = kpm[:, None, None, :]
    if mask is not None:  # (1 or N * H, L, S) -> (1 or N, 1 or H, L, S)
        mask = (
            mask[None] if mask.shape[0] == 1 else jnp.reshape(mask, (batch, num_heads, length, -1))
        )
    if kpm is not None:
        mask = kpm if mask is None else mask + kpm
    out, weights = _attend(
        qh, kh, vh, mask, causal, 1.0 / math.sqrt(head_dim),
        (dropout_p if training else 0.0, dropout_key),
        safe=not need_weights, name=name,
    )  # fmt: skip
    out = jnp.reshape(jnp.transpose(out, (2, 0, 1, 3)), (length, batch, embed))
    out = linear(out, out_proj_weight, out_proj_bias)
    if not need_weights:
        return (out if batched else out[:, 0]), None
    if average_attn_weights:
        weights = jnp.mean(weights, axis=1)
    return (out, weights) if batched else (out[:, 0], weights[0])


def _project(
    query: jax.Array,
    key: jax.Array,
    value: jax.Array,
    in_proj_weight: jax.Array | None,
    in_proj_bias: jax.Array | None,
    separate: tuple[jax.Array | None, ...] | None,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The q, k, v input projections; self-attention with the packed weight is one matmul."""
    biases = (None,) * 3 if in_proj_bias is None else jnp.split(in_proj_bias, 3)
    if separate is None:
        if in_proj_weight is None:
            raise ValueError(
                "multi_head_attention_forward: in_proj_weight is None; pass it, or "
                "use_separate_proj_weight=True with q_proj_weight, k_proj_weight, v_proj_weight"
            )
        if query is key and key is value:
            return tuple(jnp.split(linear(query, in_proj_weight, in_proj_bias), 3, axis=-1))  # type: ignore[return-value]
        weights = list(jnp.split(in_proj_weight, 3))
    else:
        weights = [w for w in separate if w is not None]
        if len(weights) != 3:
            raise ValueError(
                "multi_head_attention_forward: use_separate_proj_weight=True needs "
                "q_proj_weight, k_proj_weight and v_proj_weight"
            )
    q, k, v = (
        linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases, strict=True)
    )
    return q, k, v
