"""fg.models.ConvNet against the notes' torch Model (and its head variant)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import assert_close, check_module
from _torch_models import TorchConvNet
from jax.test_util import check_grads

import funcgrad as fg


@pytest.mark.parametrize(
    "kw, x_shape", [({}, (1, 14, 12)), ({"num_classes": 4, "image_size": (12, 13)}, (1, 12, 13))]
)
def test_matches_torch(dtype, kw, x_shape):
    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal(x_shape)
    check_module(TorchConvNet(**kw), fg.models.ConvNet(**kw), x, dtype)


def test_finite_differences(x64):
    net = fg.models.ConvNet(num_classes=3, image_size=(10, 10))
    params = net.init(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (1, 10, 10))
    check_grads(jax.jit(net.apply), (params, x), order=2, modes=("fwd", "rev"))


def test_init_apply_shapes_agree_with_torch():
    kw = {"num_classes": 10, "image_size": (28, 28)}
    params = fg.models.ConvNet(**kw).init(jax.random.PRNGKey(0))
    assert {k: v.shape for k, v in fg.flatten_dict(params).items()} == {
        k: tuple(v.shape) for k, v in TorchConvNet(**kw).state_dict().items()
    }
    out = jax.eval_shape(fg.models.ConvNet().apply, params, jnp.ones((1, 28, 28)))
    assert out.shape == (20, 20, 20)


def test_vmap_batches():
    net = fg.models.ConvNet(num_classes=3, image_size=(10, 10))
    params = net.init(jax.random.PRNGKey(0))
    xs = jax.random.normal(jax.random.PRNGKey(1), (5, 1, 10, 10))
    batched = jax.vmap(net.apply, in_axes=(None, 0))(params, xs)
    assert_close(batched, jnp.stack([net.apply(params, x) for x in xs]), np.float32, "vmap")
    seq = net.as_sequential()
    assert_close(seq.apply(params, xs[0]), net.apply(params, xs[0]), np.float32, "as_sequential")


def test_apply_runs_the_sequential_stages_by_name():
    net = fg.models.ConvNet(num_classes=3, image_size=(10, 10))
    params = net.init(jax.random.PRNGKey(0))
    jaxpr = jax.make_jaxpr(net.apply)(params, jnp.ones((1, 10, 10)))
    stacks = {str(e.source_info.name_stack).split("/")[1] for e in jaxpr.jaxpr.eqns}
    assert stacks == {"conv1", "relu1", "conv2", "relu2", "flatten", "head"}


def test_bad_config_is_explained():
    with pytest.raises(ValueError, match="both num_classes and image_size"):
        fg.models.ConvNet(num_classes=10)
    with pytest.raises(ValueError, match="too small"):
        fg.models.ConvNet(num_classes=10, image_size=(8, 8))
