"""Dropout and Dropout2d, compared with torch statistically (a mask is random in both)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import funcgrad as fg

N = 20000


def _binomial_bound(p: float, n: int) -> float:
    return 6.0 * np.sqrt(p * (1 - p) / n)  # six standard deviations of the kept fraction


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics_match_torch(dtype, p):
    x = jnp.ones((N,), dtype)
    y = fg.nn.Dropout(p).apply({}, x, train=True, key=jax.random.PRNGKey(0))
    kept = float((y != 0).mean())
    assert abs(kept - (1 - p)) < _binomial_bound(p, N)
    np.testing.assert_allclose(np.asarray(y)[np.asarray(y) != 0], 1 / (1 - p), rtol=1e-6)
    assert abs(float(y.mean()) - 1.0) < _binomial_bound(p, N) / (1 - p)  # mean preserved
    # torch's scale and kept fraction, on the same input
    yt = torch.nn.Dropout(p).train()(torch.ones(N, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(np.unique(yt[yt != 0]), 1 / (1 - p), rtol=1e-12)
    assert abs(kept - float((yt != 0).mean())) < 2 * _binomial_bound(p, N)


def test_dropout2d_drops_whole_channels():
    y = fg.nn.Dropout2d(0.5).apply(
        {}, jnp.ones((50, 40, 3, 3)), train=True, key=jax.random.PRNGKey(3)
    )
    per_channel = np.asarray(y).reshape(50, 40, 9)
    assert (per_channel.min(-1) == per_channel.max(-1)).all()
    assert abs(float((per_channel[..., 0] != 0).mean()) - 0.5) < _binomial_bound(0.5, 2000)


@pytest.mark.parametrize("layer", [fg.nn.Dropout(0.3), fg.nn.Dropout2d(0.3)])
def test_same_key_same_mask_and_gradient_uses_it(layer):
    x = jnp.asarray(np.random.default_rng(0).standard_normal((4, 6, 3, 3)), jnp.float32)
    k = jax.random.PRNGKey(7)

    def f(x):
        return layer.apply({}, x, train=True, key=k)

    y1, y2 = f(x), jax.jit(f)(x)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(y1, layer.apply({}, x, train=True, key=jax.random.PRNGKey(8)))
    (g,) = jax.vjp(f, x)[1](jnp.ones_like(x))
    mask = np.asarray(y1 != 0)
    np.testing.assert_array_equal(np.asarray(g != 0), mask)  # forward and backward masks equal
    np.testing.assert_allclose(np.asarray(g)[mask], 1 / 0.7, rtol=1e-6)


@pytest.mark.parametrize("cls", [fg.nn.Dropout, fg.nn.Dropout2d])
def test_eval_identity_and_p_edges(cls):
    x = jnp.asarray(np.random.default_rng(0).standard_normal((2, 3, 4, 4)), jnp.float32)
    k = jax.random.PRNGKey(0)
    assert cls(0.5).apply({}, x) is x
    y, b = cls(0.5).apply({}, x, buffers={}, train=False)
    assert y is x and b == {}
    np.testing.assert_array_equal(cls(0.0).apply({}, x, train=True), x)  # p=0: no key needed
    ones = torch.nn.Dropout(1.0).train()(torch.tensor(np.asarray(x))).numpy()
    y1 = cls(1.0).apply({}, x, train=True, key=k)
    np.testing.assert_array_equal(y1, ones)  # zeros, as torch
    (g,) = jax.vjp(lambda v: cls(1.0).apply({}, v, train=True, key=k), x)[1](jnp.ones_like(x))
    assert not np.isnan(np.asarray(g)).any() and not np.asarray(g).any()


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_p_outside_unit_interval_is_a_one_line_error(p):
    with pytest.raises(ValueError, match=r"use 0 <= p <= 1") as e:
        fg.nn.Dropout(p)
    assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match=r"use 0 <= p <= 1"):
        fg.nn.functional.dropout(jnp.ones(3), p)


def test_missing_key_names_the_layer_path():
    net = fg.nn.Sequential(fg.nn.Linear(3, 3), fg.nn.ReLU(), fg.nn.Dropout(0.5))
    p = net.init(jax.random.PRNGKey(0))
    with pytest.raises(fg.nn.ModuleError, match=r"^2: Dropout\(p=0.5\).*key=") as e:
        net.apply(p, jnp.ones((2, 3)), train=True)
    assert "\n" not in str(e.value)
    # keys are folded per layer path: the mask of "2" does not depend on the other layers
    k = jax.random.PRNGKey(1)
    y = net.apply(p, jnp.ones((2, 3)), train=True, key=k)
    h = jax.nn.relu(fg.nn.Linear(3, 3).apply(p["0"], jnp.ones((2, 3))))
    want = fg.nn.Dropout(0.5).apply({}, h, train=True, key=fg.nn.child_key(k, "2"))
    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("name", ["nn.functional.dropout", "nn.functional.dropout2d"])
def test_op_db_dropout_samples_statistically(dtype, name):
    """torch's own inputs: module_db has no Dropout entry in torch 2.13, so op_db's are used.

    Eval is the identity; in training every entry is either dropped or scaled by ``1/(1-p)``.
    """
    from _torch_samples import module_db, op_samples

    assert not [m for m in module_db if m.module_cls.__name__ == "Dropout"]
    fn = getattr(fg.nn.functional, name.rsplit(".", 1)[1])
    for i, s in enumerate(op_samples(name, dtype)):
        x = jnp.asarray(s.input.detach().numpy())
        p, training = s.kwargs.get("p", 0.5), s.kwargs.get("training", True)
        if name.endswith("2d") and x.ndim not in (3, 4):
            continue  # torch 2.13 warns and reinterprets other ranks; funcgrad raises (tested)
        y = np.asarray(fn(x, p, training, key=jax.random.PRNGKey(i)))
        if not training or p == 0:
            np.testing.assert_array_equal(y, x)
            continue
        scaled = np.asarray(x) / (1 - p) if p < 1 else np.zeros_like(x)
        ok = np.isclose(y, scaled, rtol=1e-6) | (y == 0)
        assert ok.all(), f"sample {i}: entries neither dropped nor scaled"


# -- Dropout1d, Dropout3d, AlphaDropout, FeatureAlphaDropout -----------------------------------

SELU_ALPHA = 1.7580993408473766  # -SELU's negative saturation


@pytest.mark.parametrize(
    ("name", "shape", "channel_axes"),
    [
        ("Dropout1d", (400, 50, 3), 2),
        ("Dropout1d", (50, 3), 1),  # one example (C, L)
        ("Dropout3d", (400, 50, 2, 1, 2), 2),
        ("Dropout3d", (50, 2, 1, 2), 1),  # one example (C, D, H, W)
        ("FeatureAlphaDropout", (400, 50, 3), 2),
    ],
)
def test_channel_dropouts_drop_whole_channels_as_torchs(name, shape, channel_axes):
    p = 0.3
    x = np.ones(shape, np.float32)
    y = np.asarray(
        fg.nn.__dict__[name](p).apply({}, jnp.asarray(x), train=True, key=jax.random.PRNGKey(2))
    )
    yt = getattr(torch.nn, name)(p).train()(torch.tensor(x)).numpy()
    n = int(np.prod(shape[:channel_axes]))
    for out in (y, yt):
        per_channel = out.reshape(n, -1)
        assert (per_channel.min(1) == per_channel.max(1)).all()  # one draw per channel
    np.testing.assert_allclose(np.unique(y), np.unique(yt), rtol=1e-6)  # the same two values
    kept = float((y.reshape(n, -1)[:, 0] == y.max()).mean())
    kept_t = float((yt.reshape(n, -1)[:, 0] == yt.max()).mean())
    assert abs(kept - (1 - p)) < _binomial_bound(p, n)
    assert abs(kept - kept_t) < 2 * _binomial_bound(p, n)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_alpha_dropout_keeps_selu_statistics_and_torchs_values(dtype, p):
    """On standard normal (SELU-normalised) input the output keeps mean 0 and variance 1, and a
    zero input takes torch's two values (kept: alpha a p, dropped: alpha a (p - 1))."""
    x = jax.random.normal(jax.random.PRNGKey(0), (N,), dtype)
    y = fg.nn.AlphaDropout(p).apply({}, x, train=True, key=jax.random.PRNGKey(1))
    assert abs(float(y.mean())) < 0.05 and abs(float(y.var()) - 1) < 0.05
    zero = fg.nn.AlphaDropout(p).apply(
        {}, jnp.zeros(N, dtype), train=True, key=jax.random.PRNGKey(1)
    )
    zt = torch.nn.AlphaDropout(p).train()(torch.zeros(N, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(np.unique(np.asarray(zero)), np.unique(zt), rtol=1e-6)
    a = 1 / np.sqrt((SELU_ALPHA**2 * p + 1) * (1 - p))
    np.testing.assert_allclose(
        np.unique(zt), sorted([SELU_ALPHA * a * (p - 1), SELU_ALPHA * a * p])
    )
    kept = float((zero > 0).mean())
    assert abs(kept - (1 - p)) < _binomial_bound(p, N)
    assert abs(kept - float((zt > 0).mean())) < 2 * _binomial_bound(p, N)
    # the same mask for x and for zeros (same key), and the affine map a * x + b between them
    np.testing.assert_allclose(
        np.asarray(y - zero),
        np.where(np.asarray(zero) > 0, a * np.asarray(x), 0),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (fg.nn.Dropout1d(0.3), (4, 6, 5)),
        (fg.nn.Dropout3d(0.3), (2, 6, 2, 3, 2)),
        (fg.nn.AlphaDropout(0.3), (4, 6, 5)),
        (fg.nn.FeatureAlphaDropout(0.3), (4, 6, 5)),
    ],
)
def test_new_dropouts_same_key_same_mask_eval_identity_and_p_edges(layer, shape):
    x = jnp.asarray(np.random.default_rng(0).standard_normal(shape), jnp.float32)
    k = jax.random.PRNGKey(7)

    def f(x):
        return layer.apply({}, x, train=True, key=k)

    y1 = f(x)
    np.testing.assert_allclose(y1, jax.jit(f)(x), rtol=1e-6)  # jit may fuse a * x + b
    assert not np.array_equal(y1, layer.apply({}, x, train=True, key=jax.random.PRNGKey(8)))
    (g,) = jax.vjp(f, x)[1](jnp.ones_like(x))
    (g0,) = jax.vjp(f, jnp.zeros_like(x))[1](jnp.ones_like(x))
    np.testing.assert_array_equal(g, g0)  # the mask depends on the key alone
    gv = np.asarray(g)
    assert ((gv == 0) | np.isclose(gv, gv.max(), rtol=1e-6)).all()  # masked, or one scale
    assert layer.apply({}, x) is x  # eval
    cls = type(layer)
    np.testing.assert_array_equal(cls(0.0).apply({}, x, train=True), x)
    torch_zeros = getattr(torch.nn, cls.__name__)(1.0).train()(torch.tensor(np.asarray(x)))
    np.testing.assert_array_equal(cls(1.0).apply({}, x, train=True, key=k), torch_zeros.numpy())
    with pytest.raises(fg.nn.ModuleError, match=r"in training draws a random mask; pass key="):
        layer.apply({}, x, train=True)


def test_channel_dropouts_refuse_other_ranks():
    with pytest.raises(ValueError, match=r"dropout1d: expected 2D or 3D input, but received a 4D"):
        fg.nn.Dropout1d().apply({}, jnp.ones((2, 3, 4, 4)), train=True, key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match=r"dropout3d: expected 4D or 5D input"):
        fg.nn.functional.dropout3d(jnp.ones((2, 3, 4)), key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        fg.nn.functional.feature_alpha_dropout(jnp.ones(3), 0.5, True, key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match=r"use 0 <= p <= 1"):
        fg.nn.functional.alpha_dropout(jnp.ones(3), 1.5)


@pytest.mark.parametrize("name", ["nn.functional.dropout3d", "nn.functional.alpha_dropout"])
def test_op_db_samples_of_the_new_dropouts_statistically(dtype, name):
    """torch's own inputs: each entry dropped (0, or alpha dropout's dropped value) or kept."""
    from _torch_samples import op_samples

    fn = getattr(fg.nn.functional, name.rsplit(".", 1)[1])
    alpha = name.endswith("alpha_dropout")
    for i, s in enumerate(op_samples(name, dtype)):
        x = np.asarray(s.input.detach().numpy())
        p, training = s.kwargs.get("p", 0.5), s.kwargs.get("training", not alpha)
        if not alpha and x.ndim not in (4, 5):
            continue
        y = np.asarray(fn(jnp.asarray(x), p, training, key=jax.random.PRNGKey(i)))
        if not training or p in (0, 1) or x.size == 0:
            continue  # deterministic: tests/test_layer_table.py compares these with torch
        if alpha:
            a = 1 / np.sqrt((SELU_ALPHA**2 * p + 1) * (1 - p))
            kept, dropped = a * x + SELU_ALPHA * a * p, SELU_ALPHA * a * (p - 1) + 0 * x
        else:
            kept, dropped = x / (1 - p), 0 * x
        ok = np.isclose(y, kept, rtol=1e-5, atol=1e-6) | np.isclose(y, dropped, atol=1e-6)
        assert ok.all(), f"sample {i}: entries neither dropped nor kept"
