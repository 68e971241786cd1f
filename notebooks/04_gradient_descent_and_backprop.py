# %% [markdown]
# # 04 · Gradient descent and backpropagation
#
# The lecture topic on gradient descent and backprop goes from parametrised models and their losses,
# through the three ways of stepping downhill (full-batch, stochastic, minibatch), to backprop
# through the blocks of a network and the multistage algorithm over a stack of modules.
#
# The notes stress one point that funcgrad makes literal: most frameworks keep the parameters
# *inside* the function, but mathematically a model is a function of two arguments, $G(x, w)$. In
# funcgrad it is exactly that.

#
# **Docs this lesson relies on:** [JAX Autodiff Cookbook](https://docs.jax.dev/en/latest/notebooks/autodiff_cookbook.html), [pytrees](https://docs.jax.dev/en/latest/pytrees.html), [optax](https://optax.readthedocs.io/en/latest/), [`torch.func`](https://pytorch.org/docs/stable/func.html), [PyTorch's autograd notes](https://pytorch.org/docs/stable/notes/autograd.html).
# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import matplotlib.ticker as ticker
import numpy as np
import optax
import torch
import torch.nn.functional as F
from exercises import check, exercise
from IPython.display import display
from torch import nn

import funcgrad as fg
from funcgrad.autodiff import backprop, grad_with_taps, module_jacobians, per_example_grads
from funcgrad.graph import trace

_ = torch.manual_seed(0)

# %% [markdown]
# ## Parametrised models G(x, w)
#
# *Lecture-note topic: gradient descent and backpropagation.*
#
# The parameters $w$ are shared by all samples; the input $x$ changes from sample to sample. Two
# examples from the notes:
#
# * the **linear model**, a weighted sum $\bar y = \sum_i w_i x_i$, scored with $C(y, \bar y) = \|y - \bar y\|^2$;
# * **nearest neighbour**: a matrix $W$ with one row per prototype, and $\bar y = \arg\min_k \|x - w_{k,\cdot}\|^2$.
#
# Functionally each is a plain function of `(w, x)`; in PyTorch the same maths on tensors.


# %%
def linear_model(w, x):
    return jnp.dot(w, x)


def nearest_neighbour(W, x):
    return jnp.argmin(jnp.sum((x - W) ** 2, axis=1))


def torch_linear_model(w, x):
    return torch.dot(w, x)


def torch_nearest_neighbour(W, x):
    return torch.argmin(((x - W) ** 2).sum(dim=1))


w, x = torch.randn(4), torch.randn(4)
W = torch.randn(5, 4)
wj, xj, Wj = (jnp.asarray(t.numpy()) for t in (w, x, W))
print(
    "linear:", float(linear_model(wj, xj)), "| nearest prototype:", int(nearest_neighbour(Wj, xj))
)

# %% jupyter={"source_hidden": true}
# Proof: both models give torch's value and torch's index
check(linear_model(wj, xj), torch_linear_model(w, x).item(), rtol=1e-5)
assert int(nearest_neighbour(Wj, xj)) == int(torch_nearest_neighbour(W, x))

# %% [markdown]
# The nearest-neighbour output is an *index*: it is piecewise constant in $W$, so it has no useful
# gradient. Gradient-based learning needs models like the first one, differentiable (almost)
# everywhere.
#
# ## Per-sample loss and average loss
#
# *Lecture-note topic: gradient descent and backpropagation.*
#
# The per-sample loss is $L(x, y, w) = C(y, G(x, w))$; the average loss over a set
# $S = \{(x_p, y_p)\}_{p < P}$ is $L(S, w) = \frac1P \sum_p L(x_p, y_p, w)$. Functionally we write the
# loss of **one** sample and `jax.vmap` it over the set; PyTorch computes the batch directly and
# takes `reduction="none"` for the per-sample values.


# %%
def per_sample_loss(w, x, y):
    return (y - linear_model(w, x)) ** 2


def average_loss(w, X, Y):
    return jnp.mean(jax.vmap(per_sample_loss, in_axes=(None, 0, 0))(w, X, Y))


X, Y = torch.randn(16, 4), torch.randn(16)
Xj, Yj = jnp.asarray(X.numpy()), jnp.asarray(Y.numpy())

per_sample = jax.vmap(per_sample_loss, in_axes=(None, 0, 0))(wj, Xj, Yj)
print("per-sample losses", per_sample.shape, "| average", float(average_loss(wj, Xj, Yj)))

# %% jupyter={"source_hidden": true}
# Proof: vmap of the one-sample loss is torch's reduction="none", and its mean torch's mean
torch_per_sample = F.mse_loss(X @ w, Y, reduction="none")
check(per_sample, torch_per_sample.numpy(), rtol=1e-5)
check(average_loss(wj, Xj, Yj), F.mse_loss(X @ w, Y).item(), rtol=1e-5)

# %% [markdown]
# The gradient of the average loss is the average of the per-sample gradients. After `backward()`
# PyTorch's `.grad` holds the gradient of whatever scalar `backward()` was called on: here the mean
# (`F.mse_loss`'s default reduction), with `reduction="sum"` the sum; functionally the per-sample gradients are one
# `vmap` away (`per_example_grads` is `jax.vmap(jax.grad(loss))`). PyTorch has the same tool one
# `vmap` away too: `torch.func.vmap(torch.func.grad(...))`, and the rows agree one by one.

