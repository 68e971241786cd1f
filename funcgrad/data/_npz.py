"""Load a user's ``.npz`` in the common MNIST layout: ``x_train, y_train, x_test, y_test``."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from funcgrad.data._dataset import DataError, Dataset, check_arrays, standardize

__all__ = ["load_npz"]

KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_npz(path: str | Path) -> Dataset:
    """A classification :class:`Dataset` from an ``.npz`` file, checked and standardised.

    Labels must be integer class indices; the number of classes is ``max(y_train) + 1``. Every
    problem (missing file or keys, mismatched shapes, labels out of range, NaN inputs) raises
    :class:`DataError` with a one-line message.

    Example:
        >>> import numpy as np, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "toy.npz")
        >>> x, y = np.arange(12.0).reshape(6, 2), np.array([0, 1, 2, 0, 1, 2])
        >>> np.savez(path, x_train=x, y_train=y, x_test=x[:2], y_test=y[:2])
        >>> ds = load_npz(path)
        >>> ds.num_classes, ds.x_train.shape, ds.x_train.dtype
        (3, (6, 2), dtype('float32'))
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise DataError(f"{path}: no such file; pass 'digits', 'synthetic-linear' or a .npz path")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in KEYS if k not in z.files]
            if missing:
                raise DataError(
                    f"{name}: missing arrays {', '.join(missing)}; the file needs "
                    f"{', '.join(KEYS)} (found {', '.join(z.files) or 'none'})"
                )
            x_train, y_train, x_test, y_test = (np.asarray(z[k]) for k in KEYS)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{name}: not a readable .npz file ({e}); save it with numpy.savez") from e
    check_arrays(name, x_train, y_train, x_test, y_test)
    y_train, y_test = _as_labels(name, "y_train", y_train), _as_labels(name, "y_test", y_test)
    x_train, x_test = standardize(x_train, x_test)
    num_classes = int(y_train.max()) + 1
    return Dataset(name, x_train, y_train, x_test, y_test, num_classes=max(num_classes, 1))


def _as_labels(name: str, key: str, y: np.ndarray) -> np.ndarray:
    # Labels saved as whole floats (3.0) are still class indices; 2.5 or NaN is not.
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(np.mod(y, 1) == 0):
        return y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise DataError(
            f"{name}: {key} must hold integer class labels 0..C-1, got dtype {y.dtype} "
            "with non-integer values"
        )
    return y
