"""``scripts/benchmark.py --quick`` runs end to end: every framework worker, the table, the JSON.

A smoke test, not a timed one: it checks that the script produces numbers, never how large they are.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from funcgrad._xla_cpu import cpu_flag

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "benchmark.py"
WORKLOADS = ["mynet_b64", "psg_vmap", "epoch_fused"]


def test_quick_run_prints_table_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--workloads", ",".join(WORKLOADS)]
    proc = subprocess.run(cmd + ["--json", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| workload | unit | funcgrad |" in proc.stdout
    assert "targets:" in proc.stdout

    report = json.loads(out.read_text())
    results = report["results"]
    assert set(results) >= {"funcgrad", "jax", "torch", "nnx", "equinox"}
    assert "torch_compile" not in results  # too slow to compile for a smoke run
    for framework, values in results.items():
        for workload, value in values.items():
            assert not isinstance(value, str), f"{framework} {workload}: {value}"
    for workload in WORKLOADS:
        assert results["funcgrad"][workload] > 0
    assert results["torch"]["mynet_b64"] > 0
    assert results["torch"]["epoch_fused"] is None  # eager PyTorch has no fused epoch
    met = {(t["workload"], t["against"]) for t in report["targets"] if t["ratio"] is not None}
    assert ("mynet_b64", "torch") in met


def test_unknown_workload_is_refused():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--workloads", "resnet"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "unknown framework or workload ['resnet']" in proc.stderr


def test_workers_do_not_inherit_funcgrad_flags():
    """A parent that imported funcgrad (this test runner) must not hand its XLA flag to plain JAX."""
    spec = importlib.util.spec_from_file_location("benchmark", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    parent = {"XLA_FLAGS": f"--xla_dump_to=/tmp/x {cpu_flag()}", "OMP_NUM_THREADS": "1"}
    env = bench.worker_env(parent)
    assert env["XLA_FLAGS"] == "--xla_dump_to=/tmp/x"
    assert "OMP_NUM_THREADS" not in env
    lax_conv = bench.worker_env({"XLA_FLAGS": cpu_flag(convolutions=False)})
    assert lax_conv["XLA_FLAGS"] == ""
