"""``Linear``: torch's ``nn.Linear`` as an ``(init, apply)`` pair."""

from __future__ import annotations

from dataclasses import dataclass

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._init import torch_uniform
from funcgrad.nn._module import ConfigError, Module, Params

__all__ = ["Linear"]


@dataclass(frozen=True)
class Linear(Module):
    """``y = x @ weight.T + bias``, with ``weight`` of shape ``(out, in)`` as in PyTorch.

    ``init`` draws weight and bias from ``U(-1/sqrt(in), 1/sqrt(in))``, torch's default.

    Args:
        in_features: the size of each input's last axis.
        out_features: the size of each output's last axis.
        bias: whether there is a learnable ``bias`` of shape ``(out_features,)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> layer = Linear(5, 3)
        >>> params = layer.init(jax.random.PRNGKey(0))
        >>> {k: v.shape for k, v in params.items()}
        {'weight': (3, 5), 'bias': (3,)}
        >>> layer.apply(params, jnp.ones((7, 5))).shape
        (7, 3)
    """

    in_features: int
    out_features: int
    bias: bool = True

    def __post_init__(self) -> None:
        if self.in_features < 0 or self.out_features < 0:
            raise ConfigError(
                f"Linear({self.in_features}, {self.out_features}): sizes must be non-negative; "
                "give in_features >= 0 and out_features >= 0"
            )

    def init(self, key: jax.Array) -> Params:
        kw, kb = jax.random.split(key)
        params = {
            "weight": torch_uniform(kw, (self.out_features, self.in_features), self.in_features)
        }
        if self.bias:
            params["bias"] = torch_uniform(kb, (self.out_features,), self.in_features)
        return params

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        return F.linear(x, params["weight"], params.get("bias"))
