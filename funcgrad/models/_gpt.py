"""A small GPT (nanoGPT's layout): token and position embeddings, pre-norm causal self-attention
blocks, a final LayerNorm, and an ``lm_head`` tied to the token embedding."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from funcgrad.nn import functional as F
from funcgrad.nn._activations import GELU
from funcgrad.nn._dropout import Dropout
from funcgrad.nn._embedding import Embedding
from funcgrad.nn._init import default_dtype
from funcgrad.nn._linear import Linear
from funcgrad.nn._module import (
    Buffers,
    ConfigError,
    Module,
    ModuleError,
    Params,
    call_child,
    child_key,
)
from funcgrad.nn._norm import LayerNorm

__all__ = ["GPT", "Block", "CausalSelfAttention", "MLP"]

_STD = 0.02  # nanoGPT's init: N(0, 0.02) for every Linear and Embedding weight, zero biases


def _normal(key: jax.Array, shape: tuple[int, ...], std: float = _STD) -> jax.Array:
    return std * jax.random.normal(key, shape, default_dtype())


def _linear(key: jax.Array, fan_in: int, fan_out: int, bias: bool, std: float = _STD) -> Params:
    params = {"weight": _normal(key, (fan_out, fan_in), std)}
    if bias:
        params["bias"] = jnp.zeros(fan_out, default_dtype())
    return params


class _Children(Module):
    """A module made of named children, each called with :func:`call_child`."""

    @property
    def children(self) -> dict[str, Module]:
        raise NotImplementedError

    def call(
        self, name: str, params: Params, x: Any, buffers: Buffers, train: bool, key: Any
    ) -> Any:
        return call_child(
            name, self.children[name], params, x, buffers=buffers, train=train, key=key
        )[0]


@dataclass(frozen=True)
class CausalSelfAttention(_Children):
    """Multi-head causal self-attention on ``(N, T, n_embd)``, with one fused ``c_attn``.

    ``c_attn`` projects to queries, keys and values at once (``(3 n_embd, n_embd)``); the result
    is split in three, each cut into ``n_head`` heads, and
    ``F.scaled_dot_product_attention(..., is_causal=True)`` lets position ``t`` attend only to
    positions up to ``t``. ``c_proj`` mixes the heads back; its init is scaled by
    ``1 / sqrt(2 n_layer)``, as nanoGPT scales the projections that feed the residual stream.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> attn = CausalSelfAttention(8, 2)
        >>> attn.apply(attn.init(jax.random.key(0)), jnp.ones((1, 3, 8))).shape
        (1, 3, 8)
    """

    n_embd: int
    n_head: int
    dropout: float = 0.0
    bias: bool = True
    n_layer: int = 1

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ConfigError(
                f"CausalSelfAttention: n_embd={self.n_embd} must be a multiple of "
                f"n_head={self.n_head}"
            )

    @property
    def children(self) -> dict[str, Module]:
        e = self.n_embd
        return {
            "c_attn": Linear(e, 3 * e, self.bias),
            "c_proj": Linear(e, e, self.bias),
            "resid_dropout": Dropout(self.dropout),
        }

    def init(self, key: jax.Array) -> Params:
        e, proj_std = self.n_embd, _STD / math.sqrt(2 * self.n_layer)
        return {
            "c_attn": _linear(child_key(key, "c_attn"), e, 3 * e, self.bias),
            "c_proj": _linear(child_key(key, "c_proj"), e, e, self.bias, proj_std),
        }

    def forward(
        self, params: Params, x: Any, *, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> tuple[Any, Buffers]:
        n, t, e = x.shape
        q, k, v = jnp.split(self.call("c_attn", params, x, buffers, train, key), 3, axis=2)
        # (N, T, E) -> (N, heads, T, E / heads): torch's .view(N, T, h, E/h).transpose(1, 2)
        q, k, v = (y.reshape(n, t, self.n_head, e // self.n_head).swapaxes(1, 2) for y in (q, k, v))
        drop = self.dropout if train else 0.0
        if drop > 0 and key is None:
            raise ModuleError(
                f"attention dropout {drop} in training draws a random mask; pass key= to apply"
            )
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=drop, is_causal=True, dropout_key=child_key(key, "attn_dropout")
        )
        y = y.swapaxes(1, 2).reshape(n, t, e)
        y = self.call("c_proj", params, y, buffers, train, key)
        return self.call("resid_dropout", params, y, buffers, train, key), buffers


@dataclass(frozen=True)
class MLP(_Children):
    """``c_proj(gelu(c_fc(x)))`` with a hidden width of ``4 n_embd``, then dropout.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> mlp = MLP(8)
        >>> mlp.init(jax.random.key(0))["c_fc"]["weight"].shape
        (32, 8)
    """

    n_embd: int
    dropout: float = 0.0
    bias: bool = True
    n_layer: int = 1

    @property
    def children(self) -> dict[str, Module]:
        e = self.n_embd
        return {
            "c_fc": Linear(e, 4 * e, self.bias),
            "gelu": GELU(),
            "c_proj": Linear(4 * e, e, self.bias),
            "dropout": Dropout(self.dropout),
        }

    def init(self, key: jax.Array) -> Params:
        e, proj_std = self.n_embd, _STD / math.sqrt(2 * self.n_layer)
        return {
            "c_fc": _linear(child_key(key, "c_fc"), e, 4 * e, self.bias),
            "c_proj": _linear(child_key(key, "c_proj"), 4 * e, e, self.bias, proj_std),
        }

    def forward(
        self, params: Params, x: Any, *, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> tuple[Any, Buffers]:
        for name in self.children:
            x = self.call(name, params, x, buffers, train, key)
        return x, buffers


@dataclass(frozen=True)
class Block(_Children):
    """A pre-norm transformer block: ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> block = Block(8, 2)
        >>> sorted(block.init(jax.random.key(0)))
        ['attn', 'ln_1', 'ln_2', 'mlp']
    """

    n_embd: int
    n_head: int
    dropout: float = 0.0
    bias: bool = True
    n_layer: int = 1

    @property
    def children(self) -> dict[str, Module]:
        e, rest = self.n_embd, (self.dropout, self.bias, self.n_layer)
        return {
            "ln_1": LayerNorm(e, bias=self.bias),
            "attn": CausalSelfAttention(e, self.n_head, *rest),
            "ln_2": LayerNorm(e, bias=self.bias),
            "mlp": MLP(e, *rest),
        }

    def init(self, key: jax.Array) -> Params:
        return {name: child.init(child_key(key, name)) for name, child in self.children.items()}

    def forward(
        self, params: Params, x: Any, *, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> tuple[Any, Buffers]:
        for norm, branch in (("ln_1", "attn"), ("ln_2", "mlp")):
            h = self.call(norm, params, x, buffers, train, key)
            x = x + self.call(branch, params, h, buffers, train, key)
        return x, buffers


@dataclass(frozen=True)
class GPT(_Children):
    """A decoder-only transformer on a batch of codes ``(N, T)``, returning logits ``(N, T, V)``.

    nanoGPT's model: ``transformer.wte`` (token) plus ``transformer.wpe`` (position) embeddings,
    dropout, ``n_layer`` :class:`Block` s (``transformer.h.0`` ...), ``transformer.ln_f``, and an
    ``lm_head`` whose weight *is* ``transformer.wte.weight`` (tied): the logits are
    ``x @ wte.T``, so params hold that matrix once (torch's ``state_dict`` lists it under both
    names). Init is nanoGPT's: ``N(0, 0.02)`` weights, zero biases, the residual projections
    scaled by ``1 / sqrt(2 n_layer)``. ``T`` may be at most ``block_size``.

    Args:
        vocab_size: how many distinct tokens.
        block_size: the longest sequence (rows of ``wpe``).
        n_layer: transformer blocks.
        n_head: attention heads per block.
        n_embd: the width of the residual stream.
        dropout: dropout on the embeddings, attention weights and residual branches (training).
        bias: whether the Linear and LayerNorm layers have biases.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> gpt = GPT(vocab_size=10, block_size=16, n_layer=1, n_head=2, n_embd=8)
        >>> params = gpt.init(jax.random.key(0))
        >>> sorted(params), sorted(params["transformer"])
        (['transformer'], ['h', 'ln_f', 'wpe', 'wte'])
        >>> gpt.apply(params, jnp.zeros((2, 5), jnp.int32)).shape
        (2, 5, 10)
    """

    vocab_size: int
    block_size: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self) -> None:
        sizes = (self.vocab_size, self.block_size, self.n_layer, self.n_head, self.n_embd)
        if any(not isinstance(s, int) or s < 1 for s in sizes):
            raise ConfigError(
                f"GPT{sizes}: vocab_size, block_size, n_layer, n_head and n_embd must be "
                "positive ints"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"GPT(dropout={self.dropout}): use 0 <= dropout < 1")
        if self.n_embd % self.n_head:
            raise ConfigError(
                f"GPT: n_embd={self.n_embd} must be a multiple of n_head={self.n_head}"
            )

    @property
    def children(self) -> dict[str, Module]:
        e, rest = self.n_embd, (self.dropout, self.bias, self.n_layer)
        return {
            "transformer.wte": Embedding(self.vocab_size, e),
            "transformer.wpe": Embedding(self.block_size, e),
            "transformer.drop": Dropout(self.dropout),
            **{f"transformer.h.{i}": Block(e, self.n_head, *rest) for i in range(self.n_layer)},
            "transformer.ln_f": LayerNorm(e, bias=self.bias),
        }

    def init(self, key: jax.Array) -> Params:
        c = self.children
        wte = _normal(child_key(key, "transformer.wte"), (self.vocab_size, self.n_embd))
        wpe = _normal(child_key(key, "transformer.wpe"), (self.block_size, self.n_embd))
        blocks = {
            str(i): c[f"transformer.h.{i}"].init(child_key(key, f"transformer.h.{i}"))
            for i in range(self.n_layer)
        }
        ln_f = c["transformer.ln_f"].init(child_key(key, "transformer.ln_f"))
        return {
            "transformer": {
                "wte": {"weight": wte},
                "wpe": {"weight": wpe},
                "h": blocks,
                "ln_f": ln_f,
            }
        }

    def call(
        self, name: str, params: Params, x: Any, buffers: Buffers, train: bool, key: Any
    ) -> Any:
        # Children live under "transformer" (and "h"): look their params up by the dotted path.
        *outer, last = name.split(".")
        for part in outer:
            params = params.get(part, {})
        with jax.named_scope(".".join(outer)):
            try:
                child = self.children[name]
                outer_key = child_key(key, ".".join(outer))
                return call_child(last, child, params, x, buffers={}, train=train, key=outer_key)[0]
            except ModuleError as e:
                raise e.under(".".join(outer)) from None

    def forward(
        self, params: Params, x: Any, *, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> tuple[Any, Buffers]:
        if x.ndim != 2:
            raise ModuleError(
                f"GPT expects a batch of token codes (N, T), got shape {tuple(x.shape)}; "
                "add a batch axis with x[None]"
            )
        t = x.shape[1]
        if t > self.block_size:
            raise ModuleError(
                f"GPT: a sequence of {t} tokens is longer than block_size={self.block_size}; "
                "feed at most block_size tokens (sample keeps the last block_size)"
            )
        h = self.call("transformer.wte", params, x, buffers, train, key)
        h = h + self.call("transformer.wpe", params, jnp.arange(t)[None], buffers, train, key)
        h = self.call("transformer.drop", params, h, buffers, train, key)
        for i in range(self.n_layer):
            h = self.call(f"transformer.h.{i}", params, h, buffers, train, key)
        h = self.call("transformer.ln_f", params, h, buffers, train, key)
        # lm_head is tied: its weight is the token embedding itself.
        return F.linear(h, params["transformer"]["wte"]["weight"]), buffers
