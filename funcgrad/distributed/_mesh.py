"""Data parallelism as a 1-D device mesh: the batch is split along ``"data"``, params replicated.

Nothing here moves gradients by hand. Arrays carry ``NamedSharding``s; a ``jax.jit`` step over them
computes per-device gradients and XLA inserts the all-reduce that averages them. With ``mesh=None``
every function is the identity, so single-device training pays nothing.
"""

from __future__ import annotations

from typing import Any, TypeVar

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from funcgrad.distributed._errors import DistributedError

__all__ = [
    "DATA_AXIS",
    "check_divisible",
    "data_mesh",
    "process_rows",
    "replicate",
    "shard_batch",
    "shard_epoch",
    "to_host",
]

DATA_AXIS = "data"
"""The name of the mesh axis that batches are sharded over."""
T = TypeVar("T")


def data_mesh(devices: int | None = None) -> Mesh | None:
    """A mesh of ``devices`` devices along one ``"data"`` axis, or ``None`` for one device.

    ``None`` means every device of a multi-process run, or no mesh in a single process. Devices
    are ordered by process, so process ``p`` holds the ``p``-th contiguous block of each batch.

    Example:
        >>> data_mesh(1) is None  # one device: plain single-device training
        True
        >>> data_mesh(10**6)
        Traceback (most recent call last):
        ...
        funcgrad.distributed.DistributedError: asked for 1000000 devices but only 1 ...
    """
    available = sorted(jax.devices(), key=lambda d: (d.process_index, d.id))
    multi = jax.process_count() > 1
    if devices is None:
        devices = len(available) if multi else 1
    if devices < 1:
        raise DistributedError(f"devices must be at least 1, got {devices}")
    if devices > len(available):
        raise DistributedError(
            f"asked for {devices} devices but only {len(available)} "
            f"{jax.default_backend().upper()} device(s) are visible; on CPU start Python with "
            f"JAX_NUM_CPU_DEVICES={devices} (or XLA_FLAGS=--xla_force_host_platform_device_count="
            f"{devices}) to split the host into {devices} devices, or pass fewer devices"
        )
    if multi and devices != len(available):
        raise DistributedError(
            f"a {jax.process_count()}-process run uses all {len(available)} devices, got "
            f"devices={devices}; leave devices unset"
        )
    if devices == 1:
        return None
    return Mesh(np.array(available[:devices]), (DATA_AXIS,))


def check_divisible(batch_size: int, mesh: Mesh | None) -> None:
    """Raise unless every device gets the same number of rows of a ``batch_size`` batch.

    Example:
        >>> check_divisible(100, None)  # one device: any batch size
    """
    if mesh is None:
        return
    n = mesh.size
    if batch_size % n:
        lower, upper = batch_size // n * n, (batch_size // n + 1) * n
        fix = f"{lower} or {upper}" if lower else f"{upper}"
        raise DistributedError(
            f"batch size {batch_size} does not divide by {n} devices: data parallelism gives "
            f"every device an equal slice of each batch; use a multiple of {n} (e.g. {fix}) "
            "or a device count that divides the batch size"
        )


def replicate(tree: T, mesh: Mesh | None) -> T:
    """Put a full copy of every leaf (params, optimizer state) on every device of ``mesh``.

    In a multi-process run every process must pass the same values (same seed, same checkpoint).

    Example:
        >>> import jax.numpy as jnp
        >>> mesh = Mesh(np.array(jax.devices()[:1]), (DATA_AXIS,))
        >>> replicate({"w": jnp.ones(3)}, mesh)["w"].sharding.is_fully_replicated
        True
    """
    if mesh is None:
        return tree
    return _put(tree, NamedSharding(mesh, PartitionSpec()))


