"""XLA:CPU runs a convolution train step slower inside ``lax.scan`` than from a Python loop.

Plain JAX and optax-free (no funcgrad): a small ConvNet SGD step (two 5x5 convolutions, ReLU, a
dense layer, softmax cross-entropy; batch 64, 1x28x28 images) is run for the same steps two ways:

* ``loop``: ``jax.jit(step)`` called from a Python loop, one dispatch per step;
* ``scan``: ``jax.jit`` of ``lax.scan(step, ...)`` over the same batches, one dispatch per epoch.

The control is the same experiment with dots in place of the convolutions (an MLP of similar
cost), where ``scan`` is the faster of the two, as one expects. Each is compiled with XLA's default
CPU options and with ``xla_cpu_experimental_ynn_fusion_type=LIBRARY_FUSION_TYPE_REDUCE`` (which
keeps dots and convolutions off YNNPACK, on XLA's Eigen kernels). Loop and scan are timed in
alternation, round after round, and the median ratio is printed with its spread. Then XLA's own
per-op profile (``jax.profiler``) of one conv epoch each way says where the time goes.

    python scripts/bench/scan_conv_repro.py            # the full run (about a minute)
    python scripts/bench/scan_conv_repro.py --quick    # a few seconds: the shape of the output
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import jaxlib
from jax import lax

EIGEN = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_REDUCE"}
KERNELS: dict[str, dict[str, str]] = {"default": {}, "eigen": EIGEN}
HLO_OP = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+) = \S+ ([\w\-]+)\(")
CONV_LABELS = re.compile(r" convolution\(.*?dim_labels=([\w>-]+)")


def conv(x: jax.Array, w: jax.Array) -> jax.Array:
    return lax.conv_general_dilated(
        x, w, (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW")
    )


def conv_patches(x: jax.Array, w: jax.Array) -> jax.Array:
    """The same convolution as ``lax.conv_general_dilated_patches`` and one dot (a workaround)."""
    cols = lax.conv_general_dilated_patches(x, w.shape[2:], (1, 1), "VALID")  # N, C*kh*kw, H', W'
    return jnp.einsum("nkhw,ok->nohw", cols, w.reshape(w.shape[0], -1))


def conv_slices(x: jax.Array, w: jax.Array) -> jax.Array:
    """The same convolution as shifted slices and one dot: its VJP has no convolution at all."""
    kh, kw = w.shape[2:]
    ho, wo = x.shape[2] - kh + 1, x.shape[3] - kw + 1
    taps = [x[:, :, i : i + ho, j : j + wo] for i in range(kh) for j in range(kw)]
    cols = jnp.stack(taps, axis=2)  # N, C, kh*kw, H', W'
    return jnp.einsum("nckhw,ock->nohw", cols, w.reshape(*w.shape[:2], kh * kw))


CONVS = {"conv": conv, "conv_patches": conv_patches, "conv_slices": conv_slices}


def init(kind: str, size: int, key: jax.Array) -> dict[str, jax.Array]:
    k1, k2, k3 = jax.random.split(key, 3)
    if kind in CONVS:
        flat = 20 * (size - 8) ** 2
        return {
            "w1": 0.2 * jax.random.normal(k1, (20, 1, 5, 5)),
            "w2": 0.05 * jax.random.normal(k2, (20, 20, 5, 5)),
            "w3": 0.01 * jax.random.normal(k3, (10, flat)),
        }
    return {  # the control: dots of about the conv step's cost
        "w1": 0.05 * jax.random.normal(k1, (size * size, 512)),
        "w2": 0.05 * jax.random.normal(k2, (512, 512)),
        "w3": 0.05 * jax.random.normal(k3, (512, 10)),
    }


def loss(kind: str, p: dict[str, jax.Array], x: jax.Array, y: jax.Array) -> jax.Array:
    if kind in CONVS:
        c = CONVS[kind]
        h = jax.nn.relu(c(jax.nn.relu(c(x, p["w1"])), p["w2"]))
        logits = h.reshape(x.shape[0], -1) @ p["w3"].T
    else:
        h = jax.nn.relu(jax.nn.relu(x.reshape(x.shape[0], -1) @ p["w1"]) @ p["w2"])
        logits = h @ p["w3"]
    logp = jax.nn.log_softmax(logits)
    return -jnp.take_along_axis(logp, y[:, None], axis=1).mean()


def make(kind: str, options: dict[str, str], unroll: int) -> tuple[Any, Any]:
    """``(step, epoch)``: one jitted SGD step, and the same steps in one jitted ``lax.scan``."""

    def step(p, x, y):
        value, grads = jax.value_and_grad(lambda p: loss(kind, p, x, y))(p)
        return jax.tree.map(lambda a, g: a - 0.01 * g, p, grads), value

    epoch = jax.jit(
        lambda p, xs, ys: lax.scan(lambda p, b: step(p, *b), p, (xs, ys), unroll=unroll)[0],
        compiler_options=options,
    )
    return jax.jit(step, compiler_options=options), epoch


def batches(
    kind: str, steps: int, batch: int, size: int
) -> tuple[list[jax.Array], jax.Array, jax.Array]:
    kx, ky = jax.random.split(jax.random.PRNGKey(1))
    xs = jax.random.normal(kx, (steps, batch, 1, size, size))
    ys = jax.random.randint(ky, (steps, batch), 0, 10)
    return [xs[i] for i in range(steps)], xs, ys


def time_once(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def measure(kind: str, options: dict[str, str], args: argparse.Namespace) -> dict[str, float]:
    """Loop and scan timed in alternation; per-step milliseconds (medians) and the ratio's spread."""
    jitted_step, scan_epoch = make(kind, options, args.unroll)
    p = init(kind, args.size, jax.random.PRNGKey(0))
    xs_list, xs, ys = batches(kind, args.steps, args.batch, args.size)
    ys_list = [ys[i] for i in range(args.steps)]

    def run_loop():
        q = p
        for x, y in zip(xs_list, ys_list, strict=True):
            q = jitted_step(q, x, y)[0]
        return q

    run_scan = lambda: scan_epoch(p, xs, ys)  # noqa: E731
    for fn in (run_loop, run_scan):  # compile and warm up
        time_once(fn)
    loops, scans = [], []
    for r in range(args.rounds):
        order = [(run_loop, loops), (run_scan, scans)]
        for fn, into in order if r % 2 == 0 else order[::-1]:  # A B, B A, ...: drift cancels
            into.append(time_once(fn) / args.steps * 1e3)
    ratios = sorted(s / lo for s, lo in zip(scans, loops, strict=True))
    return {
        "loop_ms": statistics.median(loops),
        "scan_ms": statistics.median(scans),
        "ratio": statistics.median(ratios),
        "ratio_lo": ratios[0],
        "ratio_hi": ratios[-1],
    }


