"""Pick a dataset by name, or load a ``.npz`` path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from funcgrad.data._dataset import DataError, Dataset
from funcgrad.data._digits import load_digits
from funcgrad.data._npz import load_npz
from funcgrad.data._synthetic import synthetic_linear
from funcgrad.data._text import load_text

__all__ = ["DATASETS", "dataset_id", "load_dataset"]

DATASETS: dict[str, Callable[[], Dataset]] = {
    "digits": load_digits,
    "synthetic-linear": synthetic_linear,
    "text": load_text,
}
"""The bundled datasets by name, each a function that builds the ``Dataset``."""


def load_dataset(name: str | Path) -> Dataset:
    """A bundled dataset by name (see ``DATASETS``), or a ``.npz`` file by path.

    Example:
        >>> load_dataset("synthetic-linear").x_test.tolist()
        [5.0]
        >>> load_dataset("mnist")
        Traceback (most recent call last):
        ...
        funcgrad.data.DataError: unknown dataset 'mnist'; use digits, synthetic-linear, text or a path to a .npz file
    """
    if str(name) in DATASETS:
        return DATASETS[str(name)]()
    if _is_file(name):
        return load_npz(Path(name))
    raise DataError(
        f"unknown dataset {str(name)!r}; use {', '.join(DATASETS)} or a path to a .npz file"
    )


def dataset_id(name: str | Path) -> str:
    """How a run records ``name``: a bundled dataset's name as it is, a file as its absolute path.

    The absolute path lets ``--resume`` find the data again from any working directory.

    Example:
        >>> dataset_id("digits")
        'digits'
        >>> Path(dataset_id("my_data.npz")).is_absolute()
        True
    """
    if str(name) in DATASETS or not _is_file(name):
        return str(name)
    return str(Path(name).resolve())


def _is_file(name: str | Path) -> bool:
    path = Path(name)
    return path.suffix == ".npz" or path.exists()
