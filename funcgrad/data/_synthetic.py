"""The notes' regression data: ``X = [1, 2, 3, 4]`` with targets ``Y = 2X``."""

from __future__ import annotations

import numpy as np

from funcgrad.data._dataset import Dataset

__all__ = ["synthetic_linear"]


def synthetic_linear() -> Dataset:
    """Train on ``X = [1, 2, 3, 4]``, ``Y = 2X``; test on the notes' query point ``f(5) = 10``.

    Inputs stay unscaled so that the learned weight is the slope itself (it should approach 2).

    Example:
        >>> ds = synthetic_linear()
        >>> ds.x_train.tolist(), ds.y_train.tolist(), ds.task
        ([1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0], 'regression')
    """
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    x_test = np.array([5.0], np.float32)
    return Dataset("synthetic-linear", x, 2 * x, x_test, 2 * x_test)
