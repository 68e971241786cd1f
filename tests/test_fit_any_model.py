"""``fg.train.fit`` on a user's own model, loss and optax optimiser (issue 11's acceptance).

A user-built conv Sequential with a hand-written loss and ``optax.adamw`` reaches 0.95 test
accuracy on the digits and, SIGKILLed mid-epoch, resumes to params and optimiser state bitwise
equal to an unbroken run; a model with buffers and dropout trains reproducibly by key and
resumes bitwise, buffers included.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import optax
from _fit_any import BATCH, EPOCHS, NET, OPTIMIZER, fit_digits
from _train_helpers import assert_bitwise_equal

import funcgrad as fg
from funcgrad.loop import TrainState

HERE = Path(__file__).parent
STEPS = 1438 // BATCH  # steps per epoch on the digits' training split


def _checkpoint(out: Path, epoch: int, net: fg.nn.Module, opt) -> TrainState:
    """The TrainState that ``fit`` saved for ``epoch`` in ``out``."""

    def fresh() -> TrainState:
        params = net.init(jax.random.PRNGKey(0))
        zero = np.array(0)
        return TrainState(
            params, net.init_buffers(), opt.init(params), zero, zero, jax.random.PRNGKey(0)
        )

    ckpts = fg.train.Checkpoints(out / "checkpoints")
    try:
        return ckpts.restore(epoch, like=jax.eval_shape(fresh))
    finally:
        ckpts.close()


def _losses(history: list[dict]) -> list[tuple]:
    return [(r["epoch"], r["train_loss"], r["test_loss"], r["test_accuracy"]) for r in history]


def test_user_sequential_custom_loss_and_adamw_reach_95_percent_and_resume_after_sigkill(
    tmp_path,
):
    crashed, clean = tmp_path / "crashed", tmp_path / "clean"
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE)])}
    # Killed at step 10 of the 22 of epoch 2: epoch 1 is checkpointed, epoch 2 half done.
    killed = subprocess.run(
        [sys.executable, str(HERE / "_fit_any_kill.py"), str(crashed), "2", "10"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert sorted(p.name for p in (crashed / "checkpoints").iterdir()) == ["1"]

    unbroken = fit_digits(out=clean, keep=2)
    assert unbroken.final["epoch"] == EPOCHS
    assert unbroken.final["test_accuracy"] >= 0.95, unbroken.history
    # the losses fell: it learned, not just ran
    assert unbroken.history[-1]["train_loss"] < unbroken.history[0]["train_loss"] / 2

    resumed = fit_digits(out=crashed, resume=True)
    # the history holds the saved epoch 1 and the resumed ones, with the unbroken run's numbers
    assert _losses(resumed.history) == _losses(unbroken.history)
    assert [r["epoch"] for r in resumed.history] == list(range(1, EPOCHS + 1))
    assert_bitwise_equal(resumed.params, unbroken.params)
    # every kept checkpoint agrees bitwise: params, optimiser state, step count and key
    for epoch in (EPOCHS - 1, EPOCHS):
        a, b = (
            _checkpoint(crashed, epoch, NET, OPTIMIZER),
            _checkpoint(clean, epoch, NET, OPTIMIZER),
        )
        assert int(a.step) == epoch * STEPS
        assert_bitwise_equal(a, b)
    assert_bitwise_equal(_checkpoint(crashed, EPOCHS, NET, OPTIMIZER).params, unbroken.params)

    def rows(out):
        lines = (out / "metrics.jsonl").read_text().splitlines()
        return [(r["epoch"], r["train_loss"], r["test_loss"]) for r in map(json.loads, lines)]

    assert rows(crashed) == rows(clean) and len(rows(clean)) == EPOCHS


# Conv, BatchNorm (buffers), ReLU, pool, flatten, linear, Dropout (randomness), linear.
STATEFUL = fg.nn.Sequential(
    fg.nn.Conv2d(1, 8, 3),
    fg.nn.BatchNorm2d(8),
    fg.nn.ReLU(),
    fg.nn.MaxPool2d(2),
    fg.nn.Flatten(),
    fg.nn.Linear(8 * 3 * 3, 32),
    fg.nn.Dropout(0.3),
    fg.nn.Linear(32, 10),
)
STATEFUL_OPT = optax.adamw(3e-3)


def _fit_stateful(epochs: int, key: int = 0, **kw) -> fg.train.FitResult:
    return fit_digits(STATEFUL, STATEFUL_OPT, epochs=epochs, key=key, **kw)


def _leaves_equal(a, b) -> bool:
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(la) == len(lb) and all(
        np.asarray(x).tobytes() == np.asarray(y).tobytes() for x, y in zip(la, lb, strict=True)
    )


def test_a_model_with_buffers_and_dropout_trains_reproducibly_by_key(tmp_path):
    first = _fit_stateful(2)
    bn = first.buffers["1"]
    assert int(bn["num_batches_tracked"]) == 2 * STEPS
    fresh = STATEFUL.init_buffers()["1"]
    assert not np.array_equal(np.asarray(bn["running_mean"]), np.asarray(fresh["running_mean"]))
    assert not np.array_equal(np.asarray(bn["running_var"]), np.asarray(fresh["running_var"]))
    assert first.history[-1]["train_loss"] < first.history[0]["train_loss"]
    assert first.final["test_accuracy"] > 0.5  # far above chance (0.1) after two epochs

    again = _fit_stateful(2)
    assert _leaves_equal(again.params, first.params)
    assert _leaves_equal(again.buffers, first.buffers)
    other = _fit_stateful(2, key=1)
    assert not _leaves_equal(other.params, first.params)
    assert not _leaves_equal(other.buffers, first.buffers)

    # One epoch, saved; then resumed to two: bitwise the unbroken two-epoch run, buffers included.
    out = tmp_path / "run"
    short = _fit_stateful(1, out=out)
    assert int(short.buffers["1"]["num_batches_tracked"]) == STEPS
    resumed = _fit_stateful(2, out=out, resume=True)
    assert _losses(resumed.history) == _losses(first.history)
    assert [r["epoch"] for r in resumed.history] == [1, 2]
    assert _leaves_equal(resumed.params, first.params)
    assert _leaves_equal(resumed.buffers, first.buffers)
    saved = _checkpoint(out, 2, STATEFUL, STATEFUL_OPT)
    assert _leaves_equal(saved.buffers, first.buffers) and int(saved.step) == 2 * STEPS
