"""convert on models written as the PyTorch tutorials write them: Python arguments of ``forward``
(``has_mask``, ``pre_logits``, ``targets=None``), device checks, a model's own ``train`` method,
``randn_like``, ``isinstance(x, Tensor)``, ``torch.fx.wrap`` functions, pytree outputs and tied
weights. Every conversion is verified against torch by ``convert`` itself; the tests check the
converted model again, through its public ``apply``, against torch run here."""

from __future__ import annotations

import collections
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from torch import Tensor, nn

import funcgrad as fg


def _np(t: Tensor) -> np.ndarray:
    return t.detach().numpy()


@torch.fx.wrap
def _scaled_residual(x: Tensor, y: Tensor, scale: float) -> Tensor:
    """Plain Python over tensors, marked as an fx leaf (as torchvision's ``stochastic_depth``)."""
    return x + y * scale


class TransformerLM(nn.Module):
    """The word language model tutorial's Transformer: ``forward(src, has_mask=True)``."""

    def __init__(self, ntoken: int = 11, ninp: int = 8, nhead: int = 2, nlayers: int = 2) -> None:
        super().__init__()
        self.ninp = ninp
        self.input_emb = nn.Embedding(ntoken, ninp)
        layer = nn.TransformerEncoderLayer(ninp, nhead, 16, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, nlayers, enable_nested_tensor=False)
        self.decoder = nn.Linear(ninp, ntoken)
        causal = torch.full((5, 5), float("-inf")).triu_(1)
        self.register_buffer("src_mask", causal, persistent=False)

    def forward(self, src: Tensor, has_mask: bool = True) -> Tensor:
        mask = self.src_mask if has_mask else None
        x = self.input_emb(src) * math.sqrt(self.ninp)
        out = self.encoder(x, mask=mask)
        return torch.log_softmax(self.decoder(out), dim=-1)


@pytest.mark.parametrize("has_mask", [True, False])
def test_transformer_lm_with_has_mask_converts_for_each_value(has_mask, x64):
    torch.manual_seed(0)
    model = TransformerLM().double()
    src = torch.randint(0, 11, (3, 5))
    kwargs = {} if has_mask else {"has_mask": False}
    conv = fg.interop.convert(model, src, kwargs=kwargs)
    assert "has_mask=True" in conv.source  # a keyword of forward, with torch's default
    model.eval()
    # the values seen: the example's, and the default where the example gave another (one
    # branch each, each verified by convert); a value not seen is refused
    seen = (True,) if has_mask else (False, True)
    assert ("if not has_mask:" in conv.source) == (not has_mask)
    for value in seen:
        y, _ = conv.model.apply(
            conv.params, jnp.asarray(src.numpy()), buffers=conv.buffers, has_mask=value
        )
        np.testing.assert_allclose(np.asarray(y), _np(model(src, has_mask=value)), atol=1e-10)
    if has_mask:
        with pytest.raises(ValueError, match=r"converted with has_mask=True"):
            conv.model.apply(conv.params, jnp.asarray(src.numpy()), has_mask=False)


