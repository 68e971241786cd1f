"""Losses against torch.nn.functional: every reduction, large logits, finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from _parity import assert_close
from jax.test_util import check_grads

import funcgrad as fg

REDUCTIONS = ["mean", "sum", "none"]
rng = np.random.default_rng(0)


def _compare(dtype, name, inputs, **kw):
    """``fg.losses.<name>`` and ``torch.nn.functional.<name>`` (same names, same arguments) agree in
    value and in gradient w.r.t. the first (float) input."""
    fg_loss, torch_loss = getattr(fg.losses, name), getattr(TF, name)
    t_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    j_kw = {k: jnp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    t_inputs = [torch.tensor(a) for a in inputs]
    t_inputs[0].requires_grad_(True)
    out_t = torch_loss(*t_inputs, **t_kw)
    v = rng.standard_normal(tuple(out_t.shape)).astype(dtype)
    (out_t * torch.tensor(v)).sum().backward()
    j_inputs = [jnp.asarray(a) for a in inputs]
    out = fg_loss(*j_inputs, **j_kw)
    assert_close(out, out_t.detach().numpy(), dtype, "value")
    g = jax.grad(lambda z: jnp.sum(fg_loss(z, *j_inputs[1:], **j_kw) * v))(j_inputs[0])
    assert_close(g, t_inputs[0].grad.numpy(), dtype, "gradient")
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(g))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5,), (4, 3), (2, 3, 4)])
def test_mse_matches_torch(dtype, reduction, shape):
    a, b = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    _compare(dtype, "mse_loss", [a, b], reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("scale", [1.0, 100.0, 1000.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_with_logits_matches_torch(dtype, reduction, scale, weighted):
    z = (rng.standard_normal((6, 3)) * scale).astype(dtype)
    y = rng.uniform(size=(6, 3)).round().astype(dtype)
    kw = {}
    if weighted:
        kw = {
            "weight": rng.uniform(0.5, 2, (6, 3)).astype(dtype),
            "pos_weight": rng.uniform(0.5, 3, (3,)).astype(dtype),
        }
    _compare(dtype, "binary_cross_entropy_with_logits", [z, y], reduction=reduction, **kw)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("scale", [1.0, 100.0, 1000.0])
@pytest.mark.parametrize("shape", [(7, 4), (4,), (3, 5, 2)])
def test_cross_entropy_matches_torch(dtype, reduction, scale, shape):
    z = (rng.standard_normal(shape) * scale).astype(dtype)
    class_axis = 0 if len(shape) == 1 else 1
    target_shape = shape[:class_axis] + shape[class_axis + 1 :]
    t = rng.integers(0, shape[class_axis], target_shape)
    _compare(dtype, "cross_entropy", [z, t], reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_weight_and_ignore_index_match_torch(dtype, reduction):
    z = rng.standard_normal((8, 4)).astype(dtype)
    t = np.array([0, 1, 2, 3, -100, 1, -100, 2])
    w = rng.uniform(0.5, 2.0, 4).astype(dtype)
    _compare(dtype, "cross_entropy", [z, t], weight=w, reduction=reduction)


def test_finite_differences(x64):
    z = jax.random.normal(jax.random.PRNGKey(0), (4, 3))
    y = jax.random.bernoulli(jax.random.PRNGKey(1), 0.5, (4, 3)).astype(z.dtype)
    t = jnp.array([0, 2, 1, 1])
    pw = jnp.array([0.5, 2.0, 1.5])
    for f in (
        lambda z: fg.losses.mse_loss(z, y),
        lambda z: fg.losses.binary_cross_entropy_with_logits(z, y, pos_weight=pw),
        lambda z: fg.losses.cross_entropy(z, t),
        lambda z: fg.losses.cross_entropy(z, t, reduction="none"),
    ):
        check_grads(f, (z,), order=2, modes=("fwd", "rev"))


def test_per_sample_loss_vmapped_then_averaged_is_the_mean_loss():
    """The notes' per-sample loss vs average loss: vmap one example's loss, then take the mean."""
    z = jax.random.normal(jax.random.PRNGKey(0), (10, 4))
    t = jax.random.randint(jax.random.PRNGKey(1), (10,), 0, 4)
    per_sample = jax.vmap(fg.losses.cross_entropy)(z, t)
    assert per_sample.shape == (10,)
    assert_close(per_sample, fg.losses.cross_entropy(z, t, reduction="none"), np.float32, "none")
    assert_close(per_sample.mean(), fg.losses.cross_entropy(z, t), np.float32, "mean")


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: fg.losses.mse_loss(jnp.ones(3), jnp.ones(4)), ValueError, "differs from target"),
        (lambda: fg.losses.mse_loss(jnp.ones(3), jnp.ones(3), "avg"), ValueError, "reduction"),
        (
            lambda: fg.losses.cross_entropy(jnp.ones((2, 3)), jnp.ones((2, 3))),
            ValueError,
            "one-hot",
        ),
        (lambda: fg.losses.cross_entropy(jnp.ones((2, 3)), jnp.ones(2)), TypeError, "integer"),
    ],
)
def test_bad_input_names_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call()
