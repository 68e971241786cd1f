"""The notes' ``mynet(d0, d1, d2, d3)``: three linear layers with ReLU, on one flattened example."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax

from funcgrad.models._sequential_model import SequentialModel, Tap
from funcgrad.nn._activations import Flatten, ReLU
from funcgrad.nn._linear import Linear
from funcgrad.nn._module import Buffers, ConfigError, ModuleError, Params
from funcgrad.nn._sequential import Sequential

__all__ = ["MyNet"]


@dataclass(frozen=True)
class MyNet(SequentialModel):
    """``m2(relu(m1(relu(m0(x.view(-1))))))`` for one example of any shape with ``d0`` elements.

    It flattens the whole input, as the notes' ``x.view(-1)`` does, so it acts on a single example.
    Batch it with ``jax.vmap`` (or ``fg.nn.Batched``) instead of adding a batch axis by hand. The
    intermediate values carry the notes' names ``s1, z1, s2, z2, s3`` as taps, so
    ``fg.autodiff.grad_with_taps`` reports their gradients (torch's ``retain_grad()``).

    Args:
        d0: the number of input elements.
        d1: the width of the first hidden layer.
        d2: the width of the second hidden layer.
        d3: the number of outputs.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = MyNet(600, 60, 40, 10)
        >>> params = net.init(jax.random.key(0))
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

    def __post_init__(self) -> None:
        sizes = (self.d0, self.d1, self.d2, self.d3)
        if any(d < 1 for d in sizes):
            raise ConfigError(
                f"MyNet{sizes}: d0, d1, d2 and d3 are layer widths; give positive ints"
            )

    def as_sequential(self) -> Sequential:
        """The network itself: named stages, the taps among them, with the model's params.

        Example:
            >>> import jax, jax.numpy as jnp
            >>> net = MyNet(6, 4, 3, 2)
            >>> [name for name, _ in net.as_sequential().named_layers()][:5]
            ['flatten', 'm0', 's1', 'relu1', 'z1']
            >>> p, x = net.init(jax.random.key(0)), jnp.ones((2, 3))
            >>> bool(jnp.allclose(net.as_sequential().apply(p, x), net.apply(p, x)))
            True
        """
        return Sequential(
            {
                "flatten": Flatten(0),  # the notes' z0 = x.view(-1)
                "m0": Linear(self.d0, self.d1),
                "s1": Tap("s1"),
                "relu1": ReLU(),
                "z1": Tap("z1"),
                "m1": Linear(self.d1, self.d2),
                "s2": Tap("s2"),
                "relu2": ReLU(),
                "z2": Tap("z2"),
                "m2": Linear(self.d2, self.d3),
                "s3": Tap("s3"),
            }
        )

    def forward(
        self, params: Params, x: Any, *, buffers: Buffers, train: bool, key: jax.Array | None
    ) -> tuple[Any, Buffers]:
        if x.size != self.d0:
            raise ModuleError(
                f"MyNet expects one example with d0={self.d0} elements, got shape {tuple(x.shape)} "
                f"({x.size} elements); for a batch use jax.vmap(net.apply, in_axes=(None, 0))"
            )
        return super().forward(params, x, buffers=buffers, train=train, key=key)
