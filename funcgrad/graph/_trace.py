"""``trace``: build a computational graph from a function's jaxpr.

``jax.make_jaxpr`` records every primitive a function runs, with the Python call stack that made
it. The leaves are the function's arguments; the operations are the primitives, grouped by the
call that made them: a call of a funcgrad layer or loss (``Linear``, ``relu``,
``binary_cross_entropy_with_logits``), or of your own helper function, becomes one box; models and
``Sequential`` (containers) become labelled groups around their layers. ``expand=True`` shows every
primitive, with those groups drawn as clusters.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from types import CodeType
from typing import Any

import jax
import numpy as np
from jax.extend import core as jcore

from funcgrad.autodiff._paths import arg_names, leaf_paths, matches, path_name
from funcgrad.autodiff._taps import tap_handler
from funcgrad.graph._grad_fn import grad_fn_name
from funcgrad.graph._graph import Graph, Node

__all__ = ["trace"]

Frame = tuple[CodeType, int]
_JAX_DIRS = tuple(
    os.path.dirname(m.__file__) + os.sep
    for m in (jax, np, __import__("jaxlib"), os)  # type: ignore[type-var]
)
_FG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # .../funcgrad/
# Our own tracing machinery never appears in a graph.
_HIDDEN = tuple(
    os.path.join(_FG_DIR, *parts)
    for parts in (("graph", "_trace.py"), ("graph", "_backward.py"), ("autodiff", "_taps.py"))
)
_CONTAINERS = {"Sequential.apply", "Batched.apply"}
_ANONYMOUS_CALLS = {
    "custom_jvp_call",
    "custom_vjp_call",
    "checkpoint",
    "remat",
    "closed_call",
    "jit",
}


def trace(
    f: Callable[..., Any],
    *args: Any,
    wrt: int | str | Sequence[int | str] | None = 0,
    names: Sequence[str] | None = None,
    expand: bool = False,
) -> Graph:
    """The computational graph of ``f(*args)``: leaves, operations and outputs.

    * Leaves are the arguments, labelled by their path in a params pytree (``m0.weight``) or by
      the argument's name (from ``f``'s signature, or ``names``). A leaf "requires grad" when it
      is selected by ``wrt``: argument positions, argument names, or dotted-path globs
      (``"m0.*"``); ``wrt=None`` differentiates nothing.
    * Operations carry the JAX primitives they run and the ``grad_fn`` name PyTorch would show.
    * ``.backward()`` gives the graph of the backward pass; ``.to_dot()`` / ``.render(path)``
      draw it with Graphviz; notebooks display it inline.

    Example (the notes' single layer):
        >>> import jax.numpy as jnp, funcgrad as fg
        >>> def single_layer(x, y, w, b):
        ...     z = x @ w + b
        ...     return fg.losses.binary_cross_entropy_with_logits(z, y)
        >>> g = trace(single_layer, jnp.ones(5), jnp.ones(3), jnp.ones((5, 3)), jnp.ones(3),
        ...           wrt=("w", "b"))
        >>> g.leaf_names, g.requires_grad
        (['x', 'y', 'w', 'b'], ['w', 'b'])
        >>> g.grad_fns
        ['MmBackward0', 'AddBackward0', 'BinaryCrossEntropyWithLogitsBackward0']
        >>> [n.label for n in g.backward().ops]
        ['BinaryCrossEntropyWithLogitsBackward0', 'AddBackward0', 'MmBackward0']
    """
    arg_labels = list(names) if names is not None else arg_names(f, len(args))
    if len(arg_labels) != len(args):
        raise ValueError(f"trace: got {len(arg_labels)} names for {len(args)} arguments")
    flat, treedef = jax.tree_util.tree_flatten(args)
    labels, owners = _leaf_labels(args, arg_labels)
    requires = _select(wrt, labels, owners, arg_labels)

    def flat_f(*leaves: Any) -> Any:
        return f(*jax.tree_util.tree_unflatten(treedef, leaves))

    marker = _TapMarker()
    with tap_handler(marker):
        closed, out_shape = jax.make_jaxpr(flat_f, return_shape=True)(*flat)
    builder = _Builder(flat_f.__code__, expand, marker)
    env: dict[Any, str] = {}
    for i, (var, label) in enumerate(zip(closed.jaxpr.invars, labels, strict=True)):
        env[var] = builder.add(
            id=f"in{i}", kind="leaf", label=label, aval=var.aval, requires_grad=requires[i]
        )
    for var, value in zip(closed.jaxpr.constvars, closed.consts, strict=True):
        env[var] = builder.add(
            id=f"c{len(builder.nodes)}", kind="const", label="const", aval=var.aval, value=value
        )
    builder.walk(closed.jaxpr.eqns, env, ())
    out_paths = leaf_paths(out_shape)
    for i, (var, path) in enumerate(zip(closed.jaxpr.outvars, out_paths, strict=True)):
        label = "output" + (f".{path}" if path else "")
        src = builder.source(var, env)
        builder.add(id=f"out{i}", kind="output", label=label, aval=var.aval, inputs=src)
    graph = builder.graph()

    def backward() -> Graph:
        from funcgrad.graph._backward import backward_graph

        collapsed = graph if not expand else trace(f, *args, wrt=wrt, names=names)
        return backward_graph(collapsed, flat_f, flat, requires, builder.box_key)

    return Graph(graph.nodes, "forward", backward)


def _leaf_labels(args: tuple[Any, ...], arg_labels: list[str]) -> tuple[list[str], list[int]]:
    """A dotted label per flat leaf, and the argument each leaf belongs to."""
    labels, owners = [], []
    for i, arg in enumerate(args):
        for path, _ in jax.tree_util.tree_leaves_with_path(arg):
            labels.append(path_name(path) or arg_labels[i])
            owners.append(i)
    if len(set(labels)) < len(labels):  # two params dicts with the same keys: prefix by argument
        labels = [
            f"{arg_labels[o]}.{lab}" if lab != arg_labels[o] else lab
            for lab, o in zip(labels, owners, strict=True)
        ]
    return labels, owners


def _select(
    wrt: int | str | Sequence[int | str] | None,
    labels: list[str],
    owners: list[int],
    arg_labels: list[str],
) -> list[bool]:
    if wrt is None:
        return [False] * len(labels)
    items = [wrt] if isinstance(wrt, int | str) else list(wrt)
    chosen = [False] * len(labels)
    for item in items:
        hit = [
            (o == item % len(arg_labels))
            if isinstance(item, int)
            else (arg_labels[o] == item or matches(lab, [item]))
            for lab, o in zip(labels, owners, strict=True)
        ]
        if not any(hit):
            raise ValueError(
                f"trace: wrt={item!r} selects nothing; arguments are {arg_labels}, "
                f"leaves are {labels}"
            )
        chosen = [c or h for c, h in zip(chosen, hit, strict=True)]
    return chosen


class _TapMarker:
    """During tracing, make each ``tap`` visible as an identity op so its name labels a node."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, x: Any, name: str) -> Any:
        self.names.append(name)
        return jax.lax.optimization_barrier(x)

    def is_marker(self, eqn: Any) -> bool:
        tb = eqn.source_info.traceback
        return (
            eqn.primitive.name == "optimization_barrier"
            and tb is not None
            and _TapMarker.__call__.__code__ in tb.raw_frames()[0]
        )


def _kind(code: CodeType) -> str:
    """How a frame groups: ``container`` (models, Sequential), ``atomic`` (layers, losses, F.*),
    ``user`` (your own helper functions)."""
    fname, qual = code.co_filename, code.co_qualname
    if not fname.startswith(_FG_DIR):
        return "user"
    if qual in _CONTAINERS or os.sep + "models" + os.sep in fname:
        return "container"
    if os.sep + "nn" + os.sep in fname or fname.endswith(os.sep + "losses.py"):
        return "atomic"
    return "container"


def _name(code: CodeType) -> str:
    """``Linear.apply`` -> ``Linear``; ``relu`` -> ``relu``."""
    qual = code.co_qualname.split(".<locals>.")[-1]
    return qual[: -len(".apply")] if qual.endswith(".apply") else qual


class _Builder:
    def __init__(self, root: CodeType, expand: bool, marker: _TapMarker) -> None:
        self.root, self.expand, self.marker = root, expand, marker
        self.nodes: list[dict[str, Any]] = []
        self.tap_names = iter(marker.names)
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

    def graph(self) -> Graph:
        # Name expanded layer clusters by the params they read: "Linear" -> "m0: Linear".
        leaves: dict[str, list[dict[str, Any]]] = {}
        for n in self.nodes:
            for c in n.get("cluster", ()):
                leaves.setdefault(c, []).extend(self.node(i) for i in n["inputs"])
        renamed = {}
        for c, inputs in leaves.items():
            label, uid = c.split("|")
            renamed[c] = f"{_with_prefix(label, inputs)}|{uid}"
        for n in self.nodes:
            n["cluster"] = tuple(renamed[c] for c in n.get("cluster", ()))
        return Graph(tuple(Node(**n) for n in self.nodes))

    def node(self, node_id: str) -> dict[str, Any]:
        return next(n for n in self.nodes if n["id"] == node_id)

    # -- call stacks ---------------------------------------------------------------------------

    def frames(self, eqn: Any) -> tuple[list[Frame], str | None]:
        """The user/funcgrad frames below the traced function, outermost first, and the name of
        the first library function called from the deepest of them (``mean``)."""
        tb = eqn.source_info.traceback
        if tb is None:
            return [], None
        codes, lastis = tb.raw_frames()
        pairs = list(zip(codes, lastis, strict=True))[::-1]
        start = next((i + 1 for i, (c, _) in enumerate(pairs) if c is self.root), 0)
        kept, library = [], None
        for code, lasti in pairs[start:]:
            fname = code.co_filename
            if fname.startswith(_HIDDEN):
                continue
            if fname.startswith(_JAX_DIRS) or fname.startswith("<frozen"):
                if library is None and kept:
                    library = code.co_name.lstrip("_")
                continue
            kept.append((code, lasti))
            library = None
        return kept, library

    def box_key(self, eqn: Any) -> tuple[tuple[Frame, ...], list[tuple[Frame, ...]], str | None]:
        """(key of the box this eqn belongs to, enclosing container keys, box function name)."""
        frames, _ = self.frames(eqn)
        clusters = []
        for k in range(1, len(frames)):
            if _kind(frames[k][0]) == "container":
                clusters.append(tuple(frames[:k]) + ((frames[k][0], -1),))
                continue
            # The box is the call, not the line inside it: drop the callee's own position.
            return tuple(frames[:k]) + ((frames[k][0], -1),), clusters, _name(frames[k][0])
        return tuple(frames), clusters, None

    # -- walking the jaxpr ---------------------------------------------------------------------

    def source(self, var: Any, env: dict[Any, str]) -> tuple[str, ...]:
        if isinstance(var, jcore.Literal):
            return ()
        return (env[var],) if var in env else ()

    def walk(self, eqns: Sequence[Any], env: dict[Any, str], outer: tuple[str, ...]) -> None:
        """Add nodes for ``eqns``: one per box (collapsed) or per primitive (expanded)."""
        run: list[Any] = []
        run_key: Any = None
        run_info: Any = None
        for eqn in eqns:
            if self.marker.is_marker(eqn):
                self._flush(run, run_info, env, outer)
                run, run_key = [], None
                (src,) = eqn.invars
                env[eqn.outvars[0]] = env[src]
                self.node(env[src])["name"] = next(self.tap_names)
                continue
            info = self.box_key(eqn) if not outer else ((), [], None)
            key = info[0]
            if self.expand:
                self._expanded(eqn, info, env, outer)
                continue
            if run and key == run_key and key:
                run.append(eqn)
                continue
            self._flush(run, run_info, env, outer)
            run, run_key, run_info = [eqn], key, info
        self._flush(run, run_info, env, outer)

    def cluster_id(self, key: Any, label: str) -> str:
        """``label|n``: one id per distinct call, so two ``Linear`` calls are two clusters."""
        return f"{label}|{self.clusters.setdefault(key, len(self.clusters))}"

    def _cluster_labels(self, clusters: list[tuple[Frame, ...]]) -> tuple[str, ...]:
        return tuple(self.cluster_id(c, _name(c[-1][0])) for c in clusters)

    def _expanded(self, eqn: Any, info: Any, env: dict[Any, str], outer: tuple[str, ...]) -> None:
        key, clusters, function = info
        cluster = outer or self._cluster_labels(clusters) + (
            (self.cluster_id(key, function),) if function else ()
        )
        sub = _sub_jaxpr(eqn)
        if sub is None:
            self._emit([eqn], env, cluster, None, key)
            return
        inner, consts = sub  # a jit / custom_jvp / remat body: walk it inside its own cluster
        inner_env: dict[Any, str] = {}
        for var, value in zip(inner.constvars, consts, strict=True):
            inner_env[var] = self.add(
                id=f"c{len(self.nodes)}", kind="const", label="const", aval=var.aval, value=value
            )
        for v_in, v_out in zip(inner.invars, eqn.invars, strict=True):
            if not isinstance(v_out, jcore.Literal) and v_out in env:
                inner_env[v_in] = env[v_out]
        label = _eqn_label(eqn)
        if label not in _ANONYMOUS_CALLS and (not cluster or cluster[-1].split("|")[0] != label):
            cluster = cluster + (self.cluster_id(eqn, label),)
        self.walk(inner.eqns, inner_env, cluster)
        for v_out, v_in in zip(eqn.outvars, inner.outvars, strict=True):
            if not isinstance(v_in, jcore.Literal) and v_in in inner_env:
                env[v_out] = inner_env[v_in]

    def _flush(
        self, run: list[Any], info: Any, env: dict[Any, str], outer: tuple[str, ...]
    ) -> None:
        if not run:
            return
        key, clusters, function = info
        self._emit(run, env, outer or self._cluster_labels(clusters), function, key)

    def _emit(
        self,
        eqns: list[Any],
        env: dict[Any, str],
        cluster: tuple[str, ...],
        function: str | None,
        key: Any,
    ) -> None:
        produced = {v for e in eqns for v in e.outvars}
        inputs: list[str] = []
        for e in eqns:
            for v in e.invars:
                if isinstance(v, jcore.Literal) or v in produced or v not in env:
                    continue
                if env[v] not in inputs:
                    inputs.append(env[v])
        prims = tuple(p for e in eqns for p in _primitives(e))
        requires = any(self.node(i).get("requires_grad", False) for i in inputs)
        if function is not None:
            label = function
        elif len(eqns) == 1:
            label = _eqn_label(eqns[0])
        else:
            label = self.frames(eqns[0])[1] or "+".join(_eqn_label(e) for e in eqns)
        node_id = f"op{len(self.nodes)}"
        self.add(
            id=node_id,
            kind="op",
            label=_with_prefix(label, [self.node(i) for i in inputs]) if function else label,
            aval=eqns[-1].outvars[0].aval,
            inputs=inputs,
            primitives=prims,
            grad_fn=grad_fn_name(function or label, prims),
            requires_grad=requires,
            cluster=cluster,
            key=key,
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
    return str(name) if isinstance(name, str) and name != "<lambda>" else eqn.primitive.name


def _sub_jaxpr(eqn: Any) -> tuple[Any, Sequence[Any]] | None:
    """The body of a call-like primitive (jit, custom_jvp/vjp, remat), or None."""
    for key in ("jaxpr", "call_jaxpr", "fun_jaxpr"):
        body = eqn.params.get(key)
        if isinstance(body, jcore.ClosedJaxpr):
            return body.jaxpr, body.consts
        if isinstance(body, jcore.Jaxpr):
            return body, ()
    return None


def _primitives(eqn: Any) -> list[str]:
    sub = _sub_jaxpr(eqn)
    if sub is None:
        return [eqn.primitive.name]
    return [p for e in sub[0].eqns for p in _primitives(e)]
