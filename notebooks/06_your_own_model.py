# %% [markdown]
# # 06 · Your own model: buffers, randomness and train/eval
#
# The notes' models hold only weights. A real model also holds *state that is not trained*: batch
# norm's running statistics, which PyTorch calls buffers, and it behaves differently in training
# and in evaluation (batch statistics against running ones, dropout on or off), with randomness
# from a hidden global generator. Here a learner's small LeNet, with batch norm, max-pooling and
# dropout, is written in PyTorch, rebuilt in funcgrad by hand and converted by `fg.interop.convert`.
# In funcgrad each of those hidden things becomes an explicit argument or return value: `buffers=`
# in and new buffers out, `train=`, and `key=`.
#
# **From the lecture notes:** building a network in PyTorch (modules, layers) and gradient descent
# and backpropagation (training). Buffers, train/eval modes and random keys go beyond the notes.
#
# **Docs this lesson relies on:**
# [pseudorandom numbers in JAX](https://docs.jax.dev/en/latest/random-numbers.html),
# [pytrees](https://docs.jax.dev/en/latest/pytrees.html),
# [JAX Autodiff Cookbook](https://docs.jax.dev/en/latest/notebooks/autodiff_cookbook.html);
# PyTorch's [`BatchNorm2d`](https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html),
# [`Module.train`/`eval`](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.train),
# [reproducibility notes](https://pytorch.org/docs/stable/notes/randomness.html) and
# [autograd notes](https://pytorch.org/docs/stable/notes/autograd.html).

# %%
import copy
import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import torch
import torch.nn.functional as F
from exercises import check, exercise
from torch import nn

import funcgrad as fg

_ = torch.manual_seed(0)

# %% [markdown]
# ## A learner's LeNet in PyTorch
#
# *Lecture-note topic: building a network in PyTorch.*
#
# Sized for the 8x8 digits that ship with funcgrad: a 3x3 convolution, batch norm, ReLU, 2x2
# max-pooling, then two linear layers with dropout between them.


# %%
class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(6 * 4 * 4, 32)
        self.drop = nn.Dropout(0.25)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.drop(F.relu(self.fc1(x.flatten(1))))
        return self.fc2(x)


torch_net = LeNet()
print([name for name, _ in torch_net.named_buffers()])  # state that is not trained

# %% [markdown]
# ## The same model in funcgrad, and its buffers
#
# *Lecture-note topic: building a network in PyTorch; buffers are beyond the notes (the notes'
# models have none).*
#
# The same layers, by the same names, in an `fg.nn.Sequential` (a dict of named stages, like
# torch's `nn.Sequential(OrderedDict(...))`). `fg.models.LeNet5` is the full-size LeNet-5 built the
# same way, for 28x28 images. `from_torch(..., like=net)` splits torch's `state_dict` into params
# (trained) and buffers (not trained), checking every name and shape.

# %%
net = fg.nn.Sequential(
    {
        "conv1": fg.nn.Conv2d(1, 6, 3, padding=1),
        "bn1": fg.nn.BatchNorm2d(6),
        "relu1": fg.nn.ReLU(),
        "pool": fg.nn.MaxPool2d(2),
        "flatten": fg.nn.Flatten(),
        "fc1": fg.nn.Linear(6 * 4 * 4, 32),
        "relu2": fg.nn.ReLU(),
        "drop": fg.nn.Dropout(0.25),
        "fc2": fg.nn.Linear(32, 10),
    }
)
params, buffers = fg.interop.from_torch(torch_net, like=net)
print(jax.tree.map(jnp.shape, buffers))

images_t = torch.randn(16, 1, 8, 8)
images = jnp.asarray(images_t.numpy())
torch_net.eval()
logits, same_buffers = net.apply(params, images, buffers=buffers, train=False)
print("eval mode: funcgrad == torch")

