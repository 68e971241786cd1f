"""PyTorch's CPU lead on the LSTM and LeNet5 train steps is oneDNN's kernels, which XLA:CPU lacks.

Plain JAX (no funcgrad) against PyTorch, the same network and batches, plain SGD:

* ``lstm``: ``charlstm``'s network (an embedding of 54 characters in 32, a 2-layer LSTM of 128,
  a linear head), batches of 32 windows of 64 characters. JAX runs the steps the way
  ``fit`` runs them, fused in one ``lax.scan`` of steps, two ways: ``scan``, the LSTM as a
  ``lax.scan`` under ``jax.grad``, and ``scan, hoisted``, the same with a custom VJP that takes
  the recurrent weight's gradient out of the backward loop as one matmul (the fastest plain JAX
  found here).
* ``lenet``: LeNet5 with batch norm and dropout on 16x16 images (``fit``'s digits), batch 64,
  one jitted step per batch, as ``fit`` runs convolutions.

PyTorch runs every step twice: as shipped, where its CPU LSTM layer is oneDNN's fused RNN
primitive (``aten::mkldnn_rnn_layer`` and its backward) and its convolutions are oneDNN's, and
inside ``torch.backends.mkldnn.flags(enabled=False)``, on its own ATen kernels. Variants are
timed in alternation, round after round; the table gives per-step medians and the ratio
PyTorch / JAX (above 1: JAX is faster), and PyTorch's profiler names its three costliest ops
in each mode. XLA has no fused RNN kernel and calls Eigen for the small convolutions.

    python scripts/bench/onednn_repro.py            # the full run (about a minute)
    python scripts/bench/onednn_repro.py --quick    # a few seconds: the shape of the output
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import torch
from jax import lax
from scan_conv_repro import EIGEN, time_once
from torch import nn

LR = 0.01
LSTM_SIZES = {"vocab": 54, "embed": 32, "hidden": 128, "layers": 2, "seq": 64, "batch": 32}
LENET_SIZES = {"size": 16, "batch": 64}


# ---- lstm ------------------------------------------------------------------------------------


def _cell(a: jax.Array, c: jax.Array) -> tuple[jax.Array, jax.Array]:
    i, f, g, o = jnp.split(a, 4, axis=-1)  # torch's gate order
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    return jax.nn.sigmoid(o) * jnp.tanh(c), c


def lstm_scan(gi: jax.Array, w_hh: jax.Array) -> jax.Array:
    """One LSTM layer over time-major input gates ``gi`` (T, N, 4H), as autodiff sees it."""

    def step(state, g):
        h, c = state
        h, c = _cell(g + h @ w_hh.T, c)
        return (h, c), h

    zeros = jnp.zeros((*gi.shape[1:-1], w_hh.shape[1]), gi.dtype)
    return lax.scan(step, (zeros, zeros), gi)[1]


@jax.custom_vjp
def lstm_hoisted(gi: jax.Array, w_hh: jax.Array) -> jax.Array:
    """:func:`lstm_scan` whose backward loop leaves ``w_hh``'s gradient to one matmul after it."""
    return _hoisted_fwd(gi, w_hh)[0]


def _hoisted_fwd(gi: jax.Array, w_hh: jax.Array) -> tuple[jax.Array, Any]:
    w_t = w_hh.T

    def step(state, g):
        h, c = state
        a = g + h @ w_t
        new = _cell(a, c)
        return new, (new[0], a, c)

    zeros = jnp.zeros((*gi.shape[1:-1], w_hh.shape[1]), gi.dtype)
    hs, a, cs = lax.scan(step, (zeros, zeros), gi)[1]
    return hs, (hs, a, cs, w_hh)


