"""Taps: the functional ``retain_grad()``.

PyTorch keeps ``.grad`` only on leaves; ``z.retain_grad()`` asks it to keep the gradient of an
intermediate ``z`` too. A pure function has no tensors to mark, so instead we name the value where it
is computed, ``z = tap(z, "z")``, and :func:`grad_with_taps` returns ``d loss / d z`` next to the
usual gradients.

How: ``grad_with_taps`` adds a zero "perturbation" ``e_z`` to each tapped value, ``z + e_z``, and
differentiates with respect to those zeros as well; ``d loss / d e_z`` at ``e_z = 0`` is exactly
``d loss / d z``. Outside ``grad_with_taps`` nothing is active and ``tap`` returns its input: no
operation reaches the jaxpr, so tapped code costs nothing in training.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax

from funcgrad._compat import is_batch_tracer
from funcgrad._tap import tap, tap_handler
from funcgrad._typing import ArrayLike, PyTree
from funcgrad.autodiff._args import argnums_tuple
from funcgrad.autodiff._backward import check_scalar

__all__ = ["grad_with_taps", "tap", "tap_handler"]


class _Collect:
    """First pass: find the names, shapes and dtypes of every tap in ``f``."""

    def __init__(self) -> None:
        self.found: dict[str, jax.ShapeDtypeStruct] = {}

    def __call__(self, x: ArrayLike, name: str) -> ArrayLike:
        if name in self.found:
            raise ValueError(
                f"tap: the name {name!r} is used twice in one function; give each tap its own "
                "name (e.g. f'{name}_{i}' in a loop)"
            )
        if is_batch_tracer(x):
            raise ValueError(
                f"tap {name!r} sits inside a jax.vmap within the differentiated function, so it "
                "would see one example at a time; move the vmap outside instead: "
                "jax.vmap(grad_with_taps(per_example_loss), in_axes=...)"
            )
        self.found[name] = jax.ShapeDtypeStruct(jax.numpy.shape(x), jax.numpy.result_type(x))
        return x


class _Inject:
    """Second pass: add the zero perturbation that grad differentiates against."""

    def __init__(self, perturbations: dict[str, jax.Array]) -> None:
        self.perturbations = perturbations

    def __call__(self, x: jax.Array, name: str) -> jax.Array:
        return x + self.perturbations[name]


def grad_with_taps(
    f: Callable[..., jax.Array], argnums: int | Sequence[int] = 0
) -> Callable[..., tuple[PyTree, dict[str, jax.Array]]]:
    """Like ``jax.grad(f, argnums)``, returning ``(grads, tap_grads)``.

    ``tap_grads[name]`` is the gradient of ``f``'s scalar output with respect to the value tapped
    as ``name``, what ``retain_grad()`` leaves in ``z.grad``. It composes with ``jax.jit`` and
    ``jax.vmap`` applied outside it. Taps inside a function that is jitted on its own (and so cached
    before) are not seen; jit the whole ``grad_with_taps(f)`` instead.

    Example (the notes' ``y = x + 2``, ``u = mean(3 y^2)`` with ``y`` retained):
        >>> import jax.numpy as jnp
        >>> def u(x):
        ...     y = tap(x + 2, "y")
        ...     return (3 * y**2).mean()
        >>> grads, taps = grad_with_taps(u)(jnp.ones(3))
        >>> grads.tolist(), taps["y"].tolist()
        ([6.0, 6.0, 6.0], [6.0, 6.0, 6.0])
    """
    nums = argnums_tuple(argnums, who="grad_with_taps")

    def wrapped(*args: PyTree) -> tuple[PyTree, dict[str, jax.Array]]:
        argnums_tuple(nums, len(args), "grad_with_taps")
        collect = _Collect()
        with tap_handler(collect):
            # A fresh lambda: eval_shape caches traces per function, and a cached trace would
            # skip the taps.
            out = jax.eval_shape(lambda *a: f(*a), *args)
        check_scalar(out, "grad_with_taps")
        zeros = {n: jax.numpy.zeros(s.shape, s.dtype) for n, s in collect.found.items()}

        def with_perturbations(*all_args: PyTree) -> jax.Array:
            *f_args, perturbations = all_args
            with tap_handler(_Inject(perturbations)):
                return f(*f_args)

        positions = tuple(i % len(args) for i in nums)  # the perturbations go last
        grads = jax.grad(with_perturbations, argnums=(*positions, len(args)))(*args, zeros)
        *arg_grads, tap_grads = grads
        return (arg_grads[0] if isinstance(argnums, int) else tuple(arg_grads)), tap_grads

    return wrapped
