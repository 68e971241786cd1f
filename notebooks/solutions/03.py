"""Reference answers for the exercises of notebook 03 (its check cells import them)."""

import jax
import jax.numpy as jnp


def bce_grads_by_hand(x, y, w, b):
    """Closed-form gradients of mean BCE-with-logits of z = x @ w + b: dz = (sigmoid(z) - y) / n."""
    z = x @ w + b
    dz = (jax.nn.sigmoid(z) - y) / z.size
    return jnp.outer(x, dz), dz


def predict(w, b, x):
    """Probabilities for evaluation: no gradient is asked for, so none is computed."""
    return jax.nn.sigmoid(x @ w + b)
