"""The type aliases of funcgrad's signatures: parameters, buffers, random keys and pytrees.

Defined once here and used across the library, so a signature says what it takes: ``Params``
(torch's ``named_parameters()``, nested), ``Buffers`` (its ``named_buffers()``), a ``PRNGKey``, or
any ``PyTree``. Arrays are ``jax.Array`` (outputs) and ``ArrayLike`` (inputs: arrays, NumPy arrays,
Python scalars), as JAX recommends.

A type checker cannot follow the structure of a pytree, so ``PyTree`` and the leaves of ``Params``
and ``Buffers`` are ``Any`` to it, as in JAX and optax; the names document the intent.

Example:
    >>> import jax, jax.numpy as jnp
    >>> from funcgrad._typing import Params, PRNGKey
    >>> key: PRNGKey = jax.random.key(0)
    >>> params: Params = {"m0": {"weight": jax.random.normal(key, (2, 3)), "bias": jnp.zeros(2)}}
    >>> sorted(params["m0"])
    ['bias', 'weight']
"""

from __future__ import annotations

from typing import Any, TypeAlias

import jax
from jax.typing import ArrayLike

__all__ = ["ArrayLike", "Buffers", "PRNGKey", "Params", "PyTree"]

PyTree: TypeAlias = Any
"""Any JAX pytree: nested tuples, lists and dicts (or registered nodes) of arrays and scalars."""

Params: TypeAlias = dict[str, Any]
"""A nested dict of arrays: ``{"m0": {"weight": ..., "bias": ...}}``."""

Buffers: TypeAlias = dict[str, Any]
"""A nested dict of non-trained arrays, keyed like params: ``{"1": {"running_mean": ...}}``."""

PRNGKey: TypeAlias = jax.Array
"""A random key, from ``jax.random.key(seed)`` (or the legacy ``jax.random.PRNGKey(seed)``)."""
