"""The JAX side of a workload, given a model as ``params`` plus pure loss functions.

funcgrad and hand-written JAX differ only in how the model and loss are written, and in how their
programs are compiled (``jit``); the train step, the fused epoch and the timing are the same code,
as a user would write them with optax.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import optax
from _common import (
    EPOCH_STEPS,
    LR,
    SEQ_WORKLOADS,
    Bench,
    batch_of,
    data,
    kind_of,
    timed_first_call,
)


@dataclass
class Model:
    params: Any
    # loss(params, x, y): mean over the batch; with buffers, loss(params, x, y, buffers, key)
    # returns (mean loss, new buffers): the model runs in train mode, dropout drawn from key
    loss: Callable[..., Any]
    loss_one: Callable[..., jax.Array] | None = None  # loss of ONE example, for per-sample grads
    per_example_grads: Callable[..., Any] | None = None  # (loss_one, params, (x, y)) -> grads
    buffers: Any = None  # running statistics (BatchNorm); None for a model without any


def train_step(m: Model) -> tuple[Callable[..., Any], tuple]:
    """``step(carry, x, y) -> (carry, loss)`` and the first carry: params, optimizer state, and
    for a model with buffers its buffers and a key that the step splits for each step's dropout."""
    opt = optax.sgd(LR)

    def step(carry, x, y):
        params, opt_state, *state = carry
        if m.buffers is None:
            value, grads = jax.value_and_grad(m.loss)(params, x, y)
        else:
            buffers, key = state
            key, sub = jax.random.split(key)
            (value, buffers), grads = jax.value_and_grad(m.loss, has_aux=True)(
                params, x, y, buffers, sub
            )
            state = [buffers, key]
        updates, opt_state = opt.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, *state), value

    state = () if m.buffers is None else (m.buffers, jax.random.PRNGKey(1))
    return step, (m.params, opt.init(m.params), *state)


def _stepper(step: Callable[..., Any], carry: tuple, batches: list[tuple[Any, Any]]) -> Bench:
    state = {"c": carry, "loss": None}

    def run() -> None:
        for x, y in batches:
            state["c"], state["loss"] = step(state["c"], x, y)

    return Bench(run, lambda: jax.block_until_ready(state["loss"]), units=len(batches))


def build(
    workload: str, quick: bool, make: Callable[[str], Model], jit: Callable[..., Any] = jax.jit
) -> Bench | float | None:
    """The workload as a :class:`Bench`; ``jit`` compiles every program (the fast kernels' switch)."""
    if workload in SEQ_WORKLOADS:
        return None  # the sequence models have builders of their own (seq_<framework>.py)
    kind = kind_of(workload)
    m = make(kind)
    step, carry = train_step(m)
    if workload.endswith("_compile"):
        x, y = map(jnp.asarray, data(kind, 64))
        # the first call: tracing, compiling and one step (jit may return a plain function)
        return timed_first_call(lambda: jax.block_until_ready(jit(step)(carry, x, y)))
    if workload == "epoch_fused":
        xs, ys = map(jnp.asarray, data(kind, 64, EPOCH_STEPS))

        def epoch(carry, xs, ys):
            carry, losses = jax.lax.scan(lambda c, xy: step(c, *xy), carry, (xs, ys))
            return carry, losses[-1]

        bench = _stepper(jit(epoch), carry, [(xs, ys)])
        bench.units = EPOCH_STEPS
        return bench
    if workload == "epoch_loop":
        xs, ys = data(kind, 64, EPOCH_STEPS)
        batches = [(jnp.asarray(a), jnp.asarray(b)) for a, b in zip(xs, ys, strict=True)]
        return _stepper(jit(step), carry, batches)
    x, y = map(jnp.asarray, data(kind, batch_of(workload)))
    if workload == "psg_vmap":
        if m.loss_one is None:
            return None
        psg = m.per_example_grads or (
            lambda f, p, b: jax.vmap(jax.grad(f), in_axes=(None, 0, 0))(p, *b)
        )
        fn = jit(lambda p, x, y: psg(m.loss_one, p, (x, y)))
        return _call(lambda: fn(m.params, x, y))
    if workload.endswith("_fwd"):
        fn = jit(m.loss)
        return _call(lambda: fn(m.params, x, y))
    if workload.endswith("_grad"):
        fn = jit(jax.value_and_grad(m.loss))
        return _call(lambda: fn(m.params, x, y))
    if workload == "psg_loop":
        return None
    return _stepper(jit(step), carry, [(x, y)])


def _call(fn: Callable[[], Any]) -> Bench:
    last: dict[str, Any] = {}

    def run() -> None:
        last["out"] = fn()

    return Bench(run, lambda: jax.block_until_ready(last["out"]))
