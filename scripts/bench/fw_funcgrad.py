"""funcgrad, written as a user would: the public models and losses, batched with ``jax.vmap``.

Every program is compiled the way funcgrad's own application compiles its programs (``fit``, the
CLI, the scripts): with the fast CPU kernels as a per-program compiler option, not a process flag.
"""

from __future__ import annotations

import epoch_fit
import jax
import seq_funcgrad
from _common import FIT_WORKLOADS, SEQ_WORKLOADS
from _jaxkit import Model
from _jaxkit import build as _build

import funcgrad as fg
from funcgrad.autodiff import per_example_grads

# The core's fg.jit (issue 27): jax.jit with the fast kernels' compiler option, as fit compiles.
from funcgrad.train import FAST_CPU_OPTIONS

KERNELS = f"per-program compiler_options {FAST_CPU_OPTIONS} (fg.jit)"


def _lenet() -> fg.nn.Module:
    if hasattr(fg.models, "LeNet5"):
        return fg.models.LeNet5()
    nn = fg.nn  # the same network from layers, until fg.models.LeNet5 lands
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(120, 84), nn.ReLU(), nn.Dropout(0.5), nn.Linear(84, 10),
    )  # fmt: skip


MODELS = {
    "mynet": lambda: fg.models.MyNet(600, 60, 40, 10),
    "convnet": lambda: fg.models.ConvNet(num_classes=10, image_size=(28, 28)),
    "single": lambda: fg.models.SingleLayer(5, 3),
    "lenet": _lenet,
}


def make(kind: str) -> Model:
    net = MODELS[kind]()
    params = net.init(jax.random.PRNGKey(0))
    if kind == "lenet":  # batch norm needs the batch: applied to whole batches, in train mode

        def train_loss(params, x, y, buffers, key):
            logits, buffers = net.apply(params, x, buffers=buffers, train=True, key=key)
            return fg.losses.cross_entropy(logits, y), buffers

        return Model(params, train_loss, buffers=net.init_buffers())
    batched = jax.vmap(net.apply, in_axes=(None, 0))
    loss = (
        fg.losses.binary_cross_entropy_with_logits if kind == "single" else fg.losses.cross_entropy
    )

    def batch_loss(params, x, y):
        return loss(batched(params, x), y)

    def loss_one(params, x, y):
        return loss(net.apply(params, x)[None], y[None])

    return Model(params, batch_loss, loss_one, per_example_grads)


def build(workload: str, quick: bool, jit=fg.jit):
    if workload in FIT_WORKLOADS:  # fit compiles its own programs, with fg.jit
        return epoch_fit.funcgrad_bench(workload, quick) if jit is fg.jit else None
    if workload in SEQ_WORKLOADS:
        return seq_funcgrad.build(workload, jit)
    return _build(workload, quick, make, jit)
