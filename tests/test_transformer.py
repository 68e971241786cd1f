"""The Transformer family against torch where ``module_db`` has no samples (``TransformerDecoder``,
``is_causal``, activations), torch's init and state_dict names, dropout from the key, and the
converter. ``tests/test_layer_table.py`` runs every ``module_db`` sample of the others.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import assert_close

import funcgrad as fg

E, HEADS, FF = 8, 2, 16


def _params(ref: torch.nn.Module, dtype: type) -> Any:
    return fg.unflatten_dict(
        {k: v.detach().numpy().astype(dtype) for k, v in ref.state_dict().items()}
    )


def _compare(
    ref: torch.nn.Module, ours: fg.nn.Module, inputs: list[np.ndarray], **masks: Any
) -> None:
    """Outputs and the VJP w.r.t. the float inputs and params (random cotangent), float64."""
    ref = ref.double().eval()
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    out_t = ref(
        *ts, **{k: torch.tensor(m) if isinstance(m, np.ndarray) else m for k, m in masks.items()}
    )
    v = np.random.default_rng(0).standard_normal(tuple(out_t.shape))
    (out_t * torch.tensor(v)).sum().backward()
    params = _params(ref, np.float64)

    def f(p: Any, *xs: jax.Array) -> jax.Array:
        return ours.apply(
            p,
            *xs,
            **{k: jnp.asarray(m) if isinstance(m, np.ndarray) else m for k, m in masks.items()},
        )

    with jax.enable_x64(True):
        out, vjp = jax.vjp(jax.jit(f), params, *(jnp.asarray(a) for a in inputs))
        g_p, *g_in = vjp(jnp.asarray(v))
    assert_close(out, out_t.detach().numpy(), np.float64, "output")
    for g, t in zip(g_in, ts, strict=True):
        assert_close(g, t.grad.numpy(), np.float64, "grad wrt input")
    expected = fg.unflatten_dict({n: p.grad.numpy() for n, p in ref.named_parameters()})
    assert_close(g_p, expected, np.float64, "grad wrt params")


def _x(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_matches_torch(batch_first: bool, norm_first: bool) -> None:
    """torch's module_db has no TransformerDecoder: its stack, its norm and its masks, here."""
    torch.manual_seed(0)
    kw = {
        "dim_feedforward": FF,
        "dropout": 0.0,
        "batch_first": batch_first,
        "norm_first": norm_first,
    }
    layer = torch.nn.TransformerDecoderLayer(E, HEADS, **kw)
    ref = torch.nn.TransformerDecoder(layer, 2, norm=torch.nn.LayerNorm(E))
    ours = fg.nn.TransformerDecoder(
        fg.nn.TransformerDecoderLayer(E, HEADS, **kw), 2, norm=fg.nn.LayerNorm(E)
    )
    shape = (
        (lambda n, length: (n, length, E)) if batch_first else (lambda n, length: (length, n, E))
    )
    tgt, memory = _x(*shape(3, 4)), _x(*shape(3, 6), seed=1)
    causal = np.triu(np.ones((4, 4), bool), 1)
    padding = np.zeros((3, 6), bool)
    padding[1, 4:] = True
    _compare(ref, ours, [tgt, memory], tgt_mask=causal, memory_key_padding_mask=padding)


@pytest.mark.parametrize("activation", ["gelu", jax.nn.silu])
def test_is_causal_hint_and_activations_match_torch(activation: Any) -> None:
    """``is_causal=True`` with the causal mask, and an activation given as a name or a callable."""
    torch.manual_seed(0)
    t_act = "gelu" if activation == "gelu" else torch.nn.functional.silu
    ref = torch.nn.TransformerEncoderLayer(E, HEADS, FF, 0.0, t_act, batch_first=True)
    ours = fg.nn.TransformerEncoderLayer(E, HEADS, FF, 0.0, activation, batch_first=True)
    mask = np.asarray(fg.nn.Transformer.generate_square_subsequent_mask(5, jnp.float32), np.float64)
    _compare(ref, ours, [_x(2, 5, E)], src_mask=mask, is_causal=True)


def test_torch_activation_functions_are_read_as_names() -> None:
    layer = fg.nn.TransformerEncoderLayer(E, HEADS, activation=torch.nn.functional.gelu)
    assert layer.activation == "gelu"
    assert fg.nn.TransformerEncoderLayer(E, HEADS, activation=torch.nn.ReLU()).activation == "relu"
    with pytest.raises(fg.nn.ConfigError, match="torch function"):
        fg.nn.TransformerEncoderLayer(E, HEADS, activation=torch.nn.functional.silu)
    with pytest.raises(fg.nn.ConfigError, match="relu"):
        fg.nn.TransformerEncoderLayer(E, HEADS, activation="tanh")


