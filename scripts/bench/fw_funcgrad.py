"""funcgrad, written as a user would: the public models and losses, batched with ``jax.vmap``."""

from __future__ import annotations

import jax
from _jaxkit import Model
from _jaxkit import build as _build

import funcgrad as fg
from funcgrad.autodiff import per_example_grads

MODELS = {
    "mynet": lambda: fg.models.MyNet(600, 60, 40, 10),
    "convnet": lambda: fg.models.ConvNet(num_classes=10, image_size=(28, 28)),
    "single": lambda: fg.models.SingleLayer(5, 3),
}


def make(kind: str) -> Model:
    net = MODELS[kind]()
    batched = jax.vmap(net.apply, in_axes=(None, 0))
    if kind == "single":
        loss = fg.losses.binary_cross_entropy_with_logits
    else:
        loss = fg.losses.cross_entropy

    def batch_loss(params, x, y):
        return loss(batched(params, x), y)

    def loss_one(params, x, y):
        return loss(net.apply(params, x)[None], y[None])

    return Model(net.init(jax.random.PRNGKey(0)), batch_loss, loss_one, per_example_grads)


def build(workload: str, quick: bool):
    return _build(workload, quick, make)
