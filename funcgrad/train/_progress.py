"""Progress: a tqdm bar per epoch (loss, examples/s) on a terminal, one plain line per epoch otherwise."""

from __future__ import annotations

import sys
from typing import Any, TextIO

__all__ = ["MODES", "Progress", "format_epoch"]

MODES = ("auto", "lines", "none")


def format_epoch(row: dict[str, Any], epochs: int) -> str:
    """One line summing up an epoch.

    Example:
        >>> format_epoch({"epoch": 2, "train_loss": 0.5, "test_loss": 0.25, "test_accuracy": 0.9,
        ...               "seconds": 1.5, "examples_per_second": 1000.0}, 10)
        'epoch 2/10  train_loss 0.5000  test_loss 0.2500  test_accuracy 0.9000  1.5s  1000 ex/s'
    """
    parts = [f"epoch {row['epoch']}/{epochs}"]
    parts += [
        f"{k} {row[k]:.4f}"
        for k in ("train_loss", "test_loss", "test_accuracy", "test_bpc")
        if k in row
    ]
    parts += [f"{row['seconds']:.1f}s", f"{row['examples_per_second']:.0f} ex/s"]
    return "  ".join(parts)


class Progress:
    """Report training: ``"auto"`` shows a live bar on a terminal and plain lines elsewhere;
    ``"lines"`` always prints one line per epoch; ``"none"`` prints nothing.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> p = Progress(epochs=1, mode="auto", stream=out)
        >>> p.start_epoch(1, examples=64); p.advance(32, 0.9); p.advance(32, 0.8)
        >>> p.end_epoch({"epoch": 1, "train_loss": 0.85, "test_loss": 0.8, "seconds": 0.5,
        ...              "examples_per_second": 128.0})
        >>> out.getvalue()
        'epoch 1/1  train_loss 0.8500  test_loss 0.8000  0.5s  128 ex/s\\n'
    """

    def __init__(self, epochs: int, mode: str = "auto", stream: TextIO | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"progress must be one of {', '.join(MODES)}, got {mode!r}")
        self.epochs = epochs
        self.mode = mode
        self.stream = stream if stream is not None else sys.stdout
        self.live = mode == "auto" and self.stream.isatty()
        self._bar: Any = None

    def start_epoch(self, epoch: int, examples: int) -> None:
        if self.live:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=examples,
                desc=f"epoch {epoch}/{self.epochs}",
                unit="ex",
                leave=False,
                file=self.stream,
                dynamic_ncols=True,
            )

    def advance(self, examples: int, loss: float | None = None) -> None:
        if self._bar is not None:
            self._bar.update(examples)
            if loss is not None:
                self._bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def end_epoch(self, row: dict[str, Any]) -> None:
        self.close()
        if self.mode != "none":
            print(format_epoch(row, self.epochs), file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
