"""Data parallelism on JAX's runtime: the same training on 1, 2 and 8 devices and on 2 processes.

Runs on several devices happen in subprocesses, since the device count is fixed when JAX starts;
the single-device reference runs here, on the plain (mesh-free) path.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from _distributed_fit import EPOCHS, SETTINGS
from _distributed_procs import free_port, jax_env, run_all
from jax.sharding import AbstractMesh

from funcgrad import distributed as dist
from funcgrad import flatten_dict
from funcgrad import train as fg_train
from funcgrad.train import fit

RTOL = 1e-5


def _assert_params_close(params: dict, ref: dict) -> None:
    params, ref = flatten_dict(params), flatten_dict(ref)
    assert params.keys() == ref.keys()
    for name, value in params.items():
        expected = np.asarray(ref[name])
        # Relative to the tensor's scale: per-element relative error is meaningless near zero.
        err = np.max(np.abs(np.asarray(value) - expected)) / np.max(np.abs(expected))
        assert err < RTOL, f"{name}: relative difference {err:.2e}"


def _losses(history: list[dict], key: str) -> list[float]:
    return [row[key] for row in history]


@pytest.fixture(scope="module")
def reference():
    """Two epochs of MyNet on digits on one device: what every data-parallel run must match."""
    return fit(epochs=EPOCHS, **SETTINGS)


@pytest.fixture(scope="module")
def eight_devices(tmp_path_factory):
    """``tests/_distributed_fit.py`` run in a process with 8 host devices, once per session.

    Under pytest-xdist each worker needs it; the first to take the lock runs it, and the others
    read its results from the session's shared temporary folder.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, shared by its workers
    out = root / "distributed-8-devices"
    with open(root / "distributed-8-devices.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "runs.json").exists():
            out.mkdir(exist_ok=True)
            run_all([["tests/_distributed_fit.py", str(out)]], jax_env(8), timeout=240)
    return out, json.loads((out / "runs.json").read_text())


def test_device_count_invariance(reference, eight_devices):
    _, results = eight_devices
    assert [(r["devices"], r["scan"]) for r in results["runs"]] == [
        (2, False),
        (8, False),
        (8, True),
    ]
    for run in results["runs"]:
        assert run["param_devices"] == run["devices"] and run["replicated"]
        _assert_params_close(run["params"], reference.params)
        for key in ("train_loss", "test_loss"):
            np.testing.assert_allclose(run[key], _losses(reference.history, key), rtol=RTOL)
    assert reference.final["test_accuracy"] > 0.8  # it did learn: the curves are not flat


def test_xla_inserts_the_all_reduce(tmp_path):
    """A hand-written step on a mesh: the compiled program averages gradients across devices.

    The worker also queues all its steps without waiting for each (``DispatchLimit`` bounds the
    queue); without that bound XLA:CPU can deadlock on collectives.
    """
    out = tmp_path / "runs.json"
    run_all(
        [["tests/_distributed_worker.py", str(out), "--devices", "1", "8"]],
        jax_env(8),
        120,
    )
    one, eight = json.loads(out.read_text())
    assert eight["devices"] == 8 and eight["all_reduce"] and eight["replicated"]
    assert not one["all_reduce"]
    np.testing.assert_allclose(eight["losses"], one["losses"], rtol=RTOL)
    _assert_params_close(eight["params"], one["params"])


def test_checkpoint_from_8_devices_resumes_on_1(reference, eight_devices, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(eight_devices[0] / "ckpt8", out)
    resumed = fit(epochs=EPOCHS, out=out, resume=True, progress="none")
    assert _losses(resumed.history, "epoch") == [1, 2]  # epoch 1 is the 8-device one
    _assert_params_close(resumed.params, reference.params)
    np.testing.assert_allclose(
        _losses(resumed.history, "train_loss"),
        _losses(reference.history, "train_loss"),
        RTOL,
    )


def test_two_processes_match_single_process(reference, tmp_path):
    out, port = tmp_path / "run", free_port()
    train = [
        "-m",
        "funcgrad.cli",
        "train",
        "--epochs",
        str(EPOCHS),
        "--batch-size",
        "64",
    ]
    train += ["--out", str(out), "--quiet", "--coordinator", f"127.0.0.1:{port}"]
    commands = [[*train, "--num-processes", "2", "--process-id", str(i)] for i in range(2)]
    logs = run_all(commands, jax_env(1), timeout=150)  # 1 device each: gloo between processes
    assert "final test accuracy" in logs[0] and "final test accuracy" not in logs[1]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == EPOCHS  # process 0 wrote each epoch once; process 1 wrote nothing
    for key in ("train_loss", "test_loss"):
        np.testing.assert_allclose(_losses(rows, key), _losses(reference.history, key), rtol=RTOL)
    saved = ocp.StandardCheckpointer().restore(out / "checkpoints" / str(EPOCHS) / "default")
    _assert_params_close(saved["params"], reference.params)


def test_each_process_loads_only_its_rows(monkeypatch):
    batches = np.arange(12).reshape(3, 4)  # 3 steps of 4 rows
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    monkeypatch.setattr(jax, "process_index", lambda: 1)
    np.testing.assert_array_equal(dist.process_rows(batches), [[2, 3], [6, 7], [10, 11]])
    with pytest.raises(dist.DistributedError, match="5 rows does not split over 2 processes"):
        dist.process_rows(np.arange(5))


def test_batch_must_divide_by_device_count(eight_devices):
    dist.check_divisible(16, AbstractMesh((8,), (dist.DATA_AXIS,)))
    with pytest.raises(
        dist.DistributedError, match=r"batch size 20 does not divide by 8 .*16 or 24"
    ):
        dist.check_divisible(20, AbstractMesh((8,), (dist.DATA_AXIS,)))
    message = eight_devices[1]["indivisible_error"]  # fit(devices=8, batch_size=100)
    assert (
        message.startswith("batch size 100 does not divide by 8 devices") and "96 or 104" in message
    )


def test_too_many_devices_says_how_to_get_more():
    with pytest.raises(
        dist.DistributedError, match=f"only {jax.device_count()} .*NUM_CPU_DEVICES=64"
    ):
        dist.data_mesh(64)
    with pytest.raises(dist.DistributedError, match="at least 1"):
        dist.data_mesh(0)


def test_unreachable_coordinator_times_out_with_message():
    address = f"127.0.0.1:{free_port()}"  # nobody listens there
    start = time.monotonic()
    with pytest.raises(dist.CoordinatorUnreachableError, match=f"{address} unreachable after 1 s"):
        fg_train.initialize(address, num_processes=2, process_id=1, timeout_s=1)
    assert time.monotonic() - start < 10
    assert not jax.distributed.is_initialized()


def test_cli_unreachable_coordinator_is_one_line():
    port = free_port()
    cmd = [
        "-m",
        "funcgrad.cli",
        "train",
        "--no-save",
        "--coordinator",
        f"127.0.0.1:{port}",
    ]
    cmd += ["--num-processes", "2", "--process-id", "1", "--coordinator-timeout", "1"]
    with pytest.raises(AssertionError, match="exited with 1") as failed:
        run_all([cmd], jax_env(1), timeout=60)
    expected = (
        f"error: coordinator 127.0.0.1:{port} unreachable after 1 s (Connection refused); "
        "start process 0 first, on the host and port every process is given"
    )
    assert str(failed.value).splitlines()[1:] == [expected]


def test_process_0_alone_stops_with_message():
    """Process 0 of 2 whose peer never comes: JAX ends it at the timeout, after funcgrad says why."""
    code = "from funcgrad.train import initialize; initialize({!r}, 2, 0, timeout_s=2)"
    start = time.monotonic()
    with pytest.raises(AssertionError, match="exited with") as failed:
        run_all([["-c", code.format(f"127.0.0.1:{free_port()}")]], jax_env(1), timeout=60)
    assert time.monotonic() - start < 40
    assert "still waiting for all 2 processes to join" in str(failed.value)


def test_launch_settings_from_environment(monkeypatch):
    address = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", address)
    monkeypatch.setenv("JAX_NUM_PROCESSES", "2")
    monkeypatch.setenv("JAX_PROCESS_ID", "1")
    with pytest.raises(dist.CoordinatorUnreachableError, match=f"coordinator {address} "):
        fg_train.initialize(timeout_s=0.5)  # read all three from the environment
    monkeypatch.setenv("JAX_PROCESS_ID", "one")
    with pytest.raises(dist.DistributedError, match="JAX_PROCESS_ID='one' is not an integer"):
        fg_train.initialize(timeout_s=0.5)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("127.0.0.1:1", None, None), "needs all of --coordinator"),
        (("127.0.0.1:1", 2, 2), "process id 2 is not in 0..1"),
        (("localhost", 2, 1), "not HOST:PORT"),
    ],
)
def test_bad_launch_settings(monkeypatch, args, match):
    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(dist.DistributedError, match=match):
        fg_train.initialize(*args, timeout_s=1)


def test_single_process_is_a_no_op(monkeypatch):
    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    fg_train.initialize()
    assert not jax.distributed.is_initialized()
    assert dist.data_mesh(None) is None and dist.data_mesh(1) is None
    tree = {"w": np.ones(3)}
    assert dist.replicate(tree, None) is tree and dist.shard_batch(tree, None) is tree
    rows = np.arange(5)
    assert dist.process_rows(rows) is rows and dist.is_main_process()
