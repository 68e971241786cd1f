"""Losses against live torch.nn.functional (eager and jitted), torch's op_db samples, finite differences."""

import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from _parity import assert_close, check_loss
from jax.test_util import check_grads

import funcgrad as fg

REDUCTIONS = ["mean", "sum", "none"]
rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seeded(request: pytest.FixtureRequest) -> None:
    """Each test draws the same numbers whichever tests ran before it on its xdist worker."""
    global rng
    rng = np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def _compare(dtype, name, args, wrt=(0,), **kw):
    """``fg.losses.<name>`` and ``torch.nn.functional.<name>`` agree (same name, same arguments)."""
    check_loss(getattr(TF, name), getattr(fg.losses, name), args, dtype, wrt=wrt, **kw)


def test_signatures_are_torchs():
    """Same argument names in the same positional order, less torch's deprecated two."""
    import inspect

    for name in fg.losses.__all__:
        if name == "Reduction":
            continue
        ours = list(inspect.signature(getattr(fg.losses, name)).parameters)
        theirs = list(inspect.signature(getattr(TF, name)).parameters)
        assert ours == [p for p in theirs if p not in ("size_average", "reduce")], name


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("weighted", [False, True])
def test_l1_and_mse_match_torch(dtype, name, reduction, weighted):
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    kw = {"weight": rng.uniform(0.5, 2, (4, 3))} if weighted else {}
    _compare(dtype, name, [a, b], wrt=(0, 1), reduction=reduction, **kw)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [0.0, 0.5, 3.0])
def test_smooth_l1_matches_torch(dtype, reduction, beta):
    a, b = rng.standard_normal((5, 4)) * 2, rng.standard_normal((5, 4))
    _compare(dtype, "smooth_l1_loss", [a, b], wrt=(0, 1), reduction=reduction, beta=beta)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta, weighted", [(0.5, False), (3.0, True)])
def test_huber_matches_torch(dtype, reduction, delta, weighted):
    a, b = rng.standard_normal((5, 4)) * 2, rng.standard_normal((5, 4))
    kw = {"weight": rng.uniform(0.5, 2, (5, 4))} if weighted else {}
    _compare(dtype, "huber_loss", [a, b], wrt=(0, 1), reduction=reduction, delta=delta, **kw)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, (6, 3), (3,)])
def test_bce_matches_torch(dtype, reduction, weight_shape):
    x, y = rng.uniform(0.02, 0.98, (6, 3)), rng.uniform(size=(6, 3))
    kw = {} if weight_shape is None else {"weight": rng.uniform(0.5, 2, weight_shape)}
    _compare(dtype, "binary_cross_entropy", [x, y], wrt=(0, 1), reduction=reduction, **kw)


def test_bce_clamps_the_log_at_minus_100_like_torch(dtype):
    x, y = np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    out = fg.losses.binary_cross_entropy(
        jnp.asarray(x, dtype), jnp.asarray(y, dtype), reduction="none"
    )
    ref = TF.binary_cross_entropy(torch.tensor(x), torch.tensor(y), reduction="none")
    assert_close(out, ref.numpy(), dtype, "clamped")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "scale, weights",
    [
        (1.0, None),
        (1000.0, None),
        (1.0, ((6, 3), (3,))),
        (100.0, ((3,), (1,))),
        (1.0, ((1, 3), (6, 3))),
    ],
)
def test_bce_with_logits_matches_torch(dtype, reduction, scale, weights):
    z = rng.standard_normal((6, 3)) * scale
    y = rng.uniform(size=(6, 3))
    kw = {}
    if weights is not None:
        kw = {
            "weight": rng.uniform(0.5, 2, weights[0]),
            "pos_weight": rng.uniform(0.5, 3, weights[1]),
        }
    _compare(
        dtype, "binary_cross_entropy_with_logits", [z, y], wrt=(0, 1), reduction=reduction, **kw
    )


