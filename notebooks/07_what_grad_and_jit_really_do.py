# %% [markdown]
# # 07 · What `grad` and `jit` really do
#
# The earlier notebooks put `loss.backward()` next to `jax.grad` and let the numbers agree. This one
# opens the two boxes. PyTorch records a `grad_fn` chain while the forward pass runs and walks it
# backwards. JAX runs the function on tracers that apply each primitive's forward-mode rule (its
# JVP), records the linear part as a program, and `jax.grad` transposes that program into the
# backward pass; what it keeps from the forward pass (the residuals) lives in that program or in
# the closure `jax.vjp` returns, not on the arrays. We look at that program, at forward mode, at
# custom derivative rules, at what `jit` does to your Python, at random keys, and at `torch.func`, PyTorch's own functional side.
#
# **From the lecture notes:** the chain rule and autograd (`grad_fn`, `backward(v)` on a non-scalar
# output) and the computational graph.
#
# **Docs this lesson relies on:**
# [JAX Autodiff Cookbook](https://docs.jax.dev/en/latest/notebooks/autodiff_cookbook.html),
# [Autodidax](https://docs.jax.dev/en/latest/autodidax.html) (linearize and transpose, built from scratch),
# [custom derivative rules](https://docs.jax.dev/en/latest/notebooks/Custom_derivative_rules_for_Python_code.html),
# [JIT compilation](https://docs.jax.dev/en/latest/jit-compilation.html),
# [the sharp bits](https://docs.jax.dev/en/latest/notebooks/Common_Gotchas_in_JAX.html),
# [pseudorandom numbers](https://docs.jax.dev/en/latest/random-numbers.html);
# PyTorch's [autograd mechanics](https://pytorch.org/docs/stable/notes/autograd.html),
# [extending autograd](https://pytorch.org/docs/stable/notes/extending.html) and
# [`torch.func`](https://pytorch.org/docs/stable/func.html).

# %%
import chex
import jax
import jax.numpy as jnp
import numpy as np
import torch
import torch.nn.functional as F
from exercises import check, exercise

import funcgrad as fg

_ = torch.manual_seed(0)

# %% [markdown]
# ## The backward pass is another program: linearize, then transpose
#
# *Lecture-note topic: the chain rule and autograd.*
#
# Take $f(x) = \sum_i \sin(x_i)\, x_i$. PyTorch runs it and leaves a chain of backward nodes behind,
# one per operation, reachable from the output's `grad_fn`:


# %%
def f_torch(x):
    return (torch.sin(x) * x).sum()


def f(x):
    return (jnp.sin(x) * x).sum()


x_t = torch.tensor([0.5, 1.0, 2.0], requires_grad=True)
y_t = f_torch(x_t)


def chain(fn):
    """The names of a grad_fn and everything below it, depth first."""
    if fn is None:
        return []
    return [type(fn).__name__] + [n for nxt, _ in fn.next_functions for n in chain(nxt)]


torch_chain = chain(y_t.grad_fn)
print(torch_chain)
y_t.backward()

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
assert torch_chain[:2] == ["SumBackward0", "MulBackward0"] and "SinBackward0" in torch_chain

# %% [markdown]
# JAX keeps no such chain on its arrays. `jax.grad(f)` is an ordinary function, and its jaxpr is
# the backward program written out: the forward equations (`sin`, `mul`, and `cos`, the
# derivative of `sin`, computed right next to it), then the products of the chain rule.

# %%
x = jnp.array([0.5, 1.0, 2.0])
grad_jaxpr = jax.make_jaxpr(jax.grad(f))(x)
print(grad_jaxpr.pretty_print(use_color=False))

# %% jupyter={"source_hidden": true}
# Proof: the program holds sin, cos and mul, and computes torch's x.grad
primitives = {eqn.primitive.name for eqn in grad_jaxpr.jaxpr.eqns}
assert {"sin", "cos", "mul"} <= primitives
check(jax.grad(f)(x), x_t.grad.numpy(), rtol=1e-6)

