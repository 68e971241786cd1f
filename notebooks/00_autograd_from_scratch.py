# %% [markdown]
# # 00 · Autograd from scratch
#
# Before comparing PyTorch with JAX, build the thing they both provide. This notebook writes a
# reverse-mode autodiff engine in about eighty lines of NumPy: a `Value` that remembers how it was
# made (PyTorch's `grad_fn`), a topological sort of the recorded graph, and one vector-Jacobian
# product (VJP) rule per operation. Then it runs the lecture notes' own examples through it, and
# every gradient it computes is asserted equal to `torch.autograd` and to `jax.grad`.
#
# It ends where notebook 01 begins: this is what `grad_fn` is, and this is what JAX does instead.
# The lesson cells run the engine; the proof under each (collapsed where your viewer allows)
# checks it against PyTorch and JAX.
#
# **Docs this lesson relies on:** [PyTorch's autograd mechanics](https://pytorch.org/docs/stable/notes/autograd.html),
# [JAX Autodiff Cookbook](https://docs.jax.dev/en/latest/notebooks/autodiff_cookbook.html),
# [Autodidax](https://docs.jax.dev/en/latest/autodidax.html) (JAX's core, built from scratch),
# [`jax.vjp`](https://docs.jax.dev/en/latest/_autosummary/jax.vjp.html).

# %%
import jax
import jax.numpy as jnp
import numpy as np
import torch
from exercises import check, exercise

# The engine computes in float64; so do torch and JAX here, so that all three agree to 1e-12.
# (JAX computes in float32 unless jax_enable_x64 is on: a pitfall, below.)
jax.config.update("jax_enable_x64", True)
torch.set_default_dtype(torch.float64)
_ = torch.manual_seed(0)

# %% [markdown]
# ## The engine: a value that remembers how it was made
#
# *Lecture-note topic: the computational graph (the introduction to autograd).*
#
# A `Value` holds an array (`data`), the values it was computed from (`parents`), and a **VJP
# rule**: given the cotangent of the output, $\bar y = \partial L / \partial y$, it returns the
# cotangent of each parent, $\bar x = \bar y\, \partial y / \partial x$. That rule *is* PyTorch's
# `grad_fn`: `MulBackward0` is the VJP rule of `*`. A value made by the user has no parents: a
# leaf. Each operation below is the forward computation plus its VJP rule, nothing else.


