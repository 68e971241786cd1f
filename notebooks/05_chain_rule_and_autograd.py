# %% [markdown]
# # 05 · Chain rule and autograd
#
# The lecture topic on the chain rule and autograd builds small graphs in PyTorch, calls
# `backward()`, reads `.grad`, and ends with a one-weight regression trained three ways. Here each
# PyTorch cell sits next to its functional form, and every pair ends in an assertion that both give
# the same numbers (and, where one exists, the closed-form value).
#
# What changes: PyTorch *records* a graph while it computes and *stores* gradients on tensors;
# JAX *transforms a function* (`jax.grad`, `jax.vjp`) and *returns* gradients. What stays the same:
# the maths, so the numbers agree.

#
# **Docs this lesson relies on:** [JAX Autodiff Cookbook](https://docs.jax.dev/en/latest/notebooks/autodiff_cookbook.html), [`jax.lax.stop_gradient`](https://docs.jax.dev/en/latest/_autosummary/jax.lax.stop_gradient.html), [optax](https://optax.readthedocs.io/en/latest/), [PyTorch's autograd notes](https://pytorch.org/docs/stable/notes/autograd.html).
# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import torch
import torch.nn.functional as F
from exercises import check, exercise

import funcgrad as fg
from funcgrad.autodiff import accumulate, backward

_ = torch.manual_seed(0)

# %% [markdown]
# ## The chain rule on y = x + 2, z = 3y², u = mean(z)
#
# *Lecture-note topic: the chain rule and autograd.*
#
# With $u = \frac13 \sum_i 3 y_i^2 = \sum_i y_i^2$ and $y = x + 2$, the chain rule gives
# $\partial u / \partial x_k = 2 y_k = 2 (x_k + 2)$, which is `[6, 6, 6]` at `x = [1, 1, 1]`.
#
# **PyTorch** records the graph as it goes (`y.grad_fn` is an `AddBackward0`), and `backward()`
# writes the gradient into `x.grad`:

# %%
x = torch.ones(3, requires_grad=True)
y = x + 2
print(y.grad_fn)
u = (y * y * 3).mean()
u.backward()
torch_grad = x.grad.numpy()
print(torch_grad)

# %% [markdown]
# **funcgrad / JAX**: write `u` as a function of `x`; `jax.grad(u_of)` is another function, and calling
# it *returns* the gradient. Nothing is stored on `x`.


# %%
def u_of(x):
    y = x + 2
    z = 3 * y**2
    return z.mean()


jax_grad = jax.grad(u_of)(jnp.ones(3))
print(jax_grad)

# %% jupyter={"source_hidden": true}
# Proof: jax.grad gives torch's x.grad and the closed form 2 (x + 2)
x0 = np.ones(3)
check(jax_grad, torch_grad, rtol=1e-6)
check(jax_grad, 2 * (x0 + 2), rtol=1e-6)  # closed form: [6, 6, 6]

# %% [markdown]
# ### Chain rule: composing VJPs by hand
#
# Reverse mode runs the chain rule from the output back. Each step is a *vector-Jacobian product*
# (VJP): `jax.vjp(f, x)` returns `f(x)` and a function that maps a cotangent `ū` (how much the final
# result cares about `f`'s output) to `ū · ∂f/∂x`. Chaining the three VJPs by hand, starting from
# `1.0` for the scalar output, is exactly what `jax.grad` (and `backward()`) does.

# %%
y, y_vjp = jax.vjp(lambda x: x + 2, jnp.ones(3))
z, z_vjp = jax.vjp(lambda y: 3 * y**2, y)
u, u_vjp = jax.vjp(jnp.mean, z)

(u_bar_z,) = u_vjp(jnp.float32(1.0))  # du/dz = 1/3 each
(u_bar_y,) = z_vjp(u_bar_z)  # times dz/dy = 6y
(u_bar_x,) = y_vjp(u_bar_y)  # times dy/dx = 1
print(u_bar_z, u_bar_y, u_bar_x)

# %% jupyter={"source_hidden": true}
# Proof: the composed VJPs give jax.grad's (and torch's) gradient
check(u_bar_x, jax_grad, rtol=1e-6)

# %% [markdown]
# `jax.vjp` is not stateless. It *runs the forward pass* and keeps what the backward rules will need,
# the **residuals**, inside the closure it returns: `z_vjp` holds `2y`, the derivative of `y**2`,
# already computed on the forward pass, and the factor `3`. That is a tape in all but name. Unlike PyTorch's graph, which frees its saved tensors after
# one `backward()` (a second call needs `retain_graph=True`), the closure can be called again and
# again: the functional `retain_graph=True`.

# %%
print("residuals kept by z_vjp:", jax.tree.leaves(z_vjp))

x_twice = torch.ones(3, requires_grad=True)
u_twice = (3 * (x_twice + 2) ** 2).mean()
u_twice.backward()
try:
    u_twice.backward()  # the graph's saved tensors are gone
    message = ""
except RuntimeError as e:
    message = str(e).split(".")[0]