# %% [markdown]
# How is that program made? In two steps (Autodidax builds both from scratch):
#
# 1. **Linearize**: `jax.linearize(f, x)` evaluates `f` and returns its *linear* part at `x`, the
#    map $v \mapsto J v$ (forward mode: the JVP).
# 2. **Transpose**: a linear program can be run backwards mechanically, each linear equation
#    replaced by its transpose; the transpose of $v \mapsto J v$ is $u \mapsto J^\top u$, the VJP.
#    With $u = 1$ for a scalar loss, that is the gradient.
#
# So reverse mode is forward mode, transposed. The two libraries' rules differ in kind. PyTorch
# has a hand-written VJP per operation (`SinBackward0`), recorded at run time with the tensors it
# saved. JAX has a *JVP* rule per primitive, and gets reverse mode by transposing the linear part.
# The work lands in different places: `SinBackward0` saves `x` and computes `cos(x)` during the
# backward pass; JAX's `sin` rule computes `cos(x)` during the *forward* pass, and `jax.vjp` keeps it
# as a residual. So `jax.vjp(f, x)` is a tape in all but name: it runs the forward pass, records
# the residuals, and returns a closure that can be called as often as you like (the functional
# `retain_graph=True`; PyTorch's second `backward()` needs that flag).

# %%
y, f_lin = jax.linearize(f, x)  # y = f(x); f_lin(v) = J v
f_transposed = jax.linear_transpose(f_lin, x)  # u -> J^T u
(vjp_of_one,) = f_transposed(jnp.ones_like(y))
print("transpose(linearize(f))(1) == jax.grad(f) == x.grad:", np.asarray(vjp_of_one))

# %% jupyter={"source_hidden": true}
# Proof: the transposed linear map gives torch's x.grad, and linearize torch's value
check(vjp_of_one, x_t.grad.numpy(), rtol=1e-6)
check(float(y), y_t.item(), rtol=1e-6)

# %%
fresh = f_torch(x_t)  # a new graph: backward() freed the first one's saved tensors
sin_node = next(  # torch's SinBackward0 saved its input x, and computes cos(x) when called
    fn for fn, _ in fresh.grad_fn.next_functions[0][0].next_functions if "Sin" in type(fn).__name__
)
y_vjp, f_vjp = jax.vjp(f, x)  # JAX ran the forward pass and kept cos(x) as a residual
residuals = jax.tree.leaves(f_vjp)
print("residuals:", [np.round(np.asarray(r), 4) for r in residuals])

# %% jupyter={"source_hidden": true}
# Proof: torch saved x, JAX kept cos(x), and the closure can be called twice
assert torch.equal(sin_node._saved_self, x_t)
assert any(np.allclose(r, jnp.cos(x)) for r in residuals)
np.testing.assert_array_equal(f_vjp(1.0)[0], f_vjp(1.0)[0])  # called twice: nothing was freed

# %% [markdown]
# ## Forward mode against reverse mode
#
# *Lecture-note topic: the chain rule and autograd (`backward(v)` as a vector-Jacobian product).*
#
# `backward(v)` gives $v^\top J$, one row combination per pass. Forward mode gives $J v$, one column
# combination per pass: `jax.jvp` in JAX, `torch.func.jvp` in PyTorch. A full Jacobian of
# $g: \mathbb{R}^n \to \mathbb{R}^m$ costs $n$ forward passes (`jacfwd`) or $m$ backward passes
# (`jacrev`): forward mode wins for few inputs and many outputs, reverse mode for a loss (one output,
# millions of parameters).


# %%
def g(x):
    return jnp.stack([x[0] * x[1], jnp.sin(x[2]), x.sum() ** 2, jnp.exp(x[0])])


def g_torch(x):
    return torch.stack([x[0] * x[1], torch.sin(x[2]), x.sum() ** 2, torch.exp(x[0])])


x3 = jnp.array([0.3, -1.2, 0.7])
v3 = jnp.array([1.0, 0.0, 2.0])
x3_t, v3_t = torch.tensor(np.asarray(x3)), torch.tensor(np.asarray(v3))

_, jv = jax.jvp(g, (x3,), (v3,))
_, jv_torch = torch.func.jvp(g_torch, (x3_t,), (v3_t,))
jac_fwd, jac_rev = jax.jacfwd(g)(x3), jax.jacrev(g)(x3)
print("Jacobian", jac_fwd.shape, "(4 outputs, 3 inputs): jacfwd == jacrev == torch")

