"""The sequence and generator workloads in PyTorch, as its examples write them.

``LSTMModel`` is the word language model example's ``RNNModel`` (LSTM, tied weights off),
``GPT`` is nanoGPT's model at a small size, ``Generator`` is the DCGAN example's generator.
"""

from __future__ import annotations

import math

import torch
from _common import DCGAN, GPT, LR, LSTM, Bench, seq_data
from torch import nn
from torch.nn import functional as F


class LSTMModel(nn.Module):
    def __init__(self, vocab: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.encoder = nn.Embedding(vocab, hidden)
        self.rnn = nn.LSTM(hidden, hidden, layers)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, tokens, hidden):
        output, hidden = self.rnn(self.encoder(tokens), hidden)
        return self.decoder(output), hidden


class Block(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.c_attn, self.c_proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp_fc, self.mlp_proj = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))
        return x + self.mlp_proj(F.gelu(self.mlp_fc(self.ln_2(x))))


class GPTModel(nn.Module):
    def __init__(self, vocab: int, width: int, layers: int, heads: int, seq: int) -> None:
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, width), nn.Embedding(seq, width)
        self.h = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        self.lm_head = nn.Linear(width, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as nanoGPT
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * layers))

    def forward(self, tokens):
        x = self.wte(tokens) + self.wpe(torch.arange(tokens.shape[1]))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def generator(nz: int, ngf: int, channels: int) -> nn.Module:
    def up(cin: int, cout: int) -> list[nn.Module]:
        return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(),
        *up(ngf * 8, ngf * 4), *up(ngf * 4, ngf * 2), *up(ngf * 2, ngf),
        nn.ConvTranspose2d(ngf, channels, 4, 2, 1, bias=False), nn.Tanh(),
    )  # fmt: skip


def model_and_loss(workload: str):
    """``(model, loss(model, x, y))`` of a workload, in train mode."""
    torch.manual_seed(0)
    if workload == "lstm_lm":
        model = LSTMModel(LSTM["vocab"], LSTM["hidden"], LSTM["layers"])
        zeros = torch.zeros(LSTM["layers"], LSTM["batch"], LSTM["hidden"])

        def loss(m, x, y):
            logits, _ = m(x, (zeros, zeros))
            return F.cross_entropy(logits.view(-1, LSTM["vocab"]), y.reshape(-1))

        return model, loss
    if workload == "gpt":
        model = GPTModel(GPT["vocab"], GPT["width"], GPT["layers"], GPT["heads"], GPT["seq"])
        return model, lambda m, x, y: F.cross_entropy(m(x).view(-1, GPT["vocab"]), y.reshape(-1))
    model = generator(DCGAN["nz"], DCGAN["ngf"], DCGAN["channels"]).train()
    return model, lambda m, z, images: F.mse_loss(m(z), images)


def build(workload: str, compile: bool) -> Bench:
    model, loss = model_and_loss(workload)
    fwd = torch.compile(model) if compile else model
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = (torch.from_numpy(a) for a in seq_data(workload))
    if workload != "dcgan_g":
        x, y = x.long(), y.long()

    def step():
        opt.zero_grad(set_to_none=True)
        value = loss(fwd, x, y)
        value.backward()
        opt.step()
        return value

    return Bench(step)
