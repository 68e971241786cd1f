"""Dotted names for pytree leaves (``"m0.weight"``) and glob selection by name (``"m0.*"``)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Any

import jax

__all__ = ["arg_names", "leaf_paths", "matches", "path_name"]


def path_name(path: tuple[Any, ...]) -> str:
    """Join a pytree key path into a state_dict-style dotted name.

    Example:
        >>> import jax
        >>> (path, _), = jax.tree_util.tree_leaves_with_path({"m0": {"weight": 1}})
        >>> path_name(path)
        'm0.weight'
    """
    parts = []
    for key in path:
        for attr in ("key", "idx", "name"):
            if hasattr(key, attr):
                parts.append(str(getattr(key, attr)))
                break
        else:
            parts.append(str(key))
    return ".".join(parts)


def leaf_paths(tree: Any) -> list[str]:
    """The dotted name of every leaf of ``tree``, in ``jax.tree_util`` order.

    Example:
        >>> leaf_paths({"m0": {"weight": 1, "bias": 2}, "m1": {"weight": 3}})
        ['m0.bias', 'm0.weight', 'm1.weight']
    """
    return [path_name(p) for p, _ in jax.tree_util.tree_leaves_with_path(tree)]


def matches(name: str, patterns: Iterable[str]) -> bool:
    """Whether ``name`` matches a glob (``"m0.*"``) or lies under a prefix (``"m0"``).

    Example:
        >>> matches("m0.weight", ["m0.*"]), matches("m0.weight", ["m0"]), matches("m1.bias", ["m0"])
        (True, True, False)
    """
    return any(fnmatch.fnmatchcase(name, p) or name.startswith(p + ".") for p in patterns)


def arg_names(f: Any, n: int) -> list[str]:
    """Names of the first ``n`` positional parameters of ``f`` (``arg0``, ... where unknown).

    Example:
        >>> arg_names(lambda x, y, w, b: None, 4), arg_names(print, 2)
        (['x', 'y', 'w', 'b'], ['arg0', 'arg1'])
    """
    import inspect

    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < n and any(p.kind == p.VAR_POSITIONAL for p in params):
        positional = []  # f(*args): no names to give
    return [positional[i] if i < len(positional) else f"arg{i}" for i in range(n)]