def test_generate_square_subsequent_mask_is_torchs() -> None:
    np.testing.assert_array_equal(
        np.asarray(fg.nn.Transformer.generate_square_subsequent_mask(4)),
        torch.nn.Transformer.generate_square_subsequent_mask(4).numpy(),
    )


def test_state_dict_names_and_init_are_torchs() -> None:
    """Names and shapes as torch's state_dict; xavier-uniform on every param of 2+ axes; the
    stacks' layers are copies of one draw, as torch's deepcopy makes them."""
    kw = {"d_model": 16, "nhead": 4, "num_encoder_layers": 2, "num_decoder_layers": 2,
          "dim_feedforward": 64}  # fmt: skip
    ref = torch.nn.Transformer(**kw)
    ours = fg.flatten_dict(fg.nn.Transformer(**kw).init(jax.random.PRNGKey(0)))
    assert {k: tuple(v.shape) for k, v in ref.state_dict().items()} == {
        k: v.shape for k, v in ours.items()
    }
    for name, w in ours.items():
        w = np.asarray(w)
        if w.ndim > 1:
            bound = np.sqrt(6 / sum(w.shape))
            assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound, name
    # The redraw is per layer; the 1-D params of the copied layers stay equal (torch's too).
    a, b = "encoder.layers.0.linear1.", "encoder.layers.1.linear1."
    assert not np.array_equal(ours[a + "weight"], ours[b + "weight"])
    np.testing.assert_array_equal(ours[a + "bias"], ours[b + "bias"])
    enc = fg.nn.TransformerEncoder(fg.nn.TransformerEncoderLayer(E, HEADS, FF), 3)
    layers = enc.init(jax.random.PRNGKey(1))["layers"]
    for i in ("1", "2"):
        jax.tree.map(np.testing.assert_array_equal, layers["0"], layers[i])
    lin = np.asarray(layers["0"]["linear1"]["weight"])
    assert np.abs(lin).max() <= 1 / np.sqrt(E)  # nn.Linear's own init inside a layer


def test_dropout_draws_from_the_key_and_needs_one() -> None:
    layer = fg.nn.TransformerEncoderLayer(E, HEADS, FF, dropout=0.5)
    enc = fg.nn.TransformerEncoder(layer, 2)
    p = enc.init(jax.random.PRNGKey(0))
    x = jnp.asarray(_x(5, 2, E), jnp.float32)
    k = jax.random.PRNGKey(1)
    y1 = enc.apply(p, x, train=True, key=k)
    y2 = jax.jit(lambda x: enc.apply(p, x, train=True, key=k))(x)
    np.testing.assert_allclose(np.asarray(y1), np.asarray(y2), rtol=1e-5, atol=1e-5)
    assert not np.allclose(
        np.asarray(y1), np.asarray(enc.apply(p, x, train=True, key=jax.random.PRNGKey(2)))
    )
    assert not np.allclose(np.asarray(y1), np.asarray(enc.apply(p, x)))
    with pytest.raises(fg.nn.ModuleError, match=r"layers\.0\.self_attn"):
        enc.apply(p, x, train=True)


class _Seq2Seq(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.model = torch.nn.Transformer(E, HEADS, 1, 1, FF, 0.0, "gelu", batch_first=True)
        self.encoder = torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(E, HEADS, FF, 0.0, norm_first=True), 2,
            norm=torch.nn.LayerNorm(E), enable_nested_tensor=False,
        )  # fmt: skip
        self.decoder = torch.nn.TransformerDecoderLayer(E, HEADS, FF, 0.0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.model(x, x[:, :3])
        memory = self.encoder(x.transpose(0, 1))
        return y.sum() + self.decoder(y.transpose(0, 1), memory).sum()


def test_convert_writes_the_transformer_layers() -> None:
    torch.manual_seed(0)
    conv = fg.interop.convert(_Seq2Seq().eval(), torch.randn(2, 5, E))  # verifies against torch
    source = conv.source
    for name in ("Transformer", "TransformerEncoder", "TransformerDecoderLayer"):
        assert f"fg.nn.{name}(" in source, name
    assert 'activation="gelu"' in source and "norm=fg.nn.LayerNorm(" in source
