"""``tap(x, name)``: name an intermediate value so a transformation can reach it.

The ground floor of funcgrad: models call ``tap`` without importing ``funcgrad.autodiff``. Outside
a handler ``tap`` returns its input and adds nothing to the traced program; inside
``tap_handler(h)`` every call is routed to ``h(x, name)``. ``fg.autodiff.grad_with_taps`` (the
functional ``retain_grad()``) and ``fg.graph`` install handlers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

__all__ = ["TapHandler", "tap", "tap_handler"]


class TapHandler(Protocol):
    """What ``tap_handler`` accepts: called as ``handler(x, name)``, returns the value to use."""

    def __call__(self, x: Any, name: str) -> Any: ...


_local = threading.local()


def _handlers() -> list[TapHandler]:
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


@contextmanager
def tap_handler(handler: TapHandler) -> Iterator[None]:
    """Route every ``tap(x, name)`` to ``handler`` while the block runs (innermost handler wins).

    Example:
        >>> seen = []
        >>> with tap_handler(lambda x, name: seen.append(name) or x):
        ...     _ = tap(1.0, "z")
        >>> seen
        ['z']
    """
    stack = _handlers()
    stack.append(handler)
    try:
        yield
    finally:
        stack.pop()


def tap(x: Any, name: str) -> Any:
    """Mark the intermediate value ``x`` as ``name``; returns ``x`` itself.

    Inside ``fg.autodiff.grad_with_taps`` its gradient is reported under ``name``; anywhere else the
    call is free (it adds nothing to the traced program).

    Example:
        >>> import jax.numpy as jnp
        >>> tap(jnp.ones(2), "s1").tolist()
        [1.0, 1.0]
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"tap: name must be a non-empty str, got {name!r}")
    stack = _handlers()
    return stack[-1](x, name) if stack else x
