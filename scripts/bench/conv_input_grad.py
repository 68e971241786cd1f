"""funcgrad's stride-1 convolution gradient against JAX's own, timed in turn in one process.

JAX transposes a convolution into a *padded* convolution of the output gradient; funcgrad's
``F.conv2d`` writes its tangent so that the transpose is a zero pad and an *unpadded* convolution
(``funcgrad/nn/functional/_conv.py``), which XLA:CPU runs faster. This times the input gradient of
ConvNet's second convolution (64x20x24x24, 5x5 kernel) both ways, and the whole ConvNet train
step (the benchmark's, hand-written with one convolution or the other), pair by pair, compiled
with funcgrad's fast kernels. The pairs alternate their order as ``benchmark.py``'s do (``_paired``).

    python scripts/bench/conv_input_grad.py            # 9 pairs of each
    python scripts/bench/conv_input_grad.py --pairs 21
"""

from __future__ import annotations

import argparse
import statistics
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _common import LR, Bench, data
from _paired import InProcess, compare
from jax import lax

import funcgrad as fg
from funcgrad.nn import functional as F


def lax_conv2d(h: jax.Array, w: jax.Array) -> jax.Array:
    """An unpadded stride-1 convolution, differentiated by JAX's own rule."""
    return lax.conv_general_dilated(
        h, w, (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW")
    )


def _bench(fn, *args) -> Bench:
    out: dict[str, object] = {}

    def run() -> None:
        out["y"] = fn(*args)

    return Bench(run, lambda: jax.block_until_ready(out["y"]))


def input_grad(conv) -> Bench:
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    h = jax.random.normal(keys[0], (64, 20, 24, 24))
    w = jax.random.normal(keys[1], (20, 20, 5, 5))
    g = jax.random.normal(keys[2], (64, 20, 20, 20))
    return _bench(fg.jit(lambda h, g: jax.vjp(lambda h: conv(h, w), h)[1](g)[0]), h, g)


def step(conv) -> Bench:
    """The benchmark's ConvNet b64 SGD step, with ``conv`` for both convolutions."""
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    params = {
        "w1": 0.2 * jax.random.normal(keys[0], (20, 1, 5, 5)),
        "w2": 0.05 * jax.random.normal(keys[1], (20, 20, 5, 5)),
        "w3": 0.01 * jax.random.normal(keys[2], (10, 8000)),
    }
    x, y = map(jnp.asarray, data("convnet", 64))

    def loss(p):
        h = jax.nn.relu(conv(jax.nn.relu(conv(x, p["w1"])), p["w2"]))
        return optax.softmax_cross_entropy_with_integer_labels(
            h.reshape(64, -1) @ p["w3"].T, y
        ).mean()

    opt = optax.sgd(LR)
    state = {"c": (params, opt.init(params))}

    @fg.jit
    def update(carry):
        p, s = carry
        value, grads = jax.value_and_grad(loss)(p)
        updates, s = opt.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), value

    def run():
        state["c"], state["loss"] = update(state["c"])

    return Bench(run, lambda: jax.block_until_ready(state["loss"]))


def check_same_gradient() -> None:
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    h, w = jax.random.normal(keys[0], (2, 3, 9, 9)), jax.random.normal(keys[1], (4, 3, 5, 5))
    grads = [
        fg.jit(jax.grad(lambda h, w, c=c: (c(h, w) ** 2).sum(), (0, 1)))(h, w)
        for c in (F.conv2d, lax_conv2d)
    ]
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=9, help="timed pairs (default 9)")
    p.add_argument("--quick", action="store_true", help="smoke run: short timings")
    args = p.parse_args(argv)
    if args.pairs < 1:
        p.error("--pairs must be at least 1")
    check_same_gradient()
    for what, make in (("input gradient, conv2", input_grad), ("ConvNet b64 train step", step)):
        ours, jax_rule = (InProcess({what: make(c)}, args.quick) for c in (F.conv2d, lax_conv2d))
        ratios = compare(ours, what, jax_rule, what, args.pairs).ratios
        ms = {name: statistics.median(1e3 / r for r in side.rates[what])
              for name, side in (("funcgrad", ours), ("jax", jax_rule))}  # fmt: skip
        print(
            f"{what}, ms: funcgrad {ms['funcgrad']:.2f}, JAX's transpose rule {ms['jax']:.2f}; "
            f"funcgrad / JAX speed median {statistics.median(ratios):.3f} "
            f"(min {min(ratios):.3f}, max {max(ratios):.3f}, {len(ratios)} pairs)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
