"""Every training script in scripts/ runs, with small settings, and reports what it learned."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SCRIPTS = ROOT / "scripts"


def run(name, *args):
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_linear_regression_three_ways_agree():
    out = run("train_linear_regression.py", "--steps", "11")
    # Closed form of full-batch GD on mean((w x - 2x)^2), lr 0.01: w_k = 2 - 2 * 0.85^k.
    assert "after step 1: w = 0.300 (the notes' manual gradient: 1.200)" in out
    ws = re.findall(r"w = ([0-9.]+)  loss", out)
    assert len(ws) == 4 and all(abs(float(w) - (2 - 2 * 0.85**11)) < 1e-5 for w in ws)


@pytest.mark.parametrize(
    "name, args",
    [
        ("train_single_layer.py", ["--epochs", "1"]),
        ("train_mynet.py", ["--epochs", "2", "--scan"]),
        ("train_convnet.py", ["--epochs", "1"]),
    ],
)
def test_classifier_scripts_train_on_digits(tmp_path, name, args):
    out = run(name, *args, "--out", str(tmp_path / "run"))
    accuracy = float(re.search(r"test accuracy ([0-9.]+)", out).group(1))
    assert accuracy > 0.2  # well above chance (0.1) after a single short run
    assert (tmp_path / "run" / "metrics.jsonl").exists()


def test_profile_step_names_ops_by_layer_scope():
    out = run("profile_step.py", "lenet_b64", "--steps", "2", "--top", "40")
    head, *rows = out.strip().splitlines()
    assert re.match(r"lenet_b64: [0-9.]+ ms/step in XLA ops \(\d+ ops\)", head)
    scopes = " ".join(rows)
    # every kind of layer shows up under its own name_stack path, forward and backward
    for layer in ("conv1/Conv2d", "bn1/BatchNorm2d", "pool1/MaxPool2d", "fc1/Linear"):
        assert layer in scopes, layer
    shares = [float(r.split("ms")[1].split("%")[0]) for r in rows]
    assert shares == sorted(shares, reverse=True) and sum(shares) <= 100.5