def shard_batch(batch: T, mesh: Mesh | None, axis: int = 0) -> T:
    """Split axis ``axis`` (the batch axis) of every leaf of ``batch`` across the mesh's devices.

    In a multi-process run ``batch`` holds only this process's rows (see ``process_rows``), and
    the result is the global batch built from every process's rows.

    Args:
        batch: a pytree of arrays.
        mesh: the device mesh; ``None`` returns ``batch`` unchanged.
        axis: the batch axis of every leaf.

    Returns:
        ``batch``, with each leaf sharded along ``axis``.

    Example:
        >>> import jax.numpy as jnp
        >>> mesh = Mesh(np.array(jax.devices()[:1]), (DATA_AXIS,))
        >>> x = shard_batch(jnp.zeros((4, 3)), mesh)
        >>> x.shape, x.sharding.spec
        ((4, 3), P('data',))
        >>> shard_batch(jnp.zeros((2, 4, 3)), mesh, axis=1).sharding.spec  # (steps, batch, ...)
        P(None, 'data')
    """
    if mesh is None:
        return batch
    sharding = NamedSharding(mesh, PartitionSpec(*[None] * axis, DATA_AXIS))
    if jax.process_count() == 1:
        return jax.device_put(batch, sharding)
    return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, x), batch)


def process_rows(idx: T) -> T:
    """The part of batch row indices ``idx`` (batch axis last) that this process loads.

    All of them in a single process; the ``p``-th of ``process_count`` equal blocks of the last
    axis otherwise, matching the device order of ``data_mesh``. ``idx`` may be one batch ``(B,)``
    or a whole epoch ``(steps, B)``.

    Example:
        >>> process_rows(np.arange(6).reshape(2, 3))
        array([[0, 1, 2],
               [3, 4, 5]])
    """
    count = jax.process_count()
    if count == 1:
        return idx
    rows = idx.shape[-1]  # type: ignore[attr-defined]
    if rows % count:
        raise DistributedError(f"batch of {rows} rows does not split over {count} processes")
    block = rows // count
    start = jax.process_index() * block
    return idx[..., start : start + block]  # type: ignore[index]


def shard_epoch(
    arrays: tuple[np.ndarray, ...], batches: np.ndarray | jax.Array, mesh: Mesh
) -> tuple[tuple[jax.Array, ...], np.ndarray]:
    """One epoch of minibatches, gathered on the host and split across the mesh.

    ``batches`` is ``(steps, batch_size)`` row indices. Each process gathers only its own rows
    of every array into ``(steps, batch_size, ...)`` arrays sharded along the batch axis, and
    gets back step numbers ``i`` such that ``x[i]`` is step ``i``'s batch: a step that indexes
    ``x[idx]`` then slices a batch out of device memory without moving rows between devices.

    Args:
        arrays: the host arrays, one example per row (``x`` and ``y``).
        batches: ``(steps, batch_size)`` row indices.
        mesh: the device mesh.

    Returns:
        ``(sharded, steps)``: the ``(steps, batch_size, ...)`` arrays sharded along the batch axis,
        and the step numbers ``i`` such that ``sharded[k][i]`` is step ``i``'s batch.

    Example:
        >>> mesh = Mesh(np.array(jax.devices()[:1]), (DATA_AXIS,))
        >>> (x,), steps = shard_epoch((np.arange(10.0),), np.array([[4, 0], [1, 7]]), mesh)
        >>> x.tolist(), steps.tolist()
        ([[4.0, 0.0], [1.0, 7.0]], [0, 1])
    """
    rows = process_rows(np.asarray(to_host(batches)))
    local = tuple(np.asarray(a)[rows] for a in arrays)
    return shard_batch(local, mesh, axis=1), np.arange(rows.shape[0], dtype=np.int32)


def to_host(tree: T) -> T:
    """Copy replicated arrays back to NumPy on this host, without cross-process communication.

    For saving checkpoints and logging: every process holds a full copy of replicated arrays.

    Example:
        >>> import jax.numpy as jnp
        >>> type(to_host({"w": jnp.ones(2)})["w"]).__name__
        'ndarray'
    """

    def fetch(x: Any) -> Any:
        if not isinstance(x, jax.Array):
            return x
        if x.is_fully_addressable:
            return np.asarray(x)
        if not x.is_fully_replicated:
            raise DistributedError(
                f"array of shape {x.shape} is sharded across processes; replicate it"
            )
        return np.asarray(x.addressable_data(0))

    return jax.tree.map(fetch, tree)


def _put(tree: T, sharding: NamedSharding) -> T:
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)

    # Build each global array from this host's copy: no assumption that device_put can reach
    # devices of other processes.
    def put(x: Any) -> Any:
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            return jax.device_put(x, sharding)
        host = np.asarray(x)
        return jax.make_array_from_callback(host.shape, sharding, lambda i: host[i])

    return jax.tree.map(put, tree)