def _class_targets(shape, ignore=None):
    class_axis = 0 if len(shape) == 1 else 1
    t = rng.integers(0, shape[class_axis], shape[:class_axis] + shape[class_axis + 1 :])
    if ignore is not None:
        t.flat[::3] = ignore
    return t


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("scale, shape", [(1.0, (7, 4)), (100.0, (4,)), (1000.0, (3, 5, 2))])
def test_cross_entropy_matches_torch(dtype, reduction, scale, shape):
    z = rng.standard_normal(shape) * scale
    t = _class_targets(shape)
    if scale > 1:
        # Large logits test the log-sum-exp; where the target is the logits' argmax the gradient
        # softmax - one_hot is 1 - (1 - 1e-16), pure rounding in torch and here alike: aim at the
        # argmin instead, where the gradient is O(1).
        t = np.argmin(z, axis=0 if len(shape) == 1 else 1)
    _compare(dtype, "cross_entropy", [z, t], reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "ignore_index, label_smoothing, weighted, shape",
    [
        (-100, 0.0, True, (8, 4)),
        (2, 0.0, False, (8, 4)),
        (-100, 0.3, False, (8, 4)),
        (2, 0.3, True, (8, 4)),
        (1, 0.2, True, (3, 4, 2)),
    ],
)
def test_cross_entropy_weight_ignore_index_smoothing_match_torch(
    dtype, reduction, ignore_index, label_smoothing, weighted, shape
):
    z = rng.standard_normal(shape)
    kw = {"weight": rng.uniform(0.5, 2.0, shape[1])} if weighted else {}
    t = _class_targets(shape, ignore=ignore_index)
    _compare(
        dtype,
        "cross_entropy",
        [z, t],
        reduction=reduction,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        **kw,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "label_smoothing, weighted, shape",
    [(0.0, False, (5, 3)), (0.25, False, (3,)), (0.0, True, (2, 3, 4)), (0.25, True, (5, 3))],
)
def test_cross_entropy_probability_targets_match_torch(
    dtype, reduction, label_smoothing, weighted, shape
):
    class_axis = 0 if len(shape) == 1 else 1
    z = rng.standard_normal(shape)
    p = rng.uniform(size=shape)
    p = p / p.sum(axis=class_axis, keepdims=True)
    kw = {"weight": rng.uniform(0.5, 2.0, shape[class_axis])} if weighted else {}
    _compare(
        dtype,
        "cross_entropy",
        [z, p],
        wrt=(0, 1),
        reduction=reduction,
        label_smoothing=label_smoothing,
        **kw,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    "ignore_index, weighted, shape",
    [(-100, False, (6, 4)), (0, True, (6, 4)), (-100, True, (4,)), (1, True, (2, 4, 3))],
)
def test_nll_loss_matches_torch(dtype, reduction, ignore_index, weighted, shape):
    class_axis = 0 if len(shape) == 1 else 1
    logp = np.asarray(jax.nn.log_softmax(rng.standard_normal(shape), axis=class_axis))
    kw = {"weight": rng.uniform(0.5, 2.0, shape[class_axis])} if weighted else {}
    t = _class_targets(shape, ignore=ignore_index if ignore_index >= 0 else None)
    _compare(dtype, "nll_loss", [logp, t], reduction=reduction, ignore_index=ignore_index, **kw)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", [5, 3, -1])
def test_class_index_out_of_range_raises_eagerly_like_torch(name, bad):
    z, t = jnp.ones((2, 3)), jnp.array([0, bad])
    with pytest.raises(IndexError):
        getattr(TF, name)(torch.ones(2, 3), torch.tensor([0, bad]))
    with pytest.raises(IndexError, match=f"target {bad} is out of bounds for 3 classes"):
        getattr(fg.losses, name)(z, t)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_class_index_out_of_range_under_jit_is_nan(name, reduction):
    """Under jit a label cannot raise: the bad example's loss is NaN (documented), the others are kept."""
    loss = jax.jit(lambda z, t: getattr(fg.losses, name)(z, t, reduction=reduction))
    z = jnp.asarray(rng.standard_normal((3, 3)), jnp.float32)
    out = loss(z, jnp.array([0, 5, -100]))
    assert np.isnan(out).any()
    if reduction == "none":
        good = getattr(fg.losses, name)(z[:1], jnp.array([0]), reduction="none")
        assert_close(out[0], good[0], np.float32, "in-range example")
        assert float(out[2]) == 0.0  # ignore_index still ignored
    assert not np.isnan(loss(z, jnp.array([0, 2, -100]))).any()