def profile(kind: str, options: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """XLA's per-op time per step, by HLO op kind (convolution, fusion, ...), for loop and scan."""
    jstep, scan_epoch = make(kind, options, args.unroll)
    p = init(kind, args.size, jax.random.PRNGKey(0))
    xs_list, xs, ys = batches(kind, args.steps, args.batch, args.size)
    ys_list = [ys[i] for i in range(args.steps)]
    out = {}
    for how in ("loop", "scan"):
        if how == "loop":
            compiled = jstep.lower(p, xs_list[0], ys_list[0]).compile()

            def run(compiled=compiled):
                q = p
                for x, y in zip(xs_list, ys_list, strict=True):
                    q = compiled(q, x, y)[0]
                return q
        else:
            compiled = scan_epoch.lower(p, xs, ys).compile()

            def run(compiled=compiled):
                return compiled(p, xs, ys)

        text = compiled.as_text()
        kinds = {m[1]: m[2] for m in map(HLO_OP.match, text.splitlines()) if m}
        # The optimized HLO's convolutions: XLA:CPU's Eigen kernel takes NHWC (b01f) operands.
        out[f"{how}_dim_labels"] = dict(collections.Counter(CONV_LABELS.findall(text)))
        jax.block_until_ready(run())
        with tempfile.TemporaryDirectory() as tmp:
            with jax.profiler.trace(tmp, create_perfetto_trace=True):
                jax.block_until_ready(run())
            trace = next(Path(tmp).rglob("*perfetto_trace.json.gz"))
            events = json.loads(gzip.decompress(trace.read_bytes()))
        events = events["traceEvents"] if isinstance(events, dict) else events
        per_kind: collections.Counter[str] = collections.Counter()
        for e in events:
            if e.get("ph") == "X" and e.get("name") in kinds:
                per_kind[kinds[e["name"]]] += e.get("dur", 0) / 1e3 / args.steps
        out[how] = dict(per_kind.most_common())
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, one round: a smoke run")
    p.add_argument("--steps", type=int, default=40, help="steps per epoch (default 40)")
    p.add_argument("--rounds", type=int, default=7, help="alternating timed rounds (default 7)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=28, help="image side (default 28)")
    p.add_argument("--unroll", type=int, default=1, help="lax.scan's unroll (default 1)")
    p.add_argument(
        "--kernels", default="default,eigen", help="XLA's default options, eigen, or both (default)"
    )
    p.add_argument(
        "--kinds",
        dest="steps_kinds",
        default="conv,dot,conv_patches,conv_slices",
        help="steps to time: conv, dot (the control), and two convolution workarounds",
    )
    p.add_argument("--json", help="also write the numbers to this file")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.rounds, args.batch, args.size = 3, 1, 8, 12
        args.kernels, args.steps_kinds = "eigen", "conv,dot"
    kernels = {name: KERNELS[name] for name in args.kernels.split(",")}

    print(f"jax {jax.__version__}, jaxlib {jaxlib.__version__}, backend {jax.default_backend()}, "
          f"python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs (affinity {len(os.sched_getaffinity(0))}), "
          f"load average {os.getloadavg()[0]:.2f}, XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")  # fmt: skip
    print(f"batch {args.batch}, images 1x{args.size}x{args.size}, {args.steps} steps per epoch, "
          f"{args.rounds} rounds, unroll {args.unroll}")  # fmt: skip
    print("| step | kernels | loop ms/step | scan ms/step | scan / loop (median, range) |")
    print("|---|---|---|---|---|")
    results: dict[str, Any] = {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "rows": []}
    for kind in args.steps_kinds.split(","):
        for name, options in kernels.items():
            r = measure(kind, options, args)
            results["rows"].append({"step": kind, "kernels": name} | r)
            print(f"| {kind} | {name} | {r['loop_ms']:.2f} | {r['scan_ms']:.2f} | "
                  f"{r['ratio']:.2f}x ({r['ratio_lo']:.2f}-{r['ratio_hi']:.2f}) |")  # fmt: skip
    print(
        "\nwhere the time goes: XLA's per-op profile of the conv step, ms per step by HLO op kind"
    )
    for name, options in kernels.items():
        prof = profile("conv", options, args)
        results[f"profile_{name}"] = prof
        ops = sorted(set(prof["loop"]) | set(prof["scan"]), key=lambda k: -prof["scan"].get(k, 0))
        print(f"kernels {name}: " + ", ".join(
            f"{k} {prof['loop'].get(k, 0):.2f} -> {prof['scan'].get(k, 0):.2f}" for k in ops[:6]))  # fmt: skip
        print(f"  total in ops: loop {sum(prof['loop'].values()):.2f}, "
              f"scan {sum(prof['scan'].values()):.2f} ms/step")  # fmt: skip
        for how in ("loop", "scan"):
            labels = ", ".join(f"{k} x{n}" for k, n in prof[f"{how}_dim_labels"].items())
            print(f"  {how}: convolutions in the optimized HLO: {labels}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