# %% jupyter={"source_hidden": true}
# Proof: jax.jvp is torch.func.jvp and J v; jacfwd and jacrev are torch's Jacobian
jac_torch = torch.autograd.functional.jacobian(g_torch, x3_t)
check(jv, jv_torch.numpy(), rtol=1e-6)
check(jac_fwd, jac_torch.numpy(), rtol=1e-6)
check(jac_rev, jac_torch.numpy(), rtol=1e-6)
check(jv, jac_fwd @ v3, rtol=1e-6)  # a JVP is J v

# %% [markdown]
# ## `has_aux`: a loss and whatever else you want back
#
# *Lecture-note topic: a single layer and autograd.*
#
# In PyTorch, the logits you computed on the way to the loss are still in a variable after
# `backward()`. A pure function returns one thing to differentiate, so JAX's `has_aux=True` lets it
# return `(loss, aux)`: the gradient is of `loss`, and `aux` comes back untouched.

# %%
w_t = torch.randn(5, 3, requires_grad=True)
xb_t, yb_t = torch.randn(4, 5), torch.tensor([0, 2, 1, 2])
logits_t = xb_t @ w_t
loss_t = torch.nn.functional.cross_entropy(logits_t, yb_t)
loss_t.backward()


def loss_with_logits(w, xb, yb):
    logits = xb @ w
    return fg.losses.cross_entropy(logits, yb), logits


w, xb, yb = jnp.asarray(w_t.detach().numpy()), jnp.asarray(xb_t.numpy()), jnp.asarray(yb_t.numpy())
(loss, logits), dw = jax.value_and_grad(loss_with_logits, has_aux=True)(w, xb, yb)
print(f"loss {float(loss):.4f}; logits {logits.shape} came back as aux; dw agrees with w.grad")

# %% jupyter={"source_hidden": true}
# Proof: the loss, the aux logits and the gradient are torch's
check(float(loss), loss_t.item(), rtol=1e-6)
check(logits, logits_t.detach().numpy(), rtol=1e-5, atol=1e-6)
check(dw, w_t.grad.numpy(), rtol=1e-5, atol=1e-6)

# %% [markdown]
# ## Your own derivative: `jax.custom_vjp` against `torch.autograd.Function`
#
# *Lecture-note topic: the chain rule and autograd.*
#
# Both frameworks let you replace the derivative of a function with your own rule. The classic use:
# a function whose forward pass is the identity but whose backward pass clips the incoming gradient
# to $[-1, 1]$. In PyTorch it is a `torch.autograd.Function` with `forward` and `backward`
# (`ctx` carries what `backward` needs); in JAX a `custom_vjp` with a forward rule that returns
# "residuals" and a backward rule that maps them and the cotangent to input cotangents.


# %%
class ClipGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g.clamp(-1.0, 1.0)


@jax.custom_vjp
def clip_gradient(x):
    return x


def clip_fwd(x):
    return x, None  # the output, and the residuals the backward rule needs (none)


def clip_bwd(_residuals, g):
    return (jnp.clip(g, -1.0, 1.0),)  # one cotangent per input


clip_gradient.defvjp(clip_fwd, clip_bwd)

a_t = torch.tensor([0.1, 2.0, -3.0], requires_grad=True)
(ClipGradient.apply(a_t) ** 2).sum().backward()  # plain gradient 2a = [0.2, 4, -6]
a = jnp.array([0.1, 2.0, -3.0])
clipped = jax.grad(lambda a: (clip_gradient(a) ** 2).sum())(a)
print("clipped gradient:", np.asarray(clipped), "(the plain one is", np.asarray(2 * a), ")")

# %% jupyter={"source_hidden": true}
# Proof: the custom rule gives torch's autograd.Function gradient, and differs from the plain one
check(clipped, a_t.grad.numpy(), rtol=1e-6)
assert not np.allclose(clipped, jax.grad(lambda a: (a**2).sum())(a))  # the rule changed it

