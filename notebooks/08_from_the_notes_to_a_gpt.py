# %% [markdown]
# # 08 · From the notes to a GPT
#
# The notes stop at convolutional networks on images. The same few ideas (a function of explicit
# parameters, the chain rule run backwards, a loss, an optimizer step) carry all the way to the
# models that write text. This notebook builds the two classic ones side by side in PyTorch and in
# plain JAX, then with funcgrad: an **LSTM**, whose time loop becomes `lax.scan`, and a small
# **GPT**, whose attention is two matrix products and a softmax over three projections, with the
# causal mask passed as data. Every output and gradient is asserted against `nn.LSTM`, `nn.MultiheadAttention` and
# `F.scaled_dot_product_attention`. At the end a character-level GPT trains for a few seconds on
# the corpus that ships with funcgrad and writes a sample (`funcgrad train --model gpt` trains the
# same kind of model for minutes).
#
# **From the lecture notes:** beyond the notes. It uses only what they teach: the computational
# graph, the chain rule and autograd, modules as `(init, apply)` pairs, and gradient descent.
#
# **Docs this lesson relies on:**
# [`jax.lax.scan`](https://docs.jax.dev/en/latest/_autosummary/jax.lax.scan.html),
# [control flow in JAX](https://docs.jax.dev/en/latest/control-flow.html),
# [pseudorandom numbers](https://docs.jax.dev/en/latest/random-numbers.html);
# PyTorch's [`nn.LSTM`](https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html),
# [`nn.MultiheadAttention`](https://pytorch.org/docs/stable/generated/torch.nn.MultiheadAttention.html)
# and
# [`F.scaled_dot_product_attention`](https://pytorch.org/docs/stable/generated/torch.nn.functional.scaled_dot_product_attention.html);
# Karpathy's [nanoGPT](https://github.com/karpathy/nanoGPT), whose model `fg.models.GPT` mirrors.

# %%
import math
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch
import torch.nn.functional as F
from exercises import check, exercise
from torch import nn

import funcgrad as fg

_ = torch.manual_seed(0)

# %% [markdown]
# ## The time loop is a `lax.scan`: an LSTM by hand
#
# *Lecture-note topic: beyond the notes (sequence models), built from modules and the chain rule.*
#
# An LSTM reads a sequence one step at a time. At step $t$ it combines the input $x_t$ with its
# previous state $(h_{t-1}, c_{t-1})$: one matrix product gives four gates, input $i$, forget $f$,
# cell candidate $g$ and output $o$ (torch stacks their weights in that order), and
#
# $$c_t = \sigma(f) \odot c_{t-1} + \sigma(i) \odot \tanh(g), \qquad h_t = \sigma(o) \odot \tanh(c_t).$$
#
# PyTorch hides the loop inside `nn.LSTM`:

# %%
lstm_t = nn.LSTM(input_size=5, hidden_size=8, batch_first=True)
xs_t = torch.randn(2, 7, 5)  # (batch, time, features)
out_t, (h_n_t, c_n_t) = lstm_t(xs_t)
print({k: tuple(v.shape) for k, v in lstm_t.state_dict().items()})
print("output", tuple(out_t.shape), "h_n", tuple(h_n_t.shape), "c_n", tuple(c_n_t.shape))

# %% [markdown]
# Functionally, one step is a pure function `step(carry, x_t) -> (new_carry, output_t)`, and
# `jax.lax.scan` runs it along the time axis. The loop is not Python: `scan` traces `step` once
# and compiles one loop, so `jit` sees a small program whatever the sequence length, and `grad`
# differentiates through it (backpropagation through time is the chain rule along the scan).
# The weights are torch's, by the same names (`fg.interop.from_torch`).

# %%
lstm_params = fg.interop.from_torch(lstm_t)


def lstm_step(params, carry, x_t):
    h, c = carry
    gates = (
        x_t @ params["weight_ih_l0"].T
        + params["bias_ih_l0"]
        + h @ params["weight_hh_l0"].T
        + params["bias_hh_l0"]
    )
    i, f, g, o = jnp.split(gates, 4, axis=-1)  # torch's gate order
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return (h, c), h


