"""Asking which process of a JAX runtime this is (reading only; joining one is the application's)."""

from __future__ import annotations

import jax

__all__ = ["is_main_process"]


def is_main_process() -> bool:
    """Whether this process writes the shared outputs (metrics, checkpoints): process 0.

    Example:
        >>> is_main_process()  # a single process is always the main one
        True
    """
    return jax.process_index() == 0
