"""BatchNorm1d/2d, LayerNorm and GroupNorm against live torch, in train and eval mode, over steps."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity_state import check_steps
from _properties import randomise

import funcgrad as fg


def _inputs(shape: tuple[int, ...], steps: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.standard_normal(shape) * 2.0 + 0.5 for _ in range(steps)]


BN_CASES = [
    ("BatchNorm1d", (10,), {}, (4, 10)),
    ("BatchNorm1d", (5,), {}, (4, 5, 3)),
    ("BatchNorm1d", (5, 1e-3, None), {}, (4, 5, 3)),  # cumulative moving average
    ("BatchNorm1d", (5, 1e-3, 0.3, False), {}, (4, 5)),  # buffers, no params
    ("BatchNorm1d", (5,), {"bias": False}, (4, 5)),
    ("BatchNorm2d", (3,), {}, (2, 3, 6, 6)),
    ("BatchNorm2d", (3, 1e-3, None), {}, (2, 3, 4, 5)),
    ("BatchNorm2d", (3, 1e-3, 0.8, True, False), {}, (2, 3, 4, 4)),  # batch stats, no buffers
]


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), BN_CASES)
def test_batch_norm_matches_torch_over_steps(dtype, train, name, args, kwargs, shape):
    torch.manual_seed(0)
    ref = randomise(getattr(torch.nn, name)(*args, **kwargs), seed=0)
    check_steps(ref, getattr(fg.nn, name)(*args, **kwargs), _inputs(shape, 4), dtype, train=train)


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "shape"),
    [
        ("LayerNorm", (5,), {}, (4, 3, 5)),
        ("LayerNorm", ([3, 5],), {"bias": False}, (4, 3, 5)),
        ("LayerNorm", ((3, 5), 1e-3, False), {}, (4, 3, 5)),
        ("GroupNorm", (2, 6), {}, (4, 6, 3, 2)),
        ("GroupNorm", (3, 6, 1e-3, False), {}, (4, 6, 5)),
    ],
)
def test_layer_and_group_norm_match_torch(dtype, name, args, kwargs, shape):
    ref = randomise(getattr(torch.nn, name)(*args, **kwargs), seed=0)
    check_steps(ref, getattr(fg.nn, name)(*args, **kwargs), _inputs(shape, 1), dtype, train=True)


def test_buffers_names_dtypes_and_eval_identity(dtype):
    bn = fg.nn.BatchNorm2d(3)
    ref = torch.nn.BatchNorm2d(3)
    buffers = bn.init_buffers()
    assert sorted(fg.flatten_dict(buffers)) == sorted(n for n, _ in ref.named_buffers())
    assert buffers["running_mean"].dtype == dtype
    want_int = jnp.int64 if dtype is np.float64 else jnp.int32
    assert buffers["num_batches_tracked"].dtype == want_int
    x = jnp.asarray(_inputs((2, 3, 4, 4), 1)[0].astype(dtype))
    _, trained = bn.apply(bn.init(None), x, buffers=buffers, train=True)
    assert trained["num_batches_tracked"].dtype == want_int
    for variant in (lambda f: f, jax.jit):
        run = variant(lambda p, x, b: bn.apply(p, x, buffers=b, train=False))
        _, same = run(bn.init(None), x, trained)
        for k in trained:  # bit for bit
            np.testing.assert_array_equal(np.asarray(same[k]), np.asarray(trained[k]))
            assert same[k].dtype == trained[k].dtype
    # affine=False: buffers and no params; track_running_stats=False: no buffers
    assert fg.nn.BatchNorm1d(3, affine=False).init(None) == {}
    assert fg.nn.BatchNorm1d(3, track_running_stats=False).init_buffers() == {}


def test_functional_batch_norm_returns_torchs_value_and_the_update_its_stats():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((8, 3)), jnp.float32)
    rm, rv = jnp.zeros(3), jnp.ones(3)
    F = fg.nn.functional
    y, m, v = F.batch_norm_with_update(x, rm, rv, training=True, momentum=0.5)
    xt = torch.tensor(np.asarray(x))
    rmt, rvt = torch.zeros(3), torch.ones(3)
    yt = torch.nn.functional.batch_norm(xt, rmt, rvt, training=True, momentum=0.5)
    np.testing.assert_allclose(y, yt.numpy(), atol=1e-5)
    np.testing.assert_allclose(m, rmt.numpy(), atol=1e-6)
    np.testing.assert_allclose(v, rvt.numpy(), atol=1e-6)
    # F.batch_norm returns what torch's returns: the output alone
    np.testing.assert_array_equal(F.batch_norm(x, rm, rv, training=True, momentum=0.5), y)
    _, m2, v2 = F.batch_norm_with_update(x, m, v, training=False)
    assert m2 is m and v2 is v


@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4), (0,)])
@pytest.mark.parametrize("training", [True, False])
def test_functional_batch_norm_of_an_empty_input_is_empty_as_torchs(shape, training):
    c = shape[1] if len(shape) > 1 else 0
    x = np.zeros(shape, np.float32)
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
    want = torch.nn.functional.batch_norm(
        torch.tensor(x), torch.tensor(rm), torch.tensor(rv), training=training
    )
    got = fg.nn.functional.batch_norm(
        jnp.asarray(x), jnp.asarray(rm), jnp.asarray(rv), None, None, training
    )
    assert got.shape == tuple(want.shape)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("eps", [0.0, -1.0])
def test_batch_norm_eps_refused_as_torch_refuses_it(eps, train):
    x = torch.randn(2, 3, 2, 2, 2)
    try:
        torch.nn.BatchNorm3d(3, eps=eps).train(train)(x)
        torch_refuses = False
    except ValueError:
        torch_refuses = True
    assert torch_refuses == (train or eps < 0)
    bn = fg.nn.BatchNorm3d(3, eps=eps)
    args = (bn.init(None), jnp.asarray(x.numpy()))
    if not torch_refuses:
        bn.apply(*args, buffers=bn.init_buffers(), train=train)
        return
    with pytest.raises(ValueError, match="BatchNorm3d: batch_norm: eps must be positive") as e:
        bn.apply(*args, buffers=bn.init_buffers(), train=train)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("shape", [(4, 1), (2, 3, 1, 1), (7, 5)])
def test_layer_norm_weight_gradient_is_torchs_on_one_element_groups(dtype, shape):
    """On one value per group torch's weight gradient is not 0 but the rounding of its fused
    rstd * x - rstd * mean; funcgrad's is the same number, to the last bits."""
    rng = np.random.default_rng(0)
    x, v = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    ns = shape[1:] if shape[-1] == 1 else shape[-1:]
    w, b = rng.standard_normal(ns).astype(dtype), np.ones(ns, dtype)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    (torch.nn.functional.layer_norm(xt, ns, wt, bt) * torch.tensor(v)).sum().backward()

    def f(x, w, b):
        return (fg.nn.functional.layer_norm(x, ns, w, b) * v).sum()

    for run in (jax.grad(f, (0, 1, 2)), jax.jit(jax.grad(f, (0, 1, 2)))):
        gx, gw, gb = run(jnp.asarray(x), jnp.asarray(w), jnp.asarray(b))
        assert np.abs(wt.grad.numpy()).max() > 0
        np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-5 if dtype is np.float32 else 1e-10)
        np.testing.assert_allclose(gb, bt.grad.numpy(), rtol=1e-6)
        np.testing.assert_allclose(gx, xt.grad.numpy(), atol=1e-5 if dtype is np.float32 else 1e-12)


