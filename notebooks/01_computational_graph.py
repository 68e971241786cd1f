# %% [markdown]
# # 01 · The computational graph
#
# The lecture topic on autograd opens with a picture: a network is a web of nodes. Some nodes are
# **inputs**, some are **operations** (with their tunable knobs, the parameters), some are
# **outputs**. When PyTorch runs the code of a model it records that web as it goes: the
# *computational graph*. Backprop then walks it from the output back to the inputs.
#
# JAX keeps the same picture but gets it differently: it *traces a function*. The graph is the
# function's program (a "jaxpr"), whose inputs are the function's arguments and whose outputs are
# its return values. This notebook puts the two side by side and checks that the numbers agree.

#
# **Docs this lesson relies on:** [JAX Autodiff Cookbook](https://docs.jax.dev/en/latest/notebooks/autodiff_cookbook.html), [`jax.make_jaxpr`](https://docs.jax.dev/en/latest/_autosummary/jax.make_jaxpr.html), [PyTorch's autograd notes](https://pytorch.org/docs/stable/notes/autograd.html).
# %%
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import torch
from exercises import check, exercise
from IPython.display import display

import funcgrad as fg
from funcgrad.autodiff import grad_with_taps, tap
from funcgrad.graph import trace

_ = torch.manual_seed(0)

# %% [markdown]
# ## A computational graph: inputs, operations, outputs
#
# *Lecture-note topic: the computational graph (the introduction to autograd).*
#
# A tiny model that learns a transformation of its input: $\hat y = w x + b$, scored with a squared
# error against a target $y$. In PyTorch, every result of a *recorded* operation (one with an input
# that requires grad) remembers the operation that made it (`grad_fn`) and, through
# `next_functions`, the operations before that; a result of data alone records nothing (`data * 3`
# below has `grad_fn=None`). Walking those links from the loss prints the recorded graph, from the
# output back to the leaves.

# %%
x, y = torch.tensor(2.0), torch.tensor(7.0)
w = torch.tensor(1.5, requires_grad=True)
b = torch.tensor(0.5, requires_grad=True)

y_hat = w * x + b
loss = (y_hat - y) ** 2


def show(fn, depth=0):
    name = type(fn).__name__
    print("  " * depth + name)
    for parent, _ in fn.next_functions if fn is not None else []:
        if parent is not None:
            show(parent, depth + 1)


show(loss.grad_fn)

# %% [markdown]
# `AccumulateGrad` marks a leaf that wants a gradient (`w`, `b`): that is where `backward()` will
# deposit it. `x` and `y` do not appear: nothing needs their gradient.
#
# In JAX the graph is the traced program of a function. Its inputs are the function's arguments,
# each line is one operation (a *primitive*: `mul`, `add`, `sub`, `integer_pow`), and the last line
# says what is returned.


# %%
def loss_fn(w, b, x, y):
    y_hat = w * x + b
    return (y_hat - y) ** 2


jaxpr = jax.make_jaxpr(loss_fn)(1.5, 0.5, 2.0, 7.0)
print(jaxpr.pretty_print(use_color=False))

# %% jupyter={"source_hidden": true}
# Proof: the traced function computes torch's loss
check(loss_fn(1.5, 0.5, 2.0, 7.0), loss.item(), rtol=1e-6)

# %% [markdown]
# `trace` (from `funcgrad.graph`) turns that program into a drawing. Leaves are the arguments; `wrt` says which
# ones we differentiate, the functional "requires grad". Each operation is labelled with its JAX
# primitive and with the `grad_fn` name PyTorch would give it.

# %%
graph = trace(loss_fn, 1.5, 0.5, 2.0, 7.0, wrt=("w", "b"))
display(graph)

# %% [markdown]
# `graph.backward()` draws the backward pass: the gradient starts as 1 at the output and flows back
# through one node per operation, down to `w.grad` and `b.grad`, the same chain PyTorch printed
# above. We check that the names agree.


# %%
def torch_chain(fn):
    """The grad_fn names reachable from ``fn``, depth first, as ``show`` printed them."""
    names = [type(fn).__name__]
    for parent, _ in fn.next_functions:
        if parent is not None:
            names += torch_chain(parent)
    return names


backward_graph = graph.backward()
display(backward_graph)

# %% jupyter={"source_hidden": true}
# Proof: the drawing's backward nodes are torch's grad_fn chain, and its leaves torch's
torch_ops = [n for n in torch_chain(loss.grad_fn) if n != "AccumulateGrad"]
assert [node.label for node in backward_graph.ops] == torch_ops, torch_ops
torch_wants_grad = [n for n, t in {"w": w, "b": b, "x": x, "y": y}.items() if t.requires_grad]
assert graph.requires_grad == torch_wants_grad

