"""fg.models.MyNet against the notes' torch mynet, finite differences, and vmap batching."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from _parity import assert_close, check_module
from _torch_models import TorchMyNet
from jax.test_util import check_grads

import funcgrad as fg


@pytest.mark.parametrize(
    "dims, x_shape", [((600, 60, 40, 10), (3, 10, 20)), ((12, 5, 4, 3), (12,))]
)
def test_matches_torch(dtype, dims, x_shape):
    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal(x_shape)
    check_module(TorchMyNet(*dims), fg.models.MyNet(*dims), x, dtype)


def test_issue_example_grad_matches_torch():
    torch.manual_seed(0)
    ref = TorchMyNet(600, 60, 40, 10)
    image = torch.randn(3, 10, 20)
    label = torch.tensor(3)
    TF_loss = torch.nn.functional.cross_entropy(ref(image)[None], label[None])
    TF_loss.backward()

    net = fg.models.MyNet(600, 60, 40, 10)
    params = fg.interop.from_torch(ref, like=net)
    x, y = jnp.asarray(image.numpy()), jnp.asarray(label.numpy())
    grads = jax.grad(lambda p: fg.losses.cross_entropy(net.apply(p, x)[None], y[None]))(params)
    for name, p in ref.named_parameters():
        assert_close(fg.flatten_dict(grads)[name], p.grad.numpy(), np.float32, name)


def test_vmap_batches_like_torch_per_example():
    torch.manual_seed(0)
    ref = TorchMyNet(24, 6, 5, 4)
    net = fg.models.MyNet(24, 6, 5, 4)
    params = fg.interop.from_torch(ref, like=net)
    xs = np.random.default_rng(0).standard_normal((7, 2, 3, 4)).astype(np.float32)
    expected = torch.stack([ref(torch.tensor(x)) for x in xs]).detach().numpy()
    assert_close(jax.vmap(net.apply, in_axes=(None, 0))(params, xs), expected, np.float32, "vmap")


def test_finite_differences(x64):
    net = fg.models.MyNet(6, 5, 4, 3)
    params = net.init(jax.random.PRNGKey(0))
    check_grads(
        jax.jit(net.apply), (params, jnp.linspace(-1, 1, 6).reshape(2, 3)), 2, modes=("fwd", "rev")
    )


def test_init_apply_shapes_agree_with_torch():
    net = fg.models.MyNet(600, 60, 40, 10)
    params = net.init(jax.random.PRNGKey(0))
    ref = TorchMyNet(600, 60, 40, 10)
    assert {k: v.shape for k, v in fg.flatten_dict(params).items()} == {
        k: tuple(v.shape) for k, v in ref.state_dict().items()
    }
    assert jax.eval_shape(net.apply, params, jnp.ones((3, 10, 20))).shape == (10,)


def test_as_sequential_is_the_same_function():
    net = fg.models.MyNet(12, 5, 4, 3)
    params = net.init(jax.random.PRNGKey(0))
    x = jax.random.normal(jax.random.PRNGKey(1), (3, 4))
    assert_close(net.as_sequential().apply(params, x), net.apply(params, x), np.float32, "seq")


def test_wrong_size_explains_vmap():
    net = fg.models.MyNet(12, 5, 4, 3)
    with pytest.raises(fg.nn.ModuleError, match="jax.vmap"):
        net.apply(net.init(jax.random.PRNGKey(0)), jnp.ones((4, 12)))


def test_apply_runs_the_sequential_stages_by_name():
    """One definition: apply's name stack is the Sequential's stages, under the model's name."""
    net = fg.models.MyNet(6, 5, 4, 3)
    params = net.init(jax.random.PRNGKey(0))
    jaxpr = jax.make_jaxpr(net.apply)(params, jnp.ones(6))
    stacks = {str(e.source_info.name_stack) for e in jaxpr.jaxpr.eqns}
    assert {"MyNet/m0/Linear", "MyNet/m1/Linear", "MyNet/m2/Linear", "MyNet/relu1/ReLU"} <= stacks
    stages = [name for name, _ in net.as_sequential().named_layers()]
    assert stages == [
        "flatten", "m0", "s1", "relu1", "z1", "m1", "s2", "relu2", "z2", "m2", "s3"
    ]  # fmt: skip
    assert all(s.split("/")[1] in stages for s in stacks)


def test_models_do_not_import_autodiff():
    """Models sit below autodiff: they tap through funcgrad._tap, so no import cycle can form."""
    import ast
    import pathlib

    for path in pathlib.Path(fg.models.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                names += [a.name for a in getattr(node, "names", [])]
                assert not any(n.startswith("funcgrad.autodiff") for n in names), path.name
