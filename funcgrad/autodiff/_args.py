"""Argument handling in one place: ``argnums`` positions, and argument names for ``wrt=``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

__all__ = ["arg_names", "argnums_tuple"]


def arg_names(f: Callable[..., object], n: int) -> list[str]:
    """Names of the first ``n`` positional parameters of ``f`` (``arg0``, ... where unknown).

    Example:
        >>> arg_names(lambda x, y, w, b: None, 4), arg_names(print, 2)
        (['x', 'y', 'w', 'b'], ['arg0', 'arg1'])
    """
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < n and any(p.kind == p.VAR_POSITIONAL for p in params):
        positional = []  # f(*args): no names to give
    return [positional[i] if i < len(positional) else f"arg{i}" for i in range(n)]


def argnums_tuple(
    argnums: int | Sequence[int], num_args: int | None = None, who: str = ""
) -> tuple[int, ...]:
    """``argnums`` as a tuple of positions, checked against ``num_args`` when it is known.

    The one place where funcgrad's autodiff functions read ``argnums`` (like autograd's
    ``unary_to_nary``): an int selects one argument, a sequence several; negative positions count
    from the end, as in ``jax.grad``.

    Example:
        >>> argnums_tuple(0), argnums_tuple([0, 2], 3)
        ((0,), (0, 2))
        >>> argnums_tuple(3, 2, "backward")
        Traceback (most recent call last):
        ...
        ValueError: backward: argnums 3 out of range for 2 arguments; use 0 to 1 (or -2 to -1)
    """
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not all(isinstance(i, int) for i in nums):
        raise TypeError(f"{who or 'argnums'}: argnums must be an int or ints, got {argnums!r}")
    if num_args is not None:
        for i in nums:
            if not -num_args <= i < num_args:
                raise ValueError(
                    f"{who}: argnums {argnums!r} out of range for {num_args} arguments; "
                    f"use 0 to {num_args - 1} (or {-num_args} to -1)"
                )
    return nums
