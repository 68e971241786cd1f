"""The `funcgrad` command: the default run, help, and a one-line `error:` for every bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _train_helpers import snapshot

from funcgrad.cli import main

ROOT = Path(__file__).parent.parent


def funcgrad(*args, cwd=None):
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "funcgrad.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
    )


def test_default_run_reaches_the_accuracy_target_and_says_where_it_saved(tmp_path):
    # `make train` is `funcgrad train` with no flags: mynet on the bundled digits.
    done = funcgrad("train", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    accuracy = float(re.search(r"final test accuracy ([0-9.]+)", done.stdout).group(1))
    assert accuracy >= 0.95
    out = tmp_path / "runs" / "mynet-digits-1"
    assert f"outputs in {Path('runs') / 'mynet-digits-1'}" in done.stdout
    assert {"config.json", "metrics.jsonl", "loss.png", "checkpoints"} <= {
        p.name for p in out.iterdir()
    }
    # Not a terminal: plain lines, one per epoch, and no progress-bar control characters.
    assert len(re.findall(r"^epoch \d+/15 ", done.stdout, re.M)) == 15
    assert "\r" not in done.stdout + done.stderr


def test_help_describes_every_flag(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for flag in (
        "--model",
        "--dataset",
        "--epochs",
        "--batch-size",
        "--lr",
        "--optimizer",
        "--seed",
        "--out",
        "--resume",
        "--keep",
        "--scan",
        "--quiet",
        "--debug",
    ):
        assert flag in text
    # every registry model is a --model choice, described and with its per-model defaults
    from funcgrad.train import DEFAULTS

    flat = " ".join(text.split())
    for name in DEFAULTS:
        assert f"{name} (" in flat and f"{name} {DEFAULTS[name].epochs}" in flat


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def bad_npz(tmp_path, **change):
    arrays = {
        "x_train": np.zeros((10, 3, 3), np.float32),
        "y_train": np.arange(10) % 2,
        "x_test": np.zeros((4, 3, 3), np.float32),
        "y_test": np.arange(4) % 2,
    } | change
    path = tmp_path / "data.npz"
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return str(path)


CASES = {
    "missing file": (lambda t: ["--dataset", str(t / "nope.npz")], "nope.npz: no such file"),
    "missing keys": (lambda t: ["--dataset", bad_npz(t, y_test=None)], "missing arrays y_test"),
    "wrong shapes": (
        lambda t: ["--dataset", bad_npz(t, x_test=np.zeros((4, 2, 3)))],
        "same example shape",
    ),
    "label out of range": (
        lambda t: ["--dataset", bad_npz(t, y_test=np.array([0, 1, 5, 0]))],
        "y_test has labels in 0..5, outside 0..1",
    ),
    "NaN inputs": (
        lambda t: ["--dataset", bad_npz(t, x_train=np.full((10, 3, 3), np.nan))],
        "x_train holds 90 NaN/inf values",
    ),
    "batch size 0": (lambda t: ["--batch-size", "0"], "--batch-size must be a positive integer"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_one_error_line(tmp_path, capsys, case):
    args, message = CASES[case]
    assert main(["train", "--out", str(tmp_path / "run"), *args(tmp_path)]) == 1
    assert message in one_error_line(capsys)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "resnet"], "argument --model: invalid choice: 'resnet'"),
        (["--optimizer", "rmsprop"], "argument --optimizer: invalid choice: 'rmsprop'"),
        (
            ["--batch-size", "many"],
            "argument --batch-size: batch size must be a positive integer or 'full'",
        ),
    ],
)
def test_unknown_choices_are_one_error_line(capsys, args, message):
    with pytest.raises(SystemExit) as info:
        main(["train", *args])
    assert info.value.code == 2
    assert message in one_error_line(capsys)


def test_corrupt_checkpoint_on_resume_is_an_error_and_deletes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    common = ["--model", "linear", "--dataset", "synthetic-linear", "--out", str(out), "--quiet"]
    assert main(["train", *common, "--epochs", "2"]) == 0
    for path in (out / "checkpoints" / "2").rglob("*"):
        if path.is_file():
            path.write_bytes(b"\x00garbage" * 3)
    before = snapshot(out)
    resumed = funcgrad("train", "--out", str(out), "--epochs", "4", "--resume")
    assert resumed.returncode == 1
    [line] = resumed.stderr.strip().splitlines()  # orbax's own log lines are kept off stderr
    assert line.startswith(f"error: checkpoint {out / 'checkpoints' / '2'} is corrupt")
    assert "nothing was deleted" in line
    assert snapshot(out) == before
    capsys.readouterr()
    # A run folder is never overwritten without --resume either.
    assert main(["train", *common, "--epochs", "2"]) == 1
    assert "already holds a run; pass --resume" in one_error_line(capsys)
    assert snapshot(out) == before


def test_resume_without_keep_keeps_the_saved_keep_and_its_checkpoints(tmp_path):
    out = tmp_path / "run"
    common = ["--model", "linear", "--out", str(out), "--quiet"]  # linear's own default dataset
    assert main(["train", *common, "--epochs", "5", "--keep", "5"]) == 0
    assert json.loads((out / "config.json").read_text())["dataset"] == "synthetic-linear"
    assert main(["train", "--out", str(out), "--resume", "--epochs", "6"]) == 0
    assert json.loads((out / "config.json").read_text())["keep"] == 5
    kept = sorted(int(p.name) for p in (out / "checkpoints").iterdir() if p.name.isdigit())
    assert kept == [2, 3, 4, 5, 6]


def test_divergence_is_one_error_line_naming_epoch_step_and_lr(tmp_path, capsys):
    args = ["--model", "linear", "--dataset", "synthetic-linear", "--lr", "10", "--epochs", "50"]
    assert main(["train", *args, "--out", str(tmp_path), "--quiet"]) == 1
    line = one_error_line(capsys)
    assert re.search(r"at epoch \d+, step 1; training stopped. Try a lower --lr \(e.g. 1\)", line)
    assert "last good checkpoint" in line


def test_traceback_only_with_debug(tmp_path):
    plain = funcgrad("train", "--dataset", str(tmp_path / "absent.npz"), cwd=tmp_path)
    assert plain.returncode == 1
    assert plain.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'absent.npz'}: no such file; "
        "pass 'digits', 'synthetic-linear' or a .npz path"
    ]
    debug = funcgrad("train", "--debug", "--dataset", str(tmp_path / "absent.npz"), cwd=tmp_path)
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "DataError" in debug.stderr
    assert not (tmp_path / "runs").exists()  # a run that never started leaves no folder


def test_graph_command_is_listed_and_train_does_not_need_it(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "graph" in capsys.readouterr().out


def test_graph_subcommand_is_wired_to_its_module_when_present(monkeypatch, capsys):
    import types

    fake = types.ModuleType("funcgrad.cli._graph")
    fake.configure_parser = lambda p: p.add_argument("target")
    fake.run = lambda args: print(f"graph of {args.target}") or 0
    monkeypatch.setitem(sys.modules, "funcgrad.cli._graph", fake)
    assert main(["graph", "f"]) == 0
    assert capsys.readouterr().out == "graph of f\n"
