"""``y.backward(v)`` as a function, and the notes' "gradient only for scalars" as a clear error.

``jax.grad`` differentiates scalar outputs only, as ``loss.backward()`` does. For a vector output
``y = f(x)``, PyTorch's ``y.backward(v)`` computes the vector-Jacobian product ``v^T (dy/dx)``; in
JAX that is ``jax.vjp(f, x)[1](v)``, wrapped here as :func:`backward`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from funcgrad._typing import PyTree
from funcgrad.autodiff._args import argnums_tuple

__all__ = ["NonScalarOutputError", "backward", "grad"]


class NonScalarOutputError(TypeError):
    """Raised when a gradient is asked of a function whose output is not a scalar."""

    __module__ = "funcgrad.autodiff"


def check_scalar(out: PyTree, who: str) -> None:
    """Raise :class:`NonScalarOutputError` unless ``out`` is a single real scalar."""
    shape = getattr(out, "shape", None)
    if shape is None or shape != () or not jnp.issubdtype(out.dtype, jnp.floating):
        what = f"shape {tuple(shape)}" if shape is not None else type(out).__name__
        raise NonScalarOutputError(
            f"{who}: the function returned {what}, but a gradient exists only for a real scalar "
            "output (a loss); reduce it first (e.g. .sum() or .mean()), or for the notes' "
            "y.backward(v) use fg.autodiff.backward(f, x, v=v) or jax.vjp(f, x)[1](v)"
        )


def grad(f: Callable[..., jax.Array], argnums: int | Sequence[int] = 0) -> Callable[..., PyTree]:
    """``jax.grad`` that explains what to do when ``f``'s output is not a scalar.

    Example:
        >>> import jax.numpy as jnp
        >>> grad(lambda x: (3 * (x + 2) ** 2).mean())(jnp.ones(3)).tolist()  # the notes' [6, 6, 6]
        [6.0, 6.0, 6.0]
        >>> grad(lambda x: x * 2.0)(jnp.ones(3))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        funcgrad.autodiff.NonScalarOutputError: grad: the function returned shape (3,), but a gradient exists only for a real scalar output (a loss); ...
    """
    argnums = argnums if isinstance(argnums, int) else argnums_tuple(argnums, who="grad")

    def checked(*args: PyTree) -> jax.Array:
        out = f(*args)
        check_scalar(out, "grad")
        return out

    return jax.grad(checked, argnums=argnums)


def backward(
    f: Callable[..., PyTree],
    *args: PyTree,
    v: PyTree | None = None,
    argnums: int | Sequence[int] = 0,
) -> PyTree:
    """Gradients of ``f(*args)`` seeded with ``v``: the functional ``y.backward(v); x.grad``.

    ``v`` has the shape of the output (``None`` means 1.0 for a scalar output, as ``backward()``).
    The result is the vector-Jacobian product ``v^T J``, one per argument in ``argnums``; nothing
    accumulates anywhere, so there is nothing to zero afterwards.

    Args:
        f: the function; its arguments and output are pytrees of arrays.
        *args: the arguments ``f`` is called with.
        v: the seed, a pytree like ``f``'s output; ``None`` only for a scalar output (seed 1).
        argnums: which arguments to differentiate, an int or a sequence of ints.

    Returns:
        The gradients, shaped like ``args[argnums]`` (a tuple of them for a sequence).

    Example (the notes' ``y = x * 2**11`` with ``v = [0.1, 1.0, 0.0001]``):
        >>> import jax.numpy as jnp
        >>> x, v = jnp.array([1.1, 1.1, 1.1]), jnp.array([0.1, 1.0, 0.0001])
        >>> [round(g, 4) for g in backward(lambda x: x * 2.0**11, x, v=v).tolist()]
        [204.8, 2048.0, 0.2048]
    """
    nums = argnums_tuple(argnums, len(args), "backward")

    out, vjp_fn = vjp_wrt(f, args, nums)
    if v is None:
        check_scalar(out, "backward")
        v = jnp.ones_like(out)
    elif not _same_structure(v, out) or any(
        jnp.shape(a) != jnp.shape(b)
        for a, b in zip(jax.tree_util.tree_leaves(v), jax.tree_util.tree_leaves(out), strict=True)
    ):
        raise ValueError(
            f"backward: v must have the output's shape {jax.tree_util.tree_map(jnp.shape, out)}, "
            f"got {jax.tree_util.tree_map(jnp.shape, v)}"
        )
    grads = vjp_fn(jax.tree_util.tree_map(lambda a, o: jnp.asarray(a, o.dtype), v, out))
    return grads[0] if isinstance(argnums, int) else grads


def _same_structure(a: PyTree, b: PyTree) -> bool:
    # Typed as object: jaxlib ships PyTreeDef without a stub, so mypy cannot compare it.
    sa: object = jax.tree_util.tree_structure(a)
    sb: object = jax.tree_util.tree_structure(b)
    return sa == sb


def vjp_wrt(
    f: Callable[..., PyTree], args: Sequence[PyTree], nums: Sequence[int]
) -> tuple[PyTree, Callable[[PyTree], tuple[PyTree, ...]]]:
    """``jax.vjp`` of ``f(*args)`` with respect to the arguments at positions ``nums`` only."""
    return jax.vjp(partial_at(f, args, nums), *(args[i] for i in nums))


def partial_at(
    f: Callable[..., PyTree], args: Sequence[PyTree], nums: Sequence[int]
) -> Callable[..., PyTree]:
    """``f`` as a function of the arguments at positions ``nums``; the others stay ``args``."""

    def partial(*diff: PyTree) -> PyTree:
        full = list(args)
        for i, a in zip(nums, diff, strict=True):
            full[i] = a
        return f(*full)

    return partial
