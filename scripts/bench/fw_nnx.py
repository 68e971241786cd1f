"""Flax NNX, as its guide writes a training step: ``nnx.Module``, ``nnx.Optimizer``, ``nnx.jit``.

Images are NHWC here, Flax's convolution layout. Per-sample gradients and the fused epoch use
NNX's functional API (``nnx.split`` / ``nnx.merge``) under ``jax.vmap`` and ``lax.scan``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
import seq_nnx
from _common import EPOCH_STEPS, LR, SEQ_WORKLOADS, Bench, batch_of, data, kind_of, timed_first_call
from flax import nnx

KERNELS = "none: nnx.jit, jaxlib's defaults (YNNPACK dots and convolutions)"


class MyNet(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.m0, self.m1 = nnx.Linear(600, 60, rngs=rngs), nnx.Linear(60, 40, rngs=rngs)
        self.m2 = nnx.Linear(40, 10, rngs=rngs)

    def __call__(self, x):
        x = x.reshape(*x.shape[:-3], -1)  # one (3, 10, 20) image or a batch of them
        return self.m2(nnx.relu(self.m1(nnx.relu(self.m0(x)))))


class ConvNet(nnx.Module):
    def __init__(self, rngs: nnx.Rngs) -> None:
        self.conv1 = nnx.Conv(1, 20, (5, 5), padding="VALID", rngs=rngs)
        self.conv2 = nnx.Conv(20, 20, (5, 5), padding="VALID", rngs=rngs)
        self.head = nnx.Linear(20 * 20 * 20, 10, rngs=rngs)

    def __call__(self, x):
        x = nnx.relu(self.conv2(nnx.relu(self.conv1(x))))
        return self.head(x.reshape(x.shape[0], -1))


class LeNet5(nnx.Module):
    """funcgrad's ``fg.models.LeNet5`` in NNX layers; train mode (batch statistics, dropout)."""

    def __init__(self, rngs: nnx.Rngs) -> None:
        # torch's momentum 0.1 is Flax's 0.9 (the weight of the old running value)
        self.conv1 = nnx.Conv(1, 6, (5, 5), padding=((2, 2), (2, 2)), rngs=rngs)
        self.bn1 = nnx.BatchNorm(6, momentum=0.9, epsilon=1e-5, rngs=rngs)
        self.conv2 = nnx.Conv(6, 16, (5, 5), padding="VALID", rngs=rngs)
        self.bn2 = nnx.BatchNorm(16, momentum=0.9, epsilon=1e-5, rngs=rngs)
        self.fc1, self.fc2 = nnx.Linear(400, 120, rngs=rngs), nnx.Linear(120, 84, rngs=rngs)
        self.fc3 = nnx.Linear(84, 10, rngs=rngs)
        self.dropout = nnx.Dropout(0.5, rngs=rngs)

    def __call__(self, x):
        x = nnx.max_pool(nnx.relu(self.bn1(self.conv1(x))), (2, 2), strides=(2, 2))
        x = nnx.max_pool(nnx.relu(self.bn2(self.conv2(x))), (2, 2), strides=(2, 2))
        x = self.dropout(nnx.relu(self.fc1(x.reshape(x.shape[0], -1))))
        return self.fc3(self.dropout(nnx.relu(self.fc2(x))))


MODELS = {"mynet": MyNet, "convnet": ConvNet, "lenet": LeNet5}


def _setup(kind: str):
    rngs = nnx.Rngs(0)
    if kind == "single":
        return nnx.Linear(5, 3, rngs=rngs), lambda z, y: optax.sigmoid_binary_cross_entropy(
            z, y
        ).mean()
    model = MODELS[kind](rngs)
    return model, lambda z, y: optax.softmax_cross_entropy_with_integer_labels(z, y).mean()


def _arrays(kind: str, batch: int, steps: int = 0):
    x, y = data(kind, batch, steps)
    if kind in ("convnet", "lenet"):
        x = x.transpose(*range(x.ndim - 3), -2, -1, -3)  # NCHW -> NHWC
    return jnp.asarray(x), jnp.asarray(y)


def build(workload: str, quick: bool):
    if workload in SEQ_WORKLOADS:
        return seq_nnx.build(workload)
    kind = kind_of(workload)
    model, loss_fn = _setup(kind)
    optimizer = nnx.Optimizer(model, optax.sgd(LR), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, x, y):
        loss, grads = nnx.value_and_grad(lambda m: loss_fn(m(x), y))(model)
        optimizer.update(model, grads)
        return loss

    if workload == "psg_loop":
        return None
    if workload.endswith("_compile"):
        x, y = _arrays(kind, 64)
        return timed_first_call(lambda: jax.block_until_ready(step(model, optimizer, x, y)))
    if workload in ("epoch_fused", "psg_vmap"):
        return _functional(workload, kind, model, loss_fn)
    if workload == "epoch_loop":
        xs, ys = _arrays(kind, 64, EPOCH_STEPS)
        batches = list(zip(xs, ys, strict=True))
        return _loop(lambda: [step(model, optimizer, x, y) for x, y in batches], EPOCH_STEPS)
    x, y = _arrays(kind, batch_of(workload))
    if workload.endswith("_fwd"):
        fwd = nnx.jit(lambda m, x, y: loss_fn(m(x), y))
        return _loop(lambda: [fwd(model, x, y)])
    if workload.endswith("_grad"):
        vg = nnx.jit(nnx.value_and_grad(lambda m, x, y: loss_fn(m(x), y)))
        return _loop(lambda: [vg(model, x, y)])
    return _loop(lambda: [step(model, optimizer, x, y)])


def _loop(fn, units: int = 1) -> Bench:
    last: dict = {}

    def run() -> None:
        last["out"] = fn()

    return Bench(run, lambda: jax.block_until_ready(last["out"]), units)


def _functional(workload: str, kind: str, model, loss_fn) -> Bench:
    graphdef, params = nnx.split(model)

    def loss(params, x, y):
        return loss_fn(nnx.merge(graphdef, params)(x), y)

    if workload == "psg_vmap":
        x, y = _arrays(kind, 64)

        def loss_one(params, x, y):  # one example: (10,) logits and a scalar label
            logits = nnx.merge(graphdef, params)(x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y)

        psg = jax.jit(jax.vmap(jax.grad(loss_one), in_axes=(None, 0, 0)))
        return _loop(lambda: psg(params, x, y))
    xs, ys = _arrays(kind, 64, EPOCH_STEPS)
    opt = optax.sgd(LR)

    @jax.jit
    def epoch(params, opt_state):
        def body(carry, xy):
            p, s = carry
            value, g = jax.value_and_grad(loss)(p, *xy)
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), value

        return jax.lax.scan(body, (params, opt_state), (xs, ys))

    state = {"c": (params, opt.init(params))}

    def run() -> None:
        state["c"], state["losses"] = epoch(*state["c"])

    return Bench(run, lambda: jax.block_until_ready(state["losses"]), EPOCH_STEPS)
