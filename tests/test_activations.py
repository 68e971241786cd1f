"""Parameter-free layers against their torch counterparts, torch's samples, finite differences."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import assert_close, check_module
from jax.test_util import check_grads

import funcgrad as fg
from funcgrad.nn import functional as F

LAYERS = [
    (torch.nn.ReLU(), fg.nn.ReLU()),
    (torch.nn.Tanh(), fg.nn.Tanh()),
    (torch.nn.Sigmoid(), fg.nn.Sigmoid()),
    (torch.nn.GELU(), fg.nn.GELU()),
    (torch.nn.GELU("tanh"), fg.nn.GELU("tanh")),
    (torch.nn.LeakyReLU(), fg.nn.LeakyReLU()),
    (torch.nn.LeakyReLU(0.3), fg.nn.LeakyReLU(0.3, True)),  # inplace: ignored (immutable arrays)
    (torch.nn.ELU(), fg.nn.ELU()),
    (torch.nn.ELU(0.5), fg.nn.ELU(0.5)),
    (torch.nn.SiLU(), fg.nn.SiLU()),
    (torch.nn.Softmax(1), fg.nn.Softmax(1)),
    (torch.nn.Softmax(-1), fg.nn.Softmax(-1)),
    (torch.nn.LogSoftmax(2), fg.nn.LogSoftmax(2)),
    (torch.nn.Identity(3, unused=1), fg.nn.Identity(3, unused=1)),
    (torch.nn.Flatten(), fg.nn.Flatten()),
    (torch.nn.Flatten(0, 1), fg.nn.Flatten(0, 1)),
    (torch.nn.Flatten(2), fg.nn.Flatten(2)),
]


@pytest.mark.parametrize("torch_layer, layer", LAYERS, ids=lambda m: repr(m))
def test_matches_torch(dtype, torch_layer, layer):
    x = np.random.default_rng(0).standard_normal((3, 4, 2, 5))
    check_module(torch_layer, layer, x, dtype)


ELEMENTWISE = ["ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Tanh", "Sigmoid"]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_at_kinks_like_torch(dtype, name):
    # 0 is the kink of ReLU and LeakyReLU (torch: slope 0 and negative_slope there) and of ELU.
    x = np.array([0.0, -0.0, 1.0, -1.0, 1e-3], dtype=dtype)
    xt = torch.tensor(x, requires_grad=True)
    out_t = getattr(torch.nn, name)()(xt)
    out_t.sum().backward()
    layer = getattr(fg.nn, name)()
    out, pullback = jax.vjp(lambda x: layer.apply({}, x), jnp.asarray(x))
    assert_close(out, out_t.detach().numpy(), dtype, "value")
    assert_close(pullback(jnp.ones_like(out))[0], xt.grad.numpy(), dtype, "grad")


@pytest.mark.parametrize("name", ["ReLU", "LeakyReLU"])
def test_nan_input_like_torch(name):
    # torch 2.13, live: ReLU passes the incoming gradient at NaN (threshold_backward keeps it
    # where not x <= 0); LeakyReLU gives negative_slope there (NaN > 0 is false).
    x = np.array([np.nan, 0.0, 2.0], dtype=np.float32)
    xt = torch.tensor(x, requires_grad=True)
    out_t = getattr(torch.nn, name)()(xt)
    out_t.backward(torch.ones(3))
    out, pullback = jax.vjp(lambda x: getattr(fg.nn, name)().apply({}, x), jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(out), out_t.detach().numpy())
    np.testing.assert_array_equal(np.asarray(pullback(jnp.ones(3))[0]), xt.grad.numpy())


def test_relu_at_nan_passes_the_gradient_and_zero_gives_zero():
    # torch 2.13's threshold_backward: grad where not (x <= 0), so NaN passes it and 0 does not.
    g = jax.grad(lambda x: fg.nn.ReLU().apply({}, x).sum())(jnp.array([jnp.nan, 0.0, 2.0]))
    assert g.tolist() == [1.0, 0.0, 1.0]


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 3, 4), (2, 3, 4, 5)])
def test_implicit_dim_follows_torch_and_warns(fn, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = getattr(torch.nn.functional, fn.__name__)(torch.tensor(x), None).numpy()
    with pytest.warns(UserWarning, match="Implicit dimension choice .* deprecated"):
        out = fn(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-6)


def test_flatten_empty_batch():
    x = np.zeros((0, 3, 4, 5))
    assert fg.nn.Flatten().apply({}, jnp.asarray(x)).shape == tuple(
        torch.nn.Flatten()(torch.tensor(x)).shape
    )
    assert F.flatten(jnp.zeros((2, 0, 4)), 0, 1).shape == (0, 4)


@pytest.mark.parametrize(
    "layer",
    [
        fg.nn.Tanh(),
        fg.nn.Sigmoid(),
        fg.nn.ReLU(),
        fg.nn.Flatten(),
        fg.nn.GELU(),
        fg.nn.GELU("tanh"),
        fg.nn.LeakyReLU(0.2),
        fg.nn.ELU(),
        fg.nn.SiLU(),
        fg.nn.Softmax(1),
        fg.nn.LogSoftmax(-1),
    ],
    ids=repr,
)
def test_finite_differences(x64, layer):
    # Inputs kept away from 0, where ReLU has no derivative for finite differences to find.
    x = jax.random.uniform(jax.random.PRNGKey(0), (2, 3, 4), minval=0.1, maxval=2.0)
    x = x * jax.random.rademacher(jax.random.PRNGKey(1), x.shape, dtype=x.dtype)
    check_grads(jax.jit(lambda x: layer.apply({}, x)), (x,), order=2, modes=("fwd", "rev"))


def test_functional_first_argument_is_input():
    import inspect

    for fn in (
        F.relu,
        F.gelu,
        F.elu,
        F.leaky_relu,
        F.silu,
        F.softmax,
        F.log_softmax,
        F.tanh,
        F.sigmoid,
        F.flatten,
        F.linear,
        F.conv1d,
        F.conv2d,
        F.max_pool2d,
        F.avg_pool2d,
        F.adaptive_avg_pool2d,
        F.embedding,
    ):
        assert next(iter(inspect.signature(fn).parameters)) == "input", fn.__name__
    assert list(inspect.signature(F.linear).parameters) == ["input", "weight", "bias"]


def test_no_params():
    for layer in (fg.nn.ReLU(), fg.nn.GELU(), fg.nn.Identity(), fg.nn.Softmax(0), fg.nn.Flatten()):
        assert layer.init(jax.random.PRNGKey(0)) == {}
    assert hash(fg.nn.Identity(1, 2)) == hash(fg.nn.Identity())


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "nn.functional.softmin"])
def test_dtype_argument_on_op_db_with_dtype_samples(dtype, name):
    """op_db's ``with_dtype`` variant: ``dtype=`` casts the input first, as torch's does."""
    import types

    from _torch_samples import check_op_sample, op_info, op_samples

    fn = getattr(F, name.rsplit(".", 1)[-1])
    torch_fn = op_info(name, "with_dtype").op

    # The sample's ``dtype`` keyword is passed as ``cast`` (check_op_sample has a dtype of its
    # own); torch gets it as a torch dtype, funcgrad as NumPy's. Outputs are compared in the
    # sample's dtype.
    def theirs(input, *args, cast=None, **kwargs):
        return torch_fn(input, *args, dtype=cast, **kwargs).to(input.dtype)

    def ours(input, *args, cast=None, **kwargs):
        out = fn(input, *args, dtype=np.dtype(str(cast).removeprefix("torch.")), **kwargs)
        return out.astype(input.dtype)

    samples = op_samples(name, dtype, variant="with_dtype")
    assert samples and all("dtype" in s.kwargs for s in samples)
    for s in samples:
        kwargs = {("cast" if k == "dtype" else k): v for k, v in s.kwargs.items()}
        sample = types.SimpleNamespace(input=s.input, args=s.args, kwargs=kwargs)
        check_op_sample(theirs, ours, sample, dtype)


def test_implicit_dim_warning_is_torchs_word_for_word():
    with pytest.warns(UserWarning) as ours:
        F.softmin(jnp.zeros((2, 3)))
    with pytest.warns(UserWarning) as theirs:
        torch.nn.functional.softmin(torch.zeros(2, 3))
    assert str(ours[0].message) == str(theirs[0].message)


def test_rrelu_in_training_draws_slopes_from_the_key():
    x = -jnp.ones((200, 50))
    key = jax.random.PRNGKey(3)
    layer = fg.nn.RReLU(0.1, 0.3)
    y = layer.apply({}, x, train=True, key=key)
    slopes = -np.asarray(y)
    assert ((slopes >= 0.1) & (slopes <= 0.3)).all()
    # U(0.1, 0.3): mean 0.2, sd 0.2 / sqrt(12) = 0.0577; 10,000 draws put the mean within 0.003.
    assert abs(slopes.mean() - 0.2) < 0.003 and abs(slopes.std() - 0.0577) < 0.003
    assert (layer.apply({}, x, train=True, key=key) == y).all()  # same key, same slopes
    assert not (layer.apply({}, x, train=True, key=jax.random.PRNGKey(4)) == y).all()
    # The gradient uses the drawn slopes (torch's noise buffer); positives pass through.
    g = jax.grad(lambda x: layer.apply({}, x, train=True, key=key).sum())(x)
    np.testing.assert_array_equal(np.asarray(g), slopes)
    assert (layer.apply({}, jnp.ones(5), train=True, key=key) == 1).all()
    # eval: the mean slope, as torch
    np.testing.assert_allclose(np.asarray(layer.apply({}, x)), -0.2, rtol=1e-6)
    with pytest.raises(fg.nn.ModuleError, match="needs a key"):
        layer.apply({}, x, train=True)


def test_prelu_init_is_torchs_and_hardtanh_takes_the_deprecated_names():
    layer = fg.nn.PReLU(3, 0.1)
    params = layer.init(jax.random.PRNGKey(0))
    ref = torch.nn.PReLU(3, 0.1)
    np.testing.assert_allclose(np.asarray(params["weight"]), ref.weight.detach().numpy())
    assert float(layer.init) == 0.1 and layer == fg.nn.PReLU(3, 0.1)
    with pytest.warns(FutureWarning, match="min_value"):
        h = fg.nn.Hardtanh(min_value=-2.0)
    assert h.min_val == -2.0
    with pytest.raises(fg.nn.ConfigError):
        fg.nn.Hardtanh(1.0, -1.0)
    with pytest.raises(fg.nn.ModuleError, match="3D or 4D"):
        fg.nn.Softmax2d().apply({}, jnp.ones((2, 3)))
    with pytest.raises(fg.nn.ModuleError, match="Halving dimension must be even"):
        fg.nn.GLU(1).apply({}, jnp.ones((2, 3)))
