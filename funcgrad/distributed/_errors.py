"""The one error type of data-parallel settings, so that the CLI can print it as one line."""

from __future__ import annotations

__all__ = ["CoordinatorUnreachableError", "DistributedError"]


class DistributedError(ValueError):
    """A device or process setting that cannot work; the message names the problem and the fix."""

    __module__ = "funcgrad.distributed"


class CoordinatorUnreachableError(DistributedError, TimeoutError):
    """No coordinator answered at the given address within the timeout."""

    __module__ = "funcgrad.distributed"
