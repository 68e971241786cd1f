"""Turn names into parts: a model for the data, its loss, an optax optimiser, and per-model defaults."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple, cast

import jax
import optax

from funcgrad import losses
from funcgrad.data import Dataset, TextDataset, as_images
from funcgrad.models import GPT, CharLSTM, ConvNet, LeNet5, LinearRegression, MyNet, SingleLayer
from funcgrad.nn import Batched, Module
from funcgrad.train._errors import TrainError

__all__ = [
    "DEFAULTS",
    "MODELS",
    "OPTIMIZERS",
    "Defaults",
    "build_model",
    "default_dataset",
    "loss_for",
    "make_optimizer",
    "regression_loss",
    "sequence_cross_entropy",
]


class Defaults(NamedTuple):
    """Settings that reach the accuracy target quickly on digits (or fit ``Y = 2X`` for ``linear``)."""

    epochs: int
    batch_size: int | str
    lr: float
    optimizer: str


DEFAULTS: dict[str, Defaults] = {
    "mynet": Defaults(epochs=15, batch_size=32, lr=3e-3, optimizer="adam"),
    "convnet": Defaults(epochs=8, batch_size=32, lr=1e-3, optimizer="adam"),
    "single-layer": Defaults(epochs=20, batch_size=32, lr=5e-2, optimizer="adam"),
    "lenet": Defaults(epochs=20, batch_size=64, lr=2e-3, optimizer="adam"),
    # The notes' regression: full-batch gradient descent with lr 0.01.
    "linear": Defaults(epochs=20, batch_size="full", lr=1e-2, optimizer="sgd"),
    # The character language models, on the bundled text.
    "charlstm": Defaults(epochs=5, batch_size=32, lr=3e-3, optimizer="adam"),
    "gpt": Defaults(epochs=5, batch_size=32, lr=3e-3, optimizer="adam"),
}
"""Each built-in model's default epochs, batch size, learning rate and optimiser."""
MODELS = tuple(DEFAULTS)
"""The built-in model names that ``fit`` and ``funcgrad train --model`` accept."""
OPTIMIZERS: dict[str, Callable[[float], optax.GradientTransformation]] = {
    "sgd": optax.sgd,
    "momentum": lambda lr: optax.sgd(lr, momentum=0.9),
    "adam": optax.adam,
}
"""The optimiser names ``funcgrad train --optimizer`` accepts, each a function of the learning rate."""


@lru_cache(maxsize=16)  # the same object for the same settings: fit's programs compile once
def make_optimizer(name: str, lr: float) -> optax.GradientTransformation:
    """``sgd``, ``momentum`` (0.9) or ``adam`` from optax.

    Example:
        >>> make_optimizer("adagrad", 0.1)
        Traceback (most recent call last):
        ...
        funcgrad.train.TrainError: unknown optimizer 'adagrad'; choose one of sgd, momentum, adam
    """
    if name not in OPTIMIZERS:
        raise TrainError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    if not (lr > 0 and math.isfinite(lr)):
        raise TrainError(f"lr must be a positive number, got {lr}")
    return OPTIMIZERS[name](lr)


# The dataset a model trains on when none is named: linear fits Y = 2X, the language models text.
_DATASETS = {"linear": "synthetic-linear", "charlstm": "text", "gpt": "text"}


def default_dataset(model: str | None) -> str:
    """The dataset ``model`` trains on by default: ``synthetic-linear`` for ``linear``, ``text``
    for the language models, else digits.

    Example:
        >>> default_dataset("gpt"), default_dataset("linear"), default_dataset(None)
        ('text', 'synthetic-linear', 'digits')
    """
    return _DATASETS.get(model or "", "digits")


def build_model(name: str, ds: Dataset) -> tuple[Module, Dataset]:
    """The named model sized for ``ds`` (one-example models wrapped in ``Batched``), and ``ds``
    shaped the way that model reads one example.

    ``mynet`` is ``MyNet(D, 60, 40, C)``; ``convnet`` gets images grown to at least 9x9;
    ``lenet`` (``LeNet5``, batched already: batch norm needs the batch) to at least 12x12;
    ``single-layer`` reads flat vectors; ``linear`` is ``f = w * x`` on scalars; ``charlstm``
    (``CharLSTM(V)``) and ``gpt`` (``GPT(V, block_size=T)``) read text windows ``(N, T)``.

    Example:
        >>> from funcgrad.data import load_digits
        >>> model, ds = build_model("convnet", load_digits())
        >>> model, ds.example_shape
        (Batched(module=ConvNet(num_classes=10, image_size=(16, 16)), axis_name=None), (1, 16, 16))
    """
    outputs = ds.num_classes or 1
    size = math.prod(ds.example_shape)
    if name == "mynet":
        return Batched(MyNet(size, 60, 40, outputs)), ds
    if name == "single-layer":
        flat = lambda x: x.reshape(x.shape[0], size)  # noqa: E731
        return Batched(SingleLayer(size, outputs)), dataclasses.replace(
            ds, x_train=flat(ds.x_train), x_test=flat(ds.x_test)
        )
    if name == "convnet":
        if ds.num_classes is None:
            raise TrainError(f"convnet classifies images; {ds.name} is a regression dataset")
        images = as_images(ds, min_size=9)
        hw = cast(tuple[int, int], images.example_shape[1:])  # as_images: (1, H, W)
        return Batched(ConvNet(ds.num_classes, hw)), images
    if name == "lenet":
        if ds.num_classes is None:
            raise TrainError(f"lenet classifies images; {ds.name} is a regression dataset")
        images = as_images(ds, min_size=12)
        hw = cast(tuple[int, int], images.example_shape[1:])  # as_images: (1, H, W)
        return LeNet5(ds.num_classes, hw), images
    if name == "linear":
        if ds.num_classes is not None or ds.example_shape != ():
            raise TrainError(
                f"linear is f = w * x on scalar inputs; {ds.name} does not fit it, "
                "use the synthetic-linear dataset"
            )
        return Batched(LinearRegression()), ds
    if name in ("charlstm", "gpt"):
        if not isinstance(ds, TextDataset):
            raise TrainError(f"{name} is a character language model; train it on --dataset text")
        vocab, seq_len = len(ds.vocab), ds.example_shape[0]
        return (CharLSTM(vocab) if name == "charlstm" else GPT(vocab, block_size=seq_len)), ds
    raise TrainError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")


def loss_for(ds: Dataset) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """Cross-entropy on class labels for classification (over every position for sequence
    targets), mean squared error for regression."""
    if ds.num_classes is None:
        return regression_loss
    return sequence_cross_entropy if ds.y_train.ndim > 1 else losses.cross_entropy


def sequence_cross_entropy(logits: jax.Array, targets: jax.Array) -> jax.Array:
    """Mean cross-entropy over every position: logits ``(N, T, V)``, targets ``(N, T)``.

    torch's ``F.cross_entropy(logits.view(-1, V), targets.view(-1))``, as a language model's
    training loop writes it.

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(sequence_cross_entropy(jnp.zeros((2, 3, 4)), jnp.zeros((2, 3), int))), 4)
        1.3863
    """
    return losses.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def regression_loss(out: jax.Array, y: jax.Array) -> jax.Array:
    """Mean squared error, with the model's output reshaped to the targets (``(N, 1)`` to ``(N,)``)."""
    return losses.mse_loss(out.reshape(y.shape), y)