def lstm(params, xs):
    n, hidden = xs.shape[0], params["weight_hh_l0"].shape[1]
    zeros = jnp.zeros((n, hidden), xs.dtype)
    time_major = xs.swapaxes(0, 1)  # scan walks the leading axis
    (h_n, c_n), out = jax.lax.scan(
        lambda carry, x_t: lstm_step(params, carry, x_t), (zeros, zeros), time_major
    )
    return out.swapaxes(0, 1), (h_n[None], c_n[None])  # torch's (output, (h_n, c_n))


xs = jnp.asarray(xs_t.numpy())
out, (h_n, c_n) = lstm(lstm_params, xs)
print("output", out.shape, "h_n", h_n.shape, "c_n", c_n.shape)

# %% [markdown]
# `fg.nn.LSTM` is that scan with everything `nn.LSTM` offers (layers, bidirectional, `proj_size`,
# dropout between layers, an initial state `hx`), taking torch's arguments and returning what
# torch returns.

# %%
fg_lstm = fg.nn.LSTM(input_size=5, hidden_size=8, batch_first=True)
fg_out, (fg_h_n, fg_c_n) = fg_lstm.apply(lstm_params, xs)

# %% jupyter={"source_hidden": true}
# Proof: the hand-written scan, fg.nn.LSTM and torch's nn.LSTM agree, outputs and gradients
for mine in (out, fg_out):
    check(mine, out_t, rtol=1e-5, atol=1e-6)
check(h_n, h_n_t, rtol=1e-5, atol=1e-6)
check(c_n, c_n_t, rtol=1e-5, atol=1e-6)
check(fg_h_n, h_n_t, rtol=1e-5, atol=1e-6)
check(fg_c_n, c_n_t, rtol=1e-5, atol=1e-6)
assert fg_lstm.init(jax.random.key(0)).keys() == lstm_params.keys()  # the same names


def lstm_loss(params, xs):  # any scalar of the outputs: backprop through time
    out, (_, c_n) = lstm(params, xs)
    return (out**2).sum() + c_n.sum()


xs_leaf = xs_t.clone().requires_grad_(True)
out_t2, (_, c_n_t2) = lstm_t(xs_leaf)
((out_t2**2).sum() + c_n_t2.sum()).backward()
grads, grad_xs = jax.grad(lstm_loss, argnums=(0, 1))(lstm_params, xs)
for name, p in lstm_t.named_parameters():
    check(grads[name], p.grad, rtol=1e-4, atol=1e-6, err_msg=name)
check(grad_xs, xs_leaf.grad, rtol=1e-4, atol=1e-6)
print("scan, fg.nn.LSTM and nn.LSTM agree: outputs, states, and gradients of every weight")

# %% [markdown]
# ## Attention: three projections, then two matrix products and a softmax
#
# *Lecture-note topic: beyond the notes (sequence models), built from weighted sums and a
# nonlinearity.*
#
# Attention lets every position look at every other at once, with no loop. Each position's vector
# $x$ is projected three ways, to a query $q = W_q x$, a key $k = W_k x$ and a value $v = W_v x$.
# Position $t$ scores position $s$ by $q_t \cdot k_s / \sqrt{d}$, the scores of a row go through a
# softmax, and the output is the weighted sum of the values:
#
# $$\mathrm{attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d}}\right) V.$$
#
# Three matmuls for the projections, then two: one for the scores and one for the weighted sum; no
# parameters beyond the three projection matrices.

# %%
T, d = 6, 16
rng = np.random.default_rng(1)  # any numbers do; NumPy's need no compiling
x_seq = jnp.asarray(rng.standard_normal((2, T, d), np.float32))  # (batch, time, features)
w_q, w_k, w_v = (jnp.asarray(w) for w in 0.3 * rng.standard_normal((3, d, d), np.float32))