print(message)
u_twice = (3 * (x_twice + 2) ** 2).mean()
u_twice.backward(retain_graph=True)
u_twice.backward()  # allowed: and .grad now holds the sum of the two calls

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
assert any(np.array_equal(leaf, 2 * y) for leaf in jax.tree.leaves(z_vjp))  # saved on the way
np.testing.assert_array_equal(z_vjp(u_bar_z)[0], u_bar_y)  # a second call: same answer
assert "backward through the graph a second time" in message
check(x_twice.grad.numpy(), [6 + 6 + 6] * 3)  # once before, twice here

# %% [markdown]
# ## `backward(v)` on a non-scalar output is a vector-Jacobian product
#
# *Lecture-note topic: the chain rule and autograd.*
#
# (The notes say a gradient can be computed only for scalar outputs. `backward()` without an
# argument needs a scalar, but `backward(v)` works for any output: it computes $v^\top J$, below.)
#
# The notes found this unclear: for a vector output `y`, `y.backward(v)` needs a vector `v`. It does
# not compute a "gradient with respect to `v`". It computes the VJP $v^\top J$, where
# $J = \partial y / \partial x$ is the Jacobian: the gradient of the *scalar* $v \cdot y(x)$. Here
# `y = x * 2**11`, so $J = 2048\,I$ and the answer is $2048\,v$ = `[204.8, 2048, 0.2048]`.
#
# (**A slip in the notes, corrected here.** Their comment on the loop says it computes
# `y * y * y * ... * y`; each pass *doubles* `y`, it does not square it, so ten passes after the
# first doubling give `x * 2**11`, as asserted below.)

# %%
x = torch.tensor([1.1, 1.1, 1.1], requires_grad=True)
y = x * 2
for _ in range(10):
    y = y * 2  # y = x * 2**11
v = torch.tensor([0.1, 1.0, 0.0001])
y.backward(v)
torch_vjp = x.grad.numpy()
print(y.detach().numpy(), torch_vjp)

# %% [markdown]
# In JAX the same product is explicit: `jax.vjp(f, x)` gives back a function, and we apply it to `v`.
# Two other spellings give the same numbers: the gradient of `v · f(x)`, and `v @ J` with the full
# Jacobian from `jax.jacrev` (fine for 3 numbers, wasteful for a network, which is why VJPs exist).


# %%
def f(x):
    y = x * 2
    for _ in range(10):
        y = y * 2
    return y


x_j, v_j = jnp.full(3, 1.1), jnp.array([0.1, 1.0, 0.0001])
y_j, f_vjp = jax.vjp(f, x_j)
(vjp,) = f_vjp(v_j)
print(y_j, vjp)

# %% jupyter={"source_hidden": true}
# Proof: jax.vjp gives torch's backward(v), the gradient of v . f, v J, and 2**11 v
check(vjp, torch_vjp, rtol=1e-6)
check(jax.grad(lambda x: jnp.vdot(v_j, f(x)))(x_j), vjp, rtol=1e-6)
check(v_j @ jax.jacrev(f)(x_j), vjp, rtol=1e-6)
check(vjp, [204.8, 2048.0, 0.2048], rtol=1e-6)  # closed form 2**11 * v

# funcgrad names the PyTorch spelling: backward(f, x, v=v) is this VJP.
check(backward(f, x_j, v=v_j), vjp, rtol=1e-6)

# %% [markdown]
# ## Stop tracking: `requires_grad_`, `detach`, `no_grad` against `stop_gradient`
#
# *Lecture-note topic: the chain rule and autograd.*
#
# PyTorch decides *per operation* whether to record it: an operation is recorded when grad mode is
# on (a thread-local setting, which `no_grad()` turns off) and at least one of its inputs requires
# grad. The notes list three switches: `requires_grad_(flag)` in place, `detach()` for a tensor
# outside the graph, and the `no_grad()` context. (A clarification: the notes call `detach()`'s
# result "a new Tensor with the same content". It is a new tensor object, but not a copy: it shares
# storage with the original, so an in-place change to one shows in the other. The copy is
# `.detach().clone()`.) (The notes' `no_grad` example squared `x`, a tensor from an earlier cell, where it meant
# `a`; we use `a`.)

# %%
a = torch.randn(2, 2)
b = (a * 3) / (a - 1)
print(a.requires_grad, b.grad_fn)  # nothing recorded

a.requires_grad_(True)
b = (a * a).sum()
print(a.requires_grad, b.grad_fn)  # now recorded

detached = a.detach()
print(detached.requires_grad)  # same values, outside the graph
with torch.no_grad():
    print((a**2).requires_grad)  # corrected: the notes wrote x ** 2 here

# %% jupyter={"source_hidden": true}
# Proof: what the prints say, and that detach() shares storage where .detach().clone() copies
assert b.grad_fn is not None and not detached.requires_grad
assert detached.data_ptr() == a.data_ptr()  # detach() shares storage: not a copy
assert a.detach().clone().data_ptr() != a.data_ptr()  # .detach().clone() is the copy
with torch.no_grad():
    assert not (a**2).requires_grad and (a**2).grad_fn is None

