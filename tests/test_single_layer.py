"""fg.models.SingleLayer: the notes' z = x @ w + b with BCE-with-logits, against torch."""

import jax
import jax.numpy as jnp
import numpy as np
import torch
import torch.nn.functional as TF
from _parity import assert_close
from jax.test_util import check_grads

import funcgrad as fg


def test_notes_single_layer_matches_torch(dtype):
    torch.manual_seed(0)
    tdt = torch.float64 if dtype is np.float64 else torch.float32
    x, y = torch.ones(5, dtype=tdt), torch.zeros(3, dtype=tdt)
    w = torch.randn(5, 3, dtype=tdt, requires_grad=True)
    b = torch.randn(3, dtype=tdt, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = TF.binary_cross_entropy_with_logits(z, y)
    loss.backward()

    model = fg.models.SingleLayer(5, 3)
    params = {"w": jnp.asarray(w.detach().numpy()), "b": jnp.asarray(b.detach().numpy())}

    def loss_fn(params):
        return fg.losses.binary_cross_entropy_with_logits(model.apply(params, x.numpy()), y.numpy())

    value, grads = jax.value_and_grad(loss_fn)(params)
    assert_close(value, loss.item(), dtype, "loss")
    assert_close(grads["w"], w.grad.numpy(), dtype, "dL/dw")
    assert_close(grads["b"], b.grad.numpy(), dtype, "dL/db")


def test_shapes_and_finite_differences(x64):
    model = fg.models.SingleLayer(5, 3)
    params = model.init(jax.random.PRNGKey(0))
    assert params["w"].shape == (5, 3) and params["b"].shape == (3,)
    check_grads(model.apply, (params, jnp.ones((2, 5))), order=2, modes=("fwd", "rev"))


def test_apply_is_x_at_w_plus_b_without_transposes():
    """The notes' (in, out) layout is used as is: no transpose reaches the program."""
    model = fg.models.SingleLayer(5, 3)
    params = model.init(jax.random.PRNGKey(0))
    jaxpr = jax.make_jaxpr(model.apply)(params, jnp.ones((2, 5)))
    assert "transpose" not in {e.primitive.name for e in jaxpr.jaxpr.eqns}
