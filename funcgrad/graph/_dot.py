"""Drawing a :class:`Graph`: DOT text, and files or inline SVG through Graphviz's ``dot``."""

from __future__ import annotations

import html
import os
import shutil
import subprocess
from typing import TYPE_CHECKING

from funcgrad.graph._node import Node

if TYPE_CHECKING:  # only for annotations: _graph imports this module
    from funcgrad.graph._graph import Graph

__all__ = ["GraphvizNotFoundError", "render", "svg_or_none", "to_dot"]

INSTALL_HINT = (
    "Graphviz's `dot` program is not installed; install it with `apt-get install graphviz` "
    "(Debian/Ubuntu), `brew install graphviz` (macOS) or `conda install -c conda-forge graphviz`, "
    "or save the DOT text instead with graph.render('graph.dot')"
)

_FILL = {
    ("leaf", True): "#cfe8ff",
    ("leaf", False): "#eeeeee",
    ("const", False): "#f7f7f7",
    ("op", True): "#fff2cc",
    ("op", False): "#f0f0f0",
    ("output", True): "#d9f2d9",
    ("output", False): "#d9f2d9",
    ("seed", True): "#d9f2d9",
    ("grad", True): "#cfe8ff",
}


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` is needed to draw the graph and is not on the PATH."""

    __module__ = "funcgrad.graph"


def _label(node: Node, backward: bool) -> str:
    """An HTML-like Graphviz label: the name in bold, then the details in small type."""
    lines = []
    if node.kind == "leaf":
        lines.append(node.type_str + (" · requires grad" if node.requires_grad else ""))
    elif node.kind == "op" and backward:
        prims = list(node.primitives) or ["(passes the gradient through)"]
        lines += [" ".join(prims[i : i + 4]) for i in range(0, len(prims), 4)]
    elif node.kind == "op":
        lines.append(" · ".join(x for x in (node.grad_fn, node.type_str) if x))
    elif node.kind in ("output", "grad", "const"):
        lines.append(node.type_str if node.kind != "grad" else "AccumulateGrad")
    small = "".join(
        f'<BR/><FONT POINT-SIZE="9">{html.escape(line)}</FONT>' for line in lines if line
    )
    return f"<<B>{html.escape(node.label)}</B>{small}>"


def _cluster_tree(nodes: tuple[Node, ...]) -> dict[tuple[str, ...], list[Node]]:
    groups: dict[tuple[str, ...], list[Node]] = {}
    for n in nodes:
        groups.setdefault(n.cluster, []).append(n)
    return groups


def to_dot(graph: Graph) -> str:
    """Graphviz DOT text for ``graph``: leaves blue when they require grad, ops yellow, outputs
    green; expanded layers and models drawn as dashed clusters; tapped names on the edges.

    Example:
        >>> import jax.numpy as jnp
        >>> from funcgrad.graph import trace
        >>> print(to_dot(trace(lambda x: x * 2, jnp.ones(2))).splitlines()[0])
        digraph forward {
    """
    backward = graph.direction == "backward"
    out = [
        f"digraph {graph.direction} {{",
        '  graph [rankdir=TB, nodesep=0.25, ranksep=0.35, fontname="Helvetica"];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
    ]
    groups = _cluster_tree(graph.nodes)
    paths = sorted({c[:i] for c in groups for i in range(1, len(c) + 1)}, key=len)
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for p in paths:
        children.setdefault(p[:-1], []).append(p)

    def emit(path: tuple[str, ...], indent: str) -> None:
        for n in groups.get(path, []):
            fill = _FILL.get((n.kind, n.requires_grad), "#ffffff")
            if backward and n.kind == "op":
                fill = "#ffe0cc"
            out.append(f'{indent}"{n.id}" [label={_label(n, backward)}, fillcolor="{fill}"];')
        for sub in children.get(path, []):
            title = sub[-1].split("|")[0]
            out.append(f'{indent}subgraph "cluster_{len(out)}" {{')
            out.append(f'{indent}  label="{html.escape(title)}"; style="rounded,dashed";')
            emit(sub, indent + "  ")
            out.append(f"{indent}}}")

    emit((), "  ")
    by_id = {n.id: n for n in graph.nodes}
    for n in graph.nodes:
        for src in n.inputs:
            name = by_id[src].name if not backward else None
            attr = f' [label=" {html.escape(name)}"]' if name else ""
            out.append(f'  "{src}" -> "{n.id}"{attr};')
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_binary() -> str:
    found = shutil.which("dot")
    if found is None:
        raise GraphvizNotFoundError(INSTALL_HINT)
    return found


def render(graph: Graph, path: str) -> str:
    """Write ``graph`` to ``path``; the extension picks the format (``.dot`` needs no Graphviz)."""
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in ("dot", "gv", "svg", "png", "pdf"):
        raise ValueError(
            f"render: unknown format {ext!r} for {path!r}; use .svg, .png, .pdf or .dot"
        )
    text = to_dot(graph)
    if ext in ("dot", "gv"):
        with open(path, "w") as fh:
            fh.write(text)
        return path
    binary = _dot_binary()
    args = [binary, f"-T{ext}", "-o", path] + (["-Gdpi=110"] if ext == "png" else [])
    subprocess.run(args, input=text.encode(), check=True, capture_output=True)
    return path


def svg_or_none(graph: Graph) -> str | None:
    """SVG text for notebooks, or ``None`` (so the text table shows) when Graphviz is missing."""
    if shutil.which("dot") is None:
        return None
    done = subprocess.run(["dot", "-Tsvg"], input=to_dot(graph).encode(), capture_output=True)
    return done.stdout.decode() if done.returncode == 0 else None