# %%
def unbroadcast(g, shape):
    """Sum a cotangent over the axes that broadcasting added, back to ``shape``."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


class Value:
    def __init__(self, data, parents=(), vjp=None, op="leaf"):
        self.data = np.asarray(data, dtype=np.float64)
        self.parents, self.vjp, self.op = parents, vjp, op  # op: what PyTorch calls grad_fn
        self.grad = None

    def __add__(self, other):
        other = lift(other)
        return Value(
            self.data + other.data,
            (self, other),
            lambda g: (unbroadcast(g, self.data.shape), unbroadcast(g, other.data.shape)),
            "add",
        )

    def __mul__(self, other):
        other = lift(other)
        return Value(
            self.data * other.data,
            (self, other),
            lambda g: (
                unbroadcast(g * other.data, self.data.shape),
                unbroadcast(g * self.data, other.data.shape),
            ),
            "mul",
        )

    def __matmul__(self, other):
        a, b = self.data, other.data
        a2, b2 = a.reshape(-1, a.shape[-1]), b.reshape(b.shape[0], -1)  # 1-D as a row / column

        def vjp(g):
            g2 = g.reshape(a2.shape[0], b2.shape[1])
            return (g2 @ b2.T).reshape(a.shape), (a2.T @ g2).reshape(b.shape)

        return Value(a @ b, (self, other), vjp, "matmul")

    @property
    def T(self):  # noqa: N802 - numpy's name; a transpose's VJP is a transpose
        return Value(self.data.T, (self,), lambda g: (g.T,), "transpose")

    def sum(self):
        return Value(
            self.data.sum(), (self,), lambda g: (np.broadcast_to(g, self.data.shape),), "sum"
        )

    def mean(self):
        return self.sum() * (1 / self.data.size)

    __radd__, __rmul__ = __add__, __mul__

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + -lift(other)


def lift(x):
    """A constant becomes a leaf; a Value stays itself."""
    return x if isinstance(x, Value) else Value(x)


def unary(x, fn, rule, op):
    """A pointwise operation: the forward ``fn`` and the VJP ``rule(x, out, g)``."""
    out = fn(x.data)
    return Value(out, (x,), lambda g: (rule(x.data, out, g),), op)


def tanh(x):
    return unary(x, np.tanh, lambda x, out, g: g * (1 - out**2), "tanh")


def exp(x):
    return unary(x, np.exp, lambda x, out, g: g * out, "exp")


# %% [markdown]
# ## Backward: a topological sort, then the VJP rules in reverse
#
# *Lecture-note topic: the chain rule and autograd.*
#
# `backward(out, v)` orders the graph so that every value comes after the values it was made
# from (a depth-first topological sort), seeds the output's cotangent with `v` (`1.0` for a scalar
# loss, like `loss.backward()`), and walks the order *backwards*, calling each rule once and
# **adding** what it returns into the parents' `.grad`. Adding is the chain rule's sum over paths
# when a value feeds two operations. PyTorch also adds into a leaf's `.grad` across `backward()`
# calls, by design (so that gradients can be accumulated over micro-batches), and the engine
# copies that.


# %%
def topological_order(out):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent in node.parents:
                visit(parent)
            order.append(node)  # after all of its parents

    visit(out)
    return order


def backward(out, v=None):
    order = topological_order(out)
    for node in order:
        if node.parents:  # intermediate values start from zero; leaves accumulate, as in torch
            node.grad = None
    out.grad = np.ones_like(out.data) if v is None else np.asarray(v, dtype=np.float64)
    for node in reversed(order):
        if node.vjp is None or node.grad is None:
            continue
        for parent, g in zip(node.parents, node.vjp(node.grad), strict=True):
            parent.grad = g if parent.grad is None else parent.grad + g


# %% [markdown]
# That is the whole engine. The rest of the notebook runs the notes' examples through it.
#
# ## `[6, 6, 6]`: y = x + 2, z = 3y², u = mean(z)
#
# *Lecture-note topic: the chain rule and autograd.*
#
# The notes' first example. By hand, $\partial u / \partial x_k = 2 (x_k + 2) = 6$ at `x = 1`.

# %%
x = Value(np.ones(3))
y = x + 2
z = y * y * 3
u = z.mean()
backward(u)
print("engine:", x.grad)

# %% jupyter={"source_hidden": true}
# Proof: torch.autograd, jax.grad and the closed form agree
x_t = torch.ones(3, requires_grad=True)
u_t = ((x_t + 2) * (x_t + 2) * 3).mean()
u_t.backward()
jax_grad = jax.grad(lambda x: (3 * (x + 2) ** 2).mean())(jnp.ones(3))
check(x.grad, x_t.grad, rtol=1e-12)
check(x.grad, jax_grad, rtol=1e-12)
check(x.grad, [6.0, 6.0, 6.0], rtol=1e-12)

# %% [markdown]
# ## `y.backward(v)`: a vector-Jacobian product
#
# *Lecture-note topic: the chain rule and autograd.*
#
# The notes double `x = [1.1, 1.1, 1.1]` eleven times and call `y.backward(v)` with
# `v = [0.1, 1.0, 0.0001]`. The engine's `backward(y, v)` seeds the output's cotangent with `v`,
# exactly what PyTorch does: the result is $v^\top J = 2^{11} v$.

# %%
x = Value(np.full(3, 1.1))
y = x * 2
for _ in range(10):
    y = y * 2
v = np.array([0.1, 1.0, 0.0001])
backward(y, v)
print("engine:", x.grad)

# %% jupyter={"source_hidden": true}
# Proof: torch's y.backward(v), jax.vjp and the closed form 2**11 v agree
x_t = torch.full((3,), 1.1, requires_grad=True)
y_t = x_t * 2
for _ in range(10):
    y_t = y_t * 2
y_t.backward(torch.tensor(v))
_, f_vjp = jax.vjp(lambda x: x * 2**11, jnp.full(3, 1.1))
check(x.grad, x_t.grad, rtol=1e-12)
check(x.grad, f_vjp(jnp.asarray(v))[0], rtol=1e-12)
check(x.grad, [204.8, 2048.0, 0.2048], rtol=1e-12)

# %% [markdown]
# ## The `w * x` regression, trained with the engine
#
# *Lecture-note topic: the chain rule and autograd.*
#
# One weight, `x = 1`, `y = 2`, loss $(w x - y)^2$, learning rate 0.01, thirty steps in the usual
# order: forward, backward, update, zero (notebook 05 shows the notes' loop, which updates first). The update changes `w.data` outside the graph
# (PyTorch's `no_grad`), and `w.grad = None` is `zero_()`.

# %%
w = Value(1.0)
losses = []
for _ in range(30):
    d = w * 1.0 - 2.0
    loss = d * d
    backward(loss)
    w.data = w.data - 0.01 * w.grad  # update, outside the graph
    w.grad = None  # zero
    losses.append(float(loss.data))
print("losses:", np.round(losses[:3], 4), "...", round(losses[-1], 4))

# %% jupyter={"source_hidden": true}
# Proof: the same loop in torch and with jax.grad, and the closed form 0.98^(2k)
w_t = torch.tensor(1.0, requires_grad=True)
torch_losses = []
for _ in range(30):
    loss_t = (w_t * 1.0 - 2.0) ** 2
    loss_t.backward()
    with torch.no_grad():
        w_t -= 0.01 * w_t.grad
    w_t.grad.zero_()
    torch_losses.append(loss_t.item())

w_j, jax_losses = 1.0, []
for _ in range(30):
    loss_j, g_j = jax.value_and_grad(lambda w: (w * 1.0 - 2.0) ** 2)(w_j)
    w_j = w_j - 0.01 * g_j
    jax_losses.append(float(loss_j))
check(losses, torch_losses, rtol=1e-12)
check(losses, jax_losses, rtol=1e-12)
check(losses, 0.98 ** (2 * np.arange(30)), rtol=1e-12)  # closed form

# %% [markdown]
# ## `mynet(d0, 60, 40, 10)` on a 3x10x20 image
#
# *Lecture-note topic: gradient descent and backpropagation.*
#
# The notes' network: three linear layers on the flattened image. The engine has `tanh` but no
# `relu` yet (that is exercise 1), so this run puts `tanh` between the layers; the check of
# exercise 1 runs the notes' ReLU version. The layers are `z @ W.T + b`, torch's layout, with
# torch's weights. The engine's gradient of the summed output with respect to every weight, bias
# and the image agrees with torch's `.grad` and with `jax.grad`.

# %%
torch_net = torch.nn.Sequential(
    torch.nn.Linear(600, 60), torch.nn.Tanh(), torch.nn.Linear(60, 40), torch.nn.Tanh(),
    torch.nn.Linear(40, 10),
)  # fmt: skip
image = torch.randn(3, 10, 20, requires_grad=True)
torch_net(image.view(-1)).sum().backward()
weights = {name: p.detach().numpy() for name, p in torch_net.named_parameters()}


def mynet(params, z, act):
    """The notes' mynet on one flattened image, for any of the three libraries' values."""
    for k in ("0", "2"):
        z = act(z @ params[f"{k}.weight"].T + params[f"{k}.bias"])
    return z @ params["4.weight"].T + params["4.bias"]


leaves = {name: Value(p) for name, p in weights.items()}
image_leaf = Value(image.detach().numpy().reshape(-1))
backward(mynet(leaves, image_leaf, tanh).sum())
print({name: leaf.grad.shape for name, leaf in leaves.items()}, "image:", image_leaf.grad.shape)

# %% jupyter={"source_hidden": true}
# Proof: torch's .grad and jax.grad agree on every weight, bias and the image


def jax_mynet_sum(params, z):
    return mynet(params, z, jnp.tanh).sum()


jax_grads, jax_image_grad = jax.grad(jax_mynet_sum, argnums=(0, 1))(
    {k: jnp.asarray(p) for k, p in weights.items()}, jnp.asarray(image_leaf.data)
)
for name, p in torch_net.named_parameters():
    check(leaves[name].grad, p.grad, rtol=1e-10, atol=1e-14)
    check(leaves[name].grad, jax_grads[name], rtol=1e-10, atol=1e-14)
check(image_leaf.grad, image.grad.reshape(-1), rtol=1e-10, atol=1e-14)
check(image_leaf.grad, jax_image_grad, rtol=1e-10, atol=1e-14)

# %% [markdown]
# ## What `grad_fn` is, and what JAX does instead
#
# *Lecture-note topic: the computational graph (the introduction to autograd).*
#
# The engine's graph is PyTorch's graph. Each `Value.op` with its `vjp` is a `grad_fn` node
# (`MulBackward0`, `AddBackward0`, ...), `parents` are its `next_functions`, and a leaf's `.grad`
# is what `AccumulateGrad` fills. Walk both from the `[6, 6, 6]` example's output: the same
# operations in the same order (the engine's `mean` is a `sum` times `1/3`, PyTorch's one
# `MeanBackward0` node).

# %%
x = Value(np.ones(3))
u = ((x + 2) * (x + 2) * 3).mean()
x_t = torch.ones(3, requires_grad=True)
u_t = ((x_t + 2) * (x_t + 2) * 3).mean()


def torch_ops(fn):
    return [type(fn).__name__] + (torch_ops(fn.next_functions[0][0]) if fn.next_functions else [])


def engine_ops(node):
    return [node.op] + (engine_ops(node.parents[0]) if node.parents else [])


print("engine:", engine_ops(u))
print("torch: ", torch_ops(u_t.grad_fn))
assert engine_ops(u) == ["mul", "sum", "mul", "mul", "add", "leaf"]
assert torch_ops(u_t.grad_fn) == [
    "MeanBackward0", "MulBackward0", "MulBackward0", "AddBackward0", "AccumulateGrad",
]  # fmt: skip

# %% [markdown]
# JAX does not put a graph on its arrays. `jax.grad(f)` runs `f` once on tracers that apply each
# primitive's forward-mode rule (its JVP) as they go: the forward values are computed, and the
# linear part is recorded as a program (a jaxpr). Reverse mode is that linear program, transposed. What the engine keeps in its `Value`s, the
# inputs each VJP rule needs (the *residuals*), JAX keeps in the closure `jax.vjp` returns. So
# `jax.vjp` is the engine's forward pass and `f_vjp(v)` its `backward(out, v)`; like the engine's
# graph, and unlike PyTorch's (which frees its saved tensors after one `backward()`), the closure
# can be called again. Notebook 01 puts the two side by side.

# %%
u_of = lambda x: (3 * (x + 2) * (x + 2)).mean()  # noqa: E731
print(jax.make_jaxpr(jax.grad(u_of))(jnp.ones(3)).pretty_print(use_color=False))
u_value, u_vjp = jax.vjp(u_of, jnp.ones(3))
one = jnp.ones(())
check(u_vjp(one)[0], [6.0, 6.0, 6.0], rtol=1e-12)
check(u_vjp(one)[0], u_vjp(one)[0], rtol=0)  # called twice, the same answer: nothing was freed

# %% [markdown]
# ## What changed and what stayed the same
#
# | the engine | PyTorch | JAX |
# |---|---|---|
# | `Value(data)` with no parents | a leaf tensor with `requires_grad=True` | an argument of the function you differentiate |
# | `Value.vjp`, `Value.op` | `grad_fn` (`MulBackward0`, ...) | a primitive's JVP rule, transposed |
# | `parents` | `grad_fn.next_functions` | the jaxpr's data flow |
# | `backward(out, v)` | `out.backward(v)` | `jax.vjp(f, x)[1](v)` |
# | `.grad`, added into | `.grad`, accumulated | a return value |
#
# The maths is the same in all three: one VJP per operation, composed in reverse order.

# %% [markdown]
# > **Pitfalls**
# >
# > - JAX computes in float32 unless `jax.config.update("jax_enable_x64", True)` runs first (this
# >   notebook does it, so that three float64 computations agree to 1e-12); NumPy and the engine
# >   default to float64.
# > - A VJP rule must return one cotangent per parent, with the parent's shape: undo broadcasting by
# >   summing (`unbroadcast`), or the gradient of a bias has the batch's shape.
# > - A value used twice gets the *sum* of its cotangents: `.grad` is added into, never assigned.
# > - The engine, like PyTorch, accumulates into leaves across `backward` calls: zero `.grad` between
# >   steps.

# %% [markdown]
# ## Exercises
#
# Each exercise is a function that raises `NotImplementedError` until you write it. The check cell
# after it prints "not attempted" until then, "correct" once your answer agrees with PyTorch, and
# fails with an `AssertionError` when it does not. The reference answers are in
# `notebooks/solutions/00.py`; try before you look.
#
# **Exercise 1.** Write the VJP rule of ReLU, `relu_rule(x, out, g)`: the cotangent of the input,
# given the input `x`, the output `out = max(x, 0)` and the output's cotangent `g`. (At `x = 0`
# PyTorch's rule gives 0.) The check builds the engine's `relu` from your rule and runs the notes'
# `mynet`, with ReLU, against `torch.autograd` and `jax.grad`.


# %%
def relu_rule(x, out, g):
    raise NotImplementedError("exercise 1: your code here")


# %%
# Check exercise 1: the notes' mynet with ReLU, and relu at 0, against torch.autograd and jax.grad
def check_exercise_1(relu_rule):
    def relu(x):
        return unary(x, lambda d: np.maximum(d, 0.0), relu_rule, "relu")

    relu_net = torch.nn.Sequential(
        torch.nn.Linear(600, 60), torch.nn.ReLU(), torch.nn.Linear(60, 40), torch.nn.ReLU(),
        torch.nn.Linear(40, 10),
    )  # fmt: skip
    relu_image = torch.randn(3, 10, 20)
    relu_net(relu_image.view(-1)).sum().backward()
    named = {name: Value(p.detach().numpy()) for name, p in relu_net.named_parameters()}
    backward(mynet(named, Value(relu_image.numpy().reshape(-1)), relu).sum())
    jax_relu_grads = jax.grad(
        lambda p: mynet(p, jnp.asarray(relu_image).reshape(-1), jax.nn.relu).sum()
    )({name: jnp.asarray(leaf.data) for name, leaf in named.items()})
    for name, p in relu_net.named_parameters():
        check(named[name].grad, p.grad, rtol=1e-10, atol=1e-14)
        check(named[name].grad, jax_relu_grads[name], rtol=1e-10, atol=1e-14)
    at_zero = Value(np.array([-1.0, 0.0, 2.0]))
    backward(relu(at_zero).sum())
    points = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    torch.relu(points).sum().backward()
    check(at_zero.grad, points.grad, rtol=0)
    assert named["0.weight"].grad.shape == (60, 600)  # one cotangent per parent, its shape


exercise(1, check_exercise_1, relu_rule)

# %% [markdown]
# **Exercise 2.** Write the VJP rule of the natural log, `log_rule(x, out, g)`. The check runs
# $L = \sum \log(w \cdot x)$ through the engine and compares with torch.


# %%
def log_rule(x, out, g):
    raise NotImplementedError("exercise 2: your code here")


# %%
# Check exercise 2: the gradient of sum(log(w * x)) against torch.autograd and jax.grad
def check_exercise_2(log_rule):
    w_data, x_data = np.array([0.5, 2.0, 3.0]), np.array([1.5, 0.25, 4.0])
    w_leaf = Value(w_data)
    backward(unary(w_leaf * x_data, np.log, log_rule, "log").sum())
    w_torch = torch.tensor(w_data, requires_grad=True)
    torch.log(w_torch * torch.tensor(x_data)).sum().backward()
    check(w_leaf.grad, w_torch.grad, rtol=1e-12)
    check(w_leaf.grad, jax.grad(lambda w: jnp.log(w * x_data).sum())(w_data), rtol=1e-12)
    assert w_leaf.grad.shape == w_data.shape


exercise(2, check_exercise_2, log_rule)

# %% [markdown]
# **Exercise 3 (predict, then run).** Call `backward(u)` **twice** on the `[6, 6, 6]` example
# without zeroing `x.grad` in between. What does `x.grad` hold? Return your prediction as a list
# of three numbers; the check runs the engine and PyTorch (whose second `backward()` needs
# `retain_graph=True`) and compares.


# %%
def predicted_grad_after_two_backwards():
    raise NotImplementedError("exercise 3: your prediction here")


# %%
# Check exercise 3: the engine and torch, each calling backward twice without zeroing
def check_exercise_3(predicted_grad_after_two_backwards):
    x = Value(np.ones(3))
    u = ((x + 2) * (x + 2) * 3).mean()
    backward(u)
    backward(u)
    x_t = torch.ones(3, requires_grad=True)
    u_t = ((x_t + 2) * (x_t + 2) * 3).mean()
    u_t.backward(retain_graph=True)
    u_t.backward()
    check(x.grad, x_t.grad, rtol=1e-12)
    prediction = np.asarray(predicted_grad_after_two_backwards(), dtype=np.float64)
    assert prediction.shape == (3,), "three numbers, one per entry of x"
    check(prediction, x_t.grad, rtol=1e-12)


exercise(3, check_exercise_3, predicted_grad_after_two_backwards)
