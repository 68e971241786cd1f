"""``gradcheck``: compare JAX's derivatives with central finite differences, in float64.

The counterpart of ``torch.autograd.gradcheck`` and of HIPS/autograd's ``check_grads``. A vector
output is reduced to the scalar ``<v, f(x)>`` with a fixed random ``v``; then, for each checked
input element ``i``:

* numeric:  ``(s(x + eps e_i) - s(x - eps e_i)) / (2 eps)``
* reverse:  ``jax.grad(s)(x)[i]``, i.e. ``jax.vjp`` seeded with ``v``
* forward:  ``jax.jvp(s, x, e_i)``

Large leaves are checked on a random sample of their elements (``max_elements``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt
from jax.flatten_util import ravel_pytree

from funcgrad._tree import path_name
from funcgrad._typing import ArrayLike, PyTree
from funcgrad.autodiff._args import arg_names, argnums_tuple
from funcgrad.autodiff._backward import partial_at

__all__ = ["GradcheckError", "gradcheck"]


class GradcheckError(AssertionError):
    """Analytic and numeric derivatives disagree; the message shows the worst mismatch."""

    __module__ = "funcgrad.autodiff"


def _is_float(leaf: ArrayLike) -> bool:
    return jnp.issubdtype(jnp.result_type(leaf), jnp.floating)


def gradcheck(
    f: Callable[..., PyTree],
    *args: PyTree,
    argnums: int | Sequence[int] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    modes: Sequence[str] | None = None,
    max_elements: int = 50,
    seed: int = 0,
) -> bool:
    """Check ``f``'s reverse- and forward-mode derivatives against finite differences.

    ``modes`` defaults to both, skipping forward mode for functions that use ``jax.custom_vjp``
    (which has none). Every floating-point leaf of the arguments in ``argnums`` (default: all arguments with floating
    leaves) is checked, in float64 whatever the global setting. Returns ``True``, or raises
    :class:`GradcheckError` naming the worst mismatch: the mode, the argument and pytree path, the
    element index, the analytic and the numeric value. Tolerances are torch's defaults.

    Args:
        f: the function to check; its output is a pytree of floating arrays.
        *args: the arguments ``f`` is checked at.
        argnums: the arguments to check; ``None`` means all with floating leaves.
        eps: the finite-difference step.
        atol: the absolute tolerance.
        rtol: the relative tolerance.
        modes: ``"rev"``, ``"fwd"`` or both (``None``).
        max_elements: at most this many elements of each leaf are checked.
        seed: seeds the choice of elements and of the random cotangents.

    Returns:
        ``True``; a mismatch raises :class:`GradcheckError` instead.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> gradcheck(lambda x: jnp.sin(x).sum(), jnp.array([0.1, 0.2]))
        True
        >>> @jax.custom_vjp
        ... def bad_square(x):
        ...     return x**2
        >>> bad_square.defvjp(lambda x: (x**2, x), lambda x, g: (g * x,))  # should be 2 x g
        >>> gradcheck(lambda x: bad_square(x).sum(), jnp.array([3.0]))
        Traceback (most recent call last):
        ...
        funcgrad.autodiff.GradcheckError: gradcheck: reverse mode (jax.vjp) disagrees with finite differences; worst mismatch at argument 0 (x) index (0,): analytic 3, numeric 6 (|diff| 3 > atol 1e-05 + rtol 0.001 * |numeric|)
    """
    for mode in modes or ():
        if mode not in ("rev", "fwd"):
            raise ValueError(f"gradcheck: modes must be 'rev' and/or 'fwd', got {mode!r}")
    with jax.enable_x64(True):
        args = jax.tree_util.tree_map(
            lambda a: jnp.asarray(a, jnp.float64) if _is_float(a) else a, args
        )
        if argnums is None:
            nums = tuple(
                i for i, a in enumerate(args) if any(map(_is_float, jax.tree_util.tree_leaves(a)))
            )
        else:
            nums = argnums_tuple(argnums, len(args), "gradcheck")
        for i in nums:
            bad = [l for l in jax.tree_util.tree_leaves(args[i]) if not _is_float(l)]
            if bad:
                raise ValueError(
                    f"gradcheck: argument {i} has non-float leaves; leave it out of argnums"
                )
        return _check(f, args, nums, eps, atol, rtol, modes, max_elements, seed)


def _check(
    f: Callable[..., PyTree],
    args: tuple[PyTree, ...],
    nums: tuple[int, ...],
    eps: float,
    atol: float,
    rtol: float,
    modes: Sequence[str] | None,
    max_elements: int,
    seed: int,
) -> bool:
    theta, unravel = ravel_pytree(tuple(args[i] for i in nums))

    partial = partial_at(f, args, nums)

    def call(flat: jax.Array) -> PyTree:
        return partial(*unravel(flat))

    out = jax.eval_shape(call, theta)  # shapes only: the checks below are compiled
    rng = np.random.default_rng(seed)
    # A fixed random cotangent turns a vector output into a scalar, as y.backward(v) does.
    v = jax.tree_util.tree_map(
        lambda o: jnp.asarray(1.0 if jnp.ndim(o) == 0 else rng.standard_normal(jnp.shape(o))), out
    )

    def s(flat: jax.Array) -> jax.Array:
        leaves = zip(
            jax.tree_util.tree_leaves(v), jax.tree_util.tree_leaves(call(flat)), strict=True
        )
        return jnp.asarray(sum(jnp.vdot(a, b) for a, b in leaves))

    where, index = _sample(f, args, nums, max_elements, rng)
    basis = jnp.zeros((index.size, theta.size), theta.dtype).at[np.arange(index.size), index].set(1)
    wanted = list(modes or ("rev", "fwd"))

    def derivatives(th: jax.Array, b: jax.Array, which: tuple[str, ...]) -> dict[str, jax.Array]:
        found = {
            "num": (jax.vmap(s)(th[None] + eps * b) - jax.vmap(s)(th[None] - eps * b)) / (2 * eps)
        }
        if "rev" in which:
            found["rev"] = jax.grad(s)(th)[index]
        if "fwd" in which:
            found["fwd"] = jax.vmap(lambda e: jax.jvp(s, (th,), (e,))[1])(b)
        return found

    # One compiled program for all three: checking is op-by-op slow otherwise, and one compile
    # of the three costs less than three.
    compiled = jax.jit(derivatives, static_argnums=2)
    title = {"rev": "reverse mode (jax.vjp)", "fwd": "forward mode (jax.jvp)"}
    try:
        results = compiled(theta, basis, tuple(wanted))
    except TypeError as e:  # jax.custom_vjp functions have no forward mode
        if "fwd" not in wanted or "custom_vjp" not in str(e):
            raise
        if modes is not None:
            raise ValueError(
                f"gradcheck: {title['fwd']} is unavailable for this function ({e}); "
                "pass modes=('rev',)"
            ) from e
        wanted.remove("fwd")
        results = compiled(theta, basis, tuple(wanted))
    num = np.asarray(results["num"])
    for mode in wanted:
        got = np.asarray(results[mode])
        ratio = np.abs(got - num) / (atol + rtol * np.abs(num))
        k = int(np.argmax(ratio)) if ratio.size else 0
        if ratio.size and not ratio[k] <= 1.0:  # `not <=` also catches NaN
            scalar = all(jnp.ndim(o) == 0 for o in jax.tree_util.tree_leaves(out))
            seeded = "" if scalar else " (output reduced with a random cotangent v)"
            raise GradcheckError(
                f"gradcheck: {title[mode]} disagrees with finite differences{seeded}; worst "
                f"mismatch at {where[k]}: analytic {got[k]:.8g}, numeric {num[k]:.8g} "
                f"(|diff| {abs(got[k] - num[k]):.3g} > atol {atol:g} + rtol {rtol:g} * |numeric|)"
            )
    return True


def _sample(
    f: Callable[..., PyTree],
    args: tuple[PyTree, ...],
    nums: tuple[int, ...],
    max_elements: int,
    rng: np.random.Generator,
) -> tuple[list[str], npt.NDArray[np.int64]]:
    """Pick the flat indices to check (all, or a random sample per leaf) and describe each."""
    names = arg_names(f, len(args))
    where: list[str] = []
    index: list[int] = []
    offset = 0
    for i in nums:
        for path, leaf in jax.tree_util.tree_leaves_with_path(args[i]):
            size = int(np.size(leaf))
            picked = (
                np.arange(size)
                if size <= max_elements
                else np.sort(rng.choice(size, max_elements, replace=False))
            )
            label = f"argument {i} ({names[i]}{'.' + path_name(path) if path else ''})"
            for p in picked:
                at = tuple(int(j) for j in np.unravel_index(p, np.shape(leaf)))
                where.append(f"{label} index {at}")
            index.extend(offset + picked)
            offset += size
    return where, np.asarray(index, dtype=np.int64)