def attention(q, k, v, mask=None):
    scores = q @ k.swapaxes(-1, -2) / math.sqrt(q.shape[-1])  # (..., T, T)
    if mask is not None:
        scores = jnp.where(mask, scores, -jnp.inf)  # a masked pair gets weight exactly 0
    return jax.nn.softmax(scores, axis=-1) @ v


q, k, v = x_seq @ w_q.T, x_seq @ w_k.T, x_seq @ w_v.T
y_attn = attention(q, k, v)
print("output", y_attn.shape)

# %% jupyter={"source_hidden": true}
# Proof: torch's F.scaled_dot_product_attention and funcgrad's functional form agree
q_t, k_t, v_t = (torch.tensor(np.asarray(a)) for a in (q, k, v))
check(y_attn, F.scaled_dot_product_attention(q_t, k_t, v_t), rtol=1e-5, atol=1e-6)
check(fg.nn.functional.scaled_dot_product_attention(q, k, v), y_attn, rtol=1e-5, atol=1e-6)

# %% [markdown]
# ## The causal mask is data
#
# *Lecture-note topic: beyond the notes (sequence models).*
#
# A language model predicts each next character from the ones before it, so position $t$ must not
# see positions after $t$. In a functional program that rule is not a mode or a flag on an object:
# it is an array, a lower-triangular boolean matrix, and the masked scores become $-\infty$ before
# the softmax, so their weights are exactly zero. Row $t$ of the weights spreads over positions
# $0..t$ only:

# %%
causal = jnp.tril(jnp.ones((T, T), dtype=bool))
y_causal = attention(q, k, v, mask=causal)
weights = jax.nn.softmax(jnp.where(causal, q @ k.swapaxes(-1, -2) / math.sqrt(d), -jnp.inf))
print(np.round(np.asarray(weights[0]), 2))

# %% jupyter={"source_hidden": true}
# Proof: the mask as data gives torch's is_causal=True, and funcgrad's, with either spelling
check(y_causal, F.scaled_dot_product_attention(q_t, k_t, v_t, is_causal=True), rtol=1e-5, atol=1e-6)
sdpa = fg.nn.functional.scaled_dot_product_attention
check(sdpa(q, k, v, is_causal=True), y_causal, rtol=1e-5, atol=1e-6)
check(sdpa(q, k, v, attn_mask=causal), y_causal, rtol=1e-5, atol=1e-6)
assert (weights[:, np.triu_indices(T, 1)[0], np.triu_indices(T, 1)[1]] == 0).all()

# %% [markdown]
# `nn.MultiheadAttention` adds what a transformer layer needs around that core: the three
# projections (one `in_proj_weight`, stacked), several heads (the features cut into `num_heads`
# groups, each attending on its own), and an output projection `out_proj`. Mind its mask: for
# `nn.MultiheadAttention` a boolean `attn_mask` is `True` where attention is **forbidden**, the
# opposite of `F.scaled_dot_product_attention`'s (and of ours above). `fg.nn.MultiheadAttention`
# keeps torch's convention, its parameter names and its `(output, weights)` return value.

# %%
mha_t = nn.MultiheadAttention(embed_dim=d, num_heads=4, batch_first=True)
x_seq_t = torch.tensor(np.asarray(x_seq))
forbidden = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # torch's mask: True = no
mha_out_t, mha_weights_t = mha_t(x_seq_t, x_seq_t, x_seq_t, attn_mask=forbidden)

mha = fg.nn.MultiheadAttention(embed_dim=d, num_heads=4, batch_first=True)
mha_params = fg.interop.from_torch(mha_t)
print({k: v.shape for k, v in fg.flatten_dict(mha_params).items()})
mha_out, mha_weights = mha.apply(mha_params, x_seq, x_seq, x_seq, attn_mask=~causal)

