"""SIGKILL in the middle of an epoch, then --resume: the run ends bitwise where an unbroken one does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from _train_helpers import assert_bitwise_equal, saved_state

HERE = Path(__file__).parent
FUNCGRAD = [sys.executable, "-m", "funcgrad.cli"]
SETTINGS = ["--epochs", "3", "--batch-size", "64", "--keep", "2", "--no-scan"]


def run(args, **kw):
    env = os.environ | {"PYTHONPATH": str(HERE.parent)}
    return subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, **kw)


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path):
    crashed, clean = tmp_path / "crashed", tmp_path / "clean"
    # Killed at step 10 of the 22 steps of epoch 2: epoch 1 is checkpointed, epoch 2 half done.
    killed = run([sys.executable, str(HERE / "_train_kill.py"), str(crashed), "2", "10"])
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert "epoch 1/3" in killed.stdout and "epoch 2/3" not in killed.stdout
    assert sorted(p.name for p in (crashed / "checkpoints").iterdir()) == ["1"]
    saved_state(crashed, 1)  # readable: not corrupt

    resumed = run([*FUNCGRAD, "train", "--resume", "--out", str(crashed), "--quiet"])
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch 1/3" not in resumed.stdout and "epoch 3/3" in resumed.stdout
    assert f"outputs in {crashed}" in resumed.stdout

    unbroken = run([*FUNCGRAD, "train", "--out", str(clean), "--quiet", *SETTINGS])
    assert unbroken.returncode == 0, unbroken.stderr

    for epoch in (2, 3):  # every kept checkpoint of both runs is readable, and they agree bitwise
        assert_bitwise_equal(saved_state(crashed, epoch), saved_state(clean, epoch))

    def losses(out):
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        return [(r["epoch"], r["train_loss"], r["test_loss"]) for r in rows]

    assert losses(crashed) == losses(clean) and len(losses(clean)) == 3