# %% jupyter={"source_hidden": true}
# Proof: eval-mode logits are torch's, evaluation changes no buffer, LeNet5 has the same buffers
check(logits, torch_net(images_t).detach().numpy(), rtol=1e-4, atol=1e-5)
chex.assert_trees_all_equal(same_buffers, buffers)  # evaluation changes no buffer
assert sorted(fg.models.LeNet5().init_buffers()) == ["bn1", "bn2"]  # the full-size one

# %% [markdown]
# ## Or let funcgrad write it: `fg.interop.convert`
#
# *Lecture-note topic: beyond the notes (a converter, and a model with buffers and modes), on the
# notes' building a network in PyTorch.*
#
# Rewriting a model by hand is how you learn the correspondence; for your own model you can let
# funcgrad do it. `fg.interop.convert(torch_model, example_input)` traces the torch module (in train
# and in eval mode), and writes funcgrad source for it: each torch layer becomes the funcgrad layer
# of the same name at the same attribute path, and the glue in `forward` (the `F.relu`, the
# `flatten`) becomes `funcgrad.nn.functional` and `jax.numpy`, line for line. It returns the
# module built from that source, with torch's weights split into params and buffers. Here is the
# generated class; the file starts with its imports, among them the base class `Converted` and the
# child caller `Children` from `funcgrad.interop.runtime`; `print(conv.source)` shows it in full.

# %%
conv = fg.interop.convert(torch_net, images_t)
generated = conv.source
print(generated[generated.index("@dataclasses.dataclass") :])  # the LeNet class and `model`
converted_logits, _ = conv.model.apply(conv.params, images, buffers=conv.buffers, train=False)
print("converted model, eval mode: funcgrad == torch")

# %% jupyter={"source_hidden": true}
# Proof: no torch in the generated file, the same weights as from_torch, torch's eval logits
assert "import torch" not in generated  # the generated file runs without torch
chex.assert_trees_all_equal(conv.params, params)  # the same weights as from_torch(..., like=net)
chex.assert_trees_all_equal(conv.buffers, buffers)
check(converted_logits, torch_net(images_t).detach().numpy(), rtol=1e-4, atol=1e-5)

# %% [markdown]
# In training mode dropout draws different masks in the two frameworks, so the outputs can only be
# compared without it. A funcgrad module is a frozen dataclass, a value: `dataclasses.replace` gives
# a copy with `Dropout(0.0)`; on the torch side a copy of the model gets `p = 0`. Then a training
# step agrees on the outputs (batch statistics) and on the new running statistics.

# %%
torch_no_drop = copy.deepcopy(torch_net).train()
torch_no_drop.drop.p = 0.0
converted_no_drop = dataclasses.replace(conv.model, drop=fg.nn.Dropout(0.0))
train_logits, train_buffers = converted_no_drop.apply(
    conv.params, images, buffers=conv.buffers, train=True, key=jax.random.key(0)
)
print("converted model, train mode (dropout p=0): outputs and running statistics == torch")

# %% jupyter={"source_hidden": true}
# Proof: a training step's outputs and new running statistics are torch's
check(train_logits, torch_no_drop(images_t).detach().numpy(), rtol=1e-4, atol=1e-5)
for name in ("running_mean", "running_var"):
    check(
        train_buffers["bn1"][name], getattr(torch_no_drop.bn1, name).numpy(), rtol=1e-5, atol=1e-6
    )

# %% [markdown]
# ## `model.train()` / `model.eval()` against `train=`; running statistics as new buffers
#
# *Lecture-note topic: beyond the notes (train/eval modes and buffers: the notes' models have
# neither), on the notes' building a network in PyTorch.*
#
# `torch_net.train()` flips a flag stored in the module and all its submodules; every later call
# reads it. In funcgrad the mode is an argument of the call, `train=True`. In training, batch norm
# normalises with the batch's statistics and updates its running ones: PyTorch writes them into
# the module's tensors in place, funcgrad *returns* new buffers and leaves the old ones as they
# were. Dropout draws a random mask, so we compare the outputs just before it (a forward hook in
# torch, the first seven stages in funcgrad) and the running statistics.

