"""A run's side effects in one object: its folder, checkpoints, metrics, loss plot and progress.

The training loop computes; :class:`Run` records. Without a folder (``out=None``) it only shows
progress. In a multi-process run only process 0 writes; the others read the folder to resume.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from funcgrad.loop import TrainState
from funcgrad.train._checkpoint import Checkpoints
from funcgrad.train._errors import DivergenceError
from funcgrad.train._metrics import append_metrics, truncate_metrics, write_json
from funcgrad.train._plot import plot_losses
from funcgrad.train._progress import Progress
from funcgrad.train._run_dir import open_run_dir

__all__ = ["Run"]


class Run:
    """The folder ``out`` of one run: ``config.json``, ``metrics.jsonl``, ``loss.png``, checkpoints.

    Opening it (the constructor) checks the folder and reads a saved run's config when resuming;
    :meth:`start` writes the config and restores the latest checkpoint; :meth:`record` appends an
    epoch's metrics and saves its checkpoint; :meth:`close` plots the losses.

    Example:
        >>> run = Run(None, resume=False, main=True)
        >>> run.saved, run.saving
        (None, False)
    """

    def __init__(self, out: str | Path | None, *, resume: bool, main: bool) -> None:
        self.out = None if out is None else Path(out)
        self.resume = resume
        self.main = main
        self.saved: dict[str, Any] | None = None
        if self.out is not None and (main or resume):  # other processes only read a run
            self.saved = open_run_dir(self.out, resume)
        self.history: list[dict[str, Any]] = []
        self.checkpoints: Checkpoints | None = None
        self.progress: Progress | None = None

    @property
    def saving(self) -> bool:
        """Whether this process writes metrics and checkpoints (a folder, and process 0)."""
        return self.checkpoints is not None

    def start(
        self, config: dict[str, Any], state: TrainState, progress: str = "auto"
    ) -> TrainState:
        """Restore the latest checkpoint (when resuming) and write ``config.json``; returns the state.

        Called only once the settings and the data have been checked, so a bad call leaves no
        checkpoint folder behind.
        """
        if self.out is not None and (self.main or self.resume):
            ckpts = Checkpoints(self.out / "checkpoints", keep=config["keep"])
            latest = ckpts.latest()
            if self.resume and latest is not None:
                state = ckpts.restore(latest, like=state)
            if self.main:
                self.history = truncate_metrics(self.out / "metrics.jsonl", int(state.epoch))
                write_json(self.out / "config.json", config)
                self.checkpoints = ckpts
            else:
                ckpts.close()  # only process 0 writes
        self.progress = Progress(config["epochs"], mode=progress if self.main else "none")
        return state

    def record(self, row: dict[str, Any], state: TrainState | None = None) -> None:
        """Add an epoch's metrics row; with a folder, append it and save ``state`` (a host copy)."""
        self.history.append(row)
        if self.out is not None and self.checkpoints is not None and state is not None:
            append_metrics(self.out / "metrics.jsonl", row)
            self.checkpoints.save(state)

    def check_finite(
        self, losses: np.ndarray, epoch: int, lr: float | None, first: int = 0
    ) -> None:
        """Raise :class:`DivergenceError` at the first non-finite loss, naming the last checkpoint."""
        bad = np.flatnonzero(~np.isfinite(losses))
        if bad.size == 0:
            return
        ckpts = self.checkpoints
        latest = ckpts.latest() if ckpts is not None else None
        kept = (
            f"the last good checkpoint (epoch {latest}) is kept in {ckpts.directory}"
            if latest is not None and ckpts is not None
            else "no checkpoint had been written yet"
        )
        advice = f"a lower lr (e.g. {lr / 10:g})" if lr is not None else "a lower learning rate"
        raise DivergenceError(
            f"loss became {losses[bad[0]]} at epoch {epoch}, step {first + bad[0] + 1}; "
            f"training stopped. Try {advice}; {kept}"
        )

    def close(self) -> None:
        """End the progress display, release the checkpoints and plot the losses (process 0)."""
        if self.progress is not None:
            self.progress.close()
        if self.checkpoints is not None:
            self.checkpoints.close()
        if self.out is not None and self.main and self.history:
            plot_losses(self.history, self.out / "loss.png")
