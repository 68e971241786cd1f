"""The CPU convolution path against the plain XLA path and live PyTorch."""

import jax
import numpy as np
import pytest
import torch
from _parity import assert_close, check_module, torch_dtype
from jax.test_util import check_grads

import funcgrad as fg
from funcgrad.nn import _conv_cpu
from funcgrad.nn import functional as F

CASES = [
    # in, out, kernel, stride, padding, bias, input shape
    (1, 20, 5, 1, 0, True, (3, 1, 28, 28)),  # ConvNet's conv1
    (20, 20, 5, 1, 0, True, (2, 20, 24, 24)),  # ConvNet's conv2
    (3, 4, 3, 2, 1, True, (2, 3, 9, 7)),
    (2, 3, (3, 2), (1, 2), (2, 0), False, (1, 2, 8, 8)),
    (2, 2, 4, 1, "same", True, (1, 2, 7, 6)),
    (2, 3, 3, 1, "same", True, (2, 2, 5, 5)),
]


@pytest.fixture(params=["cpu", "lax"])
def impl(request, monkeypatch):
    """Force one convolution path for the test body."""
    monkeypatch.setenv("FUNCGRAD_CONV", request.param)
    assert _conv_cpu.conv_impl() == request.param
    return request.param


@pytest.mark.parametrize("in_c, out_c, k, stride, padding, bias, x_shape", CASES)
def test_matches_torch(impl, dtype, in_c, out_c, k, stride, padding, bias, x_shape):
    torch.manual_seed(0)
    x = np.random.default_rng(1).standard_normal(x_shape)
    ref = torch.nn.Conv2d(in_c, out_c, k, stride=stride, padding=padding, bias=bias)
    check_module(
        ref, fg.nn.Conv2d(in_c, out_c, k, stride=stride, padding=padding, bias=bias), x, dtype
    )


def test_batched_convnet_gradients_match_torch(impl, dtype):
    """The benchmark's case: a one-example ConvNet under jax.vmap, differentiated in a jit."""
    torch.manual_seed(0)
    net = fg.models.ConvNet(num_classes=10, image_size=(14, 14))
    ref = torch.nn.ModuleDict(
        {
            "conv1": torch.nn.Conv2d(1, 20, 5),
            "conv2": torch.nn.Conv2d(20, 20, 5),
            "head": torch.nn.Linear(20 * 6 * 6, 10),
        }
    ).to(torch_dtype(dtype))
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((4, 1, 14, 14)).astype(dtype), rng.integers(0, 10, 4)

    def torch_forward(xt):
        h = torch.relu(ref["conv2"](torch.relu(ref["conv1"](xt))))
        return ref["head"](h.flatten(1))

    loss_t = torch.nn.functional.cross_entropy(torch_forward(torch.tensor(x)), torch.tensor(y))
    loss_t.backward()
    params = fg.interop.from_torch(ref, like=net)

    @jax.jit
    def value_and_grad(p):
        def loss(p):
            return fg.losses.cross_entropy(jax.vmap(net.apply, in_axes=(None, 0))(p, x), y)

        return jax.value_and_grad(loss)(p)

    loss, grads = value_and_grad(params)
    assert_close(loss, loss_t.item(), dtype, "loss")
    flat = fg.flatten_dict(grads)
    for name, p in ref.named_parameters():
        assert_close(flat[name], p.grad.numpy(), dtype, f"grad wrt {name}")


@pytest.mark.parametrize("stride, padding", [(1, "same"), (2, 1)])
def test_cpu_path_equals_lax_path(monkeypatch, x64, stride, padding):
    key_x, key_w = jax.random.split(jax.random.PRNGKey(0))
    x, w = jax.random.normal(key_x, (2, 3, 9, 8)), jax.random.normal(key_w, (4, 3, 3, 3))

    def value_and_grads(path):
        monkeypatch.setenv("FUNCGRAD_CONV", path)

        def f(x, w):
            return (F.conv2d(x, w, stride=stride, padding=padding) ** 2).sum()

        return f(x, w), jax.grad(f, argnums=(0, 1))(x, w)

    (v_cpu, g_cpu), (v_lax, g_lax) = value_and_grads("cpu"), value_and_grads("lax")
    assert_close(v_cpu, v_lax, np.float64, "value")
    for a, b, name in zip(g_cpu, g_lax, ("x", "weight"), strict=True):
        assert_close(a, b, np.float64, f"grad wrt {name}")


def test_finite_differences_second_order(impl, x64):
    layer = fg.nn.Conv2d(2, 3, 3, stride=2, padding=1)
    params = layer.init(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (1, 2, 5, 5))
    check_grads(layer.apply, (params, x), order=2, modes=("fwd", "rev"))


def test_auto_picks_the_cpu_path_on_cpu(monkeypatch):
    monkeypatch.delenv("FUNCGRAD_CONV", raising=False)
    assert _conv_cpu.conv_impl() == ("cpu" if jax.default_backend() == "cpu" else "lax")


def test_bad_choice_is_explained(monkeypatch):
    monkeypatch.setenv("FUNCGRAD_CONV", "cudnn")
    with pytest.raises(ValueError, match="FUNCGRAD_CONV must be 'auto', 'cpu' or 'lax'"):
        F.conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)))
