"""Shuffled minibatch indices for one epoch, and each step's key, drawn from explicit keys."""

from __future__ import annotations

import jax

__all__ = ["epoch_batches", "step_key"]


def epoch_batches(key: jax.Array, num_examples: int, batch_size: int) -> jax.Array:
    """A ``(steps, batch_size)`` array of example indices: a fresh permutation, split into batches.

    The last ``num_examples % batch_size`` shuffled examples are left out of this epoch (like
    PyTorch's ``drop_last=True``), so every step sees a full batch and the epoch can be one
    ``lax.scan``; the next epoch's shuffle brings them back.

    Args:
        key: the random key of this epoch's permutation.
        num_examples: how many examples there are.
        batch_size: the examples per batch; the last incomplete batch is dropped.

    Returns:
        A ``(num_examples // batch_size, batch_size)`` integer array.

    Example:
        >>> import jax
        >>> idx = epoch_batches(jax.random.key(0), 10, 3)
        >>> idx.shape, len(set(idx.ravel().tolist()))
        ((3, 3), 9)
    """
    steps = num_examples // batch_size
    order = jax.random.permutation(key, num_examples)
    return order[: steps * batch_size].reshape(steps, batch_size)


def step_key(epoch_key: jax.Array, step: int | jax.Array) -> jax.Array:
    """The key of step ``step`` (0-based) of an epoch: ``epoch_key`` folded with the step.

    A pure function of the epoch's key and the step, so a loop that stops and resumes, or fuses
    the epoch into a scan, hands every step the same key as an unbroken loop.

    Example:
        >>> import jax
        >>> k = jax.random.key(0)
        >>> bool((step_key(k, 3) == jax.random.fold_in(k, 3)).all())
        True
    """
    return jax.random.fold_in(epoch_key, step)
