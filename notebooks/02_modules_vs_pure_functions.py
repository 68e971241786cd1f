# %% [markdown]
# # 02 · Modules against pure functions
#
# The lecture topic on building a network in PyTorch says that a model
#
# 1. is a Python class deriving from `nn.Module`,
# 2. builds its layers in `__init__`,
# 3. chains them in `forward`,
#
# and comes with a loss function (what "good" means) and an optimizer (how to change the weights).
#
# funcgrad keeps every idea and drops the object: a model is an `(init, apply)` pair of pure
# functions, the weights are an explicit dict, the loss is a function, and the optimizer is an optax
# transformation with explicit state. Each step below is asserted equal to PyTorch.

#
# **Docs this lesson relies on:** [pytrees](https://docs.jax.dev/en/latest/pytrees.html), [pseudorandom numbers](https://docs.jax.dev/en/latest/random-numbers.html), [optax](https://optax.readthedocs.io/en/latest/), [`torch.nn.Module`](https://pytorch.org/docs/stable/generated/torch.nn.Module.html), [PyTorch's autograd notes](https://pytorch.org/docs/stable/notes/autograd.html).
# %%
import importlib

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import scipy.stats
import torch
import torch.nn as nn
import torch.nn.functional as F
from exercises import check, exercise

import funcgrad as fg
from funcgrad.autodiff import freeze

figures = importlib.import_module("figures")  # the dataflow diagram
_ = torch.manual_seed(0)

# %% [markdown]
# ## `nn.Module` with `__init__` and `forward`: the two-convolution model
#
# *Lecture-note topic: building a network in PyTorch.*
#
# The notes' model: `Conv2d(1, 20, 5)`, ReLU, `Conv2d(20, 20, 5)`, ReLU.
#
# **A bug in the notes, fixed here.** In most of the notes' listings `def forward` starts at column
# 0, outside the `class` block. Python then defines a module-level function called `forward`, and
# the class keeps the `forward` it inherits from `nn.Module`, a placeholder that raises
# `NotImplementedError`, so calling the model fails. The correct version indents `forward` inside
# the class, as below. First, the bug itself, so you can recognise it:


# %%
class BuggyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 20, 5)


def forward(self, x):  # the notes' indentation: a plain function, not a method
    x = F.relu(self.conv1(x))
    return F.relu(self.conv2(x))


try:
    BuggyModel()(torch.ones(1, 1, 12, 12))
except NotImplementedError as err:
    print("NotImplementedError:", err)
else:
    raise AssertionError("the mis-indented forward should not be found")


# %% [markdown]
# The corrected model, with `forward` inside the class:


# %%
class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 20, 5)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        return F.relu(self.conv2(x))


model = Model()
images = torch.randn(4, 1, 12, 12)  # a batch of 4 one-channel 12x12 images
print(model(images).shape)

# %% [markdown]
# ## The functional model: an (init, apply) pair
#
# *Lecture-note topic: building a network in PyTorch.*
#
# Functionally, `__init__` becomes `init(key) -> params`: it *returns* the weights instead of storing
# them on `self`. `forward` becomes `apply(params, x) -> y`: the weights come in as an argument. Here
# is the pair written out with `fg.nn.functional`, so that nothing is hidden:

# %%
conv1, conv2 = fg.nn.Conv2d(1, 20, 5), fg.nn.Conv2d(20, 20, 5)


def init(key):
    k1, k2 = jax.random.split(key)
    return {"conv1": conv1.init(k1), "conv2": conv2.init(k2)}


def apply(params, x):
    x = fg.nn.functional.relu(conv1.apply(params["conv1"], x))
    return fg.nn.functional.relu(conv2.apply(params["conv2"], x))


params = init(jax.random.key(0))
print(jax.tree.map(jnp.shape, params))

