"""Reading a jaxpr into nodes: one per box (collapsed) or per primitive (expanded).

The grouping is :mod:`funcgrad.graph._scopes`'s rule on each equation's name stack; nothing here
looks at Python call stacks, so the graph is the same however the code that made it is laid out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from jax.extend import core as jcore

from funcgrad._compat import name_stack
from funcgrad.graph._grad_fn import GRAD_FN_BY_PRIMITIVE, grad_fn_name
from funcgrad.graph._node import Node, Traced
from funcgrad.graph._scopes import Place, containers, module_classes, place

__all__ = ["TAP_SCOPE", "forward_nodes", "primitives", "scopes"]

TAP_SCOPE = "funcgrad.tap"
"""The scope ``fg.graph`` puts around each tap's marker (an ``optimization_barrier``)."""

_ANONYMOUS_CALLS = {
    "custom_jvp_call",
    "custom_vjp_call",
    "checkpoint",
    "remat",
    "closed_call",
    "jit",
}


def scopes(eqn: Any) -> tuple[str, ...]:
    """The equation's user scope names, without funcgrad's tap marker scope."""
    return tuple(s for s in name_stack(eqn) if s != TAP_SCOPE)


def is_tap(eqn: Any) -> bool:
    return eqn.primitive.name == "optimization_barrier" and TAP_SCOPE in name_stack(eqn)


def forward_nodes(traced: Traced, expand: bool) -> tuple[Node, ...]:
    """The nodes of the forward graph of ``traced``: leaves, consts, operations, outputs."""
    closed = traced.jaxpr
    builder = _Builder(closed.jaxpr.eqns, expand, traced.taps)
    env: dict[Any, str] = {}
    for i, (var, label) in enumerate(zip(closed.jaxpr.invars, traced.labels, strict=True)):
        env[var] = builder.add(
            id=f"in{i}", kind="leaf", label=label, aval=var.aval, requires_grad=traced.requires[i]
        )
    builder.consts(closed.jaxpr.constvars, closed.consts, env)
    builder.walk(closed.jaxpr.eqns, env)
    for i, (var, label) in enumerate(zip(closed.jaxpr.outvars, traced.outputs, strict=True)):
        builder.add(id=f"out{i}", kind="output", label=label, aval=var.aval, inputs=_src(var, env))
    return builder.finish()


def _src(var: Any, env: dict[Any, str]) -> tuple[str, ...]:
    if isinstance(var, jcore.Literal):
        return ()
    return (env[var],) if var in env else ()


