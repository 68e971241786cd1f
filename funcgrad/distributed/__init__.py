"""Data-parallel training on JAX's own runtime: a ``"data"`` mesh over the devices.

The same step function runs on one device, on every device of one host (``devices=N``), or on
every device of several processes (``funcgrad.train.initialize`` first). Params and optimizer state are
replicated, each batch is split along the mesh, and XLA's compiled step averages the gradients.

Example:
    >>> import jax, jax.numpy as jnp
    >>> from funcgrad import distributed as dist
    >>> mesh = dist.data_mesh(jax.device_count())  # None on a one-device machine
    >>> dist.check_divisible(8, mesh)
    >>> params = dist.replicate({"w": jnp.zeros(3)}, mesh)
    >>> x = dist.shard_batch(jnp.ones((8, 3)), mesh)
    >>> jax.jit(lambda p, x: (x @ p["w"]).mean())(params, x).shape
    ()
"""

from funcgrad.distributed._dispatch import DispatchLimit
from funcgrad.distributed._errors import CoordinatorUnreachableError, DistributedError
from funcgrad.distributed._mesh import (
    DATA_AXIS,
    check_divisible,
    data_mesh,
    process_rows,
    replicate,
    shard_batch,
    shard_epoch,
    to_host,
)
from funcgrad.distributed._runtime import is_main_process

__all__ = [
    "DATA_AXIS",
    "CoordinatorUnreachableError",
    "DistributedError",
    "DispatchLimit",
    "check_divisible",
    "data_mesh",
    "is_main_process",
    "process_rows",
    "replicate",
    "shard_batch",
    "shard_epoch",
    "to_host",
]