# %% [markdown]
# Functionally there is no flag on arrays. "Requires grad" means *which arguments we differentiate*:
# `jax.grad(f, argnums=...)` picks them, and every other argument is a constant. `detach()` is
# `jax.lax.stop_gradient`: the value passes through, the derivative is zero. `no_grad()` around a
# *whole* evaluation is calling the function without `grad`: nothing is recorded either way. A
# `no_grad()` region *inside* a differentiated computation (a target network, a teacher, a constant
# computed from a parameter) is `jax.lax.stop_gradient` on that value; there is an asserted pair
# below.
#
# Check it on `sum(a * detach(a))`: only the first factor carries a derivative, so the gradient is `a`
# (not `2a`), in both frameworks.

# %%
a.grad = None
(a * a.detach()).sum().backward()
torch_detached = a.grad.numpy()

a_j = jnp.asarray(a.detach().numpy())
jax_detached = jax.grad(lambda a: (a * jax.lax.stop_gradient(a)).sum())(a_j)
print("detach:", torch_detached.ravel(), "| stop_gradient:", jax_detached.ravel())

# %% jupyter={"source_hidden": true}
# Proof: stop_gradient gives detach's gradient, and the closed form a (not 2a)
check(jax_detached, torch_detached, rtol=1e-6)
check(jax_detached, a_j, rtol=1e-6)  # closed form: a, not 2a


# %% [markdown]
# A `no_grad` region inside a differentiated computation: `loss = sum(a * t)` where the "target"
# `t = 2 a` is computed under `no_grad`, so it counts as a constant. The gradient is `t = 2a`, not
# `4a`; the functional counterpart is `stop_gradient` on the target.

# %%
a.grad = None
with torch.no_grad():
    target = 2 * a  # like a target network: not recorded
(a * target).sum().backward()
torch_no_grad_region = a.grad.numpy()

jax_no_grad_region = jax.grad(lambda a: (a * jax.lax.stop_gradient(2 * a)).sum())(a_j)
print(
    "no_grad target:", torch_no_grad_region.ravel(), "| stop_gradient:", jax_no_grad_region.ravel()
)

# %% jupyter={"source_hidden": true}
# Proof: the same gradient, and the closed form t = 2a
check(jax_no_grad_region, torch_no_grad_region, rtol=1e-6)
check(jax_no_grad_region, 2 * a_j, rtol=1e-6)  # closed form: t = 2a

# %% [markdown]
# Choosing arguments replaces `requires_grad`: with `argnums=0` only `a` is differentiated, with
# `argnums=(0, 1)` both are. And evaluating a whole function under `no_grad` is just calling it.


# %%
def g(a, c):
    return (a * c).sum()


c_j = jnp.full((2, 2), 3.0)
da = jax.grad(g, argnums=0)(a_j, c_j)
da2, dc = jax.grad(g, argnums=(0, 1))(a_j, c_j)

a_t = torch.tensor(a_j, requires_grad=True)
c_t = torch.tensor(c_j)  # requires_grad=False: a constant
g(a_t, c_t).backward()
print(c_t.grad)  # never asked for

# %% jupyter={"source_hidden": true}
# Proof: argnums=0 and argnums=(0, 1) give torch's gradients with requires_grad on a, or on both
check(da, a_t.grad.numpy(), rtol=1e-6)
c_both = torch.tensor(c_j, requires_grad=True)
a_both = torch.tensor(a_j, requires_grad=True)
g(a_both, c_both).backward()
check(da2, a_both.grad.numpy(), rtol=1e-6)
check(dc, c_both.grad.numpy(), rtol=1e-6)
check(dc, a_j, rtol=1e-6)  # closed form d/dc sum(a*c) = a
with torch.no_grad():
    check(g(a_j, c_j), g(a_t, c_t).numpy(), rtol=1e-6)

# %% [markdown]
# ## Gradients accumulate in `.grad`; pure functions return them
#
# *Lecture-note topic: the chain rule and autograd.*
#
# `backward()` *adds* into `.grad`. The notes' loop therefore zeroes the gradient after each update
# with `weights.grad.zero_()`. With `output = sum(3 w)` the gradient is 3 per weight, three updates
# of `0.1 * 3` take the weights from 1 to `0.1`, and the last output (computed before the last
# update, at `w = 0.4`) is `4.8`.


# %%
def torch_loop(zero_grad):
    weights = torch.ones(4, requires_grad=True)
    for _ in range(3):
        model_output = (weights * 3).sum()
        model_output.backward()
        with torch.no_grad():
            weights -= 0.1 * weights.grad
        if zero_grad:
            weights.grad.zero_()
    return weights.detach().numpy(), model_output.item()


torch_w, torch_out = torch_loop(zero_grad=True)
print(torch_w, torch_out)

# %% [markdown]
# Functionally `jax.grad` returns a fresh gradient on every call. There is nothing to zero, and the
# update is a plain expression that builds new weights.


