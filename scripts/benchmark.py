"""Benchmark funcgrad (written by hand, and converted from PyTorch) against hand-written JAX, PyTorch
(eager and compiled), Flax NNX and Equinox.

Each framework runs in its own process (PyTorch's OpenMP threads keep spinning after its ops and
slow whatever runs next in the same process), the frameworks take turns over several rounds, and
every figure is the median over rounds. Ratios are against PyTorch eager measured in the same run.
The targets are then judged on paired timings (``bench/_paired.py``): the two frameworks of a
target keep a worker each and are timed back to back, pair after pair, so that the machine's drift
between rounds does not land in the ratio.
Workers start from a clean environment (no ``XLA_FLAGS``, no thread caps); each one switches on
what it documents, and the report says, framework by framework, how the CPU kernels were chosen.

    python scripts/benchmark.py                  # full run, a few minutes on 2 cores
    python scripts/benchmark.py --quick          # smoke run: tiny timings, one round
    python scripts/benchmark.py --json out.json  # also write machine-readable results
    python scripts/benchmark.py --sweep --docs docs/benchmarks.md   # train step over batch sizes
    python scripts/benchmark.py --frameworks funcgrad,torch --workloads convnet_b64 --pairs 15
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent / "bench"
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    FIT_MODELS,
    FIT_WORKLOADS,
    SEQ_WORKLOADS,
    SWEEP_MODELS,
    SWEEP_SIZES,
    WORKLOADS,
    batch_of,
    known,
    sweep_workloads,
)
from _paired import Paired, Server, compare  # noqa: E402

FRAMEWORKS = {
    "funcgrad": "funcgrad",
    "funcgrad_flag": "funcgrad, XLA_FLAGS",
    "funcgrad_default": "funcgrad, plain jax.jit",
    "funcgrad_converted": "funcgrad, converted from torch",
    "jax": "hand-written JAX",
    "jax_flags": "hand-written JAX + XLA flag",
    "torch": "PyTorch eager",
    "torch_1thread": "PyTorch eager, 1 thread",
    "torch_compile": "torch.compile",
    "nnx": "Flax NNX",
    "equinox": "Equinox",
}
# The converted rows (issue 13): fw_torch's own models through fg.interop.convert, the same train
# step as funcgrad's hand-written models, against those and against PyTorch eager.
CONVERTED_ROWS = {"mynet_b64", "mynet_b256", "convnet_b64", "lenet_b64"}
# funcgrad's two other ways to compile: the fast kernels as a process flag instead of a per-program
# option (is the option as fast?), and a plain jax.jit without them (what they buy). Hand-written
# JAX with the flag ("jax_flags", every workload) shows what the kernels buy apart from the layers.
KERNEL_ROWS = {"mynet_b64", "mynet_b256", "convnet_b64", "lenet_b64", "epoch_fused"}
ONLY = {
    "funcgrad_converted": CONVERTED_ROWS,
    "funcgrad_flag": KERNEL_ROWS,
    "funcgrad_default": KERNEL_ROWS,
    "torch_1thread": {"mynet_b64", "mynet_b256", "convnet_b64", "lenet_b64", "epoch_loop"},
    "torch_compile": {
        "mynet_b64",
        "mynet_b256",
        "convnet_b64",
        "lenet_b64",
        "mynet_compile",
        "convnet_compile",
        *SEQ_WORKLOADS,
    },
}
# The epoch rows (``bench/epoch_fit.py``) are fit against PyTorch's loop: only those two run them.
FIT_FRAMEWORKS = {"funcgrad", "torch"}
# Not targets, printed next to them (what is left against hand-written JAX with the same kernels is
# PyTorch's (out, in) weight layout, which funcgrad keeps: docs/benchmarks.md).
INFO = [
    ("mynet_b64", "funcgrad", "jax_flags", "same XLA kernels"),
    ("epoch_fused", "funcgrad", "jax_flags", "same XLA kernels"),
    ("lenet_b64", "funcgrad", "torch_compile", ""),
] + [(w, "funcgrad", f, "") for w in SEQ_WORKLOADS for f in ("torch_compile",)]
INFO += [
    (w, "funcgrad", "funcgrad_flag", "compiler option / process flag") for w in sorted(KERNEL_ROWS)
]
INFO += [(w, "funcgrad_converted", "torch", "converted from torch") for w in sorted(CONVERTED_ROWS)]
# torch.compile can spend minutes compiling (cold Inductor cache): first round only, no smoke run.
ONE_ROUND = {"torch_compile"}
QUICK_SKIP = {"torch_compile"}
# The acceptance targets of the issues: (workload, framework, against, at least[, at most]).
TARGETS: list[tuple] = (
    [
        ("mynet_b64", "funcgrad", "jax", 0.95),
        ("mynet_b64", "funcgrad", "torch", 1.5),
        ("mynet_b256", "funcgrad", "torch", 1.0),
        ("epoch_fused", "funcgrad", "torch:epoch_loop", 2.5),
        ("convnet_b64", "funcgrad", "torch", 1.0),
        ("psg_vmap", "funcgrad", "torch:psg_loop", 20.0),
        ("psg_vmap", "funcgrad", "torch", 1.0),
        ("lenet_b64", "funcgrad", "torch", 1.0),
        ("lenet_b64", "funcgrad", "nnx", 1.0),
        ("lenet_b64", "funcgrad", "equinox", 1.0),
    ]
    + [  # the sequence models and the DCGAN generator: at or above PyTorch eager, and ahead of
        # NNX and Equinox
        (w, "funcgrad", against, 1.0)
        for w in SEQ_WORKLOADS
        for against in ("torch", "nnx", "equinox")
    ]
    + [  # issue 27: fit's default epoch at or above 0.95x the torch loop, and auto never more
        # than 5% slower than the better of its two paths
        (f"fit_{m}", "funcgrad", against, 0.95)
        for m in FIT_MODELS
        for against in ("torch", f"funcgrad:fit_{m}_scan", f"funcgrad:fit_{m}_loop")
    ]
    + [  # a converted model runs as fast as the same model written by hand: within 5%
        (w, "funcgrad_converted", "funcgrad", 0.95, 1.05) for w in sorted(CONVERTED_ROWS)
    ]
)
# Targets below their line because of a kernel XLA:CPU lacks, each shown by a plain-JAX reproduction
# (docs/benchmarks.md, "What limits charlstm and LeNet5 on this CPU"): a miss prints its limit.
_ONEDNN = "docs/benchmarks.md, 'What limits charlstm and LeNet5'; scripts/bench/onednn_repro.py"
LIMITS = {
    ("fit_charlstm", "funcgrad", "torch"): (
        f"PyTorch's CPU LSTM is oneDNN's fused RNN kernel, which XLA has no counterpart of ({_ONEDNN})"
    ),
    **{
        (w, "funcgrad", "torch"): (
            f"PyTorch's CPU convolutions are oneDNN's; XLA:CPU's are Eigen's ({_ONEDNN})"
        )
        for w in ("fit_lenet", "lenet_b64")
    },
}
SWEEP_FRAMEWORKS = ("funcgrad", "torch")
SWEEP_BEGIN = "<!-- sweep table: written by scripts/benchmark.py --sweep --docs -->"
SWEEP_END = "<!-- end of sweep table -->"


def run_worker(framework: str, workloads: list[str], quick: bool, env: dict[str, str]) -> dict:
    """``{"results": {workload: figure or error}, "kernels": how the CPU kernels were chosen}``."""
    cmd = [sys.executable, str(HERE / "worker.py"), framework, ",".join(workloads)]
    cmd += ["--quick"] if quick else []
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=HERE, timeout=1800)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    error = f"error: worker exited {proc.returncode}: {tail[0][:200]}"
    return {"results": {w: error for w in workloads}, "kernels": "worker failed"}


def median_of(values: list) -> float | str | None:
    numbers = [v for v in values if isinstance(v, int | float)]
    if numbers:
        return statistics.median(numbers)
    return next((v for v in values if isinstance(v, str)), None)


def worker_env(parent: dict[str, str]) -> dict[str, str]:
    """The workers' environment: ``parent``'s, less what would tilt one framework's figures."""
    env = dict(parent)
    # Every framework gets its own defaults: no thread caps inherited from a test runner, and no
    # XLA flags; a worker that wants the fast kernels' flag sets it itself, and says so.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS"):
        env.pop(var, None)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + env.get("PYTHONPATH", "").split(os.pathsep)
    ).rstrip(os.pathsep)
    return env


