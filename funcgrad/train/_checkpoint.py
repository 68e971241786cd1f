"""Checkpoints with orbax: one per epoch, written atomically, the last ``keep`` kept.

Orbax writes each checkpoint into a temporary folder and renames it into place only once it is
complete, so a crash mid-write leaves the previous checkpoints as they were; an unfinished
temporary folder is never taken for the latest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax

from funcgrad.loop import TrainState
from funcgrad.train._errors import TrainError

__all__ = ["Checkpoints"]


def _orbax() -> Any:  # orbax ships no type information
    # Imported on first use: orbax (and tensorstore) add most of a second to `import funcgrad`.
    import orbax.checkpoint as ocp

    return ocp


class Checkpoints:
    """The checkpoints in ``directory``, numbered by completed epochs.

    Example:
        >>> import jax, jax.numpy as jnp, tempfile
        >>> ckpts = Checkpoints(tempfile.mkdtemp(), keep=2)
        >>> s = TrainState({"w": jnp.ones(2)}, {}, (), jnp.array(1), jnp.array(4),
        ...                jax.random.key(0))
        >>> for epoch in (1, 2, 3):
        ...     ckpts.save(s._replace(epoch=jnp.array(epoch)))
        >>> ckpts.epochs(), int(ckpts.restore(3, like=s).epoch)
        ([2, 3], 3)
    """

    def __init__(self, directory: str | Path, keep: int = 3) -> None:
        if keep < 1:
            raise TrainError(f"keep must be at least 1, got {keep}")
        self.directory = Path(directory).absolute()
        ocp = _orbax()
        # In a multi-process run only process 0 saves and each process reads on its own, so every
        # manager acts alone (orbax would otherwise wait for all processes at each save).
        pid = jax.process_index()
        alone = ocp.options.MultiprocessingOptions(pid, {pid}, f"process{pid}-")
        multi = jax.process_count() > 1
        if multi:
            self.directory.mkdir(parents=True, exist_ok=True)  # orbax cannot create it then
        options = ocp.CheckpointManagerOptions(
            max_to_keep=keep,
            enable_async_checkpointing=False,
            create=not multi,
            **({"multiprocessing_options": alone} if multi else {}),
        )
        self._manager = ocp.CheckpointManager(self.directory, options=options)

    def epochs(self) -> list[int]:
        """Epochs that have a complete checkpoint, oldest first."""
        return sorted(self._manager.all_steps())

    def latest(self) -> int | None:
        return self._manager.latest_step()

    def save(self, state: TrainState) -> None:
        ocp = _orbax()
        self._manager.save(int(state.epoch), args=ocp.args.StandardSave(state._asdict()))

    def restore(self, epoch: int, like: TrainState) -> TrainState:
        """Read the checkpoint of ``epoch`` into the structure of ``like``.

        Any failure to read it becomes a one-line :class:`TrainError`; nothing is deleted.
        """
        ocp = _orbax()
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like._asdict())
        try:
            raw = self._manager.restore(epoch, args=ocp.args.StandardRestore(abstract))
            leaves = jax.tree.leaves(TrainState(**raw))
            state = jax.tree.unflatten(jax.tree.structure(like), leaves)
        except Exception as e:  # orbax/tensorstore raise many types for damaged files
            reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise TrainError(
                f"checkpoint {self.directory / str(epoch)} is corrupt or does not match this run "
                f"({reason}); nothing was deleted: start a new out, or move that folder "
                "away to resume from an earlier epoch"
            ) from e
        if int(state.epoch) != epoch:
            raise TrainError(
                f"checkpoint {self.directory / str(epoch)} says epoch {int(state.epoch)}; "
                "it is corrupt: move it away to resume from an earlier epoch"
            )
        return state

    def close(self) -> None:
        self._manager.close()
