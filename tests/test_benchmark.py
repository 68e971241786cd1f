"""``scripts/benchmark.py --quick`` runs end to end: every framework worker, the table, the JSON.

A smoke test, not a timed one: it checks that the script produces numbers and says how each
framework's CPU kernels were chosen, never how large the numbers are.
"""

import collections
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from funcgrad.train import FAST_CPU_FLAG, FAST_CPU_OPTIONS

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "benchmark.py"
WORKLOADS = ["mynet_b64", "psg_vmap", "epoch_fused", "lenet_b64"]


def load_script():
    spec = importlib.util.spec_from_file_location("benchmark", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def run(*args, timeout=300):
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_quick_run_prints_table_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    # funcgrad, its converted twin and the torch anchor: the table, the targets and the pairs (every
    # other framework's worker runs in test_every_framework_worker_reports_numbers)
    workloads = ["mynet_b64", "lenet_b64"]
    frameworks = "funcgrad,funcgrad_converted,torch"
    proc = run("--frameworks", frameworks, "--workloads", ",".join(workloads), "--json", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| workload | unit | funcgrad |" in proc.stdout
    assert "targets:" in proc.stdout
    assert "how the CPU kernels were chosen" in proc.stdout

    report = json.loads(out.read_text())
    results = report["results"]
    assert set(results) == set(frameworks.split(","))
    for framework, values in results.items():
        assert sorted(values) == sorted(workloads), framework
        assert all(value > 0 for value in values.values()), (framework, values)
    met = {(t["workload"], t["against"]) for t in report["targets"] if t["ratio"] is not None}
    assert {("mynet_b64", "torch"), ("lenet_b64", "torch")} <= met
    # a converted model against the same model written by hand: a band, both ways
    band = [t for t in report["targets"] if t["framework"] == "funcgrad_converted"]
    assert {t["workload"] for t in band if t["ratio"] is not None} == {"mynet_b64", "lenet_b64"}
    assert all(
        (t["at_least"], t["at_most"], t["against"]) == (0.95, 1.05, "funcgrad") for t in band
    )
    assert "funcgrad_converted mynet_b64 vs funcgrad: " in proc.stdout
    assert "(target 0.95x to 1.05x)" in proc.stdout
    # every target measured in the rounds is judged on its paired timings (one pair when quick)
    measured = [t for t in report["targets"] if t["rounds_ratio"] is not None]
    assert measured and all(t["judged_on"] == "pairs" for t in measured), measured
    assert all(len(t["pair_ratios"]) == 1 == report["pairs"] for t in measured)
    assert all(t["ratio"] == t["pair_ratios"][0] > 0 for t in measured)
    assert "(median of 1 pairs, range " in proc.stdout


def test_every_framework_worker_reports_numbers(tmp_path):
    """The other frameworks' workers, each on the workloads it runs, judged on the rounds."""
    out = tmp_path / "bench.json"
    frameworks = "funcgrad,jax,torch,nnx,equinox"
    proc = run("--frameworks", frameworks, "--workloads", ",".join(WORKLOADS), "--pairs", "0",
               "--json", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    results = report["results"]
    assert "torch_compile" not in results  # too slow to compile for a smoke run
    for framework, values in results.items():
        for workload, value in values.items():
            assert not isinstance(value, str), f"{framework} {workload}: {value}"
    for workload in WORKLOADS:
        assert results["funcgrad"][workload] > 0
    for framework in ("torch", "nnx", "equinox"):
        assert results[framework]["lenet_b64"] > 0
    assert results["jax"]["lenet_b64"] is None  # LeNet5 runs in the frameworks' own layers only
    assert results["torch"]["epoch_fused"] is None  # eager PyTorch has no fused epoch
    judged = {(t["workload"], t["against"]): t for t in report["targets"] if t["ratio"] is not None}
    assert {("lenet_b64", "equinox"), ("lenet_b64", "nnx"), ("mynet_b64", "jax")} <= set(judged)
    # with no pairs every target is judged on the rounds' medians
    assert report["pairs"] == 0
    assert all(
        t["judged_on"] == "rounds" and t["ratio"] == t["rounds_ratio"] for t in judged.values()
    )


def test_paired_timings_alternate_the_order_and_take_the_median():
    """``bench/_paired.py`` with two stand-in workers whose speed drifts by the call."""
    sys.path.insert(0, str(SCRIPT.parent / "bench"))
    import _paired

    calls: list[str] = []

    class Drifting:  # every call runs 10% slower than the one before, whoever makes it
        def __init__(self, name: str, speed: float) -> None:
            self.name, self.speed = name, speed

        def rate(self, workload: str) -> float:
            calls.append(f"{self.name}:{workload}")
            return self.speed / 1.1 ** len(calls)

    a, b = Drifting("a", 2.0), Drifting("b", 1.0)
    got = _paired.compare(a, "w", b, "v", pairs=4)
    assert calls == ["a:w", "b:v", "b:v", "a:w", "a:w", "b:v", "b:v", "a:w"]
    # each pair sees the drift of one call, once in a's favour and once against it
    np.testing.assert_allclose(got.ratios, [2.2, 2 / 1.1, 2.2, 2 / 1.1])
    assert got.median == pytest.approx((2.2 + 2 / 1.1) / 2)
    assert got.describe() == "median of 4 pairs, range 1.82-2.20"

    class Missing(Drifting):
        def rate(self, workload: str) -> None:
            return None

    assert _paired.compare(a, "w", Missing("m", 1.0), "v", pairs=3).median is None


def test_paired_timings_of_two_workloads_of_one_worker():
    """fit's two paths (``fit_convnet`` against ``fit_convnet_loop``) share one worker process."""
    sys.path.insert(0, str(SCRIPT.parent / "bench"))
    import _paired

    class Worker:
        def rate(self, workload: str) -> float:
            return {"fast": 3.0, "slow": 1.0}[workload]

    one = Worker()
    assert _paired.compare(one, "fast", one, "slow", pairs=2).ratios == [3.0, 3.0]


@pytest.mark.parametrize(
    "frameworks",
    [
        "funcgrad,funcgrad_flag,torch",
        pytest.param("funcgrad_default,jax,jax_flags", marks=pytest.mark.exhaustive),
    ],
    ids=["funcgrad", "rest"],
)
def test_report_says_how_the_kernels_were_chosen(frameworks, tmp_path):
    """funcgrad compiles per program; only the workers that say so put the flag in XLA_FLAGS; with
    ``--pairs 0`` a target is judged on the rounds."""
    out = tmp_path / "bench.json"
    proc = run(  # no pairs: the kernels are reported by the rounds' workers
        "--frameworks", frameworks, "--workloads", "mynet_b64", "--pairs", "0", "--json", str(out)
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    kernels = {f: how for f, how in report["kernels"].items() if f != "torch"}
    assert set(kernels) == set(frameworks.split(",")) - {"torch"}
    for framework, how in kernels.items():
        flagged = framework in ("funcgrad_flag", "jax_flags")
        want = f"XLA_FLAGS={FAST_CPU_FLAG}" if flagged else "XLA_FLAGS=(unset)"
        assert how.endswith(want), (framework, how)
    if "funcgrad" in kernels:
        assert f"compiler_options {FAST_CPU_OPTIONS}" in kernels["funcgrad"]
        lines = proc.stdout.splitlines()
        assert any(ln.split()[:2] == ["funcgrad", "per-program"] for ln in lines), proc.stdout
        # with no pairs a target is judged on the rounds' medians
        (target,) = [t for t in report["targets"] if t["ratio"] is not None]
        assert (target["workload"], target["against"], target["judged_on"]) == (
            "mynet_b64",
            "torch",
            "rounds",
        )
        assert target["ratio"] == target["rounds_ratio"] and report["pairs"] == 0


def test_sweep_writes_plot_and_docs_table(tmp_path):
    docs, plot = tmp_path / "benchmarks.md", tmp_path / "sweep.png"
    bench = load_script()
    docs.write_text(f"# Benchmarks\n\n{bench.SWEEP_BEGIN}\nold table\n{bench.SWEEP_END}\n\nafter\n")
    out = tmp_path / "sweep.json"
    proc = run(
        "--sweep", "--sizes", "1,4", "--plot", str(plot), "--docs", str(docs), "--json", str(out)
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = docs.read_text()
    assert "old table" not in text and text.endswith("\n\nafter\n")
    assert "| batch | MyNet funcgrad | MyNet PyTorch eager |" in text
    assert "\n| 1 | " in text and "\n| 4 | " in text
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"funcgrad", "torch"}
    for framework, values in results.items():
        assert sorted(values) == ["lenet_b1", "lenet_b4", "mynet_b1", "mynet_b4"]
        assert all(v > 0 for v in values.values()), (framework, values)


def test_unknown_workload_is_refused():
    proc = run("--workloads", "resnet")
    assert proc.returncode == 2
    assert "unknown framework or workload ['resnet']" in proc.stderr


def test_workers_do_not_inherit_flags():
    """A parent's XLA flags and thread caps (a test runner's) never reach a worker."""
    bench = load_script()
    parent = {"XLA_FLAGS": f"--xla_dump_to=/tmp/x {FAST_CPU_FLAG}", "OMP_NUM_THREADS": "1"}
    env = bench.worker_env(parent)
    assert "XLA_FLAGS" not in env and "OMP_NUM_THREADS" not in env
    assert env["PYTHONPATH"].split(":")[0] == str(SCRIPT.parent.parent)


def _entry_ops(compiled_text: str) -> collections.Counter:
    """The optimized program's top-level instructions, as (shape, opcode), names left out."""
    entry = compiled_text[compiled_text.index("\nENTRY") :].split("\n}")[0]
    found = re.findall(r"= (\S+) ([a-z-]+)\(", entry)
    return collections.Counter(found)


def test_converted_mynet_compiles_to_the_hand_written_program():
    """Why the converted rows can meet their 5% band: XLA gets the same program from both."""
    load_script()  # puts scripts/bench on sys.path, as the workers see it
    import fw_funcgrad
    import fw_funcgrad_converted
    import jax
    import jax.numpy as jnp
    import torch
    from _common import data
    from _jaxkit import train_step

    threads = torch.get_num_threads()  # the converted worker runs torch on one thread
    try:
        x, y = map(jnp.asarray, data("mynet", 64))
        ops = []
        for worker in (fw_funcgrad, fw_funcgrad_converted):
            step, carry = train_step(worker.make("mynet"))
            ops.append(_entry_ops(jax.jit(step).lower(carry, x, y).compile().as_text()))
    finally:
        torch.set_num_threads(threads)
    assert ops[0] == ops[1]
    assert (
        sum(n for (_, op), n in ops[0].items() if op == "dot") == 8
    )  # 3 forward, 3 weight and 2 input gradients


def test_interleaved_comparison_prints_a_ratio_per_row():
    """``scripts/bench/interleave_converted.py``: converted and hand-written timed pair by pair."""
    script = SCRIPT.parent / "bench" / "interleave_converted.py"
    proc = subprocess.run(
        [sys.executable, str(script), "mynet_b64", "--pairs", "2", "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=script.parent,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    ratio = re.search(r"mynet_b64: converted / hand-written median (\d+\.\d+)", proc.stdout)
    assert ratio and float(ratio.group(1)) > 0, proc.stdout
    bad = subprocess.run(
        [sys.executable, str(script), "resnet_b64"],
        capture_output=True,
        text=True,
        cwd=script.parent,
    )
    assert bad.returncode == 2 and "unknown row 'resnet_b64'" in bad.stderr


def test_conv_input_gradient_script_prints_a_ratio():
    """``scripts/bench/conv_input_grad.py``: the two gradients agree (it checks) and are timed."""
    script = SCRIPT.parent / "bench" / "conv_input_grad.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--pairs", "1", "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=script.parent,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.findall(r"funcgrad / JAX speed median \d+\.\d+ .*1 pairs\)", proc.stdout)
    assert len(found) == 2, proc.stdout  # the input gradient and the whole train step
