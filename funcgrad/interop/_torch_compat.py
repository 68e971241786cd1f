"""Every private torch symbol the converter uses, each behind a guard with a fallback.

torch has no public API for these; each one is reached here and nowhere else (as
``funcgrad/_compat.py`` does for JAX), so a torch release that moves one breaks this file only,
and the converter degrades instead of failing at import. torch itself is imported only when an
accessor runs: it is not a runtime dependency.

* :func:`tree_unflatten` / :func:`tree_spec_type` (``torch.utils._pytree``): ``torch.export``
  returns its outputs flat, with a ``TreeSpec``; putting ``forward``'s own structure back (and
  folding unflatten's glue) needs torch's pytree, which has no public module in torch 2.13.
* :func:`tree_flatten_spec` (``torch.fx._pytree``): the function ``torch.export.unflatten``
  calls around each preserved child; the converter recognises its nodes by identity.
* :func:`max_pool2d_without_indices` (``torch.nn.functional._max_pool2d``): ``F.max_pool2d`` is a
  boolean dispatch, and fx records the branch it took, a private function.
* :func:`non_persistent_buffers` (``Module._non_persistent_buffers_set``): buffers registered with
  ``persistent=False`` are not in the state_dict, so not in the converted model's buffers.
* :func:`fx_wraps_traced_into` (``torch.fx._symbolic_trace._wrapped_fns_to_patch``): the functions
  registered with ``torch.fx.wrap`` (torchvision's ``stochastic_depth``) are patched to be opaque
  during a trace; the converter traces into the plain-Python ones it has no rule for instead.
* :func:`public_module`: builtins report ``torch._C._nn`` (and the like) as their module; errors
  name them as users call them, ``torch.<name>``.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

from funcgrad.interop._torch import import_torch

__all__ = [
    "fx_wraps_traced_into",
    "max_pool2d_without_indices",
    "non_persistent_buffers",
    "public_module",
    "tree_flatten_spec",
    "tree_spec_type",
    "tree_unflatten",
]


def tree_unflatten(leaves: list[Any], spec: Any) -> Any:
    """torch's ``tree_unflatten``: ``leaves`` put back into the structure ``spec`` describes.

    Example:
        >>> import torch.export
        >>> class Pair(torch.nn.Module):
        ...     def forward(self, x):
        ...         return x + 1, x * 2
        >>> spec = torch.export.export(Pair(), (torch.ones(1),)).call_spec.out_spec
        >>> tree_unflatten([1, 2], spec)
        (1, 2)
    """
    import_torch()
    try:
        from torch.utils._pytree import tree_unflatten as unflatten
    except ImportError:  # pragma: no cover - a torch without the private module
        from torch.utils.pytree import (  # type: ignore[import-not-found,no-redef]
            tree_unflatten as unflatten,
        )
    return unflatten(leaves, spec)


def tree_spec_type() -> type | None:
    """torch's ``TreeSpec`` class, or ``None`` where torch has moved it.

    Example:
        >>> tree_spec_type().__name__
        'TreeSpec'
    """
    import_torch()
    try:
        from torch.utils._pytree import TreeSpec
    except ImportError:  # pragma: no cover - a torch without the private module
        return None
    spec: type = TreeSpec
    return spec


def tree_flatten_spec() -> Callable[..., Any] | None:
    """``torch.fx._pytree.tree_flatten_spec`` (what ``torch.export.unflatten`` calls), or ``None``.

    Example:
        >>> tree_flatten_spec().__name__
        'tree_flatten_spec'
    """
    import_torch()
    try:
        from torch.fx._pytree import tree_flatten_spec as flatten_spec
    except ImportError:  # pragma: no cover - a torch without the private module
        return None
    return flatten_spec


def max_pool2d_without_indices() -> Callable[..., Any] | None:
    """The function fx records for ``F.max_pool2d(..., return_indices=False)``, or ``None``.

    Example:
        >>> max_pool2d_without_indices().__name__
        '_max_pool2d'
    """
    torch = import_torch()
    found: Callable[..., Any] | None = getattr(torch.nn.functional, "_max_pool2d", None)
    return found


def non_persistent_buffers(module: Any) -> set[str]:
    """The names of ``module``'s own buffers that are not in its state_dict (``persistent=False``).

    Example:
        >>> import torch
        >>> m = torch.nn.Module()
        >>> m.register_buffer("kept", torch.zeros(1))
        >>> m.register_buffer("scratch", torch.zeros(1), persistent=False)
        >>> non_persistent_buffers(m)
        {'scratch'}
    """
    names = getattr(module, "_non_persistent_buffers_set", None)
    if names is not None:
        return set(names)
    # the fallback: what the state_dict leaves out (slower: it walks the children too)
    saved = module.state_dict(keep_vars=True)
    return {n for n, _ in module.named_buffers(recurse=False) if n not in saved}


def public_module(name: str) -> str:
    """``"torch"`` for the private C modules builtins name as theirs, else ``name``.

    Example:
        >>> import torch
        >>> public_module(torch.relu.__module__ or "torch"), public_module("torch.nn.functional")
        ('torch', 'torch.nn.functional')
    """
    return "torch" if name.startswith("torch._C") else name


@contextlib.contextmanager
def fx_wraps_traced_into(rule: Callable[[str, Any], Any]) -> Iterator[None]:
    """While active, ``torch.fx.wrap``'s Python functions without a converter ``rule`` (``rule(
    "call_function", fn)`` is ``None``) are not leaves: fx traces into them.

    Example:
        >>> import torch
        >>> with fx_wraps_traced_into(lambda op, fn: None):
        ...     pass
    """
    import_torch()
    try:
        from torch.fx import _symbolic_trace as st

        table: dict[Any, Any] = st._wrapped_fns_to_patch
    except (ImportError, AttributeError):  # pragma: no cover - a torch that moved it
        yield
        return
    removed = {}
    for k, frame_dict in list(table.items()):
        fn = frame_dict.get(k[1]) if isinstance(frame_dict, dict) else None
        if inspect.isfunction(fn) and rule("call_function", fn) is None:
            removed[k] = table.pop(k)
    try:
        yield
    finally:
        table.update(removed)
