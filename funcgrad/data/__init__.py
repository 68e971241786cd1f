"""Datasets for ``funcgrad train``: the bundled digits, the notes' ``Y = 2X``, or your ``.npz``.

Every loader returns a :class:`Dataset` of NumPy arrays, checked and normalised, and raises
:class:`DataError` (one line: the problem and the fix) on bad input.

Example:
    >>> from funcgrad import data
    >>> ds = data.load_dataset("digits")
    >>> ds.name, ds.x_train.shape, ds.num_classes
    ('digits', (1438, 8, 8), 10)
    >>> data.as_images(ds, min_size=9).x_train.shape
    (1438, 1, 16, 16)
"""

from funcgrad.data._dataset import DataError, Dataset, standardize
from funcgrad.data._digits import load_digits
from funcgrad.data._images import as_images
from funcgrad.data._load import DATASETS, dataset_id, load_dataset
from funcgrad.data._npz import load_npz
from funcgrad.data._synthetic import synthetic_linear

__all__ = [
    "DATASETS",
    "DataError",
    "Dataset",
    "as_images",
    "dataset_id",
    "load_dataset",
    "load_digits",
    "load_npz",
    "standardize",
    "synthetic_linear",
]
