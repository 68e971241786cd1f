"""backward(v) vs torch's y.backward(v), live in float64; the non-scalar error; accumulation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest
import torch
from _autodiff_torch import close, t

from funcgrad.autodiff import NonScalarOutputError, accumulate, backward, grad


def _f(x, w):
    return jnp.tanh(w @ x) * x[:2]


def test_backward_v_matches_torch(x64):
    x = jax.random.normal(jax.random.PRNGKey(0), (3,))
    w = jax.random.normal(jax.random.PRNGKey(1), (2, 3))
    v = jnp.array([0.1, -2.0])
    gx, gw = backward(_f, x, w, v=v, argnums=(0, 1))

    tx, tw = t(x, True), t(w, True)
    (torch.tanh(tw @ tx) * tx[:2]).backward(t(v))
    assert close(gx, tx.grad) and close(gw, tw.grad)


def test_backward_notes_example():
    x, v = jnp.array([1.1, 1.1, 1.1]), jnp.array([0.1, 1.0, 0.0001])
    # y = x * 2**11, so v^T dy/dx = v * 2**11 (closed form).
    assert jnp.allclose(backward(lambda x: x * 2.0**11, x, v=v), v * 2.0**11)


def test_non_scalar_errors_explain_vjp():
    x = jnp.ones(3)
    with pytest.raises(NonScalarOutputError, match=r"shape \(3,\).*jax\.vjp"):
        grad(lambda x: x * 2)(x)
    with pytest.raises(NonScalarOutputError, match="backward"):
        backward(lambda x: x * 2, x)
    with pytest.raises(ValueError, match="output's shape"):
        backward(lambda x: x * 2, x, v=jnp.ones(2))
    assert float(grad(lambda x: (x**2).sum())(x)[0]) == 2.0


def test_accumulate_is_a_sum_and_nothing_needs_zeroing():
    # The notes' loop: weights ones(4), output (3 w).sum(); torch accumulates .grad without zero_().
    w = torch.ones(4, requires_grad=True)
    for _ in range(3):
        (w * 3).sum().backward()
    g = jax.grad(lambda w: (w * 3).sum())
    tree = accumulate({"w": g(jnp.ones(4))}, {"w": g(jnp.ones(4))}, {"w": g(jnp.ones(4))})
    assert close(tree["w"], w.grad)
    assert close(g(jnp.ones(4)), w.grad / 3)  # a fresh call is never polluted by earlier ones
    with pytest.raises(ValueError, match="at least one"):
        accumulate()
