"""to_nnx's ConvTranspose route: a native ``nnx.ConvTranspose`` (the kernel flipped, the padding
converted) whose numbers equal torch's, and whose gradients are funcgrad's in Flax's layout."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import assert_close, torch_dtype
from flax import nnx

import funcgrad as fg

CASES = [
    # name, constructor args, kwargs, input shape
    ("ConvTranspose1d", (3, 2, 4), {"stride": 3, "padding": 2, "output_padding": 2}, (2, 3, 5)),
    ("ConvTranspose1d", (2, 2, 2), {"stride": 2, "output_padding": 2, "dilation": 3}, (2, 2, 4)),
    ("ConvTranspose2d", (4, 3, 4), {"stride": 2, "padding": 1}, (2, 4, 4, 4)),  # DCGAN
    ("ConvTranspose2d", (2, 3, (3, 2)), {"stride": (2, 1), "padding": (0, 1)}, (2, 5, 4)),
    ("ConvTranspose2d", (2, 2, 3), {"padding": 3, "dilation": 2, "bias": False}, (1, 2, 5, 6)),
    (
        "ConvTranspose3d",
        (2, 3, 2),
        {"stride": (1, 2, 2), "output_padding": (0, 1, 0)},
        (1, 2, 3, 2, 3),
    ),
]


def _layer(name, args, kwargs, dtype):
    torch.manual_seed(0)
    ref = getattr(torch.nn, name)(*args, **kwargs).to(torch_dtype(dtype))
    model = getattr(fg.nn, name)(*args, **kwargs)
    return ref, model, fg.interop.from_torch(ref, like=model)


@pytest.mark.parametrize(
    "name, args, kwargs, shape", CASES, ids=lambda v: v if isinstance(v, str) else None
)
def test_native_conv_transpose_matches_torch(dtype, name, args, kwargs, shape):
    ref, model, params = _layer(name, args, kwargs, dtype)
    net = fg.interop.to_nnx(model, params)
    assert isinstance(net.layer, nnx.ConvTranspose), type(net)
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    graph, state = nnx.split(net)
    y = jax.jit(lambda s, x: nnx.merge(graph, s)(x))(state, jnp.asarray(x))
    with torch.no_grad():
        assert_close(y, ref(torch.from_numpy(x)).numpy(), dtype, f"{name} vs torch")


def test_kernel_is_torchs_flipped_in_flaxs_layout():
    ref, model, params = _layer("ConvTranspose2d", (3, 5, (2, 4)), {}, np.float32)
    conv = fg.interop.to_nnx(model, params).layer
    assert conv.kernel.shape == (2, 4, 3, 5)  # (*k, in, out)
    w = params["weight"]  # (in, out, kh, kw)
    np.testing.assert_array_equal(conv.kernel[...][0, 1, 2, 4], w[2, 4, 1, 2])


def test_gradients_are_funcgrads_in_flaxs_layout():
    ref, model, params = _layer(
        "ConvTranspose2d", (2, 3, 3), {"stride": 2, "padding": 1}, np.float32
    )
    x = jnp.asarray(np.random.default_rng(0).standard_normal((2, 2, 4, 4)).astype(np.float32))
    net = fg.interop.to_nnx(model, params)
    g_nnx = nnx.jit(nnx.grad(lambda m: (m(x) ** 2).sum()))(net).layer
    g_fg = jax.jit(jax.grad(lambda p: (model.apply(p, x) ** 2).sum()))(params)
    want = jnp.transpose(jnp.flip(g_fg["weight"], (2, 3)), (2, 3, 0, 1))
    assert_close(g_nnx.kernel[...], want, np.float32, "kernel grad")
    assert_close(g_nnx.bias[...], g_fg["bias"], np.float32, "bias grad")


def test_grouped_layers_run_in_the_generic_wrapper():
    """nnx.ConvTranspose has no feature_group_count: a grouped layer runs funcgrad's own code."""
    ref, model, params = _layer(
        "ConvTranspose2d", (4, 6, 3), {"groups": 2, "stride": 2}, np.float32
    )
    net = fg.interop.to_nnx(model, params)
    assert not isinstance(getattr(net, "layer", None), nnx.ConvTranspose)
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 3)).astype(np.float32)
    with torch.no_grad():
        assert_close(net(jnp.asarray(x)), ref(torch.from_numpy(x)).numpy(), np.float32, "grouped")