# %% [markdown]
# That drawing is funcgrad's reconstruction, shaped like PyTorch's `grad_fn` chain so the two can be
# compared. JAX keeps no such graph. `jax.grad` builds a *new program*: it linearizes the function
# (the forward pass plus the linear map of its derivatives) and then transposes that linear map,
# which runs it backwards. Printing that program shows what really runs: the forward operations
# (`mul`, `add`, `sub`, `integer_pow`), then the derivative's products (`mul` by `2.0`, by the
# cotangent `1.0`, by `x`), ending at the gradients of `w` and `b`. The cell lists the primitives,
# so the sentence cannot drift from the program.

# %%
grad_program = jax.make_jaxpr(jax.grad(loss_fn, argnums=(0, 1)))(1.5, 0.5, 2.0, 7.0)
print(grad_program.pretty_print(use_color=False))
used = sorted({eqn.primitive.name for eqn in grad_program.eqns})
print("primitives:", used)

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
assert used == ["add", "integer_pow", "mul", "sub"]

# %% [markdown]
# ## Leaves, `requires_grad`, `grad` and `grad_fn`
#
# *Lecture-note topic: the computational graph (the introduction to autograd).*
#
# PyTorch attaches four properties to every tensor:
#
# | property | meaning |
# |---|---|
# | `is_leaf` | created by the user (or from inputs that need no gradient), not by a tracked operation |
# | `requires_grad` | whether operations on it are recorded for backprop |
# | `grad` | where `backward()` accumulates its gradient (by default only on leaves with `requires_grad=True`) |
# | `grad_fn` | the operation that created it (`None` for leaves) |
#
# The notes give four rules. User tensors are leaves, with or without `requires_grad`. A tensor made
# by an operation stays a leaf if no input requires grad; if one does, it is *not* a leaf, and it
# records its `grad_fn`.

# %%
data = torch.tensor([1.0, 2.0])  # user tensor, requires_grad=False
weight = torch.tensor([0.5, -1.0], requires_grad=True)  # user tensor, requires_grad=True
scaled_data = data * 3  # from an operation, no input requires grad
product = weight * data  # from an operation on a tensor that requires grad

for name, t in [
    ("data", data),
    ("weight", weight),
    ("scaled_data", scaled_data),
    ("product", product),
]:
    print(
        f"{name:12} is_leaf={t.is_leaf!s:5} requires_grad={t.requires_grad!s:5} grad_fn={t.grad_fn}"
    )

product.sum().backward()
print("weight.grad =", weight.grad, "| data.grad =", data.grad)

# %% jupyter={"source_hidden": true}
# Proof: the four rules, as torch applies them
assert data.is_leaf and weight.is_leaf and scaled_data.is_leaf and not product.is_leaf
assert scaled_data.grad_fn is None and type(product.grad_fn).__name__ == "MulBackward0"

# %% [markdown]
# Functionally each property has a plain counterpart:
#
# * **leaves** are the function's **arguments**: `weight` and `data` below;
# * **"requires grad"** is **which arguments we differentiate**: `argnums=0` picks `weight`;
# * **`grad`** is the **returned** gradient, with the argument's shape; nothing is stored anywhere;
# * **`grad_fn`** is the **primitive that made a value** in the traced program: `mul` made
#   `product`, which PyTorch calls `MulBackward0`.


# %%
def product_sum(weight, data):
    product = weight * data
    return product.sum()


weight_grad = jax.grad(product_sum, argnums=0)(jnp.array([0.5, -1.0]), jnp.array([1.0, 2.0]))
print("returned gradient:", weight_grad)


def grad_fn_of(f, *args):
    """The primitive that produced ``f``'s output: the functional ``grad_fn``."""
    return jax.make_jaxpr(f)(*args).eqns[-1].primitive.name


made_by = grad_fn_of(lambda w, d: w * d, jnp.ones(2), jnp.ones(2))
print("product was made by:", made_by)

# %% jupyter={"source_hidden": true}
# Proof: the returned gradient is torch's weight.grad, and mul is torch's MulBackward0
check(weight_grad, weight.grad.numpy())
product_graph = trace(lambda w, d: w * d, jnp.ones(2), jnp.ones(2))
assert product_graph.grad_fns == [type(product.grad_fn).__name__]  # mul <-> MulBackward0, live

