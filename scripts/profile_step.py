"""Where one train step's time goes: XLA's own per-op timings, named by funcgrad's layer scopes.

Runs the benchmark's funcgrad train step (the same program as ``scripts/benchmark.py``) under
``jax.profiler`` and prints, per compiled op, the milliseconds it takes per step and the op's
``name_stack``, which funcgrad's ``jax.named_scope`` per layer turns into a path such as
``LeNet5/conv1/Conv2d/conv_general_dilated``. Only the executed ops count, so the total is what
the CPU spent inside the compiled program; the gap to a step's wall time is dispatch.

    python scripts/profile_step.py lenet_b64          # top 25 ops of the LeNet5 step
    python scripts/profile_step.py convnet_b64 --top 10 --steps 100
    python scripts/profile_step.py lstm_lm        # the sequence workloads (SEQ_WORKLOADS) too

The trace is written to a temporary folder and removed afterwards.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent / "bench"
sys.path.insert(0, str(HERE))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from _common import SEQ_WORKLOADS, batch_of, data, kind_of, known, seq_data  # noqa: E402
from _jaxkit import train_step  # noqa: E402
from fw_funcgrad import make  # noqa: E402
from seq_funcgrad import _model as seq_model  # noqa: E402

import funcgrad as fg  # noqa: E402

# `%name = type op(...), ..., metadata={op_name="jit(step)/..."}` in the compiled HLO text.
HLO_OP = re.compile(r'^\s*(?:ROOT\s+)?%?([\w.\-]+) = .*?metadata=\{[^}]*op_name="([^"]+)"')


def scope_of(op_name: str) -> str:
    """``jit(step)/jvp(LeNet5)/conv1/Conv2d/conv`` -> ``LeNet5/conv1/Conv2d/conv``."""
    parts = [re.sub(r"^\w+\((.*)\)$", r"\1", p) for p in op_name.split("/")[1:]]
    return "/".join(p for p in parts if p)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("workload", help="a train-step workload: mynet_b64, convnet_b64, lenet_b64, ...")
    p.add_argument("--steps", type=int, default=50, help="profiled steps (default 50)")
    p.add_argument("--top", type=int, default=25, help="ops to list (default 25)")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a compiler option in place of fg.jit's (repeatable), e.g. "
        "xla_cpu_experimental_ynn_fusion_type= for no YNNPACK fusion at all",
    )
    args = p.parse_args(argv)
    if not known(args.workload) or args.workload.endswith(("_fwd", "_grad", "_compile")):
        p.error(f"{args.workload!r} is not a train-step workload; try lenet_b64 or mynet_b64")
    if args.steps < 1:
        p.error("--steps must be at least 1")

    if args.workload in SEQ_WORKLOADS:
        step, carry = train_step(seq_model(args.workload))
        x, y = seq_data(args.workload)
        if args.workload == "lstm_lm":
            x, y = x.T, y.T  # CharLSTM is batch-first, as seq_funcgrad.build feeds it
        x, y = jnp.asarray(x), jnp.asarray(y)
    else:
        kind = kind_of(args.workload)
        step, carry = train_step(make(kind))
        x, y = data(kind, batch_of(args.workload))
    options = dict(o.split("=", 1) for o in args.option)
    jitted = jax.jit(step, compiler_options=options) if options else fg.jit(step)
    compiled = jitted.lower(carry, x, y).compile()
    scopes = {m[1]: scope_of(m[2]) for m in map(HLO_OP.match, compiled.as_text().splitlines()) if m}
    for _ in range(5):  # warm up
        carry, _ = compiled(carry, x, y)
    jax.block_until_ready(carry)

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with jax.profiler.trace(tmp, create_perfetto_trace=True):
            for _ in range(args.steps):
                carry, _ = compiled(carry, x, y)
            jax.block_until_ready(carry)
        wall = (time.perf_counter() - start) / args.steps
        trace = next(Path(tmp).rglob("*perfetto_trace.json.gz"))
        events = json.loads(gzip.decompress(trace.read_bytes()))
    events = events["traceEvents"] if isinstance(events, dict) else events
    per_op: collections.Counter[str] = collections.Counter()
    for e in events:
        if e.get("ph") == "X" and e.get("name") in scopes:
            per_op[e["name"]] += e.get("dur", 0) / 1e3 / args.steps  # us -> ms per step
    total = sum(per_op.values())
    print(f"{args.workload}: {total:.2f} ms/step in XLA ops ({len(per_op)} ops), "
          f"{wall * 1e3:.2f} ms/step wall while profiling")  # fmt: skip
    for name, ms in per_op.most_common(args.top):
        print(f"{ms:8.3f} ms {100 * ms / total:5.1f}%  {name:28s} {scopes[name]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
