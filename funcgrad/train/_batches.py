"""Shuffled minibatch indices for one epoch, drawn from an explicit key."""

from __future__ import annotations

import jax

__all__ = ["epoch_batches", "resolve_batch_size"]


def resolve_batch_size(batch_size: int | str, num_examples: int) -> int:
    """An int, or ``"full"`` for full-batch descent; sizes above the data shrink to it.

    Example:
        >>> resolve_batch_size("full", 100), resolve_batch_size(1, 100), resolve_batch_size(500, 100)
        (100, 1, 100)
    """
    from funcgrad.train._errors import TrainError

    if batch_size == "full":
        return num_examples
    if isinstance(batch_size, str):
        try:
            batch_size = int(batch_size)
        except ValueError:
            batch_size = 0
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise TrainError(
            f"batch size must be a positive integer or 'full', got {batch_size!r}; "
            "1 is pure SGD, 'full' is full-batch gradient descent"
        )
    return min(batch_size, num_examples)


def epoch_batches(key: jax.Array, num_examples: int, batch_size: int) -> jax.Array:
    """A ``(steps, batch_size)`` array of example indices: a fresh permutation, split into batches.

    The last ``num_examples % batch_size`` shuffled examples are left out of this epoch (like
    PyTorch's ``drop_last=True``), so every step sees a full batch and the epoch can be one
    ``lax.scan``; the next epoch's shuffle brings them back.

    Example:
        >>> import jax
        >>> idx = epoch_batches(jax.random.PRNGKey(0), 10, 3)
        >>> idx.shape, len(set(idx.ravel().tolist()))
        ((3, 3), 9)
    """
    steps = num_examples // batch_size
    order = jax.random.permutation(key, num_examples)
    return order[: steps * batch_size].reshape(steps, batch_size)
