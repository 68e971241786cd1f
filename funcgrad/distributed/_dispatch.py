"""A bound on how many data-parallel steps are queued ahead of the device, for XLA:CPU.

JAX dispatches asynchronously: a Python loop can queue many steps before the first one runs. With
jax 0.10 on the CPU backend (2 cores, 2 or 8 host devices) a loop of a few hundred queued steps
deadlocks: one device waits in a step's all-reduce for a device whose launch is blocked behind
the queue, and XLA aborts the process after 40 s. Waiting for step ``k - depth`` before going on
keeps the queue short and still overlaps Python with the device. GPUs and TPUs need no bound.
"""

from __future__ import annotations

from collections import deque
from typing import TypeVar

import jax
from jax.sharding import Mesh

__all__ = ["DispatchLimit"]

T = TypeVar("T")


class DispatchLimit:
    """Call it on each step's output; it blocks until at most ``depth`` earlier steps are pending.

    A no-op without a mesh, or on a mesh of GPUs or TPUs.

    Example:
        >>> import jax.numpy as jnp
        >>> limit = DispatchLimit(None)
        >>> [float(limit(jnp.float32(i))) for i in range(3)]
        [0.0, 1.0, 2.0]
    """

    def __init__(self, mesh: Mesh | None, depth: int = 1) -> None:
        cpu = mesh is not None and mesh.devices.flat[0].platform == "cpu"
        self._depth = depth if cpu else None
        self._pending: deque = deque()

    def __call__(self, out: T) -> T:
        if self._depth is not None:
            self._pending.append(out)
            while len(self._pending) > self._depth:
                jax.block_until_ready(self._pending.popleft())
        return out