def test_layer_norm_second_derivatives_in_input_and_params_match_finite_differences():
    """Hessian-vector products mix the input and the weight: the weight's derivative (torch's
    rounding, above) must still depend on the input. Forward and reverse, second order, float64."""
    from jax.test_util import check_grads

    rng = np.random.default_rng(1)
    x, w, b = (rng.standard_normal(s) for s in ((3, 4, 5), (5,), (5,)))

    def f(x, w, b):
        return fg.nn.functional.layer_norm(x, (5,), w, b)

    with jax.enable_x64(True):
        args = tuple(jnp.asarray(a, jnp.float64) for a in (x, w, b))
        check_grads(f, args, order=2, modes=["fwd", "rev"])


IN_CASES = [
    ("InstanceNorm1d", (4,), {}, (3, 4, 7)),
    ("InstanceNorm1d", (4,), {"affine": True, "track_running_stats": True}, (3, 4, 7)),
    ("InstanceNorm2d", (3,), {"affine": True}, (2, 3, 5, 4)),
    ("InstanceNorm2d", (3, 1e-3, 0.3, False, True), {}, (2, 3, 5, 4)),
    ("InstanceNorm2d", (3, 1e-3, None, True, True), {"bias": False}, (2, 3, 5, 4)),
    ("InstanceNorm3d", (2,), {"track_running_stats": True}, (2, 2, 3, 4, 3)),
]


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), IN_CASES)
def test_instance_norm_matches_torch_over_steps(dtype, train, name, args, kwargs, shape):
    torch.manual_seed(0)
    ref = randomise(getattr(torch.nn, name)(*args, **kwargs), seed=0)
    check_steps(ref, getattr(fg.nn, name)(*args, **kwargs), _inputs(shape, 3), dtype, train=train)