# %% [markdown]
# ## `jit` traces your Python once per shape
#
# *Lecture-note topic: beyond the notes (compilation: the notes run PyTorch eagerly).*
#
# `jax.jit(f)` does not run `f` on numbers. It runs it once on *tracers*, abstract values that
# know only a shape and a dtype, records the jaxpr, compiles it with XLA, and from then on runs the
# compiled program. Four things follow; each is asserted below.
#
# 1. **Python side effects run at trace time only.** A `print` inside shows a tracer, once per
#    trace; later calls with the same shapes and dtypes print nothing. `jax.debug.print` is part of the program and prints on every call.
# 2. **A new shape (or dtype) means a new trace and a new compilation.** Pad batches to a few fixed
#    sizes, or the first batch of every new size pays the compile time again.
# 3. **A Python `if` on a traced value fails**: the tracer has no value to be `True` or `False`.
#    Use `jnp.where` or `jax.lax.cond`, or make the argument static.
# 4. **Static arguments** (`static_argnames`) are ordinary Python values baked into the trace: good
#    for a layer count or a flag, and each new value compiles again.
#
# PyTorch's eager mode has none of these, because it runs your Python every time (at the price of
# doing so); `torch.compile` meets the same questions and answers them with guards and graph breaks.

# %%
traces = []


@jax.jit
def scaled(x):
    traces.append(x.shape)  # a Python side effect: runs while tracing
    print("print sees:", type(x).__name__)
    jax.debug.print("jax.debug.print sees: {x}", x=x)
    return 2 * x


scaled(jnp.ones(2)).block_until_ready()  # wait, so the debug print lands in this cell, in order
scaled(jnp.zeros(2)).block_until_ready()  # same shape: the compiled program runs, `print` does not
assert traces == [(2,)]
scaled(jnp.ones(3)).block_until_ready()  # a new shape: traced and compiled again
assert traces == [(2,), (3,)]


# %%
def relu_python(x):
    if x > 0:  # fine on numbers, impossible on a tracer
        return x
    return 0.0 * x


try:
    jax.jit(relu_python)(1.5)
    raised = None
except jax.errors.TracerBoolConversionError as e:
    raised = e
print(type(raised).__name__ + ":", str(raised).splitlines()[0])

relu_where = jax.jit(lambda x: jnp.where(x > 0, x, 0.0 * x))
print("jnp.where under jit:", [float(relu_where(v)) for v in (1.5, -2.0)])

# %% jupyter={"source_hidden": true}
# Proof: jit refused the Python `if`, and jnp.where gives torch's eager answer on both branches
assert raised is not None
for value in (1.5, -2.0):  # torch's eager Python `if` is the reference
    t = torch.tensor(value)
    expected = t if t > 0 else 0.0 * t
    check(float(relu_where(value)), expected.item())

# %%
calls = []


def power(x, n):
    calls.append(n)
    out = x
    for _ in range(n - 1):  # a Python loop needs a concrete n: n is static
        out = out * x
    return out


power_jit = jax.jit(power, static_argnames="n")
assert float(power_jit(2.0, n=3)) == torch.tensor(2.0).pow(3).item()
assert float(power_jit(3.0, n=3)) == torch.tensor(3.0).pow(3).item()
assert float(power_jit(2.0, n=5)) == torch.tensor(2.0).pow(5).item()
assert calls == [3, 5]  # one trace per value of the static argument, not per call
print("traces for n:", calls)

# %% [markdown]
# ## Random numbers: keys are split, never reused
#
# *Lecture-note topic: beyond the notes (random numbers: the notes seed nothing).*
#
# `torch.manual_seed(0)` sets a hidden global generator; each `torch.rand` advances it, so two calls
# differ and the order of calls decides every number. A JAX key is a value: the same key always
# gives the same numbers, which is reproducible but is also the bug when a key is reused by mistake
# (two dropout masks, two layers' weights, all identical). Split a key into fresh ones and use each
# once.

# %%
torch.manual_seed(0)
t1, t2 = torch.rand(3), torch.rand(3)  # the global state advanced: two different draws

