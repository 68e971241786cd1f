"""Checkpoints: orbax, the last N kept, exact round trips, half-written and corrupt checkpoints."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
import pytest
from _train_helpers import assert_bitwise_equal, snapshot

from funcgrad.loop import TrainState
from funcgrad.train import Checkpoints, TrainError


def state(epoch: int) -> TrainState:
    params = {"m0": {"weight": jnp.arange(6.0).reshape(2, 3) * epoch, "bias": jnp.ones(2)}}
    opt = optax.adam(1e-3)
    opt_state = opt.update(params, opt.init(params), params)[1]  # non-trivial moments
    key = jax.random.fold_in(jax.random.PRNGKey(0), epoch)
    buffers = {"bn": {"running_mean": jnp.full(2, 0.5 * epoch)}}  # buffers round-trip too
    return TrainState(params, buffers, opt_state, jnp.array(epoch), jnp.array(10 * epoch), key)


def test_round_trip_is_exact_and_only_the_last_n_are_kept(tmp_path):
    ckpts = Checkpoints(tmp_path, keep=2)
    for epoch in (1, 2, 3):
        ckpts.save(state(epoch))
    assert ckpts.epochs() == [2, 3] and ckpts.latest() == 3
    restored = ckpts.restore(3, like=state(0))
    ckpts.close()
    assert type(restored.opt_state) is type(state(0).opt_state)  # optax's NamedTuples come back
    assert jax.tree.structure(restored) == jax.tree.structure(state(3))
    assert_bitwise_equal(restored, state(3))


def test_a_half_written_checkpoint_is_never_the_latest(tmp_path):
    ckpts = Checkpoints(tmp_path, keep=3)
    ckpts.save(state(1))
    ckpts.close()
    # What a crash in the middle of writing epoch 2 leaves: orbax's temporary folder, never renamed.
    partial = tmp_path / "2.orbax-checkpoint-tmp-1234"
    (partial / "default").mkdir(parents=True)
    (partial / "default" / "_METADATA").write_text("{")
    ckpts = Checkpoints(tmp_path, keep=3)
    assert ckpts.latest() == 1
    assert_bitwise_equal(ckpts.restore(1, like=state(0)), state(1))
    ckpts.close()


def test_a_corrupt_checkpoint_is_a_one_line_error_and_nothing_is_deleted(tmp_path):
    ckpts = Checkpoints(tmp_path, keep=3)
    ckpts.save(state(1))
    ckpts.save(state(2))
    for path in (tmp_path / "2").rglob("*"):
        if path.is_file() and path.stat().st_size > 0:
            path.write_bytes(b"\xff" * 7)
    before = snapshot(tmp_path)
    with pytest.raises(TrainError, match="is corrupt") as info:
        ckpts.restore(2, like=state(0))
    assert "\n" not in str(info.value) and "nothing was deleted" in str(info.value)
    assert snapshot(tmp_path) == before
    assert_bitwise_equal(ckpts.restore(1, like=state(0)), state(1))  # the earlier one still reads
    ckpts.close()


def test_keep_must_be_positive(tmp_path):
    with pytest.raises(TrainError, match="keep must be at least 1"):
        Checkpoints(tmp_path, keep=0)
