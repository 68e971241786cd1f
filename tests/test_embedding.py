"""fg.nn.Embedding and F.embedding against torch.nn.Embedding, and the padding row's rules."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import assert_close, for_each_variant, torch_dtype

import funcgrad as fg
from funcgrad.nn import functional as F


def _check(ref, layer, idx, dtype):
    """Rows and the VJP w.r.t. the weight (random cotangent) agree with torch."""
    ref = ref.to(torch_dtype(dtype))
    params = fg.interop.from_torch(ref, like=layer)
    out_t = ref(torch.tensor(idx))
    v = np.random.default_rng(0).standard_normal(tuple(out_t.shape)).astype(dtype)
    (out_t * torch.tensor(v)).sum().backward()

    def check(variant):
        out = variant(layer.apply)(params, jnp.asarray(idx))
        assert_close(out, out_t.detach().numpy(), dtype, "forward")
        g = variant(jax.grad(lambda p: jnp.sum(layer.apply(p, jnp.asarray(idx)) * v)))(params)
        expected = ref.weight.grad
        expected = expected.to_dense() if expected.is_sparse else expected  # sparse=True
        assert_close(g["weight"], expected.numpy(), dtype, "grad wrt weight")

    for_each_variant(check)


@pytest.mark.parametrize(
    "args, idx_shape", [((10, 3), (4, 5)), ((7, 2, 0), (9,)), ((5, 4, -1), (2, 3, 4)), ((3, 6), ())]
)
def test_matches_torch(dtype, args, idx_shape):
    torch.manual_seed(0)
    ref = torch.nn.Embedding(*args)
    with torch.no_grad():  # a non-zero padding row: its gradient must stay zero anyway
        ref.weight.add_(1.0)
    idx = np.random.default_rng(1).integers(0, args[0], idx_shape)
    _check(ref, fg.nn.Embedding(*args), idx, dtype)


def test_init_is_standard_normal_with_zero_padding_row(x64):
    weight = fg.nn.Embedding(2000, 50, padding_idx=-3).init(jax.random.PRNGKey(0))["weight"]
    assert weight.shape == (2000, 50) and weight.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(weight[-3]), 0.0)
    rest = np.delete(np.asarray(weight), 1997, axis=0).ravel()
    n = rest.size  # N(0, 1): mean within 5 standard errors of 0, variance of 1
    assert abs(rest.mean()) < 5 / np.sqrt(n)
    assert abs(rest.var() - 1.0) < 5 * np.sqrt(2 / n)


def test_padding_row_is_never_updated():
    layer = fg.nn.Embedding(4, 2, padding_idx=1)
    params = layer.init(jax.random.PRNGKey(0))
    idx = jnp.array([1, 1, 2])
    g = jax.grad(lambda p: jnp.sum(layer.apply(p, idx) ** 2 + 3.0))(params)
    np.testing.assert_array_equal(np.asarray(g["weight"][1]), 0.0)
    assert np.all(np.asarray(g["weight"][2]) != 0.0)


def test_out_of_range_index_raises_eagerly_and_is_nan_under_jit():
    w = jnp.ones((3, 2))
    for bad in (3, -1):
        with pytest.raises(ValueError, match=f"index {bad} is out of range for 3 embeddings"):
            F.embedding(jnp.array([0, bad]), w)
        out = jax.jit(F.embedding)(jnp.array([0, bad]), w)
        assert np.isnan(np.asarray(out[1])).all() and not np.isnan(np.asarray(out[0])).any()
    with pytest.raises(fg.nn.ModuleError, match="Embedding: embedding: index 5"):
        layer = fg.nn.Embedding(3, 2)
        layer.apply(layer.init(jax.random.PRNGKey(0)), jnp.array([5]))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"_freeze": True}, "_freeze=True is not implemented"),
        # torch refuses this pair (in backward: "scale_grad_by_freq not supported with sparse
        # gradients"); funcgrad refuses it when the layer is built.
        ({"scale_grad_by_freq": True, "sparse": True}, "not supported with sparse gradients"),
        ({"padding_idx": 3}, r"padding_idx=3 must be within \[-3, 3\)"),
    ],
)
def test_unsupported_options_raise(kwargs, match):
    with pytest.raises(fg.nn.ModuleError, match=match):
        fg.nn.Embedding(3, 2, **kwargs)


def test_params_named_like_state_dict():
    params = fg.nn.Embedding(5, 3).init(jax.random.PRNGKey(0))
    assert {k: v.shape for k, v in params.items()} == {
        k: tuple(v.shape) for k, v in torch.nn.Embedding(5, 3).state_dict().items()
    }


OPTIONS = [
    {"max_norm": 1.0},
    {"max_norm": 2.5, "norm_type": 1.0, "padding_idx": 2},
    {"max_norm": 0.5, "norm_type": float("inf")},
    {"scale_grad_by_freq": True},
    {"scale_grad_by_freq": True, "padding_idx": 0, "max_norm": 1.5},
    {"sparse": True},
]


@pytest.mark.parametrize("kwargs", OPTIONS, ids=str)
def test_options_match_torch(dtype, kwargs):
    """Outputs and the weight's gradient, on indices that repeat (so the counts are not all 1)."""
    torch.manual_seed(0)
    ref = torch.nn.Embedding(6, 4, **kwargs)
    idx = np.array([[0, 2, 2, 5], [2, 1, 0, 2]])
    _check(ref, fg.nn.Embedding(6, 4, **kwargs), idx, dtype)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0])
def test_embedding_renorm_is_the_table_torch_leaves_in_place(x64, norm_type):
    torch.manual_seed(0)
    weight = torch.randn(6, 3, dtype=torch.float64) * 3
    w0 = weight.numpy().copy()
    idx = np.array([[0, 3], [3, 5]])
    torch.nn.functional.embedding(torch.tensor(idx), weight, max_norm=1.0, norm_type=norm_type)
    ours = F.embedding_renorm(jnp.asarray(idx), jnp.asarray(w0), 1.0, norm_type)
    assert_close(ours, weight.numpy(), np.float64, "renormalised table")
    assert (np.asarray(ours)[[1, 2, 4]] == w0[[1, 2, 4]]).all()  # rows not looked up: unchanged