key = jax.random.key(0)
u1, u2 = jax.random.uniform(key, (3,)), jax.random.uniform(key, (3,))  # a reused key repeats
key, k1, k2 = jax.random.split(key, 3)
v1, v2 = jax.random.uniform(k1, (3,)), jax.random.uniform(k2, (3,))  # split keys: new numbers
print("same key, same numbers:", np.asarray(u1))
print("split keys, different numbers:", not bool(jnp.array_equal(v1, v2)))

# %% jupyter={"source_hidden": true}
# Proof: a reseed repeats torch's draws and the state advanced between them; a reused key repeats
# itself (the pitfall), split keys do not
torch.manual_seed(0)
assert torch.equal(torch.rand(3), t1) and not torch.equal(t1, t2)
assert jnp.array_equal(u1, u2)
assert not jnp.array_equal(v1, v2)

# %% [markdown]
# ## The `torch.func` bridge: per-sample gradients in both frameworks
#
# *Lecture-note topic: gradient descent and backpropagation (the loss of one sample against the
# average).*
#
# PyTorch has a functional side too. `torch.func.functional_call(model, params, (x,))` runs a module
# with parameters you pass in, which makes the loss a function of them; `torch.func.grad`
# differentiates it; `torch.func.vmap` maps it over examples. That is exactly
# `jax.vmap(jax.grad(loss))`. Below, one small network in both, with the same weights, and the
# per-sample gradients compared row by row.

# %%
torch_net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
net = fg.nn.Sequential(fg.nn.Linear(3, 4), fg.nn.Tanh(), fg.nn.Linear(4, 1))
params = fg.interop.from_torch(torch_net, like=net)

xs_t, ys_t = torch.randn(6, 3), torch.randn(6)
torch_params = {k: v.detach() for k, v in torch_net.named_parameters()}


def torch_sample_loss(p, x, y):
    pred = torch.func.functional_call(torch_net, p, (x[None],))[0, 0]
    return (pred - y) ** 2


torch_rows = torch.func.vmap(torch.func.grad(torch_sample_loss), in_dims=(None, 0, 0))(
    torch_params, xs_t, ys_t
)


def sample_loss(p, x, y):
    return (net.apply(p, x)[0] - y) ** 2


xs, ys = jnp.asarray(xs_t.numpy()), jnp.asarray(ys_t.numpy())
jax_rows = fg.flatten_dict(jax.vmap(jax.grad(sample_loss), in_axes=(None, 0, 0))(params, xs, ys))
print({k: tuple(v.shape) for k, v in jax_rows.items()}, "per-sample rows agree")

# %% jupyter={"source_hidden": true}
# Proof: the same names, and every sample's gradient row equals torch.func's
assert sorted(jax_rows) == sorted(torch_rows)  # same names: "0.weight", "0.bias", ...
for i in range(len(xs)):  # row by row: each sample's own gradient
    chex.assert_trees_all_close(
        {k: v[i] for k, v in jax_rows.items()},
        {k: jnp.asarray(v[i].numpy()) for k, v in torch_rows.items()},
        rtol=1e-5,
        atol=1e-6,
    )

# %% [markdown]
# > **Pitfalls**
# >
# > - JAX has no `grad_fn` graph on its arrays: the backward pass is a program,
# >   `jax.make_jaxpr(jax.grad(f))`. `jax.vjp` does keep residuals, in the closure it returns, and
# >   that closure can be called again: no `retain_graph` needed.
# > - Inside `jit`, `print` runs only while tracing (once per new shape, dtype or static value); use
# >   `jax.debug.print` to print on every call.
# > - A Python `if`/`while` on a traced value raises `TracerBoolConversionError`: use `jnp.where`,
# >   `lax.cond`, `lax.while_loop`, or a static argument.
# > - Every new input shape, dtype or static value recompiles: keep shapes fixed in a training loop.
# > - A reused PRNG key repeats its numbers; split, and use each key once.
# > - A `custom_vjp` backward rule returns a tuple, one cotangent per input, even for one input.

# %% [markdown]
# ## Exercises
#
# Each exercise is a function that raises `NotImplementedError` until you write it. The check cell
# after it prints "not attempted" until then, "correct" once your answer agrees with PyTorch, and
# fails with an `AssertionError` when it does not. The reference answers are in
# `notebooks/solutions/07.py`; try before you look.
#
# **Exercise 1.** A Hessian-vector product, forward mode over reverse mode: `jax.jvp` of
# `jax.grad(f)`. Write `hvp(f, x, v)`.


