"""The ``batch_size`` setting: an int, or ``"full"`` for full-batch descent."""

from __future__ import annotations

__all__ = ["resolve_batch_size"]


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
            f"batch_size must be a positive integer or 'full', got {batch_size!r}; "
            "1 is pure SGD, 'full' is full-batch gradient descent"
        )
    return min(batch_size, num_examples)
