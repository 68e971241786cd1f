"""Run one framework's workloads in this process and print results as JSON lines.

Usage: ``python scripts/bench/worker.py FRAMEWORK WORKLOAD[,WORKLOAD...] [--quick]``: one line
``RESULT {"results": {workload: figure}, "kernels": "..."}``; ``kernels`` is the worker's own
account of how its CPU kernels were chosen, plus the ``XLA_FLAGS`` JAX saw.

``python scripts/bench/worker.py FRAMEWORK --serve [--quick]``: read workload names from stdin,
one per line, and answer each with ``RATE {"workload": ..., "value": figure}``; a workload is
built (compiled) on its first request and timed afresh on every request (``_paired.py``).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from types import ModuleType

from _common import Bench, time_bench


def measure(module: ModuleType, workload: str, quick: bool, cache: dict) -> float | str | None:
    """The workload's figure; a ``Bench`` is kept in ``cache`` so that a repeat is not rebuilt."""
    try:
        if workload not in cache:
            cache[workload] = module.build(workload, quick)
        built = cache[workload]
        return time_bench(built, quick) if isinstance(built, Bench) else built
    except Exception as e:  # report and go on: one broken workload must not hide the rest
        traceback.print_exc(file=sys.stderr)
        return f"error: {type(e).__name__}: {e}".splitlines()[0][:200]


def serve(module: ModuleType, quick: bool) -> None:
    cache: dict = {}
    for line in sys.stdin:
        workload = line.strip()
        if workload:
            value = measure(module, workload, quick, cache)
            print("RATE " + json.dumps({"workload": workload, "value": value}), flush=True)


def main(argv: list[str]) -> None:
    framework = argv[0]
    quick = "--quick" in argv
    module = importlib.import_module(f"fw_{framework}")
    if "--serve" in argv:
        serve(module, quick)
        return
    results = {w: measure(module, w, quick, {}) for w in argv[1].split(",")}
    kernels = getattr(module, "KERNELS", "not stated")
    if "jax" in sys.modules:  # what JAX read when its backend started, after the worker's choices
        kernels += f"; XLA_FLAGS={os.environ.get('XLA_FLAGS') or '(unset)'}"
    print("RESULT " + json.dumps({"results": results, "kernels": kernels}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
