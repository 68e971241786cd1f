"""LeNet-5 with batch norm and dropout: conv-BN-ReLU-pool twice, then three linear layers."""

from __future__ import annotations

from dataclasses import dataclass

from funcgrad.models._sequential_model import SequentialModel
from funcgrad.nn._activations import Flatten, ReLU
from funcgrad.nn._conv import Conv2d
from funcgrad.nn._dropout import Dropout
from funcgrad.nn._linear import Linear
from funcgrad.nn._module import ConfigError, Module
from funcgrad.nn._norm import BatchNorm2d
from funcgrad.nn._pool import MaxPool2d
from funcgrad.nn._sequential import Sequential

__all__ = ["LeNet5"]


@dataclass(frozen=True)
class LeNet5(SequentialModel):
    """LeNet-5 on a batch ``(N, 1, H, W)``: ``conv1`` (5x5, padding 2), ``conv2`` (5x5), each
    followed by batch norm, ReLU and 2x2 max-pooling, then ``fc1 -> fc2 -> fc3`` with dropout.

    Unlike the notes' one-example models it acts on a batch: batch norm needs the batch. Params and
    buffers are keyed by stage name (``conv1``, ``bn1``, ``fc1``, ...), as an ``nn.Sequential``
    of an ``OrderedDict`` with the same names in torch.

    Args:
        num_classes: the size of the output.
        image_size: ``(H, W)`` of the input images.
        dropout: the dropout probability before ``fc2`` and ``fc3``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> net = LeNet5()
        >>> params, buffers = net.init(jax.random.key(0)), net.init_buffers()
        >>> y, buffers = net.apply(params, jnp.ones((2, 1, 28, 28)), buffers=buffers)
        >>> y.shape, sorted(buffers)
        ((2, 10), ['bn1', 'bn2'])
    """

    num_classes: int = 10
    image_size: tuple[int, int] = (28, 28)
    dropout: float = 0.5

    def __post_init__(self) -> None:
        h, w = self.image_size
        if (h // 2 - 4) // 2 < 1 or (w // 2 - 4) // 2 < 1:
            raise ConfigError(
                f"LeNet5: image_size {self.image_size} is too small; use at least 12x12"
            )

    def as_sequential(self) -> Sequential:
        """The network as named stages (``conv1``, ``bn1``, ``relu1``, ``pool1``, ...).

        Example:
            >>> [n for n, _ in LeNet5().as_sequential().named_layers()][:4]
            ['conv1', 'bn1', 'relu1', 'pool1']
        """
        h, w = ((s // 2 - 4) // 2 for s in self.image_size)
        stages: dict[str, Module] = {
            "conv1": Conv2d(1, 6, 5, padding=2),
            "bn1": BatchNorm2d(6),
            "relu1": ReLU(),
            "pool1": MaxPool2d(2),
            "conv2": Conv2d(6, 16, 5),
            "bn2": BatchNorm2d(16),
            "relu2": ReLU(),
            "pool2": MaxPool2d(2),
            "flatten": Flatten(),
            "fc1": Linear(16 * h * w, 120),
            "relu3": ReLU(),
            "drop1": Dropout(self.dropout),
            "fc2": Linear(120, 84),
            "relu4": ReLU(),
            "drop2": Dropout(self.dropout),
            "fc3": Linear(84, self.num_classes),
        }
        return Sequential(stages)