# %% [markdown]
# **Slips in the notes, corrected here.** The notes define `is_leaf` as marking "the nodes whose
# gradients will be computed"; a leaf is a tensor that no recorded operation made, and `.grad` is
# filled only for leaves that also have `requires_grad=True` (the table above). The chain rule is
# written with $\frac{x}{dx}$ on the left where $\frac{dz}{dx}$ is meant (the form used above). The
# MSE is written $\frac{(\hat y - y)^2}{N}$ without its sum: it is
# $\frac{1}{N}\sum_i (\hat y_i - y_i)^2$, with $N$ the number of entries.

# %% [markdown]
# ## `retain_grad()` on a non-leaf against taps
#
# *Lecture-note topic: the computational graph (the introduction to autograd).*
#
# PyTorch keeps `.grad` only on leaves. To see the gradient at an intermediate value, call
# `retain_grad()` on it before `backward()`.

# %%
w = torch.tensor(1.5, requires_grad=True)
b = torch.tensor(0.5, requires_grad=True)
y_hat = w * x + b
y_hat.retain_grad()
loss = (y_hat - y) ** 2
loss.backward()
print("torch: dL/dy_hat =", y_hat.grad.item(), "| dL/dw =", w.grad.item())

# %% [markdown]
# A pure function has no tensor objects to mark, but plain JAX can ask the same question: add a
# zero to the value, and differentiate with respect to that zero. A change of the zero is a change
# of `y_hat`, so its gradient is the gradient at `y_hat`.


# %%
def loss_with_zero(params, zero, x, y):
    y_hat = params["w"] * x + params["b"] + zero  # y_hat, moved by nothing
    return (y_hat - y) ** 2


plain_grads, at_y_hat = jax.grad(loss_with_zero, argnums=(0, 1))(
    {"w": 1.5, "b": 0.5}, 0.0, 2.0, 7.0
)
print("plain JAX: dL/dy_hat =", float(at_y_hat), "| dL/dw =", float(plain_grads["w"]))

# %% [markdown]
# funcgrad packages that trick: `tap(value, "name")` *names* the value where it is computed, and
# `grad_with_taps` adds a zero at every tap and returns the gradient at each next to the usual
# gradients. Outside `grad_with_taps`, `tap` does nothing at all.


# %%
def tapped_loss(params, x, y):
    y_hat = tap(params["w"] * x + params["b"], "y_hat")
    return (y_hat - y) ** 2


grads, taps = grad_with_taps(tapped_loss)({"w": 1.5, "b": 0.5}, 2.0, 7.0)
print("funcgrad: dL/dy_hat =", float(taps["y_hat"]), "| dL/dw =", float(grads["w"]))

# %% jupyter={"source_hidden": true}
# Proof: torch's retain_grad, the plain-JAX zero, the tap and the closed form 2 (y_hat - y) agree
check(at_y_hat, y_hat.grad.item(), rtol=1e-6)
check(taps["y_hat"], y_hat.grad.item(), rtol=1e-6)
check(plain_grads["w"], w.grad.item(), rtol=1e-6)
check(grads["w"], w.grad.item(), rtol=1e-6)
check(taps["y_hat"], 2 * (1.5 * 2 + 0.5 - 7), rtol=1e-6)  # 2 (y_hat - y)

# %% [markdown]
# ## The chain rule
#
# *Lecture-note topic: the computational graph (the introduction to autograd).*
#
# Autograd rests on one rule: $\frac{d f(g(x))}{dx} = f'(g(x))\, g'(x)$. In a graph: the influence
# of $x$ on $z$ is the influence of $x$ on $y$ times that of $y$ on $z$,
# $\frac{dz}{dx} = \frac{dz}{dy} \frac{dy}{dx}$. Check it on $z = \sin(y)$, $y = x^2$, where the
# rule gives $\cos(x^2) \cdot 2x$: PyTorch's `backward()`, `jax.grad` of the composition, and the
# product of the two derivatives taken separately all agree with it.

# %%
x0 = 1.3
x_t = torch.tensor(x0, requires_grad=True)
torch.sin(x_t**2).backward()


def g(x):
    return x**2


def f(y):
    return jnp.sin(y)


composed = jax.grad(lambda x: f(g(x)))(x0)
by_parts = jax.grad(f)(g(x0)) * jax.grad(g)(x0)  # f'(g(x)) * g'(x)
print(float(composed), float(by_parts), x_t.grad.item())

# %% jupyter={"source_hidden": true}
# Proof: torch, jax.grad of the composition, the product of the parts and cos(x^2) 2x agree
check(composed, x_t.grad.item(), rtol=1e-5)
check(by_parts, composed, rtol=1e-5)
check(composed, np.cos(x0**2) * 2 * x0, rtol=1e-5)

