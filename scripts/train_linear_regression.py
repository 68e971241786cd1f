"""The notes' regression f = w * x towards Y = 2X, three ways: by hand, with jax.grad, with optax.

All three run full-batch gradient descent on the mean squared error with lr 0.01 from w = 0, and
end on the same w. The notes' "manual" gradient, np.dot(2x, wx - y).mean(), takes the mean of a
scalar, so it is really a sum: N times the gradient of the mean loss (w = 1.2 after one step,
instead of autograd's 0.3). Here the by-hand gradient divides by N, as the mean loss requires.

    python scripts/train_linear_regression.py --steps 20
"""

import argparse

import jax
import jax.numpy as jnp
import optax

import funcgrad as fg
from funcgrad.train import fit

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--steps", type=int, default=20, help="gradient steps (default 20)")
parser.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
args = parser.parse_args()

data = fg.data.synthetic_linear()
X, Y = jnp.asarray(data.x_train), jnp.asarray(data.y_train)  # [1, 2, 3, 4] and 2X
model = fg.models.LinearRegression()


def loss(w):
    return fg.losses.mse_loss(model.apply({"w": w}, X), Y)


# 1. By hand: d/dw mean((w x - y)^2) = mean(2 x (w x - y)).
w = jnp.array(0.0)
for step in range(args.steps):
    w = w - args.lr * jnp.mean(2 * X * (w * X - Y))
    if step == 0:
        notes_w = 0.0 - args.lr * jnp.sum(2 * X * (0.0 * X - Y))  # the notes' sum-as-mean
        print(f"after step 1: w = {float(w):.3f} (the notes' manual gradient: {notes_w:.3f})")
w_by_hand = w

# 2. jax.grad: the same derivative, computed from the loss function itself.
w = jnp.array(0.0)
for _ in range(args.steps):
    w = w - args.lr * jax.grad(loss)(w)
w_grad = w

# 3. optax: the update rule is an object; the loop only applies it.
optimizer = optax.sgd(args.lr)
w = jnp.array(0.0)
state = optimizer.init(w)
for _ in range(args.steps):
    updates, state = optimizer.update(jax.grad(loss)(w), state)
    w = optax.apply_updates(w, updates)
w_optax = w

# And the whole training loop as one call (optax SGD, full batch, one step per epoch).
result = fit(
    "linear",
    data,
    epochs=args.steps,
    lr=args.lr,
    optimizer="sgd",
    batch_size="full",
    progress="none",
)
w_fit = result.params["w"]

for name, value in [
    ("by hand", w_by_hand),
    ("jax.grad", w_grad),
    ("optax", w_optax),
    ("fit", w_fit),
]:
    print(f"{name:>8}: w = {float(value):.6f}  loss = {float(loss(value)):.6f}")
print(f"prediction f(5) = {float(model.apply({'w': w_fit}, 5.0)):.3f} (target 10)")
assert jnp.allclose(w_by_hand, w_grad) and jnp.allclose(w_grad, w_optax)
assert jnp.allclose(w_optax, w_fit)
