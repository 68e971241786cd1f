"""Benchmark funcgrad against hand-written JAX, PyTorch (eager and compiled), Flax NNX and Equinox.

Each framework runs in its own process (PyTorch's OpenMP threads keep spinning after its ops and
slow whatever runs next in the same process), the frameworks take turns over several rounds, and
every figure is the median over rounds. Ratios are against PyTorch eager measured in the same run.

    python scripts/benchmark.py                  # full run, a few minutes on 2 cores
    python scripts/benchmark.py --quick          # smoke run: tiny timings, one round
    python scripts/benchmark.py --json out.json  # also write machine-readable results
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent / "bench"
sys.path.insert(0, str(HERE))

from _common import WORKLOADS  # noqa: E402

# The flags `import funcgrad` may add to XLA_FLAGS; workers must not inherit them from a parent.
from funcgrad._xla_cpu import cpu_flag  # noqa: E402

FUNCGRAD_FLAGS = {cpu_flag(), cpu_flag(convolutions=False)}

FRAMEWORKS = {
    "funcgrad": "funcgrad",
    "funcgrad_laxconv": "funcgrad, XLA conv",
    "jax": "hand-written JAX",
    "jax_flags": "hand-written JAX + XLA flag",
    "torch": "PyTorch eager",
    "torch_1thread": "PyTorch eager, 1 thread",
    "torch_compile": "torch.compile",
    "nnx": "Flax NNX",
    "equinox": "Equinox",
}
# funcgrad with its CPU convolution path off (FUNCGRAD_CONV=lax); hand-written JAX with the XLA
# flag funcgrad sets ("jax_flags", every workload) shows what the flag buys apart from the layers.
CONV = {"convnet_b64", "convnet_fwd", "convnet_grad", "convnet_compile"}
ONLY = {
    "funcgrad_laxconv": CONV,
    "torch_1thread": {"mynet_b64", "mynet_b256", "convnet_b64", "epoch_loop"},
    "torch_compile": {"mynet_b64", "mynet_b256", "convnet_b64", "mynet_compile", "convnet_compile"},
}
# Not targets, printed next to them: funcgrad against hand-written JAX compiled with the same XLA
# flag. What is left is PyTorch's (out, in) weight layout, which funcgrad keeps (docs/benchmarks.md).
SAME_FLAGS = [("mynet_b64", "funcgrad", "jax_flags"), ("epoch_fused", "funcgrad", "jax_flags")]
# torch.compile can spend minutes compiling (cold Inductor cache): first round only, no smoke run.
ONE_ROUND = {"torch_compile"}
QUICK_SKIP = {"torch_compile"}
# The acceptance targets of the issue: (workload, framework, against, at least).
TARGETS = [
    ("mynet_b64", "funcgrad", "jax", 0.95),
    ("mynet_b64", "funcgrad", "torch", 1.5),
    ("mynet_b256", "funcgrad", "torch", 1.0),
    ("epoch_fused", "funcgrad", "torch:epoch_loop", 2.5),
    ("convnet_b64", "funcgrad", "torch", 1.0),
    ("psg_vmap", "funcgrad", "torch:psg_loop", 20.0),
    ("psg_vmap", "funcgrad", "torch", 1.0),
]


def run_worker(framework: str, workloads: list[str], quick: bool, env: dict[str, str]) -> dict:
    cmd = [sys.executable, str(HERE / "worker.py"), framework, ",".join(workloads)]
    cmd += ["--quick"] if quick else []
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=HERE, timeout=1800)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {w: f"error: worker exited {proc.returncode}: {tail[0][:200]}" for w in workloads}


def median_of(values: list) -> float | str | None:
    numbers = [v for v in values if isinstance(v, int | float)]
    if numbers:
        return statistics.median(numbers)
    return next((v for v in values if isinstance(v, str)), None)


def worker_env(parent: dict[str, str]) -> dict[str, str]:
    """The workers' environment: ``parent``'s, less what would tilt one framework's figures."""
    env = dict(parent)
    # Every framework gets its own defaults: no thread caps inherited from a test runner.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(var, None)
    # ... and no XLA flag that funcgrad added to a parent process (a test runner importing it).
    flags = [f for f in env.get("XLA_FLAGS", "").split() if f not in FUNCGRAD_FLAGS]
    env["XLA_FLAGS"] = " ".join(flags)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE.parent.parent)] + env.get("PYTHONPATH", "").split(os.pathsep)
    ).rstrip(os.pathsep)
    return env


