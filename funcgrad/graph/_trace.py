"""``trace``: build a computational graph from a function's jaxpr.

``jax.make_jaxpr`` records every primitive a function runs, with the ``jax.named_scope`` names it
ran under. The leaves are the function's arguments; the operations are the primitives, grouped by
scope (the rule is in :mod:`funcgrad.graph._scopes`): a funcgrad layer or loss (``m0: Linear``,
``binary_cross_entropy_with_logits``), your own ``Module``, or your own
``with jax.named_scope("block"):`` becomes one box; models and ``Sequential`` (containers) become
labelled groups around their layers. ``expand=True`` shows every primitive, with those groups drawn
as clusters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax

from funcgrad._tap import tap_handler
from funcgrad._tree import leaf_paths, matches, path_name
from funcgrad._typing import PyTree
from funcgrad.autodiff._args import arg_names
from funcgrad.graph._graph import Graph
from funcgrad.graph._node import Traced
from funcgrad.graph._walk import TAP_SCOPE, forward_nodes

__all__ = ["backward", "trace"]


def trace(
    f: Callable[..., PyTree],
    *args: PyTree,
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

    Args:
        f: the function to trace; its arguments and outputs are pytrees of arrays.
        *args: example arguments for ``f`` (their shapes and dtypes are what is traced).
        wrt: the leaves that require grad: argument positions, argument names, dotted-path globs
            (``"m0.*"``), or ``None`` for none.
        names: names for the positional arguments, instead of those in ``f``'s signature.
        expand: draw each layer's operations instead of one node per layer.

    Returns:
        The forward :class:`Graph`.

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

    def flat_f(*leaves: PyTree) -> PyTree:
        return f(*jax.tree_util.tree_unflatten(treedef, leaves))

    marker = _TapMarker()
    with tap_handler(marker):
        closed, out_shape = jax.make_jaxpr(flat_f, return_shape=True)(*flat)
    outputs = tuple("output" + (f".{p}" if p else "") for p in leaf_paths(out_shape))
    traced = Traced(closed, tuple(labels), tuple(requires), outputs, tuple(marker.names))
    return Graph(forward_nodes(traced, expand), "forward", traced)


def backward(
    f: Callable[..., PyTree],
    *args: PyTree,
    wrt: int | str | Sequence[int | str] | None = 0,
    names: Sequence[str] | None = None,
) -> Graph:
    """The graph of the backward pass of ``f(*args)``: ``trace(f, *args, wrt=wrt).backward()``.

    Args:
        f: the function to trace; its arguments and outputs are pytrees of arrays.
        *args: example arguments for ``f`` (their shapes and dtypes are what is traced).
        wrt: the leaves that require grad: argument positions, argument names, dotted-path globs
            (``"m0.*"``), or ``None`` for none.
        names: names for the positional arguments, instead of those in ``f``'s signature.

    Returns:
        The backward :class:`Graph`.

    Example:
        >>> import jax.numpy as jnp
        >>> [n.label for n in backward(lambda x: (x * 2).sum(), jnp.ones(2)).ops]
        ['SumBackward0', 'MulBackward0']
    """
    return trace(f, *args, wrt=wrt, names=names).backward()


def _leaf_labels(args: tuple[PyTree, ...], arg_labels: list[str]) -> tuple[list[str], list[int]]:
    """A dotted label per flat leaf, and the argument each leaf belongs to."""
    labels: list[str] = []
    owners: list[int] = []
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
    """During tracing, make each ``tap`` visible as an identity op in a scope of its own, so its
    name labels the node that made the value."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, x: PyTree, name: str) -> PyTree:
        self.names.append(name)
        with jax.named_scope(TAP_SCOPE):
            return jax.lax.optimization_barrier(x)