# %%
def hvp(f, x, v):
    raise NotImplementedError("exercise 1: your code here")


# %%
# Check exercise 1 against torch.autograd.functional.hvp
def check_exercise_1(hvp):
    _, torch_hvp = torch.autograd.functional.hvp(
        f_torch, x_t.detach(), torch.tensor([1.0, -1.0, 0.5])
    )
    check(hvp(f, x, jnp.array([1.0, -1.0, 0.5])), torch_hvp.numpy(), rtol=1e-5, atol=1e-6)


exercise(1, check_exercise_1, hvp)

# %% [markdown]
# **Exercise 2.** Softplus, $\log(1 + e^x)$, written naively as `jnp.log1p(jnp.exp(x))`, has a
# broken gradient at $x = 100$: `exp` overflows float32 to `inf`, and the chain rule multiplies
# $\frac{1}{1 + e^x}$ (now `0`) by $e^x$ (`inf`): `0 * inf` is `nan` (the cell below shows it). Keep that naive forward
# pass, and give it a `jax.custom_vjp` whose backward rule uses $\sigma(x)$, the derivative, so that
# the gradient at 100 is `1.0`, as torch's `softplus` gives. (The forward value at 100 still
# overflows to `inf`; `jnp.logaddexp(0, x)` would fix that too, but then plain `jax.grad` would
# already give `1.0`, and the custom rule would show nothing.)

# %%
naive_log1pexp = lambda x: jnp.log1p(jnp.exp(x))  # noqa: E731
print(
    "naive f(100) =",
    naive_log1pexp(100.0),
    "| jax.grad(naive)(100) =",
    jax.grad(naive_log1pexp)(100.0),
)

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
assert jnp.isnan(jax.grad(naive_log1pexp)(100.0))


# %%
def make_safe_log1pexp():
    raise NotImplementedError("exercise 2: your code here")


# %%
# Check exercise 2 against torch.nn.functional.softplus
def check_exercise_2(make_safe_log1pexp):
    safe_log1pexp = make_safe_log1pexp()
    points = torch.tensor([-3.0, 0.0, 2.0, 100.0], requires_grad=True)
    torch.nn.functional.softplus(points).sum().backward()
    points_j = jnp.asarray(points.detach().numpy())
    grads = jax.vmap(jax.grad(safe_log1pexp))(points_j)
    check(grads, points.grad.numpy(), rtol=1e-6)  # 1.0 at 100, not nan
    assert hasattr(safe_log1pexp, "defvjp"), "make it a jax.custom_vjp"
    np.testing.assert_array_equal(
        safe_log1pexp(points_j), naive_log1pexp(points_j)
    )  # naive forward
    check(safe_log1pexp(points_j)[:3], F.softplus(points[:3]).detach().numpy(), rtol=1e-6)


exercise(2, check_exercise_2, make_safe_log1pexp)

# %% [markdown]
# **Exercise 3.** Write `dropout_masks(key, n, shape)`: `n` dropout keep-masks (keep probability
# 0.5) that are all different, drawn from one key without reusing it.


# %%
def dropout_masks(key, n, shape):
    raise NotImplementedError("exercise 3: your code here")


# %%
# Check exercise 3: distinct masks, reproducible from the key, and about half kept like torch's
def check_exercise_3(dropout_masks):
    masks = dropout_masks(jax.random.key(3), 4, (1000,))
    assert masks.shape == (4, 1000) and masks.dtype == jnp.bool_
    assert len({np.asarray(m).tobytes() for m in masks}) == 4, (
        "two masks are identical: a reused key"
    )
    assert jnp.array_equal(masks, dropout_masks(jax.random.key(3), 4, (1000,)))
    torch_kept = (torch.nn.functional.dropout(torch.ones(4, 1000), 0.5) != 0).float().mean().item()
    assert abs(float(masks.mean()) - torch_kept) < 0.05


exercise(3, check_exercise_3, dropout_masks)
