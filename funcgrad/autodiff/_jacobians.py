"""The two Jacobians of a module: with respect to its input state and to its weights.

The notes' multistage backprop needs, for each module ``z_{k+1} = f_k(z_k, w_k)``, the Jacobian
``d z_{k+1} / d z_k`` (to pass the gradient down to the previous module) and ``d z_{k+1} / d w_k``
(to get the gradient of the weights). ``jax.jacrev`` computes both.
"""

from __future__ import annotations

import jax

from funcgrad._typing import Params
from funcgrad.nn._module import Module

__all__ = ["module_jacobians"]


def module_jacobians(layer: Module, params: Params, x: jax.Array) -> tuple[jax.Array, Params]:
    """``(d out / d x, d out / d params)`` of ``layer.apply(params, x)``.

    The first has shape ``out.shape + x.shape``. The second has the structure of ``params``, each
    leaf of shape ``out.shape + leaf.shape``: for a ``Linear(n, m)`` on a vector, ``weight`` gives
    ``(m, m, n)``, as ``torch.autograd.functional.jacobian`` does.

    Args:
        layer: the module.
        params: its params.
        x: its input.

    Returns:
        ``(d out / d x, d out / d params)``: an array of shape ``(*out.shape, *x.shape)``, and a
        params pytree whose leaves have shape ``(*out.shape, *leaf.shape)``.

    Example:
        >>> import jax, jax.numpy as jnp, funcgrad as fg
        >>> layer = fg.nn.Linear(3, 2)
        >>> params = layer.init(jax.random.key(0))
        >>> d_x, d_w = module_jacobians(layer, params, jnp.ones(3))
        >>> d_x.shape, d_w["weight"].shape, d_w["bias"].shape
        ((2, 3), (2, 2, 3), (2, 2))
        >>> bool(jnp.allclose(d_x, params["weight"]))  # a linear layer's state Jacobian is W
        True
    """
    d_x: jax.Array = jax.jacrev(lambda z: layer.apply(params, z))(x)
    if not jax.tree_util.tree_leaves(params):  # ReLU, Flatten: no weights, no weight Jacobian
        return d_x, params
    d_params: Params = jax.jacrev(lambda p: layer.apply(p, x))(params)
    return d_x, d_params