# %% [markdown]
# "Same init" is checked, not assumed: `fg.nn.Conv2d(20, 20, 5)` draws its weight from torch's
# distribution, $U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})$ with
# $\text{fan\_in} = 20 \cdot 5 \cdot 5$, from the explicit key instead of torch's global
# generator. The numbers differ (two generators), the distribution does not: same bound, same
# spread, and a two-sample Kolmogorov-Smirnov test does not tell them apart (p > 0.01).

# %%
bound = 1 / np.sqrt(20 * 5 * 5)
ours, theirs = (
    np.asarray(params["conv2"]["weight"]).ravel(),
    model.conv2.weight.detach().numpy().ravel(),
)
ks = scipy.stats.ks_2samp(ours, theirs)
print(
    f"bound {bound:.4f}; std funcgrad {ours.std():.4f}, torch {theirs.std():.4f}; KS p = {ks.pvalue:.2f}"
)

# %% jupyter={"source_hidden": true}
# Proof: the two samples could come from one distribution (a two-sample KS test)
for sample in (ours, theirs):
    assert np.abs(sample).max() <= bound  # the same bound
    check(sample.std(), bound / np.sqrt(3), rtol=0.03)  # std of U(-b, b)
assert ks.pvalue > 0.01

# %% [markdown]
# **One rule for batches.** Layers take torch's batched shapes, as torch's do:
# `fg.nn.Conv2d` takes `(N, C, H, W)` (and `(C, H, W)`, like torch), and so do most models
# (`fg.models.LeNet5`, and the models `fg.interop.convert` writes, which take the shapes their
# torch module takes). funcgrad's versions of the
# notes' models (`SingleLayer`, `MyNet`, `ConvNet`) take **one** example: `MyNet` because the notes
# flatten with `x.view(-1)`, `SingleLayer` because the notes' `x` is one vector, and `ConvNet` by
# choice (the notes' torch `Model` above takes a batch). `jax.vmap` batches them (or
# `fg.nn.Batched(net)` does it for you). `fg.models.ConvNet()` is this model, for one `(1, H, W)`
# image. (Batch norm, whose output mixes the examples of a batch,
# also works under `vmap` when it is told the mapped axis's name: notebook 06.)

# %%
net = fg.models.ConvNet()
batched_apply = jax.vmap(net.apply, in_axes=(None, 0))  # params shared, x mapped over axis 0
print(batched_apply(net.init(jax.random.key(0)), jnp.ones((4, 1, 12, 12))).shape)
layer_batch = conv1.apply(params["conv1"], jnp.ones((4, 1, 12, 12)))  # a layer takes the batch
print(layer_batch.shape)

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
assert layer_batch.shape == (4, 20, 8, 8)

# %% [markdown]
# ## Weights copied from torch give the same outputs
#
# *Lecture-note topic: building a network in PyTorch.*
#
# `fg.interop.from_torch(model)` turns the `state_dict` into nested params: `"conv1.weight"` becomes
# `params["conv1"]["weight"]`, with the same values. Feed the same images to both and compare: the
# hand-written pair, `ConvNet`, and PyTorch's `Model` agree to float32 rounding (the two libraries
# sum the convolutions in different orders, so not bit for bit).

# %%
params = fg.interop.from_torch(model, like=net)
x = jnp.asarray(images.numpy())
expected = model(images).detach().numpy()
print(f"max |funcgrad - torch| = {float(jnp.abs(batched_apply(params, x) - expected).max()):.1e}")

# %% jupyter={"source_hidden": true}
# Proof: the batched model and vmap over the one-example model give torch's outputs
check(batched_apply(params, x), expected, rtol=1e-5, atol=1e-6)
check(jax.vmap(apply, (None, 0))(params, x), expected, rtol=1e-5, atol=1e-6)

# %% [markdown]
# ## A loss and an optimizer: `zero_grad`, `backward`, `step` against `grad`, `update`, `apply_updates`
#
# *Lecture-note topic: building a network in PyTorch.*
#
# We train both models for three steps towards a random target with an MSE loss and SGD with
# momentum, starting from the same weights. PyTorch's training step has three calls with side
# effects: `zero_grad()` clears the stored gradients, `backward()` fills them, and `step()` changes
# the weights in place (and the momentum buffers hidden inside the optimizer).