def measure(
    frameworks: list[str], workloads: list[str], rounds: int, quick: bool, env: dict[str, str]
) -> tuple:
    """``(results, kernels)``: the median figure per framework and workload, and each framework's
    account of its kernels."""
    raw: dict[str, dict[str, list]] = {f: {} for f in frameworks}
    kernels: dict[str, str] = {}
    for r in range(rounds):
        order = frameworks[r % len(frameworks) :] + frameworks[: r % len(frameworks)]
        for f in order:
            mine = [
                w
                for w in workloads
                if w in ONLY.get(f, set(workloads))
                and (w not in FIT_WORKLOADS or f in FIT_FRAMEWORKS)
            ]
            if not mine or (r > 0 and f in ONE_ROUND):
                continue
            t0 = time.perf_counter()
            out = run_worker(f, mine, quick, env)
            print(f"  round {r + 1}/{rounds} {f:17s} {time.perf_counter() - t0:6.1f} s", flush=True)
            kernels[f] = out["kernels"]
            for w, v in out["results"].items():
                raw[f].setdefault(w, []).append(v)
    results = {f: {w: median_of(vs) for w, vs in ws.items()} for f, ws in raw.items()}
    return results, kernels


def measure_pairs(results: dict, pairs: int, quick: bool, env: dict[str, str]) -> dict:
    """``{(workload, framework, against): Paired}`` for every target both of whose figures the
    rounds measured: the two frameworks timed in turn, ``pairs`` times, one worker each."""
    servers: dict[str, Server] = {}
    paired: dict[tuple[str, str, str], Paired] = {}
    try:
        for w, f, against, *_ in TARGETS:
            ref_fw, _, ref_w = against.partition(":")
            if ratio(results, w, f, against) is None:
                continue  # not measured in this run (or broken): nothing to pair
            for fw in (f, ref_fw):
                if fw not in servers:
                    servers[fw] = Server(fw, quick, env)
            t0 = time.perf_counter()
            got = compare(servers[f], w, servers[ref_fw], ref_w or w, pairs)
            paired[w, f, against] = got
            print(
                f"  pairs {f} {w} / {against}: {time.perf_counter() - t0:6.1f} s, {got.describe()}",
                flush=True,
            )
    finally:
        for server in servers.values():
            server.close()
    return paired


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