# %% [markdown]
# ## A small example: learning a transformation with an MSE loss
#
# *Lecture-note topic: the computational graph (the introduction to autograd).*
#
# The notes end with a small network that learns a transformation of its input. Ours maps 3 inputs to
# 2 outputs, `fg.nn.Linear(3, 2)` against `torch.nn.Linear(3, 2)` with copied weights. The data come
# from a hidden transformation $y = A x + c$, and the loss is the mean squared error. With $N = 64$
# samples of 2 outputs each, `mse_loss` (like torch's) averages over all $N \cdot 2 = 128$ entries,
# $\frac{1}{2N} \sum_{p, j} (\hat y_{pj} - y_{pj})^2$, not over the $N$ samples alone.
#
# ### Forward pass
#
# The inputs travel through the operations and meet the trainable parameters; the loss compares the
# output with the target.

# %%
A = torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]])
c = torch.tensor([0.5, -1.0])
inputs = torch.randn(64, 3)
targets = inputs @ A.T + c

torch_layer = torch.nn.Linear(3, 2)
layer = fg.nn.Linear(3, 2)
params = fg.interop.from_torch(torch_layer, like=layer)
xs, ys = jnp.asarray(inputs.numpy()), jnp.asarray(targets.numpy())


def mse(params, x, y):
    return fg.losses.mse_loss(layer.apply(params, x), y)


torch_loss = torch.nn.functional.mse_loss(torch_layer(inputs), targets)
print(
    f"loss before training: torch {torch_loss.item():.5f}, funcgrad {float(mse(params, xs, ys)):.5f}"
)

# %% jupyter={"source_hidden": true}
# Proof: the same loss, and torch's mean is over all 128 entries
check(mse(params, xs, ys), torch_loss.item(), rtol=1e-5)
per_entry = (torch_layer(inputs) - targets) ** 2
check(torch_loss.item(), per_entry.sum().item() / 128, rtol=1e-5)

# %% [markdown]
# The forward graph of this loss: the params (`weight`, `bias`) require grad, the data do not.

# %%
mse_graph = trace(mse, params, xs, ys, wrt="params")
display(mse_graph)

# %% jupyter={"source_hidden": true}
# Proof: the leaves that require grad are torch's parameters
assert mse_graph.requires_grad == sorted(
    n for n, p in torch_layer.named_parameters() if p.requires_grad
)

# %% [markdown]
# ### Backpropagation
#
# Backprop finds how each parameter influenced the loss. PyTorch stores the answer in `.grad`;
# `jax.grad` returns it as a dict shaped like the params.

# %%
torch_loss.backward()
grads = jax.grad(mse)(params, xs, ys)
mse_backward = [node.label for node in mse_graph.backward().ops]
print("backward pass:", mse_backward)
print(jax.tree.map(jnp.shape, grads))

