"""``Node`` and ``Traced``: the plain data a graph is made of (no callables, no JAX state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # annotations only: this module holds plain data
    from jax.extend.core import ClosedJaxpr

__all__ = ["Node", "NodeKind", "Traced"]

NodeKind = Literal["leaf", "const", "op", "output", "seed", "grad"]


@dataclass(frozen=True)
class Node:
    """One node: a leaf (argument), const, op, output; or in a backward graph a seed or grad.

    ``inputs`` are node ids the value flows from. ``cluster`` lists the enclosing groups (layers,
    models) outermost first, drawn as boxes around expanded nodes. ``name`` is the notes' name of
    the value the node produces when the code tapped it (``s1``), else ``None``. ``eqns`` are the
    positions, in the traced jaxpr, of the top-level equations the node stands for.

    Attributes:
        id: the node's unique id in its graph.
        kind: what the node is: a leaf, const, op or output (a seed or grad in a backward graph).
        label: the text drawn on the node.
        shape: the value's shape.
        dtype: the value's dtype, as a string.
        inputs: ids of the nodes the value flows from.
        primitives: the JAX primitives the node runs.
        grad_fn: the name PyTorch's ``grad_fn`` would show, or ``None``.
        requires_grad: whether the value depends on a differentiated leaf.
        cluster: the enclosing groups, outermost first.
        name: the tapped name of the value (``s1``), or ``None``.
        eqns: positions of the jaxpr's top-level equations the node stands for.
    """

    id: str
    kind: NodeKind
    label: str
    shape: tuple[int, ...] = ()
    dtype: str = ""
    inputs: tuple[str, ...] = ()
    primitives: tuple[str, ...] = ()
    grad_fn: str | None = None
    requires_grad: bool = False
    cluster: tuple[str, ...] = ()
    name: str | None = None
    eqns: tuple[int, ...] = field(default=(), compare=False, repr=False)

    @property
    def type_str(self) -> str:
        """``f32[5,3]``, as jaxprs print types."""
        short = {"float32": "f32", "float64": "f64", "int32": "i32", "int64": "i64", "bool": "bool"}
        return f"{short.get(self.dtype, self.dtype)}[{','.join(map(str, self.shape))}]"


@dataclass(frozen=True)
class Traced:
    """What a forward graph was read from, kept so the backward graph needs nothing else.

    ``jaxpr`` is the ``ClosedJaxpr`` of the function on its flat leaves; ``labels`` and
    ``requires`` describe those leaves; ``outputs`` labels the outputs; ``taps`` are the tapped
    names in the order they ran.
    """

    jaxpr: ClosedJaxpr
    labels: tuple[str, ...]
    requires: tuple[bool, ...]
    outputs: tuple[str, ...]
    taps: tuple[str, ...]
