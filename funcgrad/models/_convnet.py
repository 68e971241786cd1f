"""The notes' two-convolution model, with an optional linear head for classification."""

from __future__ import annotations

from dataclasses import dataclass

import jax

from funcgrad.nn import functional as F
from funcgrad.nn._activations import Flatten, ReLU
from funcgrad.nn._conv import Conv2d
from funcgrad.nn._linear import Linear
from funcgrad.nn._module import Module, Params
from funcgrad.nn._sequential import Sequential

__all__ = ["ConvNet"]


@dataclass(frozen=True)
class ConvNet(Module):
    """``relu(conv2(relu(conv1(x))))`` with ``Conv2d(1, 20, 5)`` and ``Conv2d(20, 20, 5)``.

    With ``num_classes`` and ``image_size`` it adds ``head = Linear(20 * (H-8) * (W-8), num_classes)``
    after flattening, which turns the feature extractor into a classifier. It acts on one
    ``(1, H, W)`` image; batch it with ``jax.vmap``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = ConvNet()
        >>> params = net.init(jax.random.PRNGKey(0))
        >>> sorted(params), net.apply(params, jnp.ones((1, 28, 28))).shape
        (['conv1', 'conv2'], (20, 20, 20))
        >>> clf = ConvNet(num_classes=10, image_size=(28, 28))
        >>> clf.apply(clf.init(jax.random.PRNGKey(0)), jnp.ones((1, 28, 28))).shape
        (10,)
    """

    num_classes: int | None = None
    image_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if (self.num_classes is None) != (self.image_size is None):
            raise ValueError(
                "ConvNet: give both num_classes and image_size for the head, or neither"
            )
        if self.image_size is not None and min(self.image_size) < 9:
            raise ValueError(
                f"ConvNet: image_size {self.image_size} is too small for two 5x5 convolutions; "
                "use at least 9x9"
            )

    @property
    def layers(self) -> dict[str, Module]:
        layers: dict[str, Module] = {"conv1": Conv2d(1, 20, 5), "conv2": Conv2d(20, 20, 5)}
        if self.num_classes is not None and self.image_size is not None:
            h, w = self.image_size
            layers["head"] = Linear(20 * (h - 8) * (w - 8), self.num_classes)
        return layers

    def as_sequential(self) -> Sequential:
        """The same network as a stack of named stages, with the same params (for by-hand backprop).

        Example:
            >>> import jax, jax.numpy as jnp
            >>> net = ConvNet(num_classes=3, image_size=(10, 10))
            >>> p, x = net.init(jax.random.PRNGKey(0)), jnp.ones((1, 10, 10))
            >>> bool(jnp.allclose(net.as_sequential().apply(p, x), net.apply(p, x)))
            True
        """
        layers = self.layers
        stages: dict[str, Module] = {
            "conv1": layers["conv1"],
            "relu1": ReLU(),
            "conv2": layers["conv2"],
            "relu2": ReLU(),
        }
        if "head" in layers:
            stages |= {"flatten": Flatten(0), "head": layers["head"]}
        return Sequential(stages)

    def init(self, key: jax.Array) -> Params:
        return Sequential(self.layers).init(key)

    def apply(self, params: Params, x: jax.Array) -> jax.Array:
        layers = self.layers
        x = F.relu(layers["conv1"].apply(params["conv1"], x))
        x = F.relu(layers["conv2"].apply(params["conv2"], x))
        if "head" in layers:
            x = layers["head"].apply(params["head"], x.reshape(-1))
        return x