# %% jupyter={"source_hidden": true}
# Proof: fg.nn.MultiheadAttention and nn.MultiheadAttention agree, and so do 4 heads by hand
check(mha_out, mha_out_t, rtol=1e-5, atol=1e-6)
check(mha_weights, mha_weights_t, rtol=1e-5, atol=1e-6)  # averaged over the heads, as torch's
w_in = mha_params["in_proj_weight"]
b_in = mha_params["in_proj_bias"]
heads = [
    (x_seq @ w.T + b).reshape(2, T, 4, d // 4).swapaxes(1, 2)  # (batch, head, time, d / heads)
    for w, b in zip(jnp.split(w_in, 3), jnp.split(b_in, 3), strict=True)
]
by_hand = attention(*heads, mask=causal).swapaxes(1, 2).reshape(2, T, d)
by_hand = by_hand @ mha_params["out_proj"]["weight"].T + mha_params["out_proj"]["bias"]
check(by_hand, mha_out_t, rtol=1e-5, atol=1e-6)

# %% [markdown]
# ## A small GPT, side by side
#
# *Lecture-note topic: beyond the notes (sequence models), built from modules as
# `(init, apply)` pairs.*
#
# A GPT stacks that attention into blocks. Tokens become vectors (a token embedding plus a
# position embedding); each block adds to this *residual stream* a causal self-attention and a
# small MLP, each after a LayerNorm; a last LayerNorm and a linear head give, at every position,
# the logits of the next token. Here is the torch model, nanoGPT's layout written compactly:


# %%
class TorchBlock(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        self.attn = nn.ModuleDict(
            dict(c_attn=nn.Linear(n_embd, 3 * n_embd), c_proj=nn.Linear(n_embd, n_embd))
        )
        self.mlp = nn.ModuleDict(
            dict(c_fc=nn.Linear(n_embd, 4 * n_embd), c_proj=nn.Linear(4 * n_embd, n_embd))
        )
        self.n_head = n_head

    def forward(self, x):
        b, t, e = x.shape
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(e, dim=2)
        q, k, v = (z.view(b, t, self.n_head, e // self.n_head).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn.c_proj(y.transpose(1, 2).reshape(b, t, e))
        return x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x))))


class TorchGPT(nn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_head, n_embd):
        super().__init__()
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(vocab_size, n_embd),
                wpe=nn.Embedding(block_size, n_embd),
                h=nn.ModuleList([TorchBlock(n_embd, n_head) for _ in range(n_layer)]),
                ln_f=nn.LayerNorm(n_embd),
            )
        )

    def forward(self, idx):
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(idx.shape[1]))
        for block in self.transformer.h:
            x = block(x)
        return self.transformer.ln_f(x) @ self.transformer.wte.weight.T  # the tied lm_head


sizes = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=64)
gpt_t = TorchGPT(**sizes)
gpt = fg.models.GPT(**sizes, dropout=0.2)  # dropout acts in training only (below): in
# evaluation it is torch's model. nanoGPT's init: N(0, 0.02), residual projections (c_proj)
# N(0, 0.02 / sqrt(2 n_layer)), zero biases
gpt_params = gpt.init(jax.random.key(0))
# the other direction: funcgrad's params into torch, by the same names (transformer.h.0.attn...)
gpt_t.load_state_dict(fg.interop.to_torch(gpt_params))
tokens = jnp.array([[1, 5, 2, 7, 7, 3, 0, 9], [4, 4, 10, 2, 6, 1, 8, 3]])
gpt_apply = jax.jit(gpt.apply)  # one compiled program instead of op-by-op dispatch
logits = gpt_apply(gpt_params, tokens)
print("logits", logits.shape, "parameters", sum(p.size for p in jax.tree.leaves(gpt_params)))

# %% [markdown]
# The funcgrad model is the same computation as pure functions. Its attention is the one above:
# the fused `c_attn` projection split in three, cut into heads, and
# `fg.nn.functional.scaled_dot_product_attention(..., is_causal=True)`. The language-model loss is the
# cross-entropy of each position's logits against the *next* token, averaged over positions, the
# same `cross_entropy` as for images with the time axis folded into the batch. The last token has
# no next one, so the inputs are the first 7 tokens and the targets the last 7.


# %%
def lm_loss(params, tokens, targets):
    logits = gpt.apply(params, tokens)
    return fg.losses.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