def test_every_loss_runs_in_a_named_scope():
    """fg.graph groups a jaxpr by name_stack: each loss's equations carry its name."""
    z, y = jnp.zeros((2, 3)), jnp.full((2, 3), 0.5)
    t = jnp.array([0, 2])
    calls = {
        "mse_loss": (z, y),
        "l1_loss": (z, y),
        "smooth_l1_loss": (z, y),
        "huber_loss": (z, y),
        "binary_cross_entropy": (y, y),
        "binary_cross_entropy_with_logits": (z, y),
        "cross_entropy": (z, t),
        "nll_loss": (z, t),
    }
    for name, args in calls.items():
        jaxpr = jax.make_jaxpr(getattr(fg.losses, name))(*args)
        stacks = [str(e.source_info.name_stack) for e in jaxpr.jaxpr.eqns]
        assert stacks and all(s.split("/")[0] == name for s in stacks), (name, stacks)


def test_finite_differences(x64):
    z = jax.random.normal(jax.random.PRNGKey(0), (4, 3))
    y = jax.random.bernoulli(jax.random.PRNGKey(1), 0.5, (4, 3)).astype(z.dtype)
    p = jax.nn.softmax(jax.random.normal(jax.random.PRNGKey(2), (4, 3)))
    t = jnp.array([0, 2, 1, 1])
    pw = jnp.array([0.5, 2.0, 1.5])
    for f in (
        lambda z: fg.losses.mse_loss(z, y),
        lambda z: fg.losses.binary_cross_entropy_with_logits(z, y, pos_weight=pw),
        lambda z: fg.losses.cross_entropy(z, t),
        lambda z: fg.losses.cross_entropy(z, t, reduction="none"),
    ):
        check_grads(jax.jit(f), (z,), order=2, modes=("fwd", "rev"))
    for f in (  # first order is enough for these (second order costs seconds each)
        lambda z: fg.losses.smooth_l1_loss(z, y, beta=0.5),
        lambda z: fg.losses.binary_cross_entropy(jax.nn.sigmoid(z), p),
        lambda z: fg.losses.cross_entropy(z, t, label_smoothing=0.1),
        lambda z: fg.losses.cross_entropy(z, p, reduction="none"),
    ):
        check_grads(jax.jit(f), (z,), order=1, modes=("fwd", "rev"))


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
        (lambda: fg.losses.l1_loss(jnp.ones(3), jnp.ones(3), "avg"), ValueError, "reduction"),
        (
            lambda: fg.losses.cross_entropy(jnp.ones(2), jnp.ones(2), reduction="x"),
            ValueError,
            "reduction",
        ),
        (
            lambda: fg.losses.cross_entropy(jnp.ones((2, 3)), jnp.ones((2, 4))),
            ValueError,
            "one-hot|probab",
        ),
        (lambda: fg.losses.cross_entropy(jnp.ones((2, 3)), jnp.ones(2)), TypeError, "integer"),
        (
            lambda: fg.losses.cross_entropy(jnp.ones((2, 3)), jnp.array([0, 1]), jnp.ones(2)),
            ValueError,
            "per class",
        ),
        (
            lambda: fg.losses.cross_entropy(
                jnp.ones((2, 3)), jnp.array([0, 1]), label_smoothing=2.0
            ),
            ValueError,
            r"\[0, 1\]",
        ),
        (lambda: fg.losses.huber_loss(jnp.ones(3), jnp.ones(3), delta=0.0), ValueError, "delta"),
        (lambda: fg.losses.smooth_l1_loss(jnp.ones(3), jnp.ones(3), beta=-1.0), ValueError, "beta"),
        (
            lambda: fg.losses.l1_loss(jnp.ones(3), jnp.ones(3), weight=jnp.ones(1)),
            ValueError,
            "weight",
        ),
        (
            lambda: fg.losses.binary_cross_entropy_with_logits(
                jnp.ones((2, 3)), jnp.ones((2, 3)), pos_weight=jnp.ones(2)
            ),
            ValueError,
            "pos_weight",
        ),
    ],
)
def test_bad_input_names_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call()
