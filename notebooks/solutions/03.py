"""Reference answers for the exercises of notebook 03, and a wrong answer for each (the tests run both)."""

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


# Wrong answers: each must fail its check (tests/test_notebooks.py runs them).


def wrong_bce_grads_by_hand(x, y, w, b):
    """Forgets the mean's 1/n."""
    z = x @ w + b
    dz = jax.nn.sigmoid(z) - y
    return jnp.outer(x, dz), dz


def wrong_predict(w, b, x):
    """Returns the logits, not the probabilities."""
    return x @ w + b
