"""What ``to_nnx`` recognises a module by: protocols, not funcgrad's concrete classes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from funcgrad.nn._module import Module

__all__ = ["NamedLayers"]


@runtime_checkable
class NamedLayers(Protocol):
    """A module made of named layers applied in order: what ``named_layers()`` offers.

    ``fg.nn.Sequential`` and the notes' models (``MyNet``, ``ConvNet``, ``LeNet5``) have it; so may
    your own module. Offering it promises that the module computes its layers one after another,
    with ``params[name]`` (and ``buffers[name]``) for each: ``to_nnx`` then rebuilds it out of nnx
    layers instead of running its ``forward``.

    Example:
        >>> import funcgrad as fg
        >>> isinstance(fg.nn.Sequential(fg.nn.ReLU()), fg.interop.NamedLayers)
        True
        >>> [name for name, _ in fg.models.ConvNet().named_layers()][:2]
        ['conv1', 'relu1']
        >>> isinstance(fg.nn.Linear(2, 3), fg.interop.NamedLayers)
        False
    """

    def named_layers(self) -> Sequence[tuple[str, Module]]:
        """``[(name, layer), ...]`` in the order they are applied."""
        ...
