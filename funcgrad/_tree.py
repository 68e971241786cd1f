"""Dotted paths for nested parameter dicts: ``params["m0"]["weight"]`` <-> ``"m0.weight"``.

PyTorch names parameters by dotted paths (``state_dict`` keys); funcgrad keeps them as nested dicts
so that they are ordinary JAX pytrees. These functions convert between the views, name any
pytree's leaves the same way, and select leaves by glob (``"m0.*"``). The tree always comes first.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

import jax

__all__ = ["flatten_dict", "leaf_paths", "matches", "path_name", "unflatten_dict"]


def flatten_dict(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten a nested dict into ``{"a.b": leaf}``; empty sub-dicts vanish, as in a state_dict.

    Example:
        >>> flatten_dict({"m0": {"weight": 1, "bias": 2}})
        {'m0.weight': 1, 'm0.bias': 2}
    """
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_dict(value, prefix=path + "."))
        else:
            flat[path] = value
    return flat


def unflatten_dict(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`flatten_dict`.

    Example:
        >>> unflatten_dict({"m0.weight": 1, "m0.bias": 2})
        {'m0': {'weight': 1, 'bias': 2}}
    """
    tree: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, leaf = path.split(".")
        node = tree
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"key {path!r} nests under {part!r}, which is already a leaf")
            node = child
        if leaf in node:
            raise ValueError(f"duplicate key {path!r}")
        node[leaf] = value
    return tree


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