class Head(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 3)

    def forward(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        x = x.mean(dim=1)
        return x if pre_logits else self.fc(x)


def test_a_root_argument_that_changes_the_graph_gets_a_branch_per_value_seen(x64):
    # timm's forward_head(x, pre_logits=False), converted for pre_logits=True
    torch.manual_seed(0)
    model = Head().double()
    x = torch.randn(2, 5, 6, dtype=torch.float64)
    conv = fg.interop.convert(model, x, kwargs={"pre_logits": True})
    assert "pre_logits=False" in conv.source  # forward's keyword, with torch's default
    assert "if pre_logits:" in conv.source and "if not pre_logits:" in conv.source
    for value in (True, False):
        y = conv.model.apply(conv.params, jnp.asarray(x.numpy()), pre_logits=value)
        np.testing.assert_allclose(np.asarray(y), _np(model(x, pre_logits=value)), atol=1e-12)


class Classifier(nn.Module):
    """A timm-style head, ``targets=None`` as nanoGPT's, and a wrapped function."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 6)
        self.head = Head()

    def forward(self, x: Tensor, targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        h = _scaled_residual(self.body(x), self.body(x), 0.5)
        logits = self.head(h)
        if targets is None:
            return logits, None
        return logits, nn.functional.cross_entropy(logits, targets)


def test_optional_targets_convert_both_ways_and_children_take_python_arguments(x64):
    torch.manual_seed(0)
    model = Classifier().double()
    x, t = torch.randn(2, 5, 4, dtype=torch.float64), torch.tensor([0, 2])
    plain = fg.interop.convert(model, x)
    assert "pre_logits=False" in plain.source and "_scaled_residual" not in plain.source
    logits, loss = plain.model.apply(plain.params, jnp.asarray(x.numpy()))
    assert loss is None
    np.testing.assert_allclose(np.asarray(logits), _np(model(x)[0]), atol=1e-12)

    with_loss = fg.interop.convert(model, x, kwargs={"targets": t})
    logits, loss = with_loss.model.apply(
        with_loss.params, (jnp.asarray(x.numpy()), jnp.asarray(t.numpy()))
    )
    np.testing.assert_allclose(float(loss), model(x, t)[1].item(), atol=1e-12)


class Generator(nn.Module):
    """The DCGAN tutorial's generator: a device check in forward."""

    def __init__(self, ngpu: int = 1) -> None:
        super().__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            nn.ConvTranspose2d(4, 6, 4, 1, 0, bias=False),
            nn.BatchNorm2d(6),
            nn.ReLU(True),
            nn.ConvTranspose2d(6, 1, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, input: Tensor) -> Tensor:
        if input.is_cuda and self.ngpu > 1:
            return nn.parallel.data_parallel(self.main, input, range(self.ngpu))
        return self.main(input)


def test_dcgan_device_check_reads_this_device(x64):
    torch.manual_seed(0)
    model = Generator(ngpu=2).double()
    z = torch.randn(3, 4, 1, 1, dtype=torch.float64)
    conv = fg.interop.convert(model, z)
    assert "is_cuda" not in conv.source and "data_parallel" not in conv.source
    model.eval()
    y, _ = conv.model.apply(conv.params, jnp.asarray(z.numpy()), buffers=conv.buffers)
    np.testing.assert_allclose(np.asarray(y), _np(model(z)), atol=1e-12)


class VAE(nn.Module):
    """The VAE example: the reparameterisation draws with ``randn_like``."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.fc21 = nn.Linear(8, 2)
        self.fc22 = nn.Linear(8, 2)
        self.fc3 = nn.Linear(2, 6)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        h = torch.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        std = torch.exp(0.5 * logvar)
        z = mu + torch.randn_like(std) * std
        return collections.OrderedDict(recon=torch.sigmoid(self.fc3(z)), mu=mu, logvar=logvar)


def test_vae_deterministic_outputs_match_and_the_sample_is_standard_normal(x64):
    torch.manual_seed(0)
    model = VAE().double()
    x = torch.rand(4, 6, dtype=torch.float64)
    conv = fg.interop.convert(model, x)  # verified on mu and logvar; recon is random
    assert "jax.random.normal(" in conv.source
    xj = jnp.asarray(x.numpy())
    out = conv.model.apply(conv.params, xj, key=jax.random.PRNGKey(0))
    expected = model(x)
    assert list(out) == ["recon", "mu", "logvar"]
    for k in ("mu", "logvar"):
        np.testing.assert_allclose(np.asarray(out[k]), _np(expected[k]), atol=1e-12)
    again = conv.model.apply(conv.params, xj, key=jax.random.PRNGKey(0))
    other = conv.model.apply(conv.params, xj, key=jax.random.PRNGKey(1))
    assert np.array_equal(again["recon"], out["recon"])  # same key, same sample
    assert not np.array_equal(other["recon"], out["recon"])

    # the noise itself: z = mu + eps * std, eps standard normal (mean 0, variance 1)
    big = jnp.broadcast_to(xj[:1], (4000, 6))
    params = conv.params
    z_out = conv.model.apply(params, big, key=jax.random.PRNGKey(2))
    recon = np.asarray(z_out["recon"])
    w3, b3 = np.asarray(params["fc3"]["weight"]), np.asarray(params["fc3"]["bias"])
    z = np.linalg.lstsq(w3, (np.log(recon / (1 - recon)) - b3).T, rcond=None)[0].T
    eps = (z - np.asarray(z_out["mu"])) / np.exp(0.5 * np.asarray(z_out["logvar"]))
    assert abs(eps.mean()) < 0.05 and abs(eps.var() - 1) < 0.08


class DenseLayer(nn.Module):
    """torchvision DenseNet's pattern: a list of features or one tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 3)

    def forward(self, input: Tensor | list[Tensor]) -> Tensor:
        prev = [input] if isinstance(input, Tensor) else input
        return self.fc(torch.cat(prev, 1))


class Dense(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = DenseLayer()

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(torch.cat([x, x], 1))


def test_isinstance_tensor_on_a_traced_input_is_true(x64):
    torch.manual_seed(0)
    model = Dense().double()
    x = torch.randn(2, 3, dtype=torch.float64)
    conv = fg.interop.convert(model, x)
    y = conv.model.apply(conv.params, jnp.asarray(x.numpy()))
    np.testing.assert_allclose(np.asarray(y), _np(model(x)), atol=1e-12)


class LM(nn.Module):
    """Weight tying, as nanoGPT's ``lm_head``."""

    def __init__(self) -> None:
        super().__init__()
        self.wte = nn.Embedding(7, 4)
        self.lm_head = nn.Linear(4, 7, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx: Tensor) -> Tensor:
        return self.lm_head(torch.tanh(self.wte(idx)))


def test_tied_weights_are_one_param_and_to_torch_writes_both_names():
    torch.manual_seed(0)
    model = LM()
    conv = fg.interop.convert(model, torch.tensor([[1, 2, 3]]))
    assert sorted(fg.flatten_dict(conv.params)) == ["wte.weight"]
    state = fg.interop.to_torch(conv.params, model=conv.model)
    assert list(state) == list(model.state_dict())
    assert state["lm_head.weight"] is state["wte.weight"]
    fresh = LM()
    fresh.load_state_dict(state)
    assert torch.equal(fresh.lm_head.weight, model.wte.weight)
