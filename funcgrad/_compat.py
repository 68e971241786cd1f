"""The one place funcgrad touches JAX internals (``jax._src``) or unstable attributes.

Every private use below sits in a ``try``/``except`` with a documented fallback, so ``import
funcgrad`` keeps working when a JAX release moves a private symbol; only the feature that needed it
degrades, as each function's docstring says. Nothing else in funcgrad may import ``jax._src``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

__all__ = ["backend_started", "is_batch_tracer", "name_stack", "with_scope"]

_BatchTracer: type | None
try:
    from jax._src.interpreters.batching import BatchTracer as _BatchTracer
except ImportError:  # moved: fall back to the class name (see is_batch_tracer)
    _BatchTracer = None

_xla_bridge: ModuleType | None
try:
    import jax._src.xla_bridge as _xla_bridge
except ImportError:  # moved: see backend_started
    _xla_bridge = None


def is_batch_tracer(x: Any) -> bool:
    """Whether ``x`` is a value being traced by ``jax.vmap`` (a batching tracer).

    Fallback when JAX's private ``BatchTracer`` class moves: compare the class name of ``x`` (and its
    bases) with ``"BatchTracer"``, the name JAX has used since its first release.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> is_batch_tracer(jnp.ones(2))
        False
        >>> bool(jax.vmap(lambda v: jnp.array(is_batch_tracer(v)))(jnp.ones(2)).all())
        True
    """
    if _BatchTracer is not None:
        return isinstance(x, _BatchTracer)
    return any(c.__name__ == "BatchTracer" for c in type(x).__mro__)


def backend_started() -> bool:
    """Whether JAX has already created a backend (after which ``XLA_FLAGS`` no longer apply).

    Fallback when JAX's private ``xla_bridge`` moves: ``True``, assume the worst (a flag set now may
    be too late), so callers skip what must happen before the backend starts.

    Example:
        >>> import jax
        >>> _ = jax.devices()
        >>> backend_started()
        True
    """
    if _xla_bridge is None:
        return True
    try:
        return bool(_xla_bridge._backends)
    except AttributeError:
        return True


def name_stack(eqn: Any) -> tuple[str, ...]:
    """The ``jax.named_scope`` names an equation of a jaxpr was traced under, outermost first.

    Transformations wrap scopes in the printed name stack (``transpose(jvp(MyNet))/m0`` in a VJP);
    only the user's scope names are kept here, so forward and backward equations read alike:
    ``("MyNet", "m0")``. Read through ``eqn.source_info.name_stack.stack`` (public objects, but
    undocumented fields); fallback when those move: parse ``str(name_stack)``, and ``()`` (no
    grouping) if even that is gone.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> def f(x):
        ...     with jax.named_scope("MyNet"), jax.named_scope("m0"):
        ...         return jnp.sin(x)
        >>> name_stack(jax.make_jaxpr(f)(1.0).eqns[0])
        ('MyNet', 'm0')
    """
    stack = getattr(getattr(eqn, "source_info", None), "name_stack", None)
    if stack is None:
        return ()
    scopes = getattr(stack, "stack", None)
    if scopes is not None and all(hasattr(s, "name") for s in scopes):
        return tuple(s.name for s in scopes if type(s).__name__ == "Scope")
    return _parse_name_stack(str(stack))


def _parse_name_stack(text: str) -> tuple[str, ...]:
    """``"transpose(jvp(MyNet))/m0"`` -> ``("MyNet", "m0")``: strip ``transform(...)`` wrappers."""
    names: list[str] = []
    for part in text.split("/"):
        while "(" in part and part.endswith(")"):
            part = part[part.index("(") + 1 : -1]
        names.extend(p for p in part.split("/") if p)
    return tuple(names)


def with_scope(eqn: Any, scope: str) -> Any:
    """``eqn`` with ``scope`` appended to its name stack, so the backward equations JAX derives
    from it carry ``scope`` too (``fg.graph`` uses this to file each VJP primitive under its node).

    Fallback when the ``replace`` methods move: ``eqn`` unchanged (the backward graph then lists
    no primitives in its nodes, its shape is unaffected).

    Example:
        >>> import jax
        >>> eqn = jax.make_jaxpr(lambda x: x * 2)(1.0).eqns[0]
        >>> name_stack(with_scope(eqn, "node0"))
        ('node0',)
    """
    try:
        info = eqn.source_info
        return eqn.replace(source_info=info.replace(name_stack=info.name_stack.extend(scope)))
    except AttributeError:
        return eqn
