"""Converting torch language models: an LSTM LM with an explicit ``hidden`` argument and a nanoGPT
decoder (fused qkv ``split``, ``view``/``transpose``, causal ``F.scaled_dot_product_attention``,
``lm_head`` tied to the token embedding) agree with torch in float64, outputs and gradients; and
``fit`` trains both, its losses equal to a torch loop's for 5 SGD steps."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from _parity import assert_close
from _torch_lm import LSTMLanguageModel, NanoGPT

import funcgrad as fg

VOCAB = 11


def _codes(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).integers(0, VOCAB, shape))


def _grads(model: torch.nn.Module) -> dict[str, Any]:
    return fg.unflatten_dict({n: p.grad.numpy() for n, p in model.named_parameters()})


def _cotangent(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def test_lstm_lm_with_an_explicit_hidden_converts_and_agrees_in_float64(x64):
    torch.manual_seed(0)
    ref = LSTMLanguageModel(VOCAB).double()
    x = _codes((3, 7))
    h0 = tuple(torch.randn(2, 3, 16, dtype=torch.float64, requires_grad=True) for _ in range(2))
    conv = fg.interop.convert(ref, (x, h0))
    assert 'call("lstm", embedding, hidden)' in conv.source  # torch's hx goes to fg.nn.LSTM

    logits, (h, c) = ref(x, h0)
    v = [_cotangent(tuple(t.shape), i) for i, t in enumerate((logits, h, c))]
    sum((t * torch.from_numpy(w)).sum() for t, w in zip((logits, h, c), v, strict=True)).backward()

    def f(params, hidden):
        out, (hn, cn) = conv.model.apply(params, (jnp.asarray(x.numpy()), hidden))
        return out, hn, cn

    hidden = tuple(jnp.asarray(t.detach().numpy()) for t in h0)
    outs, pullback = jax.vjp(jax.jit(f), conv.params, hidden)
    g_params, g_hidden = pullback(tuple(jnp.asarray(w) for w in v))
    for got, want, what in zip(outs, (logits, h, c), ("logits", "h_n", "c_n"), strict=True):
        assert_close(got, want.detach().numpy(), np.float64, what)
    assert_close(g_params, _grads(ref), np.float64, "grad wrt params")
    assert_close(g_hidden, tuple(t.grad.numpy() for t in h0), np.float64, "grad wrt hidden")


def test_nanogpt_converts_with_its_tied_lm_head_and_agrees_in_float64(x64):
    torch.manual_seed(0)
    ref = NanoGPT(VOCAB, block_size=16, n_layer=2, n_head=2, n_embd=8).double()
    x = _codes((3, 7))
    conv = fg.interop.convert(ref, x)
    assert "jnp.split(" in conv.source and "F.scaled_dot_product_attention(" in conv.source
    assert 'tied: ClassVar[dict] = {"lm_head.weight": "transformer.wte.weight"}' in conv.source
    # the tied matrix is one param, under the name torch's named_parameters() gives it
    assert sorted(fg.flatten_dict(conv.params)) == sorted(n for n, _ in ref.named_parameters())
    assert "lm_head" not in conv.model.init(jax.random.PRNGKey(0))

    logits = ref(x)
    v = _cotangent(tuple(logits.shape), 0)
    (logits * torch.from_numpy(v)).sum().backward()
    out, pullback = jax.vjp(
        jax.jit(lambda p: conv.model.apply(p, jnp.asarray(x.numpy()))), conv.params
    )
    assert_close(out, logits.detach().numpy(), np.float64, "logits")
    # wte's gradient sums the embedding lookup and the lm_head use, as torch's does
    assert_close(pullback(jnp.asarray(v))[0], _grads(ref), np.float64, "grad wrt params")


@dataclasses.dataclass(frozen=True, eq=False)
class _Pretrained(fg.nn.Module):
    """A converted model that starts from torch's weights and returns the logits alone."""

    model: fg.nn.Module
    weights: Any
    takes_hidden: bool

    def init(self, key: jax.Array) -> Any:
        return self.weights

    def forward(self, params, x, *, buffers, train, key):
        out = self.model.apply(params, (x, None) if self.takes_hidden else x, train=train, key=key)
        return (out[0] if self.takes_hidden else out), buffers


@pytest.mark.parametrize("name", ["lstm", "gpt"])
def test_fit_trains_a_converted_language_model_as_a_torch_loop_does(name, x64):
    torch.manual_seed(0)
    ref = (LSTMLanguageModel(VOCAB) if name == "lstm" else NanoGPT(VOCAB, block_size=8)).double()
    x, y = _codes((6, 8), 1), _codes((6, 8), 2)
    conv = fg.interop.convert(ref, (x, None) if name == "lstm" else x)
    lr, steps = 0.5, 5

    def torch_loss():
        out = ref(x)
        out = out[0] if name == "lstm" else out
        return torch.nn.functional.cross_entropy(out.reshape(-1, VOCAB), y.reshape(-1))

    opt = torch.optim.SGD(ref.parameters(), lr=lr)
    expected = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch_loss()
        loss.backward()
        opt.step()
        expected.append(loss.item())

    ds = fg.data.Dataset("tokens", x.numpy(), y.numpy(), x.numpy(), y.numpy(), VOCAB)
    losses: list[float] = []
    fit_loss = lambda out, t: fg.losses.cross_entropy(out.reshape(-1, VOCAB), t.reshape(-1))  # noqa: E731
    result = fg.train.fit(
        _Pretrained(conv.model, conv.params, name == "lstm"), ds, loss=fit_loss,
        optimizer=optax.sgd(lr), epochs=steps, batch_size="full", progress="none",
        on_step=lambda epoch, step, value: losses.append(value),
    )  # fmt: skip
    np.testing.assert_allclose(losses, expected, rtol=1e-10, atol=0)
    assert expected[-1] < expected[0]  # it learns
    trained = fg.unflatten_dict({n: p.detach().numpy() for n, p in ref.named_parameters()})
    assert_close(result.params, trained, np.float64, "params after 5 steps")