# %%
start = {k: v.clone() for k, v in model.state_dict().items()}  # keep the starting weights
target = torch.randn(4, 20, 4, 4)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

torch_losses = []
for _ in range(3):
    optimizer.zero_grad()
    loss = F.mse_loss(model(images), target)
    loss.backward()
    optimizer.step()
    torch_losses.append(loss.item())
print("torch losses:", np.round(torch_losses, 6))


# %% [markdown]
# The functional step has no side effects. `jax.grad` returns the gradients, `tx.update` turns them
# into updates and returns the new optimizer state (the momentum, now in plain sight), and
# `optax.apply_updates` returns new params. Nothing needs zeroing, because nothing was stored. The
# whole step is a pure function, so `jax.jit` compiles it. We use `fg.jit`: the same `jax.jit`,
# with XLA's fast CPU convolution kernels asked for in this one program's compiler options.


# %%
def loss_fn(params, x, y):
    return fg.losses.mse_loss(batched_apply(params, x), y)


tx = optax.sgd(learning_rate=0.1, momentum=0.9)


@fg.jit
def train_step(params, opt_state, x, y):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


params = fg.interop.from_torch(start, like=net)
opt_state = tx.init(params)
y = jnp.asarray(target.numpy())
jax_losses = []
for _ in range(3):
    params, opt_state, loss = train_step(params, opt_state, x, y)
    jax_losses.append(float(loss))
print("optax losses:", np.round(jax_losses, 6))

# %% jupyter={"source_hidden": true}
# Proof: optax's losses and trained weights are torch's
check(jax_losses, torch_losses, rtol=1e-4)
trained = fg.flatten_dict(fg.interop.from_torch(model))
for path, value in fg.flatten_dict(params).items():
    check(value, trained[path], rtol=1e-4, atol=1e-5, err_msg=path)

# %% [markdown]
# ### The two dataflows in one picture
#
# The same step, drawn. On the left, PyTorch's state lives in objects that outlive the step: each
# parameter tensor holds its weights (`.data`) and a `.grad` slot, and the optimizer holds
# references to those tensors plus its own momentum buffers. The four calls of a step read and
# *write* those objects (the red arrows are writes in place), which is why their order matters and
# why `zero_grad()` exists. On the right, every box is a value or a pure function: params and a
# batch go into `jax.grad`, the grads, the optimizer state and the params into `tx.update`, the
# updates and the params into `optax.apply_updates`, and new params and a new optimizer state come
# out. The old values are untouched, so there is nothing to zero and no order to get wrong.

# %%
fig = figures.dataflow_diagram()  # drawn in notebooks/figures.py
plt.show()

# %% [markdown]
# ## What `nn.Module` gives for free, and how each looks functionally
#
# *Lecture-note topic: building a network in PyTorch.*
#
# Deriving from `nn.Module` buys a few services. Each one has a plain functional counterpart.
#
# **A slip in the notes, corrected here.** They credit `nn.Module` with "managing the
# computational graph and the computation of the gradients". Autograd does that, for any tensor
# that requires grad, module or not: `(w * 3).sum().backward()` on a bare tensor fills `w.grad`.
# What `nn.Module` manages is the bookkeeping below.

# %%
bare = torch.tensor([1.0, -2.0], requires_grad=True)  # no nn.Module anywhere
(bare * 3).sum().backward()
print("autograd without a module:", bare.grad)

# %% jupyter={"source_hidden": true}
# Proof: a bare tensor, no module, and autograd's gradient
assert not isinstance(bare, nn.Module) and bare.grad.tolist() == [3.0, 3.0]