def measure(frameworks: list[str], workloads: list[str], rounds: int, quick: bool) -> dict:
    env = worker_env(dict(os.environ))
    raw: dict[str, dict[str, list]] = {f: {} for f in frameworks}
    for r in range(rounds):
        order = frameworks[r % len(frameworks) :] + frameworks[: r % len(frameworks)]
        for f in order:
            mine = [w for w in workloads if w in ONLY.get(f, set(workloads))]
            if not mine or (r > 0 and f in ONE_ROUND):
                continue
            t0 = time.perf_counter()
            results = run_worker(f, mine, quick, env)
            print(f"  round {r + 1}/{rounds} {f:17s} {time.perf_counter() - t0:6.1f} s", flush=True)
            for w, v in results.items():
                raw[f].setdefault(w, []).append(v)
    return {f: {w: median_of(vs) for w, vs in ws.items()} for f, ws in raw.items()}


def ratio(results: dict, workload: str, framework: str, against: str) -> float | None:
    ref_fw, _, ref_w = against.partition(":")
    a = results.get(framework, {}).get(workload)
    b = results.get(ref_fw, {}).get(ref_w or workload)
    if isinstance(a, int | float) and isinstance(b, int | float) and b > 0:
        return a / b
    return None


def fmt(v: float | str | None, unit: str) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return "error"
    return f"{v:.2f}" if unit == "s" else f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def table(results: dict, frameworks: list[str], workloads: list[str]) -> str:
    head = ["workload", "unit"] + [FRAMEWORKS[f] for f in frameworks] + ["funcgrad / torch"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w in workloads:
        unit = WORKLOADS[w][0]
        cells = [fmt(results.get(f, {}).get(w), unit) for f in frameworks]
        r = ratio(results, w, "funcgrad", "torch")
        if unit == "s":
            r = None  # a ratio of compile times says nothing useful
        lines.append(f"| {w} | {unit} | " + " | ".join(cells) + f" | {f'{r:.2f}x' if r else '-'} |")
    return "\n".join(lines)


def cost_ratios(results: dict, frameworks: list[str]) -> dict[str, dict[str, float | None]]:
    """Gradient cost over forward cost: (time of value-and-grad) / (time of the forward pass)."""
    out: dict[str, dict[str, float | None]] = {}
    for f in frameworks:
        for m in ("mynet", "convnet"):
            fwd, grad = (results.get(f, {}).get(f"{m}_{k}") for k in ("fwd", "grad"))
            ok = isinstance(fwd, int | float) and isinstance(grad, int | float) and grad > 0
            out.setdefault(f, {})[m] = fwd / grad if ok else None
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: one round, short timings")
    p.add_argument("--rounds", type=int, default=None, help="rounds (default 3, 1 with --quick)")
    p.add_argument("--json", type=Path, help="write the results to this file as JSON")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS), help="comma-separated subset")
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset")
    args = p.parse_args()
    frameworks = [f for f in args.frameworks.split(",") if f]
    workloads = [w for w in args.workloads.split(",") if w]
    bad = [f for f in frameworks if f not in FRAMEWORKS] + [
        w for w in workloads if w not in WORKLOADS
    ]
    if bad:
        p.error(
            f"unknown framework or workload {bad}; choose from {list(FRAMEWORKS)} and {list(WORKLOADS)}"
        )
    if args.quick:
        frameworks = [f for f in frameworks if f not in QUICK_SKIP]
    rounds = args.rounds or (1 if args.quick else 3)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.2f}")
    t0 = time.perf_counter()
    results = measure(frameworks, workloads, rounds, args.quick)
    wall = time.perf_counter() - t0

    print("\n" + table(results, frameworks, workloads))
    costs = cost_ratios(results, frameworks)
    print("\ngrad cost / forward cost:")
    for f in frameworks:
        cells = ", ".join(f"{m} {v:.2f}" if v else f"{m} n/a" for m, v in costs[f].items())
        print(f"  {FRAMEWORKS[f]:18s} {cells}")
    print("\ntargets:")
    checks = []
    for w, f, against, least in TARGETS:
        r = ratio(results, w, f, against)
        ok = r is not None and r >= least
        checks.append(
            {
                "workload": w,
                "framework": f,
                "against": against,
                "ratio": r,
                "at_least": least,
                "met": ok,
            }
        )
        shown = f"{r:.2f}x" if r is not None else "not measured in this run"
        mark = "ok  " if ok else "MISS" if r is not None else "skip"
        print(f"  {mark} {f} {w} vs {against}: {shown} (target >= {least}x)")
    for w, f, against in SAME_FLAGS:
        r = ratio(results, w, f, against)
        if r is not None:
            print(f"  info {f} {w} vs {against} (same XLA flag): {r:.2f}x")
    print(f"\n{rounds} round(s), {wall:.0f} s, load after {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": {
                        "cpu": platform.processor() or platform.machine(),
                        "cores": os.cpu_count(),
                        "load_before": load,
                        "load_after": os.getloadavg()[0],
                    },
                    "rounds": rounds,
                    "quick": args.quick,
                    "seconds": wall,
                    "units": {w: WORKLOADS[w][0] for w in workloads},
                    "results": results,
                    "grad_over_forward": costs,
                    "targets": checks,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
