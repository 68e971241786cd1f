"""Paired timings across processes: two frameworks' workers stay alive and take turns.

A ratio of two frameworks timed minutes apart carries the machine's drift (10-30% on a shared
machine, more in a slow spell). Here each framework keeps one worker process (``worker.py
--serve``), its programs compiled once, and the two are timed back to back, pair after pair, with
the order swapped every pair (A B, B A, ...), so a drift slower than a pair cancels in each
pair's ratio. The figure is the median of the pairs' ratios.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from _common import Bench, time_bench

HERE = Path(__file__).resolve().parent
# Idle time between one worker's block and the other's: OpenMP (PyTorch) and Eigen (XLA) worker
# threads spin for a moment after their last task; the next block must not share the cores.
SETTLE_S = 0.1


class Server:
    """One framework's worker process, timing workloads on request (``worker.py --serve``)."""

    def __init__(self, framework: str, quick: bool, env: dict[str, str]) -> None:
        cmd = [sys.executable, str(HERE / "worker.py"), framework, "--serve"]
        cmd += ["--quick"] if quick else []
        self.framework = framework
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=HERE,
        )

    def rate(self, workload: str) -> float | str | None:
        """Units per second of ``workload`` (built on first request), or an error string."""
        assert self.proc.stdin and self.proc.stdout
        try:
            self.proc.stdin.write(workload + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return f"error: {self.framework} worker exited {self.proc.poll()}"
        for line in self.proc.stdout:
            if line.startswith("RATE "):
                return json.loads(line[len("RATE ") :])["value"]
        return f"error: {self.framework} worker exited {self.proc.wait()}"

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class InProcess:
    """:class:`Server`'s ``rate`` over benches built in this process, keeping every rate timed."""

    def __init__(self, benches: dict[str, Bench], quick: bool) -> None:
        self.benches, self.quick = benches, quick
        self.rates: dict[str, list[float]] = {w: [] for w in benches}

    def rate(self, workload: str) -> float:
        rate = time_bench(self.benches[workload], self.quick)
        self.rates[workload].append(rate)
        return rate


@dataclass
class Paired:
    """The ratios ``a / b`` of ``pairs`` back-to-back timings, or why there are none."""

    ratios: list[float]
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.ratios) if self.ratios else None

    def describe(self) -> str:
        if not self.ratios:
            return self.error or "not measured"
        lo, hi = min(self.ratios), max(self.ratios)
        return f"median of {len(self.ratios)} pairs, range {lo:.2f}-{hi:.2f}"


def compare(a: Server, workload_a: str, b: Server, workload_b: str, pairs: int) -> Paired:
    """``pairs`` ratios of ``a`` on ``workload_a`` over ``b`` on ``workload_b``, timed in turn."""
    ratios: list[float] = []
    for i in range(pairs):
        order = [("a", a, workload_a), ("b", b, workload_b)][:: 1 if i % 2 == 0 else -1]
        got = {}
        for side, server, workload in order:  # keyed by side: a and b may be one server
            got[side] = server.rate(workload)
            time.sleep(SETTLE_S)
        ra, rb = got["a"], got["b"]
        if ra is None or rb is None:
            return Paired(ratios, "not measured: a framework has no such workload")
        if isinstance(ra, str) or isinstance(rb, str):
            return Paired(ratios, ra if isinstance(ra, str) else str(rb))
        ratios.append(ra / rb)
    return Paired(ratios)
