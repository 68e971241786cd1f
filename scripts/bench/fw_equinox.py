"""Equinox, as its guide writes a training step: ``eqx.nn`` layers on one example, ``vmap``
for the batch, ``eqx.filter_jit`` and ``eqx.filter_value_and_grad`` with optax."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
import seq_equinox
from _common import EPOCH_STEPS, LR, SEQ_WORKLOADS, Bench, batch_of, data, kind_of, timed_first_call

KERNELS = "none: eqx.filter_jit, jaxlib's defaults (YNNPACK dots and convolutions)"


class MyNet(eqx.Module):
    layers: list

    def __init__(self, key) -> None:
        k = jax.random.split(key, 3)
        self.layers = [
            eqx.nn.Linear(600, 60, key=k[0]),
            eqx.nn.Linear(60, 40, key=k[1]),
            eqx.nn.Linear(40, 10, key=k[2]),
        ]

    def __call__(self, x):
        x = jax.nn.relu(self.layers[0](x.reshape(-1)))
        return self.layers[2](jax.nn.relu(self.layers[1](x)))


class ConvNet(eqx.Module):
    conv1: eqx.nn.Conv2d
    conv2: eqx.nn.Conv2d
    head: eqx.nn.Linear

    def __init__(self, key) -> None:
        k = jax.random.split(key, 3)
        self.conv1, self.conv2 = (
            eqx.nn.Conv2d(1, 20, 5, key=k[0]),
            eqx.nn.Conv2d(20, 20, 5, key=k[1]),
        )
        self.head = eqx.nn.Linear(20 * 20 * 20, 10, key=k[2])

    def __call__(self, x):
        x = jax.nn.relu(self.conv2(jax.nn.relu(self.conv1(x))))
        return self.head(x.reshape(-1))


class LeNet5(eqx.Module):
    """funcgrad's ``fg.models.LeNet5`` in Equinox layers, for ONE example (``vmap`` batches it,
    naming the axis batch norm averages over); train mode: batch statistics and dropout."""

    conv1: eqx.nn.Conv2d
    bn1: eqx.nn.BatchNorm
    conv2: eqx.nn.Conv2d
    bn2: eqx.nn.BatchNorm
    pool: eqx.nn.MaxPool2d
    fc: list
    dropout: eqx.nn.Dropout

    def __init__(self, key) -> None:
        k = jax.random.split(key, 5)
        # mode="batch" is torch's batch norm: batch statistics in training (equinox#948)
        bn = dict(axis_name="batch", momentum=0.9, mode="batch")
        self.conv1, self.bn1 = (
            eqx.nn.Conv2d(1, 6, 5, padding=2, key=k[0]),
            eqx.nn.BatchNorm(6, **bn),
        )
        self.conv2, self.bn2 = eqx.nn.Conv2d(6, 16, 5, key=k[1]), eqx.nn.BatchNorm(16, **bn)
        self.pool = eqx.nn.MaxPool2d(2, stride=2)
        self.fc = [
            eqx.nn.Linear(400, 120, key=k[2]),
            eqx.nn.Linear(120, 84, key=k[3]),
            eqx.nn.Linear(84, 10, key=k[4]),
        ]
        self.dropout = eqx.nn.Dropout(0.5)

    def __call__(self, x, state, key):
        k1, k2 = jax.random.split(key)
        x, state = self.bn1(self.conv1(x), state)
        x, state = self.bn2(self.conv2(self.pool(jax.nn.relu(x))), state)
        x = self.pool(jax.nn.relu(x)).reshape(-1)
        x = self.dropout(jax.nn.relu(self.fc[0](x)), key=k1)
        x = self.dropout(jax.nn.relu(self.fc[1](x)), key=k2)
        return self.fc[2](x), state


def _lenet(workload: str) -> Bench:
    """The train step of a stateful model, as Equinox's stateful example writes it."""
    model, state = eqx.nn.make_with_state(LeNet5)(jax.random.PRNGKey(0))
    opt = optax.sgd(LR)

    def loss(model, state, x, y, key):
        keys = jax.random.split(key, x.shape[0])
        batched = jax.vmap(model, axis_name="batch", in_axes=(0, None, 0), out_axes=(0, None))
        logits, state = batched(x, state, keys)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), state

    @eqx.filter_jit
    def step(model, state, opt_state, key, x, y):
        key, sub = jax.random.split(key)
        (value, state), grads = eqx.filter_value_and_grad(loss, has_aux=True)(
            model, state, x, y, sub
        )
        updates, opt_state = opt.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), state, opt_state, key, value

    x, y = map(jnp.asarray, data("lenet", batch_of(workload)))
    carry = [model, state, opt.init(eqx.filter(model, eqx.is_array)), jax.random.PRNGKey(1)]
    last: dict = {}

    def run() -> None:
        *carry[:], last["out"] = step(*carry, x, y)  # model, state, opt_state, key; loss

    return Bench(run, lambda: jax.block_until_ready(last["out"]))


