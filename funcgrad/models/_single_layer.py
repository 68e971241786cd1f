"""The notes' single layer ``z = x @ w + b``, trained with ``binary_cross_entropy_with_logits``."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from funcgrad._tap import tap
from funcgrad.nn._init import default_dtype
from funcgrad.nn._module import ConfigError, Module, Params

__all__ = ["SingleLayer"]


@dataclass(frozen=True)
class SingleLayer(Module):
    """``z = x @ w + b`` with ``w`` of shape ``(in, out)``: the notes' layout, not ``nn.Linear``'s.

    ``init`` draws ``w`` and ``b`` from a standard normal, like the notes' ``torch.randn``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> layer = SingleLayer(5, 3)
        >>> params = layer.init(jax.random.key(0))
        >>> params["w"].shape, params["b"].shape
        ((5, 3), (3,))
        >>> layer.apply(params, jnp.ones(5)).shape
        (3,)
    """

    in_features: int = 5
    out_features: int = 3

    def __post_init__(self) -> None:
        if self.in_features < 0 or self.out_features < 0:
            raise ConfigError(
                f"SingleLayer({self.in_features}, {self.out_features}): sizes must be "
                "non-negative; give in_features >= 0 and out_features >= 0"
            )

    def init(self, key: jax.Array) -> Params:
        kw, kb = jax.random.split(key)
        dtype = default_dtype()
        return {
            "w": jax.random.normal(kw, (self.in_features, self.out_features), dtype),
            "b": jax.random.normal(kb, (self.out_features,), dtype),
        }

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        # The notes' (in, out) layout, written directly (linear() would transpose w twice). Tapped
        # as "z" so fg.autodiff.grad_with_taps reports d loss / d z, as z.retain_grad() would.
        z = x @ params["w"]
        return tap(z + jnp.broadcast_to(params["b"], z.shape), "z")
