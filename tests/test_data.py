"""funcgrad.data: the bundled digits, the notes' Y = 2X, .npz loading and its one-line errors."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from funcgrad import data
from funcgrad.data import DataError


def raw_digits():
    with resources.files("funcgrad.data").joinpath("digits.npz").open("rb") as f, np.load(f) as z:
        return z["images"], z["labels"]


def test_bundled_digits_are_the_uci_set_with_its_notice():
    images, labels = raw_digits()
    assert images.shape == (1797, 8, 8) and labels.shape == (1797,)
    assert images.min() == 0 and images.max() == 16  # 4x4 block counts of a 32x32 bitmap
    assert sorted(set(labels.tolist())) == list(range(10))
    notice = resources.files("funcgrad.data").joinpath("DIGITS_LICENSE.txt").read_text()
    assert "CC BY 4.0" in notice and "Optical Recognition of Handwritten Digits" in notice


def test_digits_split_is_deterministic_disjoint_and_standardised():
    images, labels = raw_digits()
    a, b = data.load_digits(), data.load_digits()
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert a.num_train + len(a.y_test) == 1797
    assert a.x_train.dtype == np.float32 and a.num_classes == 10
    assert abs(float(a.x_train.mean())) < 1e-5 and abs(float(a.x_train.std()) - 1) < 1e-4
    # Undo the scaling: the 17 pixel levels map back to 0..16, and the two splits together hold
    # every bundled image exactly once.
    both = np.concatenate([a.x_train, a.x_test]).astype(np.float64)
    levels = np.unique(both.round(5))
    assert len(levels) == 17
    raw = np.rint((both - levels[0]) / (levels[1] - levels[0])).astype(np.uint8)
    key = lambda imgs: sorted(img.tobytes() for img in imgs)  # noqa: E731
    assert key(raw) == key(images)
    counts = np.bincount(np.concatenate([a.y_train, a.y_test]), minlength=10)
    np.testing.assert_array_equal(counts, np.bincount(labels, minlength=10))
    assert data.load_digits(seed=1).y_test.tolist() != a.y_test.tolist()


def test_as_images_grows_digits_to_16x16_for_two_valid_5x5_convolutions():
    ds = data.as_images(data.load_digits(), min_size=9)
    assert ds.x_train.shape[1:] == (1, 16, 16)
    small = data.load_digits()
    # Nearest-neighbour growth: each pixel becomes a 2x2 block, nothing new is invented.
    np.testing.assert_array_equal(ds.x_train[:, 0, ::2, ::2], small.x_train)
    np.testing.assert_array_equal(ds.x_train[:, 0, 1::2, 1::2], small.x_train)
    with pytest.raises(DataError, match="not images"):
        data.as_images(data.synthetic_linear(), min_size=9)


def test_synthetic_linear_is_the_notes_regression():
    ds = data.synthetic_linear()
    np.testing.assert_array_equal(ds.y_train, 2 * ds.x_train)
    np.testing.assert_array_equal(ds.y_test, 2 * ds.x_test)
    assert ds.task == "regression" and ds.num_classes is None


def save(tmp_path, name="d.npz", **arrays):
    rng = np.random.default_rng(0)
    good = {
        "x_train": rng.integers(0, 256, (20, 4, 4)).astype(np.uint8),
        "y_train": np.arange(20) % 3,
        "x_test": rng.integers(0, 256, (6, 4, 4)).astype(np.uint8),
        "y_test": np.arange(6) % 3,
    }
    good.update(arrays)
    path = tmp_path / name
    np.savez(path, **{k: v for k, v in good.items() if v is not None})
    return path


def test_npz_in_mnist_layout_loads_and_is_standardised(tmp_path):
    ds = data.load_dataset(save(tmp_path))
    assert ds.num_classes == 3 and ds.example_shape == (4, 4) and ds.x_train.dtype == np.float32
    assert abs(float(ds.x_train.mean())) < 1e-5
    # Whole-number float labels are class indices too.
    ds = data.load_npz(save(tmp_path, y_train=np.arange(20.0) % 3, y_test=np.arange(6.0) % 3))
    assert ds.y_train.dtype.kind == "i"


BAD = {
    "missing keys": ({"y_test": None}, "missing arrays y_test"),
    "x/y length": ({"y_train": np.arange(19) % 3}, "x_train has 20 examples but y_train has 19"),
    "example shapes": ({"x_test": np.zeros((6, 5, 4))}, "same example shape"),
    "2-D labels": ({"y_train": np.zeros((20, 1), int)}, "y_train must be 1-D"),
    "negative label": ({"y_train": np.arange(20) % 3 - 1}, "outside 0..1"),
    "test label too big": ({"y_test": np.array([0, 1, 2, 3, 0, 1])}, "y_test has labels in 0..3"),
    "fractional labels": ({"y_train": np.arange(20) / 3}, "integer class labels"),
    "NaN inputs": ({"x_train": np.full((20, 4, 4), np.nan)}, "x_train holds 320 NaN/inf"),
    "empty split": ({"x_test": np.zeros((0, 4, 4)), "y_test": np.zeros(0, int)}, "x_test is empty"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_npz_gets_a_one_line_error(tmp_path, case):
    arrays, message = BAD[case]
    with pytest.raises(DataError, match=message) as info:
        data.load_dataset(save(tmp_path, **arrays))
    assert "\n" not in str(info.value)


def test_missing_or_unreadable_files_and_unknown_names(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        data.load_dataset(tmp_path / "absent.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        data.load_dataset(tmp_path / "junk.npz")
    with pytest.raises(DataError, match="unknown dataset 'mnist'"):
        data.load_dataset("mnist")


def test_dataset_id_records_files_by_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert data.dataset_id("digits") == "digits"
    assert data.dataset_id("mnist") == "mnist"  # unknown names stay as given, for the error
    assert data.dataset_id("sub/d.npz") == str((tmp_path / "sub" / "d.npz").resolve())
    (tmp_path / "plain").write_text("")  # an existing file without the suffix is a file too
    assert data.dataset_id("plain") == str((tmp_path / "plain").resolve())