def _setup(kind: str):
    key = jax.random.PRNGKey(0)
    if kind == "single":
        return eqx.nn.Linear(5, 3, key=key), optax.sigmoid_binary_cross_entropy
    model = MyNet(key) if kind == "mynet" else ConvNet(key)
    return model, optax.softmax_cross_entropy_with_integer_labels


def build(workload: str, quick: bool):
    if workload in SEQ_WORKLOADS:
        return seq_equinox.build(workload)
    kind = kind_of(workload)
    if kind == "lenet":
        return _lenet(workload)
    model, per_example = _setup(kind)
    opt = optax.sgd(LR)

    def loss(model, x, y):
        return per_example(jax.vmap(model)(x), y).mean()

    def raw_step(model, opt_state, x, y):
        value, grads = eqx.filter_value_and_grad(loss)(model, x, y)
        updates, opt_state = opt.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), opt_state, value

    step = eqx.filter_jit(raw_step)

    state = {"m": model, "s": opt.init(eqx.filter(model, eqx.is_array)), "out": None}

    def stepper(batches, fn=step, units=None) -> Bench:
        def run() -> None:
            for x, y in batches:
                state["m"], state["s"], state["out"] = fn(state["m"], state["s"], x, y)

        return Bench(run, lambda: jax.block_until_ready(state["out"]), units or len(batches))

    if workload == "psg_loop":
        return None
    if workload.endswith("_compile"):
        x, y = map(jnp.asarray, data(kind, 64))
        return timed_first_call(lambda: jax.block_until_ready(step(model, state["s"], x, y)))
    if workload == "epoch_fused":
        xs, ys = map(jnp.asarray, data(kind, 64, EPOCH_STEPS))

        @eqx.filter_jit
        def epoch(model, opt_state, xs, ys):
            params, static = eqx.partition(model, eqx.is_array)

            def body(carry, xy):
                m, s, value = raw_step(eqx.combine(carry[0], static), carry[1], *xy)
                return (eqx.filter(m, eqx.is_array), s), value

            (params, opt_state), values = jax.lax.scan(body, (params, opt_state), (xs, ys))
            return eqx.combine(params, static), opt_state, values[-1]

        return stepper([(xs, ys)], epoch, EPOCH_STEPS)
    if workload == "epoch_loop":
        xs, ys = map(jnp.asarray, data(kind, 64, EPOCH_STEPS))
        return stepper(list(zip(xs, ys, strict=True)))
    x, y = map(jnp.asarray, data(kind, batch_of(workload)))
    if workload == "psg_vmap":

        def loss_one(m, xi, yi):
            return per_example(m(xi), yi)

        psg = eqx.filter_jit(eqx.filter_vmap(eqx.filter_grad(loss_one), in_axes=(None, 0, 0)))
        return _calls(lambda: psg(model, x, y))
    if workload.endswith("_fwd"):
        fwd = eqx.filter_jit(loss)
        return _calls(lambda: fwd(model, x, y))
    if workload.endswith("_grad"):
        vg = eqx.filter_jit(eqx.filter_value_and_grad(loss))
        return _calls(lambda: vg(model, x, y))
    return stepper([(x, y)])


def _calls(fn) -> Bench:
    last: dict = {}

    def run() -> None:
        last["out"] = fn()

    return Bench(run, lambda: jax.block_until_ready(last["out"]))
