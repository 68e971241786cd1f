"""Datasets for ``funcgrad train``: the bundled digits, the notes' ``Y = 2X``, the bundled text, or your ``.npz``.

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
from funcgrad.data._text import TextDataset, bits_per_char, load_text

__all__ = [
    "DATASETS",
    "DataError",
    "Dataset",
    "TextDataset",
    "as_images",
    "bits_per_char",
    "dataset_id",
    "load_dataset",
    "load_digits",
    "load_npz",
    "load_text",
    "standardize",
    "synthetic_linear",
]