def test_instance_norm_refuses_what_torch_refuses():
    with pytest.raises(fg.nn.ModuleError, match=r"InstanceNorm2d expected 3D or 4D input"):
        fg.nn.InstanceNorm2d(3).apply({}, jnp.ones((2, 3)))
    layer = fg.nn.InstanceNorm1d(3, affine=True)
    with pytest.raises(fg.nn.ModuleError, match=r"match num_features \(3\), but got: 4"):
        layer.apply(layer.init(None), jnp.ones((2, 4, 5)))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        fg.nn.InstanceNorm1d(3).apply({}, jnp.ones((2, 3, 1)), train=True)


@pytest.mark.parametrize(
    ("args", "shape"),
    [((2,), (2, 5, 3)), ((3, 1e-2, 0.5, 2.0), (2, 6, 3, 4)), ((4,), (1, 7, 2, 2, 3))],
)
def test_local_response_norm_matches_torch(dtype, args, shape):
    ref = torch.nn.LocalResponseNorm(*args)
    check_steps(ref, fg.nn.LocalResponseNorm(*args), _inputs(shape, 1), dtype, train=True)


def test_batch_norm_needs_the_batch_or_its_axis_name():
    bn = fg.nn.BatchNorm1d(3)
    p, b = bn.init(None), bn.init_buffers()
    with pytest.raises(fg.nn.ModuleError, match="unbatched example.*needs the batch.*axis_name"):
        bn.apply(p, jnp.ones(3), buffers=b, train=True)
    with pytest.raises(fg.nn.ModuleError, match="unbatched example.*axis_name"):
        fg.nn.Batched(bn).apply(p, jnp.ones((4, 3)), buffers=b, train=True)
    named = fg.nn.BatchNorm1d(3, axis_name="batch")
    with pytest.raises(fg.nn.ModuleError, match=r"under jax.vmap\(f, axis_name='batch'\)"):
        named.apply(p, jnp.ones(3), buffers=b, train=True)  # no vmap names the axis
    with pytest.raises(fg.nn.ModuleError, match=r"one example \(C,\) or \(C, L\) per call"):
        named.apply(p, jnp.ones((4, 3, 2, 2)), buffers=b, train=True)
    with pytest.raises(ValueError, match="axis_name"):
        fg.nn.BatchNorm2d(3, axis_name=["batch"])


def _torch_batch_norm(name: str, args: tuple, dtype: type) -> torch.nn.Module:
    torch.manual_seed(0)
    ref = randomise(getattr(torch.nn, name)(*args), seed=0)
    return ref.to(torch.float64 if dtype is np.float64 else torch.float32)


def _state(ref: torch.nn.Module) -> tuple[dict, dict]:
    params = {k: jnp.asarray(v.detach().numpy()) for k, v in ref.named_parameters()}
    buffers = {k: jnp.asarray(v.numpy()) for k, v in ref.named_buffers()}
    return params, buffers


NAMED_CASES = [
    ("BatchNorm1d", (4,), (6, 4)),
    ("BatchNorm1d", (4, 1e-3, None), (5, 4, 3)),  # cumulative average: num_batches_tracked counts
    ("BatchNorm2d", (3,), (4, 3, 5, 2)),
    ("BatchNorm2d", (3, 1e-5, 0.1, False), (4, 3, 2, 2)),  # no params
]


