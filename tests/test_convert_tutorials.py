"""Models written the way the PyTorch tutorials write them, converted as far as the op table goes.

Each is converted, then run against torch on the same weights: outputs, and the gradients of a
random projection of them w.r.t. every parameter; the conversion leaves the torch model as it came.
Every glue op of the Transformer LM maps (tests/_op_inventory.py).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from _op_inventory import export_ops, fx_ops, mapped, name
from torch import nn

import funcgrad as fg

# -- the word language model (pytorch/examples/word_language_model) --------------------------------


class RNNModel(nn.Module):
    """An embedding, an LSTM and a decoder, with dropout between them."""

    def __init__(self, ntoken=20, ninp=8, nhid=8, nlayers=2, dropout=0.2):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return TF.log_softmax(decoded, dim=1), hidden


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=32):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        pe = pe.unsqueeze(0).transpose(0, 1)
        self.register_buffer("pe", pe)

    def forward(self, x):
        x = x + self.pe[: x.size(0), :]
        return self.dropout(x)


class TransformerModel(nn.Module):
    """The tutorial's Transformer LM: a causal mask unless ``has_mask=False``."""

    def __init__(self, ntoken=20, ninp=8, nhead=2, nhid=16, nlayers=1, dropout=0.2):
        super().__init__()
        self.src_mask = None
        self.pos_encoder = PositionalEncoding(ninp, dropout)
        layer = nn.TransformerEncoderLayer(ninp, nhead, nhid, dropout)
        self.encoder = nn.TransformerEncoder(layer, nlayers, enable_nested_tensor=False)
        self.input_emb = nn.Embedding(ntoken, ninp)
        self.ninp = ninp
        self.decoder = nn.Linear(ninp, ntoken)

    def _generate_square_subsequent_mask(self, sz):
        return torch.log(torch.tril(torch.ones(sz, sz)))

    def forward(self, src, has_mask=True):
        if has_mask:
            device = src.device
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                mask = self._generate_square_subsequent_mask(len(src)).to(device)
                self.src_mask = mask
        else:
            self.src_mask = None
        src = self.input_emb(src) * math.sqrt(self.ninp)
        src = self.pos_encoder(src)
        output = self.encoder(src, mask=self.src_mask)
        output = self.decoder(output)
        return TF.log_softmax(output, dim=-1)


# -- a Llama-style block (meta-llama/llama's model.py, small) ----------------------------------------


def precompute_freqs_cis(dim, end, theta=10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = torch.arange(end, device=freqs.device)
    freqs = torch.outer(t, freqs).float()
    return torch.polar(torch.ones_like(freqs), freqs)  # complex64


def reshape_for_broadcast(freqs_cis, x):
    ndim = x.ndim
    assert 0 <= 1 < ndim
    assert freqs_cis.shape == (x.shape[1], x.shape[-1])
    shape = [d if i == 1 or i == ndim - 1 else 1 for i, d in enumerate(x.shape)]
    return freqs_cis.view(*shape)


def apply_rotary_emb(xq, xk, freqs_cis):
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    freqs_cis = reshape_for_broadcast(freqs_cis, xq_)
    xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
    xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        normed = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)
        return normed.type_as(x) * self.weight


class Attention(nn.Module):
    def __init__(self, dim, n_heads):
        super().__init__()
        self.n_heads, self.head_dim = n_heads, dim // n_heads
        self.wq = nn.Linear(dim, dim, bias=False)
        self.wk = nn.Linear(dim, dim, bias=False)
        self.wv = nn.Linear(dim, dim, bias=False)
        self.wo = nn.Linear(dim, dim, bias=False)

    def forward(self, x, freqs_cis, mask):
        bsz, seqlen, _ = x.shape
        xq, xk, xv = self.wq(x), self.wk(x), self.wv(x)
        xq = xq.view(bsz, seqlen, self.n_heads, self.head_dim)
        xk = xk.view(bsz, seqlen, self.n_heads, self.head_dim)
        xv = xv.view(bsz, seqlen, self.n_heads, self.head_dim)
        xq, xk = apply_rotary_emb(xq, xk, freqs_cis=freqs_cis)
        xq, keys, values = xq.transpose(1, 2), xk.transpose(1, 2), xv.transpose(1, 2)
        scores = torch.matmul(xq, keys.transpose(2, 3)) / math.sqrt(self.head_dim)
        scores = scores + mask
        scores = TF.softmax(scores.float(), dim=-1).type_as(xq)
        output = torch.matmul(scores, values)
        output = output.transpose(1, 2).contiguous().view(bsz, seqlen, -1)
        return self.wo(output)


class FeedForward(nn.Module):
    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden_dim, bias=False)
        self.w2 = nn.Linear(hidden_dim, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden_dim, bias=False)

    def forward(self, x):
        return self.w2(TF.silu(self.w1(x)) * self.w3(x))


class LlamaBlock(nn.Module):
    """One transformer block with rotary embeddings, its token embedding, norm and head."""

    def __init__(self, vocab=20, dim=8, n_heads=2):
        super().__init__()
        self.head_dim = dim // n_heads
        self.tok_embeddings = nn.Embedding(vocab, dim)
        self.attention = Attention(dim, n_heads)
        self.feed_forward = FeedForward(dim, 16)
        self.attention_norm = RMSNorm(dim)
        self.ffn_norm = RMSNorm(dim)
        self.norm = RMSNorm(dim)
        self.output = nn.Linear(dim, vocab, bias=False)

    def forward(self, tokens):
        seqlen = tokens.shape[1]
        h = self.tok_embeddings(tokens)
        freqs_cis = precompute_freqs_cis(self.head_dim, seqlen)
        mask = torch.full((seqlen, seqlen), float("-inf"), device=tokens.device)
        mask = torch.triu(mask, diagonal=1)
        h = h + self.attention(self.attention_norm(h), freqs_cis, mask)
        h = h + self.feed_forward(self.ffn_norm(h))
        return self.output(self.norm(h)).float()


