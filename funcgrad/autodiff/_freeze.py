"""Stop tracking and freezing: the functional ``no_grad``, ``detach`` and ``requires_grad_(False)``.

* ``torch.no_grad()`` / ``requires_grad_(False)``: just don't differentiate that argument
  (``jax.grad(f, argnums=...)``); nothing is tracked unless you ask for it.
* ``x.detach()``: ``jax.lax.stop_gradient(x)`` (:func:`detach` maps it over a pytree).
* Freezing part of a model while training (fine-tuning): :func:`freeze` wraps an optax optimiser
  so that parameters selected by dotted path (``"m0.*"``) get zero updates and no optimiser state.
"""

from __future__ import annotations

import jax
import optax

from funcgrad._tree import leaf_paths, matches
from funcgrad._typing import Params, PyTree

__all__ = ["detach", "freeze", "path_mask"]


def detach(tree: PyTree) -> PyTree:
    """``stop_gradient`` on every leaf: the value flows on, its gradient is zero (``x.detach()``).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> float(jax.grad(lambda x: x * detach(x))(3.0))  # d/dx of x * const = const
        3.0
    """
    return jax.tree_util.tree_map(jax.lax.stop_gradient, tree)


def path_mask(params: PyTree, *patterns: str) -> PyTree:
    """A pytree of bools like ``params``: ``True`` where the dotted path matches a pattern.

    Patterns are globs over state_dict-style names (``"m0.*"``, ``"*.bias"``) or plain prefixes
    (``"m0"``). A pattern that matches nothing is an error, so a typo cannot silently train a layer.

    Example:
        >>> params = {"m0": {"weight": 1.0, "bias": 2.0}, "m1": {"weight": 3.0}}
        >>> path_mask(params, "m0.*")
        {'m0': {'bias': True, 'weight': True}, 'm1': {'weight': False}}
    """
    names = leaf_paths(params)
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise TypeError(f"path patterns must be strings like 'm0.*', got {pattern!r}")
        if not any(matches(n, [pattern]) for n in names):
            raise ValueError(
                f"path pattern {pattern!r} matches no parameter; the paths are {', '.join(names)}"
            )
    flags = [matches(n, patterns) for n in names]
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(params), flags)


def freeze(optimizer: optax.GradientTransformation, *patterns: str) -> optax.GradientTransformation:
    """``optimizer`` for every parameter except those matching ``patterns``, which stay fixed.

    Built on ``optax.multi_transform`` with ``optax.set_to_zero()`` for the frozen group, so frozen
    parameters get exactly zero updates and the optimiser keeps no state (momenta) for them.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> params = {"m0": {"weight": jnp.ones(2)}, "m1": {"weight": jnp.ones(2)}}
        >>> tx = freeze(optax.sgd(0.5), "m0.*")
        >>> grads = {"m0": {"weight": jnp.ones(2)}, "m1": {"weight": jnp.ones(2)}}
        >>> updates, _ = tx.update(grads, tx.init(params), params)
        >>> updates["m0"]["weight"].tolist(), updates["m1"]["weight"].tolist()
        ([0.0, 0.0], [-0.5, -0.5])
    """

    def labels(params: Params) -> PyTree:
        mask = path_mask(params, *patterns)
        return jax.tree_util.tree_map(lambda frozen: "frozen" if frozen else "trained", mask)

    return optax.multi_transform({"trained": optimizer, "frozen": optax.set_to_zero()}, labels)