# %%
def model_output_of(weights):
    return (weights * 3).sum()


weights = jnp.ones(4)
for _ in range(3):
    out, grads = jax.value_and_grad(model_output_of)(weights)
    weights = weights - 0.1 * grads
print(weights, out)

# %% jupyter={"source_hidden": true}
# Proof: torch's loop with zero_() and the closed forms give the same weights and output
check(weights, torch_w, rtol=1e-6)
check(out, torch_out, rtol=1e-6)
check(weights, [0.1] * 4, rtol=1e-6)  # closed form 1 - 3 * 0.3
check(out, 4.8, rtol=1e-6)  # 12 * 0.4

# %% [markdown]
# Forgetting `zero_()` makes the gradients pile up: 3, then 6, then 9, so the weights end at
# `1 - 0.1 * 18 = -0.8`. Functionally that behaviour has to be written on purpose, as a running sum,
# which is how *deliberate* gradient accumulation (over micro-batches) looks too. In plain JAX the
# running sum of gradient pytrees is one `jax.tree.map`; funcgrad names it `accumulate`.

# %%
torch_w_acc, _ = torch_loop(zero_grad=False)

weights, history = jnp.ones(4), []
for _ in range(3):
    history.append(jax.grad(model_output_of)(weights))
    summed = jax.tree.map(lambda *gs: sum(gs), *history)  # what .grad would hold, any pytree
    weights = weights - 0.1 * summed
print(torch_w_acc, weights)

# %% jupyter={"source_hidden": true}
# Proof: funcgrad's accumulate is that sum; torch without zero_() and -0.8 agree
np.testing.assert_array_equal(accumulate(*history), summed)
check(weights, torch_w_acc, rtol=1e-6)
check(weights, [-0.8] * 4, rtol=1e-6)

# %% [markdown]
# ## The `w * x` backprop loop
#
# *Lecture-note topic: the chain rule and autograd.*
#
# One weight, one sample: `x = 1`, `y = 2`, `w = 1`, loss $(w x - y)^2$, learning rate 0.01. Each step
# multiplies $w - 2$ by $0.98$, so after $k$ steps the loss is $0.98^{2k}$ (0.9604 after one step).
#
# Two corrections to the notes' loop. It printed `i` next to each loss, a variable left over from
# an earlier cell, so every line of its output ends in `99`; we print the epoch. And the cell
# before it took one step, zeroed the gradient and ran a forward pass without `backward()`, so the
# loop's first update used a zeroed gradient and the loss `0.9604` appeared twice. We use the usual
# order: forward, backward, update, zero. The fixed loop prints 1.0000, 0.6676, 0.4457: the notes'
# sequence 0.9604, 0.6412, 0.4281 shifted by one step, which the cell after it asserts.

# %%
x, y = torch.tensor(1.0), torch.tensor(2.0)
w = torch.tensor(1.0, requires_grad=True)
torch_losses = []
for epoch in range(30):
    loss = (w * x - y) ** 2  # forward
    loss.backward()  # backward
    with torch.no_grad():
        w -= 0.01 * w.grad  # update, outside the graph
    w.grad.zero_()  # zero
    torch_losses.append(loss.item())
    if epoch % 10 == 0:
        print(f"epoch {epoch}: loss = {loss.item():.4f}")


# %%
def loss_wx(w, x, y):
    return (w * x - y) ** 2


w_j, jax_losses = jnp.float32(1.0), []
for _ in range(30):
    loss, dw = jax.value_and_grad(loss_wx)(w_j, 1.0, 2.0)
    w_j = w_j - 0.01 * dw
    jax_losses.append(float(loss))

print(f"loss after one step: {jax_losses[1]:.4f}")

# %% jupyter={"source_hidden": true}
# Proof: torch's loop, jax.grad's and the closed form 0.98^(2k) agree at every step
check(jax_losses, torch_losses, rtol=1e-5)
check(w_j, w.item(), rtol=1e-6)
check(jax_losses, 0.98 ** (2 * np.arange(30)), rtol=1e-4)  # closed form

# %% [markdown]
# The notes' cells as they were (with `print(loss, i)` left out), run in PyTorch: every loss they
# print is the fixed loop's loss one step later.

# %%
w = torch.tensor(1.0, requires_grad=True)
((w * x - y) ** 2).backward()
with torch.no_grad():
    w -= 0.01 * w.grad
w.grad.zero_()
loss = (w * x - y) ** 2  # the forward pass without backward(): w.grad stays zero
notes_printed = []
for epoch in range(30):
    with torch.no_grad():
        w -= 0.01 * w.grad  # in the first iteration, a step with a zero gradient
    w.grad.zero_()
    loss = (w * x - y) ** 2
    loss.backward()
    if epoch % 10 == 0:
        notes_printed.append(loss.item())
print(
    "notes:",
    [round(v, 4) for v in notes_printed],
    "fixed:",
    [round(v, 4) for v in torch_losses[::10]],
)

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
check(notes_printed, torch_losses[1::10], rtol=1e-5)  # shifted by one step
check(notes_printed, [0.9604, 0.6412, 0.4281], atol=5e-5)  # the notes' print

