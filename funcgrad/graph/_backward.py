"""The backward graph: PyTorch's ``grad_fn`` chain, with the JAX primitives of each VJP.

PyTorch draws the backward pass as one node per forward operation that needs a gradient, named by
its ``grad_fn``, linked by ``next_functions`` from the loss down to ``AccumulateGrad`` nodes that
fill the leaves' ``.grad``. We build the same shape from the forward graph, then trace the real
backward pass (``jax.vjp``) of the forward jaxpr with each node's equations under a scope of its
own (``funcgrad.node3``): JAX carries a forward equation's name stack onto every backward equation
it derives, so each backward primitive lands in the node it undoes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.extend import core as jcore

from funcgrad._compat import name_stack, with_scope
from funcgrad._typing import PyTree
from funcgrad.autodiff._backward import vjp_wrt
from funcgrad.graph._node import Node, Traced
from funcgrad.graph._walk import forward_nodes, primitives

__all__ = ["backward_nodes"]

_NODE_SCOPE = "funcgrad.node"


def backward_nodes(traced: Traced) -> tuple[Node, ...]:
    """The nodes of the backward graph of ``traced`` (see the module docstring)."""
    if not any(traced.requires):
        raise ValueError("backward: no argument requires grad; pass wrt=... to trace")
    forward = forward_nodes(traced, expand=False)
    by_id = {n.id: n for n in forward}
    ops = [n for n in forward if n.kind == "op" and n.requires_grad]
    vjp_prims = _vjp_primitives(traced, [n for n in forward if n.kind == "op"])
    bid = {n.id: f"b{n.id}" for n in ops}

    def consumers(node_id: str) -> list[Node]:
        return [n for n in forward if node_id in n.inputs]

    def gradient_sources(node_id: str) -> tuple[str, ...]:
        """Where the gradient of ``node_id`` comes from: its forward consumers' backward nodes."""
        sources: list[str] = []
        for c in consumers(node_id):
            if c.id in bid:
                sources.append(bid[c.id])
            elif c.kind == "output":
                sources.append(f"seed_{c.id}")
        return tuple(sources)

    nodes: list[Node] = []
    for out in (n for n in forward if n.kind == "output"):
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
    for n in reversed(ops):
        nodes.append(
            Node(
                bid[n.id],
                "op",
                n.grad_fn or f"{n.label}Backward",
                n.shape,
                n.dtype,
                inputs=gradient_sources(n.id),
                primitives=tuple(vjp_prims.get(n.id, ())),
                grad_fn=n.grad_fn,
                requires_grad=True,
                cluster=n.cluster,
                name=n.name,
                eqns=n.eqns,
            )
        )
    for leaf in (by_id[i] for i in by_id if by_id[i].kind == "leaf"):
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
    return tuple(nodes)


def _vjp_primitives(traced: Traced, ops: list[Node]) -> dict[str, list[str]]:
    """Trace the backward pass and file each primitive under the forward node it came from."""
    closed = traced.jaxpr
    owner = {i: n.id for n in ops for i in n.eqns}
    eqns = [
        with_scope(e, f"{_NODE_SCOPE}{i}") if i in owner else e
        for i, e in enumerate(closed.jaxpr.eqns)
    ]
    scoped = jcore.ClosedJaxpr(closed.jaxpr.replace(eqns=eqns), closed.consts)
    run = jcore.jaxpr_as_fun(scoped)
    nums = [i for i, r in enumerate(traced.requires) if r]
    avals = [jax.ShapeDtypeStruct(v.aval.shape, v.aval.dtype) for v in closed.jaxpr.invars]

    found: dict[str, list[str]] = {}

    def forward(*args: jax.Array) -> PyTree:  # traced only: the forward pass never runs on the data
        out, vjp_fn = vjp_wrt(run, args, nums)
        seed = jax.tree_util.tree_map(jnp.ones_like, out)
        for eqn in jax.make_jaxpr(vjp_fn)(seed).jaxpr.eqns:
            tags = [s for s in name_stack(eqn) if s.startswith(_NODE_SCOPE)]
            if tags:
                found.setdefault(owner[int(tags[-1][len(_NODE_SCOPE) :])], []).extend(
                    primitives(eqn)
                )
        return out

    jax.eval_shape(forward, *avals)
    return found
