"""The sequence and generator workloads in Flax NNX, with NNX's own layers as its guides use them:
``nnx.RNN`` over ``nnx.OptimizedLSTMCell``, ``nnx.MultiHeadAttention`` with a causal mask, and
``nnx.ConvTranspose`` (NHWC) with ``nnx.BatchNorm`` in training mode; ``nnx.jit`` train steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from _common import DCGAN, GPT, LR, LSTM, Bench, seq_data
from flax import nnx


class LSTMModel(nnx.Module):
    def __init__(self, vocab: int, hidden: int, layers: int, rngs: nnx.Rngs) -> None:
        self.encoder = nnx.Embed(vocab, hidden, rngs=rngs)
        self.layers = nnx.List(
            [
                nnx.RNN(nnx.OptimizedLSTMCell(hidden, hidden, rngs=rngs), time_major=True)
                for _ in range(layers)
            ]
        )
        self.decoder = nnx.Linear(hidden, vocab, rngs=rngs)

    def __call__(self, tokens):
        x = self.encoder(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.decoder(x)


class Block(nnx.Module):
    def __init__(self, width: int, heads: int, rngs: nnx.Rngs) -> None:
        self.ln_1 = nnx.LayerNorm(width, epsilon=1e-5, rngs=rngs)
        self.ln_2 = nnx.LayerNorm(width, epsilon=1e-5, rngs=rngs)
        self.attn = nnx.MultiHeadAttention(heads, width, decode=False, rngs=rngs)
        self.fc = nnx.Linear(width, 4 * width, rngs=rngs)
        self.proj = nnx.Linear(4 * width, width, rngs=rngs)

    def __call__(self, x, mask):
        x = x + self.attn(self.ln_1(x), mask=mask)
        return x + self.proj(nnx.gelu(self.fc(self.ln_2(x)), approximate=False))


class GPTModel(nnx.Module):
    def __init__(self, vocab: int, width: int, layers: int, heads: int, seq: int, rngs) -> None:
        self.wte, self.wpe = nnx.Embed(vocab, width, rngs=rngs), nnx.Embed(seq, width, rngs=rngs)
        self.h = nnx.List([Block(width, heads, rngs) for _ in range(layers)])
        self.ln_f = nnx.LayerNorm(width, epsilon=1e-5, rngs=rngs)

    def __call__(self, tokens):
        t = tokens.shape[1]
        x = self.wte(tokens) + self.wpe(jnp.arange(t))
        mask = nnx.make_causal_mask(tokens)
        for block in self.h:
            x = block(x, mask)
        return self.wte.attend(self.ln_f(x))  # lm_head tied to the token embedding


class Generator(nnx.Module):
    def __init__(self, nz: int, ngf: int, channels: int, rngs: nnx.Rngs) -> None:
        sizes = [nz, ngf * 8, ngf * 4, ngf * 2, ngf]
        # torch's ConvTranspose2d(k=4, stride, padding p) is lax's transposed padding k - 1 - p
        self.convs = nnx.List(
            [
                nnx.ConvTranspose(
                    cin, cout, (4, 4), strides=(s, s), padding=((pad, pad), (pad, pad)),
                    use_bias=False, rngs=rngs,
                )
                for cin, cout, s, pad in zip(
                    sizes, [*sizes[1:], channels], [1, 2, 2, 2, 2], [3, 2, 2, 2, 2], strict=True
                )
            ]
        )  # fmt: skip
        # torch's momentum 0.1 is Flax's 0.9 (the weight of the old running value)
        self.norms = nnx.List(
            [nnx.BatchNorm(c, momentum=0.9, epsilon=1e-5, rngs=rngs) for c in sizes[1:]]
        )

    def __call__(self, z):
        x = z
        for conv, norm in zip(self.convs[:-1], self.norms, strict=True):
            x = nnx.relu(norm(conv(x)))
        return jnp.tanh(self.convs[-1](x))


def _model_and_loss(workload: str):
    rngs = nnx.Rngs(0)
    if workload == "lstm_lm":
        model = LSTMModel(LSTM["vocab"], LSTM["hidden"], LSTM["layers"], rngs)
        return model, lambda m, x, y: optax.softmax_cross_entropy_with_integer_labels(
            m(x), y
        ).mean()
    if workload == "gpt":
        model = GPTModel(GPT["vocab"], GPT["width"], GPT["layers"], GPT["heads"], GPT["seq"], rngs)
        return model, lambda m, x, y: optax.softmax_cross_entropy_with_integer_labels(
            m(x), y
        ).mean()
    model = Generator(DCGAN["nz"], DCGAN["ngf"], DCGAN["channels"], rngs)
    return model, lambda m, z, images: jnp.mean((m(z) - images) ** 2)


def build(workload: str) -> Bench:
    model, loss_fn = _model_and_loss(workload)
    model.train()
    optimizer = nnx.Optimizer(model, optax.sgd(LR), wrt=nnx.Param)
    x, y = seq_data(workload)
    if workload == "dcgan_g":
        x, y = x.transpose(0, 2, 3, 1), y.transpose(0, 2, 3, 1)  # NCHW -> NHWC
    x, y = jnp.asarray(x), jnp.asarray(y)

    @nnx.jit
    def step(model, optimizer, x, y):
        loss, grads = nnx.value_and_grad(lambda m: loss_fn(m, x, y))(model)
        optimizer.update(model, grads)
        return loss

    last: dict = {}

    def run() -> None:
        last["out"] = step(model, optimizer, x, y)

    return Bench(run, lambda: jax.block_until_ready(last["out"]))