# %% [markdown]
# ### Parameter registration: `parameters()` against the params pytree
#
# Assigning a layer to `self.conv1` *registers* its tensors, so `model.parameters()` finds them for
# the optimizer and `state_dict()` names them. In funcgrad the params dict *is* the registry: it is a
# pytree, so `jax.tree.leaves` lists the arrays and `fg.flatten_dict` gives the `state_dict` names.

# %%
torch_names = [name for name, _ in model.named_parameters()]
fg_names = list(fg.flatten_dict(params))
print(torch_names)
n_torch = sum(p.numel() for p in model.parameters())
n_fg = sum(leaf.size for leaf in jax.tree.leaves(params))
print("parameters:", n_torch, n_fg)

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
assert sorted(fg_names) == sorted(torch_names)
assert n_torch == n_fg

# %% [markdown]
# A pitfall hides in the order. A Python dict keeps its keys in insertion order, but JAX *flattens*
# a dict in sorted key order. So `jax.tree.leaves(params)` gives each layer's `bias` before its
# `weight`, while `model.parameters()` gives `weight` before `bias`: zipping the two lists pairs the
# wrong tensors. Pair them by name (`fg.flatten_dict`), never by position.

# %%
leaf_shapes = [leaf.shape for leaf in jax.tree.leaves(params)]
torch_shapes = [tuple(p.shape) for p in model.parameters()]
print(leaf_shapes[:2], torch_shapes[:2])
by_name = fg.flatten_dict(params)

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
assert leaf_shapes != torch_shapes  # positions disagree: bias first in JAX, weight first in torch
assert all(by_name[n].shape == tuple(p.shape) for n, p in model.named_parameters())

# %% [markdown]
# ### Submodules: nested modules against nested dicts
#
# A module inside a module (`self.features = nn.Sequential(...)`) gives dotted names such as
# `features.0.weight`. Functionally, modules nest as values (`fg.nn.Sequential` is a combinator, not a
# base class) and their params nest as dicts, with the same names.


# %%
class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(0))
        self.head = nn.Linear(4 * 10 * 10, 3)

    def forward(self, x):
        return self.head(self.features(x))


classifier = Classifier()
fg_classifier = fg.nn.Sequential(
    {
        "features": fg.nn.Sequential(fg.nn.Conv2d(1, 4, 3), fg.nn.ReLU(), fg.nn.Flatten(0)),
        "head": fg.nn.Linear(4 * 10 * 10, 3),
    }
)
cls_params = fg.interop.from_torch(classifier, like=fg_classifier)
print(jax.tree.map(jnp.shape, cls_params))

image = torch.randn(1, 12, 12)

# %% jupyter={"source_hidden": true}
# Proof: the nested model computes the nested torch module's output
check(
    fg_classifier.apply(cls_params, jnp.asarray(image.numpy())),
    classifier(image).detach().numpy(),
    rtol=1e-5,
    atol=1e-6,
)

# %% [markdown]
# ### Devices: `model.to(device)` against `jax.device_put` and `jit`
#
# `model.to("cuda")` moves the registered tensors. Functionally, `jax.device_put(params, device)`
# moves the pytree, and `jax.jit` compiles `apply` for whatever backend its inputs live on (CPU here;
# the same code runs on GPU or TPU). The results do not change.

# %%
device = jax.devices()[0]
on_device = jax.device_put(params, device)
print(device.platform, {leaf.device for leaf in jax.tree.leaves(on_device)})

fast_apply = fg.jit(batched_apply)

# %% jupyter={"source_hidden": true}
# Proof: the compiled, moved model gives the same outputs, and torch's
check(fast_apply(on_device, x), batched_apply(params, x), rtol=1e-5, atol=1e-6)
check(fast_apply(on_device, x), model(images).detach().numpy(), rtol=1e-4, atol=1e-5)

