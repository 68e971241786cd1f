"""``Linear`` and ``Bilinear``: torch's ``nn.Linear`` and ``nn.Bilinear`` as ``(init, apply)`` pairs."""

from __future__ import annotations

from dataclasses import dataclass

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._conv import layer_errors
from funcgrad.nn._init import torch_uniform
from funcgrad.nn._module import Buffers, ConfigError, Module, ModuleError, Params

__all__ = ["Bilinear", "Linear"]


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
        >>> params = layer.init(jax.random.key(0))
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


@dataclass(frozen=True)
class Bilinear(Module):
    """``y = x1 @ weight @ x2 + bias`` per output: torch's ``nn.Bilinear``, of two inputs.

    ``init`` draws weight ``(out, in1, in2)`` and bias from ``U(-1/sqrt(in1), 1/sqrt(in1))``,
    torch's default. Called as torch's ``forward(input1, input2)``: ``apply(params, x1, x2)``.

    Args:
        in1_features: the size of the first input's last axis.
        in2_features: the size of the second input's last axis.
        out_features: the size of each output's last axis.
        bias: whether there is a learnable ``bias`` of shape ``(out_features,)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> layer = Bilinear(2, 3, 4)
        >>> params = layer.init(jax.random.key(0))
        >>> {k: v.shape for k, v in params.items()}
        {'weight': (4, 2, 3), 'bias': (4,)}
        >>> layer.apply(params, jnp.ones((5, 2)), jnp.ones((5, 3))).shape
        (5, 4)
    """

    in1_features: int
    in2_features: int
    out_features: int
    bias: bool = True

    def __post_init__(self) -> None:
        sizes = (self.in1_features, self.in2_features, self.out_features)
        if min(sizes) < 0:
            raise ConfigError(f"Bilinear{sizes}: sizes must be non-negative")

    def init(self, key: jax.Array) -> Params:
        kw, kb = jax.random.split(key)
        fan_in = self.in1_features  # torch: bound = 1 / sqrt(weight.size(1))
        shape = (self.out_features, self.in1_features, self.in2_features)
        params = {"weight": torch_uniform(kw, shape, fan_in)}
        if self.bias:
            params["bias"] = torch_uniform(kb, (self.out_features,), fan_in)
        return params

    def forward(
        self,
        params: Params,
        input1: jax.Array,
        input2: jax.Array | None = None,
        *,
        buffers: Buffers,
        train: bool,
        key: jax.Array | None,
    ) -> tuple[jax.Array, Buffers]:
        if input2 is None:
            raise ModuleError("Bilinear takes two inputs; call it as apply(params, input1, input2)")
        with layer_errors("Bilinear"):
            return F.bilinear(input1, input2, params["weight"], params.get("bias")), buffers
