"""Pick a dataset by name, or load a ``.npz`` path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from funcgrad.data._dataset import DataError, Dataset
from funcgrad.data._digits import load_digits
from funcgrad.data._npz import load_npz
from funcgrad.data._synthetic import synthetic_linear

__all__ = ["DATASETS", "load_dataset"]

DATASETS: dict[str, Callable[[], Dataset]] = {
    "digits": load_digits,
    "synthetic-linear": synthetic_linear,
}


def load_dataset(name: str | Path) -> Dataset:
    """A bundled dataset by name (see ``DATASETS``), or a ``.npz`` file by path.

    Example:
        >>> load_dataset("synthetic-linear").x_test.tolist()
        [5.0]
        >>> load_dataset("mnist")
        Traceback (most recent call last):
        ...
        funcgrad.data._dataset.DataError: unknown dataset 'mnist'; use digits, synthetic-linear or a path to a .npz file
    """
    if str(name) in DATASETS:
        return DATASETS[str(name)]()
    path = Path(name)
    if path.suffix == ".npz" or path.exists():
        return load_npz(path)
    raise DataError(
        f"unknown dataset {str(name)!r}; use {', '.join(DATASETS)} or a path to a .npz file"
    )