# %%
captured = {}
hook = torch_net.drop.register_forward_hook(lambda m, inputs, out: captured.update(x=inputs[0]))
torch_net.train()
torch_net(images_t)
hook.remove()

body = fg.nn.Sequential(
    {name: layer for name, layer in net.named_layers() if name not in ("drop", "fc2")}
)
body_params = {k: v for k, v in params.items() if k in ("conv1", "bn1", "fc1")}
before_dropout, new_buffers = body.apply(body_params, images, buffers=buffers, train=True)
print("train mode: batch statistics, new running statistics and activations agree with torch")

# %% jupyter={"source_hidden": true}
# Proof: activations before dropout, new running statistics and the count are torch's;
# the old buffers are untouched
check(before_dropout, captured["x"].detach().numpy(), rtol=1e-4, atol=1e-5)
for name in ("running_mean", "running_var"):
    check(new_buffers["bn1"][name], getattr(torch_net.bn1, name).numpy(), rtol=1e-5, atol=1e-6)
assert (
    int(new_buffers["bn1"]["num_batches_tracked"]) == torch_net.bn1.num_batches_tracked.item() == 1
)
assert float(jnp.abs(buffers["bn1"]["running_mean"]).max()) == 0.0  # the old buffers are untouched

# %% [markdown]
# ## `torch.manual_seed` against keys
#
# *Lecture-note topic: beyond the notes (randomness: the notes seed nothing and use no dropout).*
#
# Torch's dropout draws from the global generator: two calls give two masks, and only re-seeding
# repeats them. A funcgrad call takes a `key`: the same key gives the same mask, a new key (split,
# never reused) a new one. `fit` folds a fresh key per step from the run's key, so a run is
# reproducible from its seed alone. Both frameworks zero a fraction `p` and scale the rest by
# `1/(1-p)`.

# %%
torch.manual_seed(1)
t1, t2 = torch_net(images_t), torch_net(images_t)  # still in train mode

key, k_a, k_b = jax.random.split(jax.random.key(1), 3)  # split first: a used key is not split again
f1, _ = net.apply(params, images, buffers=buffers, train=True, key=key)
f2, _ = net.apply(params, images, buffers=buffers, train=True, key=key)
f3, _ = net.apply(params, images, buffers=buffers, train=True, key=k_a)

drop = fg.nn.Dropout(0.25)
kept_fg = drop.apply({}, jnp.ones(4000), train=True, key=k_b)
kept_torch = F.dropout(torch.ones(4000), 0.25, training=True)
print("same key, same output:", bool(jnp.array_equal(f1, f2)))
print("another key, another output:", not bool(jnp.array_equal(f1, f3)))
print("dropout values:", sorted(set(np.unique(np.asarray(kept_fg)).round(4).tolist())))

# %% jupyter={"source_hidden": true}
# Proof: a reseed repeats torch's masks, a reused key repeats ours, and both dropouts keep and
# scale the same way
torch.manual_seed(1)
assert torch.equal(torch_net(images_t), t1) and not torch.equal(t1, t2)
assert jnp.array_equal(f1, f2) and not jnp.array_equal(f1, f3)
assert set(np.unique(np.asarray(kept_fg)).round(4)) == set(np.unique(kept_torch.numpy()).round(4))
assert abs(float((kept_fg == 0).mean()) - (kept_torch == 0).float().mean().item()) < 0.03

# %% [markdown]
# ## Batch norm and "one example, then `vmap`": name the batch axis
#
# *Lecture-note topic: beyond the notes (batch norm), on the notes' per-sample against average
# loss (gradient descent and backpropagation).*
#
# funcgrad's one-example models (`MyNet`, `ConvNet`) are batched with `jax.vmap`.
# That works because each example's output depends on that example alone. Batch norm in training mixes the
# examples: each is normalised with statistics of the whole batch. Under `vmap`, every example is a
# batch of its own, so the statistics, and the outputs, change. In evaluation the running statistics
# are constants and the examples independent again. A model with batch norm is written for a batch,
# as `fg.models.LeNet5` is; or, as in Flax and Equinox, its batch norm is told which `vmap` axis is
# the batch: `fg.nn.BatchNorm2d(6, axis_name="batch")` under `jax.vmap(f, axis_name="batch")` sums
# its statistics over the mapped examples (`lax.psum`) and gives torch's batch result again.


