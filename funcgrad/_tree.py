"""Dotted paths for nested parameter dicts: ``params["m0"]["weight"]`` <-> ``"m0.weight"``.

PyTorch names parameters by dotted paths (``state_dict`` keys); funcgrad keeps them as nested dicts
so that they are ordinary JAX pytrees. These two functions convert between the views.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["flatten_dict", "unflatten_dict"]


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
