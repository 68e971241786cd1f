"""The notes' two-convolution model, with an optional linear head for classification."""

from __future__ import annotations

from dataclasses import dataclass

from funcgrad.models._sequential_model import SequentialModel
from funcgrad.nn._activations import Flatten, ReLU
from funcgrad.nn._conv import Conv2d
from funcgrad.nn._linear import Linear
from funcgrad.nn._module import ConfigError, Module
from funcgrad.nn._sequential import Sequential

__all__ = ["ConvNet"]


@dataclass(frozen=True)
class ConvNet(SequentialModel):
    """``relu(conv2(relu(conv1(x))))`` with ``Conv2d(1, 20, 5)`` and ``Conv2d(20, 20, 5)``.

    With ``num_classes`` and ``image_size`` it adds ``head = Linear(20 * (H-8) * (W-8), num_classes)``
    after flattening, which turns the feature extractor into a classifier. It acts on one
    ``(1, H, W)`` image; batch it with ``jax.vmap``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = ConvNet()
        >>> params = net.init(jax.random.key(0))
        >>> sorted(params), net.apply(params, jnp.ones((1, 28, 28))).shape
        (['conv1', 'conv2'], (20, 20, 20))
        >>> clf = ConvNet(num_classes=10, image_size=(28, 28))
        >>> clf.apply(clf.init(jax.random.key(0)), jnp.ones((1, 28, 28))).shape
        (10,)
    """

    num_classes: int | None = None
    image_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if (self.num_classes is None) != (self.image_size is None):
            raise ConfigError(
                "ConvNet: give both num_classes and image_size for the head, or neither"
            )
        if self.image_size is not None and min(self.image_size) < 9:
            raise ConfigError(
                f"ConvNet: image_size {self.image_size} is too small for two 5x5 convolutions; "
                "use at least 9x9"
            )

    def as_sequential(self) -> Sequential:
        """The network itself: named stages with the model's params (for by-hand backprop).

        Example:
            >>> import jax, jax.numpy as jnp
            >>> net = ConvNet(num_classes=3, image_size=(10, 10))
            >>> [name for name, _ in net.as_sequential().named_layers()]
            ['conv1', 'relu1', 'conv2', 'relu2', 'flatten', 'head']
            >>> p, x = net.init(jax.random.key(0)), jnp.ones((1, 10, 10))
            >>> bool(jnp.allclose(net.as_sequential().apply(p, x), net.apply(p, x)))
            True
        """
        stages: dict[str, Module] = {
            "conv1": Conv2d(1, 20, 5),
            "relu1": ReLU(),
            "conv2": Conv2d(20, 20, 5),
            "relu2": ReLU(),
        }
        if self.num_classes is not None and self.image_size is not None:
            h, w = self.image_size
            stages |= {
                "flatten": Flatten(0),
                "head": Linear(20 * (h - 8) * (w - 8), self.num_classes),
            }
        return Sequential(stages)
