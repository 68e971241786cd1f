"""The errors training raises for the user to act on; each message is one line with the fix.

Messages name the Python parameter (``lr``, ``batch_size``, ``resume``, ...); the CLI maps those
names to its flags (``--lr``, ``--batch-size``) when it prints them.
"""

from __future__ import annotations

__all__ = ["DivergenceError", "TrainError"]


class TrainError(ValueError):
    """A problem with the settings, the output folder or a checkpoint."""

    __module__ = "funcgrad.train"


class DivergenceError(TrainError):
    """The loss stopped being finite; training stopped and the last good checkpoint is kept."""

    __module__ = "funcgrad.train"
