"""``Graph`` and ``Node``: a computational graph as plain, inspectable data.

A graph is a tuple of nodes in topological order. Each node says what it is (an argument leaf, a
constant, an operation, an output, or in a backward graph a gradient sink), where its inputs come
from, its shape, and for operations both the JAX primitives inside and the PyTorch ``grad_fn`` name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from funcgrad.graph import _dot
from funcgrad.graph._backward import backward_nodes
from funcgrad.graph._node import Node, Traced

__all__ = ["Graph", "Node"]


@dataclass(frozen=True)
class Graph:
    """A forward or backward computational graph; see :func:`funcgrad.graph.trace`.

    Attributes:
        nodes: the nodes, in topological order (inputs before the nodes that use them).
        direction: ``"forward"``, or ``"backward"`` for the graph of a backward pass.
        traced: what the graph was traced from (the jaxpr and its arguments), or ``None``.

    Example:
        >>> import jax.numpy as jnp
        >>> from funcgrad.graph import trace
        >>> g = trace(lambda x, w: (x * w).sum(), jnp.ones(3), jnp.ones(3), wrt="w")
        >>> g.leaf_names, g.requires_grad, g.grad_fns
        (['x', 'w'], ['w'], ['MulBackward0', 'SumBackward0'])
    """

    nodes: tuple[Node, ...]
    direction: Literal["forward", "backward"] = "forward"
    traced: Traced | None = field(default=None, compare=False, repr=False)

    def __getitem__(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(f"no node {node_id!r}; ids are {[n.id for n in self.nodes]}")

    def of_kind(self, *kinds: str) -> list[Node]:
        """Nodes of the given kinds, in order."""
        return [n for n in self.nodes if n.kind in kinds]

    @property
    def leaves(self) -> list[Node]:
        """Argument leaves (PyTorch's ``is_leaf`` tensors), in argument order."""
        return self.of_kind("leaf")

    @property
    def ops(self) -> list[Node]:
        """Operation nodes, in execution order (forward) or backward order."""
        return self.of_kind("op")

    @property
    def outputs(self) -> list[Node]:
        """Output nodes (forward), or gradient sinks ``w.grad`` (backward)."""
        return self.of_kind("output", "grad")

    @property
    def leaf_names(self) -> list[str]:
        """Labels of the argument leaves (``m0.weight``, ``x``)."""
        return [n.label for n in self.leaves]

    @property
    def requires_grad(self) -> list[str]:
        """Labels of the leaves that are differentiated (``requires_grad=True`` in PyTorch)."""
        return [n.label for n in self.leaves if n.requires_grad]

    @property
    def grad_fns(self) -> list[str]:
        """The ``grad_fn`` names of the operations that carry a gradient, in order."""
        return [n.grad_fn for n in self.ops if n.grad_fn is not None and n.requires_grad]

    def consumers(self, node_id: str) -> list[Node]:
        """Nodes that take ``node_id`` as input (in a backward graph: PyTorch's
        ``next_functions`` of ``node_id``)."""
        return [n for n in self.nodes if node_id in n.inputs]

    def backward(self) -> Graph:
        """The graph of the backward pass (the VJP), as PyTorch's ``grad_fn`` chain draws it.

        One node per forward operation that carries a gradient, named by its ``grad_fn`` and
        listing the JAX primitives its VJP runs; edges run from the output back to ``w.grad``
        sinks for the leaves that require grad.
        """
        if self.traced is None or self.direction == "backward":
            raise ValueError("this graph is already a backward graph (or was built by hand)")
        return Graph(backward_nodes(self.traced), "backward")

    def table(self) -> str:
        """A readable text table of the nodes: id, kind, label, type, grad_fn, inputs, primitives."""
        rows = [("id", "kind", "label", "type", "grad_fn", "inputs", "primitives")]
        for n in self.nodes:
            label = n.label + (" (requires grad)" if n.kind == "leaf" and n.requires_grad else "")
            rows.append(
                (
                    n.id,
                    n.kind,
                    label + (f" [{n.name}]" if n.name else ""),
                    n.type_str if n.kind != "seed" else "",
                    n.grad_fn or "",
                    ",".join(n.inputs),
                    " ".join(n.primitives),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        )

    def __str__(self) -> str:
        return self.table()

    def to_dot(self) -> str:
        """Graphviz DOT text of this graph."""
        return _dot.to_dot(self)

    def render(self, path: str) -> str:
        """Write ``path`` (``.svg``, ``.png``, ``.pdf`` via Graphviz's ``dot``; ``.dot`` as text).

        Raises a ``RuntimeError`` saying how to install Graphviz when ``dot`` is missing.
        """
        return _dot.render(self, path)

    def _repr_svg_(self) -> str | None:
        return _dot.svg_or_none(self)

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, str]:
        svg = self._repr_svg_()
        bundle = {"text/plain": self.table()}
        if svg is not None:
            bundle["image/svg+xml"] = svg
        return bundle
