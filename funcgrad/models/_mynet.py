"""The notes' ``mynet(d0, d1, d2, d3)``: three linear layers with ReLU, on one flattened example."""

from __future__ import annotations

from dataclasses import dataclass

import jax

from funcgrad.autodiff._taps import tap
from funcgrad.nn import functional as F
from funcgrad.nn._activations import Flatten, ReLU
from funcgrad.nn._linear import Linear
from funcgrad.nn._module import Module, Params
from funcgrad.nn._sequential import Sequential

__all__ = ["MyNet"]


@dataclass(frozen=True)
class MyNet(Module):
    """``m2(relu(m1(relu(m0(x.view(-1))))))`` for one example of any shape with ``d0`` elements.

    It flattens the whole input, as the notes' ``x.view(-1)`` does, so it acts on a single example.
    Batch it with ``jax.vmap`` (or ``fg.nn.Batched``) instead of adding a batch axis by hand.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = MyNet(600, 60, 40, 10)
        >>> params = net.init(jax.random.PRNGKey(0))
        >>> sorted(params), params["m0"]["weight"].shape
        (['m0', 'm1', 'm2'], (60, 600))
        >>> net.apply(params, jnp.ones((3, 10, 20))).shape
        (10,)
        >>> jax.vmap(net.apply, in_axes=(None, 0))(params, jnp.ones((8, 3, 10, 20))).shape
        (8, 10)
    """

    d0: int
    d1: int
    d2: int
    d3: int

    @property
    def layers(self) -> dict[str, Linear]:
        return {
            "m0": Linear(self.d0, self.d1),
            "m1": Linear(self.d1, self.d2),
            "m2": Linear(self.d2, self.d3),
        }

    def as_sequential(self) -> Sequential:
        """The same network as a stack of named stages, with the same params (for by-hand backprop).

        Example:
            >>> import jax, jax.numpy as jnp
            >>> net = MyNet(6, 4, 3, 2)
            >>> p, x = net.init(jax.random.PRNGKey(0)), jnp.ones((2, 3))
            >>> bool(jnp.allclose(net.as_sequential().apply(p, x), net.apply(p, x)))
            True
        """
        m0, m1, m2 = self.layers.values()
        return Sequential(
            {"flatten": Flatten(0), "m0": m0, "relu1": ReLU(), "m1": m1, "relu2": ReLU(), "m2": m2}
        )

    def init(self, key: jax.Array) -> Params:
        return Sequential(self.layers).init(key)

    def apply(self, params: Params, x: jax.Array) -> jax.Array:
        if x.size != self.d0:
            raise ValueError(
                f"MyNet expects one example with d0={self.d0} elements, got shape {tuple(x.shape)} "
                f"({x.size} elements); for a batch use jax.vmap(net.apply, in_axes=(None, 0))"
            )
        m0, m1, m2 = self.layers.values()
        # The notes' names, tapped: fg.autodiff.grad_with_taps reports d loss / d each (retain_grad).
        z0 = x.reshape(-1)
        s1 = tap(m0.apply(params["m0"], z0), "s1")
        z1 = tap(F.relu(s1), "z1")
        s2 = tap(m1.apply(params["m1"], z1), "s2")
        z2 = tap(F.relu(s2), "z2")
        return tap(m2.apply(params["m2"], z2), "s3")