# %%
def one_example(x, train):
    y, _ = body.apply(body_params, x[None], buffers=buffers, train=train)  # a batch of one
    return y[0]


per_example_train = jax.vmap(lambda x: one_example(x, True))(images)  # each its own batch
per_example_eval = jax.vmap(lambda x: one_example(x, False))(images)
batch_eval, _ = body.apply(body_params, images, buffers=buffers, train=False)
print("train mode: one example at a time differs from the batch; eval mode: they agree")

# Naming the batch axis: the same layer, one example per call, and the batch's statistics again.
layers = dict(net.named_layers())
features = layers["conv1"].apply(params["conv1"], images)  # (16, 6, H, W), what bn1 sees
named_bn = dataclasses.replace(layers["bn1"], axis_name="batch")
one_bn = lambda h: named_bn.apply(params["bn1"], h, buffers=buffers["bn1"], train=True)  # noqa: E731
vmapped, vmapped_buffers = jax.vmap(one_bn, out_axes=(0, None), axis_name="batch")(features)
whole, whole_buffers = layers["bn1"].apply(
    params["bn1"], features, buffers=buffers["bn1"], train=True
)
print('axis_name="batch": one example per call, batch statistics and running statistics as torch')

# %% jupyter={"source_hidden": true}
# Proof: per-example training differs from torch's batch result, evaluation does not;
# with axis_name the vmapped layer gives the batch's outputs and running statistics
assert not np.allclose(per_example_train, before_dropout, atol=1e-3)  # not torch's batch result
check(per_example_eval, batch_eval, rtol=1e-5, atol=1e-6)
check(vmapped, whole, rtol=1e-5, atol=1e-5)
check(vmapped_buffers["running_var"], whole_buffers["running_var"], rtol=1e-5, atol=1e-6)

# %% [markdown]
# Under the hood that is JAX's standard answer, a *collective* over the named axis: inside
# `jax.vmap(f, axis_name="batch")`, `jax.lax.pmean(v, "batch")` averages `v` over the mapped
# examples (the same call averages over devices under `shard_map`). Batch norm for one example,
# written with it in four lines, gives torch's batch result:


# %%
def batch_norm_one(h, eps=1e-5):
    """Training-mode batch norm of one example h (C, H, W); the batch is the vmap axis "batch"."""
    mean = jax.lax.pmean(h.mean(axis=(1, 2)), "batch")[:, None, None]  # over examples and H, W
    var = jax.lax.pmean(((h - mean) ** 2).mean(axis=(1, 2)), "batch")[:, None, None]
    return (h - mean) / jnp.sqrt(var + eps)


pmeaned = jax.vmap(batch_norm_one, axis_name="batch")(features)
print("lax.pmean under vmap == F.batch_norm on the batch")

# %% jupyter={"source_hidden": true}
# Proof: pmean under vmap gives torch's F.batch_norm on the whole batch
torch_normed = F.batch_norm(torch.from_numpy(np.array(features)), None, None, training=True)
check(pmeaned, torch_normed.numpy(), rtol=1e-4, atol=1e-5)

# %% [markdown]
# ## Training with `fit`, then checking against torch in both modes
#
# *Lecture-note topic: gradient descent and backpropagation.*
#
# `fit` threads the buffers through every step (`train=True`), evaluates with them
# (`train=False`), and gives each step its own dropout key. We train for three epochs on the digits,
# load the result into the torch model (`to_torch` writes params and buffers as one `state_dict`),
# and compare: evaluation outputs on the test set, and a training-mode step's running statistics.