# %% jupyter={"source_hidden": true}
# Proof: the backward nodes are torch's grad_fn chain, and the gradients torch's .grad
# torch transposes the weight for addmm (TBackward0); the Linear box folds that in.
folded = ("AccumulateGrad", "TBackward0")
assert mse_backward == [n for n in torch_chain(torch_loss.grad_fn) if n not in folded]
check(grads["weight"], torch_layer.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
check(grads["bias"], torch_layer.bias.grad.numpy(), rtol=1e-5, atol=1e-6)

# %% [markdown]
# ### Training: the forward pass and backprop, repeated
#
# Sixty steps of plain gradient descent in both frameworks. The parameters approach $A$ and $c$,
# and both runs stay equal along the way.

# %%
lr, torch_losses, jax_losses = 0.3, [], []
for _ in range(60):
    torch_layer.zero_grad()
    loss = torch.nn.functional.mse_loss(torch_layer(inputs), targets)
    loss.backward()
    with torch.no_grad():
        for p in torch_layer.parameters():
            p -= lr * p.grad
    torch_losses.append(loss.item())

    loss_j, grads = jax.value_and_grad(mse)(params, xs, ys)
    params = jax.tree.map(lambda p, g: p - lr * g, params, grads)
    jax_losses.append(float(loss_j))

print(np.round(np.asarray(params["weight"]), 3), np.round(np.asarray(params["bias"]), 3))

# %% jupyter={"source_hidden": true}
# Proof: both runs agree at every step, and the parameters approach A and c
check(jax_losses, torch_losses, rtol=1e-4, atol=1e-7)
check(params["weight"], torch_layer.weight.detach().numpy(), rtol=1e-4, atol=1e-5)
check(params["bias"], torch_layer.bias.detach().numpy(), rtol=1e-4, atol=1e-5)
check(params["weight"], A.numpy(), atol=0.05)  # it learned the transformation
check(params["bias"], c.numpy(), atol=0.05)

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.semilogy(torch_losses, label="PyTorch")
ax.semilogy(jax_losses, "--", label="funcgrad")
ax.set(xlabel="step", ylabel="MSE loss", title="learning a transformation: loss curves")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What changed and what stayed the same
#
# | PyTorch | funcgrad / JAX |
# |---|---|
# | the graph recorded while the code runs (`grad_fn`, `next_functions`) | the traced program of a function (`jax.make_jaxpr`, drawn by `fg.graph.trace`) |
# | leaf tensors | function arguments |
# | `requires_grad=True` | `jax.grad(f, argnums=...)` |
# | `x.grad`, filled by `backward()` | the value `jax.grad(f)(...)` returns |
# | `y.grad_fn` | the primitive that produced `y` (and its `grad_fn` name in `fg.graph`) |
# | `y.retain_grad()`; `y.grad` | `tap(y, "y")`; `grad_with_taps(f)` |
#
# The graph, the chain rule and the numbers are the same.

# %% [markdown]
# > **Pitfalls**
# >
# > - `.grad` is filled only for leaves with `requires_grad=True`; a non-leaf's `.grad` stays `None`
# >   unless you `retain_grad()` it (functionally: `tap` it).
# > - A leaf is a tensor no recorded operation made, not "a node whose gradient is computed":
# >   `torch.ones(3) * 3` is a leaf, and so is a weight.
# > - `F.mse_loss` averages over *every entry* (128 for 64 targets of 2), not over the samples.
# > - JAX keeps no graph: the drawing of `graph.backward()` is funcgrad's reconstruction; JAX's real
# >   backward pass is the program `jax.make_jaxpr(jax.grad(f))`.

# %% [markdown]
# ## Exercises
#
# Each exercise is a function that raises `NotImplementedError` until you write it. The check cell
# after it prints "not attempted" until then, "correct" once your answer agrees with PyTorch, and
# fails with an `AssertionError` when it does not. The reference answers are in
# `notebooks/solutions/01.py`; try before you look.
#
# **Exercise 1.** `a` and `b` require grad, `c` is data. Return the gradients of
# `(a * b).sum() + c.sum()` with respect to `a` and `b` (hint: `argnums`).


# %%
def grads_of_a_and_b(a, b, c):
    raise NotImplementedError("exercise 1: your code here")


# %%
# Check exercise 1 against torch's .grad of the leaves that require grad
def check_exercise_1(grads_of_a_and_b):
    ta = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tb = torch.tensor([-1.0, 0.5, 4.0], requires_grad=True)
    tc = torch.tensor([7.0, 8.0, 9.0])
    ((ta * tb).sum() + tc.sum()).backward()
    da, db = grads_of_a_and_b(*(jnp.asarray(t.detach().numpy()) for t in (ta, tb, tc)))
    check(da, ta.grad.numpy())
    check(db, tb.grad.numpy())
    assert tc.grad is None and tc.is_leaf  # a leaf without requires_grad gets no .grad


exercise(1, check_exercise_1, grads_of_a_and_b)

# %% [markdown]
# **Exercise 2.** Write the MSE of 64 predictions of 2 values each as a sum of squares divided by the
# number of *entries*, the way `F.mse_loss` counts.


# %%
def mse_over_entries(pred, target):
    raise NotImplementedError("exercise 2: your code here")


# %%
# Check exercise 2 against torch.nn.functional.mse_loss
def check_exercise_2(mse_over_entries):
    pred_t, target_t = torch.randn(64, 2), torch.randn(64, 2)
    expected = torch.nn.functional.mse_loss(pred_t, target_t).item()
    check(
        float(mse_over_entries(jnp.asarray(pred_t.numpy()), jnp.asarray(target_t.numpy()))),
        expected,
        rtol=1e-6,
    )


exercise(2, check_exercise_2, mse_over_entries)

# %% [markdown]
# **Exercise 3.** For `h = 3x` and `loss = sum(h²)`, return `d loss / d h`, what `h.retain_grad()`
# leaves in `h.grad` (hint: `tap` and `grad_with_taps`).


# %%
def grad_of_hidden(x):
    raise NotImplementedError("exercise 3: your code here")


# %%
# Check exercise 3 against retain_grad()
def check_exercise_3(grad_of_hidden):
    tx = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    th = 3 * tx
    th.retain_grad()
    (th**2).sum().backward()
    check(grad_of_hidden(jnp.asarray(tx.detach().numpy())), th.grad.numpy(), rtol=1e-6)


exercise(3, check_exercise_3, grad_of_hidden)