# %%
w_t = w.clone().requires_grad_(True)
F.mse_loss(X @ w_t, Y).backward()

rows = jax.vmap(jax.grad(per_sample_loss), in_axes=(None, 0, 0))(wj, Xj, Yj)  # plain JAX
each = per_example_grads(per_sample_loss, wj, (Xj, Yj))  # funcgrad's name for the same line
print(each.shape)


def torch_per_sample_loss(w, x, y):
    return F.mse_loss(x @ w, y)


torch_each = torch.func.vmap(torch.func.grad(torch_per_sample_loss), in_dims=(None, 0, 0))(w, X, Y)

# %% jupyter={"source_hidden": true}
# Proof: per_example_grads is the plain-JAX line; the rows average to the mean's gradient
# (jax.grad's and torch's .grad), and agree with torch.func's row by row
check(each, rows, rtol=1e-6)
check(each.mean(axis=0), jax.grad(average_loss)(wj, Xj, Yj), rtol=1e-5)
check(each.mean(axis=0), w_t.grad.numpy(), rtol=1e-5, atol=1e-6)
check(each, torch_each.numpy(), rtol=1e-5, atol=1e-6)  # row by row

# %% [markdown]
# ## Full-batch GD, SGD and minibatch SGD
#
# *Lecture-note topic: gradient descent and backpropagation.*
#
# Three update rules, one learning rate $\eta$:
#
# * **full-batch GD**: $w \leftarrow w - \eta\, \partial L(S, w) / \partial w$, the average over all samples;
# * **SGD**: pick one sample $p$, then $w \leftarrow w - \eta\, \partial L(x_p, y_p, w) / \partial w$;
# * **minibatch SGD**: average the gradient over a small batch. *Per update*, the average over
#   $B$ samples has about $1/B$ of one sample's variance, so a batch can take a step about $B$
#   times larger for the same noise floor, which scales as $\eta/B$ (the paths below show the
#   calmer steps). *Per sample seen*, one-sample SGD with the step $\eta/B$ does as well (asserted
#   in the equal-budget curves below). A batch pays off because a step on 8 or 32 samples takes
#   about as long as a step on one on vector hardware: the notes' reason, hardware, is the reason.
#
# **A slip in the notes, corrected here.** Where they say $\eta$ could be a matrix, they add that
# a positive *semi*-definite one still steps downhill. Descent needs $\eta$ positive *definite*:
# the first-order change of the loss is $-g^\top \eta\, g$, which a semi-definite $\eta$ makes
# zero whenever the gradient lies in its null space. A matrix $\eta$ is a *preconditioned* step,
# asserted in the cell after the paths.
#
# To draw the paths we need a problem with **two** parameters: fit $\bar y = a x + b$ to 32 noisy
# points of $y = 2x - 1$. The inputs are centred away from 0, which makes $a$ and $b$ interact: the
# loss valley is a tilted ellipse.

# %%
rng = np.random.default_rng(0)
P = 32
x_data = rng.uniform(0.0, 2.0, P).astype(np.float32)
y_data = (2 * x_data - 1 + 0.5 * rng.normal(size=P)).astype(np.float32)
w_start = np.array([-1.0, 2.0], dtype=np.float32)  # (a, b)
lr, n_updates = 0.15, 96