# %% [markdown]
# ### Frozen parameters: `requires_grad_(False)` against its functional counterparts
#
# To fine-tune only the second convolution, PyTorch switches off `requires_grad` on `conv1`'s
# tensors. Autograd then does not compute their gradients at all, and the optimizer skips them.
# Functionally the params carry no flag. The closest counterpart is to differentiate only the
# trainable sub-pytree (or to put `stop_gradient` on the frozen leaves): the frozen gradients are
# never computed, as in torch. A masked optimizer (`optax.multi_transform` routing leaves to
# `optax.set_to_zero()`, or funcgrad's `freeze`) is the other common recipe: it asks for every
# gradient and throws part of it away. That costs more only when the step runs eagerly. Under
# `jax.jit` the discarded gradients are dead code, and XLA removes them: the compiled masked step
# holds as many convolutions as the step that differentiates only the trainable part (asserted
# below, by counting them in the compiled programs).

# %%
frozen_model = Model()
frozen_start = fg.interop.from_torch(frozen_model)
frozen_model.conv1.requires_grad_(False)
opt = torch.optim.SGD([p for p in frozen_model.parameters() if p.requires_grad], lr=0.1)
opt.zero_grad()
F.mse_loss(frozen_model(images), target).backward()
opt.step()

labels = jax.tree_util.tree_map_with_path(
    lambda path, _: "frozen" if path[0].key == "conv1" else "train", frozen_start
)
print(labels)
tx_frozen = optax.multi_transform({"train": optax.sgd(0.1), "frozen": optax.set_to_zero()}, labels)
grads = jax.grad(loss_fn)(frozen_start, x, y)
updates, _ = tx_frozen.update(grads, tx_frozen.init(frozen_start), frozen_start)
frozen_params = optax.apply_updates(frozen_start, updates)

after = fg.interop.from_torch(frozen_model)

# The closest counterpart: differentiate only the trainable part, with conv1 passed as a constant.
trainable = {k: v for k, v in frozen_start.items() if k != "conv1"}
grads_trainable = jax.grad(lambda t, frozen: loss_fn(frozen | t, x, y))(
    trainable, {"conv1": frozen_start["conv1"]}
)
partial_params = {"conv1": frozen_start["conv1"]} | jax.tree.map(
    lambda p, g: p - 0.1 * g, trainable, grads_trainable
)
# stop_gradient on the frozen leaves: conv1's gradient is exactly zero.
grads_stopped = jax.grad(lambda p: loss_fn(p | {"conv1": jax.lax.stop_gradient(p["conv1"])}, x, y))(
    frozen_start
)
print("conv1 unchanged, conv2 trained, in both frameworks")

# %% jupyter={"source_hidden": true}
# Proof: no conv1 gradient (or a zero one); all three ways give torch's requires_grad_(False) run
assert sorted(grads_trainable) == sorted(trainable)  # no gradient is computed for conv1
assert all(not np.any(g) for g in jax.tree.leaves(grads_stopped["conv1"]))
for path, value in fg.flatten_dict(partial_params).items():
    check(value, fg.flatten_dict(after)[path], rtol=1e-4, atol=1e-6)
for path, value in fg.flatten_dict(frozen_params).items():
    check(value, fg.flatten_dict(after)[path], rtol=1e-4, atol=1e-6)
assert all(
    np.array_equal(frozen_params["conv1"][k], frozen_start["conv1"][k]) for k in ("weight", "bias")
)

# funcgrad wraps the same recipe: freeze(tx, patterns) selects the frozen leaves by dotted path.
tx_freeze = freeze(optax.sgd(0.1), "conv1.*")
same_updates, _ = tx_freeze.update(grads, tx_freeze.init(frozen_start), frozen_start)
for path, value in fg.flatten_dict(same_updates).items():
    np.testing.assert_array_equal(value, fg.flatten_dict(updates)[path])

# %% [markdown]
# What each recipe costs once compiled: count the convolutions XLA keeps in each jitted step. Training
# everything needs five (two forward; conv2's weight and input gradients; conv1's weight gradient).
# The masked step drops conv1's gradient *and* the input gradient of conv2 that only it needed:
# three, exactly as many as differentiating the trainable part alone.


