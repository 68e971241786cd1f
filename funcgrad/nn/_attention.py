"""``MultiheadAttention``: torch's ``nn.MultiheadAttention`` as an ``(init, apply)`` pair.

Its ``forward`` takes three inputs, query, key and value, as torch's does. torch's ``key`` argument
cannot share its name with the contract's random ``key=``, so call it positionally
(``mha.apply(params, q, k, v, need_weights=False)``); the masks and flags are keywords with torch's
names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from funcgrad.nn import functional as F
from funcgrad.nn._init import default_dtype, torch_uniform
from funcgrad.nn._module import Buffers, ConfigError, Module, ModuleError, Params

__all__ = ["MultiheadAttention", "multihead_attention_args", "xavier_normal", "xavier_uniform"]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """torch's ``_calculate_fan_in_and_fan_out``: ``(size(1), size(0))`` times the receptive field."""
    field = math.prod(shape[2:])
    return shape[1] * field, shape[0] * field


def xavier_uniform(key: jax.Array, shape: tuple[int, ...], gain: float = 1.0) -> jax.Array:
    """torch's ``xavier_uniform_``: ``U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    Example:
        >>> w = xavier_uniform(jax.random.key(0), (12, 4))
        >>> bool(jnp.abs(w).max() <= (6 / 16) ** 0.5)
        True
    """
    fan_in, fan_out = _fans(shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return jax.random.uniform(key, shape, default_dtype(), -bound, bound)


def xavier_normal(key: jax.Array, shape: tuple[int, ...], gain: float = 1.0) -> jax.Array:
    """torch's ``xavier_normal_``: ``N(0, std^2)``, ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Example:
        >>> xavier_normal(jax.random.key(0), (1, 1, 8)).shape
        (1, 1, 8)
    """
    fan_in, fan_out = _fans(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return std * jax.random.normal(key, shape, default_dtype())


@dataclass(frozen=True)
class MultiheadAttention(Module):
    """torch's ``nn.MultiheadAttention``: ``num_heads`` scaled dot-product attentions side by side.

    Params are torch's state_dict: ``in_proj_weight (3E, E)`` (the packed q, k, v projections) or,
    when ``kdim`` or ``vdim`` differ from ``E``, ``q_proj_weight``, ``k_proj_weight`` and
    ``v_proj_weight``; ``in_proj_bias (3E,)``; ``out_proj.weight``, ``out_proj.bias``; ``bias_k``
    and ``bias_v (1, 1, E)`` with ``add_bias_kv``. ``init`` is torch's: xavier-uniform projections,
    zero biases, ``out_proj.weight`` as ``nn.Linear``'s, xavier-normal ``bias_k`` and ``bias_v``.

    ``apply(params, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights)`` as torch does:
    ``weights`` is averaged over the heads unless ``average_attn_weights=False``, and ``None`` when
    ``need_weights=False``. Inputs are ``(L, N, E)`` (``(N, L, E)`` with ``batch_first``) or
    unbatched ``(L, E)``. Boolean masks are True where a query may *not* attend (torch's
    convention); float masks are added to the scores. In training (``train=True``) the attention
    weights are dropped out with probability ``dropout``, drawn from ``key=``.

    Args:
        embed_dim: the model's width ``E``; ``num_heads`` must divide it.
        num_heads: the number of heads, each of ``embed_dim // num_heads`` features.
        dropout: the dropout probability on the attention weights in training.
        bias: add biases to the input and output projections.
        add_bias_kv: append the learned ``bias_k`` and ``bias_v`` to the key and value
            sequences.
        add_zero_attn: append a position of zeros to the key and value sequences.
        kdim: the key's features; ``None`` means ``embed_dim``.
        vdim: the value's features; ``None`` means ``embed_dim``.
        batch_first: inputs and outputs are ``(N, L, E)`` rather than ``(L, N, E)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> mha = MultiheadAttention(8, 2, batch_first=True)
        >>> params = mha.init(jax.random.key(0))
        >>> sorted(params)
        ['in_proj_bias', 'in_proj_weight', 'out_proj']
        >>> x = jnp.ones((3, 5, 8))                                   # (N, L, E)
        >>> y, w = mha.apply(params, x, x, x)
        >>> y.shape, w.shape
        ((3, 5, 8), (3, 5, 5))
        >>> y, w = mha.apply(params, x, x, x, need_weights=False)
        >>> w is None
        True
    """

    embed_dim: int
    num_heads: int
    dropout: float = 0.0
    bias: bool = True
    add_bias_kv: bool = False
    add_zero_attn: bool = False
    kdim: int | None = None
    vdim: int | None = None
    batch_first: bool = False

    def __post_init__(self) -> None:
        call = f"MultiheadAttention({self.embed_dim}, {self.num_heads})"
        if self.embed_dim <= 0 or self.num_heads <= 0:
            raise ConfigError(f"{call}: embed_dim and num_heads must be greater than 0")
        if self.embed_dim % self.num_heads:
            raise ConfigError(
                f"{call}: embed_dim must be divisible by num_heads (each head gets "
                "embed_dim // num_heads features); change one of them"
            )
        if not 0.0 <= self.dropout <= 1.0:
            raise ConfigError(f"{call}: dropout={self.dropout} is a probability; use 0 <= p <= 1")

    @property
    def _packed(self) -> bool:
        """torch's ``_qkv_same_embed_dim``: one packed ``in_proj_weight``."""
        e = self.embed_dim
        return (self.kdim or e) == e and (self.vdim or e) == e

    def init(self, key: jax.Array) -> Params:
        e = self.embed_dim
        ks = jax.random.split(key, 6)
        params: Params = {}
        if self._packed:
            params["in_proj_weight"] = xavier_uniform(ks[0], (3 * e, e))
        else:
            params["q_proj_weight"] = xavier_uniform(ks[0], (e, e))
            params["k_proj_weight"] = xavier_uniform(ks[1], (e, self.kdim or e))
            params["v_proj_weight"] = xavier_uniform(ks[2], (e, self.vdim or e))
        if self.bias:
            params["in_proj_bias"] = jnp.zeros((3 * e,), default_dtype())
        params["out_proj"] = {"weight": torch_uniform(ks[3], (e, e), e)}
        if self.bias:
            params["out_proj"]["bias"] = jnp.zeros((e,), default_dtype())
        if self.add_bias_kv:
            params["bias_k"] = xavier_normal(ks[4], (1, 1, e))
            params["bias_v"] = xavier_normal(ks[5], (1, 1, e))
        return params

    def forward(  # torch's further inputs and flags, after x
        self,
        params: Params,
        query: jax.Array,
        key_: jax.Array | None = None,
        value: jax.Array | None = None,
        key_padding_mask: jax.Array | None = None,
        need_weights: bool = True,
        attn_mask: jax.Array | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
        *,
        buffers: Buffers,
        train: bool,
        key: jax.Array | None,
    ) -> tuple[tuple[jax.Array, jax.Array | None], Buffers]:
        if key_ is None or value is None:
            raise ModuleError(
                "MultiheadAttention takes query, key and value positionally, as torch's forward: "
                "mha.apply(params, query, key, value) (x, x, x for self-attention); key= is the "
                "random key of attention dropout"
            )
        dropout = self.dropout if train else 0.0
        if dropout > 0 and key is None:
            raise ModuleError(
                f"MultiheadAttention(dropout={self.dropout}) in training drops attention weights "
                "at random; pass key= to apply (train=True, key=jax.random.key(0))"
            )
        q, k, v = query, key_, value
        flip = self.batch_first and query.ndim == 3
        if flip:  # torch computes in (L, N, E); the same tensor stays one (self-attention)
            swapped = {id(t): jnp.swapaxes(t, 0, 1) for t in (q, k, v)}
            q, k, v = swapped[id(q)], swapped[id(k)], swapped[id(v)]
        out_proj = params["out_proj"]
        try:
            y, weights = F.multi_head_attention_forward(
                q,
                k,
                v,
                self.embed_dim,
                self.num_heads,
                params.get("in_proj_weight"),
                params.get("in_proj_bias"),
                params.get("bias_k"),
                params.get("bias_v"),
                self.add_zero_attn,
                dropout,
                out_proj["weight"],
                out_proj.get("bias"),
                training=train,
                key_padding_mask=key_padding_mask,
                need_weights=need_weights,
                attn_mask=attn_mask,
                use_separate_proj_weight=not self._packed,
                q_proj_weight=params.get("q_proj_weight"),
                k_proj_weight=params.get("k_proj_weight"),
                v_proj_weight=params.get("v_proj_weight"),
                average_attn_weights=average_attn_weights,
                is_causal=is_causal,
                dropout_key=key,
            )
        except ValueError as e:
            raise ModuleError(f"MultiheadAttention: {e}") from None
        return ((jnp.swapaxes(y, 0, 1) if flip else y), weights), buffers


def multihead_attention_args(mha: Any) -> dict[str, Any]:
    """torch's ``MultiheadAttention`` keeps ``bias`` and ``add_bias_kv`` as its params."""
    return {"bias": mha.in_proj_bias is not None, "add_bias_kv": mha.bias_k is not None}
