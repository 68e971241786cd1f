"""Reference answers for the exercises of notebook 06, and a wrong answer for each (the tests run both)."""

import jax
import jax.numpy as jnp

import funcgrad as fg


def update_running_mean(old, x, momentum):
    """Batch norm's running mean after one training step on x of shape (N, C, H, W)."""
    return (1 - momentum) * old + momentum * x.mean(axis=(0, 2, 3))


def dropout_steps(key, x, n):
    """Dropout(0.5) applied n times, one key per step split from ``key``."""
    drop = fg.nn.Dropout(0.5)
    keys = jax.random.split(key, n)
    return jnp.stack([drop.apply({}, x, train=True, key=k) for k in keys])


# Wrong answers: each must fail its check (tests/test_notebooks.py runs them).


def wrong_update_running_mean(old, x, momentum):
    """Flax's convention: momentum weighs the old value, not the new batch."""
    return momentum * old + (1 - momentum) * x.mean(axis=(0, 2, 3))


def wrong_dropout_steps(key, x, n):
    """Reuses one key: the same mask every step."""
    drop = fg.nn.Dropout(0.5)
    return jnp.stack([drop.apply({}, x, train=True, key=key) for _ in range(n)])
