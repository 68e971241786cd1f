"""The lecture notes' worked examples, reproduced with funcgrad and checked against live PyTorch.

Each expected value is also derived in closed form in the comment above its assertion.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch

import funcgrad as fg


def test_mean_of_3y_squared_gradient_is_6():
    # u = mean(3 (x + 2)^2)  =>  du/dx_i = 2 (x_i + 2) = 6 at x = 1.
    def u(x):
        y = x + 2
        return jnp.mean(y * y * 3)

    g = jax.grad(u)(jnp.ones(3))
    x = torch.ones(3, requires_grad=True)
    ((x + 2) * (x + 2) * 3).mean().backward()
    np.testing.assert_allclose(g, x.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(g, 2 * (1.0 + 2), rtol=1e-6)


def test_backward_v_is_a_vjp():
    # y = x * 2**11 is linear, so the VJP with v is 2**11 * v = [204.8, 2048, 0.2048].
    def f(x):
        y = x * 2
        for _ in range(10):
            y = y * 2
        return y

    v = jnp.array([0.1, 1.0, 0.0001])
    x0 = jnp.array([1.1, 1.1, 1.1])
    y, vjp = jax.vjp(f, x0)
    (g,) = vjp(v)
    xt = torch.tensor([1.1, 1.1, 1.1], requires_grad=True)
    yt = f(xt)
    yt.backward(torch.tensor([0.1, 1.0, 0.0001]))
    np.testing.assert_allclose(g, xt.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(g, 2.0**11 * np.asarray(v), rtol=1e-6)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-6)


def test_accumulation_loop_without_zeroing():
    # Output (3w).sum() has gradient 3 per weight; three steps of lr 0.1 take 1 -> 0.1, and the
    # last forward pass (at w = 0.4) gives 4 * 3 * 0.4 = 4.8.
    def model_output(w):
        return (w * 3).sum()

    w = jnp.ones(4)
    for _ in range(3):
        out, g = jax.value_and_grad(model_output)(w)  # a fresh gradient each time: nothing to zero
        w = w - 0.1 * g

    wt = torch.ones(4, requires_grad=True)
    for _ in range(3):
        out_t = (wt * 3).sum()
        out_t.backward()
        with torch.no_grad():
            wt -= 0.1 * wt.grad
        wt.grad.zero_()
    np.testing.assert_allclose(w, wt.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(out, out_t.item(), rtol=1e-6)
    np.testing.assert_allclose(w, [1 - 3 * 3 * 0.1] * 4, rtol=1e-6)
    np.testing.assert_allclose(out, 4 * 3 * (1 - 2 * 3 * 0.1), rtol=1e-6)


X = np.array([1, 2, 3, 4], dtype=np.float32)
Y = 2 * X


def _torch_regression(steps):
    w = torch.tensor([0.0], requires_grad=True)
    losses, ws = [], []
    for _ in range(steps):
        loss = ((w * torch.tensor(X) - torch.tensor(Y)) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.01 * w.grad
        w.grad.zero_()
        losses.append(loss.item())
        ws.append(w.item())
    return ws, losses


def test_regression_with_optax_matches_torch_and_closed_form():
    # dJ/dw = 2 (w - 2) mean(x^2) = 15 (w - 2), so w_k = 2 - 2 * 0.85**k: 0.300 then 1.665 at k=11.
    model = fg.models.LinearRegression()
    params = model.init(jax.random.PRNGKey(0))
    opt = optax.sgd(0.01)
    state = opt.init(params)

    def loss_fn(p):
        return fg.losses.mse_loss(model.apply(p, X), Y)

    ws, losses = [], []
    for _ in range(11):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = opt.update(grads, state)
        params = optax.apply_updates(params, updates)
        ws.append(float(params["w"]))
        losses.append(float(loss))

    ref_ws, ref_losses = _torch_regression(11)
    np.testing.assert_allclose(ws, ref_ws, rtol=1e-5)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
    closed = 2 - 2 * 0.85 ** np.arange(1, 12)
    np.testing.assert_allclose(ws, closed, rtol=1e-5)
    assert round(ws[0], 3) == 0.300 and round(losses[0], 1) == 30.0 and round(ws[10], 3) == 1.665


def test_notes_manual_gradient_is_n_times_the_mse_gradient():
    # np.dot(2x, y_pred - y).mean() is a sum (mean of a scalar): N = 4 times dMSE/dw, so the first
    # step lands at w = 0.01 * 4 * 30 = 1.2 instead of 0.3.
    def manual_gradient(x, y, y_pred):
        return np.dot(2 * x, y_pred - y).mean()

    w = 0.0
    g_manual = manual_gradient(X, Y, w * X)
    g_true = jax.grad(lambda w: fg.losses.mse_loss(w * X, Y))(jnp.float32(w))
    np.testing.assert_allclose(g_manual, len(X) * g_true, rtol=1e-6)
    assert round(w - 0.01 * float(g_manual), 3) == 1.2
