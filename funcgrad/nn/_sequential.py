"""``Sequential``: compose modules left to right, with params keyed ``"0"``, ``"1"``, ... or by name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax

from funcgrad.nn._module import Buffers, ConfigError, Module, Params, call_child, child_key

__all__ = ["Sequential"]


@dataclass(frozen=True, init=False)
class Sequential(Module):
    """Apply layers in order; a combinator, like stax's ``serial``, not a base class.

    Params are keyed by position, exactly as torch's ``nn.Sequential`` state_dict: a layer without
    parameters (``ReLU``) gets no key, so ``"1.weight"`` never appears for it. As in torch, a single
    dict of named layers gives named keys instead.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from funcgrad.nn import Linear, ReLU
        >>> net = Sequential(Linear(4, 8), ReLU(), Linear(8, 2))
        >>> params = net.init(jax.random.key(0))
        >>> sorted(params)
        ['0', '2']
        >>> net.apply(params, jnp.ones((3, 4))).shape
        (3, 2)
        >>> sorted(Sequential({"fc": Linear(4, 2), "act": ReLU()}).init(jax.random.key(0)))
        ['fc']
    """

    names: tuple[str, ...]
    layers: tuple[Module, ...]

    def __init__(self, *layers: Module | Mapping[str, Module]) -> None:
        named: Mapping[str, object]  # each value is checked to be a Module below
        if len(layers) == 1 and isinstance(layers[0], Mapping):
            named = dict(layers[0])
        else:
            named = {str(i): layer for i, layer in enumerate(layers)}
        for name, layer in named.items():
            if not isinstance(layer, Module):
                raise TypeError(
                    f"Sequential: item {name!r} is {type(layer).__name__}, not a funcgrad Module; "
                    "pass layers such as fg.nn.Linear(...) or fg.nn.ReLU()"
                )
            if "." in name:
                raise ConfigError(
                    f"Sequential: layer name {name!r} may not contain '.' (it separates torch's "
                    "dotted paths); rename it, e.g. with '_'"
                )
        object.__setattr__(self, "names", tuple(named))
        object.__setattr__(self, "layers", tuple(named.values()))

    def named_layers(self) -> list[tuple[str, Module]]:
        """``[(name, layer), ...]`` in order, as torch's ``named_children()``."""
        return list(zip(self.names, self.layers, strict=True))

    def init(self, key: jax.Array) -> Params:
        # Each layer's key is folded from its name, as in apply: adding a layer leaves the others'
        # draws as they were.
        params: Params = {}
        for name, layer in self.named_layers():
            p = layer.init(child_key(key, name))
            if p:
                params[name] = p
        return params

    def init_buffers(self) -> Buffers:
        return {name: b for name, layer in self.named_layers() if (b := layer.init_buffers())}

    def forward(
        self, params: Params, x: Any, *, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> tuple[Any, Buffers]:
        new: Buffers = {}
        for name, layer in self.named_layers():
            x, b = call_child(name, layer, params, x, buffers=buffers, train=train, key=key)
            if b:
                new[name] = b
        return x, new