# The same sample order for both frameworks: shuffled epochs, cut into batches of 1 or 8.
order = np.concatenate([rng.permutation(P) for _ in range(8 * n_updates // P)])
regimes = {
    "full-batch GD": [np.arange(P)] * n_updates,
    "SGD": [order[i : i + 1] for i in range(n_updates)],
    "minibatch SGD (8)": [order[8 * i : 8 * i + 8] for i in range(n_updates)],
}

# %% [markdown]
# **PyTorch**: a tensor with `requires_grad`, `torch.optim.SGD`, and the usual three calls per update.

# %%
xt, yt = torch.from_numpy(x_data), torch.from_numpy(y_data)


def torch_path(batches, schedule=None):
    w = torch.tensor(w_start, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    decay = None if schedule is None else torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    path = [w.detach().clone().numpy()]
    for idx in batches:
        opt.zero_grad()
        loss = ((w[0] * xt[idx] + w[1] - yt[idx]) ** 2).mean()
        loss.backward()
        opt.step()
        if decay is not None:  # the step size of update k is lr * schedule(k)
            decay.step()
        path.append(w.detach().clone().numpy())
    return np.array(path)


torch_paths = {name: torch_path(batches) for name, batches in regimes.items()}


# %% [markdown]
# **funcgrad**: the per-sample loss of `(a, b)` on one point, `vmap`-ed and averaged over whichever
# indices the regime picks, then `jax.grad` and `optax.sgd`. One jitted step serves all three regimes:
# they differ only in *which samples* go into the average.


# %%
def sample_loss(w, x, y):
    return (w[0] * x + w[1] - y) ** 2


def batch_loss(w, x, y):
    return jnp.mean(jax.vmap(sample_loss, in_axes=(None, 0, 0))(w, x, y))


def make_step(tx):
    @jax.jit
    def step(w, opt_state, x, y):
        grads = jax.grad(batch_loss)(w, x, y)
        updates, opt_state = tx.update(grads, opt_state, w)
        return optax.apply_updates(w, updates), opt_state

    return step


tx = optax.sgd(lr)
sgd_step = make_step(tx)


def jax_path(batches, schedule=None):
    chosen = tx if schedule is None else optax.sgd(lambda k: lr * schedule(k))
    step = sgd_step if schedule is None else make_step(chosen)
    w = jnp.asarray(w_start)
    opt_state, path = chosen.init(w), [w]
    for idx in batches:
        w, opt_state = step(w, opt_state, x_data[idx], y_data[idx])
        path.append(w)
    return np.array(path)


jax_paths = {name: jax_path(batches) for name, batches in regimes.items()}
for name in regimes:
    print(f"{name:>18}: a = {jax_paths[name][-1][0]:.3f}, b = {jax_paths[name][-1][1]:.3f}")

# %% jupyter={"source_hidden": true}
# Proof: every path, update by update, is torch's
for name in regimes:
    check(jax_paths[name], torch_paths[name], rtol=1e-4, atol=1e-5, err_msg=name)

# %% [markdown]
# The trajectories on the contours of the average loss $L(S, w)$. Full-batch GD follows the
# steepest descent of the average smoothly; SGD pulls towards a different sample at every step, so
# its path zig-zags and keeps jittering around the minimum; minibatches average some of that noise
# away.

# %%
a_grid, b_grid = np.meshgrid(np.linspace(-1.5, 3.5, 120), np.linspace(-2.5, 3.0, 120))
grid_loss = jax.vmap(lambda w: batch_loss(w, x_data, y_data))(
    jnp.stack([a_grid.ravel(), b_grid.ravel()], axis=1)
).reshape(a_grid.shape)
best = np.linalg.lstsq(np.stack([x_data, np.ones(P)], axis=1), y_data, rcond=None)[0]

fig, ax = plt.subplots(figsize=(6.5, 5))
levels = np.geomspace(grid_loss.min() * 1.05, grid_loss.max(), 15)
ax.contour(a_grid, b_grid, grid_loss, levels=levels, colors="0.7", linewidths=0.8)
styles = {"full-batch GD": "C0-", "SGD": "C3.-", "minibatch SGD (8)": "C2-"}
for name, path in jax_paths.items():
    ax.plot(path[:, 0], path[:, 1], styles[name], lw=1.4, ms=3, label=name)
ax.plot(*w_start, "ko", label="start")
ax.plot(*best, "k*", ms=12, label="least-squares minimum")
ax.set(xlabel="a (slope)", ylabel="b (intercept)", title="GD, SGD and minibatch trajectories")
ax.legend(loc="lower left")
fig.tight_layout()
plt.show()

# %% [markdown]
# $\eta$ as a matrix: $w \leftarrow w - \eta\, g$ with a 2x2 $\eta$. A positive definite one (here
# the inverse of the loss's Hessian, Newton's step) lowers the loss; a semi-definite one whose null
# space holds the gradient does not move at all; and its first-order decrease $g^\top \eta g$ is
# zero, as the correction says.

# %%
w0 = jnp.asarray(w_start)
g0 = jax.grad(batch_loss)(w0, x_data, y_data)
hessian = jax.hessian(batch_loss)(w0, x_data, y_data)
eta_definite = jnp.linalg.inv(hessian)  # positive definite: a preconditioned (Newton) step
null = jnp.array([-g0[1], g0[0]]) / jnp.linalg.norm(g0)  # unit vector orthogonal to g0
eta_semidefinite = 0.15 * jnp.outer(null, null)  # eigenvalues 0.15 and 0: g0 in its null space
for name, eta in [("definite", eta_definite), ("semi-definite", eta_semidefinite)]:
    step = w0 - eta @ g0
    print(
        f"eta {name:>13}: eigenvalues {np.round(np.linalg.eigvalsh(eta), 3)}, g.eta.g = "
        f"{float(g0 @ eta @ g0):.3g}, loss {float(batch_loss(w0, x_data, y_data)):.3f} -> "
        f"{float(batch_loss(step, x_data, y_data)):.3f}"
    )

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
check(w0 - eta_definite @ g0, best, rtol=1e-4, atol=1e-4)  # quadratic: 1 step
check(w0 - eta_semidefinite @ g0, w0, atol=1e-6)  # no descent at all

# %% [markdown]
# The loss curves, compared fairly. A full-batch step reads all 32 samples, a minibatch step 8, an
# SGD step one, so equal *step counts* hand full-batch GD 32 times SGD's data. We give every regime
# the same **budget of 768 samples** (24 passes over the data): 24 full-batch updates, 96 minibatch
# updates, 768 SGD updates, on the same shuffled sample order, each run checked against torch. The
# curves show the *excess* loss $L(S, w) - \min_w L(S, w)$ on a log axis, so the approach to the
# minimum stays visible over four decades. A fourth run is SGD with the minibatch's step per
# sample, $\eta/8$: it takes 768 small steps where minibatch SGD takes 96 large ones. A fifth is
# SGD with a **decaying step size**,
# $\eta_k = 0.15 / (1 + k/32)$ (divided by one more each pass): the sum of the steps still
# diverges, so it can reach any minimum, but the sum of their squares converges, so the noise dies
# out (`torch.optim.lr_scheduler.LambdaLR` against an optax schedule, again checked against torch).
#
# The two panels measure two costs. The left one, **per update**, is the wall-clock cost on
# parallel hardware, where a step on 8 or 32 samples takes about as long as a step on one. The
# right one, **per sample seen**, is the compute, the arithmetic spent. Per update, full-batch GD
# descends smoothly, since each of its steps follows the exact average gradient, while SGD's
# one-sample steps are noisy. Per sample seen, full-batch GD is the slowest: by the time it has
# taken 24 steps, SGD has taken 768 and minibatch SGD 96. Constant-step SGD then stalls at a noise
# floor (the faint line is every update, the bold one its mean over each pass), jittering around
# the minimum because each step follows one sample; minibatches average much of that noise away,
# and so does one-sample SGD with the step $\eta/8$, on the same samples: per sample seen, the
# batch buys nothing a smaller step does not. The decaying step removes the floor.
#
# The last iterate of a noisy run is a lucky or unlucky draw, so the cell prints the excess loss
# **averaged over the last four passes** next to it, and compares the averages.

# %%
budget = len(order)  # 768 samples for each regime: 24 passes over the 32 points
budget_regimes = {
    "full-batch GD": [np.arange(P)] * (budget // P),  # 24 updates
    "SGD": [order[i : i + 1] for i in range(budget)],  # 768 updates
    "minibatch SGD (8)": [order[8 * i : 8 * i + 8] for i in range(budget // 8)],  # 96 updates
    "SGD, step / 8": [order[i : i + 1] for i in range(budget)],  # 768 updates of eta / 8
    "SGD, decaying step": [order[i : i + 1] for i in range(budget)],  # 768 smaller updates
}
samples_per_update = {name: 1 for name in budget_regimes} | {
    "full-batch GD": P,
    "minibatch SGD (8)": 8,
}
schedules = {
    "SGD, step / 8": lambda k: 1 / 8,  # eta_k = 0.15 / 8
    "SGD, decaying step": lambda k: 1 / (1 + k / P),  # eta_k = 0.15 / (1 + k / 32)
}
styles["SGD, step / 8"], styles["SGD, decaying step"] = "C4-", "C1-"
budget_paths = {name: jax_path(b, schedules.get(name)) for name, b in budget_regimes.items()}
best_loss = float(batch_loss(best, x_data, y_data))
excess = {
    name: np.asarray(jax.vmap(lambda w: batch_loss(w, x_data, y_data))(path)) - best_loss
    for name, path in budget_paths.items()
}
recent = {  # the mean over the last 4 passes: 128 samples seen, whatever the batch size
    name: curve[-(4 * P // samples_per_update[name]) :].mean() for name, curve in excess.items()
}
for name, curve in excess.items():
    print(
        f"{name:>18}: excess loss after {budget} samples = {curve[-1]:.2g} (last iterate), "
        f"{recent[name]:.2g} (mean over the last 4 passes)"
    )

# %% jupyter={"source_hidden": true}
# Proof: every run is torch's (LambdaLR for the schedules), each spends the same budget, and the
# averages say what the text says
for name, batches in budget_regimes.items():
    torch_run = torch_path(batches, schedules.get(name))
    check(budget_paths[name], torch_run, rtol=1e-4, atol=1e-5, err_msg=name)
    assert (len(budget_paths[name]) - 1) * samples_per_update[name] == budget
assert recent["minibatch SGD (8)"] < recent["SGD"] / 5  # a batch cuts the noise per update,
assert recent["SGD, step / 8"] <= recent["minibatch SGD (8)"]  # but per sample, eta / 8 does too
assert recent["SGD, decaying step"] < recent["SGD"] / 5  # and a decaying step removes the floor

# %%
plain = ticker.FuncFormatter(lambda v, _: f"{v:g}")  # 0.01, 1, 100 rather than 10^-2, 10^0, 10^2
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for name, curve in excess.items():
    style = styles[name][:2] + ("o-" if name == "full-batch GD" else "-")
    faint = {"alpha": 0.35, "lw": 0.8} if name == "SGD" else {"lw": 1.4}
    steps = np.arange(len(curve))
    ax1.loglog(steps[1:], curve[1:], style, ms=3, label=name, **faint)
    ax2.semilogy(steps * samples_per_update[name], curve, style, ms=3, **faint)
# SGD's curve jumps with every sample; its mean over each pass of 32 updates shows the trend.
pass_mean = excess["SGD"][1:].reshape(-1, P).mean(axis=1)
pass_end = P * np.arange(1, len(pass_mean) + 1)  # updates = samples seen, for SGD
ax1.loglog(pass_end, pass_mean, "C3-", lw=2, label="SGD, mean over each pass")
ax2.semilogy(pass_end, pass_mean, "C3-", lw=2)
ax1.set(xlabel="updates (log scale)", ylabel="excess loss  L(S, w) - min L", title="per update")
ax2.set(
    xlabel="samples seen", title=f"per sample seen: the same budget of {budget}", xlim=(0, budget)
)
ax1.xaxis.set_major_formatter(plain)
ax1.yaxis.set_major_formatter(plain)
ax2.set_xticks(np.arange(0, budget + 1, 128))
ax1.legend()
fig.suptitle("loss curves at an equal sample budget")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Backprop through a nonlinearity and through a weighted sum
#
# *Lecture-note topic: gradient descent and backpropagation.*
#
# A traditional network alternates two blocks: a **weighted sum** $s = W z$ and a pointwise
# **nonlinearity** $z = h(s)$. Backprop needs, for each block, the map from the gradient at its
# output to the gradient at its input: its vector-Jacobian product (VJP).
#
# * Nonlinearity: $\frac{dC}{ds} = \frac{dC}{dz}\, h'(s)$, elementwise.
# * Weighted sum: $z$ feeds every $s_k$ through $W_{k,\cdot}$, so
#   $\frac{dC}{dz} = \sum_k \frac{dC}{ds_k} W_{k,\cdot} = W^\top \frac{dC}{ds}$, and
#   $\frac{dC}{dW} = \frac{dC}{ds}\, z^\top$.
#
# Written out as functions (the proof cell below checks them against `jax.vjp` and PyTorch's
# `backward(v)`):


# %%
def tanh_vjp(s, dC_dz):
    return dC_dz * (1 - jnp.tanh(s) ** 2)


def relu_vjp(s, dC_dz):
    return dC_dz * (s > 0)


def weighted_sum_vjp(W, z, dC_ds):
    return W.T @ dC_ds, jnp.outer(dC_ds, z)  # (dC/dz, dC/dW)


s, g = torch.randn(6, requires_grad=True), torch.randn(6)
sj, gj = jnp.asarray(s.detach().numpy()), jnp.asarray(g.numpy())
Wt = torch.randn(3, 6, requires_grad=True)
z_t = torch.randn(6, requires_grad=True)
ds = torch.randn(3)
Wj, zj, dsj = (jnp.asarray(t.detach().numpy()) for t in (Wt, z_t, ds))
dz, dw = weighted_sum_vjp(Wj, zj, dsj)
print("dC/ds through tanh:", np.round(np.asarray(tanh_vjp(sj, gj)), 4))
print("dC/dz", dz.shape, "and dC/dW", dw.shape, "through the weighted sum")

# %% jupyter={"source_hidden": true}
# Proof: the explicit VJPs are jax.vjp's and torch's backward(v)
for h, h_torch, h_vjp in [(jnp.tanh, torch.tanh, tanh_vjp), (jax.nn.relu, torch.relu, relu_vjp)]:
    s.grad = None
    h_torch(s).backward(g)
    check(h_vjp(sj, gj), jax.vjp(h, sj)[1](gj)[0], rtol=1e-6)
    check(h_vjp(sj, gj), s.grad.numpy(), rtol=1e-5, atol=1e-7)
(Wt @ z_t).backward(ds)
auto_dw, auto_dz = jax.vjp(lambda W, z: W @ z, Wj, zj)[1](dsj)
check(dz, auto_dz, rtol=1e-5)
check(dw, auto_dw, rtol=1e-5)
check(dz, z_t.grad.numpy(), rtol=1e-5, atol=1e-6)
check(dw, Wt.grad.numpy(), rtol=1e-5, atol=1e-6)

# %% [markdown]
# The notes derive these rules by *perturbation*: nudge $s$ by a small $\delta s$ and the cost moves
# by $\delta C \approx \frac{dC}{ds} \cdot \delta s$. That nudge is forward mode: `jax.jvp` carries
# $\delta s$ through the function and returns $\delta C$ exactly (to first order), which equals the
# VJP's gradient dotted with $\delta s$, and a finite difference.
#
# And why the nonlinearity at all: two weighted sums with nothing between them collapse into one,
# $W_2 (W_1 z) = (W_2 W_1) z$, so a deep stack of linear layers is one linear layer. Both asserted:

# %%
cost_of_s = lambda s: jnp.sum(jnp.tanh(s) ** 2)  # noqa: E731 - a scalar cost of the state s
delta = jnp.asarray(torch.randn(6).numpy())
_, cost_change = jax.jvp(cost_of_s, (sj,), (delta,))  # forward mode: the perturbation's effect
eps = 1e-3
finite = (cost_of_s(sj + eps * delta) - cost_of_s(sj - eps * delta)) / (2 * eps)
print(
    f"perturbation: jvp {float(cost_change):.5f}, grad . delta {float(jnp.vdot(jax.grad(cost_of_s)(sj), delta)):.5f}"
)

two_linear = nn.Sequential(nn.Linear(6, 4, bias=False), nn.Linear(4, 3, bias=False))
one_linear = nn.Linear(6, 3, bias=False)
with torch.no_grad():
    one_linear.weight.copy_(two_linear[1].weight @ two_linear[0].weight)  # W2 W1
    zs = torch.randn(5, 6)
    two_out, one_out = two_linear(zs).numpy(), one_linear(zs).numpy()
print("two linear layers without a nonlinearity == one linear layer with W2 @ W1")

# %% jupyter={"source_hidden": true}
# Proof: jvp = grad . delta = the finite difference; the two linear layers are the one
check(cost_change, jnp.vdot(jax.grad(cost_of_s)(sj), delta), rtol=1e-5)
check(cost_change, finite, rtol=1e-2)
check(two_out, one_out, rtol=1e-5, atol=1e-6)

# %% [markdown]
# ## `mynet(d0, 60, 40, 10)` on a 3x10x20 image
#
# *Lecture-note topic: gradient descent and backpropagation.*
#
# The notes' network: three linear layers with ReLU in between, on an image flattened with
# `x.view(-1)`. We keep the class as the notes wrote it.

# %%
image = torch.randn(3, 10, 20)
d0 = image.nelement()


class mynet(nn.Module):  # noqa: N801 - the notes' name
    def __init__(self, d0, d1, d2, d3):
        super().__init__()
        self.m0 = nn.Linear(d0, d1)
        self.m1 = nn.Linear(d1, d2)
        self.m2 = nn.Linear(d2, d3)

    def forward(self, x):
        z0 = x.view(-1)  # flatten input tensor
        s1 = self.m0(z0)
        z1 = torch.relu(s1)
        s2 = self.m1(z1)
        z2 = torch.relu(s2)
        s3 = self.m2(z2)
        return s3


model = mynet(d0, 60, 40, 10)
out = model(image)
print(d0, out.shape)

# %% [markdown]
# In funcgrad the same network is `fg.models.MyNet(d0, 60, 40, 10)`, written for **one** example
# (that is what `x.view(-1)` means). We copy the weights and compare; then we batch it with `jax.vmap`.
# The notes' PyTorch class batches the same way, unchanged: `torch.func.vmap(model)(images)`. A plain
# `model(images)` would not work, because `view(-1)` would flatten the whole batch into one vector.

# %%
net = fg.models.MyNet(d0, 60, 40, 10)
params = fg.interop.from_torch(model, like=net)
image_j = jnp.asarray(image.numpy())

images = torch.randn(8, 3, 10, 20)
batched = jax.vmap(net.apply, in_axes=(None, 0))(params, jnp.asarray(images.numpy()))
looped = torch.stack([model(im) for im in images]).detach().numpy()
torch_batched = torch.func.vmap(model)(images).detach().numpy()
print(batched.shape)

# %% jupyter={"source_hidden": true}
# Proof: one image and the vmapped batch give torch's outputs (looped and torch.func.vmap)
check(net.apply(params, image_j), out.detach().numpy(), rtol=1e-5, atol=1e-6)
check(batched, looped, rtol=1e-5, atol=1e-6)
check(batched, torch_batched, rtol=1e-5, atol=1e-6)

# %% [markdown]
# The drawing of MyNet's graph: the input is flattened, then three linear modules (each with its
# `weight` and `bias` leaves, which require grad) alternate with ReLUs. The edges carry the notes'
# names for the states, `s1, z1, s2, z2, s3`, which MyNet marks with taps.

# %%
mynet_graph = trace(net.apply, params, image_j, wrt=0)  # MyNet's forward graph
display(mynet_graph)

# %% jupyter={"source_hidden": true}
# Proof: the leaves that require grad are torch's parameters
assert mynet_graph.requires_grad == sorted(
    n for n, p in model.named_parameters() if p.requires_grad
)

# %% [markdown]
# And its backward pass, from the output down to the six `.grad` sinks. Its nodes carry the names of
# PyTorch's `grad_fn` chain for the notes' class, which we walk and compare.

# %%
mynet_backward = mynet_graph.backward()


def grad_fn_chain(fn):
    """The grad_fn names reachable from ``fn``, depth first, leaving out the AccumulateGrad sinks."""
    names = [] if type(fn).__name__ == "AccumulateGrad" else [type(fn).__name__]
    for parent, _ in fn.next_functions:
        if parent is not None:
            names += grad_fn_chain(parent)
    return names


# On a 1-D input torch wraps each addmm in views, and transposes each weight (TBackward0); the
# drawing folds those into the Linear boxes, so we compare the chain without them.
folded = ("ViewBackward0", "TBackward0")
torch_mynet_chain = [n for n in grad_fn_chain(model(image).grad_fn) if n not in folded]
print(torch_mynet_chain)
display(mynet_backward)

# %% jupyter={"source_hidden": true}
# Proof: the drawing's backward nodes are torch's grad_fn chain
assert [node.label for node in mynet_backward.ops if node.label not in folded] == torch_mynet_chain

# %% [markdown]
# Those taps also give the gradient at every state, what `retain_grad()` on `s1 ... s3` would keep in
# PyTorch:

# %%
states_t = {}


def keep(name, input_name=None):
    def hook(module, inputs, output):
        output.retain_grad()
        states_t[name] = output
        if input_name is not None:  # the module's input is the previous state (z1 feeds m1)
            inputs[0].retain_grad()
            states_t[input_name] = inputs[0]

    return hook


pairs = [("m0", "s1", None), ("m1", "s2", "z1"), ("m2", "s3", "z2")]
hooks = [getattr(model, m).register_forward_hook(keep(s, z)) for m, s, z in pairs]
model.zero_grad()
out = model(image)
out.retain_grad()
out.sum().backward()
for h in hooks:
    h.remove()

_, state_grads = grad_with_taps(lambda p: net.apply(p, image_j).sum())(params)
print({name: g.shape for name, g in state_grads.items()})

# %% jupyter={"source_hidden": true}
# Proof: the gradient at every tapped state is torch's retained .grad
check(state_grads["s1"], states_t["s1"].grad.numpy(), rtol=1e-5, atol=1e-7)
check(state_grads["s2"], states_t["s2"].grad.numpy(), rtol=1e-5, atol=1e-7)
check(state_grads["s3"], out.grad.numpy(), rtol=1e-6)
for name in ("z1", "z2"):
    check(state_grads[name], states_t[name].grad.numpy(), rtol=1e-5, atol=1e-7)

# %% [markdown]
# ## The two Jacobians of each module
#
# *Lecture-note topic: gradient descent and backpropagation.*
#
# For the multistage algorithm each module $z_{k+1} = f_k(z_k, w_k)$ needs two Jacobians: with
# respect to its input state, $\partial z_{k+1} / \partial z_k$ (to hand the gradient down), and
# with respect to its weights, $\partial z_{k+1} / \partial w_k$ (to get the weights' gradient).
# In plain JAX each is one `jax.jacrev`: `jax.jacrev(lambda z: layer.apply(p, z))(z)` and
# `jax.jacrev(lambda p: layer.apply(p, z))(p)`; `module_jacobians(layer, p, z)` returns the pair.
# PyTorch's `torch.autograd.functional.jacobian` gives the same matrices. For a linear layer the
# state Jacobian is just its weight matrix.

# %%
stages = (
    net.as_sequential().named_layers()
)  # flatten, m0, s1 (a tap), relu1, z1, m1, s2, relu2, z2, m2, s3
print([name for name, _ in stages])

z = image_j
states = {}
for name, layer in stages:
    states[name] = z  # the input of each stage
    z = layer.apply(params.get(name, {}), z)

# name -> (d z_out / d z_in, d z_out / d weights); flatten and ReLU have no weights, so {}.
jacobians = {
    name: module_jacobians(layer, params.get(name, {}), states[name]) for name, layer in stages
}
for name in ("m0", "m1", "m2"):
    d_state, d_weights = jacobians[name]
    print(f"{name}: d z/d z_in {d_state.shape}, d z/d weight {d_weights['weight'].shape}")

# %% jupyter={"source_hidden": true}
# Proof: both Jacobians of every linear stage are torch.autograd.functional.jacobian's, and
# d z / d z_in of a linear layer is its weight
for name in ("m0", "m1", "m2"):
    torch_layer, (d_state, d_weights) = getattr(model, name), jacobians[name]
    z_in = torch.from_numpy(np.array(states[name]))
    t_state = torch.autograd.functional.jacobian(torch_layer, z_in, vectorize=True)
    t_weight, t_bias = torch.autograd.functional.jacobian(
        lambda W, b, z_in=z_in: F.linear(z_in, W, b),
        (torch_layer.weight, torch_layer.bias),
        vectorize=True,
    )
    check(d_state, t_state.numpy(), rtol=1e-5, atol=1e-6)
    check(d_state, params[name]["weight"], rtol=1e-6)
    check(d_weights["weight"], t_weight.numpy(), rtol=1e-5, atol=1e-6)
    check(d_weights["bias"], t_bias.numpy(), rtol=1e-5, atol=1e-6)

# %% [markdown]
# ## The multistage backward pass by hand
#
# *Lecture-note topic: gradient descent and backpropagation.*
#
# Backprop is the chain rule applied stage by stage, from the cost down:
#
# $$\frac{\partial c}{\partial z_k} = \frac{\partial c}{\partial z_{k+1}} \frac{\partial f_k(z_k, w_k)}{\partial z_k},\qquad
# \frac{\partial c}{\partial w_k} = \frac{\partial c}{\partial z_{k+1}} \frac{\partial f_k(z_k, w_k)}{\partial w_k}$$
#
# First literally, with the Jacobian matrices above (row vector times matrix):

# %%
label = 3


def cost(out):
    return fg.losses.cross_entropy(out, jnp.asarray(label))


dc = jax.grad(cost)(z)  # dc/dz at the output, z = the last stage's output
by_jacobians = {}
for name, _ in reversed(stages):
    d_state, d_weights = jacobians[name]
    if d_weights:  # dc/dw_k = dc/dz_{k+1} . dz_{k+1}/dw_k
        by_jacobians[name] = jax.tree.map(lambda J, dc=dc: jnp.tensordot(dc, J, axes=1), d_weights)
    dc = jnp.tensordot(dc, d_state, axes=1)  # dc/dz_k = dc/dz_{k+1} . dz_{k+1}/dz_k

# %% [markdown]
# Forming Jacobians is wasteful (the first one of `m0` alone is 60 x 60 x 600 for its weights).
# The same chain runs with VJPs instead, never building a matrix, which is what `jax.grad` and
# PyTorch's `backward()` do too. In plain JAX it is a few lines: on the way forward keep each
# stage's VJP (`jax.vjp`, the saved tensors of the backward pass), then call them last to first.


# %%
def stage_apply(layer):
    return lambda p, z: layer.apply(p, z)


z_k, stage_vjps = image_j, []
for name, layer in stages:  # forward: each stage's output and its VJP
    z_k, stage_vjp = jax.vjp(stage_apply(layer), params.get(name, {}), z_k)
    stage_vjps.append((name, stage_vjp))
cost_value, cost_vjp = jax.vjp(cost, z_k)
(dz,) = cost_vjp(jnp.ones_like(cost_value))  # dc/dc = 1
by_vjps = {}
for name, stage_vjp in reversed(stage_vjps):  # backward: last stage first
    d_params, dz = stage_vjp(dz)  # dc/dw_k and dc/dz_k from dc/dz_{k+1}
    if name in params:
        by_vjps[name] = d_params
print("dc/d image by VJPs:", dz.shape)

# %% [markdown]
# `fg.autodiff.backprop(net, params, x, cost)` is those lines, with the stages taken from the
# model. All four agree, on the weights' gradients and on the gradient with respect to the input
# image (torch's `image.grad`):

# %%
result = backprop(net, params, image_j, cost)
auto = jax.grad(lambda p: cost(net.apply(p, image_j)))(params)

model.zero_grad()
image_t = image.clone().requires_grad_(True)  # torch's gradient with respect to the input, too
F.cross_entropy(model(image_t)[None], torch.tensor([label])).backward()
torch_grads = {
    name: {"weight": m.weight.grad, "bias": m.bias.grad} for name, m in model.named_children()
}
print("dc/d image:", result.input_grad.shape, "== torch's image.grad")
print({path: g.shape for path, g in fg.flatten_dict(result.grads).items()})

# %% jupyter={"source_hidden": true}
# Proof: backprop's gradients are jax.grad's, the by-hand Jacobians' and torch's, the image's too
for path, g in fg.flatten_dict(result.grads).items():
    check(g, fg.flatten_dict(auto)[path], rtol=1e-5, atol=1e-7)
    check(g, fg.flatten_dict(by_jacobians)[path], rtol=1e-4, atol=1e-6)
    torch_g = fg.flatten_dict(torch_grads)[path].numpy()
    check(g, torch_g, rtol=1e-4, atol=1e-6, err_msg=path)
    check(g, fg.flatten_dict(by_vjps)[path], rtol=1e-6, atol=1e-8)
check(result.input_grad, dz, rtol=1e-6, atol=1e-8)
check(result.input_grad, dc, rtol=1e-4, atol=1e-7)
check(result.input_grad, image_t.grad.numpy(), rtol=1e-4, atol=1e-7)

# %% [markdown]
# ## What changed and what stayed the same
#
# | PyTorch | funcgrad / JAX |
# |---|---|
# | parameters hidden inside `model` | `G(x, w)`: `net.apply(params, x)` |
# | `F.mse_loss(..., reduction="none")`, then `.mean()` | `jax.vmap(per_sample_loss)`, then `.mean()` |
# | `.grad`: one gradient of the reduced loss, no per-sample rows | `per_example_grads(loss, params, (x, y))` |
# | `opt.zero_grad(); loss.backward(); opt.step()` per batch | `sgd_step(w, opt_state, x[idx], y[idx])` |
# | `model(image)` with `x.view(-1)`, a loop or `torch.func.vmap(model)` for a batch | `net.apply` on one example, `jax.vmap` for a batch |
# | `torch.autograd.functional.jacobian` | `module_jacobians(layer, params, x)` (`jax.jacrev`) |
# | `loss.backward()` through the stack | `backprop(net, params, x, cost)` = `jax.grad` |

# %% [markdown]
# > **Pitfalls**
# >
# > - `.grad` after `loss.backward()` holds the gradient of the scalar you called it on: of the
# >   mean with the default `reduction="mean"`, of the sum with `"sum"`. Per-sample gradients need
# >   `vmap(grad(...))`, in JAX and in `torch.func` alike.
# > - A summed loss multiplies the gradient by the batch size: the same learning rate then overshoots.
# > - Compare optimisers at equal *sample budgets* (examples seen), not equal step counts.
# > - Layers take batches, as torch's do; a model written for one example (the notes' `view(-1)`)
# >   must be `vmap`-ed: passing it a batch flattens the whole batch into one vector.

# %% [markdown]
# ## Exercises
#
# Each exercise is a function that raises `NotImplementedError` until you write it. The check cell
# after it prints "not attempted" until then, "correct" once your answer agrees with PyTorch, and
# fails with an `AssertionError` when it does not. The reference answers are in
# `notebooks/solutions/04.py`; try before you look.
#
# **Exercise 1.** Per-sample gradients of the squared error $(w \cdot x - y)^2$: return one row
# per sample (hint: `jax.vmap` of `jax.grad`, with `in_axes=(None, 0, 0)`).


# %%
def per_sample_grads(w, xs, ys):
    raise NotImplementedError("exercise 1: your code here")


# %%
# Check exercise 1 row by row against torch.func
def check_exercise_1(per_sample_grads):
    ex_w, ex_xs, ex_ys = torch.randn(3), torch.randn(7, 3), torch.randn(7)
    ex_rows = torch.func.vmap(
        torch.func.grad(lambda w, x, y: (w @ x - y) ** 2), in_dims=(None, 0, 0)
    )(ex_w, ex_xs, ex_ys)
    got = per_sample_grads(*(jnp.asarray(t.numpy()) for t in (ex_w, ex_xs, ex_ys)))
    for i in range(len(ex_xs)):
        check(got[i], ex_rows[i].numpy(), rtol=1e-5, atol=1e-6)


exercise(1, check_exercise_1, per_sample_grads)

# %% [markdown]
# **Exercise 2.** Minibatch SGD on the mean squared error of `xs @ w`, with batches taken in
# order (no shuffling), `epochs` passes over the data. Return the final `w`.


# %%
def minibatch_sgd(w, xs, ys, lr, batch_size, epochs):
    raise NotImplementedError("exercise 2: your code here")


# %%
# Check exercise 2 against the same loop in torch with torch.optim.SGD
def check_exercise_2(minibatch_sgd):
    ex_xs, ex_ys = torch.randn(7, 3), torch.randn(7)
    ex_wt = torch.zeros(3, requires_grad=True)
    ex_opt = torch.optim.SGD([ex_wt], lr=0.05)
    for _ in range(3):
        for start in range(0, 7, 2):
            ex_opt.zero_grad()
            ((ex_xs[start : start + 2] @ ex_wt - ex_ys[start : start + 2]) ** 2).mean().backward()
            ex_opt.step()
    got = minibatch_sgd(
        jnp.zeros(3), jnp.asarray(ex_xs.numpy()), jnp.asarray(ex_ys.numpy()), 0.05, 2, 3
    )
    check(got, ex_wt.detach().numpy(), rtol=1e-5, atol=1e-6)


exercise(2, check_exercise_2, minibatch_sgd)
