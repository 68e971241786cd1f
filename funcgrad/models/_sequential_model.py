"""A model defined once, as a named ``Sequential``: ``apply`` runs it and ``as_sequential`` returns it."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

import jax

from funcgrad._tap import tap
from funcgrad.nn._module import Buffers, Module, Params
from funcgrad.nn._sequential import Sequential

__all__ = ["SequentialModel", "Tap"]


@dataclass(frozen=True)
class Tap(Module):
    """The identity, with its input tapped as ``name`` (the functional ``retain_grad()``).

    A stage of a ``Sequential`` so that a model written as one stack still names its intermediate
    values for ``fg.autodiff.grad_with_taps``. It has no params and adds nothing to the program.

    Example:
        >>> import jax.numpy as jnp
        >>> Tap("s1").apply({}, jnp.ones(2)).tolist()
        [1.0, 1.0]
    """

    name: str

    def init(self, key: jax.Array) -> Params:
        del key
        return {}

    def stateless(self, params: Params, x: jax.Array) -> jax.Array:
        del params
        return tap(x, self.name)


class SequentialModel(Module):
    """Base of the notes' models: the network is ``as_sequential()``, and ``apply`` calls it.

    ``apply`` runs the stack's ``forward`` (not its ``apply``), so each stage is a direct child of the
    model: the name stack reads ``MyNet/m0/Linear``, errors read ``m0: ...``, params are keyed by the
    stage names.
    """

    @abc.abstractmethod
    def as_sequential(self) -> Sequential:
        """The network as a stack of named stages, with the model's params (for by-hand backprop)."""

    def named_layers(self) -> list[tuple[str, Module]]:
        """``as_sequential()``'s stages in order: the model offers ``fg.interop.NamedLayers``."""
        return self.as_sequential().named_layers()

    def init(self, key: jax.Array) -> Params:
        # The stack's init: each stage's key folded from its name (child_key), as apply does.
        return self.as_sequential().init(key)

    def init_buffers(self) -> Buffers:
        return self.as_sequential().init_buffers()

    def forward(
        self, params: Params, x: Any, *, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> tuple[Any, Buffers]:
        return self.as_sequential().forward(params, x, buffers=buffers, train=train, key=key)