inputs, targets = tokens[:, :-1], tokens[:, 1:]  # each position's target is the token after it
loss, gpt_grads = jax.jit(jax.value_and_grad(lm_loss))(gpt_params, inputs, targets)
print(f"loss {float(loss):.4f}  (a uniform guess over 11 tokens: ln 11 = {math.log(11):.4f})")

# %% jupyter={"source_hidden": true}
# Proof: logits, loss and every gradient agree with the torch model
tokens_t = torch.tensor(np.asarray(tokens)).long()
logits_t = gpt_t(tokens_t)
inputs_t, targets_t = tokens_t[:, :-1], tokens_t[:, 1:]
loss_t = F.cross_entropy(gpt_t(inputs_t).reshape(-1, sizes["vocab_size"]), targets_t.reshape(-1))
loss_t.backward()
check(logits, logits_t, rtol=1e-5, atol=1e-6)
check(loss, loss_t, rtol=1e-6)
flat_grads = fg.flatten_dict(gpt_grads)
for name, p in gpt_t.named_parameters():
    check(flat_grads[name], p.grad, rtol=1e-4, atol=1e-6, err_msg=name)
print(f"{len(flat_grads)} gradients agree with torch's .grad")

# %% [markdown]
# ## Dropout keys per layer
#
# *Lecture-note topic: beyond the notes (randomness in training).*
#
# A GPT in training drops out activations in several places: after the embeddings, on the
# attention weights and on each residual branch, in every block. In torch each `nn.Dropout` draws
# from one global generator, in the order the layers happen to run; to repeat a training step
# exactly you reset `torch.manual_seed`. Functionally the step takes a key, and every layer gets a
# key of its own, derived from the step's key and the layer's name: the plain JAX it stands for
# is `jax.random.fold_in(key, zlib.crc32(name.encode()) & 0x7FFFFFFF)` (`fg.nn.child_key`: a
# stable 31-bit hash of the name; not Python's `hash`, which changes between processes). Folding
# by name rather than
# splitting by position means that adding a layer leaves the others' masks as they were. The same
# key gives the same masks; another key, others; evaluation needs no key at all. Our `gpt` was
# built with `dropout=0.2`: the logits above were evaluation's, so torch's model, which has no
# dropout, computed the same ones.

# %%
step_key = jax.random.key(0)
train_apply = jax.jit(lambda params, tokens, key: gpt.apply(params, tokens, train=True, key=key))
a = train_apply(gpt_params, tokens, step_key)
b = train_apply(gpt_params, tokens, step_key)
c = train_apply(gpt_params, tokens, jax.random.key(1))
print("same key, same output:", bool(jnp.array_equal(a, b)))
print("another key, another output:", not bool(jnp.allclose(a, c)))
h_key = fg.nn.child_key(step_key, "transformer.h")  # the key of transformer.h.0 is this one
block_keys = [fg.nn.child_key(h_key, str(i)) for i in range(sizes["n_layer"])]  # with "0" folded in
print(
    "blocks 0 and 1 draw from different keys:",
    not bool(
        jnp.array_equal(jax.random.key_data(block_keys[0]), jax.random.key_data(block_keys[1]))
    ),
)

# %% jupyter={"source_hidden": true}
# Proof: a reused key repeats the masks exactly, training differs from evaluation (whose logits
# matched torch's above, with no key), and training refuses to run without a key
assert jnp.array_equal(a, b) and not jnp.allclose(a, c) and not jnp.allclose(a, logits)
# child_key is the plain JAX of the text above, for a name whose CRC-32 has its top bit set too
for name in ("0", "transformer.h"):
    plain = jax.random.fold_in(step_key, zlib.crc32(name.encode()) & 0x7FFFFFFF)
    mine = fg.nn.child_key(step_key, name)
    assert jnp.array_equal(jax.random.key_data(mine), jax.random.key_data(plain))
try:
    jax.jit(lambda params, tokens: gpt.apply(params, tokens, train=True))(gpt_params, tokens)
except fg.nn.ModuleError as e:
    print("train=True without a key:", str(e).splitlines()[0])
else:
    raise AssertionError("dropout in training must refuse to run without a key")