@pytest.mark.parametrize(("name", "args", "shape"), NAMED_CASES)
def test_batch_norm_under_named_vmap_equals_torch_on_the_batch(x64, name, args, shape):
    """Written for one example and vmapped with axis_name: torch's BatchNorm on the whole batch."""
    ref = _torch_batch_norm(name, args, np.float64).train()
    layer = getattr(fg.nn, name)(*args, axis_name="batch")
    params, buffers = _state(ref)

    def one(p, x, b):
        return layer.apply(p, x, buffers=b, train=True)

    step = jax.jit(jax.vmap(one, in_axes=(None, 0, None), out_axes=(0, None), axis_name="batch"))
    for x in _inputs(shape, 3):  # running statistics carried over steps, as torch's
        xt = torch.tensor(x, requires_grad=True)
        want = ref(xt)
        y, buffers = step(params, jnp.asarray(x), buffers)
        np.testing.assert_allclose(y, want.detach().numpy(), rtol=1e-12, atol=1e-12)
        for k, v in ref.named_buffers():
            assert buffers[k].dtype == jnp.asarray(v.numpy()).dtype
            np.testing.assert_allclose(buffers[k], v.numpy(), rtol=1e-12, atol=1e-12)
    # gradients through the psum, against torch's through the batch statistics
    cot = np.random.default_rng(2).standard_normal(shape)
    x = _inputs(shape, 1)[0]
    xt = torch.tensor(x, requires_grad=True)
    (ref(xt) * torch.tensor(cot)).sum().backward()

    def loss(p, x):
        y, _ = jax.vmap(one, in_axes=(None, 0, None), out_axes=(0, None), axis_name="batch")(
            p, x, buffers
        )
        return jnp.sum(y * cot)

    gp, gx = jax.grad(loss, argnums=(0, 1))(params, jnp.asarray(x))
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    for k, v in ref.named_parameters():
        np.testing.assert_allclose(gp[k], v.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("axis_name", [None, "batch"])
@pytest.mark.parametrize(
    ("name", "shape"), [("BatchNorm1d", (6, 4)), ("BatchNorm2d", (4, 4, 3, 2))]
)
def test_batch_norm_eval_runs_under_vmap_and_equals_torch_eval(x64, axis_name, name, shape):
    ref = _torch_batch_norm(name, (shape[1],), np.float64)
    with torch.no_grad():  # running statistics away from the init, so eval means something
        ref.running_mean.uniform_(-1, 1)
        ref.running_var.uniform_(0.5, 2)
    ref.eval()
    layer = getattr(fg.nn, name)(shape[1], axis_name=axis_name)
    params, buffers = _state(ref)
    x = _inputs(shape, 1)[0]
    one = lambda x: layer.apply(params, x, buffers=buffers)  # noqa: E731
    y, same = jax.vmap(one, out_axes=(0, None), axis_name=axis_name)(jnp.asarray(x))
    np.testing.assert_allclose(y, ref(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12)
    for k in buffers:
        np.testing.assert_array_equal(same[k], buffers[k])


def test_batched_names_its_axis_for_batch_norm(x64):
    ref = _torch_batch_norm("BatchNorm2d", (3,), np.float64).train()
    net = fg.nn.Batched(fg.nn.BatchNorm2d(3, axis_name="batch"), axis_name="batch")
    params, buffers = _state(ref)
    x = _inputs((4, 3, 2, 2), 1)[0]
    y, buffers = net.apply(params, jnp.asarray(x), buffers=buffers, train=True)
    np.testing.assert_allclose(y, ref(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(buffers["running_var"], ref.running_var.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("layer", "x", "match"),
    [
        (fg.nn.BatchNorm2d(3), jnp.ones((2, 3)), r"\(N, C, H, W\).*use BatchNorm1d"),
        (fg.nn.BatchNorm2d(3), jnp.ones((2, 4, 5, 5)), "num_features=4"),
        (fg.nn.BatchNorm1d(3), jnp.ones((2, 3, 4, 5)), "use BatchNorm2d"),
        (fg.nn.GroupNorm(2, 4), jnp.ones((2, 6, 3)), "num_channels=6"),
        (fg.nn.LayerNorm(5), jnp.ones((2, 4)), "normalized_shape"),
    ],
)
def test_input_errors_are_one_line(layer, x, match):
    kw = {"buffers": layer.init_buffers()} if layer.init_buffers() else {}
    with pytest.raises(fg.nn.ModuleError, match=match) as e:
        layer.apply(layer.init(None), x, train=True, **kw)
    assert "\n" not in str(e.value)


def test_missing_buffers_and_error_path_through_sequential():
    net = fg.nn.Sequential(fg.nn.Identity(), fg.nn.BatchNorm2d(3))
    p = net.init(jax.random.PRNGKey(0))
    with pytest.raises(fg.nn.ModuleError, match=r"^1: BatchNorm2d expects"):
        net.apply(p, jnp.ones((2, 4)), buffers=net.init_buffers(), train=True)
    with pytest.raises(fg.nn.ModuleError, match=r"^1: BatchNorm2d buffers lack .*init_buffers"):
        net.apply(p, jnp.ones((2, 3, 2, 2)), buffers={}, train=True)
    with pytest.raises(fg.nn.ModuleError, match="has buffers"):
        net.apply(p, jnp.ones((2, 4)))