def _hoisted_bwd(res: Any, ct: jax.Array) -> tuple[jax.Array, jax.Array]:
    hs, a, cs, w_hh = res

    def step(carry, xs):
        dh, dc = carry
        ct_h, a_t, c_prev = xs
        da, dc = jax.vjp(_cell, a_t, c_prev)[1]((dh + ct_h, dc))
        return (da @ w_hh, dc), da

    zeros = jnp.zeros_like(hs[0])
    da = lax.scan(step, (zeros, zeros), (ct, a, cs), reverse=True)[1]
    h_prev = jnp.concatenate([jnp.zeros_like(hs[:1]), hs[:-1]])
    return da, jnp.einsum("tng,tnh->gh", da, h_prev)


lstm_hoisted.defvjp(_hoisted_fwd, _hoisted_bwd)
LSTM_LAYERS = {"scan": lstm_scan, "scan, hoisted": lstm_hoisted}


def lstm_params(s: dict[str, int], key: jax.Array) -> dict[str, Any]:
    k = s["hidden"] ** -0.5
    keys = iter(jax.random.split(key, 4 * s["layers"] + 3))
    u = lambda *shape: jax.random.uniform(next(keys), shape, minval=-k, maxval=k)  # noqa: E731
    layers = [
        {"w_ih": u(4 * s["hidden"], s["embed"] if i == 0 else s["hidden"]),
         "w_hh": u(4 * s["hidden"], s["hidden"]), "b": u(4 * s["hidden"])}
        for i in range(s["layers"])
    ]  # fmt: skip
    emb = jax.random.normal(next(keys), (s["vocab"], s["embed"]))
    return {"emb": emb, "layers": layers, "w": u(s["vocab"], s["hidden"]), "b": u(s["vocab"])}


def lstm_loss(layer: Callable[..., jax.Array], p: dict[str, Any], x: jax.Array, y: jax.Array):
    h = p["emb"][x.T]  # time-major (T, N, E), as the LSTM runs
    for q in p["layers"]:
        h = layer(h @ q["w_ih"].T + q["b"], q["w_hh"])
    logits = h @ p["w"].T + p["b"]
    logp = jax.nn.log_softmax(logits)
    return -jnp.take_along_axis(logp, y.T[..., None], axis=-1).mean()


# ---- lenet -----------------------------------------------------------------------------------


