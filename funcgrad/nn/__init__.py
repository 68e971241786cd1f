"""Layers as ``(init, apply)`` pairs with PyTorch's names, layouts and default initialisation.

Example:
    >>> import jax, jax.numpy as jnp, funcgrad as fg
    >>> net = fg.nn.Sequential(fg.nn.Linear(4, 8), fg.nn.ReLU(), fg.nn.Linear(8, 1))
    >>> params = net.init(jax.random.PRNGKey(0))
    >>> net.apply(params, jnp.ones((2, 4))).shape
    (2, 1)
"""

from funcgrad.nn import functional
from funcgrad.nn._activations import Flatten, ReLU, Sigmoid, Tanh
from funcgrad.nn._conv import Conv2d
from funcgrad.nn._linear import Linear
from funcgrad.nn._module import Batched, Module, Params
from funcgrad.nn._sequential import Sequential

__all__ = [
    "Batched",
    "Conv2d",
    "Flatten",
    "Linear",
    "Module",
    "Params",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "functional",
]
