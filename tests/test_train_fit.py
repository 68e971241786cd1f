"""fit(): outputs, determinism, exact resume, the no-overwrite rule, divergence."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _train_helpers import assert_bitwise_equal, saved_state, snapshot

from funcgrad.train import DivergenceError, TrainError, fit

SMALL = dict(epochs=3, batch_size=64, keep=2, progress="none")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two uninterrupted runs with the same seed, and one stopped after epoch 1 then resumed."""
    root = tmp_path_factory.mktemp("runs")
    a = fit("mynet", "digits", out=root / "a", **SMALL)
    b = fit("mynet", "digits", out=root / "b", **SMALL)
    fit("mynet", "digits", out=root / "c", **(SMALL | {"epochs": 1}))
    c = fit(out=root / "c", resume=True, epochs=3, progress="none")
    return root, a, b, c


def losses(path):
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [(r["epoch"], r["train_loss"], r["test_loss"], r["test_accuracy"]) for r in rows]


def test_outputs_are_written(runs):
    root, a, *_ = runs
    out = root / "a"
    config = json.loads((out / "config.json").read_text())
    assert config == a.config
    assert config == {
        "model": "mynet",
        "dataset": "digits",
        "epochs": 3,
        "batch_size": 64,
        "lr": 3e-3,
        "optimizer": "adam",
        "seed": 0,
        "scan": "auto",  # the default: fit chooses, and records what and why
        "scan_chosen": True,
        "scan_why": "auto: no convolution in the step, so the fused epoch (no per-step dispatch)",
        "keep": 2,
        "loss": None,  # the default loss; a custom one is recorded by its qualified name
    }
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3] and rows == a.history
    assert {"train_loss", "test_loss", "test_accuracy", "seconds"} <= set(rows[0])
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert (out / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["2", "3"]  # keep=2
    # The last checkpoint holds exactly the returned params, the epoch, steps and the next key.
    state = saved_state(out, 3)
    assert_bitwise_equal(state.params, a.params)
    assert int(state.epoch) == 3 and int(state.step) == 3 * (1438 // 64)


def test_same_seed_same_metrics(runs):
    root, a, b, _ = runs
    assert losses(root / "a" / "metrics.jsonl") == losses(root / "b" / "metrics.jsonl")
    assert_bitwise_equal(a.params, b.params)


def test_resume_ends_bitwise_where_an_uninterrupted_run_ends(runs):
    root, a, _, c = runs
    assert_bitwise_equal(c.params, a.params)
    assert losses(root / "c" / "metrics.jsonl") == losses(root / "a" / "metrics.jsonl")
    assert c.config == a.config


def test_a_saved_run_is_never_overwritten(runs):
    root, *_ = runs
    before = snapshot(root / "a")
    with pytest.raises(TrainError, match="already holds a run; pass resume=True"):
        fit("mynet", "digits", out=root / "a", **SMALL)
    with pytest.raises(TrainError, match=r"other settings: lr \(0.003 -> 0.1\)"):
        fit(out=root / "a", resume=True, lr=0.1, progress="none")
    with pytest.raises(TrainError, match="holds no run to continue"):
        fit(out=root / "empty", resume=True, progress="none")
    assert snapshot(root / "a") == before


def test_divergence_stops_at_the_first_non_finite_loss_and_keeps_good_checkpoints(tmp_path):
    # f = w x with lr 10: w - 2 is multiplied by (1 - 10 * 15) = -149 each step, and the float32
    # loss overflows after a handful of epochs.
    with pytest.raises(DivergenceError) as info:
        fit("linear", "synthetic-linear", lr=10.0, epochs=50, out=tmp_path, progress="none")
    message = str(info.value)
    w, epoch, x = np.float32(0), 0, np.arange(1, 5, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        while np.isfinite(np.mean((w * x - 2 * x) ** 2)):
            w, epoch = w - np.float32(10) * np.mean(2 * (w * x - 2 * x) * x), epoch + 1
    assert f"at epoch {epoch + 1}, step 1;" in message
    assert "lower lr (e.g. 1)" in message and "\n" not in message
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, epoch + 1))
    assert all(np.isfinite(r["train_loss"]) for r in rows)
    assert f"last good checkpoint (epoch {epoch})" in message
    assert sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir())[-1] == epoch


def test_resume_finds_a_relative_npz_from_another_directory(tmp_path, monkeypatch):
    """The run records the data file's absolute path, so --resume works from anywhere."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.standard_normal((40, 64)),
        "y_train": np.arange(40) % 10,
        "x_test": rng.standard_normal((10, 64)),
        "y_test": np.arange(10) % 10,
    }
    (tmp_path / "here").mkdir()
    np.savez(tmp_path / "here" / "mine.npz", **arrays)
    monkeypatch.chdir(tmp_path / "here")
    fit("mynet", "mine.npz", out=tmp_path / "run", epochs=1, progress="none")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["dataset"] == str((tmp_path / "here" / "mine.npz").resolve())

    monkeypatch.chdir(tmp_path)  # mine.npz is not in this directory
    resumed = fit(out=tmp_path / "run", resume=True, epochs=2, progress="none")
    assert resumed.final["epoch"] == 2
    # naming the same file by another relative path is the same setting, not a changed one
    again = fit(data="here/mine.npz", out=tmp_path / "run", resume=True, epochs=3, progress="none")
    assert again.final["epoch"] == 3
    with pytest.raises(TrainError, match="started with other settings: dataset"):
        fit(data="digits", out=tmp_path / "run", resume=True, epochs=4, progress="none")


class _OwnOptimizer:
    """An optax transformation by protocol only (callable ``init`` and ``update``), not a tuple."""

    def __init__(self, inner):
        self.init, self.update = inner.init, inner.update


def test_an_optimizer_is_recognised_by_its_init_and_update_not_its_class():
    import optax

    mine = fit(
        "linear",
        "synthetic-linear",
        optimizer=_OwnOptimizer(optax.sgd(0.05)),
        epochs=3,
        progress="none",
    )
    theirs = fit("linear", "synthetic-linear", optimizer=optax.sgd(0.05), epochs=3, progress="none")
    assert mine.config["optimizer"] == theirs.config["optimizer"] == "custom: optax"
    assert_bitwise_equal(mine.params, theirs.params)
    with pytest.raises(TrainError, match="unknown optimizer"):
        fit("linear", "synthetic-linear", optimizer=(1, 2), epochs=1, progress="none")
