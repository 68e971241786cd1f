"""How ``fg.graph`` groups a jaxpr's equations: by the ``jax.named_scope`` names they ran under.

funcgrad enters a scope named after the class around every ``Module.apply`` (``Linear``), one named
after the child around every ``call_child`` (``m0``), and one named after the function around every
loss (``mse_loss``). So an equation's name stack reads ``MyNet/m0/Linear`` or ``mse_loss``.

The rule, applied to each name stack from the outside in:

* A name that is the ``__name__`` of a :class:`funcgrad.nn.Module` subclass (funcgrad's or yours,
  defined anywhere) opens a *module frame*. The names just before it, since the previous module
  frame, are its path (``m0``): the param path, as torch's ``named_modules`` spells it.
* Names after the innermost module frame are *function scopes* (a loss, or your own
  ``with jax.named_scope("block"):``): the outermost of them is one box, whatever runs inside it.
* A module frame that contains another module frame somewhere in the function is a *container*
  (a model, ``Sequential``): drawn as a labelled group. One that contains none is a layer: one box.
* Equations in no box (loose in a container or at the top) are one node each, named by primitive.

A box or group is labelled ``path: Class`` (``m0: Linear``, ``features.0: Conv2d``) when it has a
path, else by its class or function name.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Place", "module_classes", "place"]


@dataclass(frozen=True)
class Place:
    """Where one equation sits: its enclosing groups and its box.

    ``groups`` are ``(key, label)`` pairs, outermost first; ``box`` is ``(key, label, name)`` with
    ``name`` the class or function that names the ``grad_fn``, or ``None`` for a loose equation.
    Keys are name-stack prefixes, so equations of one call share them.
    """

    groups: tuple[tuple[tuple[str, ...], str], ...]
    box: tuple[tuple[str, ...], str, str] | None


def module_classes() -> frozenset[str]:
    """The ``__name__`` of every ``funcgrad.nn.Module`` subclass defined so far.

    Example:
        >>> {"Linear", "Sequential"} <= module_classes()
        True
    """
    from funcgrad.nn import Module  # the graph reads nn; nn never reads the graph

    names: set[str] = set()
    todo: list[type[object]] = [Module]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__name__ not in names:
                names.add(sub.__name__)
                todo.append(sub)
    return frozenset(names)


def _frames(stack: tuple[str, ...], classes: frozenset[str]) -> tuple[list[int], list[str]]:
    """Positions of the module-frame names in ``stack``, and the path of each frame."""
    positions: list[int] = []
    paths: list[str] = []
    path: list[str] = []
    for i, name in enumerate(stack):
        if name in classes:
            positions.append(i)
            paths.append(".".join(path))  # paths accumulate: features.0
        else:
            path.append(name)
    return positions, paths


def containers(stacks: list[tuple[str, ...]], classes: frozenset[str]) -> set[tuple[str, ...]]:
    """The module frames (as name-stack prefixes) that enclose another module frame."""
    found: set[tuple[str, ...]] = set()
    for stack in stacks:
        positions, _ = _frames(stack, classes)
        for i in positions[:-1]:
            found.add(stack[: i + 1])
    return found


def place(stack: tuple[str, ...], classes: frozenset[str], outer: set[tuple[str, ...]]) -> Place:
    """Apply the module docstring's rule to one name stack (``outer``: from :func:`containers`).

    Example:
        >>> classes = frozenset({"MyNet", "Linear"})
        >>> stack = ("MyNet", "m0", "Linear")
        >>> p = place(stack, classes, containers([stack], classes))
        >>> [label for _, label in p.groups], p.box[1:]
        (['MyNet'], ('m0: Linear', 'Linear'))
        >>> place(("mse_loss",), classes, set()).box
        (('mse_loss',), 'mse_loss', 'mse_loss')
    """
    positions, paths = _frames(stack, classes)

    def label(i: int, k: int) -> str:
        return f"{paths[k]}: {stack[i]}" if paths[k] else stack[i]

    groups: list[tuple[tuple[str, ...], str]] = []
    box: tuple[tuple[str, ...], str, str] | None = None
    for k, i in enumerate(positions):
        if stack[: i + 1] in outer:
            groups.append((stack[: i + 1], label(i, k)))
        else:
            box = (stack[: i + 1], label(i, k), stack[i])
            break
    if box is None:
        start = positions[-1] + 1 if positions else 0
        # A function scope directly after a path name would be a child: only names after the
        # innermost module frame (or at the top) count.
        if start < len(stack):
            box = (stack[: start + 1], stack[start], stack[start])
    return Place(tuple(groups), box)