# %%
def convolutions(step, *args):
    """How many convolutions XLA keeps in the compiled ``step``."""
    return jax.jit(step).lower(*args).compile().as_text().count("convolution(")


def masked_step(p, state):
    updates, state = tx_freeze.update(jax.grad(loss_fn)(p, x, y), state, p)
    return optax.apply_updates(p, updates), state


def full_step(p, state):
    updates, state = optax.sgd(0.1).update(jax.grad(loss_fn)(p, x, y), state, p)
    return optax.apply_updates(p, updates), state


def trainable_step(t, frozen):
    g = jax.grad(lambda t: loss_fn(frozen | t, x, y))(t)
    return jax.tree.map(lambda p, g: p - 0.1 * g, t, g)


counts = {
    "train everything": convolutions(full_step, frozen_start, optax.sgd(0.1).init(frozen_start)),
    "masked optimizer (freeze)": convolutions(
        masked_step, frozen_start, tx_freeze.init(frozen_start)
    ),
    "trainable part only": convolutions(
        trainable_step, trainable, {"conv1": frozen_start["conv1"]}
    ),
}
print(counts)

# %% jupyter={"source_hidden": true}
# Proof: the claims of the cell above, asserted
assert counts["masked optimizer (freeze)"] == counts["trainable part only"] == 3
assert counts["train everything"] == 5

# %% [markdown]
# ## What changed and what stayed the same
#
# | PyTorch | funcgrad / JAX |
# |---|---|
# | `class Model(nn.Module)` with `__init__` | `init(key) -> params` (a nested dict) |
# | `forward(self, x)` | `apply(params, x) -> y` |
# | `model(x)` on a batch | `layer.apply(params, x)` on the same batched shapes; a one-example model (`MyNet`, `SingleLayer`, `ConvNet`): `jax.vmap(net.apply, in_axes=(None, 0))(params, x)` |
# | `model.parameters()`, `state_dict()` | `jax.tree.leaves(params)`, `fg.flatten_dict(params)` |
# | `load_state_dict(sd)` | `params = fg.interop.from_torch(sd)` |
# | submodules as attributes | nested modules as values, nested dicts as params |
# | `model.to(device)` | `jax.device_put(params, device)`; `jax.jit(apply)` |
# | `optimizer.zero_grad()` | nothing: gradients are not stored |
# | `loss.backward()` | `grads = jax.grad(loss_fn)(params, x, y)` |
# | `optimizer.step()` | `updates, state = tx.update(grads, state, params)`; `optax.apply_updates` |
# | `p.requires_grad_(False)` | differentiate only the trainable sub-pytree, or `stop_gradient` the frozen leaves; or mask the optimizer: `freeze(tx, "conv1.*")` |
#
# The architecture, the loss, the update rule and the numbers stay the same.

# %% [markdown]
# > **Pitfalls**
# >
# > - Never zip `jax.tree.leaves(params)` with `model.parameters()`: JAX flattens dicts in sorted
# >   key order (`bias` before `weight`), PyTorch in registration order. Pair them by name.
# > - `forward` must be indented inside the class, or the module keeps `nn.Module`'s placeholder
# >   `forward`, which raises `NotImplementedError` (the notes' bug).
# > - `requires_grad_(False)` stops gradients being computed; a masked optimizer (`freeze`)
# >   asks for them and discards them, which costs the work only without `jit` (under `jit` XLA
# >   removes the dead gradients).
# > - `optimizer.zero_grad()` has no functional counterpart because nothing accumulates: but forget
# >   it in PyTorch and the gradients of every step add up.

# %% [markdown]
# ## Exercises
#
# Each exercise is a function that raises `NotImplementedError` until you write it. The check cell
# after it prints "not attempted" until then, "correct" once your answer agrees with PyTorch, and
# fails with an `AssertionError` when it does not. The reference answers are in
# `notebooks/solutions/02.py`; try before you look.
#
# **Exercise 1.** Write `sgd_step(params, grads, lr)`: one plain SGD step on every leaf of a params
# pytree (hint: `jax.tree.map`).