# %% [markdown]
# ## Linear regression f = 2x: by hand, with autograd, with optax
#
# *Lecture-note topic: the chain rule and autograd.*
#
# Fit `f(x) = w x` to `X = [1, 2, 3, 4]`, `Y = 2X`, from `w = 0`, learning rate 0.01, with the mean
# squared error $J = \frac1N \sum (w x - y)^2$, whose gradient is $\frac1N \sum 2x (w x - y)$.
#
# ### By hand, in NumPy (the notes' gradient and the corrected one)
#
# The notes wrote the gradient as `np.dot(2*x, y_pred - y).mean()`. `np.dot` of two vectors is
# already a *sum* (a scalar), and `.mean()` of a scalar is the scalar itself, so this is
# $\sum 2x(wx - y)$: **N = 4 times** the MSE gradient. The corrected version takes the mean of the
# elementwise product.

# %%
X = np.array([1, 2, 3, 4], dtype=np.float32)
Y = np.array([2, 4, 6, 8], dtype=np.float32)
lr, n_iters = 0.01, 20


def notes_gradient(x, y, y_pred):
    return np.dot(2 * x, y_pred - y).mean()  # a sum: N times the MSE gradient


def mse_gradient(x, y, y_pred):
    return (2 * x * (y_pred - y)).mean()


def numpy_gd(gradient):
    w, ws, losses = np.float32(0.0), [], []
    for _ in range(n_iters):
        y_pred = w * X
        losses.append(float(((y_pred - Y) ** 2).mean()))
        w = w - lr * gradient(X, Y, y_pred)
        ws.append(float(w))
    return np.array(ws), np.array(losses)


notes_w, notes_loss = numpy_gd(notes_gradient)
hand_w, hand_loss = numpy_gd(mse_gradient)
print(f"notes' gradient: w = {notes_w[0]:.3f} after step 1")
print(f"MSE gradient:    w = {hand_w[0]:.3f} after step 1, loss {hand_loss[0]:.1f}")
print(f"MSE gradient:    w = {hand_w[10]:.3f} at step 11")

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
check(notes_gradient(X, Y, 0 * X), len(X) * mse_gradient(X, Y, 0 * X))

# %% [markdown]
# ### With PyTorch autograd
#
# Same loop with `backward()`, the update under `no_grad()`, and `w.grad.zero_()`.

