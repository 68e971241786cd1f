"""Activations, as in ``torch.nn.functional``, with torch's derivatives at the kinks.

``relu`` and ``leaky_relu`` are written as ``where(input > 0, ...)``-style selects rather than
``jax.nn``'s: torch's ReLU passes the incoming gradient at NaN (``x <= 0`` is false there) and its
LeakyReLU takes the ``negative_slope`` branch at 0, where ``jax.nn.leaky_relu`` takes slope 1.
"""

from __future__ import annotations

import warnings
from typing import Literal

import jax
import jax.numpy as jnp

__all__ = [
    "elu",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "relu",
    "sigmoid",
    "silu",
    "softmax",
    "tanh",
]


def relu(input: jax.Array) -> jax.Array:
    """``max(input, 0)``; the derivative is 0 at 0 and 1 at NaN (NaN passes through), as in torch.

    Example:
        >>> import jax
        >>> relu(jnp.array([-1.0, 2.0])).tolist()
        [0.0, 2.0]
        >>> jax.grad(lambda x: relu(x).sum())(jnp.array([0.0, jnp.nan])).tolist()
        [0.0, 1.0]
    """
    return jnp.where(input <= 0, jnp.zeros_like(input), input)


def leaky_relu(input: jax.Array, negative_slope: float = 0.01) -> jax.Array:
    """``input`` where positive, ``negative_slope * input`` elsewhere (slope at 0, as torch).

    Example:
        >>> leaky_relu(jnp.array([-2.0, 3.0]), 0.5).tolist()
        [-1.0, 3.0]
    """
    return jnp.where(input > 0, input, input * negative_slope)


def elu(input: jax.Array, alpha: float = 1.0) -> jax.Array:
    """``input`` where positive, ``alpha * (exp(input) - 1)`` elsewhere.

    Example:
        >>> elu(jnp.array([0.0, 1.0])).tolist()
        [0.0, 1.0]
    """
    # torch's derivative alpha * exp(x): expm1's own JVP, (expm1(x) + 1), cancels for x << 0.
    return jnp.where(input > 0, input, alpha * _expm1(jnp.where(input > 0, 0.0, input)))


@jax.custom_jvp
def _expm1(x: jax.Array) -> jax.Array:
    return jnp.expm1(x)


@_expm1.defjvp
def _expm1_jvp(
    primals: tuple[jax.Array], tangents: tuple[jax.Array]
) -> tuple[jax.Array, jax.Array]:
    (x,), (t,) = primals, tangents
    return jnp.expm1(x), jnp.exp(x) * t


def gelu(input: jax.Array, approximate: Literal["none", "tanh"] = "none") -> jax.Array:
    """``input * Phi(input)`` (erf form), or torch's tanh approximation with ``approximate="tanh"``.

    Example:
        >>> float(gelu(jnp.array(0.0)))
        0.0
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return jax.nn.gelu(input, approximate=approximate == "tanh")


def silu(input: jax.Array) -> jax.Array:
    """``input * sigmoid(input)`` (swish).

    Example:
        >>> float(silu(jnp.array(0.0)))
        0.0
    """
    return jax.nn.silu(input)


def implicit_dim(ndim: int, where: str) -> int:
    """torch's deprecated choice for ``dim=None``: 0 for 0-, 1- and 3-D input, else 1 (warns).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     implicit_dim(4, "softmax")
        1
    """
    dim = 0 if ndim in (0, 1, 3) else 1
    warnings.warn(
        f"Implicit dimension choice for {where} has been deprecated. Change the call to include "
        f"dim={dim} as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return dim


def softmax(input: jax.Array, dim: int | None = None) -> jax.Array:
    """``exp(input) / sum(exp(input), dim)``; ``dim=None`` picks torch's implicit dim with its warning.

    Example:
        >>> softmax(jnp.zeros((2, 2)), dim=1).tolist()
        [[0.5, 0.5], [0.5, 0.5]]
    """
    axis = implicit_dim(input.ndim, "softmax") if dim is None else dim
    if input.ndim == 0:  # torch takes dim 0 or -1 of a scalar as its only element
        return jax.nn.softmax(input[None], axis=axis)[0]
    return jax.nn.softmax(input, axis=axis)


def log_softmax(input: jax.Array, dim: int | None = None) -> jax.Array:
    """``input - logsumexp(input, dim)``; ``dim=None`` as in :func:`softmax`.

    Example:
        >>> log_softmax(jnp.zeros(2), dim=0).tolist() == [float(-jnp.log(2.0))] * 2
        True
    """
    axis = implicit_dim(input.ndim, "log_softmax") if dim is None else dim
    if input.ndim == 0:
        return jax.nn.log_softmax(input[None], axis=axis)[0]
    return jax.nn.log_softmax(input, axis=axis)


def tanh(input: jax.Array) -> jax.Array:
    """Hyperbolic tangent.

    Example:
        >>> float(tanh(jnp.array(0.0)))
        0.0
    """
    return jnp.tanh(input)


def sigmoid(input: jax.Array) -> jax.Array:
    """Logistic sigmoid ``1 / (1 + exp(-input))``.

    Example:
        >>> float(sigmoid(jnp.array(0.0)))
        0.5
    """
    return jax.nn.sigmoid(input)