def unit_of(workload: str) -> str:
    return WORKLOADS[workload][0] if workload in WORKLOADS else "steps/s"  # a sweep step


def table(results: dict, frameworks: list[str], workloads: list[str]) -> str:
    head = ["workload", "unit"] + [FRAMEWORKS[f] for f in frameworks] + ["funcgrad / torch"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w in workloads:
        unit = unit_of(w)
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


MODEL_NAMES = {"mynet": "MyNet", "lenet": "LeNet5"}


def sweep_table(results: dict, sizes: list[int]) -> str:
    """Steps per second of funcgrad and PyTorch eager per batch size, and their ratio."""
    head = ["batch"]
    for m in SWEEP_MODELS:
        head += [f"{MODEL_NAMES[m]} {FRAMEWORKS[f]}" for f in SWEEP_FRAMEWORKS] + [
            f"{MODEL_NAMES[m]} funcgrad / torch"
        ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in sizes:
        cells = [str(n)]
        for m in SWEEP_MODELS:
            w = f"{m}_b{n}"
            cells += [fmt(results.get(f, {}).get(w), "steps/s") for f in SWEEP_FRAMEWORKS]
            r = ratio(results, w, "funcgrad", "torch")
            cells.append(f"{r:.2f}x" if r else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sweep_plot(results: dict, sizes: list[int], path: Path) -> None:
    """Examples per second against batch size, and funcgrad's ratio to PyTorch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    fig, (rate_ax, ratio_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for m, style in zip(SWEEP_MODELS, ("-", "--"), strict=True):
        for f, color in zip(SWEEP_FRAMEWORKS, ("C0", "C3"), strict=True):
            pts = [
                (n, v * n)
                for n in sizes
                if isinstance(v := results.get(f, {}).get(f"{m}_b{n}"), float | int)
            ]
            if pts:
                rate_ax.loglog(
                    *zip(*pts, strict=True),
                    style,
                    color=color,
                    marker="o",
                    label=f"{MODEL_NAMES[m]}, {FRAMEWORKS[f]}",
                )
        pts = [(n, r) for n in sizes if (r := ratio(results, f"{m}_b{n}", "funcgrad", "torch"))]
        if pts:
            ratio_ax.semilogx(
                *zip(*pts, strict=True), style, color="k", marker="o", label=MODEL_NAMES[m]
            )
    ratio_ax.axhline(1.0, color="gray", lw=0.8)
    ratio_ax.set_yscale("log")  # 2x ahead and 2x behind lie the same distance from 1
    for ax in (rate_ax, ratio_ax):
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.set_xlabel("batch size")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    rate_ax.set_ylabel("training examples / s (one SGD step per batch)")
    ratio_ax.set_ylabel("funcgrad / PyTorch eager (steps/s)")
    rate_ax.set_title("Train step throughput")
    ratio_ax.set_title("funcgrad's lead over PyTorch eager")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_docs_block(path: Path, block: str) -> None:
    """Replace what lies between the sweep markers in ``path`` with ``block``."""
    text = path.read_text()
    pattern = re.compile(re.escape(SWEEP_BEGIN) + ".*?" + re.escape(SWEEP_END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{path}: no sweep markers; add the lines {SWEEP_BEGIN} and {SWEEP_END}")
    path.write_text(pattern.sub(lambda _: f"{SWEEP_BEGIN}\n{block}\n{SWEEP_END}", text))


def print_targets(results: dict, paired: dict) -> list[dict]:
    """Print each target as met or missed, judged on its paired ratio where there is one (else on
    the rounds' medians), and return them for the JSON report."""
    checks = []
    for w, f, against, least, *most in TARGETS:
        rounds_ratio = ratio(results, w, f, against)
        pairs = paired.get((w, f, against))
        r = pairs.median if pairs and pairs.ratios else rounds_ratio
        most = most[0] if most else None
        ok = r is not None and r >= least and (most is None or r <= most)
        limit = LIMITS.get((w, f, against)) if r is not None and not ok else None
        checks.append(
            {
                "workload": w,
                "framework": f,
                "against": against,
                "ratio": r,
                "judged_on": "pairs" if pairs and pairs.ratios else "rounds",
                "pair_ratios": pairs.ratios if pairs else [],
                "rounds_ratio": rounds_ratio,
                "at_least": least,
                "at_most": most,
                "met": ok,
                "limit": limit,
            }
        )
        shown = f"{r:.2f}x" if r is not None else "not measured in this run"
        if pairs and pairs.ratios:
            shown += f" ({pairs.describe()}; rounds' medians {rounds_ratio:.2f}x)"
        elif r is not None:
            shown += f" (rounds' medians{'; pairs ' + pairs.describe() if pairs else ''})"
        mark = "ok  " if ok else "MISS" if r is not None else "skip"
        goal = f">= {least}x" if most is None else f"{least}x to {most}x"
        print(f"  {mark} {f} {w} vs {against}: {shown} (target {goal})"
              + (f"; limit: {limit}" if limit else ""))  # fmt: skip
    for w, f, against, note in INFO:
        r = ratio(results, w, f, against)
        if r is not None:
            print(f"  info {f} {w} vs {against}{f' ({note})' if note else ''}: {r:.2f}x")
    return checks


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: one round, short timings")
    p.add_argument("--rounds", type=int, default=None, help="rounds (default 3, 1 with --quick)")
    p.add_argument("--json", type=Path, help="write the results to this file as JSON")
    p.add_argument(
        "--frameworks", help="comma-separated subset (default: all; funcgrad,torch with --sweep)"
    )
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset")
    p.add_argument(
        "--sweep", action="store_true", help="the train step of MyNet and LeNet5 over batch sizes"
    )
    p.add_argument(
        "--sizes", default=",".join(map(str, SWEEP_SIZES)), help="batch sizes of --sweep"
    )
    p.add_argument(
        "--plot", type=Path, default=ROOT / "docs" / "benchmark_sweep.png", help="--sweep's PNG"
    )
    p.add_argument("--docs", type=Path, help="--sweep: replace the marked sweep table in this file")
    p.add_argument(
        "--pairs",
        type=int,
        default=None,
        help="paired timings per target (default 7, 1 with --quick; 0: judge on the rounds)",
    )
    args = p.parse_args()
    sizes = [int(n) for n in args.sizes.split(",") if n]
    default_fw = SWEEP_FRAMEWORKS if args.sweep else FRAMEWORKS
    frameworks = [f for f in (args.frameworks or ",".join(default_fw)).split(",") if f]
    workloads = (
        sweep_workloads(tuple(sizes)) if args.sweep else [w for w in args.workloads.split(",") if w]
    )
    bad = [f for f in frameworks if f not in FRAMEWORKS] + [w for w in workloads if not known(w)]
    if bad:
        p.error(
            f"unknown framework or workload {bad}; choose from {list(FRAMEWORKS)} and {list(WORKLOADS)}"
        )
    if args.quick:
        frameworks = [f for f in frameworks if f not in QUICK_SKIP]
    rounds = args.rounds or (1 if args.quick else 3)
    pairs = args.pairs if args.pairs is not None else 1 if args.quick else 7
    if rounds < 1 or pairs < 0:
        p.error("--rounds must be at least 1 and --pairs at least 0")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.2f}")
    env = worker_env(dict(os.environ))
    t0 = time.perf_counter()
    results, kernels = measure(frameworks, workloads, rounds, args.quick, env)
    paired = {} if args.sweep or not pairs else measure_pairs(results, pairs, args.quick, env)
    wall = time.perf_counter() - t0

    print("\nhow the CPU kernels were chosen (each worker's own account):")
    for f in frameworks:
        if f in kernels:
            print(f"  {FRAMEWORKS[f]:28s} {kernels[f]}")
    report: dict = {}
    if args.sweep:
        block = sweep_table(results, sizes)
        print("\n" + block)
        sweep_plot(results, sizes, args.plot)
        print(f"\nplot: {args.plot}")
        if args.docs:
            note = (
                f"`scripts/benchmark.py --sweep` ({rounds} rounds, {wall:.0f} s, load "
                f"{load:.2f} at the start and {os.getloadavg()[0]:.2f} at the end). Steps per "
                "second; batch 1 to 1024 examples per step."
            )
            write_docs_block(args.docs, f"{note}\n\n{block}")
            print(f"table written into {args.docs}")
    else:
        print("\n" + table(results, frameworks, workloads))
        costs = cost_ratios(results, frameworks)
        print("\ngrad cost / forward cost:")
        for f in frameworks:
            cells = ", ".join(f"{m} {v:.2f}" if v else f"{m} n/a" for m, v in costs[f].items())
            print(f"  {FRAMEWORKS[f]:28s} {cells}")
        print("\ntargets:")
        report = {"grad_over_forward": costs, "targets": print_targets(results, paired)}
    print(
        f"\n{rounds} round(s), {pairs if paired else 0} pair(s) per target, {wall:.0f} s, "
        f"load after {os.getloadavg()[0]:.2f}"
    )
    if args.json:
        report = {
            "machine": {
                "cpu": platform.processor() or platform.machine(),
                "cores": os.cpu_count(),
                "load_before": load,
                "load_after": os.getloadavg()[0],
            },
            "rounds": rounds,
            "pairs": pairs if paired else 0,
            "quick": args.quick,
            "seconds": wall,
            "units": {w: unit_of(w) for w in workloads},
            "batch": {w: batch_of(w) for w in workloads},
            "kernels": kernels,
            "results": results,
            **report,
        }
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