def lenet_params(size: int, key: jax.Array) -> dict[str, jax.Array]:
    flat = 16 * ((size // 2 - 4) // 2) ** 2
    k = iter(jax.random.split(key, 5))
    return {
        "c1": 0.2 * jax.random.normal(next(k), (6, 1, 5, 5)), "g1": jnp.ones(6), "b1": jnp.zeros(6),
        "c2": 0.08 * jax.random.normal(next(k), (16, 6, 5, 5)), "g2": jnp.ones(16),
        "b2": jnp.zeros(16), "f1": 0.1 * jax.random.normal(next(k), (120, flat)),
        "f2": 0.1 * jax.random.normal(next(k), (84, 120)),
        "f3": 0.1 * jax.random.normal(next(k), (10, 84)),
    }  # fmt: skip


def _conv_bn_relu_pool(x: jax.Array, w: jax.Array, g: jax.Array, b: jax.Array, pad: int):
    x = lax.conv_general_dilated(x, w, (1, 1), [(pad, pad)] * 2, dimension_numbers=("NCHW", "OIHW", "NCHW"))  # fmt: skip
    mean, var = x.mean((0, 2, 3), keepdims=True), x.var((0, 2, 3), keepdims=True)
    x = (x - mean) * lax.rsqrt(var + 1e-5) * g[:, None, None] + b[:, None, None]
    return lax.reduce_window(jax.nn.relu(x), -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")


def lenet_loss(p: dict[str, jax.Array], x: jax.Array, y: jax.Array, key: jax.Array) -> jax.Array:
    h = _conv_bn_relu_pool(x, p["c1"], p["g1"], p["b1"], 2)
    h = _conv_bn_relu_pool(h, p["c2"], p["g2"], p["b2"], 0).reshape(x.shape[0], -1)
    k1, k2 = jax.random.split(key)
    drop = lambda k, h: jnp.where(jax.random.bernoulli(k, 0.5, h.shape), 2 * h, 0)  # noqa: E731
    h = drop(k2, jax.nn.relu(drop(k1, jax.nn.relu(h @ p["f1"].T)) @ p["f2"].T))
    logp = jax.nn.log_softmax(h @ p["f3"].T)
    return -jnp.take_along_axis(logp, y[:, None], axis=1).mean()


# ---- the two frameworks ----------------------------------------------------------------------


def _sgd(p: Any, grads: Any) -> Any:
    return jax.tree.map(lambda a, g: a - LR * g, p, grads)


def jax_runs(case: str, args: argparse.Namespace) -> dict[str, Callable[[], Any]]:
    """``{variant: run}``, each ``run`` training ``args.steps`` steps from the same params."""
    key = jax.random.key(0)
    if case == "lstm":
        s = args.lstm
        xs = jax.random.randint(key, (args.steps, s["batch"], s["seq"]), 0, s["vocab"])
        ys = jnp.roll(xs, -1, axis=-1)
        p0 = lstm_params(s, key)
        runs = {}
        for name, layer in LSTM_LAYERS.items():

            def epoch(p, xs, ys, layer=layer):
                def step(p, b):
                    return _sgd(p, jax.grad(lambda p: lstm_loss(layer, p, *b))(p)), None

                return lax.scan(step, p, (xs, ys))[0]

            fused = jax.jit(epoch, compiler_options=EIGEN)
            runs[name] = lambda fused=fused: fused(p0, xs, ys)
        return runs
    s = args.lenet
    xs = jax.random.normal(key, (args.steps, s["batch"], 1, s["size"], s["size"]))
    ys = jax.random.randint(key, (args.steps, s["batch"]), 0, 10)
    batches = [(xs[i], ys[i], jax.random.fold_in(key, i)) for i in range(args.steps)]
    p0 = lenet_params(s["size"], key)
    step = jax.jit(lambda p, b: _sgd(p, jax.grad(lenet_loss)(p, *b)), compiler_options=EIGEN)

    def loop():
        p = p0
        for b in batches:
            p = step(p, b)
        return p

    return {"jit step": loop}


class _TorchLSTM(nn.Module):
    def __init__(self, s: dict[str, int]) -> None:
        super().__init__()
        self.emb = nn.Embedding(s["vocab"], s["embed"])
        self.lstm = nn.LSTM(s["embed"], s["hidden"], s["layers"], batch_first=True)
        self.head = nn.Linear(s["hidden"], s["vocab"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(self.emb(x))[0])


def _torch_lenet(size: int) -> nn.Module:
    flat = 16 * ((size // 2 - 4) // 2) ** 2
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(flat, 120), nn.ReLU(), nn.Dropout(0.5), nn.Linear(120, 84), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(84, 10),
    )  # fmt: skip


def torch_run(case: str, args: argparse.Namespace) -> Callable[[], float]:
    """The loop a PyTorch user writes: ``zero_grad``, ``backward``, ``step``, ``loss.item()``."""
    torch.manual_seed(0)
    if case == "lstm":
        s = args.lstm
        model: nn.Module = _TorchLSTM(s)
        xs = torch.randint(0, s["vocab"], (args.steps, s["batch"], s["seq"]))
        ys = torch.roll(xs, -1, dims=-1)
    else:
        s = args.lenet
        model = _torch_lenet(s["size"])
        xs = torch.randn(args.steps, s["batch"], 1, s["size"], s["size"])
        ys = torch.randint(0, 10, (args.steps, s["batch"]))
    opt = torch.optim.SGD(model.parameters(), lr=LR)

    def run() -> float:
        total = 0.0
        for x, y in zip(xs, ys, strict=True):
            opt.zero_grad()
            out = model(x)
            loss = nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
            loss.backward()
            opt.step()
            total += loss.item()
        return total

    return run


def _onednn(enabled: bool, run: Callable[[], Any]) -> Callable[[], Any]:
    def wrapped() -> Any:
        with torch.backends.mkldnn.flags(enabled=enabled):
            return run()

    return wrapped


def measure(case: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every variant of ``case`` timed in alternation: per-step medians (ms) and paired ratios."""
    trun = torch_run(case, args)
    runs = {f"jax: {k}": v for k, v in jax_runs(case, args).items()}
    runs |= {"torch": _onednn(True, trun), "torch, no oneDNN": _onednn(False, trun)}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():  # compile and warm up
        time_once(run)
    for r in range(args.rounds):
        order = list(runs.items())
        for name, run in order if r % 2 == 0 else order[::-1]:  # drift cancels
            times[name].append(time_once(run) / args.steps * 1e3)
    out: dict[str, Any] = {"ms": {n: statistics.median(t) for n, t in times.items()}}
    for name in (n for n in runs if n.startswith("jax")):
        for ref in ("torch", "torch, no oneDNN"):
            ratios = [t / j for t, j in zip(times[ref], times[name], strict=True)]
            out[f"{ref} / {name}"] = statistics.median(ratios)
    out["torch_top_ops"] = {
        mode: top_ops(_onednn(on, trun)) for mode, on in (("oneDNN", True), ("no oneDNN", False))
    }
    return out


def top_ops(run: Callable[[], Any], n: int = 3) -> list[list[Any]]:
    """PyTorch's ``n`` costliest ops by self CPU time over one run: ``[name, share]``."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        run()
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    return [[e.key, round(e.self_cpu_time_total / total, 3)] for e in events[:n]]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, one round: a smoke run")
    p.add_argument("--steps", type=int, default=10, help="train steps per timed call (default 10)")
    p.add_argument("--rounds", type=int, default=7, help="alternating timed rounds (default 7)")
    p.add_argument("--cases", default="lstm,lenet", help="lstm, lenet or both (default)")
    p.add_argument("--json", help="also write the numbers to this file")
    args = p.parse_args(argv)
    args.lstm, args.lenet = dict(LSTM_SIZES), dict(LENET_SIZES)
    if args.quick:
        args.steps, args.rounds = 2, 1
        args.lstm |= {"hidden": 16, "embed": 8, "seq": 8, "batch": 4}
        args.lenet |= {"batch": 8}
    print(f"jax {jax.__version__}, jaxlib {jax.lib.__version__}, torch {torch.__version__} "
          f"(oneDNN available: {torch.backends.mkldnn.is_available()}), {args.steps} steps per "
          f"call, {args.rounds} rounds, numpy {np.__version__}")  # fmt: skip
    print("| case | JAX | JAX ms/step | torch ms/step | torch, no oneDNN | torch / JAX | "
          "torch, no oneDNN / JAX |\n|---|---|---|---|---|---|---|")  # fmt: skip
    results: dict[str, Any] = {"jax": jax.__version__, "torch": torch.__version__, "cases": {}}
    for case in args.cases.split(","):
        r = measure(case, args)
        results["cases"][case] = r
        ms = r["ms"]
        for name in (n for n in ms if n.startswith("jax")):
            print(f"| {case} | {name[5:]} | {ms[name]:.2f} | {ms['torch']:.2f} | "
                  f"{ms['torch, no oneDNN']:.2f} | {r[f'torch / {name}']:.2f}x | "
                  f"{r[f'torch, no oneDNN / {name}']:.2f}x |")  # fmt: skip
    print("\nwhere PyTorch's time goes: its three costliest ops (share of self CPU time)")
    for case, r in results["cases"].items():
        for mode, ops in r["torch_top_ops"].items():
            print(f"{case}, {mode}: " + ", ".join(f"{k} {s:.0%}" for k, s in ops))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
