"""``loss.png``: train and test loss per epoch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["plot_losses"]


def plot_losses(rows: list[dict[str, Any]], path: Path) -> None:
    """Draw train and test loss against epoch with matplotlib's file-only Agg backend.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "loss.png"
        >>> plot_losses([{"epoch": 1, "train_loss": 1.0, "test_loss": 1.2},
        ...              {"epoch": 2, "train_loss": 0.5, "test_loss": 0.7}], path)
        >>> path.read_bytes()[:4]
        b'\\x89PNG'
    """
    from matplotlib.figure import Figure  # Figure without pyplot never opens a window

    fig = Figure(figsize=(5, 3.5), layout="constrained")
    ax = fig.add_subplot()
    epochs = [r["epoch"] for r in rows]
    for key, label in (("train_loss", "train"), ("test_loss", "test")):
        ax.plot(epochs, [r[key] for r in rows], marker="o", markersize=3, label=label)
    ax.set(xlabel="epoch", ylabel="loss", yscale="log" if _positive(rows) else "linear")
    ax.legend()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)


def _positive(rows: list[dict[str, Any]]) -> bool:
    return all(r["train_loss"] > 0 and r["test_loss"] > 0 for r in rows)