# %%
Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
w = torch.tensor(0.0, requires_grad=True)
torch_w, torch_loss = [], []
for _ in range(n_iters):
    loss = ((w * Xt - Yt) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
    w.grad.zero_()
    torch_w.append(w.item())
    torch_loss.append(loss.item())

# Why the update needs no_grad (the notes' open question) has its own section below.

# The notes' "manual" gradient is autograd's gradient of the *sum-reduced* loss: run that in torch.
w_sum = torch.tensor(0.0, requires_grad=True)
torch_sum_w = []
for _ in range(n_iters):
    F.mse_loss(w_sum * Xt, Yt, reduction="sum").backward()
    with torch.no_grad():
        w_sum -= lr * w_sum.grad
    w_sum.grad.zero_()
    torch_sum_w.append(w_sum.item())
print(f"torch, sum-reduced loss: w = {torch_sum_w[0]:.3f} after step 1")

# %% jupyter={"source_hidden": true}
# Proof: the notes' hand-written steps are autograd's on the sum-reduced loss
check(notes_w, torch_sum_w, rtol=1e-5)

# %% [markdown]
# ### With `jax.grad`, then with optax
#
# The model is `fg.models.LinearRegression` (params `{"w": 0.0}`), the loss `fg.losses.mse_loss`.
# First the update by hand, then the same update as an optax transformation: `optimizer.update`
# turns gradients into updates and `optax.apply_updates` adds them. Where PyTorch's `optimizer.step()`
# changes the tensors in place, both return new parameters.

# %%
model = fg.models.LinearRegression()
Xj, Yj = jnp.asarray(X), jnp.asarray(Y)


def loss_fn(params):
    return fg.losses.mse_loss(model.apply(params, Xj), Yj)


params = model.init(jax.random.key(0))
grad_w, grad_loss = [], []
for _ in range(n_iters):
    loss, grads = jax.value_and_grad(loss_fn)(params)
    params = jax.tree.map(lambda p, g: p - lr * g, params, grads)
    grad_w.append(float(params["w"]))
    grad_loss.append(float(loss))

optimizer = optax.sgd(lr)
params = model.init(jax.random.key(0))
opt_state = optimizer.init(params)
optax_w, optax_loss = [], []
for _ in range(n_iters):
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    optax_w.append(float(params["w"]))
    optax_loss.append(float(loss))

# %% [markdown]
# ### Five runs: four agree, and one differs on purpose
#
# The closed form makes the difference plain. With the MSE gradient each step multiplies $2 - w$ by
# $1 - 2\,\eta\,\overline{x^2} = 1 - 2 \cdot 0.01 \cdot 7.5 = 0.85$, so $w_k = 2(1 - 0.85^k)$:
# `0.300` after one step and `1.665` at step 11, loss `30.0` at the start. The notes' gradient is
# $N$ times larger, which is the same as a learning rate $N$ times larger: the factor becomes
# $1 - 2 \cdot 0.01 \cdot 30 = 0.4$ and $w_1 = 1.200$. Here that happens to converge faster; with
# more data the same code would overshoot and diverge: its factor is $1 - 2\eta\sum x^2$, which
# leaves $(-1, 1)$ once $\eta \sum x^2 > 1$, while the mean keeps the step size independent of the
# data set size.

# %%
print(f"after step 1: w = {optax_w[0]:.3f}, loss = {optax_loss[0]:.1f}")
print(f"at step 11:   w = {optax_w[10]:.3f}")
print(f"notes' gradient after step 1: w = {notes_w[0]:.3f}")

# %% jupyter={"source_hidden": true}
# Proof: the four MSE runs agree with each other and with w_k = 2 (1 - 0.85^k), the notes' with 0.4^k
steps = np.arange(1, n_iters + 1)
closed_form = 2 * (1 - 0.85**steps)
for name, ws in [("autograd", torch_w), ("jax.grad", grad_w), ("optax", optax_w)]:
    check(ws, hand_w, rtol=1e-5, atol=1e-6, err_msg=name)
check(grad_loss, torch_loss, rtol=1e-5)
check(optax_loss, torch_loss, rtol=1e-5)
check(hand_w, closed_form, rtol=1e-5)
check(notes_w, 2 * (1 - 0.4**steps), rtol=1e-5)
assert round(optax_w[0], 3) == 0.300 and round(optax_loss[0], 1) == 30.0
assert round(optax_w[10], 3) == 1.665 and round(float(notes_w[0]), 3) == 1.200

# %% [markdown]
# The loss curves of the five runs: the four correct ones lie on top of each other; the notes'
# gradient takes bigger steps.

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(steps, hand_loss, "o", label="by hand (MSE gradient)", ms=7, mfc="none")
ax.semilogy(steps, torch_loss, "-", label="PyTorch autograd")
ax.semilogy(steps, grad_loss, ":", label="jax.grad", lw=3)
ax.semilogy(steps, optax_loss, "--", label="optax")
ax.semilogy(steps, notes_loss, "s-", label="notes' gradient (N x larger)", ms=4)
ax.set(xlabel="step", ylabel="MSE loss (before the step)", title="f = 2x: loss curves")
ax.set_xticks(steps[::2])
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The notes' open question: why the update needs `no_grad`
#
# *Lecture-note topic: the chain rule and autograd.*
#
# The notes wrap every update in `with torch.no_grad():` and say that why is "not entirely clear, I
# must experiment" ("non del tutto chiaro, devo fare esperimenti"). Here is the experiment. `w` is
# a leaf that requires grad; `w -= lr * w.grad` is an in-place operation on it, and with grad mode
# on PyTorch would have to record it in the graph, replacing the leaf it must accumulate gradients
# into. It refuses:

# %%
w_leaf = torch.tensor([1.0, -2.0], requires_grad=True)
(w_leaf**2).sum().backward()
try:
    w_leaf -= 0.1 * w_leaf.grad  # no no_grad()
    message = ""
except RuntimeError as e:
    message = str(e)
print(message)
with torch.no_grad():  # the update is not part of any model: don't record it
    w_leaf -= 0.1 * w_leaf.grad

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
assert "a leaf Variable that requires grad is being used in an in-place operation" in message
check(w_leaf.detach().numpy(), [0.8, -1.6], rtol=1e-6)

# %% [markdown]
# The functional update needs nothing of the kind: `w - lr * g` makes a *new* array from two
# values. Nothing is modified, nothing is recorded (JAX keeps residuals only while a
# transformation, `jax.grad`, `jax.vjp` or `jax.linearize`, differentiates a function, in the
# program or in the closure it returns), and the old `w` is still there.
#
# The other half of the notes' question: what if the update is written *out of place*,
# `w = w - lr * w.grad`, with grad mode on? PyTorch does not refuse; it records the subtraction,
# and the new `w` is no longer a leaf. In the notes' loops it fails at once: the line after the
# update, `w.grad.zero_()`, finds `w.grad` to be `None` on the new non-leaf (torch warns) and raises
# an `AttributeError`; a loop without that line fails one step later, where `lr * None` raises a
# `TypeError`. If the gradient is taken
# another way, with `torch.autograd.grad`, which returns it instead of storing it, each step adds a
# node to one growing graph, and the next loss backpropagates through every earlier update, down to
# the first `w`. The cell takes three such steps, then checks the grown graph against its functional twin: three unrolled
# updates with each step's gradient a constant (`stop_gradient`), differentiated with respect to
# the first `w`.

# %%
w_old = jnp.array([1.0, -2.0])
w_new = w_old - 0.1 * jax.grad(lambda w: (w**2).sum())(w_old)

# %% jupyter={"source_hidden": true}
# Proof: the new array is torch's updated leaf, and the old one is unchanged
check(w_new, w_leaf.detach().numpy(), rtol=1e-6)
np.testing.assert_array_equal(w_old, [1.0, -2.0])

# %%
first_w = torch.tensor([1.0, -2.0], requires_grad=True)
w_oop = first_w
for _ in range(3):
    (g,) = torch.autograd.grad((w_oop**2).sum(), w_oop)
    w_oop = w_oop - 0.1 * g  # out of place, grad mode on: recorded, a new non-leaf
chain = []
node = w_oop.grad_fn
while node is not None:  # walk the grown graph down to the first w
    chain.append(type(node).__name__)
    node = node.next_functions[0][0] if node.next_functions else None
print("w is a leaf:", w_oop.is_leaf, "| graph behind w:", chain)
(w_oop**2).sum().backward()  # flows back through all three updates


def unrolled_loss(w):
    for _ in range(3):
        w = w - 0.1 * jax.lax.stop_gradient(jax.grad(lambda w: (w**2).sum())(w))
    return (w**2).sum()


through_updates = jax.grad(unrolled_loss)(jnp.array([1.0, -2.0]))
print("the first w's gradient, through three recorded updates:", first_w.grad)

# %% jupyter={"source_hidden": true}
# Proof: the graph grew by three recorded subtractions, and JAX's unrolled gradient is torch's
assert not w_oop.is_leaf and chain == ["SubBackward0"] * 3 + ["AccumulateGrad"]
check(through_updates, first_w.grad.numpy(), rtol=1e-6)

# %% [markdown]
# Two more errors PyTorch raises, worth recognising. A backward rule often saves a tensor (`exp`
# saves its output); changing that tensor in place afterwards makes the saved value stale, and
# `backward()` refuses ("modified by an inplace operation"). And `.numpy()` refuses a tensor that
# requires grad: `.detach().numpy()` first. Neither can happen in JAX: arrays are immutable
# (`x.at[0].set(v)` returns a new array) and carry no flag.

# %%
a_in = torch.tensor([1.0, 2.0], requires_grad=True)
e = a_in.exp()  # ExpBackward0 saves e, its output, for the backward pass
e.add_(1.0)  # in place: the saved e is now stale
try:
    e.sum().backward()
    inplace_message = ""
except RuntimeError as err:
    inplace_message = str(err)
print(inplace_message.split(":")[0])
try:
    a_in.numpy()
    numpy_message = ""
except RuntimeError as err:
    numpy_message = str(err)
print(numpy_message)
kept = jnp.array([1.0, 2.0])

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
assert "modified by an inplace operation" in inplace_message
assert "requires grad" in numpy_message
assert float(kept.at[0].set(5.0)[0]) == 5.0 and float(kept[0]) == 1.0  # a new array; kept as it was

# %% [markdown]
# ## What changed and what stayed the same
#
# | PyTorch | funcgrad / JAX |
# |---|---|
# | `requires_grad=True` on a tensor | the argument you pass to `jax.grad(f, argnums=...)` |
# | `loss.backward()` then read `w.grad` | `grads = jax.grad(loss_fn)(params)` |
# | `y.backward(v)` | `jax.vjp(f, x)[1](v)` |
# | `detach()`, `requires_grad_(False)` | `jax.lax.stop_gradient`, or do not differentiate that argument |
# | `with torch.no_grad():` around a whole evaluation | call the function without `grad` |
# | `with torch.no_grad():` inside a differentiated computation | `jax.lax.stop_gradient` on that value |
# | `w.grad.zero_()` | nothing: gradients are return values; accumulate with `+` when you mean it |
# | `optimizer.step()` | `updates, state = opt.update(grads, state, params)`; `optax.apply_updates` |
#
# The maths (chain rule, VJPs, the update rule) is the same, and so are the numbers.

# %% [markdown]
# > **Pitfalls**
# >
# > - `.grad` accumulates across `backward()` calls: zero it every step (PyTorch), or nothing to do
# >   (functional gradients are return values).
# > - `w -= lr * w.grad` outside `no_grad` raises: an in-place change of a leaf that requires grad.
# > - `detach()` shares storage with the original; the copy is `.detach().clone()`.
# > - A `no_grad` region *inside* a differentiated computation is `stop_gradient`, not "call it
# >   without `grad`".
# > - `backward()` on a non-scalar needs a `v`: it computes the vector-Jacobian product `vᵀ J`.
# > - A second `backward()` through the same graph raises when any node needs a tensor it saved
# >   (most do: `mul`, `pow`, `exp`, ...) unless the first call passed `retain_graph=True`; the
# >   closure `jax.vjp` returns can be called any number of times.
# > - `w = w - lr * w.grad` (out of place) with grad mode on makes `w` a non-leaf: the next
# >   `w.grad` is `None`, and with `torch.autograd.grad` the graph grows across steps. Write updates
# >   in place under `no_grad()`.
# > - `.numpy()` refuses a tensor that requires grad (`Can't call numpy() on Tensor that requires
# >   grad`): call `.detach().numpy()`. JAX arrays carry no such flag.

# %% [markdown]
# ## Exercises
#
# Each exercise is a function that raises `NotImplementedError` until you write it. The check cell
# after it prints "not attempted" until then, "correct" once your answer agrees with PyTorch, and
# fails with an `AssertionError` when it does not. The reference answers are in
# `notebooks/solutions/05.py`; try before you look.
#
# **Exercise 1.** Write `vjp_of(f, x, v)`: what `y = f(x); y.backward(v)` leaves in `x.grad`.


# %%
def vjp_of(f, x, v):
    raise NotImplementedError("exercise 1: your code here")


# %%
# Check exercise 1 against backward(v) on a non-scalar output
def check_exercise_1(vjp_of):
    ex_x = torch.tensor([0.5, 1.5, -2.0], requires_grad=True)
    ex_v = torch.tensor([1.0, 0.1, 0.01])
    (torch.sin(ex_x) * ex_x).backward(ex_v)
    got = vjp_of(
        lambda x: jnp.sin(x) * x, jnp.asarray(ex_x.detach().numpy()), jnp.asarray(ex_v.numpy())
    )
    check(got, ex_x.grad.numpy(), rtol=1e-6)


exercise(1, check_exercise_1, vjp_of)

# %% [markdown]
# **Exercise 2.** A target held constant: return $d/dw$ of $\sum (w x - t)^2$ where $t = 2 w x$ is
# computed inside `torch.no_grad()` in PyTorch (hint: `jax.lax.stop_gradient`).


# %%
def grad_with_constant_target(w, x):
    raise NotImplementedError("exercise 2: your code here")


# %%
# Check exercise 2 against torch with a no_grad region inside the loss
def check_exercise_2(grad_with_constant_target):
    ex_w = torch.tensor([0.3, -0.7], requires_grad=True)
    ex_data = torch.tensor([1.0, 2.0])
    with torch.no_grad():
        ex_target = 2 * ex_w * ex_data
    ((ex_w * ex_data - ex_target) ** 2).sum().backward()
    got = grad_with_constant_target(
        jnp.asarray(ex_w.detach().numpy()), jnp.asarray(ex_data.numpy())
    )
    check(got, ex_w.grad.numpy(), rtol=1e-6)


exercise(2, check_exercise_2, grad_with_constant_target)

# %% [markdown]
# **Exercise 3.** Write the functional SGD update `sgd_update(w, grad, lr)`, and check that it
# leaves `w` unchanged (a new array comes back), unlike torch's in-place `w -= lr * w.grad`.


# %%
def sgd_update(w, grad, lr):
    raise NotImplementedError("exercise 3: your code here")


# %%
# Check exercise 3 against torch's in-place update under no_grad
def check_exercise_3(sgd_update):
    ex_wt = torch.tensor([1.0, -2.0], requires_grad=True)
    (ex_wt**2).sum().backward()
    ex_before = jnp.asarray(ex_wt.detach().numpy())
    with torch.no_grad():
        ex_wt -= 0.1 * ex_wt.grad
    got = sgd_update(ex_before, jnp.asarray(ex_wt.grad.numpy()), 0.1)
    check(got, ex_wt.detach().numpy(), rtol=1e-6)
    np.testing.assert_array_equal(ex_before, [1.0, -2.0])  # the old value is still there


exercise(3, check_exercise_3, sgd_update)

# %% [markdown]
# **Exercise 4 (predict, then run).** The notes' hand-written gradient is a sum,
# $\sum_i 2 x_i (w x_i - y_i)$. At which learning rate does their regression on `X = [1, 2, 3, 4]`
# start to diverge? Write `diverging_learning_rate(x)`, the threshold for inputs `x`, from the
# closed form of the "five runs" section. The check runs the notes' loop at 0.95 and at 1.05 times
# your answer: the first must converge to `w = 2`, the second must blow up.


# %%
def diverging_learning_rate(x):
    raise NotImplementedError("exercise 4: your code here")


# %%
# Check exercise 4: the notes' summed-gradient loop just below and just above your threshold
def check_exercise_4(diverging_learning_rate):
    threshold = diverging_learning_rate(X)

    def distance_after(lr, steps=200):
        w = torch.tensor(0.0)
        for _ in range(steps):
            w = w - lr * torch.dot(2 * Xt, w * Xt - Yt)  # the notes' gradient: a sum
        return abs(w.item() - 2.0)

    below, above = distance_after(0.95 * threshold), distance_after(1.05 * threshold)
    assert below < 1e-3, (
        f"at 0.95 times your answer the loop should converge: |w - 2| = {below:.3g}"
    )
    assert above > 1e3, f"at 1.05 times your answer the loop should diverge: |w - 2| = {above:.3g}"


exercise(4, check_exercise_4, diverging_learning_rate)
