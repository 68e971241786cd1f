"""``Conv2d``: torch's ``nn.Conv2d`` (NCHW, weight ``(O, I, kh, kw)``) as an ``(init, apply)`` pair."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._init import torch_uniform
from funcgrad.nn._module import Module, Params
from funcgrad.nn.functional._conv import _pair

__all__ = ["Conv2d"]


@dataclass(frozen=True)
class Conv2d(Module):
    """2-D convolution over ``(N, C, H, W)`` or one ``(C, H, W)`` image, as in PyTorch.

    ``init`` draws from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in = in * kh * kw``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> conv = Conv2d(1, 20, 5)
        >>> params = conv.init(jax.random.PRNGKey(0))
        >>> params["weight"].shape
        (20, 1, 5, 5)
        >>> conv.apply(params, jnp.ones((2, 1, 28, 28))).shape
        (2, 20, 24, 24)
    """

    in_channels: int
    out_channels: int
    kernel_size: int | tuple[int, int]
    stride: int | tuple[int, int] = 1
    padding: int | tuple[int, int] | Literal["valid", "same"] = 0
    bias: bool = True

    @property
    def kernel_hw(self) -> tuple[int, int]:
        return _pair(self.kernel_size, "kernel_size")

    def init(self, key: jax.Array) -> Params:
        kh, kw = self.kernel_hw
        fan_in = self.in_channels * kh * kw
        k_w, k_b = jax.random.split(key)
        shape = (self.out_channels, self.in_channels, kh, kw)
        params = {"weight": torch_uniform(k_w, shape, fan_in)}
        if self.bias:
            params["bias"] = torch_uniform(k_b, (self.out_channels,), fan_in)
        return params

    def apply(self, params: Params, x: jax.Array) -> jax.Array:
        return F.conv2d(x, params["weight"], params.get("bias"), self.stride, self.padding)
