"""The errors training raises for the user to act on; each message is one line with the fix."""

from __future__ import annotations

__all__ = ["DivergenceError", "TrainError"]


class TrainError(ValueError):
    """A problem with the settings, the output folder or a checkpoint."""


class DivergenceError(TrainError):
    """The loss stopped being finite; training stopped and the last good checkpoint is kept."""