# %%
# outputs to rtol=0.01: three float32 epochs may end a test digit or two apart on another CPU
digits = fg.data.as_images(fg.data.load_digits(), min_size=8)  # (N, 1, 8, 8)
result = fg.train.fit(
    net, digits, optimizer=optax.adam(1e-2), epochs=3, batch_size=64, key=0, progress="none"
)
print(f"test accuracy after 3 epochs: {result.history[-1]['test_accuracy']:.3f}")
print("trained model: eval logits and train-mode running statistics agree with torch")

# %% jupyter={"source_hidden": true}
# Proof: fit's result, loaded into torch, gives the same eval logits and train-mode statistics
assert result.history[-1]["test_accuracy"] > 0.8
torch_net.load_state_dict(
    {
        k: torch.as_tensor(np.array(v))
        for k, v in fg.interop.to_torch(result.params, result.buffers).items()
    }
)
x_test = jnp.asarray(digits.x_test)
torch_net.eval()
trained_logits, _ = net.apply(result.params, x_test, buffers=result.buffers, train=False)
torch_logits = torch_net(torch.as_tensor(np.array(x_test))).detach().numpy()
check(trained_logits, torch_logits, rtol=1e-4, atol=1e-4)
assert (trained_logits.argmax(1) == torch_logits.argmax(1)).all()

torch_net.train()
torch_net(torch.as_tensor(np.array(x_test[:64])))
_, stepped = net.apply(
    result.params, x_test[:64], buffers=result.buffers, train=True, key=jax.random.key(2)
)
check(stepped["bn1"]["running_mean"], torch_net.bn1.running_mean.numpy(), rtol=1e-4, atol=1e-5)
check(stepped["bn1"]["running_var"], torch_net.bn1.running_var.numpy(), rtol=1e-4, atol=1e-5)

# %% [markdown]
# ### `fit` against a torch training loop
#
# The check above loads `fit`'s result into torch; this one trains both. Five steps of SGD (0.1)
# on 256 of the training images, with dropout off, from the same initial weights: `fit(key=7)`
# draws its init from the first half of `jax.random.split(key)`, and torch loads those weights.
# With `batch_size="full"` every step sees all 256, so the data order cannot differ (a mean, and batch norm's
# statistics, do not depend on it). The per-step losses, the weights and the running statistics
# agree with torch's loop. (Why SGD and not Adam: `conv1`'s bias feeds batch norm, which subtracts
# the batch mean, so its true gradient is zero. What each framework computes for it is rounding
# noise, and Adam, which divides by the gradient's own scale, turns that noise into full-size
# steps that differ between the two.)

# %%
# outputs to rtol=0.01: float32 sums over 256 images, ordered differently per CPU
few = dataclasses.replace(  # 256 training images are enough to compare five full-batch steps
    digits,
    x_train=digits.x_train[:256],
    y_train=digits.y_train[:256],
    x_test=digits.x_test[:64],
    y_test=digits.y_test[:64],
)
net_no_drop = fg.nn.Sequential(
    {name: fg.nn.Dropout(0.0) if name == "drop" else layer for name, layer in net.named_layers()}
)
start = net_no_drop.init(jax.random.split(jax.random.key(7))[0])  # fit's init for key=7
torch_fit = LeNet()
torch_fit.drop.p = 0.0
torch_fit.load_state_dict(
    {
        k: torch.as_tensor(np.array(v))
        for k, v in fg.interop.to_torch(start, net_no_drop.init_buffers()).items()
    }
)
torch_opt = torch.optim.SGD(torch_fit.parameters(), lr=0.1)
x_train, y_train = torch.as_tensor(few.x_train), torch.as_tensor(few.y_train).long()
torch_fit.train()
torch_step_losses = []
for _ in range(5):
    torch_opt.zero_grad()
    step_loss = F.cross_entropy(torch_fit(x_train), y_train)
    step_loss.backward()
    torch_opt.step()
    torch_step_losses.append(step_loss.item())

fit_step_losses = []
fitted = fg.train.fit(
    net_no_drop,
    few,
    optimizer=optax.sgd(0.1),
    epochs=5,
    batch_size="full",
    key=7,
    progress="none",
    on_step=lambda epoch, step, value: fit_step_losses.append(value),
)
print("torch:", np.round(torch_step_losses, 4))
print("fit:  ", np.round(fit_step_losses, 4))

