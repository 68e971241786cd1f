"""The backward graph: PyTorch's ``grad_fn`` chain, with the JAX primitives of each VJP.

PyTorch draws the backward pass as one node per forward operation that needs a gradient, named by
its ``grad_fn``, linked by ``next_functions`` from the loss down to ``AccumulateGrad`` nodes that
fill the leaves' ``.grad``. We build the same shape from the forward graph, then trace the real
backward pass (``jax.vjp``) and list in each node the primitives its VJP runs: JAX keeps the
forward call stack on every backward primitive, so each lands in the node of the call it undoes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from funcgrad.autodiff._backward import vjp_wrt
from funcgrad.graph._graph import Graph, Node
from funcgrad.graph._trace import _primitives

__all__ = ["backward_graph"]


def backward_graph(
    forward: Graph,
    flat_f: Callable[..., Any],
    flat_args: Sequence[Any],
    requires: Sequence[bool],
    box_key: Callable[[Any], Any],
) -> Graph:
    """Build the backward graph of ``forward`` (see the module docstring)."""
    if not any(requires):
        raise ValueError("backward: no argument requires grad; pass wrt=... to trace")
    vjp_prims = _vjp_primitives(flat_f, flat_args, requires, box_key)
    ops = [n for n in forward.ops if n.requires_grad]
    bid = {n.id: f"b{n.id}" for n in ops}
    nodes: list[Node] = []
    for out in forward.outputs:
        if any(i in bid for i in out.inputs):
            value = "1" if out.shape == () else "v"
            nodes.append(
                Node(
                    f"seed_{out.id}",
                    "seed",
                    f"d {out.label} = {value}",
                    out.shape,
                    out.dtype,
                    requires_grad=True,
                )
            )

    def gradient_sources(node_id: str) -> tuple[str, ...]:
        """Where the gradient of ``node_id`` comes from: its forward consumers' backward nodes."""
        sources = []
        for c in forward.consumers(node_id):
            if c.id in bid:
                sources.append(bid[c.id])
            elif c.kind == "output":
                sources.append(f"seed_{c.id}")
        return tuple(sources)

    for n in reversed(ops):
        nodes.append(
            Node(
                bid[n.id],
                "op",
                n.grad_fn or f"{n.label}Backward",
                n.shape,
                n.dtype,
                inputs=gradient_sources(n.id),
                primitives=tuple(vjp_prims.get(n.key, ())),
                grad_fn=n.grad_fn,
                requires_grad=True,
                cluster=n.cluster,
                name=n.name,
                key=n.key,
            )
        )
    for leaf in forward.leaves:
        if leaf.requires_grad:
            nodes.append(
                Node(
                    f"g{leaf.id}",
                    "grad",
                    f"{leaf.label}.grad",
                    leaf.shape,
                    leaf.dtype,
                    inputs=gradient_sources(leaf.id),
                    grad_fn="AccumulateGrad",
                    requires_grad=True,
                )
            )
    return Graph(tuple(nodes), "backward")


def _vjp_primitives(
    flat_f: Callable[..., Any],
    flat_args: Sequence[Any],
    requires: Sequence[bool],
    box_key: Callable[[Any], Any],
) -> dict[Any, list[str]]:
    """Trace the backward pass and file each primitive under the forward box it came from."""
    nums = [i for i, r in enumerate(requires) if r]
    found: dict[Any, list[str]] = {}

    def forward(*args: Any) -> Any:  # traced only: the forward pass never runs on the data
        out, vjp_fn = vjp_wrt(flat_f, args, nums)
        seed = jax.tree_util.tree_map(jnp.ones_like, out)
        for eqn in jax.make_jaxpr(vjp_fn)(seed).jaxpr.eqns:
            found.setdefault(box_key(eqn)[0], []).extend(_primitives(eqn))
        return out

    jax.eval_shape(forward, *flat_args)
    return found
