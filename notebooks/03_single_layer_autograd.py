# %% [markdown]
# # 03 · A single layer and autograd
#
# The lecture topic on autograd starts with the smallest possible "network": one linear layer with
# 5 inputs and 3 outputs, `z = x @ w + b`, scored with a binary cross-entropy on the logits. It then
# looks at what PyTorch records (`grad_fn`), what `backward()` fills in (`.grad`), and how
# `torch.no_grad()` switches recording off for evaluation.
#
# We do the same in both frameworks, with the *same* weights, and assert that the gradients agree.

#
# **Docs this lesson relies on:** [JAX Autodiff Cookbook](https://docs.jax.dev/en/latest/notebooks/autodiff_cookbook.html), [`jax.lax.stop_gradient`](https://docs.jax.dev/en/latest/_autosummary/jax.lax.stop_gradient.html), [PyTorch's autograd notes](https://pytorch.org/docs/stable/notes/autograd.html).
# %%
import warnings

import jax
import jax.numpy as jnp
import torch
import torch.nn.functional as F
from exercises import check, exercise
from IPython.display import display

import funcgrad as fg
from funcgrad.autodiff import grad_with_taps
from funcgrad.graph import trace

_ = torch.manual_seed(0)

# %% [markdown]
# ## The layer z = x @ w + b with a BCE-with-logits loss
#
# *Lecture-note topic: a single layer and autograd.*
#
# **PyTorch.** Input `x` of ones (5 features), target `y` of ones (3 outputs), weights `w` of shape
# `(5, 3)` and a bias `b` of shape `(3,)`, one per output neuron. Only `w` and `b` ask for gradients:
# the input is data, not something we want to change.

# %%
x = torch.ones(5)
y = torch.ones(3)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)

z = torch.matmul(x, w) + b
loss = F.binary_cross_entropy_with_logits(z, y)  # applies the sigmoid itself
print(z.shape, f"loss = {loss.item():.4f}")

# %% [markdown]
# **A slip in the notes, corrected here.** The notes print `x.T.shape` and describe the product as
# "a 1×5 vector times a 5×3 matrix". `x` is a 1-D tensor of shape `(5,)`, not a 1×5 matrix, and
# `.T` on a 1-D tensor changes nothing (PyTorch now warns that it is deprecated there). `x @ w` works
# because `matmul` treats a 1-D left operand as a row for that one product, and the result is 1-D
# again, `(3,)`, not `1×3`. The functional side behaves the same way.

# %%
with warnings.catch_warnings(record=True) as transposed_1d:
    warnings.simplefilter("always")
    x_t_shape = x.T.shape
print(x.shape, x_t_shape, (x @ w).shape, "| warning:", str(transposed_1d[0].message)[:60])

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
assert x.shape == x_t_shape == (5,) and (x @ w).shape == (3,)
assert jnp.ones(5).T.shape == (5,) and (jnp.ones(5) @ jnp.ones((5, 3))).shape == (3,)

# %% [markdown]
# **funcgrad.** The same layer is `fg.models.SingleLayer(5, 3)`: an `(init, apply)` pair whose params
# are `{"w": (5, 3), "b": (3,)}`, the notes' layout. We copy PyTorch's random weights into it, so both
# sides compute with identical numbers.

# %%
layer = fg.models.SingleLayer(5, 3)
params = {"w": jnp.asarray(w.detach().numpy()), "b": jnp.asarray(b.detach().numpy())}
xj, yj = jnp.ones(5), jnp.ones(3)


def loss_fn(params, x, y):
    z = layer.apply(params, x)
    return fg.losses.binary_cross_entropy_with_logits(z, y)


zj = layer.apply(params, xj)
print("z =", zj, f"loss = {float(loss_fn(params, xj, yj)):.4f}")

# %% jupyter={"source_hidden": true}
# Proof: with torch's weights, funcgrad's z and loss are torch's
check(zj, z.detach().numpy(), rtol=1e-6)
check(loss_fn(params, xj, yj), loss.item(), rtol=1e-6)

# %% [markdown]
# The picture of the single layer that the notes ask for: the inputs `x` (data) and the leaves `w`
# and `b` (which require grad) meet in the matrix product and the sum, and the loss compares `z`
# with the target.

# %%
layer_graph = trace(loss_fn, params, xj, yj, wrt="params")
display(layer_graph)

# %% jupyter={"source_hidden": true}
# Proof: the leaves that require grad are the layer's w and b
assert layer_graph.requires_grad == ["b", "w"]

# %% [markdown]
# ## `grad_fn` and `.grad` before and after `backward()`
#
# *Lecture-note topic: a single layer and autograd.*
#
# (The notes say `backward()` propagates "up to the root" of the graph. The root is the loss,
# where it starts; it runs down to the leaves, whose `.grad` it fills.)
#
# Before `backward()`, PyTorch already knows *how* `z` was made (`grad_fn` is an `AddBackward0`: the
# last operation was the `+ b`), but no gradient exists yet: `w.grad` is `None`. `w` and `b` are
# leaves, and `z` is not: a non-leaf is a tensor made by a recorded operation, one whose input
# requires grad. (Being made by an operation is not enough: notebook 01's `data * 3` is made by an
# operation and is a leaf, because `data` requires no grad.)

