"""A train/test split held as NumPy arrays, plus the checks every loader runs on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DataError", "Dataset", "standardize"]


class DataError(ValueError):
    """Bad input data; the message is one line that names the problem and the fix."""

    __module__ = "funcgrad.data"


@dataclass(frozen=True)
class Dataset:
    """``x_train, y_train, x_test, y_test`` plus what they mean.

    ``num_classes`` is set for classification (integer labels ``0 .. num_classes-1``) and ``None``
    for regression (float targets). Inputs are float32 and already normalised.

    Attributes:
        name: the dataset's name.
        x_train: the training inputs, one example per row.
        y_train: the training targets.
        x_test: the test inputs.
        y_test: the test targets.
        num_classes: the class count for classification, or ``None`` for regression.

    Example:
        >>> import numpy as np
        >>> ds = Dataset("toy", np.zeros((4, 2), np.float32), np.array([0, 1, 1, 0]),
        ...              np.zeros((2, 2), np.float32), np.array([1, 0]), num_classes=2)
        >>> ds.task, ds.example_shape, ds.num_train
        ('classification', (2,), 4)
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int | None = None

    def __post_init__(self) -> None:
        check_arrays(self.name, self.x_train, self.y_train, self.x_test, self.y_test)
        if self.num_classes is not None:
            check_labels(self.name, self.y_train, self.y_test, self.num_classes)

    @property
    def task(self) -> str:
        """``"classification"`` or ``"regression"``."""
        return "regression" if self.num_classes is None else "classification"

    @property
    def example_shape(self) -> tuple[int, ...]:
        """The shape of one input example."""
        return tuple(self.x_train.shape[1:])

    @property
    def num_train(self) -> int:
        return int(self.x_train.shape[0])


def check_arrays(
    name: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> None:
    """Raise :class:`DataError` unless the four arrays fit together and the inputs are finite."""
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim < 1 or x.shape[0] == 0:
            raise DataError(f"{name}: x_{split} is empty; it needs one row per example")
        # A sequence model's targets are one per position: y has x's shape (text's next
        # characters); every other model has one target per example.
        if y.ndim != 1 and y.shape != x.shape:
            raise DataError(
                f"{name}: y_{split} must be 1-D (one target per example) or x_{split}'s shape "
                f"(one per position), got shape {y.shape}"
            )
        if x.shape[0] != y.shape[0]:
            raise DataError(
                f"{name}: x_{split} has {x.shape[0]} examples but y_{split} has {y.shape[0]}; "
                "they must match"
            )
        if not np.issubdtype(x.dtype, np.number):
            raise DataError(f"{name}: x_{split} must be numeric, got dtype {x.dtype}")
        if not np.isfinite(x).all():
            bad = int(np.size(x) - np.isfinite(x).sum())
            raise DataError(
                f"{name}: x_{split} holds {bad} NaN/inf values; clean or drop those examples"
            )
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(
            f"{name}: train examples have shape {x_train.shape[1:]} but test examples "
            f"{x_test.shape[1:]}; both splits need the same example shape"
        )


def check_labels(name: str, y_train: np.ndarray, y_test: np.ndarray, num_classes: int) -> None:
    """Raise :class:`DataError` unless all labels are integers in ``0 .. num_classes-1``."""
    for split, y in (("train", y_train), ("test", y_test)):
        if not np.issubdtype(y.dtype, np.integer):
            raise DataError(
                f"{name}: y_{split} must hold integer class labels, got dtype {y.dtype}"
            )
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= num_classes:
            raise DataError(
                f"{name}: y_{split} has labels in {low}..{high}, outside 0..{num_classes - 1}; "
                "labels must be class indices starting at 0"
            )


def standardize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shift and scale both splits by the training set's mean and standard deviation.

    Only training statistics are used, so nothing about the test set leaks into training.

    Example:
        >>> import numpy as np
        >>> a, b = standardize(np.array([0.0, 2.0]), np.array([4.0]))
        >>> a.tolist(), b.tolist()
        ([-1.0, 1.0], [3.0])
    """
    mean = x_train.mean(dtype=np.float64)
    std = x_train.std(dtype=np.float64) or 1.0
    scale = lambda x: ((x - mean) / std).astype(np.float32)  # noqa: E731
    return scale(x_train), scale(x_test)
