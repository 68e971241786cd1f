"""The JAX side of a workload, given a model as ``params`` plus pure loss functions.

funcgrad and hand-written JAX differ only in how the model and loss are written; the train step,
the fused epoch and the timing are the same code, as a user would write them with optax.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import optax
from _common import EPOCH_STEPS, LR, Bench, batch_of, data, timed_first_call


@dataclass
class Model:
    params: Any
    loss: Callable[..., jax.Array]  # loss(params, x, y): mean over the batch
    loss_one: Callable[..., jax.Array] | None = None  # loss of ONE example, for per-sample grads
    per_example_grads: Callable[..., Any] | None = None  # (loss_one, params, (x, y)) -> grads


def _kind(workload: str) -> str:
    if workload.startswith("convnet"):
        return "convnet"
    return "single" if workload == "single_layer" else "mynet"


def train_step(loss: Callable[..., jax.Array]) -> Callable[..., Any]:
    opt = optax.sgd(LR)

    def step(params, opt_state, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    return step


def _stepper(step: Callable[..., Any], params: Any, batches: list[tuple[Any, Any]]) -> Bench:
    opt_state = optax.sgd(LR).init(params)
    state = {"p": params, "s": opt_state, "loss": None}

    def run() -> None:
        for x, y in batches:
            state["p"], state["s"], state["loss"] = step(state["p"], state["s"], x, y)

    return Bench(run, lambda: jax.block_until_ready(state["loss"]), units=len(batches))


def build(workload: str, quick: bool, make: Callable[[str], Model]) -> Bench | float | None:
    kind = _kind(workload)
    m = make(kind)
    step = train_step(m.loss)
    if workload.endswith("_compile"):
        x, y = map(jnp.asarray, data(kind, 64))
        opt_state = optax.sgd(LR).init(m.params)
        return timed_first_call(lambda: jax.jit(step).lower(m.params, opt_state, x, y).compile())
    if workload == "epoch_fused":
        xs, ys = map(jnp.asarray, data(kind, 64, EPOCH_STEPS))

        @jax.jit
        def epoch(params, opt_state, xs, ys):
            def body(carry, xy):
                p, s, _ = step(*carry, *xy)
                return (p, s), _

            (params, opt_state), losses = jax.lax.scan(body, (params, opt_state), (xs, ys))
            return params, opt_state, losses[-1]

        bench = _stepper(epoch, m.params, [(xs, ys)])
        bench.units = EPOCH_STEPS
        return bench
    if workload == "epoch_loop":
        xs, ys = data(kind, 64, EPOCH_STEPS)
        batches = [(jnp.asarray(a), jnp.asarray(b)) for a, b in zip(xs, ys, strict=True)]
        return _stepper(jax.jit(step), m.params, batches)
    x, y = map(jnp.asarray, data(kind, batch_of(workload)))
    if workload == "psg_vmap":
        if m.loss_one is None:
            return None
        psg = m.per_example_grads or (
            lambda f, p, b: jax.vmap(jax.grad(f), in_axes=(None, 0, 0))(p, *b)
        )
        fn = jax.jit(lambda p, x, y: psg(m.loss_one, p, (x, y)))
        return _call(lambda: fn(m.params, x, y))
    if workload.endswith("_fwd"):
        fn = jax.jit(m.loss)
        return _call(lambda: fn(m.params, x, y))
    if workload.endswith("_grad"):
        fn = jax.jit(jax.value_and_grad(m.loss))
        return _call(lambda: fn(m.params, x, y))
    if workload == "psg_loop":
        return None
    return _stepper(jax.jit(step), m.params, [(x, y)])


def _call(fn: Callable[[], Any]) -> Bench:
    last: dict[str, Any] = {}

    def run() -> None:
        last["out"] = fn()

    return Bench(run, lambda: jax.block_until_ready(last["out"]))
