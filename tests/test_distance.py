"""CosineSimilarity, PairwiseDistance and F.normalize against torch: values and gradients."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import assert_close
from _torch_samples import check_op_sample, op_info, op_samples
from test_layer_table import LEFT_OUT

import funcgrad as fg
from funcgrad.nn import functional as F


def test_normalize_on_op_db_samples(dtype):
    left_out, _ = LEFT_OUT["nn.functional.normalize"]
    samples = op_samples("nn.functional.normalize", dtype, keep=lambda s: not left_out(s))
    assert len(samples) >= 5
    for sample in samples:
        check_op_sample(op_info("nn.functional.normalize").op, F.normalize, sample, dtype)


def _both(torch_layer, layer, x1, x2, dtype):
    t1, t2 = (torch.tensor(x, requires_grad=True) for x in (x1, x2))
    out_t = torch_layer(t1, t2)
    v = np.random.default_rng(1).standard_normal(tuple(out_t.shape)).astype(dtype)
    (out_t * torch.tensor(v)).sum().backward()
    out, vjp = jax.vjp(lambda a, b: layer.apply({}, a, b), jnp.asarray(x1), jnp.asarray(x2))
    g1, g2 = vjp(jnp.asarray(v))
    assert_close(out, out_t.detach().numpy(), dtype, "value")
    assert_close(g1, t1.grad.numpy(), dtype, "grad wrt x1")
    assert_close(g2, t2.grad.numpy(), dtype, "grad wrt x2")


@pytest.mark.parametrize("args", [(), (0,), (-1, 0.5)], ids=["default", "dim0", "dim-1-eps"])
def test_cosine_similarity_matches_torch_with_a_zero_vector(dtype, args):
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((2, 2, 4, 3)).astype(dtype)
    x1[0, :, 0] = 0.0  # a zero vector along dim 1: torch's clamped norm, gradient 0 through it
    x1[0, 0, :] = 0.0
    _both(torch.nn.CosineSimilarity(*args), fg.nn.CosineSimilarity(*args), x1, x2, dtype)


@pytest.mark.parametrize("args", [(), (1.0,), (3.0, 0.0, True), (np.inf,), (0.5, 1e-3)], ids=str)
def test_pairwise_distance_matches_torch(dtype, args):
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((2, 5, 4)).astype(dtype)
    x2[0] = x1[0]  # a zero difference: eps keeps the norm from 0
    _both(torch.nn.PairwiseDistance(*args), fg.nn.PairwiseDistance(*args), x1, x2, dtype)


def test_two_input_layers_refuse_one_input():
    for layer in (fg.nn.CosineSimilarity(), fg.nn.PairwiseDistance()):
        with pytest.raises(fg.nn.ModuleError, match="takes two inputs"):
            layer.apply({}, jnp.ones((2, 3)))


def test_vector_norm_gradient_is_zero_at_zero_like_torch():
    for p in (2.0, 1.0, 3.0, 0.5, np.inf):
        g = jax.grad(lambda x, p=p: F.normalize(x, p, 0).sum())(jnp.zeros(3))
        x = torch.zeros(3, requires_grad=True)
        torch.nn.functional.normalize(x, p, 0).sum().backward()
        np.testing.assert_array_equal(np.asarray(g), x.grad.numpy(), err_msg=f"p={p}")
