"""The sequence and generator workloads in funcgrad: the built-in ``fg.models.CharLSTM`` (at the word
language model's sizes) and ``fg.models.GPT``, and the DCGAN generator from ``fg.nn`` layers,
trained with the same optax step as every JAX framework here (``_jaxkit.train_step``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from _common import DCGAN, GPT, LSTM, seq_data
from _jaxkit import Model, _stepper, train_step

import funcgrad as fg


def generator() -> fg.nn.Module:
    nz, ngf, c = DCGAN["nz"], DCGAN["ngf"], DCGAN["channels"]
    nn = fg.nn

    def up(cin: int, cout: int) -> list[fg.nn.Module]:
        return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(),
        *up(ngf * 8, ngf * 4), *up(ngf * 4, ngf * 2), *up(ngf * 2, ngf),
        nn.ConvTranspose2d(ngf, c, 4, 2, 1, bias=False), nn.Tanh(),
    )  # fmt: skip


def _model(workload: str) -> Model:
    key = jax.random.PRNGKey(0)
    if workload == "dcgan_g":
        net = generator()

        def train_loss(params, z, images, buffers, key):
            out, buffers = net.apply(params, z, buffers=buffers, train=True, key=key)
            return fg.losses.mse_loss(out, images), buffers

        return Model(net.init(key), train_loss, buffers=net.init_buffers())
    if workload == "lstm_lm":
        net = fg.models.CharLSTM(LSTM["vocab"], LSTM["hidden"], LSTM["hidden"], LSTM["layers"])
    else:
        net = fg.models.GPT(
            GPT["vocab"], GPT["seq"], GPT["layers"], GPT["heads"], GPT["width"], dropout=0.0
        )

    def loss(params, x, y):
        logits = net.apply(params, x)
        return fg.losses.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    return Model(net.init(key), loss)


def build(workload: str, jit):
    x, y = seq_data(workload)
    if workload == "lstm_lm":
        x, y = x.T, y.T  # CharLSTM is batch-first
    step, carry = train_step(_model(workload))
    return _stepper(jit(step), carry, [(jnp.asarray(x), jnp.asarray(y))])