# -- checks -----------------------------------------------------------------------------------------


def _flat(tree, prefix=""):
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in _flat(sub, f"{prefix}{key}.").items()}
    return {prefix[:-1]: tree}


def _leaves(tree):
    if isinstance(tree, torch.Tensor):
        return [tree]
    return [leaf for item in tree for leaf in _leaves(item)]


def _double(x):
    if isinstance(x, tuple):
        return tuple(_double(t) for t in x)
    return x.double() if x.is_floating_point() else x


def _attributes(model):
    """Each module's attributes and buffer slots, by the identity of their values."""
    return [
        ({k: id(v) for k, v in vars(m).items()}, {k: id(v) for k, v in m._buffers.items()})
        for m in model.modules()
    ]


def _matches_torch(model, inputs, rtol, kwargs=None):
    """Convert ``model`` (eval mode, float64) on ``inputs``; its outputs and parameter gradients
    (of a random projection of the float outputs) equal torch's."""
    model = model.double().eval()
    inputs = tuple(_double(x) for x in inputs)
    example = inputs if len(inputs) > 1 else inputs[0]
    extra = {} if kwargs is None else {"kwargs": kwargs}
    before = _attributes(model)
    conv = fg.interop.convert(model, example, **extra)
    # the torch model as it came (the Transformer LM's forward assigns self.src_mask)
    assert _attributes(model) == before
    g = torch.Generator().manual_seed(1)
    expected = _leaves(model(*inputs, **(kwargs or {})))
    cotangents = [torch.randn(e.shape, generator=g, dtype=torch.float64) for e in expected]
    model.zero_grad()
    sum((c * e).sum() for c, e in zip(cotangents, expected, strict=True)).backward()
    grads = {n: p.grad.numpy() for n, p in model.named_parameters()}

    def to_jax(x):
        return jax.tree.map(lambda t: jnp.asarray(t.numpy()), x)

    args = to_jax(inputs) if len(inputs) > 1 else to_jax(inputs[0])

    def loss(params):
        if conv.buffers:  # the positional encoding's table: (y, buffers) back
            y, _ = conv.model.apply(params, args, buffers=conv.buffers, **(kwargs or {}))
        else:
            y = conv.model.apply(params, args, **(kwargs or {}))
        got = jax.tree.leaves(y)
        return sum(
            jnp.sum(jnp.asarray(c.numpy()) * y) for c, y in zip(cotangents, got, strict=True)
        ), got

    (_, got), got_grads = jax.jit(jax.value_and_grad(loss, has_aux=True))(conv.params)
    for y, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(y), e.detach().numpy(), rtol=rtol, atol=rtol)
    flat = _flat(got_grads)
    assert flat.keys() == grads.keys()
    for n, gt in grads.items():
        np.testing.assert_allclose(np.asarray(flat[n]), gt, rtol=rtol, atol=rtol, err_msg=n)
    return conv


def _tokens(*shape):
    return torch.randint(0, 20, shape, generator=torch.Generator().manual_seed(0))


def _unmapped(model, inputs, how, concrete_args=None):
    ops = fx_ops(model, inputs, concrete_args) if how == "fx" else export_ops(model, inputs)
    return {name(op) for op in ops if not mapped(op)}


@pytest.fixture(autouse=True)
def _x64_and_seed():
    torch.manual_seed(0)
    with jax.enable_x64(True):
        yield


def test_word_language_model_lstm():
    hidden = (torch.zeros(2, 3, 8), torch.zeros(2, 3, 8))
    _matches_torch(RNNModel(), (_tokens(5, 3), hidden), rtol=1e-10)


def test_transformer_word_language_model_ops_map():
    """Without the mask fx follows forward (has_mask a constant); the mask's ops are in the op
    table's own tests (tril, log, ones, .to(device))."""
    model = TransformerModel().eval()
    assert _unmapped(model, (_tokens(5, 3),), "fx", {"has_mask": False}) == set()


@pytest.mark.parametrize("has_mask", [True, False])
def test_transformer_word_language_model(has_mask):
    model, tokens = TransformerModel(), _tokens(5, 3)
    conv = _matches_torch(model, (tokens,), rtol=1e-10, kwargs={"has_mask": has_mask})
    assert "has_mask" in conv.source
    if has_mask:  # the mask is sized by len(src): another length is refused by name
        assert "len(src) is 5" in conv.source
        longer = jnp.zeros((7, 3), jnp.int32)
        with pytest.raises(ValueError, match=r"converted for len\(src\) == 5, the example's"):
            conv.model.apply(conv.params, longer, buffers=conv.buffers)


def test_llama_block_with_complex_rotary_embeddings():
    """Llama casts to float32 on purpose (rotary pairs, softmax): float32's tolerance."""
    conv = _matches_torch(LlamaBlock(), (_tokens(2, 4),), rtol=1e-5)
    assert "jax.lax.complex(" in conv.source and "jnp.real(" in conv.source