# %%
print("z.grad_fn:", z.grad_fn, "| loss.grad_fn:", loss.grad_fn)
print("w.grad before backward():", w.grad)
print("is_leaf: w", w.is_leaf, "| b", b.is_leaf, "| z", z.is_leaf)

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
assert w.grad is None and b.grad is None
assert w.is_leaf and b.is_leaf and not z.is_leaf

# %% [markdown]
# `backward()` walks the recorded graph from `loss` back to the leaves and stores the gradients in
# `w.grad` and `b.grad`. It does not change `w` or `b`: updating them is the optimizer's job.
#
# `z.grad` stays `None`: `z` is not a leaf, and PyTorch keeps only leaf gradients unless you call
# `z.retain_grad()` (it warns when you read it).

# %%
loss.backward()
print("w.grad:\n", w.grad)
print("b.grad:", b.grad)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print("z.grad:", z.grad)
    assert z.grad is None
print("warning:", str(caught[0].message).split(". ")[0])

# %% [markdown]
# ## The funcgrad version: `jax.grad` over (w, b)
#
# *Lecture-note topic: a single layer and autograd.*
#
# Functionally the question "which tensors require grad?" becomes "which argument do we
# differentiate?". `jax.grad(loss_fn)` differentiates the first argument, the params dict, so it
# returns a dict of the same shape: `{"w": dL/dw, "b": dL/db}`. `x` and `y` are just other arguments.

# %%
grads = jax.grad(loss_fn)(params, xj, yj)
print(jax.tree.map(jnp.shape, grads))

# %% jupyter={"source_hidden": true}
# Proof: jax.grad's dict holds torch's w.grad and b.grad
check(grads["w"], w.grad.numpy(), rtol=1e-5, atol=1e-7)
check(grads["b"], b.grad.numpy(), rtol=1e-5, atol=1e-7)

# %% [markdown]
# Both agree with the closed form too. For the mean BCE over 3 outputs,
# $\partial L / \partial z = (\sigma(z) - y) / 3$; then $\partial L / \partial b = \partial L / \partial z$
# and $\partial L / \partial w = x\, (\partial L / \partial z)^\top$, the outer product of the two vectors
# (a $5 \times 3$ matrix, like `w`). Since `x` is all ones, every row of `w.grad` equals `b.grad`, as
# the printout above shows.

# %% jupyter={"source_hidden": true}
# Proof: the closed form gives the same gradients
dz = (jax.nn.sigmoid(zj) - yj) / 3
check(grads["b"], dz, rtol=1e-5)
check(grads["w"], jnp.outer(xj, dz), rtol=1e-5)

# %% [markdown]
# ### The gradient at z: `retain_grad()` against differentiating the loss's input
#
# To see `dL/dz` in PyTorch, call `z.retain_grad()` before `backward()`. Functionally there are two
# ways. `dL/dz` is the gradient of the loss with respect to *its* argument `z`, so we can split the
# function where we want to look. Or we use the tap that `SingleLayer` places on its output under
# the name `"z"`: `grad_with_taps` returns the gradient at every tap next to the usual gradients.

# %%
w.grad = b.grad = None  # start afresh: backward() would add to the gradients of the first run
z2 = torch.matmul(x, w) + b
z2.retain_grad()
F.binary_cross_entropy_with_logits(z2, y).backward()

dl_dz = jax.grad(fg.losses.binary_cross_entropy_with_logits)(zj, yj)
same_grads, taps = grad_with_taps(loss_fn)(params, xj, yj)
print("dL/dz:", taps["z"])

# %% jupyter={"source_hidden": true}
# Proof: both functional ways give torch's z.grad, the closed form, and the same w, b gradients
check(dl_dz, z2.grad.numpy(), rtol=1e-5)
check(taps["z"], z2.grad.numpy(), rtol=1e-5)
check(dl_dz, dz, rtol=1e-5)
check(same_grads["w"], w.grad.numpy(), rtol=1e-5, atol=1e-7)
check(same_grads["b"], b.grad.numpy(), rtol=1e-5, atol=1e-7)

# %% [markdown]
# ## `no_grad` for evaluation, against simply not calling `grad`
#
# *Lecture-note topic: a single layer and autograd.*
#
# During training PyTorch records every operation on tensors that require grad. For evaluation (for
# example on a validation set at the end of an epoch) that record is wasted work, so we wrap the
# forward pass in `torch.no_grad()`: the result has `requires_grad=False` and no `grad_fn`.

# %%
z1 = torch.matmul(x, w) + b
print("recording:", z1.requires_grad, z1.grad_fn)
with torch.no_grad():
    z_eval = torch.matmul(x, w) + b
