"""fg.nn.Linear against torch.nn.Linear, finite differences, and shape agreement."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import assert_close, check_module, torch_dtype
from jax.test_util import check_grads

import funcgrad as fg


@pytest.mark.parametrize(
    "in_f, out_f, bias, x_shape",
    [(5, 3, True, (5,)), (7, 4, True, (6, 7)), (3, 2, False, (2, 4, 3)), (1, 1, True, (8, 1))],
)
def test_matches_torch(dtype, in_f, out_f, bias, x_shape):
    torch.manual_seed(0)
    x = np.random.default_rng(1).standard_normal(x_shape)
    check_module(torch.nn.Linear(in_f, out_f, bias=bias), fg.nn.Linear(in_f, out_f, bias), x, dtype)


def test_params_named_and_shaped_like_state_dict():
    for bias in (True, False):
        params = fg.nn.Linear(5, 3, bias).init(jax.random.PRNGKey(0))
        sd = torch.nn.Linear(5, 3, bias=bias).state_dict()
        assert {k: v.shape for k, v in params.items()} == {k: tuple(v.shape) for k, v in sd.items()}


def test_finite_differences(x64):
    layer = fg.nn.Linear(4, 3)
    params = layer.init(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 4))
    check_grads(layer.apply, (params, x), order=2, modes=("fwd", "rev"))


def test_init_apply_shapes_agree():
    layer = fg.nn.Linear(6, 2)
    params = layer.init(jax.random.PRNGKey(0))
    out = jax.eval_shape(layer.apply, params, jax.ShapeDtypeStruct((9, 6), jnp.float32))
    assert out.shape == (9, 2)


def test_wrong_input_size_names_the_fix():
    layer = fg.nn.Linear(5, 3)
    with pytest.raises(ValueError, match=r"must end in 5 features.*Linear\(4, 3\)"):
        layer.apply(layer.init(jax.random.PRNGKey(0)), jnp.ones((2, 4)))


@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch_and_needs_two_inputs(dtype, bias):
    torch.manual_seed(0)
    ref = torch.nn.Bilinear(3, 2, 4, bias=bias).to(torch_dtype(dtype))
    layer = fg.nn.Bilinear(3, 2, 4, bias=bias)
    params = fg.interop.from_torch(ref, like=layer)
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((5, 3)).astype(dtype), rng.standard_normal((5, 2)).astype(dtype)
    t1, t2 = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    out_t = ref(t1, t2)
    out_t.sum().backward()
    out, vjp = jax.vjp(
        lambda p, a, b: layer.apply(p, a, b), params, jnp.asarray(x1), jnp.asarray(x2)
    )
    g_p, g1, g2 = vjp(jnp.ones_like(out))
    assert_close(out, out_t.detach().numpy(), dtype, "value")
    assert_close((g1, g2), (t1.grad.numpy(), t2.grad.numpy()), dtype, "grad wrt inputs")
    assert_close(g_p["weight"], ref.weight.grad.numpy(), dtype, "grad wrt weight")
    # torch's init bounds: U(-1/sqrt(in1), 1/sqrt(in1)) for weight and bias
    init = layer.init(jax.random.PRNGKey(0))
    assert float(jnp.abs(init["weight"]).max()) <= 1 / np.sqrt(3)
    with pytest.raises(fg.nn.ModuleError, match="takes two inputs"):
        layer.apply(params, jnp.asarray(x1))
