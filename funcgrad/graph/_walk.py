"""Reading a jaxpr into nodes: one per box (collapsed) or per primitive (expanded).

The grouping is :mod:`funcgrad.graph._scopes`'s rule on each equation's name stack; nothing here
looks at Python call stacks, so the graph is the same however the code that made it is laid out.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypedDict

import numpy as np
from jax.extend import core as jcore
from jax.typing import ArrayLike

from funcgrad._compat import name_stack
from funcgrad.graph._grad_fn import GRAD_FN_BY_PRIMITIVE, grad_fn_name
from funcgrad.graph._node import Node, NodeKind, Traced
from funcgrad.graph._scopes import Place, containers, module_classes, place

__all__ = ["TAP_SCOPE", "forward_nodes", "primitives", "scopes"]

TAP_SCOPE = "funcgrad.tap"
"""The scope ``fg.graph`` puts around each tap's marker (an ``optimization_barrier``)."""

Atom = jcore.Var | jcore.Literal
"""What an equation reads: a variable, or a literal constant inlined in the jaxpr."""

_ANONYMOUS_CALLS = {
    "custom_jvp_call",
    "custom_vjp_call",
    "checkpoint",
    "remat",
    "closed_call",
    "jit",
}


def scopes(eqn: jcore.JaxprEqn) -> tuple[str, ...]:
    """The equation's user scope names, without funcgrad's tap marker scope."""
    return tuple(s for s in name_stack(eqn) if s != TAP_SCOPE)


def is_tap(eqn: jcore.JaxprEqn) -> bool:
    return eqn.primitive.name == "optimization_barrier" and TAP_SCOPE in name_stack(eqn)


def forward_nodes(traced: Traced, expand: bool) -> tuple[Node, ...]:
    """The nodes of the forward graph of ``traced``: leaves, consts, operations, outputs."""
    closed = traced.jaxpr
    builder = _Builder(closed.jaxpr.eqns, expand, traced.taps)
    env: dict[jcore.Var, str] = {}
    for i, (var, label) in enumerate(zip(closed.jaxpr.invars, traced.labels, strict=True)):
        env[var] = builder.add(
            id=f"in{i}", kind="leaf", label=label, aval=var.aval, requires_grad=traced.requires[i]
        )
    builder.consts(closed.jaxpr.constvars, closed.consts, env)
    builder.walk(closed.jaxpr.eqns, env)
    for i, (var, label) in enumerate(zip(closed.jaxpr.outvars, traced.outputs, strict=True)):
        builder.add(id=f"out{i}", kind="output", label=label, aval=var.aval, inputs=_src(var, env))
    return builder.finish()


def _src(var: Atom, env: dict[jcore.Var, str]) -> tuple[str, ...]:
    if isinstance(var, jcore.Literal):
        return ()
    return (env[var],) if var in env else ()


class _Fields(TypedDict):
    """A :class:`Node`'s fields while the graph is built (labels and names change until the end)."""

    id: str
    kind: NodeKind
    label: str
    shape: tuple[int, ...]
    dtype: str
    inputs: tuple[str, ...]
    primitives: tuple[str, ...]
    grad_fn: str | None
    requires_grad: bool
    cluster: tuple[str, ...]
    name: str | None
    eqns: tuple[int, ...]


