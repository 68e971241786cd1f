"""Helpers shared by the training tests: snapshots of a run folder and a checkpoint's params."""

from __future__ import annotations

import hashlib
from pathlib import Path

import jax
import numpy as np

from funcgrad.data import load_dataset
from funcgrad.loop import TrainState
from funcgrad.train import Checkpoints, build_model, make_optimizer


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with a hash of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def saved_state(out: Path, epoch: int, model: str = "mynet", lr: float = 3e-3) -> TrainState:
    """Read the checkpoint of ``epoch`` in ``out`` (a mynet/adam run on digits by default)."""
    net, _ = build_model(model, load_dataset("digits"))
    opt = make_optimizer("adam", lr)

    def fresh() -> TrainState:
        params = net.init(jax.random.PRNGKey(0))
        return TrainState(
            params, {}, opt.init(params), np.array(0), np.array(0), jax.random.PRNGKey(0)
        )

    ckpts = Checkpoints(out / "checkpoints")
    try:
        return ckpts.restore(epoch, like=jax.eval_shape(fresh))  # shapes only, nothing computed
    finally:
        ckpts.close()


def assert_bitwise_equal(a, b) -> None:
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes()
