"""Acceptance: a user's own module with the contract's full ``apply`` trains as its torch twin.

The module is written as DESIGN.md §3 allows: a frozen dataclass subclass of ``fg.nn.Module`` that
defines ``apply(self, params, x, buffers=None, train=False, key=None)`` itself. funcgrad must call it
exactly as written (it used to rewrite it and hand it ``buffers=None``).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch

import funcgrad as fg
from funcgrad.nn import call_child, child_key

VOCAB, DIM, CLASSES = 11, 6, 3


@dataclass(frozen=True)
class Tagger(fg.nn.Module):
    """Mean of token embeddings, layer norm, then a BatchNorm1d-LeakyReLU-Linear head."""

    emb: fg.nn.Module = fg.nn.Embedding(VOCAB, DIM)
    norm: fg.nn.Module = fg.nn.LayerNorm(DIM)
    head: fg.nn.Module = fg.nn.Sequential(
        fg.nn.BatchNorm1d(DIM), fg.nn.LeakyReLU(0.1), fg.nn.Linear(DIM, CLASSES)
    )

    def init(self, key):
        return {n: getattr(self, n).init(child_key(key, n)) for n in ("emb", "norm", "head")}

    def init_buffers(self):
        return {"head": self.head.init_buffers()}

    def apply(self, params, x, buffers=None, train=False, key=None):
        given = {} if buffers is None else buffers
        kw = {"buffers": given, "train": train, "key": key}
        h, _ = call_child("emb", self.emb, params, x, **kw)
        h, _ = call_child("norm", self.norm, params, h.mean(axis=1), **kw)
        y, head_buffers = call_child("head", self.head, params, h, **kw)
        return y if buffers is None else (y, {"head": head_buffers})


class TorchTagger(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(VOCAB, DIM)
        self.norm = torch.nn.LayerNorm(DIM)
        self.head = torch.nn.Sequential(
            torch.nn.BatchNorm1d(DIM), torch.nn.LeakyReLU(0.1), torch.nn.Linear(DIM, CLASSES)
        )

    def forward(self, x):
        return self.head(self.norm(self.emb(x).mean(dim=1)))


def _assert_tree_equal(ours, theirs, what):
    flat, want = fg.flatten_dict(ours), theirs
    assert sorted(flat) == sorted(want), what
    for k, v in want.items():
        got = np.asarray(flat[k])
        assert got.dtype == v.dtype, f"{what} {k}"
        np.testing.assert_allclose(got, v, rtol=1e-12, atol=1e-12, err_msg=f"{what} {k}")


def test_user_apply_trains_as_its_torch_twin():
    torch.manual_seed(0)
    ref = TorchTagger().double().train()
    with torch.no_grad():  # affine params away from ones and zeros, so their gradients matter
        for name, p in ref.named_parameters():
            if name.startswith(("norm", "head.0")):
                p.add_(0.3 * torch.randn_like(p))
    model = Tagger()
    rng = np.random.default_rng(0)
    tokens = [rng.integers(0, VOCAB, (8, 5)) for _ in range(5)]
    labels = [rng.integers(0, CLASSES, (8,)) for _ in range(5)]
    lr = 0.5

    with jax.enable_x64(True):
        params, buffers = fg.interop.from_torch(ref, like=model)
        opt = optax.sgd(lr)
        state = opt.init(params)

        def loss_fn(p, b, x, t):
            logits, b = model.apply(p, x, buffers=b, train=True)
            return fg.losses.cross_entropy(logits, t), b

        @jax.jit
        def step(p, b, s, x, t):
            (loss, b), g = jax.value_and_grad(loss_fn, has_aux=True)(p, b, x, t)
            updates, s = opt.update(g, s, p)
            return optax.apply_updates(p, updates), b, s, loss

        torch_opt = torch.optim.SGD(ref.parameters(), lr=lr)
        for x, t in zip(tokens, labels, strict=True):
            torch_opt.zero_grad()
            want = torch.nn.functional.cross_entropy(ref(torch.tensor(x)), torch.tensor(t))
            want.backward()
            torch_opt.step()
            params, buffers, state, loss = step(params, buffers, state, jnp.asarray(x), t)
            np.testing.assert_allclose(float(loss), want.item(), rtol=1e-12)
            _assert_tree_equal(
                params, {k: v.detach().numpy() for k, v in ref.named_parameters()}, "params"
            )
            _assert_tree_equal(buffers, {k: v.numpy() for k, v in ref.named_buffers()}, "buffers")
        assert int(buffers["head"]["0"]["num_batches_tracked"]) == 5
        # eval (the default): running statistics, and the buffers come back as they were
        ref.eval()
        x = jnp.asarray(tokens[0])
        y, same = model.apply(params, x, buffers=buffers)
        want_eval = ref(torch.tensor(tokens[0])).detach().numpy()
        np.testing.assert_allclose(y, want_eval, rtol=1e-12, atol=1e-12)
        for k, v in fg.flatten_dict(buffers).items():
            np.testing.assert_array_equal(fg.flatten_dict(same)[k], v)
        # errors from inside still carry the child's path through the user's apply
        with pytest.raises(fg.nn.ModuleError, match=r"^head\.0: BatchNorm1d buffers lack"):
            model.apply(params, x)


def test_plain_apply_is_refused_when_the_class_is_created():
    fix = (
        r"rename it to stateless\(self, params, x\), or accept buffers=None, train=False, key=None"
    )
    with pytest.raises(TypeError, match=r"^Plain\.apply cannot be called with buffers=.*" + fix):

        @dataclass(frozen=True)
        class Plain(fg.nn.Module):
            def init(self, key):
                return {}

            def apply(self, params, x):
                return x
