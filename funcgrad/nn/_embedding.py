"""``Embedding``: torch's ``nn.Embedding`` (a lookup table) as an ``(init, apply)`` pair."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._conv import layer_errors
from funcgrad.nn._init import default_dtype
from funcgrad.nn._module import ConfigError, Module, Params

__all__ = ["Embedding"]

# torch's options funcgrad does not implement, with their defaults: setting one raises.
_UNSUPPORTED = {
    "_weight": None,
    "_freeze": False,
    "device": None,
    "dtype": None,
}


@dataclass(frozen=True)
class Embedding(Module):
    """Rows of a ``(num_embeddings, embedding_dim)`` table, as ``torch.nn.Embedding``.

    torch's signature and order. ``init`` draws ``N(0, 1)``, with the ``padding_idx`` row (negative
    counts from the end) set to zero; that row never gets a gradient, so it is never updated.
    ``max_norm``, ``norm_type``, ``scale_grad_by_freq`` and ``sparse`` are ``F.embedding``'s: the
    output and gradients are torch's, but torch's in-place renormalisation of the weight under
    ``max_norm`` is not hidden state here: ``F.embedding_renorm(x, params["weight"], max_norm)``
    is the table torch would hold afterwards. ``_weight``, ``_freeze``, ``device`` and ``dtype``
    are not implemented: a non-default value raises ``ConfigError``. Out-of-range indices raise
    in an eager call (see ``F.embedding`` under ``jit``).

    Args:
        num_embeddings: the table's row count (the vocabulary size).
        embedding_dim: the length of each row.
        padding_idx: a row kept at zero and never updated, or ``None``.
        max_norm: renormalise looked-up rows to at most this norm (see above), or ``None``.
        norm_type: the ``p`` of the norm ``max_norm`` bounds.
        scale_grad_by_freq: divide each row's gradient by its index's count in the input.
        sparse: accepted; JAX's gradients are dense arrays either way.
        _weight: not implemented (must be ``None``).
        _freeze: not implemented (must be ``False``).
        device: not implemented (must be ``None``); place params with ``jax.device_put``.
        dtype: not implemented (must be ``None``).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> emb = Embedding(10, 3, padding_idx=0)
        >>> params = emb.init(jax.random.key(0))
        >>> emb.apply(params, jnp.array([[0, 4]])).shape, params["weight"][0].tolist()
        ((1, 2, 3), [0.0, 0.0, 0.0])
    """

    num_embeddings: int
    embedding_dim: int
    padding_idx: int | None = None
    max_norm: float | None = None
    norm_type: float = 2.0
    scale_grad_by_freq: bool = False
    sparse: bool = False
    _weight: Any = None
    _freeze: bool = False
    device: Any = None
    dtype: Any = None

    def __post_init__(self) -> None:
        for name, default in _UNSUPPORTED.items():
            value = getattr(self, name)
            if not (value is default or (default is not None and value == default)):
                raise ConfigError(
                    f"Embedding: {name}={value!r} is not implemented in funcgrad; "
                    f"leave it at its default ({default!r})"
                )
        if self.sparse and self.scale_grad_by_freq:
            raise ConfigError(
                "Embedding: scale_grad_by_freq not supported with sparse gradients (torch "
                "refuses the pair too); drop one of them"
            )
        n = self.num_embeddings
        if self.padding_idx is not None and not -n <= self.padding_idx < n:
            raise ConfigError(
                f"Embedding: padding_idx={self.padding_idx} must be within [-{n}, {n}); "
                "use a valid row or padding_idx=None"
            )

    def init(self, key: jax.Array) -> Params:
        shape = (self.num_embeddings, self.embedding_dim)
        weight = jax.random.normal(key, shape, dtype=default_dtype())
        if self.padding_idx is not None:
            weight = weight.at[self.padding_idx].set(0.0)
        return {"weight": weight}

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        with layer_errors("Embedding"):
            return F.embedding(
                x,
                params["weight"],
                self.padding_idx,
                self.max_norm,
                self.norm_type,
                self.scale_grad_by_freq,
                self.sparse,
            )
