"""Data-parallel throughput of a MyNet train step over 1..8 devices, and over 2 processes.

    python tests/_distributed_bench.py   # prints the markdown table of docs/scaling.md

Each configuration runs in its own process, since the device count is fixed when JAX starts.
On a CPU-only machine the devices are fake (``JAX_NUM_CPU_DEVICES``): slices of the same cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from _distributed_procs import free_port, jax_env, run_all
from _distributed_worker import make_step

from funcgrad import distributed as dist
from funcgrad import train as fg_train

# name -> (MyNet widths, global batch); steps per second of each
WORKLOADS = {
    "digits MyNet, batch 64": ((64, 60, 40, 10), 64),  # what `funcgrad train` runs
    "digits MyNet, batch 1024": ((64, 60, 40, 10), 1024),
    "MyNet 784-1024-1024-10, batch 1024": ((784, 1024, 1024, 10), 1024),  # compute-bound
}
ROUNDS, SECONDS = 3, 0.3


def measure(widths: tuple[int, ...], batch: int, mesh) -> float:
    """Median steps per second of one jitted, sharded SGD step of MyNet at global batch ``batch``."""
    import jax
    import numpy as np
    import optax
    from jax.experimental import multihost_utils

    from funcgrad.models import MyNet

    net, opt = MyNet(*widths), optax.sgd(0.01)
    params = net.init(jax.random.PRNGKey(0))
    params, state = dist.replicate((params, opt.init(params)), mesh)
    rng = np.random.default_rng(0)
    rows = dist.process_rows(np.arange(batch))
    x = rng.standard_normal((batch, widths[0]), dtype=np.float32)[rows]
    y = rng.integers(0, widths[-1], batch)[rows]
    xb, yb = dist.shard_batch((x, y), mesh)

    step = make_step(net, opt)

    def run(n: int) -> float:
        nonlocal params, state
        limit, start = dist.DispatchLimit(mesh), time.perf_counter()
        for _ in range(n):
            params, state, loss = limit(step(params, state, xb, yb))
        jax.block_until_ready(loss)
        return time.perf_counter() - start

    run(3)  # compile
    # Every process must run the same number of steps (each one is a collective): process 0's
    # calibration decides for all.
    n = max(5, round(5 * SECONDS / run(5)))
    n = int(multihost_utils.broadcast_one_to_all(np.int32(n)))
    rates = [n / run(n) for _ in range(ROUNDS)]
    return statistics.median(rates)


def worker(args: argparse.Namespace) -> None:
    fg_train.initialize(args.coordinator, args.num_processes, args.process_id, timeout_s=30)
    mesh = dist.data_mesh(None if args.num_processes else args.devices)
    rates = {name: measure(widths, batch, mesh) for name, (widths, batch) in WORKLOADS.items()}
    if dist.is_main_process():
        print(json.dumps(rates))


def table(rounds: int = 3) -> None:
    """Each setup in its own processes, the setups interleaved over ``rounds``, medians reported.

    Interleaving spreads changes in the machine's load (other jobs) over every setup alike.
    """
    me = [__file__, "--worker"]

    def processes() -> list[list[str]]:
        flags = ["--coordinator", f"127.0.0.1:{free_port()}", "--num-processes", "2"]
        return [[*me, *flags, "--process-id", str(i)] for i in (0, 1)]

    setups = {
        f"1 process, {n} device(s)": (lambda n=n: [[*me, "--devices", str(n)]], n)
        for n in (1, 2, 4, 8)
    }
    setups["2 processes x 1 device (gloo)"] = (processes, 1)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in setups}
    for _ in range(rounds):
        for name, (commands, devices) in setups.items():
            out = run_all(commands(), jax_env(devices), timeout=300)[0]
            runs[name].append(json.loads(out.strip().splitlines()[-1]))
    rows = [
        (name, {w: statistics.median(r[w] for r in results) for w in WORKLOADS})
        for name, results in runs.items()
    ]
    base = rows[0][1]
    print("| setup | " + " | ".join(WORKLOADS) + " |")
    print("|---|" + "---|" * len(WORKLOADS))
    for name, rates in rows:
        cells = [f"{rates[w]:.0f} ({rates[w] / base[w]:.2f}x)" for w in WORKLOADS]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--coordinator")
    parser.add_argument("--num-processes", type=int)
    parser.add_argument("--process-id", type=int)
    args = parser.parse_args()
    worker(args) if args.worker else table()
    sys.exit(0)