class _Builder:
    def __init__(self, eqns: Sequence[jcore.JaxprEqn], expand: bool, taps: Sequence[str]) -> None:
        self.expand = expand
        self.classes = module_classes()
        self.outer = containers([scopes(e) for e in eqns], self.classes)
        self.nodes: list[_Fields] = []
        self.unnamed: set[str] = set()  # ids of boxes to name by their params in finish()
        self.tap_names = iter(taps)
        self.clusters: dict[Hashable, int] = {}

    def add(
        self,
        *,
        id: str,
        kind: NodeKind,
        label: str,
        aval: object,
        value: ArrayLike | None = None,
        inputs: Sequence[str] = (),
        primitives: tuple[str, ...] = (),
        grad_fn: str | None = None,
        requires_grad: bool = False,
        cluster: tuple[str, ...] = (),
        eqns: tuple[int, ...] = (),
        unnamed: bool = False,
    ) -> str:
        if kind == "const" and value is not None and np.size(value) == 1:
            label = f"{np.asarray(value).item():.4g}"
        self.nodes.append(
            _Fields(
                id=id,
                kind=kind,
                label=label,
                shape=tuple(getattr(aval, "shape", ())),
                dtype=str(getattr(aval, "dtype", "")),
                inputs=tuple(inputs),
                primitives=primitives,
                grad_fn=grad_fn,
                requires_grad=requires_grad,
                cluster=cluster,
                name=None,
                eqns=eqns,
            )
        )
        if unnamed:
            self.unnamed.add(id)
        return id

    def node(self, node_id: str) -> _Fields:
        return next(n for n in self.nodes if n["id"] == node_id)

    def consts(
        self, vars_: Sequence[jcore.Var], values: Sequence[ArrayLike], env: dict[jcore.Var, str]
    ) -> None:
        for var, value in zip(vars_, values, strict=True):
            env[var] = self.add(
                id=f"c{len(self.nodes)}", kind="const", label="const", aval=var.aval, value=value
            )

    def finish(self) -> tuple[Node, ...]:
        # A box with no path in its scopes (a module applied directly, not through call_child)
        # is named by the params it reads: "Linear" fed by m0.weight, m0.bias -> "m0: Linear".
        for n in self.nodes:
            if n["id"] in self.unnamed:
                n["label"] = _with_prefix(n["label"], [self.node(i) for i in n["inputs"]])
        return tuple(Node(**n) for n in self.nodes)

    def cluster_id(self, key: Hashable, label: str) -> str:
        """``label|n``: one id per distinct group, so two ``Linear`` groups are two clusters."""
        return f"{label}|{self.clusters.setdefault(key, len(self.clusters))}"

    def group_ids(self, where: Place) -> tuple[str, ...]:
        return tuple(self.cluster_id(key, label) for key, label in where.groups)

    def walk(self, eqns: Sequence[jcore.JaxprEqn], env: dict[jcore.Var, str]) -> None:
        """Add nodes for the top-level ``eqns``; consecutive equations of one box merge."""
        run: list[int] = []
        run_place: Place | None = None
        for index, eqn in enumerate(eqns):
            if is_tap(eqn):
                self._flush(eqns, run, run_place, env)
                run = []
                (src,) = eqn.invars
                name = next(self.tap_names)
                if isinstance(src, jcore.Var) and src in env:  # not a tapped literal constant
                    env[eqn.outvars[0]] = env[src]
                    self.node(env[src])["name"] = name
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
        self,
        eqns: Sequence[jcore.JaxprEqn],
        run: list[int],
        where: Place | None,
        env: dict[jcore.Var, str],
    ) -> None:
        if not run or where is None:
            return
        self._emit([eqns[i] for i in run], tuple(run), env, self.group_ids(where), where.box)

    def _expanded(
        self,
        eqn: jcore.JaxprEqn,
        index: int,
        where: Place,
        env: dict[jcore.Var, str],
        cluster: tuple[str, ...],
    ) -> None:
        if where.box is not None:
            cluster = cluster + (self.cluster_id(where.box[0], where.box[1]),)
        sub = _sub_jaxpr(eqn)
        if sub is None:
            self._emit([eqn], (index,), env, cluster, None)
            return
        inner, consts = sub  # a jit / custom_jvp / remat body: walk it inside its own cluster
        inner_env: dict[jcore.Var, str] = {}
        self.consts(inner.constvars, consts, inner_env)
        for v_in, v_out in zip(inner.invars, eqn.invars, strict=True):
            if not isinstance(v_out, jcore.Literal) and v_out in env:
                inner_env[v_in] = env[v_out]
        label = _eqn_label(eqn)
        if label not in _ANONYMOUS_CALLS and (not cluster or cluster[-1].split("|")[0] != label):
            cluster = cluster + (self.cluster_id(("call", index, id(eqn)), label),)
        for e in inner.eqns:
            self._expanded(e, index, Place((), None), inner_env, cluster)
        for outer_out, inner_out in zip(eqn.outvars, inner.outvars, strict=True):
            if not isinstance(inner_out, jcore.Literal) and inner_out in inner_env:
                env[outer_out] = inner_env[inner_out]

    def _emit(
        self,
        eqns: list[jcore.JaxprEqn],
        indices: tuple[int, ...],
        env: dict[jcore.Var, str],
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
            requires_grad=differentiable and any(self.node(i)["requires_grad"] for i in inputs),
            cluster=cluster,
            eqns=indices,
            unnamed=box is not None and box[1] == box[2] and box[2] in self.classes,
        )
        for v in produced:
            env[v] = node_id


def _with_prefix(label: str, inputs: list[_Fields]) -> str:
    """``Linear`` fed by leaves ``m0.weight`` and ``m0.bias`` becomes ``m0: Linear``."""
    params = [n["label"] for n in inputs if n["kind"] == "leaf" and "." in n["label"]]
    prefixes = {p.rsplit(".", 1)[0] for p in params}
    return f"{prefixes.pop()}: {label}" if len(prefixes) == 1 else label


def _eqn_label(eqn: jcore.JaxprEqn) -> str:
    """The primitive's name, or for a call (jit, custom_jvp) the called function's (``relu``)."""
    sub = _sub_jaxpr(eqn)
    if sub is None:
        return eqn.primitive.name
    name = eqn.params.get("name") or getattr(sub[0].debug_info, "func_name", None)
    if isinstance(name, str) and name != "<lambda>":
        return name.lstrip("_")
    return eqn.primitive.name


def _sub_jaxpr(eqn: jcore.JaxprEqn) -> tuple[jcore.Jaxpr, Sequence[ArrayLike]] | None:
    """The body of a call-like primitive (jit, custom_jvp/vjp, remat), or None."""
    for key in ("jaxpr", "call_jaxpr", "fun_jaxpr"):
        body = eqn.params.get(key)
        if isinstance(body, jcore.ClosedJaxpr):
            return body.jaxpr, body.consts
        if isinstance(body, jcore.Jaxpr):
            return body, ()
    return None


def primitives(eqn: jcore.JaxprEqn) -> list[str]:
    """The primitives ``eqn`` runs: itself, or those of the body of a call."""
    sub = _sub_jaxpr(eqn)
    if sub is None:
        return [eqn.primitive.name]
    return [p for e in sub[0].eqns for p in primitives(e)]
