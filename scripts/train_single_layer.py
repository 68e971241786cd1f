"""The notes' single layer z = x @ w + b: its gradients, then the same layer trained on digits.

python scripts/train_single_layer.py --epochs 20
"""

import argparse

import jax
import jax.numpy as jnp

import funcgrad as fg
from funcgrad.train import fit

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--epochs", type=int, default=20, help="epochs on digits (default 20)")
parser.add_argument("--out", help="save outputs and checkpoints in this folder")
args = parser.parse_args()

# The notes' example: x = ones(5), y = zeros(3), w and b drawn from a standard normal.
layer = fg.models.SingleLayer(5, 3)
params = layer.init(jax.random.PRNGKey(0))
x, y = jnp.ones(5), jnp.zeros(3)


def loss(params):
    return fg.losses.binary_cross_entropy_with_logits(layer.apply(params, x), y)


# `loss.backward()` then `w.grad`, `b.grad` becomes one call that returns the gradients.
grads = jax.grad(loss)(params)
print(f"loss = {float(loss(params)):.4f}")
print(
    f"dloss/dw has shape {grads['w'].shape}; dloss/db = {[round(float(g), 4) for g in grads['b']]}"
)

# The same layer as a 10-class classifier of the 8x8 digits: 64 inputs, 10 logits.
result = fit("single-layer", "digits", epochs=args.epochs, out=args.out, progress="lines")
print(f"single layer on digits: test accuracy {result.final['test_accuracy']:.4f}")