# %% [markdown]
# ## Training a character model
#
# *Lecture-note topic: beyond the notes, trained with the notes' minibatch SGD loop (here AdamW).*
#
# funcgrad ships a small text corpus. `fg.data.load_text` cuts it into windows of 32 characters
# (`x`) and the same windows moved on by one character (`y`): the model predicts every next
# character at once. A GPT of one block and 64 features trains below for a few seconds, 240 steps
# of 16 windows, with the loop of the earlier notebooks: `jax.value_and_grad`, `tx.update`,
# `optax.apply_updates`. The loop itself is a `lax.scan` over the steps, so `fg.jit` compiles the
# step once; each call runs 80 steps and then measures the held-out loss, inside the same compiled
# program. That is enough to learn which characters follow which, and not much more. It trains
# without dropout: 240 steps are too few to overfit, and the random masks would only cost
# compile time. `funcgrad train --model gpt` trains the default GPT (two blocks) for minutes,
# with progress, checkpoints and samples.

# %%
text = fg.data.load_text(seq_len=32)
char_gpt = fg.models.GPT(vocab_size=text.num_classes, block_size=32, n_layer=1, n_head=4, n_embd=64)
tx = optax.adamw(5e-3)
params = char_gpt.init(jax.random.key(0))
opt_state = tx.init(params)
x_test, y_test = jnp.asarray(text.x_test[:256]), jnp.asarray(text.y_test[:256])


def char_loss(params, x, y):
    logits = char_gpt.apply(params, x)
    return fg.losses.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def train_step(carry, batch):  # one step of the notes' loop, as a scan body
    params, opt_state = carry
    loss, grads = jax.value_and_grad(char_loss)(params, *batch)
    updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), loss


@fg.jit
def train_steps(params, opt_state, x_steps, y_steps):  # scan the steps, then evaluate
    (params, opt_state), _ = jax.lax.scan(train_step, (params, opt_state), (x_steps, y_steps))
    return params, opt_state, char_loss(params, x_test, y_test)


print(f"vocabulary {text.num_classes} characters, {len(text.x_train)} training windows")
print(f"a uniform guess: {math.log2(text.num_classes):.2f} bits per character")

# %%
# outputs to rtol=0.05
rows = np.random.default_rng(0).integers(0, len(text.x_train), (3, 80, 16))  # 3 x 80 steps
for i, chunk in enumerate(rows, start=1):
    x_steps, y_steps = jnp.asarray(text.x_train[chunk]), jnp.asarray(text.y_train[chunk])
    params, opt_state, test_loss = train_steps(params, opt_state, x_steps, y_steps)
    bits = fg.data.bits_per_char(float(test_loss))
    print(f"step {80 * i}: held-out {bits:.2f} bits per character")
assert bits < 3.0, "the model should have learned the corpus's character statistics"

# %% [markdown]
# A sample: the prompt's codes go in, and `fg.models.sample` draws one character at a time from
# the softmax of the last position's logits, feeding each back in. The loop over the characters
# is itself a `lax.scan`, compiled once. After a few seconds of training the words are
# half-formed; the minutes of `funcgrad train --model gpt` make them words.

# %%
# outputs vary: the sampled text depends on float32 rounding, which differs between CPUs
prompt = "Ada and"
drawn = fg.models.sample(
    char_gpt, params, text.encode(prompt), 120, key=jax.random.key(7), temperature=0.8, context=32
)
print(prompt + text.decode(drawn))

# %% [markdown]
# > **Pitfalls**
# >
# > - `nn.LSTM` without `batch_first=True` takes `(time, batch, features)`; `lax.scan` also walks
# >   the *leading* axis, so a batch-first sequence is swapped before the scan and after it.
# > - torch stacks an LSTM's gate weights as input, forget, cell, output (`i, f, g, o`): a
# >   different order gives a different network with the same shapes.
# > - A boolean attention mask means opposite things: `True` = may attend for
# >   `F.scaled_dot_product_attention`, `True` = forbidden for `nn.MultiheadAttention`.
# > - A Python `for` over time steps inside `jit` unrolls into one copy of the step per time step
# >   (a program that grows with the length, slow to compile); `lax.scan` keeps one copy of the
# >   step. Either way a new length is a new shape and compiles again: pad to a few fixed lengths.
# > - The language-model target is the input moved on by one token; predicting the input itself
# >   learns nothing.
# > - A dropout key reused across steps repeats the same masks every step: derive a fresh key per
# >   step (`jax.random.split(key, steps)`, or `jax.random.fold_in(key, step)` as `fg.train.fit`
# >   does).

