"""Hand-written JAX: batched arrays, ``x @ w + b`` and ``lax.conv_general_dilated`` directly."""

from __future__ import annotations

import jax
import optax
from _common import kind_of
from _jaxkit import Model
from _jaxkit import build as _build
from jax import lax

KERNELS = "none: jaxlib's defaults (YNNPACK dots and convolutions)"


def _dense(key, n_in, n_out):
    bound = 1 / n_in**0.5
    kw, kb = jax.random.split(key)
    return {
        "w": jax.random.uniform(kw, (n_in, n_out), minval=-bound, maxval=bound),
        "b": jax.random.uniform(kb, (n_out,), minval=-bound, maxval=bound),
    }


def _conv_params(key, c_in, c_out, k=5):
    bound = 1 / (c_in * k * k) ** 0.5
    kw, kb = jax.random.split(key)
    return {
        "w": jax.random.uniform(kw, (c_out, c_in, k, k), minval=-bound, maxval=bound),
        "b": jax.random.uniform(kb, (c_out,), minval=-bound, maxval=bound),
    }


def _conv(p, x):
    y = lax.conv_general_dilated(
        x, p["w"], (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW")
    )
    return y + p["b"][None, :, None, None]


def mynet(params, x):
    h = x.reshape(*x.shape[:-3], -1)  # one (3, 10, 20) image or a batch of them
    h = jax.nn.relu(h @ params[0]["w"] + params[0]["b"])
    h = jax.nn.relu(h @ params[1]["w"] + params[1]["b"])
    return h @ params[2]["w"] + params[2]["b"]


def convnet(params, x):
    h = jax.nn.relu(_conv(params[0], x))
    h = jax.nn.relu(_conv(params[1], h))
    return h.reshape(h.shape[0], -1) @ params[2]["w"] + params[2]["b"]


def single(params, x):
    return x @ params["w"] + params["b"]


def cross_entropy(logits, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def bce(z, y):
    return optax.sigmoid_binary_cross_entropy(z, y).mean()


def make(kind: str) -> Model:
    k = jax.random.split(jax.random.PRNGKey(0), 3)
    if kind == "single":
        return Model(_dense(k[0], 5, 3), lambda p, x, y: bce(single(p, x), y))
    if kind == "mynet":
        params = [_dense(k[0], 600, 60), _dense(k[1], 60, 40), _dense(k[2], 40, 10)]
        fwd = mynet
    else:
        params = [_conv_params(k[0], 1, 20), _conv_params(k[1], 20, 20), _dense(k[2], 8000, 10)]
        fwd = convnet

    def loss(p, x, y):
        return cross_entropy(fwd(p, x), y)

    def loss_one(p, x, y):  # one example: (10,) logits and a scalar label
        return optax.softmax_cross_entropy_with_integer_labels(fwd(p, x), y)

    return Model(params, loss, loss_one)


def build(workload: str, quick: bool):
    if kind_of(workload) == "lenet":
        return None  # LeNet5 is compared across frameworks' own layers, not by hand
    return _build(workload, quick, make)
