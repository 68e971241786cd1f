"""Run one framework's workloads in this process and print one JSON line of results.

Usage: ``python scripts/bench/worker.py FRAMEWORK WORKLOAD[,WORKLOAD...] [--quick]``.

The line is ``RESULT {"results": {workload: figure}, "kernels": "..."}``; ``kernels`` is the
worker's own account of how its CPU kernels were chosen, plus the ``XLA_FLAGS`` JAX saw.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback

from _common import Bench, time_bench


def main(argv: list[str]) -> None:
    framework, workloads = argv[0], argv[1].split(",")
    quick = "--quick" in argv
    module = importlib.import_module(f"fw_{framework}")
    results: dict[str, float | str | None] = {}
    for w in workloads:
        try:
            built = module.build(w, quick)
            results[w] = time_bench(built, quick) if isinstance(built, Bench) else built
        except Exception as e:  # report and go on: one broken workload must not hide the rest
            traceback.print_exc(file=sys.stderr)
            results[w] = f"error: {type(e).__name__}: {e}".splitlines()[0][:200]
    kernels = getattr(module, "KERNELS", "not stated")
    if "jax" in sys.modules:  # what JAX read when its backend started, after the worker's choices
        kernels += f"; XLA_FLAGS={os.environ.get('XLA_FLAGS') or '(unset)'}"
    print("RESULT " + json.dumps({"results": results, "kernels": kernels}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