# %% [markdown]
# ## Exercises
#
# Each exercise is a function that raises `NotImplementedError` until you write it. The check cell
# after it prints "not attempted" until then, "correct" once your answer agrees with PyTorch, and
# fails with an `AssertionError` when it does not. The reference answers are in
# `notebooks/solutions/08.py`; try before you look.
#
# **Exercise 1.** A GRU, the LSTM's smaller sibling, as a `lax.scan`. With torch's gate order
# (reset $r$, update $z$, new $n$), $r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr})$, the same
# for $z$, $n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn}))$ and
# $h' = (1 - z) \odot n + z \odot h$. Write `gru(params, xs)` for a batch-first `xs` and torch's
# parameter names (`weight_ih_l0`, ...), returning torch's `(output, h_n)`. Use `jax.lax.scan`:
# the check looks for it in the program.


# %%
def gru(params, xs):
    raise NotImplementedError("exercise 1: your code here")


# %%
# Check exercise 1 against nn.GRU, and that the time loop is a scan
def check_exercise_1(gru):
    gru_t = nn.GRU(input_size=5, hidden_size=6, batch_first=True)
    out_t, h_n_t = gru_t(xs_t)
    out, h_n = gru(fg.interop.from_torch(gru_t), xs)
    check(out, out_t, rtol=1e-5, atol=1e-6)
    check(h_n, h_n_t, rtol=1e-5, atol=1e-6)
    program = str(jax.make_jaxpr(gru)(fg.interop.from_torch(gru_t), xs))
    assert "scan" in program, "write the time loop as jax.lax.scan"


exercise(1, check_exercise_1, gru)

# %% [markdown]
# **Exercise 2.** Write `causal_attention(q, k, v)` for `(..., T, d)` arrays, with the causal mask
# built as data inside it (the point is to build the mask yourself).


# %%
def causal_attention(q, k, v):
    raise NotImplementedError("exercise 2: your code here")


# %%
# Check exercise 2 against F.scaled_dot_product_attention(is_causal=True), on two lengths
def check_exercise_2(causal_attention):
    for length in (T, 3):
        q_, k_, v_ = q[:, :length], k[:, :length], v[:, :length]
        expected = F.scaled_dot_product_attention(
            *(torch.tensor(np.asarray(a)) for a in (q_, k_, v_)), is_causal=True
        )
        check(causal_attention(q_, k_, v_), expected, rtol=1e-5, atol=1e-6)


exercise(2, check_exercise_2, causal_attention)

# %% [markdown]
# **Exercise 3 (predict, then check).** In the small GPT above (`gpt`, `gpt_params`, 8 tokens),
# change the *first* token of a sequence. At how many of the 8 positions do the logits change?
# And if you change the *last* token instead? Return your two numbers from
# `changed_positions()` as `(first, last)`; the check runs the model to see.


# %%
def changed_positions():
    raise NotImplementedError("exercise 3: your code here")


# %%
# Check exercise 3 by running the GPT on edited sequences
def check_exercise_3(changed_positions):
    def count(position):
        edited = tokens.at[0, position].set((tokens[0, position] + 1) % sizes["vocab_size"])
        diff = jnp.abs(gpt_apply(gpt_params, edited) - logits)[0].max(axis=-1)
        return int((diff > 1e-6).sum())

    first, last = changed_positions()
    assert (first, last) == (count(0), count(-1)), (
        f"you said {first} and {last}; the model says otherwise"
    )


exercise(3, check_exercise_3, changed_positions)