class _Builder:
    def __init__(self, eqns: Sequence[Any], expand: bool, taps: Sequence[str]) -> None:
        self.expand = expand
        self.classes = module_classes()
        self.outer = containers([scopes(e) for e in eqns], self.classes)
        self.nodes: list[dict[str, Any]] = []
        self.tap_names = iter(taps)
        self.clusters: dict[Any, int] = {}

    def add(
        self, *, aval: Any, value: Any = None, inputs: Sequence[str] = (), **fields: Any
    ) -> str:
        shape = tuple(getattr(aval, "shape", ()))
        dtype = str(getattr(aval, "dtype", ""))
        if fields["kind"] == "const" and value is not None and np.size(value) == 1:
            fields["label"] = f"{np.asarray(value).item():.4g}"
        self.nodes.append({"shape": shape, "dtype": dtype, "inputs": tuple(inputs), **fields})
        return fields["id"]

    def node(self, node_id: str) -> dict[str, Any]:
        return next(n for n in self.nodes if n["id"] == node_id)

    def consts(self, vars_: Sequence[Any], values: Sequence[Any], env: dict[Any, str]) -> None:
        for var, value in zip(vars_, values, strict=True):
            env[var] = self.add(
                id=f"c{len(self.nodes)}", kind="const", label="const", aval=var.aval, value=value
            )

    def finish(self) -> tuple[Node, ...]:
        # A box with no path in its scopes (a module applied directly, not through call_child)
        # is named by the params it reads: "Linear" fed by m0.weight, m0.bias -> "m0: Linear".
        for n in self.nodes:
            if n.pop("unnamed", False):
                n["label"] = _with_prefix(n["label"], [self.node(i) for i in n["inputs"]])
        return tuple(Node(**n) for n in self.nodes)

    def cluster_id(self, key: Any, label: str) -> str:
        """``label|n``: one id per distinct group, so two ``Linear`` groups are two clusters."""
        return f"{label}|{self.clusters.setdefault(key, len(self.clusters))}"

    def group_ids(self, where: Place) -> tuple[str, ...]:
        return tuple(self.cluster_id(key, label) for key, label in where.groups)

    def walk(self, eqns: Sequence[Any], env: dict[Any, str]) -> None:
        """Add nodes for the top-level ``eqns``; consecutive equations of one box merge."""
        run: list[int] = []
        run_place: Place | None = None
        for index, eqn in enumerate(eqns):
            if is_tap(eqn):
                self._flush(eqns, run, run_place, env)
                run = []
                (src,) = eqn.invars
                env[eqn.outvars[0]] = env[src]
                self.node(env[src])["name"] = next(self.tap_names)
                continue
            where = place(scopes(eqn), self.classes, self.outer)
            if self.expand:
                self._expanded(eqn, index, where, env, self.group_ids(where))
                continue
            if run and where.box is not None and run_place == where:
                run.append(index)
                continue
            self._flush(eqns, run, run_place, env)
            run, run_place = [index], where
        self._flush(eqns, run, run_place, env)

    def _flush(
        self, eqns: Sequence[Any], run: list[int], where: Place | None, env: dict[Any, str]
    ) -> None:
        if not run or where is None:
            return
        self._emit([eqns[i] for i in run], tuple(run), env, self.group_ids(where), where.box)

    def _expanded(
        self, eqn: Any, index: int, where: Place, env: dict[Any, str], cluster: tuple[str, ...]
    ) -> None:
        if where.box is not None:
            cluster = cluster + (self.cluster_id(where.box[0], where.box[1]),)
        sub = _sub_jaxpr(eqn)
        if sub is None:
            self._emit([eqn], (index,), env, cluster, None)
            return
        inner, consts = sub  # a jit / custom_jvp / remat body: walk it inside its own cluster
        inner_env: dict[Any, str] = {}
        self.consts(inner.constvars, consts, inner_env)
        for v_in, v_out in zip(inner.invars, eqn.invars, strict=True):
            if not isinstance(v_out, jcore.Literal) and v_out in env:
                inner_env[v_in] = env[v_out]
        label = _eqn_label(eqn)
        if label not in _ANONYMOUS_CALLS and (not cluster or cluster[-1].split("|")[0] != label):
            cluster = cluster + (self.cluster_id(("call", index, id(eqn)), label),)
        for e in inner.eqns:
            self._expanded(e, index, Place((), None), inner_env, cluster)
        for v_out, v_in in zip(eqn.outvars, inner.outvars, strict=True):
            if not isinstance(v_in, jcore.Literal) and v_in in inner_env:
                env[v_out] = inner_env[v_in]

    def _emit(
        self,
        eqns: list[Any],
        indices: tuple[int, ...],
        env: dict[Any, str],
        cluster: tuple[str, ...],
        box: tuple[tuple[str, ...], str, str] | None,
    ) -> None:
        produced = {v for e in eqns for v in e.outvars}
        inputs: list[str] = []
        for e in eqns:
            for v in e.invars:
                if isinstance(v, jcore.Literal) or v in produced or v not in env:
                    continue
                if env[v] not in inputs:
                    inputs.append(env[v])
        prims = tuple(p for e in eqns for p in primitives(e))
        if box is not None:
            label, grad_fn = box[1], grad_fn_name(box[2], prims)
        else:
            label = _eqn_label(eqns[0]) if len(eqns) == 1 else "+".join(map(_eqn_label, eqns))
            grad_fn = grad_fn_name(label, prims)
        # Comparisons and the like carry no gradient, as in torch (no grad_fn is recorded).
        differentiable = box is not None or any(
            GRAD_FN_BY_PRIMITIVE.get(p, "") is not None for p in prims
        )
        node_id = f"op{len(self.nodes)}"
        self.add(
            id=node_id,
            kind="op",
            label=label,
            aval=eqns[-1].outvars[0].aval,
            inputs=inputs,
            primitives=prims,
            grad_fn=grad_fn,
            requires_grad=differentiable
            and any(self.node(i).get("requires_grad", False) for i in inputs),
            cluster=cluster,
            eqns=indices,
            unnamed=box is not None and box[1] == box[2] and box[2] in self.classes,
        )
        for v in produced:
            env[v] = node_id


def _with_prefix(label: str, inputs: list[dict[str, Any]]) -> str:
    """``Linear`` fed by leaves ``m0.weight`` and ``m0.bias`` becomes ``m0: Linear``."""
    params = [n["label"] for n in inputs if n["kind"] == "leaf" and "." in n["label"]]
    prefixes = {p.rsplit(".", 1)[0] for p in params}
    return f"{prefixes.pop()}: {label}" if len(prefixes) == 1 else label


def _eqn_label(eqn: Any) -> str:
    """The primitive's name, or for a call (jit, custom_jvp) the called function's (``relu``)."""
    sub = _sub_jaxpr(eqn)
    if sub is None:
        return eqn.primitive.name
    name = eqn.params.get("name") or getattr(sub[0].debug_info, "func_name", None)
    if isinstance(name, str) and name != "<lambda>":
        return name.lstrip("_")
    return eqn.primitive.name


def _sub_jaxpr(eqn: Any) -> tuple[Any, Sequence[Any]] | None:
    """The body of a call-like primitive (jit, custom_jvp/vjp, remat), or None."""
    for key in ("jaxpr", "call_jaxpr", "fun_jaxpr"):
        body = eqn.params.get(key)
        if isinstance(body, jcore.ClosedJaxpr):
            return body.jaxpr, body.consts
        if isinstance(body, jcore.Jaxpr):
            return body, ()
    return None


def primitives(eqn: Any) -> list[str]:
    """The primitives ``eqn`` runs: itself, or those of the body of a call."""
    sub = _sub_jaxpr(eqn)
    if sub is None:
        return [eqn.primitive.name]
    return [p for e in sub[0].eqns for p in primitives(e)]
