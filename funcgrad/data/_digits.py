"""The bundled 8x8 handwritten digits (UCI "Optical Recognition of Handwritten Digits", CC BY 4.0).

``digits.npz`` holds the 1797 images (``images``, uint8 counts 0..16) and their ``labels`` (0..9),
the same copy scikit-learn ships as ``load_digits``. See ``DIGITS_LICENSE.txt`` for the citation.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from funcgrad.data._dataset import Dataset, standardize

__all__ = ["load_digits"]


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """The digits as a standardised train/test split of ``(8, 8)`` float32 images.

    The split is a fixed shuffle by ``seed`` (NumPy's PCG64), so the same seed always gives the
    same split. Pixels are counts 0..16; they are scaled by the training mean and deviation.

    Example:
        >>> ds = load_digits()
        >>> ds.x_train.shape, ds.x_test.shape, ds.num_classes
        ((1438, 8, 8), (359, 8, 8), 10)
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"load_digits: test_fraction must be in (0, 1), got {test_fraction}")
    with resources.files("funcgrad.data").joinpath("digits.npz").open("rb") as f, np.load(f) as z:
        images, labels = z["images"].astype(np.float32), z["labels"].astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = round(test_fraction * len(labels))
    test, train = order[:n_test], order[n_test:]
    x_train, x_test = standardize(images[train], images[test])
    return Dataset("digits", x_train, labels[train], x_test, labels[test], num_classes=10)