print("under no_grad:", z_eval.requires_grad, z_eval.grad_fn)

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
assert z1.requires_grad and not z_eval.requires_grad

# %% [markdown]
# Functionally there is nothing to switch off: calling `layer.apply` computes values and records
# nothing. What `no_grad` saves in PyTorch, the stored activations of the backward pass, is never
# kept here: gradients exist only when we ask `jax.grad` for them. (`jax.jit` is a separate matter:
# it compiles the function, with or without `grad`, and changes no values.)

# %%
evaluate = jax.jit(layer.apply)
z_fg = evaluate(params, xj)
print("evaluated:", z_fg)

# %% jupyter={"source_hidden": true}
# Proof: the evaluation gives torch's no_grad result
check(z_fg, z_eval.numpy(), rtol=1e-6)

# %% [markdown]
# ## What changed and what stayed the same
#
# | PyTorch | funcgrad / JAX |
# |---|---|
# | `w = torch.randn(5, 3, requires_grad=True)` | `params = {"w": ..., "b": ...}`, an ordinary dict |
# | `z.grad_fn` (how `z` was made) | the primitive in the traced function (`jax.make_jaxpr(loss_fn)`) |
# | `loss.backward()`; `w.grad`, `b.grad` | `grads = jax.grad(loss_fn)(params, x, y)` |
# | `z.retain_grad()`; `z.grad` | `tap(z, "z")` and `grad_with_taps`, or `jax.grad` of the part after `z` |
# | `with torch.no_grad(): ...` | call `layer.apply(params, x)` (optionally jitted) |
#
# The traced layer below is the whole "graph" JAX sees: `dot_general` is the matmul and `add` is the
# bias, the operation PyTorch's `AddBackward0` remembers.

# %%
print(jax.make_jaxpr(layer.apply)(params, xj).pretty_print(use_color=False))

# %% [markdown]
# > **Pitfalls**
# >
# > - `z.grad` is `None` for a non-leaf `z` (made by an operation on something that requires grad):
# >   use `retain_grad()` or, functionally, a tap.
# > - For vectors `x` and `∂L/∂z`, `∂L/∂w` is the *outer* product `x (∂L/∂z)ᵀ`, shaped like `w`.
# > - `no_grad` saves the memory of stored activations; `jax.jit` is a different thing (compilation).
# >   Evaluating without `jax.grad` stores nothing to begin with.
# > - BCE-with-logits takes logits, not probabilities: do not apply a sigmoid first.

# %% [markdown]
# ## Exercises
#
# Each exercise is a function that raises `NotImplementedError` until you write it. The check cell
# after it prints "not attempted" until then, "correct" once your answer agrees with PyTorch, and
# fails with an `AssertionError` when it does not. The reference answers are in
# `notebooks/solutions/03.py`; try before you look.
#
# **Exercise 1.** Write the gradients of the layer's mean BCE-with-logits loss *by hand*: with
# $z = x w + b$ and $n$ outputs, $\partial L/\partial z = (\sigma(z) - y)/n$, $\partial L/\partial b$
# is that, and $\partial L/\partial w$ is the outer product of $x$ with it. Return `(dw, db)`.


# %%
def bce_grads_by_hand(x, y, w, b):
    raise NotImplementedError("exercise 1: your code here")


# %%
# Check exercise 1 against torch's backward() on fresh random weights
def check_exercise_1(bce_grads_by_hand):
    ex_w = torch.randn(5, 3, requires_grad=True)
    ex_b = torch.randn(3, requires_grad=True)
    ex_x, ex_y = torch.randn(5), torch.tensor([1.0, 0.0, 1.0])
    F.binary_cross_entropy_with_logits(ex_x @ ex_w + ex_b, ex_y).backward()
    dw, db = bce_grads_by_hand(*(jnp.asarray(t.detach().numpy()) for t in (ex_x, ex_y, ex_w, ex_b)))
    check(dw, ex_w.grad.numpy(), rtol=1e-5, atol=1e-7)
    check(db, ex_b.grad.numpy(), rtol=1e-5, atol=1e-7)


exercise(1, check_exercise_1, bce_grads_by_hand)

# %% [markdown]
# **Exercise 2.** Write `predict(w, b, x)`, the layer's probabilities for evaluation, the
# counterpart of calling the torch layer under `torch.no_grad()`.


# %%
def predict(w, b, x):
    raise NotImplementedError("exercise 2: your code here")


# %%
# Check exercise 2 against torch under no_grad
def check_exercise_2(predict):
    ex_w, ex_b, ex_x = torch.randn(5, 3, requires_grad=True), torch.randn(3), torch.randn(5)
    with torch.no_grad():
        expected = torch.sigmoid(ex_x @ ex_w + ex_b)
    assert not expected.requires_grad and expected.grad_fn is None  # nothing was recorded
    got = predict(*(jnp.asarray(t.detach().numpy()) for t in (ex_w, ex_b, ex_x)))
    check(got, expected.numpy(), rtol=1e-6)


exercise(2, check_exercise_2, predict)