# %% jupyter={"source_hidden": true}
# Proof: fit's per-step losses and final weights and statistics are the torch loop's
check(fit_step_losses, torch_step_losses, rtol=1e-4)
fitted_sd = fg.interop.to_torch(fitted.params, fitted.buffers)
for name, value in torch_fit.state_dict().items():
    check(np.array(fitted_sd[name]), value.numpy(), rtol=1e-3, atol=1e-4, err_msg=name)

# %% [markdown]
# > **Pitfalls**
# >
# > - Forgetting `model.eval()` in PyTorch evaluates with batch statistics and dropout; in funcgrad
# >   `train=False` is the default, and training must ask for `train=True`.
# > - A buffer update you don't keep is lost: `y, buffers = model.apply(...)` must reuse the
# >   returned `buffers` on the next step.
# > - A reused key repeats the same dropout mask every step; split or fold in the step number.
# > - Batch norm couples the examples of a batch: don't `vmap` a one-example function over it in
# >   training unless its `axis_name` names the `vmap` axis, and don't compare per-example
# >   gradients of such a model with a batch's.
# > - `num_batches_tracked` is a buffer too: a `state_dict` without it does not load with `like=`.
# > - Batch norm's `momentum` has opposite conventions: torch's `0.1` (and funcgrad's) is the weight
# >   of the *new* batch, `(1 - m) * running + m * batch`; Flax's `0.99` is the weight of the *old*
# >   running value. Porting a model means `m_flax = 1 - m_torch`.

# %% [markdown]
# ## Exercises
#
# Each exercise is a function that raises `NotImplementedError` until you write it. The check cell
# after it prints "not attempted" until then, "correct" once your answer agrees with PyTorch, and
# fails with an `AssertionError` when it does not. The reference answers are in
# `notebooks/solutions/06.py`; try before you look.
#
# **Exercise 1.** Write batch norm's running-mean update: after a training step on a batch `x` of
# shape `(N, C, H, W)`, the new running mean is `(1 - momentum) * old + momentum * mean`, the mean
# taken per channel over `N, H, W`.


# %%
def update_running_mean(old, x, momentum):
    raise NotImplementedError("exercise 1: your code here")


# %%
# Check exercise 1 against torch's BatchNorm2d in train mode
def check_exercise_1(update_running_mean):
    ex_bn = nn.BatchNorm2d(3, momentum=0.1)
    ex_bn.running_mean.fill_(0.5)
    ex_x = torch.randn(8, 3, 4, 4)
    ex_bn.train()(ex_x)
    got = update_running_mean(jnp.full(3, 0.5), jnp.asarray(ex_x.numpy()), 0.1)
    check(got, ex_bn.running_mean.numpy(), rtol=1e-5, atol=1e-6)


exercise(1, check_exercise_1, update_running_mean)

# %% [markdown]
# **Exercise 2.** Write `dropout_steps(key, x, n)`: apply `fg.nn.Dropout(0.5)` in training to `x`
# `n` times, one fresh key per step, without reusing `key`; return the `n` results stacked.


# %%
def dropout_steps(key, x, n):
    raise NotImplementedError("exercise 2: your code here")


# %%
# Check exercise 2: n different masks, reproducible from the key, scaled like torch's dropout
def check_exercise_2(dropout_steps):
    ex_out = dropout_steps(jax.random.key(5), jnp.ones(200), 3)
    assert ex_out.shape == (3, 200)
    assert len({np.asarray(row).tobytes() for row in ex_out}) == 3, "a mask repeats: a reused key"
    assert jnp.array_equal(ex_out, dropout_steps(jax.random.key(5), jnp.ones(200), 3))
    assert set(np.unique(np.asarray(ex_out)).tolist()) == set(
        np.unique(F.dropout(torch.ones(200), 0.5, training=True).numpy()).tolist()
    )


exercise(2, check_exercise_2, dropout_steps)
