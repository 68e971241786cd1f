"""The models of the lecture notes, each an ``(init, apply)`` pair acting on one example, and two
character language models (``CharLSTM``, ``GPT``, on batches) with ``sample`` to continue a prompt.

Batch any of them with ``jax.vmap(model.apply, in_axes=(None, 0))`` or ``fg.nn.Batched(model)``.

Example:
    >>> import jax, jax.numpy as jnp, funcgrad as fg
    >>> net = fg.models.MyNet(600, 60, 40, 10)
    >>> net.apply(net.init(jax.random.key(0)), jnp.ones((3, 10, 20))).shape
    (10,)
"""

from funcgrad.models._charlstm import CharLSTM
from funcgrad.models._convnet import ConvNet
from funcgrad.models._gpt import GPT
from funcgrad.models._lenet import LeNet5
from funcgrad.models._linear_regression import LinearRegression
from funcgrad.models._mynet import MyNet
from funcgrad.models._sample import sample
from funcgrad.models._single_layer import SingleLayer

__all__ = [
    "GPT",
    "CharLSTM",
    "ConvNet",
    "LeNet5",
    "LinearRegression",
    "MyNet",
    "SingleLayer",
    "sample",
]