# %%
def sgd_step(params, grads, lr):
    raise NotImplementedError("exercise 1: your code here")


# %%
# Check exercise 1 against torch.optim.SGD on the same layer and data
def check_exercise_1(sgd_step):
    ex_torch = nn.Linear(3, 2)
    ex_layer = fg.nn.Linear(3, 2)
    ex_params = fg.interop.from_torch(ex_torch, like=ex_layer)
    ex_x, ex_y = torch.randn(5, 3), torch.randn(5, 2)
    ex_opt = torch.optim.SGD(ex_torch.parameters(), lr=0.1)
    F.mse_loss(ex_torch(ex_x), ex_y).backward()
    ex_opt.step()
    ex_jx, ex_jy = jnp.asarray(ex_x.numpy()), jnp.asarray(ex_y.numpy())
    ex_grads = jax.grad(
        lambda p: fg.losses.mse_loss(jax.vmap(ex_layer.apply, (None, 0))(p, ex_jx), ex_jy)
    )(ex_params)
    ex_new = sgd_step(ex_params, ex_grads, 0.1)
    for name, value in ex_torch.named_parameters():
        check(fg.flatten_dict(ex_new)[name], value.detach().numpy(), rtol=1e-5, atol=1e-6)


exercise(1, check_exercise_1, sgd_step)

# %% [markdown]
# **Exercise 2.** Pair each named parameter of a torch module with the funcgrad array of the *same
# name*: return a list of `(name, torch_tensor, array)` in torch's order. (Zipping
# `jax.tree.leaves(params)` with `parameters()` pairs the wrong tensors.)


# %%
def pair_by_name(torch_module, params):
    raise NotImplementedError("exercise 2: your code here")


# %%
# Check exercise 2: every pair holds the same numbers
def check_exercise_2(pair_by_name):
    ex_seq = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    ex_seq_params = fg.interop.from_torch(ex_seq)
    pairs = pair_by_name(ex_seq, ex_seq_params)
    assert [name for name, _, _ in pairs] == [name for name, _ in ex_seq.named_parameters()]
    for name, tensor, array in pairs:
        np.testing.assert_array_equal(np.asarray(array), tensor.detach().numpy(), err_msg=name)


exercise(2, check_exercise_2, pair_by_name)

# %% [markdown]
# **Exercise 3.** Train only the head: return the gradients of `loss(params, x, y)` with respect to
# `params["2"]` alone, shaped like `params["2"]` (PyTorch: `requires_grad_(False)` on layer 0).


# %%
def head_only_grads(loss, params, x, y):
    raise NotImplementedError("exercise 3: your code here")


# %%
# Check exercise 3 against torch with the first layer frozen
def check_exercise_3(head_only_grads):
    ex_seq = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    ex_seq_params = fg.interop.from_torch(ex_seq)
    ex_seq[0].requires_grad_(False)
    ex_in, ex_out = torch.randn(6, 4), torch.randn(6, 2)
    F.mse_loss(ex_seq(ex_in), ex_out).backward()
    ex_model = fg.nn.Sequential(fg.nn.Linear(4, 3), fg.nn.ReLU(), fg.nn.Linear(3, 2))

    def ex_loss(p, x, y):
        return fg.losses.mse_loss(jax.vmap(ex_model.apply, (None, 0))(p, x), y)

    head = head_only_grads(
        ex_loss, ex_seq_params, jnp.asarray(ex_in.numpy()), jnp.asarray(ex_out.numpy())
    )
    assert ex_seq[0].weight.grad is None  # torch computed nothing for the frozen layer
    check(head["weight"], ex_seq[2].weight.grad.numpy(), rtol=1e-5, atol=1e-6)
    check(head["bias"], ex_seq[2].bias.grad.numpy(), rtol=1e-5, atol=1e-6)


exercise(3, check_exercise_3, head_only_grads)
