"""The sequence and generator workloads in Equinox, with its own layers on ONE example and
``vmap`` for the batch: ``eqx.nn.LSTMCell`` under ``lax.scan``, ``eqx.nn.MultiheadAttention``
with a causal mask, ``eqx.nn.ConvTranspose2d`` with ``eqx.nn.BatchNorm`` (batch statistics);
``eqx.filter_jit`` train steps with optax."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from _common import DCGAN, GPT, LR, LSTM, Bench, seq_data


class LSTMModel(eqx.Module):
    encoder: eqx.nn.Embedding
    cells: list
    decoder: eqx.nn.Linear

    def __init__(self, vocab: int, hidden: int, layers: int, key) -> None:
        k = jax.random.split(key, layers + 2)
        self.encoder = eqx.nn.Embedding(vocab, hidden, key=k[0])
        self.cells = [eqx.nn.LSTMCell(hidden, hidden, key=k[i + 1]) for i in range(layers)]
        self.decoder = eqx.nn.Linear(hidden, vocab, key=k[-1])

    def __call__(self, tokens):  # one sequence (seq,)
        x = jax.vmap(self.encoder)(tokens)
        for cell in self.cells:
            zeros = jnp.zeros(cell.hidden_size)

            def body(state, xt, cell=cell):
                h, c = cell(xt, state)
                return (h, c), h

            _, x = jax.lax.scan(body, (zeros, zeros), x)
        return jax.vmap(self.decoder)(x)


class Block(eqx.Module):
    ln_1: eqx.nn.LayerNorm
    ln_2: eqx.nn.LayerNorm
    attn: eqx.nn.MultiheadAttention
    fc: eqx.nn.Linear
    proj: eqx.nn.Linear

    def __init__(self, width: int, heads: int, key) -> None:
        k = jax.random.split(key, 3)
        self.ln_1, self.ln_2 = eqx.nn.LayerNorm(width), eqx.nn.LayerNorm(width)
        self.attn = eqx.nn.MultiheadAttention(heads, width, use_query_bias=True,
                                              use_key_bias=True, use_value_bias=True,
                                              use_output_bias=True, key=k[0])  # fmt: skip
        self.fc = eqx.nn.Linear(width, 4 * width, key=k[1])
        self.proj = eqx.nn.Linear(4 * width, width, key=k[2])

    def __call__(self, x, mask):  # one sequence (seq, width)
        h = jax.vmap(self.ln_1)(x)
        x = x + self.attn(h, h, h, mask=mask)
        h = jax.vmap(self.fc)(jax.vmap(self.ln_2)(x))
        return x + jax.vmap(self.proj)(jax.nn.gelu(h, approximate=False))


class GPTModel(eqx.Module):
    wte: eqx.nn.Embedding
    wpe: eqx.nn.Embedding
    h: list
    ln_f: eqx.nn.LayerNorm

    def __init__(self, vocab: int, width: int, layers: int, heads: int, seq: int, key) -> None:
        k = jax.random.split(key, layers + 2)
        self.wte, self.wpe = (
            eqx.nn.Embedding(vocab, width, key=k[0]),
            eqx.nn.Embedding(seq, width, key=k[1]),
        )
        self.h = [Block(width, heads, k[i + 2]) for i in range(layers)]
        self.ln_f = eqx.nn.LayerNorm(width)

    def __call__(self, tokens):  # one sequence (seq,)
        t = tokens.shape[0]
        x = jax.vmap(self.wte)(tokens) + jax.vmap(self.wpe)(jnp.arange(t))
        mask = jnp.tril(jnp.ones((t, t), bool))
        for block in self.h:
            x = block(x, mask)
        return jax.vmap(self.ln_f)(x) @ self.wte.weight.T  # lm_head tied to the embedding


class Generator(eqx.Module):
    convs: list
    norms: list

    def __init__(self, nz: int, ngf: int, channels: int, key) -> None:
        sizes = [nz, ngf * 8, ngf * 4, ngf * 2, ngf, channels]
        k = jax.random.split(key, 5)
        self.convs = [
            eqx.nn.ConvTranspose2d(cin, cout, 4, stride=s, padding=p, use_bias=False, key=ki)
            for cin, cout, s, p, ki in zip(
                sizes[:-1], sizes[1:], [1, 2, 2, 2, 2], [0, 1, 1, 1, 1], k, strict=True
            )
        ]
        # mode="batch" is torch's batch norm: batch statistics in training (equinox#948)
        self.norms = [
            eqx.nn.BatchNorm(c, axis_name="batch", momentum=0.9, mode="batch") for c in sizes[1:-1]
        ]

    def __call__(self, z, state):  # one example (nz, 1, 1)
        x = z
        for conv, norm in zip(self.convs[:-1], self.norms, strict=True):
            x, state = norm(conv(x), state)
            x = jax.nn.relu(x)
        return jnp.tanh(self.convs[-1](x)), state


def _xent(logits, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def build(workload: str) -> Bench:
    key = jax.random.PRNGKey(0)
    opt = optax.sgd(LR)
    x, y = map(jnp.asarray, seq_data(workload))
    if workload == "dcgan_g":
        model, state = eqx.nn.make_with_state(Generator)(
            DCGAN["nz"], DCGAN["ngf"], DCGAN["channels"], key
        )

        def loss(model, state, z, images):
            batched = jax.vmap(model, axis_name="batch", in_axes=(0, None), out_axes=(0, None))
            out, state = batched(z, state)
            return jnp.mean((out - images) ** 2), state
    else:
        if workload == "lstm_lm":
            model = LSTMModel(LSTM["vocab"], LSTM["hidden"], LSTM["layers"], key)
            x, y = x.T, y.T  # time-major batches -> one sequence per example
        else:
            model = GPTModel(
                GPT["vocab"], GPT["width"], GPT["layers"], GPT["heads"], GPT["seq"], key
            )
        state = None

        def loss(model, state, x, y):
            return _xent(jax.vmap(model)(x), y), state

    @eqx.filter_jit
    def step(model, state, opt_state, x, y):
        (value, state), grads = eqx.filter_value_and_grad(loss, has_aux=True)(model, state, x, y)
        updates, opt_state = opt.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), state, opt_state, value

    carry = [model, state, opt.init(eqx.filter(model, eqx.is_array))]
    last: dict = {}

    def run() -> None:
        *carry[:], last["out"] = step(*carry, x, y)

    return Bench(run, lambda: jax.block_until_ready(last["out"]))
