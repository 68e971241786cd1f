"""The output folder: where a new run goes, and the rule that no saved run is ever overwritten."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from funcgrad.train._errors import TrainError

__all__ = ["default_out", "open_run_dir"]


def default_out(
    model: str | None, dataset: str | None, resume: bool = False, root: str | Path = "runs"
) -> Path:
    """``runs/<model>-<dataset>-<n>`` with the next free ``n`` for a new run (default mynet, digits).

    To resume, it is the most recently written run folder instead, among those of ``model`` and
    ``dataset`` when they are given.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> default_out(None, None, root=root).name
        'mynet-digits-1'
        >>> (root / "mynet-digits-1").mkdir()
        >>> default_out("mynet", "digits", root=root).name, default_out(None, None, True, root).name
        ('mynet-digits-2', 'mynet-digits-1')
    """
    root = Path(root)
    if resume:
        pattern = f"{model or '*'}-{Path(dataset).stem if dataset else '*'}-*"
        runs = [p for p in root.glob(pattern) if p.name.rsplit("-", 1)[-1].isdigit()]
        if not runs:
            raise TrainError(f"resume: no earlier run {root / pattern} to continue; pass out")
        return max(runs, key=lambda p: p.stat().st_mtime)
    stem = f"{model or 'mynet'}-{Path(dataset or 'digits').stem}"
    numbers = [
        int(p.name[len(stem) + 1 :])
        for p in root.glob(f"{stem}-*")
        if p.name[len(stem) + 1 :].isdigit()
    ]
    return root / f"{stem}-{max(numbers, default=0) + 1}"


def open_run_dir(out: Path, resume: bool) -> dict[str, Any] | None:
    """Check ``out`` for the run about to start (it writes nothing); return the saved config when
    resuming.

    A folder that already holds a run (a ``config.json`` or checkpoints) is only reused with
    ``resume``; resuming needs a folder that holds one.
    """
    config = out / "config.json"
    holds_run = config.exists() or (out / "checkpoints").exists()
    if not resume:
        if holds_run:
            raise TrainError(
                f"{out} already holds a run; pass resume=True to continue it, or choose a new out"
            )
        return None
    if not holds_run:
        raise TrainError(f"resume: {out} holds no run to continue; drop resume to start one")
    try:
        return json.loads(config.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise TrainError(f"resume: cannot read {config} ({e}); start a new out instead") from None
