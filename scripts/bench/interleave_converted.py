"""Converted against hand-written funcgrad: both train steps timed in turn, in one process.

``benchmark.py`` times each framework in its own process, so a converted row and the hand-written
row it is compared with are minutes apart, and a shared machine's drift (often 10-30%) lands in
their ratio. Here the two steps alternate, pair after pair, and the ratio of each pair is taken:
the drift cancels. XLA compiles the two to the same program (tests/test_benchmark.py checks
MyNet's), so the median should sit at 1.

    python scripts/bench/interleave_converted.py                      # the four rows, 9 pairs each
    python scripts/bench/interleave_converted.py mynet_b64 --pairs 15
"""

from __future__ import annotations

import argparse
import statistics
import sys

import fw_funcgrad
import fw_funcgrad_converted
from _common import time_bench

ROWS = ("mynet_b64", "mynet_b256", "convnet_b64", "lenet_b64")


def compare(workload: str, pairs: int, quick: bool = False) -> list[float]:
    """``pairs`` ratios converted / hand-written, each from back-to-back timings."""
    hand = fw_funcgrad.build(workload, quick)
    converted = fw_funcgrad_converted.build(workload, quick)
    return [time_bench(converted, quick) / time_bench(hand, quick) for _ in range(pairs)]


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workloads", nargs="?", default=",".join(ROWS), help="comma-separated rows")
    p.add_argument("--pairs", type=int, default=9, help="timed pairs per row (default 9)")
    p.add_argument("--quick", action="store_true", help="smoke run: short timings")
    args = p.parse_args(argv)
    if args.pairs < 1:
        p.error("--pairs must be at least 1")
    for w in args.workloads.split(","):
        if w not in ROWS:
            p.error(f"unknown row {w!r}; choose from {', '.join(ROWS)}")
        r = compare(w, args.pairs, args.quick)
        print(
            f"{w}: converted / hand-written median {statistics.median(r):.3f} "
            f"(min {min(r):.3f}, max {max(r):.3f}, {len(r)} pairs; goal 0.95 to 1.05)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
