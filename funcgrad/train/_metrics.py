"""The run's text outputs: ``config.json`` and ``metrics.jsonl`` (one JSON object per epoch)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["append_metrics", "read_metrics", "truncate_metrics", "write_json"]


def _write_atomic(path: Path, text: str) -> None:
    # A crash mid-write leaves the old file or the new one, never half of one.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON atomically: to a temporary file, then renamed over ``path``."""
    _write_atomic(path, json.dumps(obj, indent=2) + "\n")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The epochs recorded so far; a half-written last line (from a crash) is ignored."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return rows


def append_metrics(path: Path, row: dict[str, Any]) -> None:
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def truncate_metrics(path: Path, epochs: int) -> list[dict[str, Any]]:
    """Keep the rows of the first ``epochs`` epochs (those a checkpoint holds); return them.

    A run resumed from epoch ``k`` redoes the epochs after it, so their old rows are dropped.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "metrics.jsonl"
        >>> for e in (1, 2, 3):
        ...     append_metrics(path, {"epoch": e})
        >>> truncate_metrics(path, 2)
        [{'epoch': 1}, {'epoch': 2}]
    """
    rows = [r for r in read_metrics(path) if r.get("epoch", 0) <= epochs]
    _write_atomic(path, "".join(json.dumps(r) + "\n" for r in rows))
    return rows
