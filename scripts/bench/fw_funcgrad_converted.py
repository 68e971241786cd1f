"""funcgrad, converted from PyTorch: ``fw_torch``'s models through ``fg.interop.convert``.

The same train step, loss and compiler option as ``fw_funcgrad`` (the models written by hand in
funcgrad); only the model differs, so the ratio of the two is what conversion costs. The converted
models take whole batches, as torch's ``forward`` does, so nothing is ``vmap``-ed here.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import torch
from _common import data
from _jaxkit import Model
from _jaxkit import build as _build
from fw_funcgrad import KERNELS  # noqa: F401  (the same compile switch, so the same account)
from fw_torch import MODELS

import funcgrad as fg

# torch only traces here; one thread leaves no OpenMP workers spinning beside XLA's.
torch.set_num_threads(1)


def convert(kind: str) -> fg.interop.Conversion:
    """fw_torch's model of this kind (the benchmark's own torch code), converted."""
    torch.manual_seed(0)
    x, _ = data(kind, 2)
    return fg.interop.convert(MODELS[kind](), torch.from_numpy(x))


def make(kind: str) -> Model:
    conv = convert(kind)
    net, params = conv.model, jax.tree.map(jnp.asarray, conv.params)
    if not conv.buffers:
        return Model(params, lambda p, x, y: fg.losses.cross_entropy(net.apply(p, x), y))

    def train_loss(params, x, y, buffers, key):  # batch norm and dropout: torch's model.train()
        out, new = net.apply(params, x, buffers=buffers, train=True, key=key)
        return fg.losses.cross_entropy(out, y), new

    return Model(params, train_loss, buffers=jax.tree.map(jnp.asarray, conv.buffers))


def build(workload: str, quick: bool, jit=fg.jit):
    return _build(workload, quick, make, jit)
