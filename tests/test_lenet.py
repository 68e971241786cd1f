"""LeNet5 against an equivalent torch model: five SGD steps in train mode, then an eval pass."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import torch
from _parity import assert_close, torch_dtype
from _parity_state import assert_buffers_equal, torch_state
from _torch_models import torch_lenet5

import funcgrad as fg


def test_lenet5_five_sgd_steps_then_eval_match_torch(dtype):
    torch.manual_seed(0)
    ref = torch_lenet5().to(torch_dtype(dtype))
    model = fg.models.LeNet5(dropout=0.0)
    params, buffers = torch_state(ref, dtype)
    assert jax.tree.structure(params) == jax.tree.structure(model.init(jax.random.PRNGKey(0)))
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((8, 1, 28, 28)).astype(dtype) for _ in range(6)]
    ys = [rng.integers(0, 10, 8) for _ in range(5)]
    lr = 0.1

    opt = torch.optim.SGD(ref.parameters(), lr=lr)
    ref.train()
    for x, y in zip(xs, ys, strict=False):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(ref(torch.tensor(x)), torch.tensor(y)).backward()
        opt.step()
    ref.eval()
    out_t = ref(torch.tensor(xs[5])).detach().numpy()

    @jax.jit
    def step(p, b, x, y):
        def loss(p):
            out, nb = model.apply(p, x, buffers=b, train=True, key=jax.random.PRNGKey(0))
            return fg.losses.cross_entropy(out, y), nb

        g, nb = jax.grad(loss, has_aux=True)(p)
        return jax.tree.map(lambda w, d: w - lr * d, p, g), nb

    for x, y in zip(xs, ys, strict=False):
        params, buffers = step(params, buffers, jnp.asarray(x), jnp.asarray(y))
    out, same = model.apply(params, jnp.asarray(xs[5]), buffers=buffers, train=False)

    expected = fg.unflatten_dict({n: p.detach().numpy() for n, p in ref.named_parameters()})
    assert_close(params, expected, dtype, "params after 5 steps")
    assert_buffers_equal(buffers, {n: b.numpy() for n, b in ref.named_buffers()}, dtype, "buffers")
    assert_close(out, out_t, dtype, "eval output")
    jax.tree.map(np.testing.assert_array_equal, same, buffers)  # eval: buffers bit for bit
